"""The memory budget sets the batch size, never the results; records are rows of a RunTable."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from flexsim.api import simulate
from flexsim.cli import main
from flexsim.engine.memory import MemoryBudgetError, batch_runs, estimate, parse_memory
from flexsim.engine.plan import Plan
from flexsim.scenario.loader import load_scenario

ROOT = Path(__file__).resolve().parent.parent
TWO_TEAMS = ROOT / "scenarios" / "two-teams.yaml"
ENTERPRISE = ROOT / "scenarios" / "enterprise.yaml"
MB = 1024**2


@pytest.mark.parametrize(
    "text,value",
    [("1GB", 1024 * MB), ("512MB", 512 * MB), ("1.5G", 1536 * MB), ("800mib", 800 * MB), ("2e9", 2 * 10**9)],
)
def test_memory_amounts(text, value):
    assert parse_memory(text) == value


@pytest.mark.parametrize("text", ["1x", "", "-1GB", "GB", "10MB", "1 2GB"])
def test_what_is_not_an_amount_or_too_little(text):
    with pytest.raises(MemoryBudgetError):
        parse_memory(text)


def test_the_batch_grows_with_the_budget_and_stops_where_it_no_longer_pays():
    plan = Plan(load_scenario(ENTERPRISE))
    sizes = [batch_runs(plan, "fast", mb * MB) for mb in (64, 300, 400, 600, 1024, 8192)]
    assert sizes == sorted(sizes) and sizes[0] == 1
    assert sizes[-1] == 16_384 // plan.n_seats  # runs x person-products capped
    for budget, runs in zip((300, 400, 600), sizes[1:4], strict=True):
        assert runs == 1 or estimate(plan, runs) <= budget * MB
        assert estimate(plan, runs + 1) > budget * MB or runs == sizes[-1]
    small = Plan(load_scenario(TWO_TEAMS))
    assert batch_runs(small, "fast") == 64 and batch_runs(small, "simpy") == 8


def test_results_do_not_depend_on_the_budget():
    scenario = load_scenario(TWO_TEAMS)
    plenty = simulate(scenario, runs=70, seed=3)
    tight = simulate(scenario, runs=70, seed=3, memory=64 * MB)  # one run a batch
    assert np.array_equal(plenty.records.counters, tight.records.counters)
    assert np.array_equal(plenty.records.lot_expired, tight.records.lot_expired)
    assert plenty.to_json() == tight.to_json()


def test_records_are_rows_of_a_table():
    results = simulate(load_scenario(TWO_TEAMS), runs=30, seed=1, keep_seats=True)
    table = results.records
    assert len(table) == 30 and [r.run for r in table] == list(range(30))
    tail = table[10:]
    assert [r.run for r in tail] == list(range(10, 30)) and len(table[:12]) == 12
    assert table[-1].run == 29 and np.array_equal(tail[0].counters, table[10].counters)
    assert np.array_equal(table.column("tokens_consumed", 1), results.column("tokens_consumed", 1))
    assert table[3].seat_tokens is not None and len(table[3].seat_tokens) == results.plan.n_seats
    with pytest.raises(IndexError):
        table[30]


def test_the_command_line_reads_memory_and_refuses_nonsense(tmp_path, capsys):
    out = tmp_path / "a.json"
    argv = ["run", str(TWO_TEAMS), "--runs", "20", "--memory", "100MB", "--json", str(out), "--quiet"]
    assert main(argv) == 0
    with pytest.raises(SystemExit) as exc:
        main(["run", str(TWO_TEAMS), "--memory", "lots"])
    assert exc.value.code == 2
    assert "is not an amount of memory" in capsys.readouterr().err
