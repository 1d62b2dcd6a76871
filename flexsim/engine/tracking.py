"""What a report needs beyond the per-run counters, folded in run by run as runs arrive.

The engines note each run's end-of-day balances, tokens per day and tokens per month and
product (`RunRecord.TRACKS`). Keeping those for 20,000 runs would take gigabytes, so each run is
absorbed here as soon as it is known to be part of the result and its arrays are dropped:
balances go into per-day histograms (`DailyQuantiles`), consumption into exact integer sums,
and only small per-run totals per person and product are kept for P10-P90 ranges.
"""

from __future__ import annotations

import numpy as np

from flexsim.analysis.stats import DailyQuantiles, t_multiplier
from flexsim.engine.plan import Plan
from flexsim.engine.records import TRACKS, RunRecord


class Tracked:
    """Day-by-day and per-person figures of a simulation."""

    def __init__(self, plan: Plan, keep_seats: bool = False):
        self.plan = plan
        self.keep_seats = keep_seats
        self.balance = DailyQuantiles(plan.n_pools, plan.days)
        self.consumed = np.zeros((plan.n_pools, plan.days), np.int64)  # summed over runs
        self.topups = np.zeros((plan.n_pools, plan.days), np.int64)  # top-ups received, summed over runs
        shape = (len(plan.month_labels), len(plan.products))
        self.month_product = np.zeros(shape, np.int64)  # summed over runs
        self.month_product_sq = np.zeros(shape, np.float64)  # for the standard error
        self.month_total_sq = np.zeros(shape[0], np.float64)
        self._person: dict[int, np.ndarray] = {}
        self._product: dict[int, np.ndarray] = {}
        self.n = 0

    def absorb(self, record: RunRecord) -> None:
        """Fold one run in and drop its day-by-day arrays from the record."""
        plan = self.plan
        daily_balance, daily_consumed = record.daily_balance, record.daily_consumed
        if record.daily_topups is not None:
            self.topups += record.daily_topups
        month_product = record.month_product_tokens
        assert daily_balance is not None and daily_consumed is not None and month_product is not None
        self.balance.add(daily_balance[None])
        self.consumed += daily_consumed
        self.month_product += month_product
        self.month_product_sq += month_product.astype(np.float64) ** 2
        self.month_total_sq += month_product.sum(axis=1).astype(np.float64) ** 2
        tokens = np.asarray(record.seat_tokens, np.int64)
        per_person = np.bincount(plan.seat_person, weights=tokens, minlength=len(plan.persons))
        self._person[record.run] = per_person.astype(np.int64)
        self._product[record.run] = month_product.sum(axis=0)
        self.n += 1
        for name in TRACKS:
            setattr(record, name, None)
        if not self.keep_seats:
            record.drop_seats()

    def person_tokens(self) -> np.ndarray:
        """(runs, persons) tokens charged to each person, in run order."""
        return np.array([self._person[r] for r in sorted(self._person)], np.int64).reshape(
            self.n, len(self.plan.persons)
        )

    def product_tokens(self) -> np.ndarray:
        """(runs, products) tokens charged for each product, in run order."""
        return np.array([self._product[r] for r in sorted(self._product)], np.int64).reshape(
            self.n, len(self.plan.products)
        )

    def group_tokens(self) -> np.ndarray:
        """(runs, groups) tokens charged to each group (a named person is a group of one)."""
        groups = len(self.plan.scenario.groups)
        onehot = np.eye(groups, dtype=np.int64)[self.plan.person_group]  # (persons, groups)
        return self.person_tokens() @ onehot

    def month_product_mean(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean tokens per (month, product) over runs and the half-width of its 95% interval."""
        return _mean_half(self.month_product, self.month_product_sq, self.n)

    def month_total_mean(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean tokens per month (all products) and the half-width of its 95% interval."""
        return _mean_half(self.month_product.sum(axis=1), self.month_total_sq, self.n)


def _mean_half(total: np.ndarray, total_sq: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and 95% Student-t half-width from a sum and a sum of squares over n runs (the
    half-width is 0 with fewer than two runs, where no interval exists)."""
    mean = total / max(n, 1)
    if n < 2:
        return mean, np.zeros_like(mean)
    var = np.maximum(total_sq / n - mean**2, 0) * n / (n - 1)
    return mean, t_multiplier(n) * np.sqrt(var / n)
