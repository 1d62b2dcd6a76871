"""The enterprise Token Flex export: read, calibrated to groups of anonymous users, round trip."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest

from flexsim.api import simulate
from flexsim.cli import main
from flexsim.engine.records import POOL_COUNTERS
from flexsim.history.backtest import backtest, fit_before
from flexsim.history.synth import synthesize
from flexsim.history.tokenflex import _weekends, calibrate_tokenflex, tokenflex_table
from flexsim.history.usage_export import read_usage
from flexsim.output.cells import csv_table
from flexsim.scenario.loader import load_scenario, parse_scenario
from flexsim.scenario.model import Calendar, Event, Group, Lot, Pool, ProductUse, Scenario

EXAMPLE = Path("flexsim/examples/enterprise-tokenflex.csv")
CONSUMED = POOL_COUNTERS.index("tokens_consumed")


def call(argv: list[object]) -> int:
    try:
        return main([str(a) for a in argv])
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1


def firm(start: date, end: date, weekday_people: int = 60, weekend_people: int = 8) -> Scenario:
    """An enterprise whose truth the fit can express: a weekday group (kept off weekends by
    events) and an every-day group per product, in two pools, on a seven-day calendar."""
    weekday = ("revit-wd", "civil-wd")
    groups = (
        Group("revit-wd", (ProductUse("Revit", 2.8),), count=weekday_people, pool="A"),
        Group("revit-we", (ProductUse("Revit", 1.4),), count=weekend_people, pool="A"),
        Group("civil-wd", (ProductUse("Civil 3D", 2.1),), count=weekday_people // 2, pool="B"),
    )
    events = tuple(Event("weekend", a, b, 0.0, weekday) for a, b in _weekends(start, end))
    return Scenario(
        "enterprise",
        start,
        end,
        {"Revit": 10, "Civil 3D": 9},
        lots=(),
        pools=(Pool("A"), Pool("B")),
        groups=groups,
        calendar=Calendar(workdays=tuple(range(7))),
        events=events,
        seasonality=(1.0,) * 7 + (0.6,) + (1.0,) * 4,
    )


def write_export(scenario: Scenario, path: Path, seed: int) -> int:
    records = synthesize(scenario, seed).records
    path.write_text(csv_table(*tokenflex_table(scenario, records)))
    return sum(int(r["tokens"]) for r in records)


def unlimited(scenario: Scenario) -> Scenario:
    end = scenario.end + timedelta(days=400)
    return replace(
        scenario, lots=tuple(Lot(f"u {p}", scenario.start, 10**9, 3.0, end, p) for p in scenario.pool_names())
    )


def totals(scenario: Scenario, runs: int, seed: int) -> np.ndarray:
    results = simulate(unlimited(scenario), runs, seed)
    return np.array([r.counters[:, CONSUMED].sum() for r in results.records], np.float64)


def test_the_export_is_recognised_by_its_header_with_trailing_commas(tmp_path: Path) -> None:
    path = tmp_path / "flex.csv"
    path.write_text(
        "contractYear,tokenPool,usageCategory,usageDate,productLineCode,productName,tokensConsumed,\n"
        "1,Main Pool,Desktop,2016-01-01 00:00:00,RVT,Autodesk Revit,30,\n"
        "1,Main Pool,Desktop,2016-01-01 00:00:00,ACD,AutoCAD,0,\n"
        "1,Main Pool,Cloud,2016-01-02 00:00:00,XYZ,Cloud Thing,12,\n"
        "1,Main Pool,Cloud,2016-01-03 00:00:00,XYZ,Cloud Thing,18,\n"
    )
    usage = read_usage(path)
    assert usage.style == "tokenflex" and usage.has_teams
    rows = list(usage.rows)
    assert [(r.team, r.product, r.day, r.tokens) for r in rows][:2] == [
        ("Main Pool", "Revit", date(2016, 1, 1), 30),
        ("Main Pool", "AutoCAD", date(2016, 1, 1), 0),
    ]
    fitted = calibrate_tokenflex(usage)
    assert fitted.fit.rates == {"Cloud Thing": 6, "Revit": 10}  # AutoCAD: never charged
    scenario = parse_scenario(fitted.text, "fitted.yaml")
    assert scenario.calendar.workdays == tuple(range(7))  # tokens on a Saturday and a Sunday
    assert scenario.pool_names() == ["Main Pool"]


def test_a_bad_row_is_one_line_with_its_row_number(tmp_path: Path, capsys) -> None:
    path = tmp_path / "flex.csv"
    path.write_text(
        "contractYear,tokenPool,usageCategory,usageDate,productLineCode,productName,tokensConsumed,\n"
        "1,P,Desktop,2016-01-01 00:00:00,RVT,Revit,10,\n"
        "1,P,Desktop,2016-01-02 00:00:00,RVT,Revit,ten,\n"
    )
    assert call(["calibrate", path, "-o", tmp_path / "out.yaml"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and ":row 3: tokensConsumed is 'ten'" in err.replace(" row", "row")


def test_synth_export_tokenflex_writes_one_row_per_pool_product_and_day(tmp_path: Path, capsys) -> None:
    out = tmp_path / "flex.csv"
    assert (
        call(
            ["synth-export", "flexsim/examples/enterprise-tokenflex.yaml", "--style", "tokenflex", "-o", out]
        )
        == 0
    )
    lines = out.read_text().splitlines()
    assert (
        lines[0]
        == "contractYear,tokenPool,usageCategory,usageDate,productLineCode,productName,tokensConsumed,"
    )
    assert len(lines) - 1 == 365 * 5 and lines[1].endswith(",") and " 00:00:00," in lines[1]
    assert sum(1 for line in lines[1:] if line.split(",")[6] == "0") > 0  # zero rows, as real files
    assert EXAMPLE.read_text() == out.read_text()  # the shipped example is this file
    assert "1,825 rows (Token Flex enterprise export column names)" in capsys.readouterr().out


def test_the_fit_matches_the_daily_totals_by_weekday_mean_and_spread(tmp_path: Path) -> None:
    truth = firm(date(2026, 1, 1), date(2026, 12, 31))
    write_export(truth, tmp_path / "flex.csv", seed=5)
    usage = read_usage(tmp_path / "flex.csv")
    fitted = parse_scenario(calibrate_tokenflex(usage, start=truth.start, end=truth.end).text, "fit.yaml")

    def by_day_type(scenario: Scenario, seed: int) -> dict[bool, tuple[float, float, int]]:
        daily: dict[date, int] = {}
        for r in synthesize(scenario, seed).records:
            day = date.fromisoformat(str(r["day"])[:10])
            daily[day] = daily.get(day, 0) + int(r["tokens"])
        days = [truth.start + timedelta(days=k) for k in range(truth.days)]
        out = {}
        for weekend in (False, True):
            x = np.array([daily.get(d, 0) for d in days if (d.weekday() >= 5) is weekend and d.month != 8])
            out[weekend] = (float(x.mean()), float(x.std(ddof=1)), len(x))
        return out

    seen, model = by_day_type(truth, 11), by_day_type(fitted, 12)
    for weekend in (False, True):
        (m0, s0, n), (m1, s1, _) = seen[weekend], model[weekend]
        # Two runs apart, and the fit's own error from the first: within 4 standard errors.
        assert abs(m1 - m0) < 4 * np.sqrt(2 * s0**2 / n + s1**2 / n), (weekend, m0, m1)
        assert 0.7 < s1 / s0 < 1.4, (weekend, s0, s1)
    assert fitted.seasonality[7] == pytest.approx(0.6 / np.mean(truth.seasonality), abs=0.08)


def round_trip(tmp_path: Path, weekday_people: int, runs: int, seed: int) -> tuple[float, float]:
    """(difference of the mean totals, its standard error): the source scenario's forecast
    against the one calibrated from one synthetic year of it, on the same dates."""
    truth = firm(date(2026, 1, 1), date(2026, 12, 31), weekday_people)
    path = tmp_path / f"flex-{seed}.csv"
    write_export(truth, path, seed)
    fitted = calibrate_tokenflex(read_usage(path), start=truth.start, end=truth.end)
    source = totals(truth, runs, seed + 1)
    model = totals(parse_scenario(fitted.text, "fit.yaml"), runs, seed + 2)
    # The history is one run of the source: its sampling error counts too (one run's sd).
    error = np.sqrt(source.var(ddof=1) / runs + model.var(ddof=1) / runs + source.var(ddof=1))
    return float(model.mean() - source.mean()), float(error)


def test_round_trip_gives_the_source_total_within_monte_carlo_error(tmp_path: Path) -> None:
    diff, error = round_trip(tmp_path, 40, runs=60, seed=21)
    assert abs(diff) < 3 * error, (diff, error)


def test_cli_calibrate_and_run_the_shipped_example(tmp_path: Path, capsys) -> None:
    out = tmp_path / "fit.yaml"
    assert call(["calibrate", EXAMPLE, "-o", out]) == 0
    said = capsys.readouterr().out
    assert "groups of anonymous users in 2 token pool(s), 5 products, seasonality fitted" in " ".join(
        said.split()
    )
    scenario = load_scenario(out)
    assert {g.pool for g in scenario.groups} == {"Design", "Infrastructure"}
    assert any(e.multiplier == 0 for e in scenario.events)
    assert call(["run", out, "--runs", 20, "--quiet"]) == 0


def test_backtest_on_a_tokenflex_export_uses_only_the_rows_before_the_split(
    tmp_path: Path, monkeypatch
) -> None:
    lines = EXAMPLE.read_text().splitlines()
    split = date(2026, 9, 1)
    changed = [lines[0]]
    for line in lines[1:]:
        cells = line.split(",")
        if cells[3][:10] >= split.isoformat():
            cells[6] = str(3 * int(cells[6]))
        changed.append(",".join(cells))
    full = read_usage(EXAMPLE)
    monkeypatch.chdir(tmp_path)
    EXAMPLE.parent.mkdir(parents=True)
    EXAMPLE.write_text("\n".join(changed) + "\n")
    tripled = read_usage(EXAMPLE)
    end = full.last_day
    assert fit_before(full, split, end, 50, 1).text == fit_before(tripled, split, end, 50, 1).text
    result = backtest(tripled, split, runs=30, seed=1)
    assert result["actual_tokens"] > 2 * result["forecast_tokens"]["p90"]
    assert not result["covered"] and result["horizons"][-1]["horizon"] == "rest of file"


@pytest.mark.slow
def test_round_trip_on_several_firms(tmp_path: Path) -> None:
    z = []
    for seed in range(6):
        diff, error = round_trip(tmp_path, 80, runs=200, seed=100 + seed)
        z.append(diff / error)
    assert max(abs(x) for x in z) < 3, z
