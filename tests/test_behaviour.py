"""The behaviour draws: common random numbers and the person-to-person spread."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np

from flexsim.engine.behaviour import draw_behaviour
from flexsim.engine.plan import Plan
from flexsim.scenario.model import Group, Lot, Normal, ProductUse, Reorder, Scenario, Threshold


def two_groups(var_a: float, var_b: float, people: int = 5) -> Scenario:
    groups = (
        Group("a", (ProductUse("Revit", 2.0),), count=people, variation=var_a),
        Group("b", (ProductUse("AutoCAD", 2.5),), count=people, variation=var_b, start_hour=Normal(8.0, 1.0)),
    )
    return Scenario(
        "crn",
        date(2027, 1, 1),
        date(2027, 3, 31),
        {"Revit": 10, "AutoCAD": 7},
        lots=(Lot("p", date(2027, 1, 1), 1000, 3.0, date(2028, 1, 1)),),
        groups=groups,
    )


def group_b_columns(plan: Plan) -> np.ndarray:
    return np.flatnonzero(plan.person_group[plan.seat_person] == 1)


def test_one_groups_variation_does_not_move_another_groups_launches():
    """Launch decisions are one uniform per (workday, seat); start times and sessions are drawn
    launch by launch (only for launches), so those of group b may shift, but not its launches."""
    base, changed = Plan(two_groups(0.3, 0.5)), Plan(two_groups(0.9, 0.5))
    cols = group_b_columns(base)
    moved = 0
    for run in range(5):
        a, b = draw_behaviour(base, 11, run), draw_behaviour(changed, 11, run)
        assert np.array_equal(a.launched[:, cols], b.launched[:, cols])
        moved += not np.array_equal(
            a.launched[:, ~np.isin(np.arange(base.n_seats), cols)],
            b.launched[:, ~np.isin(np.arange(base.n_seats), cols)],
        )
    assert moved  # group a's own launches did change


def test_procurement_settings_do_not_move_any_launch():
    sc = two_groups(0.3, 0.5)
    other = replace(
        sc,
        lots=(Lot("q", date(2026, 6, 1), 50, 2.0, date(2027, 2, 1)),),
        reorders=(Reorder("main", Threshold(tokens=10), 100, 3, 2),),
    )
    for run in range(3):
        a, b = draw_behaviour(Plan(sc), 5, run), draw_behaviour(Plan(other), 5, run)
        assert np.array_equal(a.start_grid, b.start_grid)
        assert np.array_equal(a.launched, b.launched)


def test_variation_factor_has_mean_one_and_the_given_spread():
    """With days_per_week 1 of 5 workdays, launches per person follow the gamma factor."""
    v = 0.5
    sc = Scenario(
        "spread",
        date(2027, 1, 1),
        date(2027, 12, 31),
        {"Revit": 10},
        lots=(Lot("p", date(2027, 1, 1), 10, 3.0, date(2028, 1, 1)),),
        groups=(Group("g", (ProductUse("Revit", 1.0),), count=400, variation=v),),
    )
    plan = Plan(sc)
    per_person = np.concatenate([draw_behaviour(plan, 3, run).launched.sum(axis=0) for run in range(5)])
    workdays = plan.n_workdays
    p = per_person / workdays
    # mean launch probability 0.2 (the gamma factor averages 1; capping at 1 is negligible here)
    assert abs(p.mean() - 0.2) < 0.01
    # spread of p: CV about v, plus binomial noise of sqrt(0.2 * 0.8 / workdays) / 0.2
    cv = p.std() / p.mean()
    binomial = np.sqrt(0.2 * 0.8 / workdays) / 0.2
    assert abs(cv - np.sqrt(v**2 + binomial**2)) < 0.05
