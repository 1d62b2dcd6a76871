"""Forecast the past: fit on the export's rows before a split date, forecast the rest of its date
range, and see whether the actual total fell inside the forecast's P10-P90 range.

The forecast uses an unlimited pool: the history records what people actually used, which no
empty pool held back (a blocked launch leaves no row), so the question is only how much demand
the model expects, not whether the packs would have covered it. Over many splits (`folds`), an
honest 80% interval holds the actual total about 80% of the time: that share is the coverage.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import replace
from datetime import date, timedelta

import numpy as np

from flexsim.analysis.stats import summary_with_range, wilson
from flexsim.engine.plan import Plan
from flexsim.engine.records import RunRecord
from flexsim.engine.runner import choose_engine, collect
from flexsim.errors import CalibrationError
from flexsim.history.calibrate import Calibration, calibrate
from flexsim.history.scoring import NOMINAL, horizon_entry, horizons, score_folds
from flexsim.history.tokenflex import TokenFlexCalibration, calibrate_tokenflex
from flexsim.history.usage_export import Usage
from flexsim.output.progress import Progress, Tick
from flexsim.scenario.model import Lot, one_year_after

MIN_FIT_DAYS = 56  # at least 8 weeks of history before a split
MIN_FORECAST_DAYS = 28  # and 4 weeks after it
UNLIMITED = 10**9  # tokens of the pack that stands in for "never blocked"


def _interval(values: np.ndarray, actual: int) -> dict:
    """SUMMARY plus p10 and p90, and whether `actual` lies within them."""
    forecast = summary_with_range(values)
    return {"forecast": forecast, "covered": forecast["p10"] <= actual <= forecast["p90"]}


def backtest(
    usage: Usage,
    split: date,
    runs: int = 1000,
    seed: int = 1,
    workers: int = 1,
    horizon: int | None = None,
    progress: bool | None | Tick = False,
    executor: Executor | None = None,
) -> dict:
    """Fit on the rows before `split`, forecast from `split` to the export's last day (or for
    `horizon` days), and compare the totals; the keys are SPEC section 6's plus details.
    `executor`: any concurrent.futures.Executor to simulate on (same results)."""
    first, last = usage.first_day, usage.last_day
    if not first < split <= last:
        raise CalibrationError(
            f"--split {split} must lie after the first usage date ({first}) and no "
            f"later than the last ({last})"
        )
    history = usage.before(split)
    end = last if horizon is None else min(last, split + timedelta(days=horizon - 1))
    fitted = fit_before(usage, split, end, runs, seed)
    scenario = replace(fitted.scenario, source=f"<fitted on {usage.source} before {split}>")
    unlimited = tuple(
        Lot(f"unlimited {pool}", split, UNLIMITED, 3.0, one_year_after(split), pool)
        for pool in scenario.pool_names()
    )
    plan = Plan(replace(scenario, lots=unlimited))
    windows = horizons(split, end)
    cuts = [(last_day - split).days + 1 for _months, last_day in windows]
    totals: dict[int, list[int]] = {}

    def absorb(record: RunRecord) -> None:
        """Tokens of each horizon, from the run's day-by-day figures (then dropped)."""
        assert record.daily_consumed is not None  # collect() tracks them when it absorbs
        consumed = np.cumsum(record.daily_consumed.sum(axis=0))
        totals[record.run] = [int(consumed[k - 1]) for k in cuts]
        record.daily_consumed = record.daily_balance = record.month_product_tokens = None

    tick = progress if callable(progress) else None
    with Progress(enabled=False if callable(progress) else progress) as bar:
        records = collect(
            plan,
            seed,
            runs,
            choose_engine(plan, "auto"),
            workers,
            keep_seats=True,
            progress=tick or bar.phase("simulating", runs),
            absorb=absorb,
            executor=executor,
        )
    by_window = np.array([totals[r.run] for r in records], np.int64).reshape(len(records), len(cuts))
    forecast = by_window[:, -1]
    window = [r for r in usage.rows if split <= r.day <= end]
    actual = sum(r.tokens for r in window)
    known = {p.name for p in fitted.fit.people}
    new_people = {r.user for r in window if r.user not in known}
    before: dict[date, int] = defaultdict(int)
    for r in history.rows:
        before[r.day] += r.tokens
    scored = []
    for k, (months, last_day) in enumerate(windows):
        upto = sum(r.tokens for r in window if r.day <= last_day)
        scored.append(horizon_entry(months, split, last_day, horizon, upto, by_window[:, k], before, first))
    products = {}
    seat_tokens = (
        np.stack([np.asarray(r.seat_tokens, np.int64) for r in records])
        if plan.n_seats
        else np.zeros((len(forecast), 0), np.int64)
    )
    for product in sorted({r.product for r in window} | set(plan.seat_product)):
        cols = [s for s, name in enumerate(plan.seat_product) if name == product]
        values = seat_tokens[:, cols].sum(axis=1) if cols else np.zeros(len(forecast), np.int64)
        product_actual = sum(r.tokens for r in window if r.product == product)
        products[product] = {"actual_tokens": product_actual, **_interval(values, product_actual)}
    total = _interval(forecast, actual)
    return {
        "split": split.isoformat(),
        "actual_tokens": actual,
        "forecast_tokens": total["forecast"],
        "covered": total["covered"],
        "runs": len(records),
        "seed": seed,
        "fitted_from": first.isoformat(),
        "fitted_to": (split - timedelta(days=1)).isoformat(),
        "forecast_from": split.isoformat(),
        "forecast_to": end.isoformat(),
        "people": len(known),
        "people_are": "product demands" if usage.style == "tokenflex" else "people",
        "new_people": {
            "count": len(new_people),
            "actual_tokens": sum(r.tokens for r in window if r.user in new_people),
        },
        "products": products,
        "horizons": scored,
    }


def fit_before(
    usage: Usage, split: date, end: date, runs: int, seed: int
) -> Calibration | TokenFlexCalibration:
    """The scenario fitted on the rows before `split` only (what was known that day), to
    forecast from `split` to `end`."""
    fit = calibrate_tokenflex if usage.style == "tokenflex" else calibrate
    return fit(
        usage.before(split),
        start=split,
        end=end,
        history_end=split - timedelta(days=1),
        name=f"backtest at {split}",
        runs=runs,
        seed=seed,
    )


def fold_splits(usage: Usage, folds: int, horizon: int | None = None) -> list[date]:
    """`folds` split dates spread evenly over the history, each with at least `MIN_FIT_DAYS` of
    history before it and `horizon` days (at least `MIN_FORECAST_DAYS`) after it."""
    first, last = usage.first_day, usage.last_day
    after = max(horizon or 0, MIN_FORECAST_DAYS)
    lo = first + timedelta(days=MIN_FIT_DAYS)
    hi = last - timedelta(days=after - 1)
    if hi < lo:
        raise CalibrationError(
            f"the history ({first} to {last}) is too short for folds: each needs "
            f"{MIN_FIT_DAYS} days before its split and {after} after"
        )
    span = (hi - lo).days
    offsets = sorted({round(x) for x in np.linspace(0, span, folds)}) if folds > 1 else [span // 2]
    if len(offsets) < folds:
        raise CalibrationError(
            f"--folds {folds}: the history has room for {len(offsets)} distinct split dates"
        )
    return [lo + timedelta(days=k) for k in offsets]


def backtest_folds(
    usage: Usage,
    folds: int,
    runs: int = 1000,
    seed: int = 1,
    workers: int = 1,
    horizon: int | None = None,
    each: Callable[[dict], None] | None = None,
    progress: bool | None = False,
    executor: Executor | None = None,
) -> dict:
    """One backtest per split of `fold_splits`, and the share whose actual total was covered
    (`progress`, None: on a terminal, shows each fold's runs)."""
    out = []
    splits = fold_splits(usage, folds, horizon)
    with Progress(enabled=progress) as bar:
        for k, split in enumerate(splits, 1):
            tick = bar.phase(f"fold {k} of {len(splits)} ({split})", runs)
            result = backtest(usage, split, runs, seed, workers, horizon, progress=tick, executor=executor)
            out.append(result)
            if each is not None:
                each(result)
    hits = sum(f["covered"] for f in out)
    lo, hi = wilson(hits, len(out))
    return {
        "folds": out,
        "coverage": {
            "covered": hits,
            "folds": len(out),
            "share": hits / len(out),
            "ci95": [lo, hi],
            "nominal": NOMINAL,
        },
        "scores": score_folds(out),
        "runs": runs,
        "seed": seed,
        "horizon_days": horizon,
    }
