"""What a scenario may ask for, so that its cost is bounded before it is paid.

The loader checks each number against the limit of its key as it reads it (`integer_limit`,
`number_limit`, `list_limit`), and the whole scenario against the memory budget once it is read
(`check_scenario`), so that `validate` and every command refuse, in one line naming the key to
change, a scenario that would take days or more memory than the machine has, instead of failing
after a long wait. See docs/explanation/what-flexsim-refuses.md.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from flexsim.scenario.model import Reorder, Scenario

# Raises the located one-line error for a key path.
Fail = Callable[[str, str], NoReturn]

# Tokens are counted in 64-bit integers and averaged in doubles: totals stay below 2**53 so that
# both are exact.
EXACT = 2**53
MAX_PACK_TOKENS = 10**12
MAX_ORDERS_ASSUMED = 10_000  # orders counted for a reorder rule without max_orders
FIRST_YEAR, LAST_YEAR = 1900, 9899  # dates: a year after the last one still exists
MAX_DAYS = 7305  # 20 years: times are kept in 32-bit seconds

# The largest value each key takes (the last part of its key path, list indices left out).
INTEGERS = {
    "runs": 1_000_000,
    "count": 100_000,
    "max_orders": MAX_ORDERS_ASSUMED,
    "lead_days": 1_000,
    "tokens": MAX_PACK_TOKENS,
    "min_tokens": MAX_PACK_TOKENS,
    "days_used": 100_000,
    "workdays": 100_000,
    "seed": 2**63 - 1,
}
PRODUCT_RATE = 1_000_000  # tokens per day of one product
NUMBERS = {
    "price": 1_000_000.0,  # USD per token
    "token_price": 1_000_000.0,
    "blocked_day": 1e12,
    "multiplier": 1_000.0,
    "variation": 100.0,
    "sd": 168.0,
    "mean": 168.0,
}
SUBSCRIPTION_PRICE = 1e9
SEASON_FACTOR = 1_000.0
LISTS = {"holidays": 10_000, "lots": 10_000, "users": 100_000, "events": 10_000, "price_tiers": 1_000}
ANY_INTEGER = 2**63 - 1

# Memory per (person-product, workday) of the smallest batch the engine can run, one run (the
# batch size then follows the --memory budget, flexsim.engine.memory): the plan's launch chances
# (8 bytes), one run's grids (14) and its launches while they are drawn (at most 64).
BYTES_PER_SEAT_DAY = 8 + 14 + 64
BASE_BYTES = 70 * 1024**2  # Python, numpy, scipy and flexsim themselves
# Each run's record: its arrays (about 100 bytes each with numpy's header), counters per pool, the
# consumed and expired tokens per pack.
BYTES_PER_RUN = 1024
BYTES_PER_POOL_RUN = 13 * 8
# Work: person-products x workdays x runs. This machine does about 10 million a second on one
# core, so the limit is about a day of it.
MAX_WORK = 10**12
DEFAULT_BUDGET_MB = 3 * 1024


def _key(path: str) -> tuple[str, str]:
    """(the dotted path without list indices, its last part)."""
    plain = re.sub(r"\[\d+\]", "", path)
    return plain, plain.rsplit(".", 1)[-1]


def integer_limit(path: str) -> int:
    """The largest whole number the key at `path` may hold."""
    plain, last = _key(path)
    if plain.startswith("products."):
        return PRODUCT_RATE
    return INTEGERS.get(last, ANY_INTEGER)


def number_limit(path: str) -> float | None:
    """The largest number the key at `path` may hold (None: only its own bounds)."""
    plain, last = _key(path)
    if plain.startswith("subscriptions."):
        return SUBSCRIPTION_PRICE
    if plain.startswith("seasonality."):
        return SEASON_FACTOR
    if plain.startswith("users.products."):
        return None  # days_per_week: 0 to 7 already
    return NUMBERS.get(last)


def list_limit(path: str) -> int | None:
    return LISTS.get(_key(path)[1])


def date_ok(day: date) -> bool:
    return FIRST_YEAR <= day.year <= LAST_YEAR


def budget_bytes() -> int:
    """The memory a simulation may plan to use: FLEXSIM_MEMORY_MB, else 3 GiB."""
    try:
        return max(1, int(os.environ.get("FLEXSIM_MEMORY_MB", DEFAULT_BUDGET_MB))) * 1024 * 1024
    except ValueError:
        return DEFAULT_BUDGET_MB * 1024 * 1024


def _gib(n: float) -> str:
    return f"{n / 1024**3:,.1f} GiB"


def too_large(path: str, value: float, top: float) -> str:
    """The message for a number above its key's limit."""
    shown = f"{value:,}" if isinstance(value, int) else f"{value:g}"
    limit = f"{top:,}" if isinstance(top, int) else f"{top:g}"
    if top == ANY_INTEGER:
        return f"{shown} is too large: flexsim counts in 64-bit integers, at most {limit}"
    return f"{shown} is more than flexsim allows here: at most {limit} (see what-flexsim-refuses.md)"


def too_many(path: str, n: int) -> str:
    return f"{n:,} entries are more than flexsim allows here: at most {list_limit(path):,}"


def date_message(day: date) -> str:
    return (
        f"{day} is outside the dates flexsim works with ({FIRST_YEAR}-01-01 to {LAST_YEAR}-12-31: "
        "every date needs a year after it)"
    )


def _workdays(scenario: Scenario) -> int:
    cal, start = scenario.calendar, scenario.start
    return sum(cal.is_workday(start + timedelta(days=d)) for d in range(scenario.days))


def expected_use(scenario: Scenario, pool: str) -> int:
    """Tokens a pool's people would use over the horizon at their days_per_week (no events,
    no seasonality): a low estimate, enough to tell a reorder rule that can't keep up."""
    weeks = scenario.days / 7
    total = 0.0
    for group in scenario.groups:
        if group.pool == pool:
            for use in group.products:
                total += group.count * scenario.products.get(use.product, 0) * use.days_per_week * weeks
    return int(total)


def check_orders(scenario: Scenario, rule: Reorder, path: str, fail: Fail) -> None:
    """A top-up that arrives at once (lead_days 0) is ordered again while the balance stays below
    the level: refuse a rule that would need more than MAX_ORDERS_ASSUMED orders in a run."""
    if rule.lead_days > 0 or rule.max_orders is not None:
        return
    held = sum(lot.tokens for lot in scenario.lots if lot.pool == rule.pool)
    use = expected_use(scenario, rule.pool)
    if rule.below.tokens is not None:
        bought = use + rule.below.tokens
    else:
        share = float(rule.below.percent or 0) / 100
        bought = int(use / (1 - share)) if share < 1 else EXACT
    orders = max(0, bought - held) // rule.tokens
    if orders > MAX_ORDERS_ASSUMED:
        fail(
            f"{path}.tokens",
            f"top-ups of {rule.tokens:,} token{'s' if rule.tokens != 1 else ''} below "
            f"{rule.below.describe()}, arriving at once "
            f"(lead_days 0), would be ordered about {orders:,} times in a run (its people use about "
            f"{use:,} tokens): more than the {MAX_ORDERS_ASSUMED:,} flexsim follows; raise "
            "purchasing.reorder.tokens, lower below, or set max_orders or lead_days",
        )


def check_runs(runs: int, fail: Fail, path: str = "simulation.runs") -> None:
    if runs > INTEGERS["runs"]:
        fail(path, too_large(path, runs, INTEGERS["runs"]))


def estimate(scenario: Scenario, runs: int) -> tuple[int, int, int, int]:
    """(person-products, workdays, bytes of memory, seat-day-runs of work) of a simulation."""
    seats = sum(group.count * len(group.products) for group in scenario.groups)
    workdays = _workdays(scenario)
    per_run = BYTES_PER_RUN + len(scenario.pools) * BYTES_PER_POOL_RUN + len(scenario.lots) * 16
    memory = BASE_BYTES + seats * max(workdays, 1) * BYTES_PER_SEAT_DAY + runs * per_run
    return seats, workdays, memory, seats * workdays * runs


def check_cost(
    scenario: Scenario, fail: Fail, runs: int | None = None, runs_key: str = "simulation.runs"
) -> None:
    """The scenario as a whole: tokens that stay exact, a calendar with workdays, memory and work
    within bounds. A one-line `ScenarioError` (from `fail`) naming the key to change otherwise."""
    total = sum(lot.tokens for lot in scenario.lots)
    for rule in scenario.reorders:
        total += rule.tokens * (rule.max_orders or MAX_ORDERS_ASSUMED)
    if total >= EXACT:
        fail(
            "lots",
            f"the packs and top-ups add up to {total:,} tokens or more: flexsim counts up to "
            f"{EXACT:,} exactly; lower lots[*].tokens or purchasing.reorder.tokens / max_orders",
        )
    try:
        scenario.calendar.next_workday(scenario.end)
    except (ValueError, OverflowError):
        fail(
            "calendar",
            "the calendar has no workday in the ten years after the end: add workdays or drop holidays",
        )
    runs = scenario.runs if runs is None else runs
    seats, workdays, need, work = estimate(scenario, runs)
    budget = budget_bytes()
    if need > budget:
        fail(
            "users",
            f"simulating {seats:,} person-products over {workdays:,} workdays ({runs:,} runs) needs about "
            f"{_gib(need)} of memory, more than the {_gib(budget)} budget: lower users[*].count (or the "
            f"products per person), shorten the horizon (end), lower {runs_key}, or raise "
            "FLEXSIM_MEMORY_MB on a larger machine",
        )
    if work > MAX_WORK:
        fail(
            runs_key,
            f"{runs:,} runs of {seats:,} person-products over {workdays:,} workdays are {work:,.0f} "
            f"person-product-days to simulate, more than the {MAX_WORK:,.0f} (about a day on one core) "
            f"flexsim takes on: lower {runs_key} or users[*].count",
        )
