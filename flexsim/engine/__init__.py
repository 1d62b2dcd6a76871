"""The simulation: plan, behaviour, pack ledger, seats, the two engines and the runner."""
