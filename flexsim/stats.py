"""Monte Carlo statistics: every figure comes with its error and the number of runs behind it."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from scipy import stats as sps


def mean_ci(values: np.ndarray, level: float = 0.95) -> tuple[float, float] | tuple[None, None]:
    """Student-t confidence interval of the mean (None, None with fewer than 2 runs)."""
    n = len(values)
    if n < 2:
        return (None, None)
    mean = float(np.mean(values))
    sd = float(np.std(values, ddof=1))
    half = float(sps.t.ppf(0.5 + level / 2, n - 1)) * sd / math.sqrt(n)
    return (mean - half, mean + half)


def summary(values) -> dict:
    """SUMMARY of SPEC section 3: mean, sd, p05, p50, p95 and the 95% interval of the mean."""
    x = np.asarray(values, dtype=np.float64)
    if len(x) == 0:
        return {"mean": None, "sd": None, "p05": None, "p50": None, "p95": None,
                "mean_ci95": [None, None], "n": 0}
    p05, p50, p95 = (float(v) for v in np.quantile(x, [0.05, 0.5, 0.95]))
    lo, hi = mean_ci(x)
    return {"mean": float(np.mean(x)), "sd": float(np.std(x, ddof=1)) if len(x) > 1 else None,
            "p05": p05, "p50": p50, "p95": p95, "mean_ci95": [lo, hi], "n": int(len(x))}


def wilson(successes: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion (sound near 0 and 1, unlike the normal one)."""
    if n == 0:
        return (0.0, 1.0)
    z = float(sps.norm.ppf(0.5 + level / 2))
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
