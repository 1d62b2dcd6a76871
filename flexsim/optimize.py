"""Sizing a pack: every candidate size on the same runs, priced, ranked and compared in pairs."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

from flexsim.model import Scenario, tier_price
from flexsim.plan import Plan
from flexsim.records import POOL_COUNTERS, RunRecord
from flexsim.runner import map_batches
from flexsim.stats import mean_ci, wilson
from flexsim.sweep import SizeSweep

OBJECTIVES = ("cost", "service")
SWEEP_BATCH = 64


class OptimizeError(ValueError):
    """Bad optimisation request (reported in one line, exit status 2)."""


def parse_sizes(text: str) -> list[int]:
    """'START:STOP:STEP' (inclusive) or a comma list, as whole positive token counts."""
    usage = (f"--sizes {text!r}: expected START:STOP:STEP or a comma list of whole numbers, "
             "e.g. 500:20000:500 or 1000,2000,5000")
    try:
        parts = [int(p) for p in text.split(":")] if ":" in text else None
        listed = None if parts is not None else [int(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise OptimizeError(usage) from None
    if parts is not None:
        if len(parts) != 3:
            raise OptimizeError(usage)
        start, stop, step = parts
        if step <= 0 or stop < start:
            raise OptimizeError(f"--sizes {text}: need START <= STOP and STEP > 0")
        sizes = list(range(start, stop + 1, step))
    else:
        sizes = listed or []
    if not sizes:
        raise OptimizeError("--sizes: no size given")
    if min(sizes) < 1:
        raise OptimizeError(f"--sizes {text}: sizes must be at least 1 token")
    if len(sizes) > 1000:
        raise OptimizeError(f"--sizes {text}: {len(sizes)} sizes; at most 1000")
    return sorted(set(sizes))


@dataclass
class Candidate:
    """One size's per-run outcomes (same runs for every size: common random numbers)."""

    tokens: int
    price: float
    cost: np.ndarray  # USD per run: purchases in the horizon + blocked days x blocked_day
    ran_out: np.ndarray  # bool per run, the lot's pool
    expired: np.ndarray  # tokens expired per run, the lot's pool
    blocked_days: np.ndarray  # the lot's pool
    spend: np.ndarray  # USD on purchases, every pool

    def summary(self) -> dict:
        n = len(self.cost)
        out = int(self.ran_out.sum())
        lo, hi = mean_ci(self.cost)
        return {
            "tokens": self.tokens,
            "price": self.price,
            "expected_cost": float(self.cost.mean()),
            "cost_ci95": [lo, hi],
            "run_out_probability": out / n,
            "run_out_ci95": list(wilson(out, n)),
            "expected_expired": float(self.expired.mean()),
            "expected_blocked_days": float(self.blocked_days.mean()),
            "expected_spend": float(self.spend.mean()),
        }


def _outcomes(records: list[RunRecord], pool: int, blocked_day: float) -> tuple[np.ndarray, ...]:
    i_out, i_exp, i_blk = (POOL_COUNTERS.index(n) for n in ("run_out_day", "tokens_expired",
                                                              "blocked_days"))
    spend = np.array([r.spend.sum() for r in records])
    blocked_all = np.array([r.counters[:, i_blk].sum() for r in records])
    cost = spend + blocked_day * blocked_all
    ran_out = np.array([r.counters[pool, i_out] >= 0 for r in records])
    expired = np.array([r.counters[pool, i_exp] for r in records])
    blocked = np.array([r.counters[pool, i_blk] for r in records])
    return cost, ran_out, expired, blocked, spend


def _sweep_batch(plan: Plan, seed: int, runs: list[int], slot: int, sizes: list[int],
                 prices: list[float], blocked_day: float) -> list[tuple[np.ndarray, ...]]:
    per_size = SizeSweep(plan, seed, runs, slot, sizes, prices).run()
    pool = plan.lots[slot].pool
    return [_outcomes(records, pool, blocked_day) for records in per_size]


def evaluate(scenario: Scenario, lot: str, sizes: Sequence[int], runs: int, seed: int,
             workers: int = 1, objective: str = "cost", progress=None) -> list[Candidate]:
    """Simulate every size of pack `lot` on the same `runs` runs."""
    names = [x.name for x in scenario.lots]
    if lot not in names:
        raise OptimizeError(f"--lot {lot!r}: no such pack in {scenario.source}; packs: "
                            + ", ".join(repr(n) for n in names))
    blocked_day = scenario.costs.blocked_day
    if objective == "cost" and blocked_day is None:
        raise OptimizeError(f"{scenario.source}: costs.blocked_day: the cost objective needs the "
                            "USD lost per blocked person-product-day (or use --objective service)")
    slot = names.index(lot)
    base = scenario.lots[slot]
    if base.date < scenario.start:
        raise OptimizeError(f"--lot {lot!r}: this pack is held at start (dated {base.date}, before "
                            f"{scenario.start}), so its cost is sunk: size a pack bought in the horizon")
    plan = Plan(scenario)
    prices = [base.price if base.price_given else tier_price(scenario.price_tiers, s) for s in sizes]
    parts: dict[int, list[tuple[np.ndarray, ...]]] = {}
    for first, result in map_batches(plan, _sweep_batch, range(runs), SWEEP_BATCH, workers,
                                     (seed, slot, list(sizes), prices, blocked_day or 0.0)):
        parts[first] = result
        if progress is not None:
            progress(len(result[0][0]))
    ordered = [parts[k] for k in sorted(parts)]
    return [Candidate(size, price, *(np.concatenate([part[i][j] for part in ordered])
                                     for j in range(5)))
            for i, (size, price) in enumerate(zip(sizes, prices, strict=True))]


def paired(a: np.ndarray, b: np.ndarray) -> dict:
    """Mean of a - b over the common runs, its 95% interval and whether it excludes 0."""
    d = a - b
    n = len(d)
    mean = float(d.mean())
    if n < 2 or float(d.std(ddof=1)) == 0.0:
        return {"mean": mean, "ci95": [mean, mean], "significant": mean != 0.0 and n >= 2}
    half = float(sps.t.ppf(0.975, n - 1)) * float(d.std(ddof=1)) / math.sqrt(n)
    return {"mean": mean, "ci95": [mean - half, mean + half],
            "significant": not (mean - half <= 0.0 <= mean + half)}


def recommend(cands: list[Candidate], objective: str, max_run_out: float) -> dict:
    """The recommended candidate (as a summary) with its paired comparison to its neighbours."""
    if objective == "cost":
        means = [c.cost.mean() for c in cands]
        best = int(np.argmin(means))
        meets = True
    else:
        ok = [i for i, c in enumerate(cands) if c.ran_out.mean() <= max_run_out]
        meets = bool(ok)
        best = ok[0] if ok else len(cands) - 1
    rec = cands[best].summary()
    rec["meets_limit"] = meets
    rec["compared_with"] = [
        {"tokens": cands[j].tokens, "cost_difference": paired(cands[best].cost, cands[j].cost),
         "run_out_difference": paired(cands[best].ran_out.astype(float),
                                      cands[j].ran_out.astype(float))}
        for j in (best - 1, best + 1) if 0 <= j < len(cands)]
    return rec


def to_json(scenario: Scenario, lot: str, objective: str, max_run_out: float, runs: int,
            seed: int, cands: list[Candidate]) -> dict:
    return {
        "scenario": scenario.name, "lot": lot, "runs": runs, "seed": seed,
        "objective": objective,
        "max_run_out": max_run_out if objective == "service" else None,
        "recommended": recommend(cands, objective, max_run_out),
        "candidates": [c.summary() for c in cands],
    }


def table_text(data: dict) -> str:
    rec = data["recommended"]
    rows = []
    for c in data["candidates"]:
        lo, hi = c["cost_ci95"]
        ci = "" if lo is None else f"({lo:,.0f} to {hi:,.0f})"
        rows.append((c, f"{c['expected_cost']:,.0f}", ci))
    w_cost = max(len("expected cost"), *(len(r[1]) for r in rows))
    w_ci = max(len("95% CI"), *(len(r[2]) for r in rows))
    lines = [f"{data['scenario']}: sizing pack {data['lot']!r} over {len(data['candidates'])} "
             f"sizes, {data['runs']} runs each (the same runs for every size), seed {data['seed']}",
             "", f"  {'tokens':>8} {'USD/token':>9}  {'expected cost':>{w_cost}} {'95% CI':<{w_ci}} "
                 f"{'P(run out)':>10} {'expired':>9} {'blocked days':>12}"]
    for c, cost, ci in rows:
        mark = "  <- recommended" if c["tokens"] == rec["tokens"] else ""
        lines.append(f"  {c['tokens']:>8,} {c['price']:>9.2f}  {cost:>{w_cost}} {ci:<{w_ci}} "
                     f"{c['run_out_probability']:>10.1%} {c['expected_expired']:>9,.0f} "
                     f"{c['expected_blocked_days']:>12,.1f}{mark}")
    lines.append("")
    if data["objective"] == "cost":
        lines.append(f"Recommended: {rec['tokens']:,} tokens, the lowest expected total cost "
                     f"(purchases + blocked days).")
    elif rec["meets_limit"]:
        lines.append(f"Recommended: {rec['tokens']:,} tokens, the smallest size whose run-out "
                     f"probability is at most {data['max_run_out']:.1%}.")
    else:
        lines.append(f"No size keeps the run-out probability at or below {data['max_run_out']:.1%}: "
                     f"the largest, {rec['tokens']:,} tokens, is shown. Try larger sizes.")
    for comp in rec["compared_with"]:
        d = comp["cost_difference"]
        verdict = "a significant difference" if d["significant"] else "not significant"
        lines.append(f"  vs {comp['tokens']:,} tokens: cost difference {d['mean']:+,.0f} USD "
                     f"(95% CI {d['ci95'][0]:+,.0f} to {d['ci95'][1]:+,.0f}), {verdict}")
    return "\n".join(lines) + "\n"
