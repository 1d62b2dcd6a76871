"""The Python API that the command line (and a notebook) uses.

from flexsim.api import load, simulate
results = simulate(load("scenarios/small-studio.yaml"), runs=500)
results.pool_summary("main")["run_out_probability"]
"""

from __future__ import annotations

import time
from concurrent.futures import Executor
from dataclasses import dataclass, field
from fractions import Fraction
from typing import NoReturn

import numpy as np

from flexsim import __version__
from flexsim.analysis.stats import (
    event_day_quantile,
    half_width,
    mean_ci,
    proportion,
    rare_summary,
    summary,
    wilson,
)
from flexsim.defaults import DEFAULT_ENGINE
from flexsim.engine.plan import Plan
from flexsim.engine.records import DETAILS, RunTable
from flexsim.engine.runner import choose_engine, collect
from flexsim.engine.tracking import Tracked
from flexsim.errors import ScenarioError
from flexsim.output.progress import Progress, Tick
from flexsim.scenario import limits
from flexsim.scenario.loader import load_scenario as load
from flexsim.scenario.model import Scenario

__all__ = ["Results", "load", "simulate"]

RUN_OUT_SHARES = {"p10": Fraction(10, 100), "p50": Fraction(50, 100), "p90": Fraction(90, 100)}


@dataclass
class Results:
    """The per-run records of a simulation plus what is needed to summarise them."""

    scenario: Scenario
    plan: Plan
    records: RunTable  # iterates as RunRecords; its arrays hold every run's numbers
    seed: int
    engine: str
    seconds: float = 0.0
    precision: float | None = None  # asked-for precision (None: a fixed number of runs)
    precision_reached: bool | None = None
    tracked: Tracked | None = None  # day-by-day and per-person figures (reports)
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def runs(self) -> int:
        return len(self.records)

    def column(self, name: str, pool: int | str = 0) -> np.ndarray:
        """One counter over all runs (days are -1 for 'never')."""
        p = self._pool_index(pool)
        key = (name, p)
        if key not in self._cache:
            self._cache[key] = self.records.column(name, p).copy()
        return self._cache[key]

    def per_seat(self, name: str) -> np.ndarray:
        """One of the per-seat (or per-person) arrays of `RunRecord`, stacked over the runs
        (runs first); the simulation must have kept them (`keep_seats`)."""
        if name not in DETAILS:
            raise ValueError(f"{name!r} is not a per-seat figure: one of {', '.join(DETAILS)}")
        arrays = [getattr(r, name) for r in self.records]
        if any(a is None for a in arrays):
            raise ValueError(f"{name} was not kept: simulate with keep_seats=True")
        return np.stack(arrays)

    def _pool_index(self, pool: int | str) -> int:
        return self.plan.pool_names.index(pool) if isinstance(pool, str) else pool

    def date(self, day: int | None) -> str | None:
        return None if day is None else self.plan.date(day).isoformat()

    def day_quantiles(self, name: str, pool: int | str) -> dict[str, str | None]:
        days = self.column(name, pool)
        return {k: self.date(event_day_quantile(days, share)) for k, share in RUN_OUT_SHARES.items()}

    def pool_summary(self, pool: int | str) -> dict:
        """Headline answers for one pool, as in SPEC section 3 (plus a few extras)."""
        out_days = self.column("run_out_day", pool)
        ran_out = int((out_days >= 0).sum())
        alert_days = self.column("alert_day", pool)
        return {
            "run_out_probability": ran_out / self.runs,
            "run_out_probability_detail": proportion(ran_out, self.runs),
            "run_out_date": self.day_quantiles("run_out_day", pool),
            "tokens_purchased": summary(self.column("tokens_purchased", pool)),
            "tokens_consumed": summary(self.column("tokens_consumed", pool)),
            "tokens_expired": rare_summary(self.column("tokens_expired", pool)),
            "tokens_remaining": summary(self.column("tokens_remaining", pool)),
            "blocked_days": rare_summary(self.column("blocked_days", pool)),
            "blocked_launches": rare_summary(self.column("blocked_launches", pool)),
            "spend": summary(self.column("spend", pool)),
            "launches": summary(self.column("launches", pool)),
            "charges": summary(self.column("charges", pool)),
            "topups": summary(self.column("topups", pool)),
            "alert_probability": float((alert_days >= 0).mean()) if self.runs else 0.0,
            "alert_date": self.day_quantiles("alert_day", pool),
        }

    def lot_summaries(self) -> list[dict]:
        out = []
        for lot in self.plan.lots:
            consumed = self.records.lot_consumed[:, lot.slot]
            expired = self.records.lot_expired[:, lot.slot]
            out.append(
                {
                    "name": lot.name,
                    "pool": self.plan.pool_names[lot.pool],
                    "tokens": lot.tokens,
                    "price": lot.price,
                    "date": self.date(lot.date_day),
                    "expires": self.date(lot.expires_day),
                    "held_at_start": lot.held,
                    "consumed": summary(consumed),
                    "expired": summary(expired),
                    "expired_usd": summary(expired * lot.price),
                }
            )
        return out

    def to_json(self) -> dict:
        """The `run --json` object of SPEC section 3.

        Everything in it is a function of (scenario, seed, runs): the engine and the number of
        workers are left out, so the file is identical whichever ran.
        """
        return {
            "scenario": self.scenario.name,
            "runs": self.runs,
            "seed": self.seed,
            "version": __version__,
            **(
                {}
                if self.precision is None
                else {"precision": self.precision, "precision_reached": self.precision_reached}
            ),
            "start": self.scenario.start.isoformat(),
            "end": self.scenario.end.isoformat(),
            "pools": {name: self.pool_summary(i) for i, name in enumerate(self.plan.pool_names)},
            "lots": self.lot_summaries(),
        }


def simulate(
    scenario: Scenario,
    runs: int | None = None,
    seed: int | None = None,
    workers: int = 1,
    engine: str = DEFAULT_ENGINE,
    progress: bool | None | Tick = False,
    keep_seats: bool = False,
    precision: float | None = None,
    track: bool = False,
    executor: Executor | None = None,
    memory: int | None = None,
) -> Results:
    """Run the Monte Carlo simulation. `runs`/`seed` default to the scenario's own.

    With `precision` P, runs are added (100 at a time, up to `runs`) until, for every pool, the
    95% half-width of the run-out probability is at most P and that of the mean tokens consumed
    at most P x the mean; `Results.precision_reached` says whether it was.
    With `track`, `Results.tracked` holds day-by-day balances and per-person figures (reports).
    `executor`: any `concurrent.futures.Executor` to compute the batches on (a Dask client's
    `get_executor()`, a process pool, an MPI pool); the results are the same as without it.
    `memory`: the budget in bytes a worker may use (default 1 GiB), which sets how many runs a
    batch holds (see flexsim.engine.memory); the results are the same whatever it is.
    `progress`: True/False/None (None: a bar when standard error is a terminal), or a function
    called with the number of runs as they finish.
    """
    runs = scenario.runs if runs is None else runs
    seed = scenario.seed if seed is None else seed
    if runs < 1:
        raise ValueError("runs must be at least 1")
    if precision is not None and not 0 < precision < 1:
        raise ValueError("precision must be between 0 and 1")
    plan = Plan(scenario)  # validates the scenario, with its own runs
    if runs != scenario.runs:
        check_runs(scenario, runs)
    chosen = choose_engine(plan, engine)
    bar = Progress(enabled=False if callable(progress) else progress)
    tick = progress if callable(progress) else bar.phase("simulating", runs)
    started = time.monotonic()
    enough = None if precision is None else (lambda recs: precise_enough(recs, plan, precision))
    tracked = Tracked(plan, keep_seats) if track else None
    try:
        records = collect(
            plan,
            seed,
            runs,
            chosen,
            workers,
            keep_seats,
            tick,
            enough,
            absorb=None if tracked is None else tracked.absorb,
            executor=executor,
            memory=memory,
        )
    finally:
        bar.close()
    results = Results(scenario, plan, records, seed, chosen, time.monotonic() - started, tracked=tracked)
    if precision is not None:
        results.precision = precision
        results.precision_reached = precise_enough(records, plan, precision)
    return results


def check_runs(scenario: Scenario, runs: int) -> None:
    """`runs` other than the scenario's own: within the limit, the memory budget and the work."""

    def fail(path: str, message: str) -> NoReturn:
        raise ScenarioError(message, file=scenario.source, path=path)

    limits.check_runs(runs, fail, "runs")
    limits.check_cost(scenario, fail, runs=runs, runs_key="runs")


def precise_enough(records: RunTable, plan: Plan, precision: float) -> bool:
    """SPEC section 4's stopping rule, for every pool."""
    n = len(records)
    if n < 2:
        return False
    for p in range(plan.n_pools):
        out = int((records.column("run_out_day", p) >= 0).sum())
        if half_width(wilson(out, n)) > precision:
            return False
        used = records.column("tokens_consumed", p).astype(np.float64)
        used_half = half_width(mean_ci(used))
        if used_half is None or used_half > precision * used.mean():
            return False
    return True
