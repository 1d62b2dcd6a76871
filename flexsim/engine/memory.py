"""How many runs a batch holds: as many as fit in a memory budget, and no more than pays.

The fast engine advances a batch of runs together, and each run of the batch holds its behaviour
grids (a launch flag, a chargeable flag and three times per workday and seat: 14 bytes a cell)
for the whole horizon. So a batch's memory grows with runs x workdays x seats, and the batch
size is chosen from a budget instead of being a fixed number of runs: a 5,000-person, three-year
scenario gets a few runs a batch, the 200-person reference 40. Past about 16,000 seats a day
(runs x seats) a larger batch is no quicker (the per-day numpy calls are long enough already),
so the batch stops there even when the budget would allow more. Records are a few numbers per
run (see records.RunTable), so the number of runs does not change the budget's arithmetic.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the command line reads --memory without loading numpy
    from flexsim.engine.plan import Plan

DEFAULT_MEMORY = 1024**3  # 1 GiB
MIN_MEMORY = 64 * 1024**2  # less than this can't even hold Python and numpy
BASE = 70 * 1024**2  # Python, numpy, scipy and flexsim themselves (measured: about 60 MB)
GRID_BYTES = 14  # per (run, workday, seat) in a batch: 2 flags, 3 int32 times
PLAN_BYTES = 8  # per (workday, seat), once: the plan's launch chances
LAUNCH_BYTES = 64  # per launch while one run is drawn: its indices, times and flags (measured 57)
DETAIL_BYTES = 24  # per (workday, seat) while one record's per-seat figures are summed
DAY_BYTES = 160  # per (run, seat): the day loop's window state and temporaries
MAX_RUNS = {"fast": 64, "simpy": 8}
SEATS_PER_STEP = 16_384  # runs x seats beyond which a larger batch brings no speed

_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


class MemoryBudgetError(ValueError):
    """A --memory value that can't be read, or a budget too small for one run."""


def parse_memory(text: str) -> int:
    """Bytes in '1GB', '512MB', '1.5G', '800mib', '2e9' (K, M, G, T are powers of 1024)."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:e[0-9]+)?)\s*([kmgt]?)(?:i?b)?\s*", text.lower())
    if not m:
        raise MemoryBudgetError(f"{text!r} is not an amount of memory: write it like 1GB, 512MB or 2.5G")
    value = int(float(m.group(1)) * _UNITS[m.group(2)])
    if value < MIN_MEMORY:
        raise MemoryBudgetError(f"{text} is too little memory to simulate anything: give at least 64MB")
    return value


def expected_launch_share(plan: Plan) -> float:
    """The share of (workday, seat) cells with a launch, generously: person-to-person spread
    makes some runs busier than the mean, so the mean chance is taken with a margin."""
    if plan.base_prob.size == 0:
        return 0.0
    spread = 1.0 + 2.0 * float(plan.variation.max(initial=0.0))
    return min(1.0, float(plan.base_prob.clip(0, 1).mean()) * spread)


def estimate(plan: Plan, runs: int, engine: str = "fast") -> int:
    """Bytes a batch of `runs` runs needs at its peak, the process itself included."""
    cells = plan.n_workdays * plan.n_seats
    # One run at a time is drawn (and, with per-seat figures, summed): the larger of the two.
    one_at_a_time = cells * max(LAUNCH_BYTES * expected_launch_share(plan), DETAIL_BYTES)
    held = runs if engine == "fast" else 1  # the SimPy engine holds one run's grids at a time
    grids = held * (cells * GRID_BYTES + plan.n_seats * DAY_BYTES)
    return int(BASE + cells * PLAN_BYTES + one_at_a_time + grids)


def batch_runs(plan: Plan, engine: str, budget: int | None = None) -> int:
    """Runs per batch for this plan and engine within `budget` bytes (default DEFAULT_MEMORY).

    At least one run, even when one run alone needs more than the budget: a run can't be split,
    and the scenario's own limits (flexsim.scenario.limits) refuse what no machine could hold.
    """
    budget = DEFAULT_MEMORY if budget is None else budget
    most = MAX_RUNS[engine]
    if engine == "fast":
        most = min(most, max(1, SEATS_PER_STEP // max(plan.n_seats, 1)))
    runs = most
    while runs > 1 and estimate(plan, runs, engine) > budget:
        runs -= 1
    return runs
