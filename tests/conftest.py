"""Shared helpers: run a plan through either engine, build small hand-made scenarios."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from flexsim.engine import engine_fast, engine_simpy
from flexsim.engine.behaviour import draw_behaviour
from flexsim.engine.plan import Plan
from flexsim.engine.records import POOL_COUNTERS, RunRecord
from flexsim.scenario.model import Calendar, Group, Lot, Normal, Pool, ProductUse, Reorder, Scenario

WORKDAYS_2026 = 261  # 2026 starts on a Thursday: 52 weeks and one Thursday


def simpy_records(plan: Plan, seed: int, runs: Sequence[int]) -> list[RunRecord]:
    """The model of record, one SimPy run at a time."""
    return [engine_simpy.simulate_run(plan, draw_behaviour(plan, seed, run), run) for run in runs]


def fast_records(plan: Plan, seed: int, runs: Sequence[int]) -> list[RunRecord]:
    """The fast engine on behaviour drawn run by run (`simulate_batch`)."""
    behaviours = [draw_behaviour(plan, seed, run) for run in runs]
    return engine_fast.simulate_batch(plan, behaviours, list(runs))


def fast_direct(plan: Plan, seed: int, runs: Sequence[int]) -> list[RunRecord]:
    """The fast engine as the runner calls it (behaviour drawn straight into batch grids)."""
    return engine_fast.simulate_fast(plan, seed, list(runs))


ENGINES = {"simpy": simpy_records, "fast": fast_records}


def describe(record: RunRecord, plan: Plan) -> str:
    """A readable dump of a record for assertion messages."""
    lines = [f"run {record.run}"]
    for p, pool in enumerate(plan.pool_names):
        counters = ", ".join(
            f"{name}={int(v)}" for name, v in zip(POOL_COUNTERS, record.counters[p], strict=True)
        )
        lines.append(f"  {pool}: {counters}, spend={record.spend[p]:.2f}")
    lines.append(f"  lot_consumed={record.lot_consumed.tolist()} lot_expired={record.lot_expired.tolist()}")
    if record.seat_tokens is not None:
        lines.append(f"  seat_tokens={np.asarray(record.seat_tokens).tolist()}")
    return "\n".join(lines)


def assert_same(a: RunRecord, b: RunRecord, plan: Plan, what: str = "") -> None:
    assert a.same_as(b), f"{what} records differ:\n{describe(a, plan)}\n{describe(b, plan)}"
    if a.seat_tokens is not None and b.seat_tokens is not None:
        assert np.array_equal(a.seat_tokens, b.seat_tokens), what


def solo(
    *,
    product: str = "Revit",
    days_per_week: float = 5.0,
    start_hour: float = 10.0,
    session: float = 6.0,
    left_open: float = 0.0,
    idle_awareness: bool = True,
    lots: Sequence[Lot] | None = None,
    start: date = date(2026, 1, 1),
    end: date = date(2026, 12, 31),
    calendar: Calendar | None = None,
    reorders: Sequence[Reorder] = (),
    pools: Sequence[Pool] = (Pool("main"),),
    count: int = 1,
    **group_kw,
) -> Scenario:
    """One group of `count` identical people using one product at a fixed hour for a fixed time."""
    group = Group(
        name="solo",
        products=(ProductUse(product, days_per_week),),
        count=count,
        named=count == 1,
        start_hour=Normal(start_hour, 0.0),
        session_hours=Normal(session, 0.0),
        left_open=left_open,
        idle_awareness=idle_awareness,
        **group_kw,
    )
    if lots is None:
        lots = (Lot("big", start, 1_000_000, 2.75, date(start.year + 1, start.month, start.day)),)
    return Scenario(
        name="hand count",
        start=start,
        end=end,
        products={"Revit": 10, "AutoCAD": 7},
        lots=tuple(lots),
        pools=tuple(pools),
        groups=(group,),
        calendar=calendar or Calendar(),
        reorders=tuple(reorders),
        runs=1,
        seed=1,
    )


def both(scenario: Scenario, seed: int = 1, runs: Sequence[int] = (0,)) -> list[RunRecord]:
    """Run with both engines, check they agree record by record, return the SimPy records."""
    plan = Plan(scenario)
    slow = simpy_records(plan, seed, runs)
    fast = fast_records(plan, seed, runs)
    direct = fast_direct(plan, seed, runs)
    for a, b, c in zip(slow, fast, direct, strict=True):
        assert_same(a, b, plan, "simpy vs fast")
        assert_same(a, c, plan, "simpy vs fast (runner path)")
    return slow


@pytest.fixture(autouse=True)
def _from_the_repository_root(monkeypatch):
    """Tests name shipped files as `scenarios/...`, as the docs do: run them from the root."""
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
