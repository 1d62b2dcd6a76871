"""The statistics every figure goes through, checked against scipy and numpy."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps
from strategies import examples

from flexsim.analysis.stats import (
    DailyQuantiles,
    event_day_quantile,
    mean_ci,
    proportion,
    quantiles,
    summary,
    wilson,
)

finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


@settings(max_examples=examples(100), deadline=None)
@given(st.lists(finite, min_size=2, max_size=200))
def test_mean_ci_is_scipys_t_interval(values):
    x = np.array(values)
    lo, hi = mean_ci(x)
    sem = sps.sem(x)
    if sem == 0:
        assert lo == pytest.approx(hi)
        return
    want = sps.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=sem)
    assert lo == pytest.approx(want[0], rel=1e-9, abs=1e-6)
    assert hi == pytest.approx(want[1], rel=1e-9, abs=1e-6)


def test_mean_ci_needs_two_runs():
    assert mean_ci(np.array([3.0])) == (None, None)


@settings(max_examples=examples(200), deadline=None)
@given(st.integers(1, 5000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_is_scipys_wilson(kn):
    k, n = kn
    lo, hi = wilson(k, n)
    want = sps.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    assert lo == pytest.approx(want.low, abs=1e-9)
    assert hi == pytest.approx(want.high, abs=1e-9)
    p = proportion(k, n)
    assert p["p"] == k / n and p["n"] == n
    assert p["se"] == pytest.approx(math.sqrt(k / n * (1 - k / n) / n))


@settings(max_examples=examples(100), deadline=None)
@given(st.lists(finite, min_size=2, max_size=100))
def test_summary_matches_numpy(values):
    x = np.array(values)
    s = summary(x)
    assert s["n"] == len(x)
    assert s["mean"] == pytest.approx(x.mean(), rel=1e-12, abs=1e-9)
    assert s["sd"] == pytest.approx(x.std(ddof=1), rel=1e-9, abs=1e-9)
    for key, q in (("p05", 0.05), ("p50", 0.5), ("p95", 0.95)):
        assert s[key] == pytest.approx(np.quantile(x, q), abs=1e-9)
    assert quantiles(x, (0.1, 0.9)) == pytest.approx(list(np.quantile(x, [0.1, 0.9])), abs=1e-9)


def test_event_day_quantile_counted_by_hand():
    # 10 runs; 4 ran out (days 30, 10, 20, 40), 6 never (-1).
    days = np.array([30, -1, 10, -1, -1, 20, -1, 40, -1, -1])
    assert event_day_quantile(days, Fraction(1, 10)) == 10  # the 1st earliest
    assert event_day_quantile(days, Fraction(3, 10)) == 30  # the 3rd earliest
    assert event_day_quantile(days, Fraction(4, 10)) == 40
    assert event_day_quantile(days, Fraction(5, 10)) is None  # only 4 of 10 ran out
    assert event_day_quantile(np.array([], np.int64), Fraction(1, 2)) is None


values_3d = st.integers(1, 3).flatmap(
    lambda s: st.integers(1, 6).flatmap(
        lambda d: st.lists(
            st.lists(st.lists(st.integers(0, 3000), min_size=d, max_size=d), min_size=s, max_size=s),
            min_size=1,
            max_size=60,
        )
    )
)


@settings(max_examples=examples(80), deadline=None)
@given(values_3d, st.randoms(use_true_random=False))
def test_daily_quantiles_are_exact_within_the_window(rows, rnd):
    """With at most `bins` tokens between a day's smallest and largest value, the quantiles
    are numpy's exactly, whatever the order and grouping of the runs."""
    v = np.array(rows, np.int64)  # (runs, series, days)
    n, S, D = v.shape
    dq = DailyQuantiles(S, D, budget=S * D * 4096)
    order = list(range(n))
    rnd.shuffle(order)
    cut = rnd.randint(0, n)
    dq.add(v[order[:cut]])
    dq.add(v[order[cut:]])
    assert dq.n == n
    assert (dq.resolution == 0).all()
    for q in (0.0, 0.1, 0.5, 0.9, 1.0):
        assert np.allclose(dq.quantile(q), np.quantile(v, q, axis=0), rtol=0, atol=1e-9)
    assert np.allclose(dq.mean(), v.mean(axis=0))


@settings(max_examples=examples(40), deadline=None)
@given(st.integers(0, 2**31), st.integers(500, 400_000), st.integers(0, 10**6))
def test_daily_quantiles_stay_within_their_resolution(seed, spread, base):
    """Wide spreads merge bins: each quantile is then within w/2 of the exact one, the order of
    runs still changes nothing, and the extremes and the mean stay exact."""
    rng = np.random.default_rng(seed)
    v = base + rng.integers(0, spread, size=(300, 2, 5))
    one = DailyQuantiles(2, 5, budget=2 * 5 * 256)
    for run in v:
        one.add(run)
    other = DailyQuantiles(2, 5, budget=2 * 5 * 256)
    other.add(v[::-1])
    for q in (0.0, 0.1, 0.5, 0.9, 1.0):
        got = one.quantile(q)
        assert np.array_equal(got, other.quantile(q))
        assert (np.abs(got - np.quantile(v, q, axis=0)) <= one.resolution + 1e-9).all()
    assert np.array_equal(one.quantile(0.0), v.min(axis=0))
    assert np.array_equal(one.quantile(1.0), v.max(axis=0))
    assert np.allclose(one.mean(), v.mean(axis=0))
    assert (one.resolution > 0).any() or spread <= 256


def test_daily_quantiles_memory_does_not_grow_with_runs():
    dq = DailyQuantiles(1, 365)
    size = dq.counts.nbytes
    rng = np.random.default_rng(3)
    for _ in range(20):
        dq.add(rng.integers(0, 50_000, size=(100, 1, 365)))
    assert dq.counts.nbytes == size <= (1 << 22) * 4
    with pytest.raises(ValueError):
        dq.add(-np.ones((1, 1, 365), np.int64))
