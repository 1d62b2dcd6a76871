"""People's behaviour in one run, drawn in bulk from the run's own random streams.

The draws depend only on the people, the calendar and the seed: never on packs, prices or
top-ups. That is what makes comparisons of procurement settings use common random numbers: run k
sees the same launches, start times and sessions whatever the bundle size.

A run's behaviour is a set of grids, one row per workday of the horizon and one column per seat
(a person's use of one product): did the seat launch that day, when, until when was it in use,
and until when was it chargeable (later than the end of use only when it was left open without
idle awareness). A session is in use for its whole length, past the next day's start if it is
long; left open, it stays open until the person's start hour on the first workday after its use
ends. Times are seconds from 00:00 of the first simulated day.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from flexsim.engine.launch_odds import launch_chances, seat_factors
from flexsim.engine.ledger import DAY
from flexsim.engine.plan import Plan
from flexsim.engine.streams import (
    STREAM_CLOSE,
    STREAM_LEFT_OPEN,
    STREAM_PEOPLE,
    STREAM_SESSION,
    STREAM_START,
    stream,
)

SHORT_SESSION = 300  # seconds: launches shorter than 5 minutes are free and open no window
TIME = np.int32  # seconds from the start fit in 32 bits for horizons up to 68 years
LAUNCH_BLOCK = 1 << 18  # (workday, seat) cells whose launches are drawn at once


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
    def _where(self) -> tuple[np.ndarray, ...]:
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


_kept = threading.local()  # each thread's grids, for its next batch


def batch_grids(plan: Plan, runs: int) -> dict[str, np.ndarray]:
    """Grids for a batch of runs, in buffers this thread keeps for its next batch.

    A batch's grids are tens or hundreds of megabytes: allocated afresh for every batch, each of
    their pages costs a page fault the first time it is written, which on a large scenario is a
    third of the run. Reused, they cost nothing. What a cell holds where nothing was launched is
    whatever the previous batch left there (nothing reads it). The caller must be done with one
    batch's grids before asking for the next batch's.
    """
    shape = (plan.n_workdays, plan.n_seats)
    kept = getattr(_kept, "grids", None)
    if kept is None or kept["launched"].shape[1:] != shape or len(kept["launched"]) < runs:
        _kept.grids = None  # let the old buffers go before the new ones are allocated
        kept = _kept.grids = empty_grids(plan, runs)
    return {name: array[:runs] for name, array in kept.items()}


class _StartHours:
    """Each person's start time on each workday (seconds from the start), drawn when first needed.

    The days a person launches are drawn at once, in (workday, person) order; a day without a
    launch that a session left open needs (it stays open until the person's start hour that day)
    is drawn on a stream of its own, so those draws never move a launch's start time.
    """

    def __init__(self, plan: Plan, seed: int, run: int, wd: np.ndarray, person: np.ndarray):
        self.plan, self.seed, self.run = plan, seed, run
        self.n = len(plan.persons)
        self.keys = wd * self.n + person  # sorted: workday first, then person
        self.values = self._draw(wd, person, stream(seed, run, STREAM_START))
        # Days without a launch that a product left open waits for, drawn when first needed.
        self.close_keys = np.zeros(0, np.int64)
        self.close_values = np.zeros(0, TIME)
        self._close_rng: np.random.Generator | None = None

    def _draw(self, wd: np.ndarray, person: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        plan = self.plan
        hours = plan.start_mean32[person]
        sd = plan.start_sd32[person]
        if plan.start_sd_all:  # everybody's start varies: one draw each, no selection
            hours += sd * rng.standard_normal(len(sd), dtype=np.float32)
        else:
            spread = np.flatnonzero(sd > 0)  # sd 0: exactly the mean, nothing drawn
            if len(spread):
                z = rng.standard_normal(len(spread), dtype=np.float32)
                hours[spread] += sd[spread] * z
        seconds = np.clip(np.rint(hours * np.float32(3600)), 0, DAY - 1).astype(TIME)
        return seconds + plan.workday_start32[wd]

    def at(self, wd: np.ndarray, person: np.ndarray) -> np.ndarray:
        """Start times of these (workday, person) pairs (workday < len(plan.workdays_ext))."""
        key = wd * self.n + person
        out, known = _lookup(self.keys, self.values, key)
        if not known.all():
            missing = np.flatnonzero(~known)
            found, there = _lookup(self.close_keys, self.close_values, key[missing])
            out[missing[there]] = found[there]
            if not there.all():
                # Drawn once per call, in key order, on the stream of their own.
                new = np.unique(key[missing[~there]])
                if self._close_rng is None:
                    self._close_rng = stream(self.seed, self.run, STREAM_CLOSE)
                values = self._draw(new // self.n, new % self.n, self._close_rng)
                at = np.searchsorted(self.close_keys, new)
                self.close_keys = np.insert(self.close_keys, at, new)
                self.close_values = np.insert(self.close_values, at, values)
                rest = missing[~there]
                out[rest] = values[np.searchsorted(new, key[rest])]
        return out


def _lookup(keys: np.ndarray, values: np.ndarray, key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each of `key`: its value in sorted `keys` (anything where absent), and whether present."""
    if len(keys) == 0:
        return np.zeros(len(key), TIME), np.zeros(len(key), bool)
    pos = np.minimum(np.searchsorted(keys, key), len(keys) - 1)
    return values[pos], keys[pos] == key


def _closing_time(plan: Plan, hours: _StartHours, wd: np.ndarray, person: np.ndarray, end: np.ndarray):
    """When a product left open (its use over at `end`) closes: at the person's start hour on the
    first workday after the launch day whose start hour is not before `end`. Beyond the last
    workday known (after the horizon) it closes at `end`, which is then past the run's end."""
    n_ext = len(plan.workdays_ext)
    close = end.copy()
    j = np.maximum(np.searchsorted(plan.workdays_ext, end // DAY, side="left"), wd + 1)
    for _ in range(2):  # that workday, or the next one if the use ends after its start hour
        inside = np.flatnonzero(j < n_ext)
        if len(inside) == 0:
            break
        start = hours.at(j[inside], person[inside])
        late = start < end[inside]
        close[inside[~late]] = start[~late]
        j[inside[~late]] = n_ext  # settled
        j[inside[late]] += 1
    return close


def draw_behaviour(
    plan: Plan, seed: int, run: int, grids: dict[str, np.ndarray] | None = None, row: int = 0
) -> Behaviour:
    """Draw run `run`'s launches (into row `row` of batch grids, if given).

    Same (people, calendar, seed, run) -> same launches, whatever else the scenario says. Only
    what can change a result is drawn: start times of the people who launch that day, session
    lengths and left-open flags of the launches themselves (none where `sd` or `left_open` is 0).
    The cells of the grids where nothing was launched are left as they are.
    """
    if grids is None:
        grids = empty_grids(plan, 1)
        row = 0
    g = {name: array[row] for name, array in grids.items()}
    n_wd, n_seats = plan.n_workdays, plan.n_seats

    # Launches: one uniform per (workday, seat), drawn a block of workdays at a time (the same
    # numbers as in one go) so that the chances and uniforms of a long horizon are never whole.
    launched = g["launched"]
    factors = seat_factors(plan, seed, run)
    people = stream(seed, run, STREAM_PEOPLE)
    step = max(1, LAUNCH_BLOCK // max(n_seats, 1))
    for lo in range(0, n_wd, step):
        hi = min(lo + step, n_wd)
        uniform = people.random((hi - lo, n_seats), dtype=np.float32)
        np.less(uniform, launch_chances(plan, factors, lo, hi), out=launched[lo:hi])
    flat = np.flatnonzero(launched)  # launch by launch, in (workday, seat) order
    wd = flat // n_seats
    seat = flat - wd * n_seats
    person = plan.seat_person[seat]

    # Start times: one per person and workday with a launch (a person's products start together).
    day_key = wd * len(plan.persons) + person
    first = np.ones(len(wd), bool)
    np.not_equal(day_key[1:], day_key[:-1], out=first[1:])
    del day_key
    hours = _StartHours(plan, seed, run, wd[first], person[first])
    start = hours.values[np.cumsum(first, dtype=np.int64) - 1]

    # Session lengths (in use however long they last) and left-open flags, per launch.
    length = plan.session_mean32[seat]
    sd = plan.session_sd32[seat]
    sessions = stream(seed, run, STREAM_SESSION)
    if plan.session_sd_all:  # every session varies: one draw each, no selection
        length += sd * sessions.standard_normal(len(sd), dtype=np.float32)
    else:
        spread = np.flatnonzero(sd > 0)
        if len(spread):
            length[spread] += sd[spread] * sessions.standard_normal(len(spread), dtype=np.float32)
    del sd
    # A session outlasting the whole horizon and a day ends after the run whenever it starts: cut
    # there, which changes nothing and keeps times in TIME.
    length = np.clip(np.rint(length * np.float32(3600)), 0, plan.end_time + DAY).astype(TIME)
    left_open = plan.seat_left_always[seat]
    maybe = np.flatnonzero(plan.seat_left_maybe[seat])
    if len(maybe):
        chance = plan.seat_left_open32[seat[maybe]]
        left_open[maybe] = stream(seed, run, STREAM_LEFT_OPEN).random(len(maybe), dtype=np.float32) < chance

    in_use_end = start + length
    charge_end = in_use_end.copy()
    idle_charged = np.flatnonzero(left_open & ~plan.seat_idle_aware[seat])
    if len(idle_charged):
        charge_end[idle_charged] = _closing_time(
            plan, hours, wd[idle_charged], person[idle_charged], in_use_end[idle_charged]
        )
    chargeable = ~((length < SHORT_SESSION) & ~left_open)
    if plan.seat_subscribed.any():  # on a named-user subscription: used, never charged
        chargeable &= ~plan.seat_subscribed[seat]

    # Stores by flat cell index (much quicker than by a mask or by (workday, seat) pairs).
    g["start_grid"].reshape(-1)[flat] = start
    g["in_use_end_grid"].reshape(-1)[flat] = in_use_end
    g["charge_end_grid"].reshape(-1)[flat] = charge_end
    g["chargeable"][...] = False
    g["chargeable"].reshape(-1)[flat] = chargeable
    if plan.n_pools == 1:
        launches = np.array([len(seat)], np.int64)
    else:
        per_seat = np.bincount(seat, minlength=n_seats)
        launches = np.bincount(plan.seat_pool, weights=per_seat, minlength=plan.n_pools).astype(np.int64)
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
