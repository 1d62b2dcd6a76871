"""Flat per-run results: what one simulated year produced, per pool and per pack."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Integer counters kept per pool, in this order (also the CSV columns after run and pool).
POOL_COUNTERS = (
    "tokens_purchased",
    "tokens_consumed",
    "tokens_expired",
    "tokens_remaining",
    "launches",
    "charges",
    "blocked_launches",
    "blocked_renewals",
    "blocked_days",
    "run_out_day",
    "alert_day",
    "topups",
)


DETAILS = ("seat_tokens", "seat_idle_tokens", "seat_days", "seat_month_days", "person_extra_tokens")

# Day-by-day figures, kept when a report is asked for (folded into running totals as soon as
# a run arrives, so they never pile up over thousands of runs).
TRACKS = ("daily_balance", "daily_consumed", "daily_topups", "month_product_tokens")


@dataclass
class RunRecord:
    """Results of one run. `pool[name][i]` is the counter of pool i; days are -1 when never."""

    run: int
    counters: np.ndarray  # int64, shape (n_pools, len(POOL_COUNTERS))
    spend: np.ndarray  # float64, shape (n_pools,)
    lot_consumed: np.ndarray  # int64, shape (n_lots,)
    lot_expired: np.ndarray  # int64, shape (n_lots,)
    # Per seat (person x product), kept when asked for (advice, breakdowns):
    seat_tokens: np.ndarray | None = field(default=None, repr=False)  # tokens charged
    seat_idle_tokens: np.ndarray | None = field(default=None, repr=False)  # renewals while idle
    seat_days: np.ndarray | None = field(default=None, repr=False)  # days with a launch
    seat_month_days: np.ndarray | None = field(default=None, repr=False)  # (12, seats)
    person_extra_tokens: np.ndarray | None = field(default=None, repr=False)  # per person
    # Tracked when asked for (reports):
    daily_balance: np.ndarray | None = field(default=None, repr=False)  # (pools, days) end of day
    daily_consumed: np.ndarray | None = field(default=None, repr=False)  # (pools, days)
    daily_topups: np.ndarray | None = field(default=None, repr=False)  # (pools, days) received
    month_product_tokens: np.ndarray | None = field(default=None, repr=False)  # (months, products)

    def get(self, name: str, pool: int = 0) -> int:
        return int(self.counters[pool, POOL_COUNTERS.index(name)])

    def same_as(self, other: RunRecord) -> bool:
        """Identical results (what the two engines must agree on)."""
        same = (
            self.run == other.run
            and np.array_equal(self.counters, other.counters)
            and np.allclose(self.spend, other.spend, rtol=0, atol=1e-6)
            and np.array_equal(self.lot_consumed, other.lot_consumed)
            and np.array_equal(self.lot_expired, other.lot_expired)
        )
        for name in DETAILS + TRACKS:
            mine, theirs = getattr(self, name), getattr(other, name)
            if same and mine is not None and theirs is not None:
                same = np.array_equal(mine, theirs)
        return same

    def drop_seats(self) -> None:
        """Forget the per-seat arrays (memory stays flat over many runs)."""
        for name in DETAILS:
            setattr(self, name, None)


def counter_index(name: str) -> int:
    return POOL_COUNTERS.index(name)
