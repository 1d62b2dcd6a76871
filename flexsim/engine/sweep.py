"""Many sizes of one pack on common random numbers, without simulating people once per size.

Every size sees the same runs (the same launches). Until a size's pool first comes up short in a
run, that (size, run) charges exactly what an endless pool would: its seats' windows are the
same. So one *leader* per run advances the seats as if the pool never ran short, and each
(size, run) *follows* it with only its pack ledger (a few numbers). On the day a follower can't
be charged in one step (the pool runs short, or a lead-0 top-up would land mid-day) it takes a
copy of its leader's seats and continues as an ordinary row of the fast engine. Large sizes that
never run short cost almost nothing; the results are identical to simulating each size alone.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from flexsim.engine.engine_fast import FastBatch, SeatBank, draw_grids, make_record
from flexsim.engine.fast_pools import PoolBank
from flexsim.engine.plan import Plan
from flexsim.engine.records import RunRecord


class SizeSweep:
    """Runs `runs` of `plan` for every (tokens, price) of lot `slot`."""

    def __init__(
        self,
        plan: Plan,
        seed: int,
        runs: Sequence[int],
        slot: int,
        sizes: Sequence[int],
        prices: Sequence[float],
        detail: bool = False,
    ):
        self.plan = plan
        self.runs = list(runs)
        self.sizes = list(sizes)
        R, n = len(self.runs), len(self.sizes)
        grids, self.launches = draw_grids(plan, seed, self.runs)
        self.leader = SeatBank(plan, grids, None, R)
        self.leader.count_idle = detail
        base = PoolBank.for_plan(plan, n * R)
        base.lot_tokens[:, slot] = np.repeat(np.asarray(sizes, np.int64), R)
        base.lot_price[:, slot] = np.repeat(np.asarray(prices, np.float64), R)
        self.followers = PoolBank(plan, base.lot_tokens, base.lot_price)
        self.run_of = np.tile(np.arange(R), n)  # follower row -> leader (grid) row
        self.following = np.ones(n * R, bool)
        self.moved: list[np.ndarray] = []  # follower rows, in the order they joined `self.free`
        empty = np.zeros(0, np.int64)
        self.free = FastBatch(
            plan,
            SeatBank(plan, grids, empty, 0),
            self.followers.take(empty),
            np.zeros((0, plan.n_pools), np.int64),
            [],
            detail=detail,
        )

    def run(self) -> list[list[RunRecord]]:
        """Records per size (in the order of `sizes`), each in run order."""
        for day in range(self.plan.days + 1):
            self._step(day)
        return self._records()

    def _step(self, day: int) -> None:
        free, leader = self.free, self.leader
        self.followers.midnight(day)
        free.midnight(day)
        today = leader.attempts(day)
        if today is not None:
            demand = free.demand(today.attempt)  # per (run, pool), as if nothing were short
            count = free.per_pool(today.attempt)
            rows = np.flatnonzero(self.following)
            run = self.run_of[rows]
            short = np.zeros(len(rows), bool)
            easy_by_pool = []
            for p in range(self.plan.n_pools):
                d = demand[run, p]
                easy = self.followers.covers(p, d, rows) & (d > 0)
                short |= (d > 0) & ~easy
                easy_by_pool.append(easy)
            if short.any():
                self._break_away(rows[short])
            for p, easy in enumerate(easy_by_pool):
                keep = easy & ~short
                if keep.any():
                    r = rows[keep]
                    self.followers.charge(p, r, demand[run[keep], p], count[run[keep], p], day)
        free.day_charges(day)
        if today is not None:
            leader.charge_all(today.attempt, today)
            if today.has is not None:
                leader.adopt(today, today.has)

    def _break_away(self, rows: np.ndarray) -> None:
        """These followers continue on their own, from their leader's seats as they are now."""
        runs = self.run_of[rows]
        free = self.free
        free.ids = np.concatenate([free.ids, np.arange(len(free.runs), len(free.runs) + len(rows))])
        free.runs.extend(self.runs[r] for r in runs)
        free.seats.extend(self.leader.take(runs, runs))
        free.bank.extend(self.followers.take(rows))
        free.launches = np.concatenate([free.launches, self.launches[runs]])
        self.following[rows] = False
        self.moved.append(rows)

    def _records(self) -> list[list[RunRecord]]:
        R = len(self.runs)
        where = np.full(len(self.following), -1)
        if self.moved:
            moved = np.concatenate(self.moved)
            where[moved] = np.arange(len(moved))
        out: list[list[RunRecord]] = []
        for i in range(len(self.sizes)):
            records = []
            for r, run in enumerate(self.runs):
                row = i * R + r
                j = where[row]
                if j < 0:
                    records.append(
                        make_record(
                            self.plan,
                            self.followers,
                            row,
                            run,
                            self.launches[r],
                            self.leader.charges[r],
                            self.leader.idle[r],
                            self.free._details(r),
                        )
                    )
                else:
                    records.append(self.free.record(int(j)))
            out.append(records)
        return out
