"""`flexsim.analysis.compare`: scenarios on common random numbers, compared run by run."""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from scipy import stats as sps

from flexsim.analysis.compare import MEASURES, PEOPLE_DIFFER, CompareError, compare
from flexsim.analysis.optimize import evaluate
from flexsim.api import simulate
from flexsim.engine.records import POOL_COUNTERS
from flexsim.output.compare_text import table_text
from flexsim.scenario.loader import load_scenario
from flexsim.scenario.model import Costs, Group, Lot, Normal, Pool, ProductUse, Scenario

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
PAIR = [SCENARIOS / "one-big-bundle.yaml", SCENARIOS / "start-small.yaml"]
DIFFERENCE_KEYS = {key for key, _, _ in MEASURES} | {"run_out"}


def bundle(tokens: int, *, blocked_day: float | None = 500.0, **changes) -> Scenario:
    """Six Revit users (one rate) on one pack of `tokens`, a quarter year, no top-ups.

    Random start hours, session lengths and usage spread, so runs differ; sizes near the
    quarter's use, so some runs run out. No session outlasts its 24-hour window (6 h +- 2 h,
    idle-aware when left open), so every block is a refused launch, never a refused renewal.
    """
    group = Group(
        name="designers",
        products=(ProductUse("Revit", 2.5),),
        count=6,
        start_hour=Normal(9.0, 1.0),
        session_hours=Normal(6.0, 2.0),
        left_open=0.1,
        variation=0.4,
    )
    start = date(2027, 1, 1)
    sc = Scenario(
        name=f"{tokens} tokens",
        start=start,
        end=date(2027, 3, 31),
        products={"Revit": 10},
        groups=(group,),
        lots=(Lot("Q1 pack", start, tokens, 2.75, date(2028, 1, 1), price_given=True),),
        costs=Costs(blocked_day=blocked_day),
        source=f"<{tokens} tokens>",
    )
    return dataclasses.replace(sc, **changes)


def test_a_scenario_against_itself_differs_by_nothing():
    sc = bundle(1500)
    result = compare([sc, sc], runs=30, seed=4)
    assert result["same_people"] and result["warning"] is None
    assert [e["label"] for e in result["scenarios"]] == ["1500 tokens", "1500 tokens #2"]
    (diff,) = result["differences"]
    assert set(diff["total"]) == DIFFERENCE_KEYS
    for part in [diff["total"], *diff["pools"].values()]:
        for key, d in part.items():
            assert d["mean"] == 0.0 and d["ci95"] == [0.0, 0.0], key
            assert d["significant"] is False, key
    assert diff["share_of_runs_cheaper"] == diff["share_of_runs_dearer"] == 0.0
    text = table_text(result)
    rows = [line for line in text.splitlines() if line.endswith("  no")]
    assert len(rows) == len(diff["total"]) - 1  # one pool: no per-pool lines; no top-ups row
    assert "  yes" not in text


def test_a_larger_bundle_spends_more_and_never_blocks_more_in_any_run():
    """One rate, no top-ups, no renewals: more tokens can only postpone refused launches."""
    sizes = [900, 1200, 1500, 2500]
    result = compare([bundle(n) for n in sizes], runs=60, seed=11, per_run=True)
    labels = [e["label"] for e in result["scenarios"]]
    runs = [result["per_run"][label]["total"] for label in labels]
    assert result["same_people"]
    assert max(runs[0]["blocked_days"]) > 0, "the smallest bundle should run out in some runs"
    for small, large in zip(runs, runs[1:], strict=False):
        assert all(b >= a for a, b in zip(small["spend"], large["spend"], strict=True))
        assert all(b <= a for a, b in zip(small["blocked_days"], large["blocked_days"], strict=True))
        assert all(b <= a for a, b in zip(small["run_out"], large["run_out"], strict=True))
    for diff in result["differences"]:
        assert diff["total"]["spend"]["mean"] > 0 and diff["total"]["blocked_days"]["mean"] <= 0


def test_paired_interval_is_the_t_interval_of_the_per_run_differences():
    a, b = bundle(1000), bundle(1300)
    result = compare([a, b], runs=50, seed=2, per_run=True)
    first, second = (result["per_run"][e["label"]]["total"] for e in result["scenarios"])
    for key in ("cost", "spend", "blocked_days", "tokens_expired", "run_out"):
        d = np.array(second[key]) - np.array(first[key])
        got = result["differences"][0]["total"][key]
        assert got["mean"] == pytest.approx(d.mean())
        if d.std() == 0:
            assert got["ci95"] == [pytest.approx(d.mean())] * 2
            continue
        lo, hi = sps.t.interval(0.95, len(d) - 1, loc=d.mean(), scale=sps.sem(d))
        assert got["ci95"] == [pytest.approx(lo), pytest.approx(hi)], key
        assert got["significant"] == (not lo <= 0 <= hi), key


def test_costs_are_those_of_simulate_and_of_optimize():
    """Cost = spend + blocked_day x blocked days, as `flexsim optimize` prices a run."""
    sc = bundle(1100)
    result = compare([sc, bundle(1400)], runs=25, seed=9, per_run=True)
    runs = result["per_run"][result["baseline_label"]]["total"]
    alone = simulate(sc, runs=25, seed=9)
    blocked = np.array([r.counters[0, POOL_COUNTERS.index("blocked_days")] for r in alone.records])
    spend = np.array([r.spend.sum() for r in alone.records])
    assert runs["cost"] == pytest.approx((spend + 500.0 * blocked).tolist())
    (candidate,) = evaluate(sc, "Q1 pack", [1100], runs=25, seed=9)
    assert runs["cost"] == pytest.approx(candidate.cost.tolist())
    summary = result["scenarios"][0]["total"]["cost"]
    assert summary["mean"] == pytest.approx(float(np.mean(runs["cost"])))


def test_unpriced_blocked_days_cost_nothing_and_are_reported():
    result = compare(
        [bundle(900, blocked_day=None), bundle(1500, blocked_day=None)], runs=20, seed=1, per_run=True
    )
    assert all(not e["blocked_days_priced"] for e in result["scenarios"])
    assert any("not priced" in note for note in result["notes"])
    for label in result["per_run"]:
        runs = result["per_run"][label]["total"]
        assert runs["cost"] == runs["spend"]


def test_different_pools_are_refused_in_one_line():
    other = bundle(1000, pools=(Pool("main"), Pool("site office")))
    with pytest.raises(CompareError) as info:
        compare([bundle(1000), other], runs=5, seed=1)
    message = str(info.value)
    assert "\n" not in message and "pools" in message and "site office" in message
    assert isinstance(info.value, ValueError)


def test_different_people_still_run_with_a_warning():
    busier = bundle(1000)
    group = dataclasses.replace(busier.groups[0], products=(ProductUse("Revit", 4.0),))
    busier = dataclasses.replace(busier, groups=(group,), name="busier")
    later = bundle(1000, end=date(2027, 4, 30), name="longer")
    result = compare([bundle(1000), busier, later], runs=10, seed=3)
    assert result["warning"] == PEOPLE_DIFFER
    assert result["people_differences"] == {"busier": ["users"], "longer": ["end"]}
    assert PEOPLE_DIFFER in " ".join(table_text(result).split())
    # Only procurement differs: no warning.
    assert compare([bundle(1000), bundle(1000, lots=())], runs=3, seed=3)["warning"] is None


def test_the_shipped_pair_runs_and_gives_every_key():
    scenarios = [load_scenario(p) for p in PAIR]
    ticks: list[int] = []
    result = compare(scenarios, runs=40, seed=5, progress=ticks.append)
    assert ticks == [40, 40]
    assert json.loads(json.dumps(result, allow_nan=False)) == result
    assert {
        "runs",
        "seed",
        "baseline",
        "baseline_label",
        "baseline_file",
        "pools",
        "same_people",
        "warning",
        "people_differences",
        "notes",
        "scenarios",
        "differences",
    } <= set(result)
    assert (result["runs"], result["seed"]) == (40, 5)
    assert result["baseline"] == scenarios[0].name and result["baseline_label"] == "one-big-bundle"
    assert result["same_people"] and result["warning"] is None and result["notes"] == []
    for entry in result["scenarios"]:
        assert {"name", "label", "file", "blocked_day", "blocked_days_priced", "total", "pools"} <= set(entry)
        assert entry["blocked_days_priced"] and list(entry["pools"]) == ["main"]
        total = entry["total"]
        for key, _, _ in MEASURES:
            assert {"mean", "mean_ci95", "sd", "p05", "p50", "p95"} <= set(total[key])
        assert {"p", "ci95", "n"} <= set(total["run_out_probability"])
    (diff,) = result["differences"]
    assert diff["against"] == "one-big-bundle" and diff["label"] == "start-small"
    for d in diff["total"].values():
        assert {"mean", "ci95", "significant"} <= set(d)
    # The pair's story: the small start pays more for its tokens and loses none to expiry.
    assert diff["total"]["spend"]["mean"] > 0 and diff["total"]["tokens_expired"]["mean"] < 0
    text = table_text(result)
    assert "one-big-bundle" in text and "start-small minus one-big-bundle" in text


def test_two_pools_are_compared_pool_by_pool():
    base = load_scenario(SCENARIOS / "two-teams.yaml")
    bigger = base.with_lot_tokens("Buildings FY27", 14000)
    bigger = dataclasses.replace(bigger, source="bigger-buildings.yaml")
    result = compare([base, bigger], runs=8, seed=1)
    assert result["pools"] == ["buildings", "infrastructure"]
    diff = result["differences"][0]
    assert set(diff["pools"]) == {"buildings", "infrastructure"}
    # The infrastructure pool is untouched by a change to the buildings bundle.
    assert all(d["mean"] == 0.0 for d in diff["pools"]["infrastructure"].values())
    text = table_text(result)
    assert "Pool buildings:" in text and "Pool infrastructure:" in text


def test_needs_two_scenarios():
    with pytest.raises(CompareError):
        compare([bundle(1000)], runs=5, seed=1)


def test_compare_from_the_command_line(tmp_path, capsys):
    from flexsim.cli import main

    out = tmp_path / "cmp.json"
    args = ["compare", "scenarios/one-big-bundle.yaml", "scenarios/start-small.yaml", "--runs", "30"]
    assert main([*args, "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "minus" in text and "significant" in text
    data = json.loads(out.read_text())
    assert data["runs"] == 30 and len(data["scenarios"]) == 2 and len(data["differences"]) == 1
    out2 = tmp_path / "cmp2.json"
    assert main([*args, "--json", str(out2), "--workers", "2", "--quiet"]) == 0
    assert out2.read_text() == out.read_text()


@pytest.mark.parametrize(
    "files, words",
    [
        (["scenarios/one-big-bundle.yaml"], "at least two"),
        (["scenarios/one-big-bundle.yaml", "scenarios/two-teams.yaml"], "pools"),
    ],
)
def test_compare_bad_input_is_one_line(tmp_path, capsys, files, words):
    from flexsim.cli import main

    out = tmp_path / "x.json"
    assert main(["compare", *files, "--runs", "5", "--json", str(out)]) == 2
    err = capsys.readouterr().err
    assert words in err and len(err.strip().splitlines()) == 1
    assert not out.exists()
