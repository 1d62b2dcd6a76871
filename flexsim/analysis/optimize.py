"""Sizing a pack: every candidate size on the same runs, priced, ranked and compared in pairs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from fractions import Fraction

import numpy as np

from flexsim.analysis.costs import total_cost
from flexsim.analysis.stats import PairedDifference, mean_ci, paired, wilson, within_limit
from flexsim.defaults import DEFAULT_OBJECTIVE, OBJECTIVES
from flexsim.engine.plan import Plan
from flexsim.engine.records import POOL_COUNTERS, RunRecord
from flexsim.engine.runner import map_batches, simulate_runs
from flexsim.engine.sweep import SizeSweep
from flexsim.errors import OptimizeError
from flexsim.scenario.hints import name_hint
from flexsim.scenario.model import Reorder, Scenario, Threshold, tier_price

SWEEP_BATCH = 64


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

    def summary(self) -> CandidateSummary:
        n = len(self.cost)
        out = int(self.ran_out.sum())
        return CandidateSummary(
            candidate=self.label,
            tokens=self.tokens,
            price=self.price,
            expected_cost=float(self.cost.mean()),
            cost_ci95=mean_ci(self.cost),
            run_out_probability=out / n,
            run_out_ci95=wilson(out, n),
            expected_expired=float(self.expired.mean()),
            expected_blocked_days=float(self.blocked_days.mean()),
            expected_spend=float(self.spend.mean()),
            reorder=self.reorder,
        )


@dataclass(frozen=True)
class CandidateSummary:
    """One candidate's figures over the runs (an entry of `optimize --json`'s candidates)."""

    candidate: str  # in words: "6,000 tokens", "top up 500 below 20%"
    tokens: int | None
    price: float | None
    expected_cost: float  # mean total cost per run (flexsim.analysis.costs)
    cost_ci95: tuple[float, float] | tuple[None, None]
    run_out_probability: float
    run_out_ci95: tuple[float, float]  # Wilson
    expected_expired: float
    expected_blocked_days: float
    expected_spend: float
    reorder: Reorder | None  # the top-up policy tried, if policies vary

    def to_json(self) -> dict:
        return {
            "tokens": self.tokens,
            "price": self.price,
            "expected_cost": self.expected_cost,
            "cost_ci95": list(self.cost_ci95),
            "run_out_probability": self.run_out_probability,
            "run_out_ci95": list(self.run_out_ci95),
            "expected_expired": self.expected_expired,
            "expected_blocked_days": self.expected_blocked_days,
            "expected_spend": self.expected_spend,
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


@dataclass(frozen=True)
class Neighbour:
    """A candidate next to the recommended one, compared with it on the same runs."""

    candidate: str
    tokens: int | None
    cost_difference: PairedDifference  # recommended - this one, USD per run
    run_out_difference: PairedDifference  # recommended - this one, probability

    def to_json(self) -> dict:
        return {
            "tokens": self.tokens,
            "candidate": self.candidate,
            "cost_difference": self.cost_difference.to_json(),
            "run_out_difference": self.run_out_difference.to_json(),
        }


@dataclass(frozen=True)
class Recommended:
    """The recommended candidate, whether it meets the run-out limit, and what it was weighed
    against."""

    summary: CandidateSummary
    meets_limit: bool
    compared_with: tuple[Neighbour, ...]
    flat_region: tuple[str, ...]  # candidates as good on the objective (no significant difference)

    def to_json(self) -> dict:
        return {
            **self.summary.to_json(),
            "meets_limit": self.meets_limit,
            "compared_with": [n.to_json() for n in self.compared_with],
            "candidate": self.summary.candidate,
            "flat_region": list(self.flat_region),
        }


@dataclass(frozen=True)
class Sizing:
    """What `flexsim optimize` found: every candidate, and the recommended one."""

    scenario: str
    lot: str | None
    runs: int
    seed: int
    objective: str
    max_run_out: float
    recommended: Recommended
    candidates: tuple[CandidateSummary, ...]

    @property
    def policies(self) -> bool:
        """Whether top-up policies vary (else only the size of `lot`)."""
        return any(c.reorder is not None for c in self.candidates)

    def to_json(self) -> dict:
        """The `optimize --json` object."""
        return {
            "scenario": self.scenario,
            "lot": self.lot,
            "runs": self.runs,
            "seed": self.seed,
            "objective": self.objective,
            "max_run_out": self.max_run_out if self.objective == "service" else None,
            "recommended": self.recommended.to_json(),
            "candidates": [dict(c.to_json(), candidate=c.candidate) for c in self.candidates],
        }


def _outcomes(records: list[RunRecord], pool: int, blocked_day: float) -> tuple[np.ndarray, ...]:
    i_out, i_exp, i_blk = (POOL_COUNTERS.index(n) for n in ("run_out_day", "tokens_expired", "blocked_days"))
    spend = np.array([r.spend.sum() for r in records])
    blocked_all = np.array([r.counters[:, i_blk].sum() for r in records])
    cost = total_cost(spend, blocked_all, blocked_day)
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
    objective: str = DEFAULT_OBJECTIVE,
    progress=None,
    policies: Sequence[Reorder] | None = None,
    executor: Executor | None = None,
) -> list[Candidate]:
    """Simulate every size of pack `lot` (and/or every top-up policy) on the same runs
    (on `executor` if given: any concurrent.futures.Executor, same results)."""
    sweep: tuple[int, list[int], list[float]] | None = None  # (slot, sizes, prices) of the pack
    if lot is not None:
        slot = check_lot(scenario, lot)
        base = scenario.lots[slot]
        if not sizes:
            raise OptimizeError("--sizes: give the sizes to try for --lot")
        prices = [base.price if base.price_given else tier_price(scenario.price_tiers, s) for s in sizes]
        sweep = (slot, list(sizes), prices)
    elif not policies:
        raise OptimizeError(
            "nothing to optimise: give --lot and --sizes, and/or --reorder-below and --reorder-tokens"
        )
    if objective not in OBJECTIVES:
        raise OptimizeError(f"unknown objective {objective!r}: choose one of {', '.join(OBJECTIVES)}")
    blocked_day = scenario.costs.blocked_day
    if objective == "cost" and blocked_day is None:
        raise OptimizeError(
            f"{scenario.source}: costs.blocked_day: the cost objective needs the "
            "USD lost per blocked person-product-day (or use --objective service)"
        )
    out: list[Candidate] = []
    tried: list[Reorder | None] = list(policies) if policies else [None]
    for policy in tried:
        variant = (
            scenario
            if policy is None
            else replace(
                scenario, reorders=tuple(r for r in scenario.reorders if r.pool != policy.pool) + (policy,)
            )
        )
        plan = Plan(variant)
        fn: Callable[..., list[tuple[np.ndarray, ...]]]
        extra: tuple[object, ...]
        labels: list[tuple[int | None, float | None]]
        if sweep is not None:
            slot, sized, prices = sweep
            fn, extra = _sweep_batch, (seed, slot, sized, prices, blocked_day or 0.0)
            labels = list(zip(sized, prices, strict=True))
        else:
            assert policy is not None  # no pack to size: the policies vary
            pool = plan.pool_names.index(policy.pool)
            fn, extra = _plain_batch, (seed, pool, blocked_day or 0.0)
            labels = [(None, None)]
        parts: dict[int, list[tuple[np.ndarray, ...]]] = {}
        for first, result in map_batches(plan, fn, range(runs), SWEEP_BATCH, workers, extra, executor):
            parts[first] = result
            if progress is not None:
                progress(len(result[0][0]))
        ordered = [parts[k] for k in sorted(parts)]
        for i, (size, price) in enumerate(labels):
            cost, ran_out, expired, blocked, spend = (
                np.concatenate([part[i][j] for part in ordered]) for j in range(5)
            )
            out.append(Candidate(size, price, cost, ran_out, expired, blocked, spend, reorder=policy))
    return out


def recommend(cands: list[Candidate], objective: str, max_run_out: float) -> Recommended:
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
    compared = tuple(
        Neighbour(
            cands[j].label,
            cands[j].tokens,
            paired(cands[best].cost, cands[j].cost),
            paired(cands[best].ran_out.astype(float), cands[j].ran_out.astype(float)),
        )
        for j in neighbours
    )
    flat = flat_region(cands, best, objective, set(ok) if objective == "service" else None)
    return Recommended(cands[best].summary(), meets, compared, tuple(flat))


def flat_region(
    cands: list[Candidate], best: int, objective: str, within: set[int] | None = None
) -> list[str]:
    """Candidates statistically indistinguishable from the recommended one, on the same runs.

    For `cost`, those whose paired cost difference with it is not significant (95%); for
    `service`, those whose paired run-out difference is not significant and that are within the
    limit too (`within`). A user should know that a range of sizes does as well, and which.
    """
    out = []
    for j, c in enumerate(cands):
        if j == best:
            out.append(c.label)
            continue
        if within is not None and j not in within:
            continue
        if objective == "cost":
            d = paired(cands[best].cost, c.cost)
        else:
            d = paired(cands[best].ran_out.astype(float), c.ran_out.astype(float))
        if not d.significant:
            out.append(c.label)
    return out


def sizing(
    scenario: Scenario,
    lot: str | None,
    objective: str,
    max_run_out: float,
    runs: int,
    seed: int,
    cands: list[Candidate],
) -> Sizing:
    """The candidates summarised and the recommendation (see `recommend`)."""
    return Sizing(
        scenario.name,
        lot,
        runs,
        seed,
        objective,
        max_run_out,
        recommend(cands, objective, max_run_out),
        tuple(c.summary() for c in cands),
    )
