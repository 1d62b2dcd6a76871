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
from datetime import date, timedelta

from flexsim.errors import ScenarioError

# Tokens are counted in 64-bit integers and averaged in doubles: totals stay below 2**53 so that
# both are exact.
EXACT = 2**53
MAX_PACK_TOKENS = 10**12
MAX_ORDERS_ASSUMED = 10_000  # orders counted for a reorder rule without max_orders
FIRST_YEAR, LAST_YEAR = 1900, 9899  # dates: a year after the last one still exists

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

# Memory of the fast engine per (person-product, workday): the plan's chances (about 24 bytes)
# and the behaviour grids of a batch of 64 runs (14 bytes per run), with draws in between.
BYTES_PER_SEAT_DAY = 24 + 64 * 14 + 48
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


def check_scenario(scenario, source: str) -> None:
    """The scenario as a whole: tokens that stay exact, a calendar with workdays, memory within
    the budget. A one-line `ScenarioError` naming the key to change otherwise."""

    def fail(path: str, message: str):
        raise ScenarioError(message, file=source, path=path)

    total = sum(lot.tokens for lot in scenario.lots)
    for rule in scenario.reorders:
        total += rule.tokens * (rule.max_orders or MAX_ORDERS_ASSUMED)
    if total >= EXACT:
        fail(
            "lots",
            f"the packs and top-ups add up to {total:,} tokens or more: flexsim counts up to "
            f"{EXACT:,} exactly; lower lots[*].tokens or purchasing.reorder.tokens / max_orders",
        )
    cal = scenario.calendar
    workdays = sum(cal.is_workday(scenario.start + timedelta(days=d)) for d in range(scenario.days))
    try:
        cal.next_workday(scenario.end)
    except (ValueError, OverflowError):
        fail(
            "calendar.holidays", "the calendar has no workday for ten years after the end: drop some holidays"
        )
    seats = sum(group.count * len(group.products) for group in scenario.groups)
    need = seats * max(workdays, 1) * BYTES_PER_SEAT_DAY
    budget = budget_bytes()
    if need > budget:
        fail(
            "users",
            f"simulating {seats:,} person-products over {workdays:,} workdays needs about {_gib(need)} "
            f"of memory, more than the {_gib(budget)} budget: lower users[*].count (or the products per "
            "person), shorten the horizon (end), or raise FLEXSIM_MEMORY_MB on a larger machine",
        )
