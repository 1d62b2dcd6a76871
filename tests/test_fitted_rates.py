"""The `history` key of a product use: a rate fitted from a usage export carries its uncertainty."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as sps

from flexsim.engine.behaviour import draw_behaviour
from flexsim.engine.plan import Plan
from flexsim.errors import ScenarioError
from flexsim.scenario.loader import load_scenario
from flexsim.scenario.model import Group, History, Lot, ProductUse, Scenario

BASE = """\
start: 2027-01-01
end: 2027-12-31
lots: []
users:
  - name: ana@firm.example
    products:
"""  # the product lines start at line 7


def load(tmp_path: Path, products: str) -> Scenario:
    path = tmp_path / "s.yaml"
    path.write_text(BASE + products)
    return load_scenario(path)


def test_history_is_read_beside_days_per_week(tmp_path: Path) -> None:
    sc = load(
        tmp_path,
        "      Revit: {days_per_week: 2.4, history: {days_used: 41, workdays: 87}}\n"
        "      AutoCAD: {days_per_week: 1}\n",
    )
    revit, autocad = sc.groups[0].products
    assert revit.history == History(41, 87) and revit.days_per_week == 2.4
    assert autocad.history is None
    assert History(41, 87).beta() == (41.5, 46.5)


KEY = "users[0].products.Revit.history"


@pytest.mark.parametrize(
    ("history", "path", "fragment"),
    [
        ("{days_used: 50, workdays: 40}", KEY + ".days_used", "more than workdays 40"),
        ("{days_used: -1, workdays: 40}", KEY + ".days_used", ">= 0"),
        ("{days_used: 2.5, workdays: 40}", KEY + ".days_used", "whole"),
        ("{days_used: 3}", KEY + ".workdays", "missing required key"),
        ("{days_used: 3, workdays: 9, weeks: 2}", KEY + ".weeks", "valid keys"),
        ("41", KEY, "expected a mapping {days_used, workdays}"),
    ],
)
def test_bad_history_is_one_located_line(tmp_path: Path, history: str, path: str, fragment: str) -> None:
    with pytest.raises(ScenarioError) as info:
        load(tmp_path, f"      Revit: {{days_per_week: 1, history: {history}}}\n")
    assert (info.value.path, info.value.line) == (path, 7)
    assert fragment in str(info.value)


def year(uses_a: tuple[ProductUse, ...], people: int = 5) -> Scenario:
    groups = (Group("a", uses_a, count=people), Group("b", (ProductUse("AutoCAD", 2.5),), count=people))
    return Scenario(
        "history",
        date(2027, 1, 1),
        date(2027, 12, 31),
        {"Revit": 10, "AutoCAD": 7},
        lots=(Lot("p", date(2027, 1, 1), 1000, 3.0, date(2028, 1, 1)),),
        groups=groups,
    )


def test_a_history_moves_no_launch_uniform_and_no_other_seats_launches() -> None:
    """Common random numbers: the history has a stream of its own, so every other seat launches
    on exactly the same days. (Start times and sessions are drawn only for launches, in order, so
    where this seat launches more often the later draws go to other launches: still independent
    draws of the same law, which no procurement setting can move.)"""
    plain = Plan(year((ProductUse("Revit", 2.0),)))
    fitted = Plan(year((ProductUse("Revit", 2.0, history=History(20, 50)),)))
    others = np.flatnonzero(plain.person_group[plain.seat_person] == 1)
    for run in range(4):
        a, b = draw_behaviour(plain, 7, run), draw_behaviour(fitted, 7, run)
        assert np.array_equal(a.launched[:, others], b.launched[:, others])
        assert not np.array_equal(a.launched, b.launched)


def test_history_factor_has_mean_one_and_the_spread_of_the_beta() -> None:
    """Days used per person-year: mean days_per_week x 52, spread of Beta-binomial."""
    history = History(10, 50)
    sc = year((ProductUse("Revit", 1.0, history=history),), people=400)
    plan = Plan(sc)
    cols = np.flatnonzero(plan.person_group[plan.seat_person] == 0)
    p = (
        np.concatenate([draw_behaviour(plan, 3, run).launched[:, cols].sum(axis=0) for run in range(5)])
        / plan.n_workdays
    )
    assert abs(p.mean() - 0.2) < 0.01
    a, b = history.beta()
    beta_cv = sps.beta(a, b).std() / sps.beta(a, b).mean()
    binomial = np.sqrt(0.2 * 0.8 / plan.n_workdays) / 0.2
    assert abs(p.std() / p.mean() - np.sqrt(beta_cv**2 + binomial**2)) < 0.04


def test_a_long_history_is_almost_certain_and_no_history_is_exact() -> None:
    sc = year((ProductUse("Revit", 1.0, history=History(20_000, 100_000)),), people=300)
    exact = replace(sc, groups=(replace(sc.groups[0], products=(ProductUse("Revit", 1.0),)), sc.groups[1]))
    spread = []
    for scenario in (sc, exact):
        plan = Plan(scenario)
        cols = np.flatnonzero(plan.person_group[plan.seat_person] == 0)
        p = draw_behaviour(plan, 1, 0).launched[:, cols].sum(axis=0) / plan.n_workdays
        spread.append(p.std())
    assert spread[0] == pytest.approx(spread[1], rel=0.15)
