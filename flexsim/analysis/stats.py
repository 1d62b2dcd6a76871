"""Monte Carlo statistics: every figure comes with its error and the number of runs behind it."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import overload

import numpy as np
from scipy import special


def t_multiplier(n: int, level: float = 0.95) -> float:
    """Standard errors in the half-width of a Student-t interval of a mean over n runs."""
    # The quantile function scipy.stats.t.ppf computes, called directly: scipy.stats takes about
    # a second to import, scipy.special a tenth of that.
    return float(special.stdtrit(n - 1, 0.5 + level / 2))


def mean_half_width(values: np.ndarray, level: float = 0.95) -> float | None:
    """Half-width of the Student-t interval of the mean: the "±" of every mean over runs (None
    with fewer than 2 runs, where no interval exists)."""
    n = len(values)
    if n < 2:
        return None
    sd = float(np.std(values, ddof=1))
    return t_multiplier(n, level) * sd / math.sqrt(n)


@overload
def half_width(interval: tuple[float, float]) -> float: ...


@overload
def half_width(interval: Sequence[float | None]) -> float | None: ...


def half_width(interval: Sequence[float | None]) -> float | None:
    """Half the width of an interval already computed (None when a bound is missing)."""
    lo, hi = interval
    return None if lo is None or hi is None else (hi - lo) / 2


def mean_ci(values: np.ndarray, level: float = 0.95) -> tuple[float, float] | tuple[None, None]:
    """Student-t confidence interval of the mean (None, None with fewer than 2 runs)."""
    if len(values) < 2:
        return (None, None)
    return t_interval(values, level)


def t_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """`mean_ci` for 2 runs or more."""
    mean = float(np.mean(values))
    half = mean_half_width(values, level)
    assert half is not None  # two runs or more
    return (mean - half, mean + half)


def summary(values) -> dict:
    """SUMMARY of SPEC section 3: mean, sd, p05, p50, p95 and the 95% interval of the mean."""
    x = np.asarray(values, dtype=np.float64)
    if len(x) == 0:
        return {
            "mean": None,
            "sd": None,
            "p05": None,
            "p50": None,
            "p95": None,
            "mean_ci95": [None, None],
            "n": 0,
        }
    p05, p50, p95 = (float(v) for v in np.quantile(x, [0.05, 0.5, 0.95]))
    lo, hi = mean_ci(x)
    return {
        "mean": float(np.mean(x)),
        "sd": float(np.std(x, ddof=1)) if len(x) > 1 else None,
        "p05": p05,
        "p50": p50,
        "p95": p95,
        "mean_ci95": [lo, hi],
        "n": int(len(x)),
    }


def summary_with_range(values) -> dict:
    """SUMMARY plus `p10` and `p90` (the middle 80% of runs), for tables that show that range."""
    out = summary(values)
    if out["n"]:
        out["p10"], out["p90"] = quantiles(values, (0.1, 0.9))
    return out


def wilson(successes: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion (sound near 0 and 1, unlike the normal one)."""
    if n == 0:
        return (0.0, 1.0)
    z = float(special.ndtri(0.5 + level / 2))  # scipy.stats.norm.ppf
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    lo, hi = centre - half, centre + half
    # Exact 0 and 1 rather than rounding noise like 4e-19 at the ends.
    return (0.0 if lo < 1e-12 else lo, 1.0 if hi > 1 - 1e-12 else hi)


def proportion(successes: int, n: int) -> dict:
    """A probability with its standard error and Wilson 95% interval."""
    p = successes / n if n else 0.0
    se = math.sqrt(p * (1 - p) / n) if n else None
    lo, hi = wilson(successes, n)
    return {"p": p, "se": se, "ci95": [lo, hi], "n": n}


def event_day_quantile(days: np.ndarray, share: Fraction) -> int | None:
    """Day by which `share` of all runs had seen the event (days < 0: never); None if too few.

    With N runs that is the ceil(share x N)-th earliest event day.
    """
    n = len(days)
    k = math.ceil(share * n)
    happened = np.sort(days[days >= 0])
    if k < 1:
        k = 1
    if k > len(happened):
        return None
    return int(happened[k - 1])


def quantiles(values, probs=(0.1, 0.5, 0.9)) -> list[float | None]:
    """Sample quantiles (numpy's default, linear between order statistics); None with no runs."""
    x = np.asarray(values, dtype=np.float64)
    if len(x) == 0:
        return [None] * len(probs)
    return list(sample_quantiles(x, probs))


def sample_quantiles(x: np.ndarray, probs: Sequence[float]) -> list[float]:
    """`quantiles` of at least one value."""
    return [float(v) for v in np.quantile(x, probs)]


class DailyQuantiles:
    """Quantiles over runs of a non-negative integer per (series, day), in bounded memory.

    A report over 20,000 runs must not keep 20,000 balance trajectories. Each (series, day)
    keeps instead a histogram of `bins` counts of width w (a power of two) over a window that
    moves to where that day's values are: the balances of one day over many runs span far less
    than the balance itself. The window widens (adjacent bins merge, w doubles) only when the
    values of that day span more than `bins` x w tokens. Quantiles are therefore exact while
    w = 1, and otherwise within w/2 of the exact sample quantile (`resolution`); the smallest and
    largest values and the means are always exact. The final histogram (and so every answer)
    depends only on the set of values added, not on their order: results are the same for any
    number of workers.
    """

    def __init__(self, series: int, days: int, budget: int = 1 << 22):
        self.series, self.days = series, days
        per_row = max(64, budget // max(series * days, 1))
        self.bins = 1 << (per_row.bit_length() - 1)  # a power of two
        shape = (series, days)
        self.counts = np.zeros((*shape, self.bins), np.int32)
        self.width = np.ones(shape, np.int64)
        self.offset = np.zeros(shape, np.int64)  # first bin of the window, in units of width
        self.low = np.full(shape, np.iinfo(np.int64).max)
        self.high = np.full(shape, -1, np.int64)
        self.total = np.zeros(shape, np.int64)
        self.n = 0

    def add(self, values: np.ndarray) -> None:
        """Add runs: `values` is (runs, series, days) of integers >= 0."""
        values = np.asarray(values, dtype=np.int64)
        if values.ndim == 2:
            values = values[None]
        if len(values) == 0:
            return
        if values.min() < 0:
            raise ValueError("DailyQuantiles takes non-negative values")
        low = np.minimum(self.low, values.min(axis=0))
        high = np.maximum(self.high, values.max(axis=0))
        w = self.width
        outside = (low // w < self.offset) | (high // w >= self.offset + self.bins)
        for s, d in zip(*np.nonzero(outside), strict=True):
            self._refit(s, d, int(low[s, d]), int(high[s, d]))
        self.low, self.high = low, high
        index = (
            values // self.width
            - self.offset
            + (np.arange(self.series * self.days) * self.bins).reshape(self.series, self.days)
        )
        np.add.at(self.counts.reshape(-1), index.ravel(), 1)
        self.total += values.sum(axis=0)
        self.n += len(values)

    def _refit(self, s: int, d: int, low: int, high: int) -> None:
        """Move (and if need be widen) the window of (s, d) to hold [low, high]."""
        w = int(self.width[s, d])
        while high // w - low // w >= self.bins:
            w *= 2
        row = self.counts[s, d]
        filled = np.flatnonzero(row)
        absolute = (self.offset[s, d] + filled) * self.width[s, d] // w  # bins merge when w grows
        centre = (low // w + high // w) // 2 - self.bins // 2
        offset = min(max(centre, high // w - self.bins + 1), low // w)
        moved = np.zeros_like(row)
        np.add.at(moved, absolute - offset, row[filled])
        self.counts[s, d] = moved
        self.width[s, d], self.offset[s, d] = w, offset

    def mean(self) -> np.ndarray:
        return self.total / max(self.n, 1)

    @property
    def resolution(self) -> np.ndarray:
        """Largest error of a quantile, in tokens, per (series, day): 0 where exact."""
        return (self.width - 1) / 2

    def quantile(self, q: float) -> np.ndarray:
        """The q-quantile per (series, day), interpolated as numpy's default (NaN with no runs)."""
        if self.n == 0:
            return np.full((self.series, self.days), np.nan)
        h = (self.n - 1) * q
        lo = int(np.floor(h))
        hi = min(lo + 1, self.n - 1)
        a, b = self._order_statistic(lo), self._order_statistic(hi)
        return a + (h - lo) * (b - a)

    def _order_statistic(self, k: int) -> np.ndarray:
        """The k-th smallest value (0-based): exact when w = 1, else its bin's centre (kept
        within the exact smallest and largest values)."""
        if k == 0:
            return self.low.astype(np.float64)
        if k == self.n - 1:
            return self.high.astype(np.float64)
        cum = np.cumsum(self.counts, axis=2)
        index = (cum > k).argmax(axis=2) + self.offset
        centre = index * self.width + (self.width - 1) / 2
        return np.clip(centre, self.low, self.high)


def clopper_pearson(successes: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) interval of a proportion: it holds at any n, even with 0 successes."""
    if n == 0:
        return (0.0, 1.0)
    alpha = 1 - level
    lo = 0.0 if successes == 0 else float(special.betaincinv(successes, n - successes + 1, alpha / 2))
    hi = 1.0 if successes == n else float(special.betaincinv(successes + 1, n - successes, 1 - alpha / 2))
    return (lo, hi)


def within_limit(successes: int, n: int, limit: float) -> bool:
    """Whether a probability is at most `limit` with 95% confidence (upper Wilson bound)."""
    return n > 0 and wilson(successes, n)[1] <= limit


def most_within(n: int, limit: float) -> int:
    """The largest count k of n runs for which `within_limit(k, n, limit)` holds (-1: none)."""
    k = -1
    while k + 1 <= n and within_limit(k + 1, n, limit):
        k += 1
    return k


def runs_for_confidence(limit: float) -> int:
    """The fewest runs with which a probability seen as 0 is within `limit` with 95% confidence."""
    n = 1
    while not within_limit(0, n, limit):
        n = n * 2 if n < 1 << 20 else n + 1
    lo = n // 2
    while lo + 1 < n:  # bisect down to the smallest
        mid = (lo + n) // 2
        lo, n = (lo, mid) if within_limit(0, mid, limit) else (mid, n)
    return n


FEW_NONZERO = 40  # below this many non-zero runs, a mean's t interval can't be trusted


def count_mean_interval(values, level: float = 0.95) -> tuple[float | None, float | None]:
    """An interval for the mean of non-negative figures that holds when they are rare.

    Rare, zero-heavy figures (blocked days that happen in a few runs only) defeat the Student-t
    interval: with every run at 0 it says "0 ± 0" while the true mean need not be 0. With k of n
    runs above zero and k small, the mean is (share of runs above zero) x (their mean): the share
    gets its exact Clopper-Pearson bounds; the mean of the non-zero runs gets its t interval
    widened to the range the runs spanned (a third to three times the value when only one run
    is above zero). Checked by simulation on geometric counts in 0.5% to 30% of runs: the
    interval holds in at least 95% of samples. With every run at 0 nothing bounds the size of
    the figure: the interval is (0, None) and `rare_share` says how rare it is. With all runs
    equal (nothing varies) it is that value; with many non-zero runs, the t interval.
    """
    x = np.asarray(values, dtype=np.float64)
    n = len(x)
    if n < 2:
        return (None, None)
    if float(x.min()) == float(x.max()):
        return (0.0, None) if x[0] == 0 else (float(x[0]), float(x[0]))
    nonzero = x[x > 0]
    k = len(nonzero)
    if k >= FEW_NONZERO or x.min() < 0:
        lo, hi = t_interval(x, level)
        return (max(lo, 0.0) if x.min() >= 0 else lo, hi)
    p_lo, p_hi = clopper_pearson(k, n, level)
    if k == 1:
        m_lo, m_hi = float(nonzero[0]) / 3, 3 * float(nonzero[0])
    else:
        lo, hi = t_interval(nonzero, level)
        m_lo, m_hi = max(min(lo, float(nonzero.min())), 0.0), max(hi, float(nonzero.max()))
    return (p_lo * m_lo, p_hi * m_hi)


def nonnegative_mean_interval(values) -> tuple[float | None, float | None]:
    """The 95% interval of the mean of a figure that is never negative, as every output shows it:
    the rare-figure interval when fewer than half the runs are above 0 (`count_mean_interval`),
    otherwise Student's t, never below 0."""
    x = np.asarray(values, dtype=np.float64)
    if len(x) >= 2 and float(x.min()) < float(x.max()) and (x > 0).mean() >= 0.5:
        lo, hi = t_interval(x)
        return (max(lo, 0.0), hi)
    return count_mean_interval(x)


def rare_detail(values) -> dict:
    """What the JSON says of a figure that may be rare: in how many runs it was above zero, the
    exact 95% interval of that share, and an interval of the mean that holds when it is rare
    (`count_mean_interval`; its upper end is null when the figure was 0 in every run)."""
    x = np.asarray(values, dtype=np.float64)
    k = int((x > 0).sum())
    lo, hi = nonnegative_mean_interval(x)
    share = list(clopper_pearson(k, len(x))) if len(x) else [None, None]
    return {"runs_above_zero": k, "share_above_zero_ci95": share, "mean_interval95": [lo, hi]}


def rare_summary(values) -> dict:
    """SUMMARY plus `rare` (see `rare_detail`), for figures that are often 0 in every run."""
    return {**summary(values), "rare": rare_detail(values)}


def rare_share(values, level: float = 0.95) -> float:
    """Upper 95% bound of the share of runs in which a figure is above 0: the Wilson bound, as
    for the run-out probability, so that the two lines of a summary agree."""
    x = np.asarray(values)
    return wilson(int((x > 0).sum()), len(x), level)[1]


def quantile_uncertain(share_out: tuple[float, float], q: float) -> bool:
    """Whether the run-out quantile q is uncertain: the share of runs that run out (its 95%
    interval) straddles q, so with more runs that quantile might not exist, or might appear."""
    lo, hi = share_out
    return lo <= q <= hi


@dataclass(frozen=True)
class PairedDifference:
    """The mean of a - b over the same runs, its 95% interval and whether the interval excludes 0."""

    mean: float
    ci95: tuple[float, float]
    significant: bool

    def to_json(self) -> dict:
        return {"mean": self.mean, "ci95": list(self.ci95), "significant": self.significant}


def paired(a: np.ndarray, b: np.ndarray) -> PairedDifference:
    """a - b compared run by run (common random numbers: the runs pair up)."""
    d = a - b
    n = len(d)
    mean = float(d.mean())
    if n < 2 or float(d.std(ddof=1)) == 0.0:
        return PairedDifference(mean, (mean, mean), mean != 0.0 and n >= 2)
    low, high = t_interval(d)
    return PairedDifference(mean, (low, high), not (low <= 0.0 <= high))
