"""Sizing a pack: every candidate size on the same runs, priced, ranked and compared in pairs."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from fractions import Fraction

import numpy as np

from flexsim.analysis.stats import mean_ci, wilson, within_limit
from flexsim.engine.plan import Plan
from flexsim.engine.records import POOL_COUNTERS, RunRecord
from flexsim.engine.runner import map_batches, simulate_runs
from flexsim.engine.sweep import SizeSweep
from flexsim.scenario.hints import name_hint
from flexsim.scenario.model import Reorder, Scenario, Threshold, tier_price

OBJECTIVES = ("cost", "service")
SWEEP_BATCH = 64


class OptimizeError(ValueError):
    """Bad optimisation request (reported in one line, exit status 2)."""


def parse_sizes(text: str) -> list[int]:
    """'START:STOP:STEP' (inclusive) or a comma list, as whole positive token counts."""
    usage = (
        f"--sizes {text!r}: expected START:STOP:STEP or a comma list of whole numbers, "
        "e.g. 500:20000:500 or 1000,2000,5000"
    )
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
        sizes: Sequence[int] = range(start, stop + 1, step)  # its length is known before it is built
    else:
        sizes = listed or []
    if not sizes:
        raise OptimizeError("--sizes: no size given")
    if len(sizes) > 1000:
        raise OptimizeError(f"--sizes {text}: {len(sizes):,} sizes; at most 1000")
    if min(sizes) < 1:
        raise OptimizeError(f"--sizes {text}: sizes must be at least 1 token")
    return sorted(set(sizes))


@dataclass
class Candidate:
    """One size's per-run outcomes (same runs for every size: common random numbers)."""

    tokens: int | None  # size of the optimised pack (None: only top-up policies vary)
    price: float | None
    cost: np.ndarray  # USD per run: purchases in the horizon + blocked days x blocked_day
    ran_out: np.ndarray  # bool per run, the lot's pool
    expired: np.ndarray  # tokens expired per run, the lot's pool
    blocked_days: np.ndarray  # the lot's pool
    spend: np.ndarray  # USD on purchases, every pool
    reorder: Reorder | None = None  # the top-up policy tried, if policies vary

    @property
    def label(self) -> str:
        parts = [] if self.tokens is None else [f"{self.tokens:,} tokens"]
        if self.reorder is not None:
            parts.append(f"top up {self.reorder.tokens:,} below {self.reorder.below.describe()}")
        return ", ".join(parts)

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
            **(
                {}
                if self.reorder is None
                else {
                    "reorder_below": self.reorder.below.describe(),
                    "reorder_tokens": self.reorder.tokens,
                    "reorder_lead_days": self.reorder.lead_days,
                }
            ),
        }


def _outcomes(records: list[RunRecord], pool: int, blocked_day: float) -> tuple[np.ndarray, ...]:
    i_out, i_exp, i_blk = (POOL_COUNTERS.index(n) for n in ("run_out_day", "tokens_expired", "blocked_days"))
    spend = np.array([r.spend.sum() for r in records])
    blocked_all = np.array([r.counters[:, i_blk].sum() for r in records])
    cost = spend + blocked_day * blocked_all
    ran_out = np.array([r.counters[pool, i_out] >= 0 for r in records])
    expired = np.array([r.counters[pool, i_exp] for r in records])
    blocked = np.array([r.counters[pool, i_blk] for r in records])
    return cost, ran_out, expired, blocked, spend


def _sweep_batch(
    plan: Plan,
    seed: int,
    runs: list[int],
    slot: int,
    sizes: list[int],
    prices: list[float],
    blocked_day: float,
) -> list[tuple[np.ndarray, ...]]:
    per_size = SizeSweep(plan, seed, runs, slot, sizes, prices).run()
    pool = plan.lots[slot].pool
    return [_outcomes(records, pool, blocked_day) for records in per_size]


def _plain_batch(
    plan: Plan, seed: int, runs: list[int], pool: int, blocked_day: float
) -> list[tuple[np.ndarray, ...]]:
    return [_outcomes(simulate_runs(plan, seed, runs, "fast"), pool, blocked_day)]


def parse_levels(text: str) -> list[Threshold]:
    """'10%,20%' (shares of the tokens bought so far) or '500,1000' (token counts), mixed allowed."""
    out = []
    for item in (x.strip() for x in text.split(",")):
        if not item:
            continue
        try:
            if item.endswith("%"):
                pct = Fraction(item[:-1].strip())
                if not 0 <= pct <= 100:
                    raise ValueError
                out.append(Threshold(percent=pct))
            else:
                count = int(item)
                if count < 0:
                    raise ValueError
                out.append(Threshold(tokens=count))
        except ValueError:
            raise OptimizeError(
                f"--reorder-below {text!r}: {item!r} is neither a percentage from "
                "0% to 100% nor a whole number of tokens"
            ) from None
    if not out:
        raise OptimizeError("--reorder-below: no level given")
    return out


def parse_counts(text: str, option: str) -> list[int]:
    try:
        counts = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise OptimizeError(f"{option} {text!r}: expected a comma list of whole numbers") from None
    if not counts or min(counts) < 1:
        raise OptimizeError(f"{option} {text!r}: give one or more token counts of at least 1")
    return counts


def reorder_variants(
    scenario: Scenario,
    pool: str,
    belows: Sequence[Threshold],
    tokens: Sequence[int],
    lead_days: int | None = None,
) -> list[Reorder]:
    """Every (level, top-up size) pair for `pool`, with the scenario's other reorder settings."""
    if pool not in scenario.pool_names():
        raise OptimizeError(
            f"--pool {pool!r}: no such pool; pools: " + ", ".join(repr(p) for p in scenario.pool_names())
        )
    base = scenario.reorder_for(pool) or Reorder(pool, Threshold(percent=Fraction(20)), 1000)
    lead = base.lead_days if lead_days is None else lead_days
    out = []
    for below in belows:
        for size in tokens:
            if below.percent is not None and below.percent >= 100 and lead == 0 and base.max_orders is None:
                raise OptimizeError(
                    "a reorder level of 100% with lead 0 and no max_orders would order without end"
                )
            policy = replace(base, below=below, tokens=size, lead_days=lead)
            if policy not in out:  # the same level or size given twice is tried once
                out.append(policy)
    return out


def check_lot(scenario: Scenario, lot: str) -> int:
    """The slot of pack `lot`, which must exist and be bought in the horizon."""
    names = [x.name for x in scenario.lots]
    if lot not in names:
        raise OptimizeError(
            f"--lot {lot!r}: no such pack in {scenario.source}{name_hint(lot, names, '--lot')}; packs: "
            + ", ".join(repr(n) for n in names)
        )
    base = scenario.lots[names.index(lot)]
    if base.date < scenario.start:
        raise OptimizeError(
            f"--lot {lot!r}: this pack is held at start (dated {base.date}, "
            f"before {scenario.start}), so its cost is sunk: size a pack bought "
            "in the horizon"
        )
    return names.index(lot)


def evaluate(
    scenario: Scenario,
    lot: str | None,
    sizes: Sequence[int] | None,
    runs: int,
    seed: int,
    workers: int = 1,
    objective: str = "cost",
    progress=None,
    policies: Sequence[Reorder] | None = None,
    executor: Executor | None = None,
) -> list[Candidate]:
    """Simulate every size of pack `lot` (and/or every top-up policy) on the same runs
    (on `executor` if given: any concurrent.futures.Executor, same results)."""
    slot = None
    if lot is not None:
        slot = check_lot(scenario, lot)
        base = scenario.lots[slot]
        if not sizes:
            raise OptimizeError("--sizes: give the sizes to try for --lot")
        prices = [base.price if base.price_given else tier_price(scenario.price_tiers, s) for s in sizes]
    elif not policies:
        raise OptimizeError(
            "nothing to optimise: give --lot and --sizes, and/or --reorder-below and --reorder-tokens"
        )
    blocked_day = scenario.costs.blocked_day
    if objective == "cost" and blocked_day is None:
        raise OptimizeError(
            f"{scenario.source}: costs.blocked_day: the cost objective needs the "
            "USD lost per blocked person-product-day (or use --objective service)"
        )
    out: list[Candidate] = []
    for policy in policies or [None]:
        variant = (
            scenario
            if policy is None
            else replace(
                scenario, reorders=tuple(r for r in scenario.reorders if r.pool != policy.pool) + (policy,)
            )
        )
        plan = Plan(variant)
        if slot is not None:
            fn, extra = _sweep_batch, (seed, slot, list(sizes), prices, blocked_day or 0.0)
            labels = list(zip(sizes, prices, strict=True))
        else:
            pool = plan.pool_names.index(policy.pool)
            fn, extra = _plain_batch, (seed, pool, blocked_day or 0.0)
            labels = [(None, None)]
        parts: dict[int, list[tuple[np.ndarray, ...]]] = {}
        for first, result in map_batches(plan, fn, range(runs), SWEEP_BATCH, workers, extra, executor):
            parts[first] = result
            if progress is not None:
                progress(len(result[0][0]))
        ordered = [parts[k] for k in sorted(parts)]
        out.extend(
            Candidate(
                size,
                price,
                *(np.concatenate([part[i][j] for part in ordered]) for j in range(5)),
                reorder=policy,
            )
            for i, (size, price) in enumerate(labels)
        )
    return out


def paired(a: np.ndarray, b: np.ndarray) -> dict:
    """Mean of a - b over the common runs, its 95% interval and whether it excludes 0."""
    d = a - b
    n = len(d)
    mean = float(d.mean())
    if n < 2 or float(d.std(ddof=1)) == 0.0:
        return {"mean": mean, "ci95": [mean, mean], "significant": mean != 0.0 and n >= 2}
    low, high = mean_ci(d)
    return {"mean": mean, "ci95": [low, high], "significant": not (low <= 0.0 <= high)}


def recommend(cands: list[Candidate], objective: str, max_run_out: float) -> dict:
    """The recommended candidate (as a summary) with paired comparisons to its neighbours.

    Sizes alone: `cost` takes the lowest expected cost, `service` the smallest size whose
    run-out probability is within the limit; neighbours are the next smaller and larger sizes.
    When top-up policies vary, `service` takes the lowest expected cost among the candidates
    within the limit, and the neighbours are the two next best candidates.
    """
    policies = any(c.reorder is not None for c in cands)
    costs = np.array([c.cost.mean() for c in cands])
    # Within the limit with 95% confidence, not merely on the estimate: a size whose estimate
    # sits just under the limit breaks it about half the time.
    ok = [i for i, c in enumerate(cands) if within_limit(int(c.ran_out.sum()), len(c.ran_out), max_run_out)]
    if objective == "cost":
        best, meets = int(np.argmin(costs)), True
    elif ok:
        best, meets = (min(ok, key=lambda i: costs[i]) if policies else ok[0]), True
    else:
        best, meets = (
            (int(np.argmin([c.ran_out.mean() for c in cands])) if policies else len(cands) - 1),
            False,
        )
    if policies:
        ranked = [i for i in np.argsort(costs, kind="stable").tolist() if i != best]
        neighbours = ranked[:2]
    else:
        neighbours = [j for j in (best - 1, best + 1) if 0 <= j < len(cands)]
    rec = cands[best].summary()
    rec["meets_limit"] = meets
    rec["compared_with"] = [
        {
            "tokens": cands[j].tokens,
            "candidate": cands[j].label,
            "cost_difference": paired(cands[best].cost, cands[j].cost),
            "run_out_difference": paired(cands[best].ran_out.astype(float), cands[j].ran_out.astype(float)),
        }
        for j in neighbours
    ]
    rec["candidate"] = cands[best].label
    rec["flat_region"] = flat_region(cands, best, objective)
    return rec


def flat_region(cands: list[Candidate], best: int, objective: str) -> list[str]:
    """Candidates statistically indistinguishable from the recommended one, on the same runs.

    For `cost`, those whose paired cost difference with it is not significant (95%); for
    `service`, those whose paired run-out difference is not significant. A user should know
    that a range of sizes does as well, and which.
    """
    out = []
    for j, c in enumerate(cands):
        if j == best:
            out.append(c.label)
            continue
        if objective == "cost":
            d = paired(cands[best].cost, c.cost)
        else:
            d = paired(cands[best].ran_out.astype(float), c.ran_out.astype(float))
        if not d["significant"]:
            out.append(c.label)
    return out


def to_json(
    scenario: Scenario,
    lot: str | None,
    objective: str,
    max_run_out: float,
    runs: int,
    seed: int,
    cands: list[Candidate],
) -> dict:
    return {
        "scenario": scenario.name,
        "lot": lot,
        "runs": runs,
        "seed": seed,
        "objective": objective,
        "max_run_out": max_run_out if objective == "service" else None,
        "recommended": recommend(cands, objective, max_run_out),
        "candidates": [dict(c.summary(), candidate=c.label) for c in cands],
    }


def table_text(data: dict) -> str:
    rec = data["recommended"]
    cands = data["candidates"]
    policies = any("reorder_tokens" in c for c in cands)
    rows = []
    for c in cands:
        lo, hi = c["cost_ci95"]
        ci = "" if lo is None else f"({lo:,.0f} to {hi:,.0f})"
        first = [] if c["tokens"] is None else [f"{c['tokens']:,}", f"{c['price']:.2f}"]
        if policies:
            first += [str(c["reorder_below"]), f"{c['reorder_tokens']:,}"]
        rows.append((first, f"{c['expected_cost']:,.0f}", ci, c["candidate"] == rec["candidate"]))
    heads = ([] if cands[0]["tokens"] is None else ["tokens", "USD/token"]) + (
        ["top up below", "top-up tokens"] if policies else []
    )
    widths = [max(len(h), *(len(r[0][k]) for r in rows)) for k, h in enumerate(heads)]
    w_cost = max(len("expected cost"), *(len(r[1]) for r in rows))
    w_ci = max(len("95% CI"), *(len(r[2]) for r in rows))
    what = f"sizing pack {data['lot']!r}" if data["lot"] else "choosing a top-up policy"
    noun = "candidate" if len(cands) == 1 else "candidates"
    lines = [
        f"{data['scenario']}: {what} over {len(cands)} {noun}, {data['runs']} runs each "
        f"(the same runs for every candidate), seed {data['seed']}",
        "",
    ]
    head = " ".join(f"{h:>{w}}" for h, w in zip(heads, widths, strict=True))
    lines.append(
        f"  {head}  {'expected cost':>{w_cost}} {'95% CI':<{w_ci}} {'P(run out)':>10} "
        f"{'expired':>9} {'blocked days':>12}"
    )
    for (first, cost, ci, is_rec), c in zip(rows, cands, strict=True):
        cells = " ".join(f"{v:>{w}}" for v, w in zip(first, widths, strict=True))
        mark = "  <- recommended" if is_rec else ""
        lines.append(
            f"  {cells}  {cost:>{w_cost}} {ci:<{w_ci}} {c['run_out_probability']:>10.1%} "
            f"{c['expected_expired']:>9,.0f} {c['expected_blocked_days']:>12,.1f}{mark}"
        )
    lines.append("")
    if data["objective"] == "cost":
        lines.append(
            f"Recommended: {rec['candidate']}, the lowest expected total cost (purchases + blocked days)."
        )
    elif rec["meets_limit"]:
        rule = "the cheapest candidate" if policies else "the smallest size"
        lines.append(
            f"Recommended: {rec['candidate']}, {rule} whose run-out probability is within "
            f"{data['max_run_out']:.1%} with 95% confidence."
        )
    else:
        hint = "larger sizes" if data["lot"] else "higher levels or larger top-ups"
        lines.append(
            f"No candidate keeps the run-out probability within {data['max_run_out']:.1%} with 95% "
            f"confidence: {rec['candidate']} comes closest. Try {hint} or more runs."
        )
    flat = rec.get("flat_region", [])
    if len(flat) > 1:
        what = "expected cost" if data["objective"] == "cost" else "run-out probability"
        lines.append(
            f"As good on {what} (no significant difference on the same runs): "
            + ("; ".join(flat) if len(flat) <= 6 else f"{flat[0]} to {flat[-1]} ({len(flat)} candidates)")
            + "."
        )
    for comp in rec["compared_with"]:
        d = comp["cost_difference"]
        verdict = "a significant difference" if d["significant"] else "not significant"
        lines.append(
            f"  vs {comp['candidate']}: cost difference {d['mean']:+,.0f} USD "
            f"(95% CI {d['ci95'][0]:+,.0f} to {d['ci95'][1]:+,.0f}), {verdict}"
        )
    return "\n".join(lines) + "\n"
