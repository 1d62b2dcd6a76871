"""Hand-counted cases for the naive SimPy model (the yardstick must itself be right).

Run with `python -m pytest benchmarks/test_naive.py` (the default test run only collects tests/).
2026 starts on a Thursday and has 365 days, 261 of them Monday to Friday.
"""

import sys
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from naive_simpy import run_naive  # noqa: E402

from flexsim.scenario.model import Calendar, Event, Group, Lot, Normal, ProductUse, Scenario  # noqa: E402

WORKDAYS_2026 = 261


def scenario(
    *,
    lots=None,
    left_open=0.0,
    idle_awareness=True,
    start_hour=10.0,
    session=6.0,
    days_per_week=5.0,
    **group_kw,
) -> Scenario:
    group = Group(
        name="solo",
        products=(ProductUse("Revit", days_per_week),),
        count=1,
        named=True,
        start_hour=Normal(start_hour, 0.0),
        session_hours=Normal(session, 0.0),
        left_open=left_open,
        idle_awareness=idle_awareness,
        **group_kw,
    )
    if lots is None:
        lots = (Lot("big", date(2026, 1, 1), 100_000, 2.75, date(2027, 1, 1)),)
    return Scenario(
        name="hand count",
        start=date(2026, 1, 1),
        end=date(2026, 12, 31),
        products={"Revit": 10, "AutoCAD": 7},
        lots=tuple(lots),
        groups=(group,),
        runs=1,
        seed=1,
    )


def one(s: Scenario) -> dict:
    (record,) = run_naive(s, runs=1, seed=1)
    assert record["tokens_purchased"] == (
        record["tokens_consumed"] + record["tokens_expired"] + record["tokens_remaining"]
    )
    return record


def test_every_workday_at_ten_is_charged_once_a_day():
    r = one(scenario())
    assert r["charges"] == WORKDAYS_2026
    assert r["tokens_consumed"] == 10 * WORKDAYS_2026 == 2610
    assert r["blocked_launches"] == 0 and r["run_out_date"] is None
    # the pack expires at 00:00 on 2027-01-01, which is exactly the end of the run: it counts
    assert r["tokens_expired"] == 100_000 - 2610 and r["tokens_remaining"] == 0


def test_left_open_without_idle_awareness_is_charged_every_day():
    r = one(scenario(left_open=1.0, idle_awareness=False))
    assert r["charges"] == 365
    assert r["tokens_consumed"] == 3650


def test_left_open_with_idle_awareness_costs_nothing_extra():
    r = one(scenario(left_open=1.0, idle_awareness=True))
    assert r["charges"] == WORKDAYS_2026


def test_session_ending_at_the_window_end_is_not_charged_again():
    # a 24-hour session ends exactly when its window does: [t, t + 24 h) covers it
    assert one(scenario(session=24.0))["charges"] == WORKDAYS_2026


def test_session_in_use_at_the_window_end_is_charged_again():
    # 30-hour sessions: Monday to Thursday they are cut at the next day's 10:00 launch; a Friday
    # session is still in use at Saturday 10:00 (52 Fridays). The Thursday 31 December session
    # would be renewed on 1 January 10:00, after the run.
    assert one(scenario(session=30.0))["charges"] == WORKDAYS_2026 + 52


def test_short_sessions_are_free():
    r = one(scenario(session=4.0 / 60.0))
    assert r["charges"] == 0 and r["tokens_consumed"] == 0


def test_short_but_left_open_is_charged():
    assert one(scenario(session=0.0, left_open=1.0))["charges"] == WORKDAYS_2026


def test_holidays_and_active_dates():
    s = scenario(active_from=date(2026, 3, 2), active_to=date(2026, 3, 31))  # Mon 2 .. Tue 31 March
    s = replace(s, calendar=Calendar(holidays=frozenset({date(2026, 3, 6)})))
    assert one(s)["charges"] == 22 - 1


def test_blocking_and_run_out_date():
    lots = (Lot("small", date(2026, 1, 1), 25, 3.0, date(2027, 1, 1)),)
    r = one(scenario(lots=lots))
    # Thu 1 and Fri 2 January are charged; from Mon 5 January every launch is blocked
    assert r["charges"] == 2 and r["tokens_consumed"] == 20
    assert r["run_out_date"] == r["first_blocked_date"] == "2026-01-05"
    assert r["blocked_launches"] == WORKDAYS_2026 - 2 == r["blocked_days"]
    assert r["blocked_renewals"] == 0
    assert r["tokens_expired"] == 5 and r["tokens_remaining"] == 0


def test_blocked_renewal_of_a_session_in_use():
    # 30-hour sessions: the Friday 2 January session is still in use at Saturday 10:00
    lots = (Lot("small", date(2026, 1, 1), 25, 3.0, date(2027, 1, 1)),)
    r = one(scenario(lots=lots, session=30.0))
    assert r["charges"] == 2
    assert r["blocked_renewals"] == 1 and r["first_blocked_date"] == "2026-01-03"
    assert r["blocked_launches"] == WORKDAYS_2026 - 2 and r["run_out_date"] == "2026-01-05"
    assert r["blocked_days"] == 1 + WORKDAYS_2026 - 2


def test_refused_idle_renewal_closes_the_product():
    # left open over the weekend, no idle awareness: Sat and Sun are renewals of an idle product
    lots = (Lot("small", date(2026, 1, 1), 35, 3.0, date(2027, 1, 1)),)
    r = one(scenario(lots=lots, left_open=1.0, idle_awareness=False))
    # Thu 1, Fri 2, Sat 3 charged (30 tokens); the Sun 4 renewal is refused and the idle product
    # closes (no work lost); the Monday launch is the first blocked one
    assert r["charges"] == 3 and r["idle_refused"] == 1
    assert r["run_out_date"] == r["first_blocked_date"] == "2026-01-05"
    assert r["blocked_launches"] == WORKDAYS_2026 - 2 == r["blocked_days"]
    assert r["tokens_remaining"] + r["tokens_expired"] == 5


def test_draw_order_and_expiry():
    lots = (
        # held at start: 100 tokens left, ends 1 June 2026: drawn first (earliest expiry)
        Lot("old", date(2025, 6, 1), 100, 3.0, date(2026, 6, 1)),
        Lot("b-big", date(2026, 1, 1), 5000, 2.75, date(2027, 1, 1)),
        Lot("a-small", date(2026, 1, 1), 500, 3.0, date(2027, 1, 1)),  # same expiry, smaller: before b-big
        Lot("late", date(2026, 7, 1), 1000, 3.0, date(2027, 7, 1)),  # arrives mid-year, expires after the run
    )
    r = one(scenario(lots=lots))
    lot = r["lots"]
    assert lot["old"]["consumed"] == 100 and lot["old"]["expired"] == 0
    assert lot["a-small"]["consumed"] == 500
    assert lot["b-big"]["consumed"] == 2610 - 600 and lot["b-big"]["expired"] == 5000 - 2010
    assert lot["late"]["consumed"] == 0
    assert r["tokens_purchased"] == 6600 and r["tokens_remaining"] == 1000


def test_pack_expiry_mid_year_blocks():
    lots = (Lot("half", date(2026, 1, 1), 100_000, 3.0, date(2026, 7, 1)),)
    r = one(scenario(lots=lots))
    first_half = 129  # workdays from 1 January to 30 June 2026
    assert r["charges"] == first_half
    assert r["run_out_date"] == "2026-07-01"
    assert r["tokens_expired"] == 100_000 - 10 * first_half


def test_probability_seasonality_and_events():
    s = scenario(days_per_week=2.5)  # p = 0.5
    s = replace(
        s,
        seasonality=(0.0,) * 6 + (1.0,) * 6,  # nothing before July
        events=(Event("burst", date(2026, 12, 1), date(2026, 12, 31), 4.0, ("solo",)),),  # p = 1
    )
    r = one(s)
    december = 23
    july_to_november = 132 - december
    # December is certain; the rest are coin flips with p = 0.5
    assert r["charges"] >= december
    runs = run_naive(s, runs=40, seed=3)
    mean = sum(x["charges"] for x in runs) / len(runs)
    sd_of_mean = (0.25 * july_to_november / len(runs)) ** 0.5
    assert mean == pytest.approx(december + 0.5 * july_to_november, abs=4 * sd_of_mean)


def test_variation_keeps_the_mean():
    s = scenario(days_per_week=1.0, variation=0.5)  # p = 0.2, person factor ~ Gamma(mean 1, cv 0.5)
    runs = run_naive(s, runs=60, seed=5)
    mean = sum(x["charges"] for x in runs) / len(runs)
    # sd of a run's charges ~ sqrt(261 * 0.2 * 0.8 + (0.5 * 52.2) ** 2) ~ 27
    assert mean == pytest.approx(0.2 * WORKDAYS_2026, abs=4 * 27 / 60**0.5)


def test_same_seed_same_result():
    s = scenario(days_per_week=2.0, left_open=0.3)
    s = replace(s, groups=(replace(s.groups[0], start_hour=Normal(9, 1), session_hours=Normal(6, 2)),))
    assert run_naive(s, 3, 11) == run_naive(s, 3, 11)
    assert run_naive(s, 3, 11) != run_naive(s, 3, 12)


CROSS_CHECK_YAML = """\
name: cross-check (overnight sessions, several packs, runs out in about half the runs)
start: 2027-01-01
end: 2027-12-31
calendar: {workdays: [mon, tue, wed, thu, fri, sat], holidays: [2027-04-02]}
lots:
  - {name: held, date: 2026-06-01, tokens: 4000}
  - {name: a, date: 2027-01-01, tokens: 10000, expires: 2028-01-01}
  - {name: b, date: 2027-01-01, tokens: 1000, expires: 2028-01-01}
  - {name: c, date: 2027-06-01, tokens: 2000, expires: 2027-12-15}
users:
  - group: g
    count: 8
    products: {AutoCAD: {days_per_week: 2.0}, Revit: {days_per_week: 1.5}, Fusion: {days_per_week: 3}}
    start_hour: {mean: 9.0, sd: 2.5}
    session_hours: {mean: 12.0, sd: 8.0}
    left_open: 0.15
    idle_awareness: false
    variation: 0.5
  - name: pat
    products: {Civil 3D: {days_per_week: 4}}
    start_hour: {mean: 1.0, sd: 2.0}
    session_hours: {mean: 2.0, sd: 3.0}
    left_open: 0.3
    active: {from: 2027-02-01, to: 2027-11-30}
seasonality: {jan: 1.5, aug: 0.2}
events:
  - {name: rush, from: 2027-03-01, to: 2027-03-31, multiplier: 3, groups: [g]}
simulation: {runs: 100, seed: 1}
"""


@pytest.mark.slow
def test_naive_agrees_with_flexsim_in_distribution(tmp_path):
    """The independent cross-check: same means within sampling error (about 30 s)."""
    api = pytest.importorskip("flexsim.api")
    path = tmp_path / "cross.yaml"
    path.write_text(CROSS_CHECK_YAML)
    s = api.load(path)
    n_naive, n_flex = 400, 4000
    naive = run_naive(s, n_naive, seed=77)
    pool = api.simulate(s, runs=n_flex, seed=78).to_json()["pools"]["main"]

    def z(values, flex):
        m = sum(values) / len(values)
        var = sum((v - m) ** 2 for v in values) / (len(values) - 1)
        se = (var / len(values) + flex["sd"] ** 2 / n_flex) ** 0.5
        return (m - flex["mean"]) / se

    for key in ("tokens_consumed", "charges", "blocked_days"):
        assert abs(z([r[key] for r in naive], pool[key])) < 4, key
    p_naive = sum(r["run_out_date"] is not None for r in naive) / n_naive
    p_flex = pool["run_out_probability"]
    se = (p_naive * (1 - p_naive) / n_naive + p_flex * (1 - p_flex) / n_flex) ** 0.5
    assert 0.2 < p_flex < 0.9 and abs(p_naive - p_flex) < 4 * se
