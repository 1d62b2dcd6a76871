"""flexsim: Monte Carlo forecasts for Autodesk Flex token pools.

The public API, for a notebook or a script::

    import flexsim
    results = flexsim.simulate(flexsim.load("scenarios/two-teams.yaml"), runs=2000, seed=1)

The names below are imported on first use, so `flexsim --help` does not pay for numpy and SciPy.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_PUBLIC = {
    "load": ("flexsim.api", "load"),
    "simulate": ("flexsim.api", "simulate"),
    "Results": ("flexsim.api", "Results"),
    "Scenario": ("flexsim.scenario.model", "Scenario"),
    "Calendar": ("flexsim.scenario.model", "Calendar"),
    "Event": ("flexsim.scenario.model", "Event"),
    "Group": ("flexsim.scenario.model", "Group"),
    "History": ("flexsim.scenario.model", "History"),
    "Lot": ("flexsim.scenario.model", "Lot"),
    "Normal": ("flexsim.scenario.model", "Normal"),
    "Pool": ("flexsim.scenario.model", "Pool"),
    "PriceTier": ("flexsim.scenario.model", "PriceTier"),
    "ProductUse": ("flexsim.scenario.model", "ProductUse"),
    "Reorder": ("flexsim.scenario.model", "Reorder"),
    "Threshold": ("flexsim.scenario.model", "Threshold"),
    "Costs": ("flexsim.scenario.model", "Costs"),
    "parse_scenario": ("flexsim.scenario.loader", "parse_scenario"),
    "RunRecord": ("flexsim.engine.records", "RunRecord"),
    "FlexsimError": ("flexsim.errors", "FlexsimError"),
    "ScenarioError": ("flexsim.errors", "ScenarioError"),
    "OutputError": ("flexsim.errors", "OutputError"),
    "OptimizeError": ("flexsim.errors", "OptimizeError"),
    "CompareError": ("flexsim.errors", "CompareError"),
    "CalibrationError": ("flexsim.errors", "CalibrationError"),
}

__all__ = ["__version__", *_PUBLIC]


def __getattr__(name: str) -> Any:
    try:
        module, attr = _PUBLIC[name]
    except KeyError:
        raise AttributeError(f"module 'flexsim' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value
