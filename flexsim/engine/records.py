"""Flat per-run results: what one simulated year produced, per pool and per pack."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import overload

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


class RunTable:
    """The records of many runs as a few arrays, one row per run, in run order.

    A list of `RunRecord`s costs about a kilobyte a run in Python objects; this holds the same
    numbers in about 130 bytes a run (a pool and a pack), so a run's record is folded in as soon
    as it arrives and the runs count barely moves the memory. Iterating or indexing gives
    `RunRecord`s whose arrays are views of the table's rows. Per-seat figures are kept only when
    the records carry them (`keep_seats`).
    """

    def __init__(self, n_pools: int, n_lots: int, capacity: int, keep_seats: bool = False):
        self.keep_seats = keep_seats
        self.counters = np.zeros((capacity, n_pools, len(POOL_COUNTERS)), np.int64)
        self.spend = np.zeros((capacity, n_pools), np.float64)
        self.lot_consumed = np.zeros((capacity, n_lots), np.int64)
        self.lot_expired = np.zeros((capacity, n_lots), np.int64)
        self.seats: dict[str, np.ndarray] = {}  # DETAILS name -> (capacity, ...) when kept
        self.filled = np.zeros(capacity, bool)
        self.n = capacity
        self.first = 0  # run number of row 0 (a slice of a table starts later)

    def put(self, record: RunRecord) -> None:
        """Store the record of run `record.run` (in row run - first)."""
        i = record.run - self.first
        self.counters[i] = record.counters
        self.spend[i] = record.spend
        self.lot_consumed[i] = record.lot_consumed
        self.lot_expired[i] = record.lot_expired
        for name in DETAILS if self.keep_seats else ():
            value = getattr(record, name)
            if value is not None:
                if name not in self.seats:
                    self.seats[name] = np.zeros((len(self.filled), *np.shape(value)), np.int64)
                self.seats[name][i] = value
        self.filled[i] = True

    def head(self, n: int) -> RunTable:
        """The first n runs (views of this table's rows)."""
        return self._rows(slice(0, n))

    def _rows(self, rows: slice) -> RunTable:
        table = object.__new__(RunTable)
        table.keep_seats = self.keep_seats
        table.counters, table.spend = self.counters[: self.n][rows], self.spend[: self.n][rows]
        table.lot_consumed = self.lot_consumed[: self.n][rows]
        table.lot_expired = self.lot_expired[: self.n][rows]
        table.seats = {name: values[: self.n][rows] for name, values in self.seats.items()}
        table.filled = self.filled[: self.n][rows]
        table.n = len(table.filled)
        table.first = self.first + rows.indices(self.n)[0]
        return table

    def column(self, name: str, pool: int) -> np.ndarray:
        """One counter (or `spend`) of one pool over the runs."""
        if name == "spend":
            return self.spend[: self.n, pool]
        return self.counters[: self.n, pool, POOL_COUNTERS.index(name)]

    def __len__(self) -> int:
        return self.n

    @overload
    def __getitem__(self, i: int) -> RunRecord: ...
    @overload
    def __getitem__(self, i: slice) -> RunTable: ...
    def __getitem__(self, i: int | slice) -> RunRecord | RunTable:
        if isinstance(i, slice):
            if i.step not in (None, 1):
                raise ValueError("a RunTable is sliced in steps of 1")
            return self._rows(i)
        if not -self.n <= i < self.n:
            raise IndexError(i)
        i %= self.n
        run = self.first + i
        record = RunRecord(run, self.counters[i], self.spend[i], self.lot_consumed[i], self.lot_expired[i])
        for name, values in self.seats.items():
            setattr(record, name, values[i])
        return record

    def __iter__(self) -> Iterator[RunRecord]:
        return (self[i] for i in range(self.n))
