"""From the Token Usage export: reading it, calibrating a scenario, backtests, synthetic exports."""
