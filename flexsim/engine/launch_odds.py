"""The chance that each seat launches its product on each workday of one run.

The plan holds the fixed part (days_per_week, calendar, seasons, events, active dates); each run
multiplies it by its own draws of what is uncertain: the person-to-person spread and, for rates
fitted from history, the uncertainty of the fit. Each comes from a stream of its own.
"""

from __future__ import annotations

import numpy as np
from scipy.special import betaincinv, gammaincinv

from flexsim.engine.plan import Plan
from flexsim.engine.streams import STREAM_HISTORY, STREAM_VARIATION, stream


def launch_probability(plan: Plan, seed: int, run: int) -> np.ndarray:
    """(workdays, seats) launch probabilities of run `run` (not capped at 1: see Plan.base_prob_t)."""
    return launch_chances(plan, seat_factors(plan, seed, run), 0, plan.n_workdays)


def seat_factors(plan: Plan, seed: int, run: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Run `run`'s factors on each seat's chances: the person's spread and, for rates fitted
    from history, the fit's (None when no seat has history)."""
    n_persons = len(plan.persons)
    # Person-to-person spread of days_per_week: gamma with mean 1 and the given CV, from one
    # uniform per person on a stream of its own, so a person's factor depends on nothing but
    # their own draw and their own group's variation.
    v = plan.variation
    factor = np.ones(n_persons)
    if (v > 0).any():
        u = stream(seed, run, STREAM_VARIATION).random(n_persons)
        spread = v > 0
        shape = 1.0 / v[spread] ** 2
        factor[spread] = gammaincinv(shape, u[spread]) / shape
    history = None
    if plan.seat_history.any():
        history = history_factor(plan, stream(seed, run, STREAM_HISTORY).random(plan.n_seats))
    return factor[plan.seat_person], history


def launch_chances(
    plan: Plan, factors: tuple[np.ndarray, np.ndarray | None], first: int, stop: int
) -> np.ndarray:
    """The chances of workdays first..stop-1 (a block of rows of `launch_probability`)."""
    person, history = factors
    prob = plan.base_prob_t[first:stop] * person
    if history is not None:
        prob *= history
    return prob


def history_factor(plan: Plan, u: np.ndarray) -> np.ndarray:
    """Per seat, the factor (mean 1) on its launch probability for a rate fitted from history.

    The inverse Beta CDF of one uniform per seat, over the Beta's mean: a seat's factor depends
    only on its own draw and its own history; seats without history get exactly 1.
    """
    factor = np.ones(plan.n_seats)
    h = plan.seat_history
    a, b = plan.seat_beta[h, 0], plan.seat_beta[h, 1]
    factor[h] = betaincinv(a, b, u[h]) * (a + b) / a
    return factor
