"""The figures of a forecast report, gathered from the simulated runs in one plain dict.

Everything the HTML report, its charts and the daily CSV show comes from here, and everything
here comes from the runs: headline answers per pool and pack (the `run --json` figures), then
breakdowns by product, group and person, balances day by day and token burn month by month.
Each Monte Carlo figure carries its 95% interval and the number of runs.
"""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import numpy as np

from flexsim.analysis.stats import quantiles, summary
from flexsim.api import Results

BALANCE_QUANTILES = {"p10": 0.1, "p50": 0.5, "p90": 0.9}
# Pool figures shown with their P10-P90 range between runs.
RANGED = ("tokens_consumed", "tokens_expired", "tokens_remaining", "blocked_days", "spend")


def _breakdown(names: list[str], tokens: np.ndarray, price: float, extra=None) -> list[dict]:
    """Rows of tokens per run (runs x entities) as mean, CI, P10/P90 and USD, largest first."""
    rows: list[dict[str, Any]] = []
    total = float(tokens.sum(axis=1).mean()) if tokens.size else 0.0
    for i, name in enumerate(names):
        s = summary(tokens[:, i])
        p10, p90 = quantiles(tokens[:, i], (0.1, 0.9))
        row = {
            "name": name,
            "tokens": s,
            "p10": p10,
            "p90": p90,
            "usd_mean": None if s["mean"] is None else s["mean"] * price,
            "share": (s["mean"] / total) if total and s["mean"] is not None else 0.0,
        }
        if extra is not None:
            row.update(extra(i))
        rows.append(row)
    rows.sort(key=lambda r: -(r["tokens"]["mean"] or 0))
    return rows


def daily_series(results: Results) -> dict[str, dict]:
    """Per pool: dates and end-of-day balance mean/P10/P50/P90, and mean tokens consumed."""
    tracked = results.tracked
    if tracked is None:
        raise ValueError("day-by-day figures need simulate(..., track=True)")
    plan = results.plan
    start = plan.scenario.start
    dates = [(start + timedelta(days=d)).isoformat() for d in range(plan.days)]
    balance = tracked.balance
    qs = {k: balance.quantile(q) for k, q in BALANCE_QUANTILES.items()}
    mean = balance.mean()
    consumed = tracked.consumed / max(tracked.n, 1)
    out = {}
    for p, pool in enumerate(plan.pool_names):
        out[pool] = {
            "date": dates,
            "balance_mean": mean[p].tolist(),
            **{f"balance_{k}": v[p].tolist() for k, v in qs.items()},
            "consumed_mean": consumed[p].tolist(),
            "topups_mean": (tracked.topups[p] / max(tracked.n, 1)).tolist(),
            "alert_level": _scheduled_alert_level(results, p),
            "resolution": float(balance.resolution[p].max()),
        }
    return out


def _scheduled_alert_level(results: Results, pool: int) -> list[int]:
    """The low-balance alert level day by day, counting the packs in the scenario (top-ups,
    which only some runs place, raise it further in those runs)."""
    plan = results.plan
    bought = np.zeros(plan.days, np.int64)
    for lot in plan.lots:
        if lot.pool == pool:
            bought[max(lot.date_day, 0) :] += lot.tokens
    threshold = results.scenario.pools[pool].alert_below
    return [threshold.level(int(b)) for b in bought]


def run_out_weeks(results: Results) -> dict[str, dict]:
    """Per pool: how many runs first ran out in each week of the horizon, and how many never."""
    plan = results.plan
    weeks = list(range(0, plan.days, 7))
    out = {}
    for pool in plan.pool_names:
        days = results.column("run_out_day", pool)
        counts = np.bincount(days[days >= 0] // 7, minlength=len(weeks))
        out[pool] = {
            "week_start": [results.date(d) for d in weeks],
            "runs": counts.tolist(),
            "never": int((days < 0).sum()),
            "total": results.runs,
        }
    return out


def forecast(results: Results, run_json: dict) -> dict:
    """Everything a report shows: the run JSON (`flexsim.output.data.run_json`) plus breakdowns
    and series."""
    data = copy.deepcopy(run_json)  # extended below
    data["run_json"] = run_json  # as `run --json` writes it, untouched (embedded in the page)
    plan, tracked = results.plan, results.tracked
    price = results.scenario.costs.token_price
    data["token_price"] = price
    data["days"] = plan.days
    for pool, s in data["pools"].items():
        p = plan.pool_names.index(pool)
        s["alert_level"] = _alert_text(results, p)
        s["p10_p90"] = {name: quantiles(results.column(name, p), (0.1, 0.9)) for name in RANGED}
    for lot in data["lots"]:
        slot = _slot(results, lot)
        lot["expired_p10"], lot["expired_p90"] = quantiles(
            [r.lot_expired[slot] for r in results.records], (0.1, 0.9)
        )
        lot["consumed_p10"], lot["consumed_p90"] = quantiles(
            [r.lot_consumed[slot] for r in results.records], (0.1, 0.9)
        )
    data["run_out_weeks"] = run_out_weeks(results)
    if tracked is None:
        return data
    group_names = [g.name for g in results.scenario.groups]
    people = plan.persons
    data["by_product"] = _breakdown(
        plan.products,
        tracked.product_tokens(),
        price,
        lambda i: {"rate": int(results.scenario.products[plan.products[i]])},
    )
    data["by_group"] = _breakdown(
        group_names, tracked.group_tokens(), price, lambda i: {"people": results.scenario.groups[i].count}
    )
    data["by_person"] = _breakdown(
        people,
        tracked.person_tokens(),
        price,
        lambda i: {"group": group_names[plan.person_group[i]], "products": _products_of(results, i)},
    )
    mean, half = tracked.month_product_mean()
    total_mean, total_half = tracked.month_total_mean()
    data["monthly_burn"] = {
        "months": plan.month_labels,
        "products": plan.products,
        "mean": mean.tolist(),
        "ci95_half": half.tolist(),
        "total_mean": total_mean.tolist(),
        "total_ci95_half": total_half.tolist(),
    }
    data["daily"] = daily_series(results)
    return data


def _slot(results: Results, lot: dict) -> int:
    return next(
        x.slot
        for x in results.plan.lots
        if x.name == lot["name"] and results.plan.pool_names[x.pool] == lot["pool"]
    )


def _products_of(results: Results, person: int) -> list[str]:
    plan = results.plan
    return [plan.seat_product[s] for s in np.flatnonzero(plan.seat_person == person)]


def _alert_text(results: Results, pool: int) -> str:
    """The alert level in words: '20% of the tokens bought into the pool' or '1,500 tokens'."""
    threshold = results.scenario.pools[pool].alert_below
    if threshold.tokens is not None:
        return threshold.describe()
    return f"{threshold.describe()} of the tokens bought into the pool so far"
