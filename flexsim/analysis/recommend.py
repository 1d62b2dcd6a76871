"""What to do, pool by pool: the smallest top-up that holds the run-out risk under a target.

A forecast ends in a decision. For a pool whose run-out risk is not within the target with 95%
confidence (or that loses a person-day or more to blocking), this finds the smallest one-off
top-up, in multiples of 100 tokens, that brings the risk within the target with 95% confidence,
and the latest day to order it given the lead time. It is found on the forecast's own runs
(common random numbers) with the size sweep of `flexsim.engine.sweep`:

1. The top-up must arrive before most runs run out: it arrives on the latest day before which
   few enough runs ran out that they use at most half of the risk the target allows.
2. One sweep with an unlimited top-up measures, run by run, how many tokens it had to supply
   (`need`); a top-up of S tokens leaves a run short exactly when its need exceeds S.
3. A second sweep simulates a handful of sizes around the answer that gives, and the smallest
   size whose simulated run-out count is within the target with 95% confidence is recommended.

Only the runs that came up short are simulated again: a run that never came up short is the
same with more tokens (the top-up, drawn last, is left untouched), so its outcomes follow from
the forecast itself. That shortcut is taken only where it is exact: a pool without a reorder rule,
whose top-up expires after every other pack of the pool. Otherwise every run is simulated.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from datetime import date, timedelta

import numpy as np

from flexsim.analysis.costs import total_cost
from flexsim.analysis.stats import (
    most_within,
    nonnegative_mean_interval,
    runs_for_confidence,
    wilson,
    within_limit,
)
from flexsim.api import Results
from flexsim.engine.plan import Plan
from flexsim.engine.records import POOL_COUNTERS, RunRecord
from flexsim.engine.runner import map_batches
from flexsim.engine.sweep import SizeSweep
from flexsim.scenario.model import Lot, one_year_after, tier_price

DEFAULT_TARGET = 0.05
DEFAULT_LEAD_DAYS = 10  # workdays from order to arrival when the pool has no reorder rule
STEP = 100  # top-ups come in multiples of 100 tokens (the smallest common pack)
MATERIAL_BLOCKED_DAYS = 1.0  # expected blocked person-product-days worth acting on
UNLIMITED = 1 << 40  # the top-up size that never runs short (measures each run's need)
TOPUP_NAME = "recommended top-up"
EXPIRY_WINDOW_DAYS = 90  # tokens left at the end that expire this soon after it are named
BATCH = 64


@dataclass(frozen=True)
class Interval:
    """A Monte Carlo figure: its estimate and 95% interval (`high` None: no bound from the runs)."""

    value: float
    low: float | None
    high: float | None


@dataclass(frozen=True)
class Option:
    """One choice for a pool (no top-up, or a top-up of `tokens`), judged on the same runs."""

    tokens: int  # 0: no top-up
    price: float  # USD per token
    cost: float  # USD paid for the top-up
    run_out: Interval  # probability, Wilson 95% interval
    runs_out: int  # runs (of `runs`) that ran out
    within_target: bool  # run-out probability within the target with 95% confidence
    blocked_days: Interval  # mean blocked person-product-days (an interval that holds when rare)
    expired: Interval  # mean tokens expiring unused
    total_cost: Interval | None  # mean spend + costs.blocked_day x blocked days (None without it)


@dataclass(frozen=True)
class Expiring:
    """Tokens of one pack expected to expire unused, or left at the end and expiring soon after."""

    pack: str
    expires: str
    tokens: float  # mean over the runs
    after_horizon: bool  # left at the end: expire within EXPIRY_WINDOW_DAYS after it


@dataclass(frozen=True)
class PoolAdvice:
    """The recommendation for one pool, with what it rests on."""

    pool: str
    action: str  # "none" | "top-up" | "more-runs" | "not-found"
    target: float
    runs: int
    reason: str  # why action is needed (or not), in words
    now: Option  # the pool as it is
    topup: Option | None = None  # the recommended top-up
    arrive_by: str | None = None  # ISO date the top-up is simulated to arrive (00:00)
    order_by: str | None = None  # latest ISO date to order it, given lead_days
    order_now: bool = False  # the lead time leaves no slack: order at once
    lead_days: int = 0
    runs_needed: int | None = None  # for "more-runs": runs with which the target can be shown
    least_cost: Option | None = None  # the option with the least expected total cost
    tried: list[Option] = field(default_factory=list)
    expiring: list[Expiring] = field(default_factory=list)
    expired: Interval | None = None  # tokens expected to expire unused (pool, mean)


@dataclass(frozen=True)
class Recommendation:
    target: float
    runs: int
    pools: list[PoolAdvice]

    def to_json(self) -> dict:
        return asdict(self)


_COUNTERS = {n: POOL_COUNTERS.index(n) for n in POOL_COUNTERS}


def _pool_arrays(records: Iterable[RunRecord], pool: int, slot: int | None = None) -> dict[str, np.ndarray]:
    """Per-run outcomes of one pool (and the tokens drawn from lot `slot`)."""
    rows = [r.counters[pool] for r in records]
    c = np.array(rows, np.int64).reshape(len(rows), -1)
    out = {
        "ran_out": c[:, _COUNTERS["run_out_day"]] >= 0,
        "run_out_day": c[:, _COUNTERS["run_out_day"]],
        "blocked": c[:, _COUNTERS["blocked_days"]].astype(np.float64),
        "expired": c[:, _COUNTERS["tokens_expired"]].astype(np.float64),
        "spend": np.array([r.spend[pool] for r in records], np.float64),
    }
    if slot is not None:
        out["drawn"] = np.array([r.lot_consumed[slot] for r in records], np.int64)
    return out


def _sweep(plan: Plan, seed: int, runs: list[int], slot: int, sizes: list[int], prices: list[float]):
    """Module level (pickled for worker processes): per size, the pool's per-run outcomes."""
    pool = plan.lots[slot].pool
    return [_pool_arrays(recs, pool, slot) for recs in SizeSweep(plan, seed, runs, slot, sizes, prices).run()]


def _interval(values: np.ndarray) -> Interval:
    """Mean of a figure that is never negative (a cost, expired tokens), with its 95% interval:
    one that holds when the figure is rare and never goes below 0."""
    lo, hi = nonnegative_mean_interval(values)
    return Interval(float(values.mean()), lo, hi)


def _option(
    tokens: int, price: float, a: dict[str, np.ndarray], target: float, blocked_day: float | None
) -> Option:
    n = len(a["ran_out"])
    k = int(a["ran_out"].sum())
    lo, hi = wilson(k, n)
    b_lo, b_hi = nonnegative_mean_interval(a["blocked"])
    total = None
    if blocked_day is not None:
        total = _interval(total_cost(a["spend"], a["blocked"], blocked_day))
    return Option(
        tokens=tokens,
        price=price,
        cost=tokens * price,
        run_out=Interval(k / n, lo, hi),
        runs_out=k,
        within_target=within_limit(k, n, target),
        blocked_days=Interval(float(a["blocked"].mean()), b_lo, b_hi),
        expired=_interval(a["expired"]),
        total_cost=total,
    )


def _latest_order_day(plan: Plan, arrive: int, lead_days: int) -> int:
    """The latest day whose order (lead_days workdays) arrives by day `arrive` (may be < 0)."""
    arrival = plan.arrival_day(lead_days)
    day = arrive
    while day > -400 and arrival(day) > arrive:
        day -= 1
    return day


def _arrival_day(out_days: np.ndarray, n: int, target: float) -> int:
    """The latest day before which the runs that ran out use at most half the target's allowance."""
    days = np.sort(out_days[out_days >= 0])
    if len(days) == 0:
        return 0
    allowed = max(most_within(n, target / 2), 0)
    return int(days[min(allowed, len(days) - 1)])


def _expiring(results: Results, pool: str) -> list[Expiring]:
    """Packs of `pool` with tokens expected to expire unused, and tokens left at the end that
    expire within EXPIRY_WINDOW_DAYS after it."""
    sc = results.scenario
    end = sc.end + timedelta(days=1)
    out = []
    for lot in results.lot_summaries():
        if lot["pool"] != pool:
            continue
        expires = date.fromisoformat(lot["expires"])
        if lot["expired"]["mean"]:
            out.append(Expiring(lot["name"], lot["expires"], lot["expired"]["mean"], False))
        left = lot["tokens"] - lot["consumed"]["mean"] - lot["expired"]["mean"]
        if left > 0 and expires > end and (expires - end).days <= EXPIRY_WINDOW_DAYS:
            out.append(Expiring(lot["name"], lot["expires"], left, True))
    return out


def recommend(
    results: Results,
    target: float = DEFAULT_TARGET,
    lead_days: int | None = None,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
) -> Recommendation:
    """The recommendation for every pool of a forecast (see the module's docstring)."""
    if not 0 < target < 1:
        raise ValueError("target must be between 0 and 1")
    pools = [
        _advise_pool(results, p, target, lead_days, workers, progress) for p in range(results.plan.n_pools)
    ]
    return Recommendation(target, results.runs, pools)


def work(results: Results) -> int:
    """How many runs `recommend` may simulate at most (two sweeps per pool): for a progress bar."""
    return 2 * results.runs * results.plan.n_pools


def _advise_pool(
    results: Results,
    p: int,
    target: float,
    lead_days: int | None,
    workers: int,
    progress: Callable[[int], None] | None,
) -> PoolAdvice:
    sc, plan, n = results.scenario, results.plan, results.runs
    pool = plan.pool_names[p]
    blocked_day = sc.costs.blocked_day
    base = _pool_arrays(results.records, p)
    now = _option(0, 0.0, base, target, blocked_day)
    rule = sc.reorder_for(pool)
    lead = lead_days if lead_days is not None else (rule.lead_days if rule else DEFAULT_LEAD_DAYS)
    # What every answer for this pool says; `replace` fills in the action and what it rests on.
    common = PoolAdvice(
        pool=pool,
        action="none",
        target=target,
        runs=n,
        reason="",
        now=now,
        lead_days=lead,
        expiring=_expiring(results, pool),
        expired=now.expired,
    )
    risky = now.run_out.value > target or not now.within_target
    blocked = now.blocked_days.value >= MATERIAL_BLOCKED_DAYS
    if not risky and not blocked:
        if progress is not None:
            progress(2 * n)
        return replace(
            common,
            action="none",
            reason=f"the run-out risk is within the {target:.0%} target with 95% confidence",
        )
    if now.runs_out == 0 and not blocked:
        if progress is not None:
            progress(2 * n)
        return replace(
            common,
            action="more-runs",
            reason=f"no run ran out, but {n:,} runs are too few to show a risk under {target:.0%}",
            runs_needed=runs_for_confidence(target),
        )
    reason = (
        f"the run-out risk is {now.run_out.value:.1%}, above the {target:.0%} target"
        if now.run_out.value > target
        else (
            f"the run-out risk, {now.run_out.value:.1%}, is not within the {target:.0%} target "
            "with 95% confidence"
            if risky
            else f"{now.blocked_days.value:,.1f} person-product-days are expected to be blocked"
        )
    )
    # 1. When the top-up must arrive, and the latest day to order it.
    arrive = _arrival_day(base["run_out_day"], n, target)
    order = _latest_order_day(plan, arrive, lead)
    order_now = order < 0
    if order_now:
        order, arrive = 0, plan.arrival_day(lead)(0)
    arrive = min(arrive, plan.days - 1)
    when = plan.date(arrive)
    expires = one_year_after(when)
    pool_lots = [lot for lot in sc.lots if lot.pool == pool]
    drawn_last = all(expires > lot.expires for lot in pool_lots)
    exact_shortcut = rule is None and drawn_last
    variant = replace(sc, lots=sc.lots + (Lot(TOPUP_NAME, when, STEP, 0.0, expires, pool),))
    vplan = Plan(variant, validate=False)  # the top-up's price 0 is a placeholder: sweep prices it
    slot = len(variant.lots) - 1
    short = (base["ran_out"] | (base["blocked"] > 0)) if exact_shortcut else np.ones(n, bool)
    rows = np.flatnonzero(short)

    def sweep(sizes: list[int]) -> list[dict[str, np.ndarray]]:
        prices = [tier_price(sc.price_tiers, s) for s in sizes]
        parts: dict[int, list] = {}
        for first, result in map_batches(
            vplan, _sweep, rows.tolist(), BATCH, workers, (results.seed, slot, sizes, prices)
        ):
            parts[first] = result
            if progress is not None:
                progress(len(result[0]["ran_out"]))
        ordered = [parts[k] for k in sorted(parts)]
        return [
            {k: np.concatenate([part[i][k] for part in ordered]) for k in ordered[0][i]}
            for i in range(len(sizes))
        ]

    # 2. Each run's need, from an unlimited top-up.
    unlimited = sweep([UNLIMITED])[0]
    need = np.zeros(n, np.int64)
    need[rows] = unlimited["drawn"]
    out_before = base["ran_out"] & (base["run_out_day"] < arrive)
    k_max = most_within(n, target)
    if k_max < 0:
        if progress is not None:
            progress(n - len(rows))
        return replace(
            common,
            action="more-runs",
            reason=f"{n:,} runs are too few to show any risk under {target:.0%} with 95% confidence",
            runs_needed=runs_for_confidence(target),
        )
    budget = k_max - int(out_before.sum())
    later = np.sort(need[~out_before])[::-1]
    first = int(later[budget]) if 0 <= budget < len(later) else int(later.max(initial=0))
    guess = max(STEP, STEP * math.ceil(first / STEP))
    full = max(guess, STEP * math.ceil(int(need.max()) / STEP))  # nothing short after arrival
    sizes = {max(STEP, guess + d * STEP) for d in (-2, -1, 0, 1, 2)} | {full}
    if rule is not None or not drawn_last:
        sizes |= {2 * guess, 4 * guess}  # the need is only a guide here
    if blocked_day is not None:  # smaller top-ups may cost less in all
        sizes |= {max(STEP, STEP * math.ceil(float(np.quantile(need, q)) / STEP)) for q in (0.5, 0.75, 0.9)}
    sizes_list = sorted(sizes)
    # 3. Simulate those sizes.
    swept = sweep(sizes_list)
    tried = []
    for size, a in zip(sizes_list, swept, strict=True):
        price = tier_price(sc.price_tiers, size)
        full_a = {}
        for key in ("ran_out", "blocked", "expired", "spend"):
            col = base[key].copy()
            if key == "spend":
                col = col + size * price
            elif key == "expired" and expires <= sc.end + timedelta(days=1):
                col = col + size
            col[rows] = a[key]
            full_a[key] = col
        tried.append(_option(size, price, full_a, target, blocked_day))
    ok = [o for o in tried if o.within_target and (risky or o.blocked_days.value < MATERIAL_BLOCKED_DAYS)]
    least = None
    if blocked_day is not None:
        least = min([now, *tried], key=_total_cost)
    planned = replace(
        common,
        reason=reason,
        arrive_by=when.isoformat(),
        order_by=plan.date(order).isoformat(),
        order_now=order_now,
        tried=tried,
        least_cost=least,
    )
    if not risky and least is not None and least.tokens == 0:
        # Within the target, and the blocked days cost less than any top-up tried: recommending
        # one would contradict the cost line, so the advice is to leave the pool as it is.
        return replace(
            planned,
            action="none",
            reason=(
                f"the run-out risk is within the {target:.0%} target with 95% confidence, and "
                "the blocked days cost less than any top-up tried"
            ),
        )
    if not ok:
        return replace(planned, action="not-found", topup=max(tried, key=lambda o: o.tokens))
    return replace(planned, action="top-up", topup=ok[0])


def _total_cost(option: Option) -> float:
    """The expected total cost of an option (priced only with costs.blocked_day)."""
    assert option.total_cost is not None  # every option is priced when blocked_day is
    return option.total_cost.value
