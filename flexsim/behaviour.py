"""People's behaviour in one run, drawn in bulk from the run's own random stream.

The draws depend only on the people, the calendar and the seed: never on packs, prices or
top-ups. That is what makes comparisons of procurement settings use common random numbers: run k
sees the same launches, start times and sessions whatever the bundle size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flexsim.ledger import DAY
from flexsim.plan import Plan

STREAM_PEOPLE = 0  # spawn-key component of the behaviour stream
SHORT_SESSION = 300  # seconds: launches shorter than 5 minutes are free and open no window


def stream(seed: int, run: int, stream_id: int) -> np.random.Generator:
    """Generator for (run, stream): child (run, stream) of the root SeedSequence(seed)."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(run, stream_id))))


@dataclass
class Behaviour:
    """Every launch of one run, ordered by workday then seat.

    `start` is the launch time, `in_use_end` when use stops, `charge_end` when the product stops
    being chargeable (later than `in_use_end` only when it is left open without idle awareness);
    all in seconds from the start of the horizon.
    """

    seat: np.ndarray  # int64
    workday: np.ndarray  # int64 index into plan.workdays
    start: np.ndarray  # int64
    in_use_end: np.ndarray  # int64
    charge_end: np.ndarray  # int64
    short: np.ndarray  # bool: free, opens no window

    def __len__(self) -> int:
        return len(self.seat)


def draw_behaviour(plan: Plan, seed: int, run: int) -> Behaviour:
    """Draw run `run`'s launches. Same (plan people, seed, run) -> same launches."""
    rng = stream(seed, run, STREAM_PEOPLE)
    n_persons, n_wd = len(plan.persons), plan.n_workdays

    # Person-to-person spread of days_per_week: gamma with mean 1 and the given CV.
    v = plan.variation
    shape = np.where(v > 0, 1.0 / np.where(v > 0, v, 1.0) ** 2, 1.0)
    g = rng.standard_gamma(shape, size=n_persons) if n_persons else np.zeros(0)
    factor = np.where(v > 0, g * v * v, 1.0)

    prob = np.minimum(plan.base_prob * factor[plan.seat_person][:, None], 1.0)
    u = rng.random((n_wd, plan.n_seats), dtype=np.float32)
    launched = u < prob.T

    z = rng.standard_normal((n_wd + 1, n_persons), dtype=np.float32)
    start_sec = np.clip(np.rint((plan.start_mean + plan.start_sd * z) * 3600.0), 0, DAY - 1)
    start_sec = start_sec.astype(np.int64)

    w, seat = np.nonzero(launched)
    n = len(w)
    person = plan.seat_person[seat]
    zs = rng.standard_normal(n, dtype=np.float32)
    length = np.maximum(np.rint((plan.session_mean[seat] + plan.session_sd[seat] * zs) * 3600.0), 0)
    length = length.astype(np.int64)
    left_open = rng.random(n, dtype=np.float32) < plan.seat_left_open[seat]

    start = plan.workdays[w] * DAY + start_sec[w, person]
    next_start = plan.workdays_ext[w + 1] * DAY + start_sec[w + 1, person]
    in_use_end = np.minimum(start + length, next_start)
    charge_end = np.where(left_open & ~plan.seat_idle_aware[seat], next_start, in_use_end)
    short = (length < SHORT_SESSION) & ~left_open
    return Behaviour(seat.astype(np.int64), w.astype(np.int64), start, in_use_end, charge_end, short)
