"""People's behaviour in one run, drawn in bulk from the run's own random stream.

The draws depend only on the people, the calendar and the seed: never on packs, prices or
top-ups. That is what makes comparisons of procurement settings use common random numbers: run k
sees the same launches, start times and sessions whatever the bundle size.

A run's behaviour is a set of grids, one row per workday of the horizon and one column per seat
(a person's use of one product): did the seat launch that day, when, until when was it in use,
and until when was it chargeable (later than the end of use only when it was left open without
idle awareness). Times are seconds from 00:00 of the first simulated day.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flexsim.engine.launch_odds import launch_probability
from flexsim.engine.ledger import DAY
from flexsim.engine.plan import Plan
from flexsim.engine.streams import STREAM_PEOPLE, stream

SHORT_SESSION = 300  # seconds: launches shorter than 5 minutes are free and open no window
TIME = np.int32  # seconds from the start fit in 32 bits for horizons up to 68 years


@dataclass
class Behaviour:
    """Every launch of one run, as (workday, seat) grids."""

    launched: np.ndarray  # bool: the seat launched its product that workday
    chargeable: np.ndarray  # bool: launched and not a short (free) session
    start_grid: np.ndarray  # TIME: launch time
    in_use_end_grid: np.ndarray  # TIME
    charge_end_grid: np.ndarray  # TIME
    launches: np.ndarray  # int64 per pool: every launch, short ones included

    # Flat views (launch by launch, ordered by workday then seat), for tests and inspection.
    @property
    def _where(self) -> tuple[np.ndarray, np.ndarray]:
        return np.nonzero(self.launched)

    @property
    def workday(self) -> np.ndarray:
        return self._where[0]

    @property
    def seat(self) -> np.ndarray:
        return self._where[1]

    @property
    def start(self) -> np.ndarray:
        return self.start_grid[self.launched].astype(np.int64)

    @property
    def in_use_end(self) -> np.ndarray:
        return self.in_use_end_grid[self.launched].astype(np.int64)

    @property
    def charge_end(self) -> np.ndarray:
        return self.charge_end_grid[self.launched].astype(np.int64)

    @property
    def short(self) -> np.ndarray:
        return ~self.chargeable[self.launched]

    def __len__(self) -> int:
        return int(self.launched.sum())


def empty_grids(plan: Plan, runs: int) -> dict[str, np.ndarray]:
    """Grids for a batch of runs: arrays shaped (runs, workdays, seats)."""
    shape = (runs, plan.n_workdays, plan.n_seats)
    return {
        "launched": np.zeros(shape, bool),
        "chargeable": np.zeros(shape, bool),
        "start_grid": np.zeros(shape, TIME),
        "in_use_end_grid": np.zeros(shape, TIME),
        "charge_end_grid": np.zeros(shape, TIME),
    }


def draw_behaviour(
    plan: Plan, seed: int, run: int, grids: dict[str, np.ndarray] | None = None, row: int = 0
) -> Behaviour:
    """Draw run `run`'s launches (into row `row` of batch grids, if given).

    Same (people, calendar, seed, run) -> same launches, whatever else the scenario says.
    """
    if grids is None:
        grids = empty_grids(plan, 1)
        row = 0
    g = {name: array[row] for name, array in grids.items()}
    n_persons, n_wd = len(plan.persons), plan.n_workdays

    rng = stream(seed, run, STREAM_PEOPLE)
    prob = launch_probability(plan, seed, run)
    launched = np.less(rng.random((n_wd, plan.n_seats), dtype=np.float32), prob, out=g["launched"])

    # Each person's start time on every workday (and the first one after the horizon).
    z = rng.standard_normal((n_wd + 1, n_persons), dtype=np.float32)
    start_sec = np.clip(
        np.rint((plan.start_mean32 + plan.start_sd32 * z) * np.float32(3600)), 0, DAY - 1
    ).astype(TIME)
    person_start = start_sec + plan.workday_start32[:, None]
    start = np.take(person_start[:-1], plan.seat_person, axis=1, out=g["start_grid"])
    next_start = np.take(person_start[1:], plan.seat_person, axis=1)

    # Session lengths and left-open flags, drawn for every cell so the grid layout stays simple.
    zs = rng.standard_normal((n_wd, plan.n_seats), dtype=np.float32)
    length = np.rint((plan.session_mean32 + plan.session_sd32 * zs) * np.float32(3600))
    np.clip(length, 0, 400 * DAY, out=length)  # a session never outlasts the next workday anyway
    length = length.astype(TIME)
    left_open = rng.random((n_wd, plan.n_seats), dtype=np.float32) < plan.seat_left_open32

    # A session ends at the latest at the person's start on the next workday.
    in_use_end = np.minimum(start + length, next_start, out=g["in_use_end_grid"])
    charge_end = g["charge_end_grid"]
    np.copyto(charge_end, in_use_end)
    np.copyto(charge_end, next_start, where=left_open & ~plan.seat_idle_aware)
    short = (length < SHORT_SESSION) & ~left_open
    np.logical_and(launched, ~short, out=g["chargeable"])
    if plan.seat_subscribed.any():  # on a named-user subscription: used, never charged
        g["chargeable"][:, plan.seat_subscribed] = False
    launches = np.bincount(plan.seat_pool, weights=launched.sum(axis=0), minlength=plan.n_pools).astype(
        np.int64
    )
    return Behaviour(
        launched, g["chargeable"], g["start_grid"], g["in_use_end_grid"], g["charge_end_grid"], launches
    )


def seat_details(plan: Plan, launched: np.ndarray, chargeable: np.ndarray) -> dict[str, np.ndarray]:
    """Per-seat and per-person figures of one run that advice and breakdowns need.

    - `seat_days`: days each seat launched its product;
    - `seat_month_days`: the same by month of the year (12 x seats), for seasonal views;
    - `person_extra_tokens`: per person, tokens of the launches beyond the dearest product on
      days with two or more charged products (what "several products the same day" adds, on the
      assumption that each launch opens its own window).
    """
    days = launched.sum(axis=0).astype(np.int64)
    month_days = np.zeros((12, plan.n_seats), np.int64)
    if len(plan.month_starts):  # workdays run in date order: sum each month's stretch at once
        stretches = np.add.reduceat(launched, plan.month_starts, axis=0, dtype=np.int64)
        np.add.at(month_days, plan.workday_month[plan.month_starts], stretches)
    tokens = chargeable * plan.seat_rate  # (workdays, seats)
    starts = plan.person_first_seat
    per_day = np.add.reduceat(tokens, starts, axis=1)
    dearest = np.maximum.reduceat(tokens, starts, axis=1)
    extra = (per_day - dearest).sum(axis=0).astype(np.int64)
    return {"seat_days": days, "seat_month_days": month_days, "person_extra_tokens": extra}
