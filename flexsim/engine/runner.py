"""Monte Carlo replications: N runs, in batches, on one or several processes or a cluster.

Run k always draws from child k of the root seed, and a batch's runs do not touch each other, so
the records are the same whatever the number of workers, the batch size or the order in which
batches finish. Records are put back in run order as they arrive; nothing else is kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor
from typing import Any

from flexsim.defaults import ENGINES
from flexsim.engine import engine_fast, engine_simpy
from flexsim.engine.behaviour import draw_behaviour
from flexsim.engine.executors import dispatch
from flexsim.engine.memory import batch_runs
from flexsim.engine.plan import Plan
from flexsim.engine.records import RunRecord, RunTable


def choose_engine(plan: Plan, engine: str) -> str:
    """The engine to use: `auto` is the fast one, which covers every rule (and gives the SimPy
    engine's results run for run)."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}: choose one of {', '.join(ENGINES)}")
    return "fast" if engine == "auto" else engine


def simulate_runs(
    plan: Plan, seed: int, runs: Sequence[int], engine: str, keep_seats: bool = False, track: bool = False
) -> list[RunRecord]:
    """Simulate these runs in this process with the named engine ('fast' or 'simpy').

    With `track`, records also carry day-by-day figures and tokens per seat (for reports).
    """
    if engine == "fast":
        return engine_fast.simulate_fast(plan, seed, list(runs), detail=keep_seats, track=track)
    records = [engine_simpy.simulate_run(plan, draw_behaviour(plan, seed, run), run, track) for run in runs]
    if not keep_seats and not track:
        for record in records:
            record.drop_seats()
    return records


def map_batches(
    plan: Plan,
    fn: Callable,
    runs: Sequence[int],
    size: int,
    workers: int,
    extra: tuple,
    executor: Executor | None = None,
    memory: int | None = None,
) -> Iterator[tuple[int, Any]]:
    """Yield (first run, fn(plan, seed, batch, *rest)) per batch of runs, as batches finish: on
    `executor` if given (see flexsim.engine.executors), else on `workers` local processes.

    Batches hold at most `size` runs, and fewer when that many would not fit in `memory` bytes
    (see flexsim.engine.memory; the default budget when None). `extra` is (seed, *rest); `fn`
    must be a module-level function (it is pickled).
    """
    size = min(size, batch_runs(plan, "fast", memory))
    yield from dispatch(plan, fn, batches(runs, size), workers, extra, executor)


def batches(runs: Sequence[int], size: int) -> list[list[int]]:
    runs = list(runs)
    return [runs[i : i + size] for i in range(0, len(runs), size)]


def iter_records(
    plan: Plan,
    seed: int,
    runs: Sequence[int],
    engine: str,
    workers: int = 1,
    keep_seats: bool = False,
    batch: int | None = None,
    track: bool = False,
    executor: Executor | None = None,
    memory: int | None = None,
) -> Iterator[list[RunRecord]]:
    """Yield the records of `runs` batch by batch (in any order of completion)."""
    size = batch or batch_runs(plan, engine, memory)
    for _first, records in map_batches(
        plan, simulate_runs, runs, size, workers, (seed, engine, keep_seats, track), executor, memory
    ):
        yield records


def collect(
    plan: Plan,
    seed: int,
    runs: int,
    engine: str,
    workers: int = 1,
    keep_seats: bool = False,
    progress: Callable[[int], None] | None = None,
    enough: Callable[[RunTable], bool] | None = None,
    every: int = 100,
    absorb: Callable[[RunRecord], None] | None = None,
    executor: Executor | None = None,
    memory: int | None = None,
) -> RunTable:
    """Records of runs 0..n-1, in run order: n = `runs`, or, with `enough`, the first multiple
    of `every` (or `runs`) at which `enough(records)` holds.

    Each record is folded into a `RunTable` as it arrives and dropped, so memory grows by a
    few numbers a run, not by a Python object a run. Stopping is decided on whole prefixes of
    runs at fixed checkpoints, never on whichever batches happened to finish first, so the
    answer is the same for any number of workers. With `absorb`, records carry day-by-day
    figures; each record is passed to it once it is sure to be part of the result (its run is
    below the checkpoint being waited for), so those figures are folded in and dropped as the
    runs arrive. `memory`: the budget in bytes that sets the batch size (see
    flexsim.engine.memory).
    """
    table = RunTable(plan.n_pools, len(plan.lots), runs, keep_seats)
    waiting: dict[int, RunRecord] = {}  # arrived, not absorbed yet

    def settle(limit: int) -> None:
        if absorb is None:
            return
        for run in sorted(r for r in waiting if r < limit):
            absorb(waiting.pop(run))

    checkpoint = min(every, runs) if enough is not None else runs
    chunks = iter_records(
        plan,
        seed,
        range(runs),
        engine,
        workers,
        keep_seats,
        track=absorb is not None,
        executor=executor,
        memory=memory,
    )
    for chunk in chunks:
        for record in chunk:
            table.put(record)
            if absorb is not None:
                waiting[record.run] = record
        if progress is not None:
            progress(len(chunk))
        del chunk
        while enough is not None and checkpoint <= runs and table.filled[:checkpoint].all():
            prefix = table.head(checkpoint)
            if enough(prefix):
                settle(checkpoint)
                return prefix
            if checkpoint == runs:
                break
            checkpoint = min(checkpoint + every, runs)
        settle(checkpoint)
    assert table.filled.all()
    settle(runs)
    return table
