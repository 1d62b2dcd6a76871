"""What-if comparison of purchase plans: every scenario on the same runs, compared run by run.

Behaviour is drawn from the people, the calendar and the seed only, so scenarios that differ only
in procurement (pack sizes and dates, prices, top-up rules, alert levels) see exactly the same
launches in run k. The run-by-run differences then measure the effect of the plan alone, and
their intervals are usually far narrower than those of two separate forecasts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from pathlib import Path

import numpy as np

from flexsim.analysis.costs import run_total_costs, total_cost
from flexsim.analysis.stats import nonnegative_mean_interval, paired, proportion, summary
from flexsim.api import Results, simulate
from flexsim.engine.plan import Plan
from flexsim.errors import CompareError
from flexsim.scenario.model import Scenario

__all__ = [
    "CompareError",
    "MEASURES",
    "PEOPLE_DIFFER",
    "compare",
    "people_differences",
]

PEOPLE_DIFFER = "the scenarios describe different people: differences mix behaviour and procurement"

# (key, label, unit) of the measures shown per scenario and paired against the baseline.
MEASURES = (
    ("cost", "Total cost (USD)", "usd"),
    ("spend", "Spend on purchases (USD)", "usd"),
    ("tokens_expired", "Tokens expired", "tokens"),
    ("tokens_remaining", "Tokens left at the end", "tokens"),
    ("blocked_days", "Blocked person-product-days", "days"),
    ("topups", "Top-ups received", "count"),
)


def _label(scenario: Scenario) -> str:
    """A short column heading: the file name without its extension, else the scenario name."""
    source = scenario.source
    if source and not source.startswith("<"):
        return Path(source).stem
    return scenario.name


def _labels(scenarios: Sequence[Scenario]) -> list[str]:
    """Unique headings (the same file twice gets '#2')."""
    out: list[str] = []
    for sc in scenarios:
        base = label = _label(sc)
        k = 2
        while label in out:
            label = f"{base} #{k}"
            k += 1
        out.append(label)
    return out


def _check_pools(scenarios: Sequence[Scenario]) -> list[str]:
    """The common pool names (the baseline's order); differing pools can't be compared."""
    base = scenarios[0].pool_names()
    for sc in scenarios[1:]:
        names = sc.pool_names()
        if sorted(names) != sorted(base):
            raise CompareError(
                f"{sc.source}: pools {', '.join(names)} are not those of {scenarios[0].source} "
                f"({', '.join(base)}): only scenarios with the same pools can be compared"
            )
    return base


def _people_key(plan: Plan) -> tuple:
    """What fixes the layout of the behaviour draws: people, their products and pools, in order."""
    return (tuple(plan.persons), tuple(plan.seat_product), tuple(plan.pool_names[p] for p in plan.seat_pool))


def people_differences(
    a: Scenario, b: Scenario, plan_a: Plan | None = None, plan_b: Plan | None = None
) -> list[str]:
    """What differs in people, calendar or behaviour between two scenarios (empty: the same)."""
    plan_a = plan_a or Plan(a)
    plan_b = plan_b or Plan(b)
    found = []
    if _people_key(plan_a) != _people_key(plan_b):
        found.append("people and their products")
    checks = (
        ("users", a.groups, b.groups),
        ("calendar", a.calendar, b.calendar),
        ("seasonality", a.seasonality, b.seasonality),
        ("events", a.events, b.events),
        ("start", a.start, b.start),
        ("end", a.end, b.end),
    )
    found += [name for name, x, y in checks if x != y]
    return found


def _per_run(results: Results, pools: list[str], blocked_day: float) -> dict:
    """Per-run arrays of every measure: {"total": over the pools, "pools": {pool: ...}}."""
    by_pool: dict[str, dict] = {}
    for pool in pools:
        cols = {key: results.column(key, pool).astype(np.float64) for key, _, _ in MEASURES if key != "cost"}
        cols["cost"] = total_cost(cols["spend"], cols["blocked_days"], blocked_day)
        cols["run_out"] = (results.column("run_out_day", pool) >= 0).astype(np.float64)
        by_pool[pool] = cols
    total = {key: sum(by_pool[p][key] for p in pools) for key, _, _ in MEASURES}
    total["cost"] = run_total_costs(results.records, blocked_day)
    total["run_out"] = np.max([by_pool[p]["run_out"] for p in pools], axis=0)
    return {"total": total, "pools": by_pool}


def _describe(cols: dict) -> dict:
    """SUMMARY of each measure and the run-out probability with its Wilson interval."""
    desc = {key: summary(cols[key]) for key, _, _ in MEASURES}
    for key, _, _ in MEASURES:  # all measures are >= 0: an interval that holds when they are rare
        desc[key]["mean_ci95"] = list(nonnegative_mean_interval(cols[key]))
    desc["run_out_probability"] = proportion(int(cols["run_out"].sum()), len(cols["run_out"]))
    return desc


def _differences(cols: dict, base: dict) -> dict:
    """Run-by-run differences (scenario minus baseline) of every measure and of run-out (0/1)."""
    out = {key: paired(cols[key], base[key]).to_json() for key, _, _ in MEASURES}
    out["run_out"] = paired(cols["run_out"], base["run_out"]).to_json()
    return out


def compare(
    scenarios: list[Scenario],
    runs: int,
    seed: int,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
    *,
    per_run: bool = False,
    executor: Executor | None = None,
) -> dict:
    """Simulate every scenario on the same runs and seed and compare each with the first.

    `progress`, if given, is called with the number of runs just finished (runs per scenario;
    runs x len(scenarios) in all). `per_run=True` adds every run's figures, for one's own
    analysis. `executor`: any concurrent.futures.Executor to run on (same results). Returns a
    JSON-serialisable dict (see docs/how-to/compare-purchase-plans.md).
    """
    if len(scenarios) < 2:
        raise CompareError("compare needs at least two scenarios (the first is the baseline)")
    if runs < 1:
        raise CompareError(f"runs must be at least 1, got {runs}")
    labels = _labels(scenarios)
    pools = _check_pools(scenarios)
    plans = [Plan(sc) for sc in scenarios]
    differ = {
        labels[i]: people_differences(scenarios[0], sc, plans[0], plans[i])
        for i, sc in enumerate(scenarios)
        if i > 0
    }
    differ = {k: v for k, v in differ.items() if v}

    notes: list[str] = []
    prices = [sc.costs.blocked_day for sc in scenarios]
    if all(p is None for p in prices):
        notes.append(
            "no scenario sets costs.blocked_day: blocked days are not priced, so total cost is spend only"
        )
    elif any(p is None for p in prices):
        notes.append(
            "costs.blocked_day is missing from "
            + ", ".join(lb for lb, p in zip(labels, prices, strict=True) if p is None)
            + ": blocked days cost 0 there, so total costs are not comparable"
        )
    elif len(set(prices)) > 1:
        notes.append(
            "costs.blocked_day differs between the scenarios: cost differences include "
            "the different price of a blocked day"
        )

    columns = []
    for sc in scenarios:
        results = simulate(
            sc,
            runs=runs,
            seed=seed,
            workers=workers,
            progress=progress or False,
            executor=executor,
        )
        columns.append(_per_run(results, pools, sc.costs.blocked_day or 0.0))

    entries = []
    for sc, label, cols in zip(scenarios, labels, columns, strict=True):
        entries.append(
            {
                "name": sc.name,
                "label": label,
                "file": sc.source,
                "blocked_day": sc.costs.blocked_day,
                "blocked_days_priced": sc.costs.blocked_day is not None,
                "total": _describe(cols["total"]),
                "pools": {pool: _describe(cols["pools"][pool]) for pool in pools},
            }
        )

    base = columns[0]
    differences = []
    for sc, label, cols in zip(scenarios[1:], labels[1:], columns[1:], strict=True):
        d = cols["total"]["cost"] - base["total"]["cost"]
        differences.append(
            {
                "name": sc.name,
                "label": label,
                "file": sc.source,
                "against": labels[0],
                "total": _differences(cols["total"], base["total"]),
                "pools": {pool: _differences(cols["pools"][pool], base["pools"][pool]) for pool in pools},
                "share_of_runs_cheaper": float((d < 0).mean()),
                "share_of_runs_dearer": float((d > 0).mean()),
            }
        )

    result = {
        "runs": runs,
        "seed": seed,
        "baseline": scenarios[0].name,
        "baseline_label": labels[0],
        "baseline_file": scenarios[0].source,
        "pools": pools,
        "same_people": not differ,
        "warning": PEOPLE_DIFFER if differ else None,
        "people_differences": differ,
        "notes": notes,
        "scenarios": entries,
        "differences": differences,
    }
    if per_run:
        result["per_run"] = {
            label: {
                "total": {k: v.tolist() for k, v in cols["total"].items()},
                "pools": {pool: {k: v.tolist() for k, v in cols["pools"][pool].items()} for pool in pools},
            }
            for label, cols in zip(labels, columns, strict=True)
        }
    return result


# -- text -------------------------------------------------------------------------------------
