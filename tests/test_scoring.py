"""Backtests that score: per horizon, coverage, width and pinball loss beside the baselines."""

from __future__ import annotations

import html
import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest

from flexsim.cli import main
from flexsim.history.backtest import backtest, fit_before
from flexsim.history.scoring import (
    add_months,
    horizons,
    last_year,
    pinball,
    provenance_line,
    run_rate,
    workdays,
)
from flexsim.history.usage_export import read_usage

SAMPLE = Path("scenarios/firm-history-usage.csv")


def call(argv: list[object]) -> int:
    try:
        return main([str(a) for a in argv])
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1


def test_pinball_is_the_mean_of_the_three_quantile_losses() -> None:
    # Below P10 by 10: 0.1 x 10 ... each quantile's loss, averaged.
    assert pinball(100, (110, 120, 130)) == pytest.approx((0.9 * 10 + 0.5 * 20 + 0.1 * 30) / 3)
    assert pinball(120, (110, 120, 130)) == pytest.approx((0.1 * 10 + 0.1 * 10) / 3)
    assert pinball(50, (50, 50, 50)) == 0


def test_pinball_prefers_the_true_quantiles_to_a_range_too_narrow_or_too_wide() -> None:
    rng = np.random.default_rng(3)
    y = rng.normal(1000, 100, 20000)
    z = 1.2815515655446004

    def mean_loss(half: float) -> float:
        return float(np.mean([pinball(v, (1000 - half, 1000, 1000 + half)) for v in y]))

    honest = mean_loss(z * 100)
    assert honest < mean_loss(z * 50) and honest < mean_loss(z * 200)


def test_horizons_are_whole_months_the_window_allows_and_the_rest() -> None:
    split = date(2026, 1, 31)
    got = horizons(split, date(2026, 6, 15))
    assert got == [(1, date(2026, 2, 27)), (3, date(2026, 4, 29)), (None, date(2026, 6, 15))]
    assert add_months(date(2024, 2, 29), -12) == date(2023, 2, 28)
    assert workdays(date(2026, 3, 2), date(2026, 3, 8)) == 5  # Monday to Sunday


def test_run_rate_is_tokens_per_workday_of_the_3_months_before_the_split() -> None:
    first, split = date(2026, 1, 1), date(2026, 5, 1)
    daily = {first + timedelta(days=k): 10 for k in range((split - first).days)}
    daily = {d: t for d, t in daily.items() if d.weekday() < 5}  # 10 tokens every workday
    rr = run_rate(daily, first, split, date(2026, 5, 31))
    assert rr["months"] == 3 and rr["tokens_per_workday"] == pytest.approx(10)
    assert rr["p10"] == rr["p50"] == rr["p90"] == pytest.approx(10 * workdays(split, date(2026, 5, 31)))
    assert run_rate(daily, date(2026, 3, 15), split, date(2026, 5, 31)) is None  # 1 whole month only
    assert last_year(daily, first, split, date(2026, 5, 31)) is None
    assert last_year(daily, first, date(2027, 1, 5), date(2027, 1, 9)) == 10 * 5  # Mon 5 to Fri 9 Jan 2026


def test_rows_after_the_split_do_not_change_the_fitted_scenario_or_the_forecast(
    tmp_path: Path, monkeypatch
) -> None:
    lines = SAMPLE.read_text().splitlines()
    split = date(2026, 6, 1)
    changed = [lines[0]]
    for line in lines[1:]:
        cells = line.split(",")
        if cells[6] >= split.isoformat():  # Day used: every token after the split doubled
            cells[7] = str(2 * int(cells[7]))
        changed.append(",".join(cells))
    full = read_usage(SAMPLE)
    monkeypatch.chdir(tmp_path)  # the same file name elsewhere: the fitted scenario names it
    SAMPLE.parent.mkdir()
    SAMPLE.write_text("\n".join(changed) + "\n")
    doubled = read_usage(SAMPLE)
    end = full.last_day
    assert fit_before(full, split, end, 100, 1).scenario == fit_before(doubled, split, end, 100, 1).scenario
    a, b = backtest(full, split, runs=60), backtest(doubled, split, runs=60)
    assert b["actual_tokens"] > a["actual_tokens"]
    assert a["forecast_tokens"] == b["forecast_tokens"]

    def ranges(result: dict) -> list:
        keys = ("p10", "p50", "p90")
        return [
            [{k: h[name][k] for k in keys} if h[name] else None for name in ("forecast", "run_rate")]
            for h in result["horizons"]
        ]

    assert ranges(a) == ranges(b)


def test_folds_score_every_horizon_beside_the_baselines(tmp_path: Path, capsys) -> None:
    out = tmp_path / "folds.json"
    assert call(["backtest", SAMPLE, "--folds", 4, "--runs", 40, "--json", out]) == 0
    data = json.loads(out.read_text())
    scores = {s["horizon"]: s for s in data["scores"]}
    assert list(scores)[-1] == "rest of file" and "1 month" in scores
    for fold in data["folds"]:
        windows = [h["to"] for h in fold["horizons"]]
        assert windows == sorted(windows) and windows[-1] == fold["forecast_to"]
        rest = fold["horizons"][-1]
        assert rest["actual_tokens"] == fold["actual_tokens"]
        assert rest["forecast"]["covered"] == fold["covered"]
    rest = scores["rest of file"]
    c = rest["forecast"]["coverage"]
    assert c["folds"] == 4 and c["covered"] == sum(f["covered"] for f in data["folds"])
    assert c["ci95"][0] <= c["share"] <= c["ci95"][1]
    rr = rest["run_rate"]
    assert rr is not None and rest["beats_run_rate"] is (rr["forecast_pinball"] < rr["pinball"])
    assert rest["last_year"] is None  # the file holds one year: no same months a year before
    printed = capsys.readouterr().out
    assert "Pinball loss of total tokens" in printed and "run rate" in printed
    assert all(len(line) <= 80 for line in printed.splitlines())
    verdicts = [line for line in printed.splitlines() if line.startswith(tuple(scores))]
    assert len(verdicts) == len(scores)
    for line in verdicts:
        name = next(n for n in scores if line.startswith(n + ":"))
        beats = scores[name]["beats_run_rate"]
        assert ("does NOT beat" in line) is (beats is False)


def test_calibrate_backtest_records_provenance_and_run_prints_it(tmp_path: Path, capsys) -> None:
    out = tmp_path / "fitted.yaml"
    argv = ["calibrate", SAMPLE, "--backtest", 3, "--backtest-runs", 30, "-o", out]
    assert call(argv) == 0
    said = capsys.readouterr().out
    text = out.read_text()
    assert "\nprovenance:\n" in text and "  backtest:\n    folds: " in text
    from flexsim.scenario.loader import load_scenario

    record = load_scenario(out).provenance["backtest"]
    assert record["runs"] == 30 and 0 <= record["covered"] <= record["folds"] <= 3
    line = provenance_line(record)
    assert line.startswith("How this forecast did on your history:")
    assert " ".join(said.split()).count(line) == 1
    assert call(["run", out, "--runs", 20, "--report", tmp_path / "report"]) == 0
    assert line in " ".join(capsys.readouterr().out.split())
    page = (tmp_path / "report" / "report.html").read_text()
    assert f"<td>On your history</td><td>{html.escape(line)}</td>" in page


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ("  backtest: {folds: 3, horizon: 3 months, covered: 4, pinball: 1, runs: 9, seed: 1}",
         "provenance.backtest.covered: covered 4 is more than the 3 folds"),
        ("  backtest: {folds: 3, horizon: 2 weeks, covered: 1, pinball: 1, runs: 9, seed: 1}",
         "provenance.backtest.horizon: expected one of 1 month"),
        ("  backtst: {}", "provenance.backtst: unknown key 'backtst'; did you mean 'backtest'?"),
    ],
)  # fmt: skip
def test_bad_provenance_is_one_line(tmp_path: Path, capsys, block: str, message: str) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(
        "start: 2027-01-01\ndays: 30\nlots: [{date: 2027-01-01, tokens: 100}]\n"
        "users: [{name: a, products: {Revit: 1}}]\n"
        f"provenance:\n{block}\n"
    )
    assert call(["validate", scenario]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and ":6:" in err


def test_with_a_horizon_the_whole_window_is_named_by_its_days(tmp_path: Path) -> None:
    out = tmp_path / "folds.json"
    assert (
        call(["backtest", SAMPLE, "--folds", 2, "--horizon", 40, "--runs", 20, "--json", out, "--quiet"]) == 0
    )
    scores = json.loads(out.read_text())["scores"]
    assert [s["horizon"] for s in scores] == ["1 month", "40 days"]
    assert all(s["folds"] == 2 for s in scores)
