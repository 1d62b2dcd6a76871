"""Monte Carlo statistics: every figure comes with its error and the number of runs behind it."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from scipy import special


def t_multiplier(n: int, level: float = 0.95) -> float:
    """Standard errors in the half-width of a Student-t interval of a mean over n runs."""
    # The quantile function scipy.stats.t.ppf computes, called directly: scipy.stats takes about
    # a second to import, scipy.special a tenth of that.
    return float(special.stdtrit(n - 1, 0.5 + level / 2))


def mean_ci(values: np.ndarray, level: float = 0.95) -> tuple[float, float] | tuple[None, None]:
    """Student-t confidence interval of the mean (None, None with fewer than 2 runs)."""
    n = len(values)
    if n < 2:
        return (None, None)
    mean = float(np.mean(values))
    sd = float(np.std(values, ddof=1))
    half = t_multiplier(n, level) * sd / math.sqrt(n)
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
    """Sample quantiles (numpy's default, linear between order statistics)."""
    x = np.asarray(values, dtype=np.float64)
    if len(x) == 0:
        return [None] * len(probs)
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
