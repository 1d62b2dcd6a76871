"""`flexsim advise`: Flex or subscription per person, and the re-simulated hybrid plan."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from datetime import date

import numpy as np
import pytest
from conftest import solo
from scipy import stats as sps

from flexsim.analysis.advise import advise
from flexsim.analysis.costs import yearly_use_cost
from flexsim.api import simulate
from flexsim.cli import main
from flexsim.output.data import advise_csv_text
from flexsim.scenario.model import Costs, Group, Lot, Normal, ProductUse

BIG = (Lot("big", date(2026, 1, 1), 10_000_000, 3.0, date(2027, 1, 1), price_given=True),)


def office(*uses: tuple[str, float]):
    """Named people, each using Revit on `days_per_week` at 10:00 for 6 hours, all of 2026."""
    groups = tuple(
        Group(
            name,
            (ProductUse("Revit", dpw),),
            named=True,
            start_hour=Normal(10.0, 0.0),
            session_hours=Normal(6.0, 0.0),
        )
        for name, dpw in uses
    )
    sc = solo(lots=BIG)
    return replace(
        sc, groups=groups, subscriptions={"Revit": 2985.0}, costs=Costs(blocked_day=600.0, token_price=3.0)
    )


def person(data: dict, name: str) -> dict:
    return next(p for p in data["people"] if p["person"] == name)


def test_daily_user_is_a_subscription_and_occasional_user_is_flex():
    data = advise(office(("daily", 4.0), ("rare", 0.5)), runs=60, seed=3)
    assert person(data, "daily")["recommendation"] == "subscription"
    assert person(data, "rare")["recommendation"] == "flex"
    assert data["plan"]["move_to_subscription"] == [{"person": "daily", "product": "Revit"}]
    # Break-even: 2985 / (10 tokens x $3) = 99.5 days a year.
    assert person(data, "daily")["break_even_days_per_year"] == pytest.approx(99.5)


def test_borderline_probability_matches_the_binomial():
    p = 100 / 261  # about break-even: 261 workdays in 2026
    runs = 1500
    data = advise(office(("edge", 5 * p)), runs=runs, seed=8)
    got = person(data, "edge")["probability_subscription_cheaper"]
    exact = float(sps.binom.sf(99, 261, p))  # 30 x days > 2985  <=>  days >= 100
    se = np.sqrt(exact * (1 - exact) / runs)
    assert abs(got - exact) < 4 * se
    # Days per year: Binomial(261, p) launch days, scaled to 365 days (2026 has 365).
    assert person(data, "edge")["days_per_year"]["mean"] == pytest.approx(261 * p, rel=0.02)


def test_moving_nobody_changes_nothing():
    data = advise(office(("daily", 4.0), ("rare", 0.5)), runs=40, seed=1, threshold=1.0)
    plan = data["plan"]
    assert plan["move_to_subscription"] == []
    assert plan["cost_before"] == plan["cost_after"]
    assert plan["saving"]["mean"] == 0 and plan["saving"]["sd"] == 0


def test_plan_saving_is_the_paired_difference_of_two_simulations():
    sc = office(("daily", 4.0), ("often", 3.0), ("rare", 0.5))
    runs, seed = 50, 4
    data = advise(sc, runs=runs, seed=seed)
    moved = frozenset((m["person"], m["product"]) for m in data["plan"]["move_to_subscription"])
    assert moved == {("daily", "Revit"), ("often", "Revit")}
    before = yearly_use_cost(simulate(sc, runs=runs, seed=seed).records, sc)
    after_sc = replace(sc, on_subscription=moved)
    after = yearly_use_cost(simulate(after_sc, runs=runs, seed=seed).records, after_sc) + 2 * 2985
    assert data["plan"]["saving"]["mean"] == pytest.approx(float((before - after).mean()))
    assert data["plan"]["cost_after"]["mean"] == pytest.approx(float(after.mean()))


def test_people_on_subscription_use_no_tokens_and_leave_others_alone():
    sc = office(("daily", 4.0), ("rare", 0.5))
    plain = simulate(sc, runs=5, seed=2, keep_seats=True)
    moved = simulate(
        replace(sc, on_subscription=frozenset({("daily", "Revit")})), runs=5, seed=2, keep_seats=True
    )
    for a, b in zip(plain.records, moved.records, strict=True):
        assert b.seat_tokens[0] == 0 and a.seat_tokens[0] > 0
        assert b.seat_tokens[1] == a.seat_tokens[1]  # the other person is untouched (CRN)
        assert np.array_equal(a.seat_days, b.seat_days)  # they still use the product


def test_advise_cli(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text(
        "start: 2026-01-01\nend: 2026-12-31\n"
        "lots: [{name: big, date: 2026-01-01, tokens: 100000}]\n"
        "users:\n  - group: heavy\n    count: 2\n    products: {Revit: {days_per_week: 4}}\n"
        "  - name: kim@x.example\n    products: {Revit: {days_per_week: 0.5}, AutoCAD: 1}\n"
        "subscriptions: {Revit: 2985}\ncosts: {blocked_day: 600}\nsimulation: {runs: 30, seed: 5}\n"
    )
    out, table = tmp_path / "a.json", tmp_path / "a.csv"
    assert main(["advise", str(path), "--json", str(out), "--csv", str(table)]) == 0
    data = json.loads(out.read_text())
    keys = {
        "person",
        "group",
        "product",
        "days_per_year",
        "flex_cost_per_year",
        "subscription_price",
        "probability_subscription_cheaper",
        "recommendation",
    }
    assert all(keys <= set(p) for p in data["people"])
    names = {(p["person"], p["group"], p["product"]) for p in data["people"]}
    assert names == {
        ("heavy-1", "heavy", "Revit"),
        ("heavy-2", "heavy", "Revit"),
        ("kim@x.example", None, "Revit"),
        ("kim@x.example", None, "AutoCAD"),
    }
    autocad = next(p for p in data["people"] if p["product"] == "AutoCAD")
    assert autocad["recommendation"] == "flex" and autocad["subscription_price"] is None
    for key in ("cost_before", "cost_after", "saving"):
        assert {"mean", "sd", "p05", "p50", "p95", "mean_ci95"} <= set(data["plan"][key])
    rows = list(csv.DictReader(io.StringIO(table.read_text())))
    assert len(rows) == 4 and rows[0]["recommendation"] in ("flex", "subscription")
    assert "heavy-1" in capsys.readouterr().out
    assert advise_csv_text(data) == table.read_text()


def test_seasonality_moves_days_between_months_not_the_yearly_cost():
    """The same expected yearly days squeezed into January to March: the yearly Flex cost and
    advice are unchanged (within Monte Carlo error), the monthly view shows the difference."""
    from flexsim.engine.plan import Plan

    flat = office(("busy", 1.0))  # p = 0.2 on every workday of 2026
    plan = Plan(flat)
    spring = int((plan.workday_month < 3).sum())  # workdays in January to March
    boost = plan.n_workdays / spring  # the same expected days, all in three months
    packed = replace(flat, seasonality=(boost,) * 3 + (0.0,) * 9)
    runs = 400
    a, b = advise(flat, runs=runs, seed=2), advise(packed, runs=runs, seed=2)
    pa, pb = person(a, "busy"), person(b, "busy")
    for key in ("days_per_year", "flex_cost_per_year"):
        sa, sb = pa[key], pb[key]
        se = np.hypot(sa["sd"], sb["sd"]) / np.sqrt(runs)
        assert abs(sa["mean"] - sb["mean"]) < 4 * se, key
    assert pa["recommendation"] == pb["recommendation"] == "flex"
    months_a, months_b = pa["days_per_month"], pb["days_per_month"]
    assert sum(months_b[3:]) == 0 and min(months_b[:3]) > 12
    assert max(months_a) < 6 and min(months_a) > 2


def test_several_products_the_same_day_counts_the_cheaper_ones():
    """A person opening Revit (10) and AutoCAD (7) every workday: 7 extra tokens a day."""
    sc = office(("both", 5.0))
    both = replace(sc.groups[0], products=(ProductUse("Revit", 5.0), ProductUse("AutoCAD", 5.0)))
    data = advise(replace(sc, groups=(both,)), runs=3, seed=1)
    extra = data["waste"]["several_products_same_day_usd_per_year"]["total"]
    assert extra["mean"] == pytest.approx(261 * 7 * 3.0)


def test_advise_chart(tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "s.yaml"
    path.write_text(
        "start: 2026-01-01\ndays: 365\nlots: [{name: big, date: 2026-01-01, tokens: 100000}]\n"
        "users:\n  - group: heavy\n    count: 3\n    products: {Revit: {days_per_week: 4}}\n"
        "subscriptions: {Revit: 2985}\nsimulation: {runs: 10, seed: 5}\n"
    )
    chart = tmp_path / "a.png"
    assert main(["advise", str(path), "--chart", str(chart), "--quiet"]) == 0
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_threshold_from_the_scenario_and_the_command_line(tmp_path, capsys):
    base = (
        "start: 2026-01-01\nend: 2026-12-31\n"
        "lots: [{name: big, date: 2026-01-01, tokens: 100000}]\n"
        "users:\n  - name: edge\n    products: {Revit: {days_per_week: 1.95}}\n"
        "    start_hour: {mean: 10, sd: 0}\n    session_hours: {mean: 6, sd: 0}\n"
        "subscriptions: {Revit: 2985}\nsimulation: {runs: 200, seed: 5}\n"
    )
    # About 102 expected days against a break-even of 99.5: a subscription is cheaper in most
    # runs, but not in 95% of them.
    loose, strict = tmp_path / "loose.yaml", tmp_path / "strict.yaml"
    loose.write_text(base)
    strict.write_text(base + "costs: {subscription_threshold: 95%}\n")
    outs = {}
    for path in (loose, strict):
        out = tmp_path / (path.stem + ".json")
        assert main(["advise", str(path), "--json", str(out), "--quiet"]) == 0
        outs[path.stem] = json.loads(out.read_text())
    assert 0.5 < outs["loose"]["people"][0]["probability_subscription_cheaper"] < 0.95
    assert outs["loose"]["people"][0]["recommendation"] == "subscription"
    assert outs["strict"]["people"][0]["recommendation"] == "flex"
    out = tmp_path / "cli.json"
    assert main(["advise", str(strict), "--threshold", "0.5", "--json", str(out), "--quiet"]) == 0
    assert json.loads(out.read_text())["people"][0]["recommendation"] == "subscription"


def test_best_bundle_shrinks_when_heavy_users_move():
    sc = office(("daily", 4.0), ("often", 3.5), ("rare", 0.5))
    sc = replace(
        sc, lots=(Lot("bundle", date(2026, 1, 1), 100_000, 3.0, date(2027, 1, 1), price_given=True),)
    )
    data = advise(sc, runs=40, seed=2, lot="bundle", sizes=list(range(500, 6001, 250)))
    assert len(data["plan"]["move_to_subscription"]) == 2
    best = data["plan"]["best_bundle"]
    assert best["after"]["tokens"] < best["before"]["tokens"]


def test_advise_refuses_a_horizon_that_is_not_a_year(tmp_path, capsys):
    """Half a year scaled to a whole one carries that half's season to the rest: refused."""
    from flexsim.cli import main

    assert main(["advise", "scenarios/left-open-overnight.yaml", "--runs", "5"]) == 2
    err = capsys.readouterr().err
    assert "covers 182 days" in err and "days: 365" in err and len(err.strip().splitlines()) == 1


def test_advise_without_prices_says_how_to_add_them(tmp_path, capsys):
    from flexsim.cli import main

    path = tmp_path / "s.yaml"
    path.write_text(
        "name: x\nstart: 2026-01-01\nend: 2026-12-31\n"
        "lots: [{name: big, date: 2026-01-01, tokens: 100000}]\n"
        "users:\n  - group: heavy\n    count: 2\n    products: {Revit: {days_per_week: 4}}\n"
    )
    assert main(["advise", str(path), "--runs", "5"]) == 0
    out = capsys.readouterr().out
    assert "No subscription prices to compare with" in out and "subscriptions:" in out
    assert "nobody is better off" not in out
    assert all(len(line) <= 80 for line in out.splitlines())
