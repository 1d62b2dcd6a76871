"""The fast engine must give exactly the SimPy engine's records (the model of record).

Generated scenarios reach every rule (see tests/strategies.py); each example runs several runs
per batch through `engine_simpy.simulate_run`, `engine_fast.simulate_batch` and the runner's
`engine_fast.simulate_fast`, and compares every counter, per-pack result and per-seat tokens.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import (
    assert_same,
    describe,
    fast_direct,
    fast_records,
    simpy_records,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import examples, scenarios, seeds

from flexsim.api import simulate
from flexsim.engine import engine_fast, engine_simpy
from flexsim.engine.behaviour import draw_behaviour
from flexsim.engine.plan import Plan
from flexsim.scenario.loader import load_scenario

SCENARIO_FILES = sorted((Path(__file__).resolve().parents[1] / "scenarios").glob("*.yaml"))
# The whole-simulation tests take one shipped scenario, not the 2,000-person enterprise example
# (its SimPy runs take seconds each).
SMALL_FILES = [path for path in SCENARIO_FILES if path.stem != "enterprise"]
SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@settings(max_examples=examples(150), **SETTINGS)
@given(scenarios(), seeds, st.lists(st.integers(0, 50), min_size=2, max_size=5, unique=True))
def test_engines_give_identical_records(scenario, seed, runs):
    plan = Plan(scenario)
    slow = simpy_records(plan, seed, runs)
    fast = fast_records(plan, seed, runs)
    direct = fast_direct(plan, seed, runs)
    assert [r.run for r in fast] == list(runs)
    assert [r.run for r in direct] == list(runs)
    for a, b, c in zip(slow, fast, direct, strict=True):
        assert a.seat_tokens is not None and b.seat_tokens is not None
        assert_same(a, b, plan, "simpy vs simulate_batch")
        assert_same(a, c, plan, "simpy vs simulate_fast")


@settings(max_examples=examples(60), **SETTINGS)
@given(scenarios(min_days=20, max_days=45, max_groups=3), seeds)
def test_engines_agree_on_long_busy_runs(scenario, seed):
    """Longer horizons, so pools run dry, top-ups arrive and packs expire within a run."""
    plan = Plan(scenario)
    for a, b in zip(simpy_records(plan, seed, range(3)), fast_records(plan, seed, range(3)), strict=True):
        assert_same(a, b, plan, "simpy vs fast")


@settings(max_examples=examples(40), **SETTINGS)
@given(scenarios(max_days=40), seeds)
def test_fast_results_do_not_depend_on_batching(scenario, seed):
    plan = Plan(scenario)
    runs = [0, 1, 2, 3, 4]
    together = fast_direct(plan, seed, runs)
    alone = [fast_direct(plan, seed, [run])[0] for run in runs]
    reversed_batch = fast_direct(plan, seed, runs[::-1])[::-1]
    split = fast_direct(plan, seed, runs[:2]) + fast_records(plan, seed, runs[2:])
    for a, b, c, d in zip(together, alone, reversed_batch, split, strict=True):
        assert_same(a, b, plan, "batch of 5 vs batch of 1")
        assert_same(a, c, plan, "batch order")
        assert_same(a, d, plan, "split batches")


@settings(max_examples=examples(25), **SETTINGS)
@given(scenarios(max_days=30), seeds)
def test_simpy_runs_are_independent_of_each_other(scenario, seed):
    """Run k is the same alone or after other runs (each run has its own random stream)."""
    plan = Plan(scenario)
    a = simpy_records(plan, seed, [3])[0]
    b = simpy_records(plan, seed, [0, 1, 2, 3])[3]
    assert_same(a, b, plan, "run 3 alone vs after runs 0-2")


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=[p.stem for p in SCENARIO_FILES])
def test_engines_agree_on_shipped_scenarios(path):
    scenario = load_scenario(path)
    plan = Plan(scenario)
    runs = [0, 1, 7]
    for a, b in zip(simpy_records(plan, 11, runs), fast_direct(plan, 11, runs), strict=True):
        assert a.same_as(b), f"{path.name}:\n{describe(a, plan)}\n{describe(b, plan)}"


def _summary_without_timing(results) -> dict:
    data = results.to_json()
    data.pop("engine", None)
    return data


def test_workers_and_engines_give_identical_results():
    """simulate(..., workers=2) == workers=1, for both engines, with more batches than workers."""
    scenario = load_scenario(SMALL_FILES[0]) if SMALL_FILES else None
    if scenario is None:
        pytest.skip("no shipped scenario")
    # simpy batches hold 8 runs: 20 runs make 3 batches, so the process pool is really used.
    one = simulate(scenario, runs=20, seed=5, workers=1, engine="simpy", keep_seats=True)
    two = simulate(scenario, runs=20, seed=5, workers=2, engine="simpy", keep_seats=True)
    fast = simulate(scenario, runs=20, seed=5, workers=1, engine="fast", keep_seats=True)
    assert [r.run for r in two.records] == list(range(20))
    for a, b, c in zip(one.records, two.records, fast.records, strict=True):
        assert_same(a, b, one.plan, "workers 1 vs 2")
        assert_same(a, c, one.plan, "simpy vs fast")
    assert _summary_without_timing(one) == _summary_without_timing(two) == _summary_without_timing(fast)


def test_simulate_keep_seats_and_defaults():
    scenario = load_scenario(SMALL_FILES[0])
    plain = simulate(scenario, runs=3, seed=2)
    kept = simulate(scenario, runs=3, seed=2, keep_seats=True)
    assert all(r.seat_tokens is None for r in plain.records)
    assert all(r.seat_tokens is not None and len(r.seat_tokens) == kept.plan.n_seats for r in kept.records)
    for a, b in zip(plain.records, kept.records, strict=True):
        assert a.same_as(b)
    # The file's runs and seed are the defaults.
    small = simulate(scenario.__class__(**{**scenario.__dict__, "runs": 4, "seed": 9}))
    assert small.runs == 4 and small.seed == 9
    with pytest.raises(ValueError):
        simulate(scenario, runs=0)


@settings(max_examples=examples(80), **SETTINGS)
@given(scenarios(min_days=3, max_days=45, max_groups=3), seeds)
def test_engines_agree_day_by_day(scenario, seed):
    """With reports on, both engines note the same end-of-day balances, daily consumption and
    tokens per month and product, and those add up to the run's own totals."""
    plan = Plan(scenario)
    runs = [0, 1, 2]
    slow = [engine_simpy.simulate_run(plan, draw_behaviour(plan, seed, run), run, track=True) for run in runs]
    fast = engine_fast.simulate_fast(plan, seed, runs, detail=False, track=True)
    plain = fast_direct(plan, seed, runs)
    for a, b, c in zip(slow, fast, plain, strict=True):
        assert_same(a, b, plan, "tracked simpy vs tracked fast")
        assert np.array_equal(a.daily_balance, b.daily_balance)
        assert np.array_equal(a.daily_consumed, b.daily_consumed)
        assert np.array_equal(a.daily_topups, b.daily_topups)
        assert np.array_equal(a.month_product_tokens, b.month_product_tokens)
        assert np.array_equal(a.counters, c.counters), "tracking changed the results"
        assert a.daily_balance.shape == (plan.n_pools, plan.days)
        for p in range(plan.n_pools):
            assert a.daily_balance[p, -1] == a.get("tokens_remaining", p)
            assert a.daily_consumed[p].sum() == a.get("tokens_consumed", p)
            assert a.daily_topups[p].sum() == a.get("topups", p)
            assert (a.daily_balance[p] >= 0).all()
        assert a.month_product_tokens.sum() == a.seat_tokens.sum() == b.seat_tokens.sum()
        assert a.month_product_tokens.sum() == sum(a.get("tokens_consumed", p) for p in range(plan.n_pools))


def test_several_instant_top_ups_in_one_check_keep_the_engines_together():
    """A lead-0 top-up smaller than one charge: one check orders two top-ups at once, during a
    replayed day, and later days order more; the horizon runs past their expiry. The fast engine
    keeps each top-up in its own column (by its slot number), so a slot counted twice or skipped
    loses a top-up's tokens at its expiry and splits the engines apart."""
    from datetime import date

    from conftest import solo

    from flexsim.scenario.model import Lot, Reorder, Threshold

    scenario = solo(
        days_per_week=5.0,
        end=date(2027, 4, 30),
        active_to=date(2026, 3, 31),  # then the top-ups left wait for their expiry
        lots=(Lot("start", date(2026, 1, 1), 200, 3.0, date(2027, 1, 1)),),
        reorders=(Reorder("main", Threshold(tokens=100), 5, 0),),
    )
    plan = Plan(scenario)
    runs = [0, 1, 2]
    slow, fast = simpy_records(plan, 3, runs), fast_records(plan, 3, runs)
    for a, b in zip(slow, fast, strict=True):
        assert a.get("topups", 0) >= 6  # two per charge once below the level, on many days
        assert a.get("tokens_expired", 0) > 0
        assert_same(a, b, plan, "simpy vs fast, instant top-ups")
