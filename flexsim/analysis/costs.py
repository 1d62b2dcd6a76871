"""What a run costs, in the two senses flexsim uses, each defined once.

- **Total cost** (`flexsim optimize`, `flexsim compare`, the cost of each top-up that `flexsim run`
  weighs): what a purchase plan makes you pay in the horizon, the purchases made in it (packs held
  at the start are sunk, so not in `spend`) plus `costs.blocked_day` per blocked
  person-product-day. It ranks purchase plans against each other.
- **Yearly use cost** (`flexsim advise`): what the people's use is worth in a year, the tokens
  consumed at `costs.token_price` plus `costs.blocked_day` per blocked day (nothing without it),
  scaled to 365 days. It is weighed against subscriptions, which are priced per year whatever
  was bought.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from flexsim.engine.records import POOL_COUNTERS, RunRecord
from flexsim.scenario.model import Scenario

_CONSUMED = POOL_COUNTERS.index("tokens_consumed")
_BLOCKED = POOL_COUNTERS.index("blocked_days")


def total_cost(spend: np.ndarray, blocked_days: np.ndarray, blocked_day: float) -> np.ndarray:
    """Total cost per run from its spend and blocked days (of one pool, or summed over pools)."""
    return spend + blocked_day * blocked_days


def run_total_costs(records: Iterable[RunRecord], blocked_day: float) -> np.ndarray:
    """Total cost per run over every pool."""
    spend = np.array([r.spend.sum() for r in records], dtype=np.float64)
    blocked = np.array([r.counters[:, _BLOCKED].sum() for r in records], dtype=np.float64)
    return total_cost(spend, blocked, blocked_day)


def yearly_use_cost(records: Iterable[RunRecord], scenario: Scenario) -> np.ndarray:
    """Yearly use cost per run over every pool."""
    used = np.array([r.counters[:, _CONSUMED].sum() for r in records], np.float64)
    blocked = np.array([r.counters[:, _BLOCKED].sum() for r in records], np.float64)
    cost = used * scenario.costs.token_price + (scenario.costs.blocked_day or 0.0) * blocked
    return cost * 365.0 / scenario.days
