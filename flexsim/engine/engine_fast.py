"""The fast engine: many runs advanced together, one day at a time, with numpy.

It follows the SimPy engine's rules and event order exactly (the test suite checks identical
per-run records on generated scenarios). Per day it works out every seat's charge attempt (at
most one per seat and day while nothing is blocked, because a window lasts 24 hours), then, per
run and pool:

- if the balance covers the day's demand, every attempt is charged and the day's tokens are
  drawn from the packs in draw order in one step (same result as charge by charge);
- if the balance is below every attempted rate, every attempt is blocked, also in one step;
- otherwise (a pool running short mid-day, or a top-up that arrives at once) the day is replayed
  event by event with the very same `PoolLedger` and `Seat` classes the SimPy engine uses.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np

from flexsim.engine.behaviour import TIME, Behaviour, batch_grids, draw_behaviour, empty_grids, seat_details
from flexsim.engine.fast_pools import NEVER, PoolBank, level
from flexsim.engine.ledger import DAY
from flexsim.engine.plan import Plan
from flexsim.engine.records import POOL_COUNTERS, RunRecord, counter_index
from flexsim.engine.seat import LAUNCH, RENEWAL, Seat


@dataclass
class DayAttempts:
    """Every seat's charge attempt of one day, for a set of rows (rows x seats)."""

    day: int
    day_end: int
    renew: np.ndarray  # bool: renewal of the current stretch at its window end
    launch: np.ndarray  # bool: launch outside any window
    free_renew: np.ndarray  # bool: launched free inside a window, renewal due later today
    attempt: np.ndarray  # bool: any of the three
    t: np.ndarray  # time of the attempt
    has: np.ndarray | None  # bool: a chargeable launch today (None on days without launches)
    TS: np.ndarray | None  # today's launch, in-use end and chargeable end
    TIU: np.ndarray | None
    TCE: np.ndarray | None

    def launches(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(has, TS, TIU, TCE) of a day with launches."""
        assert self.has is not None and self.TS is not None and self.TIU is not None and self.TCE is not None
        return self.has, self.TS, self.TIU, self.TCE


class SeatBank:
    """Window state of every seat for a set of rows; row i reads grid row `row_grid[i]`."""

    def __init__(self, plan: Plan, grids: dict[str, np.ndarray], row_grid: np.ndarray | None, rows: int):
        self.plan = plan
        self.grids = grids
        self.row_grid = row_grid  # None: row i is grid row i
        S = plan.n_seats
        self.W = np.zeros((rows, S), TIME)  # window end
        self.CE = np.zeros((rows, S), TIME)  # end of the current chargeable stretch
        self.IU = np.zeros((rows, S), TIME)  # end of its use
        self.charges = np.zeros((rows, S), np.int32)
        self.idle = np.zeros((rows, S), np.int32)  # of which renewals while open but idle
        self.count_idle = True  # off when nobody will read `idle` (it costs a pass a day)

    def _grid(self, name: str, wd: int) -> np.ndarray:
        g = self.grids[name]
        return g[:, wd, :] if self.row_grid is None else g[self.row_grid, wd, :]

    def attempts(self, day: int) -> DayAttempts | None:
        """The day's attempts (None when nothing at all is due)."""
        plan = self.plan
        day_end = day * DAY + (DAY if day < plan.days else 1)  # the end instant still counts
        W, CE = self.W, self.CE
        before_end = W < day_end
        renew = (W < CE) & before_end
        wd = plan.workday_index[day] if day < plan.days else -1
        if wd < 0:
            if not renew.any():
                return None
            none = np.zeros_like(renew)
            return DayAttempts(day, day_end, renew, none, none, renew, W, None, None, None, None)
        has = self._grid("chargeable", wd)
        TS, TIU, TCE = (self._grid(n, wd) for n in ("start_grid", "in_use_end_grid", "charge_end_grid"))
        free = has & ~renew
        inside = W > TS  # launched while the window is open
        launch = free & ~inside
        free_renew = free & inside & (W < TCE) & before_end
        return DayAttempts(
            day,
            day_end,
            renew,
            launch,
            free_renew,
            renew | launch | free_renew,
            np.where(launch, TS, W),
            has,
            TS,
            TIU,
            TCE,
        )

    def charge_all(self, cells: np.ndarray, day: DayAttempts) -> None:
        """Every attempt in these cells was charged."""
        if self.count_idle:
            self.idle += cells & self.idle_renewals(day)
        self.W = np.where(cells, day.t + DAY, self.W)
        self.charges += cells

    def idle_renewals(self, day: DayAttempts, rows=slice(None), cols=slice(None)) -> np.ndarray:
        """Which of the day's attempts renew a product that is open but no longer in use."""
        W = self.W[rows, cols]
        renewing = day.renew[rows, cols]
        IU = self.IU[rows, cols]
        if day.has is not None:
            renewing = renewing | day.free_renew[rows, cols]
            TIU = day.launches()[2]
            IU = np.where(self.joined(day, rows, cols), np.maximum(IU, TIU[rows, cols]), IU)
        return renewing & (W >= IU)

    def joined(self, day: DayAttempts, rows=slice(None), cols=slice(None)) -> np.ndarray:
        """Today's launches inside the open window, before it ends: free, and part of the stretch
        that the window's end renews (a long session may still be in use then)."""
        has, TS, _, _ = day.launches()
        return has[rows, cols] & (TS[rows, cols] < self.W[rows, cols])

    def adopt(self, day: DayAttempts, mask: np.ndarray) -> None:
        """Today's launches join the current stretch where `mask` says so: it stays in use (and
        open) until the later of the two ends."""
        _, _, TIU, TCE = day.launches()
        self.CE = np.where(mask, np.maximum(self.CE, TCE), self.CE)
        self.IU = np.where(mask, np.maximum(self.IU, TIU), self.IU)

    def take(self, rows: np.ndarray, grid_rows: np.ndarray) -> SeatBank:
        bank = object.__new__(SeatBank)
        bank.plan, bank.grids, bank.row_grid = self.plan, self.grids, grid_rows
        bank.W, bank.CE, bank.IU = self.W[rows], self.CE[rows], self.IU[rows]
        bank.charges, bank.idle = self.charges[rows], self.idle[rows]
        bank.count_idle = self.count_idle
        return bank

    def extend(self, other: SeatBank) -> None:
        for name in ("W", "CE", "IU", "charges", "idle"):
            setattr(self, name, np.concatenate([getattr(self, name), getattr(other, name)]))
        self.row_grid = np.concatenate([self.row_grid, other.row_grid])


class FastBatch:
    """Rows advanced together: a SeatBank and a PoolBank over the same rows."""

    def __init__(
        self,
        plan: Plan,
        seats: SeatBank,
        pools: PoolBank,
        launches: np.ndarray,
        runs: list[int],
        detail: bool = True,
        track: bool = False,
    ):
        self.plan = plan
        self.detail = detail  # keep per-seat figures in the records
        self.track = track  # record day-by-day balances (reports)
        seats.count_idle = detail
        self.seats = seats
        self.bank = pools
        self.launches = launches  # (rows, pools)
        self.runs = runs  # run of each row id
        self.ids = np.arange(pools.rows)  # row id of each active row
        self.rate = plan.seat_rate
        # Rows whose pools can never charge again are retired (see `_retire`).
        self.retired: PoolBank | None = None
        self.retired_ids = np.zeros(0, np.int64)
        self.retired_charges = np.zeros((0, plan.n_seats), np.int32)
        self.retired_idle = np.zeros((0, plan.n_seats), np.int32)
        self.retired_grid = np.zeros(0, np.int64)
        self.retired_launches = np.zeros((0, plan.n_pools), np.int64)
        self._future: tuple[np.ndarray, np.ndarray] | None = None
        self.min_rate = np.array(
            [self.rate[plan.seat_pool == p].min(initial=NEVER) for p in range(plan.n_pools)]
        )
        self.last_arrival = np.array(
            [
                max([lot.date_day for lot in plan.lots if lot.pool == p], default=-1)
                for p in range(plan.n_pools)
            ]
        )
        self.pool_seats = [np.flatnonzero(plan.seat_pool == p) for p in range(plan.n_pools)]
        self.pool_mask = [plan.seat_pool == p for p in range(plan.n_pools)]
        self.pool_onehot = np.eye(plan.n_pools, dtype=np.int64)[plan.seat_pool]  # (S, pools)

    @property
    def R(self) -> int:
        return self.bank.rows

    def per_pool(self, cells: np.ndarray) -> np.ndarray:
        """Count of true cells per (row, pool)."""
        if self.plan.n_pools == 1:
            return cells.sum(axis=1)[:, None]
        return cells.astype(np.int64) @ self.pool_onehot

    def demand(self, attempt: np.ndarray) -> np.ndarray:
        """Tokens the day's attempts would take, per (row, pool)."""
        if self.plan.n_pools == 1:
            return (attempt @ self.rate)[:, None]
        return (attempt * self.rate) @ self.pool_onehot

    # -- the day loop --------------------------------------------------------------------------
    def run(self) -> list[RunRecord]:
        days = self.plan.days
        tracker = DayTracker(self) if self.track else None
        for day in range(days + 1):
            self.step(day)
            # The last day ends with the run, at 00:00 after it: what happens then counts too.
            if tracker is not None and day != days - 1:
                tracker.note(min(day, days - 1))
        records = self.records()
        if tracker is not None:
            tracker.attach(records)
        return records

    def step(self, day: int) -> None:
        self.midnight(day)
        self.day_charges(day)

    def midnight(self, day: int) -> None:
        self.bank.midnight(day)
        if self.retired is not None:
            self.retired.midnight(day)

    def day_charges(self, day: int) -> None:
        if self.R:
            today = self.seats.attempts(day)
            if today is not None:
                self.charges(day, today)
                self._retire(day, today.day_end)

    # -- retiring rows that can never charge again -----------------------------------------------
    def _retire(self, day: int, day_end: int) -> None:
        """Set aside rows whose every pool is empty for good.

        A pool is empty for good when its balance is below every rate of its people and nothing
        can arrive any more (no pack to come, no order outstanding, no order left to place).
        Once, in addition, no seat of the row has a window or session reaching past today, each
        remaining launch of the horizon is simply a blocked launch on its own day: those are
        counted from the behaviour grids at once, and the row only keeps its pool ledger (for
        expiries) instead of being advanced seat by seat.
        """
        dead = np.ones(self.R, bool)
        for p, st in enumerate(self.bank.pools):
            policy = self.plan.topups[p]
            if self.last_arrival[p] > day or (policy is not None and policy.max_orders is None):
                return  # something may still arrive in this pool
            dead &= (st.balance < self.min_rate[p]) & (st.outstanding < 0)
            if policy is not None:
                dead &= st.orders >= policy.max_orders
        if not dead.any():
            return
        rows = np.flatnonzero(dead)
        sb = self.seats
        settled = ((sb.W[rows] >= sb.CE[rows]) & (sb.W[rows] <= day_end)).all(axis=1)
        rows = rows[settled]
        if len(rows) == 0:
            return
        counts, first = self._future_launches()
        grid = rows if sb.row_grid is None else sb.row_grid[rows]
        nxt = int(np.searchsorted(self.plan.workdays, day, side="right"))
        for p, st in enumerate(self.bank.pools):
            n = counts[grid, nxt, p]
            st.blocked_launches[rows] += n
            st.blocked_days[rows] += n
            start = (st.run_out_day[rows] < 0) & (n > 0)
            st.run_out_day[rows[start]] = self.plan.workdays[first[grid[start], nxt, p]]
        gone = self.bank.take(rows)
        if self.retired is None:
            self.retired = gone
        else:
            self.retired.extend(gone)
        self.retired_ids = np.concatenate([self.retired_ids, self.ids[rows]])
        self.retired_charges = np.concatenate([self.retired_charges, sb.charges[rows]])
        self.retired_idle = np.concatenate([self.retired_idle, sb.idle[rows]])
        self.retired_grid = np.concatenate([self.retired_grid, grid])
        self.retired_launches = np.concatenate([self.retired_launches, self.launches[rows]])
        keep = np.ones(self.R, bool)
        keep[rows] = False
        keep = np.flatnonzero(keep)
        self.seats = sb.take(keep, keep if sb.row_grid is None else sb.row_grid[keep])
        self.bank = self.bank.take(keep)
        self.launches, self.ids = self.launches[keep], self.ids[keep]

    def _future_launches(self) -> tuple[np.ndarray, np.ndarray]:
        """Per grid row, workday w and pool: chargeable launches from w on, and the first
        workday from w on that has one."""
        if self._future is None:
            grid = self.seats.grids["chargeable"]
            G, NW, _ = grid.shape
            per_day = np.stack(
                [grid[:, :, self.pool_mask[p]].sum(axis=2) for p in range(self.plan.n_pools)], axis=2
            )  # (G, NW, P)
            counts = np.zeros((G, NW + 1, self.plan.n_pools), np.int64)
            counts[:, :NW] = np.cumsum(per_day[:, ::-1], axis=1)[:, ::-1]
            wd = np.where(per_day > 0, np.arange(NW)[None, :, None], NW)
            first = np.full((G, NW + 1, self.plan.n_pools), NW, np.int64)
            first[:, :NW] = np.minimum.accumulate(wd[:, ::-1], axis=1)[:, ::-1]
            self._future = (counts, first)
        return self._future

    def charges(self, day: int, today: DayAttempts) -> None:
        """Settle the day's attempts: per (row, pool) all charged, all blocked, or replayed."""
        rate = self.rate
        attempt = today.attempt
        demand = self.demand(attempt)
        blocked_cells: np.ndarray | None = None
        hard: list[tuple[int, int]] = []
        easy_rows: list[np.ndarray] = []
        short: list[int] = []  # pools with a row whose day is not charged in one step
        for p in range(self.plan.n_pools):
            d = demand[:, p]
            active = d > 0
            easy = active & self.bank.covers(p, d) if active.any() else active
            rest = active & ~easy
            if rest.any():
                short.append(p)
                min_rate = np.where(attempt & self.pool_mask[p], rate, NEVER).min(axis=1)
                blocked = rest & (self.bank.pools[p].balance < min_rate)
                hard.extend((int(r), p) for r in np.flatnonzero(rest & ~blocked))
                if blocked.any():
                    cells_p = blocked[:, None] & self.pool_mask[p]
                    blocked_cells = cells_p if blocked_cells is None else blocked_cells | cells_p
            easy_rows.append(easy)
        # Today's launches join the stretch they fall in, except those lost or replayed below.
        adopt = today.has if today.has is None or not short else today.has.copy()
        if any(e.any() for e in easy_rows):
            if short:  # only the rows and pools charged in one step
                cells = np.zeros_like(attempt)
                for p, easy in enumerate(easy_rows):
                    cells |= easy[:, None] & self.pool_mask[p]
                cells &= attempt
            else:  # every attempt (rows without one have no cells to charge)
                cells = attempt
            self.seats.charge_all(cells, today)
            count = self.per_pool(cells)
            for p, easy in enumerate(easy_rows):
                rows = np.flatnonzero(easy)
                if len(rows):
                    self.bank.charge(p, rows, demand[rows, p], count[rows, p], day)
        if blocked_cells is not None:
            # Seats without an attempt today are untouched by a blocked day: leave them out.
            r, c = np.nonzero(blocked_cells & attempt)
            self._block_all(r, c, today, adopt, day)
        for row, p in hard:
            self._replay(p, row, today, adopt)
        if adopt is not None:
            self.seats.adopt(today, adopt)

    def _block_all(self, r: np.ndarray, c: np.ndarray, today: DayAttempts, adopt, day: int) -> None:
        """The balance is below every attempted rate: every attempt of cells (r[i], c[i]) is
        blocked (and a launch right after a lost renewal too)."""
        sb = self.seats
        W, IU, CE = sb.W[r, c], sb.IU[r, c], sb.CE[r, c]
        renewing = today.renew[r, c]
        if today.has is not None:
            has, TS, TIU, _ = today.launches()
            launched, ts = has[r, c], TS[r, c]
            # Launched free inside the window before its end: part of the stretch that ends.
            joined = launched & (ts < W)
            IU = np.where(joined, np.maximum(IU, TIU[r, c]), IU)
            # Launched outside any window (maybe right after a lost renewal): lost for the day.
            lost_launch = launched & (today.launch[r, c] | (renewing & (ts >= W)))
            renewing = renewing | today.free_renew[r, c]
            adopt[r, c] = False  # every launch among these cells is lost or has joined
        else:
            lost_launch = np.zeros_like(renewing)
        counted_ren = renewing & (W < IU)
        sb.CE[r, c] = np.where(renewing, W, CE)
        sb.IU[r, c] = np.where(renewing, np.minimum(IU, W), IU)
        pool = self.plan.seat_pool[c]
        for p, st in enumerate(self.bank.pools):
            mine = pool == p
            launches = np.bincount(r[mine & lost_launch], minlength=self.R)
            st.blocked_launches += launches
            st.blocked_renewals += np.bincount(r[mine & counted_ren], minlength=self.R)
            st.blocked_days += np.bincount(r[mine & (counted_ren | lost_launch)], minlength=self.R)
            first = (launches > 0) & (st.run_out_day < 0)
            st.run_out_day[first] = day

    def _replay(self, p: int, row: int, today: DayAttempts, adopt) -> None:
        """One row's day for one pool when the pool runs short during it.

        The attempts are taken in time order. Those before the first one the balance can't
        cover (or, with a lead-0 top-up rule, before the charge that sets off a top-up) are all
        charged in one step; from there on the day is replayed event by event with the same
        `PoolLedger` and `Seat` classes as the SimPy engine.
        """
        sb, bank = self.seats, self.bank
        seats = self.pool_seats[p]
        att = today.attempt[row, seats]
        who = seats[att]
        when = today.t[row, seats][att]
        order = np.lexsort((who, when))
        who, when = who[order], when[order]
        cum = np.cumsum(self.rate[who])
        st = bank.pools[p]
        covered = int(np.searchsorted(cum, st.balance[row], side="right"))
        policy = self.plan.topups[p]
        if policy is not None and policy.lead_days == 0:
            below = np.flatnonzero(st.balance[row] - cum < level(policy.below, st.bought[row]))
            if len(below):
                covered = min(covered, int(below[0]))
        if covered:
            first = who[:covered]
            sb.idle[row, first] += self.seats.idle_renewals(today, row, first)
            sb.W[row, first] = when[:covered] + DAY
            sb.charges[row, first] += 1
            rows = np.array([row])
            bank.charge(p, rows, cum[covered - 1 : covered], np.array([covered]), today.day)
        if covered == len(who):
            return
        self._replay_events(p, row, today, adopt, who[covered:], when[covered:])

    def _replay_events(
        self, p: int, row: int, today: DayAttempts, adopt, rest: np.ndarray, times: np.ndarray
    ) -> None:
        """Replay the attempts of these seats (first attempts at `times`, in order) one by one.

        Seats get a `Seat` object when their first attempt comes up; a blocked one may attempt
        again later the same day (a launch after a lost renewal), through a small heap. Once the
        balance is below every rate still to come, the untouched seats are blocked in one step.
        """
        ledger, packs = self.bank.ledger(p, row)
        st = self.bank.pools[p]
        sb = self.seats
        has = today.has
        rate = self.rate
        rates = rate[rest]
        min_after = np.minimum.accumulate(rates[::-1])[::-1]  # least rate from i on
        heap: list[tuple[int, int, Seat]] = []  # second attempts
        seat_objs: list[tuple[int, Seat]] = []
        blocked_seats: set[int] = set()

        def lost(s: int, seat: Seat, t: int) -> None:
            """The attempt of seat s at t is blocked: count it (if the product was in use)."""
            if seat.in_use_at(t):
                if seat.pending == LAUNCH:
                    st.blocked_launches[row] += 1
                    if st.run_out_day[row] < 0:
                        st.run_out_day[row] = t // DAY
                else:
                    st.blocked_renewals[row] += 1
                blocked_seats.add(s)
            seat.blocked(t)

        i, n = 0, len(rest)
        rest_list, times_list = rest.tolist(), times.tolist()
        while i < n or heap:
            if i < n and (not heap or (times_list[i], rest_list[i]) < heap[0][:2]):
                least = min(int(min_after[i]), min((int(rate[x[1]]) for x in heap), default=NEVER))
                if ledger.balance < least:
                    break  # nothing more can be charged today: block the rest in one step
                s = rest_list[i]
                launched = has is not None and has[row, s]
                sessions = []
                if launched:
                    _, TS, TIU, TCE = today.launches()
                    sessions.append((int(TS[row, s]), int(TIU[row, s]), int(TCE[row, s])))
                seat = Seat(sessions, int(sb.W[row, s]), int(sb.CE[row, s]), int(sb.IU[row, s]))
                seat_objs.append((s, seat))
                first = seat.next_attempt()
                assert first is not None  # the seat has an attempt today: that is why it is here
                t = first
                i += 1
            else:
                t, s, seat = heapq.heappop(heap)
            if ledger.charge(int(rate[s]), t):
                if seat.pending == RENEWAL and t >= seat.in_use_end:
                    sb.idle[row, s] += 1
                seat.charged(t)
                sb.charges[row, s] += 1
            else:
                lost(s, seat, t)
            again = seat.next_attempt()
            if again is not None and again < today.day_end:
                heapq.heappush(heap, (again, s, seat))
        # The balance is below every remaining rate: the rest is blocked (second attempts too).
        for due, s, seat in heap:
            attempt_at: int | None = due
            while attempt_at is not None and attempt_at < today.day_end:
                lost(s, seat, attempt_at)
                attempt_at = seat.next_attempt()
        st.blocked_days[row] += len(blocked_seats)
        for s, seat in seat_objs:
            sb.W[row, s], sb.CE[row, s], sb.IU[row, s] = seat.window_end, seat.charge_end, seat.in_use_end
            if adopt is not None:
                adopt[row, s] = False
        self.bank.store(p, row, ledger, packs)
        if i < n:
            self._block_all(np.full(n - i, row), rest[i:], today, adopt, today.day)

    # -- results -------------------------------------------------------------------------------
    def records(self) -> list[RunRecord]:
        """Records in row-id order (the order of `runs`)."""
        return [self.record(i) for i in range(len(self.runs))]

    def record(self, row_id: int) -> RunRecord:
        """The record of a row id, active or retired."""
        run = self.runs[row_id]
        where = np.flatnonzero(self.ids == row_id)
        sb = self.seats
        if len(where):
            i = int(where[0])
            grid = i if sb.row_grid is None else int(sb.row_grid[i])
            return make_record(
                self.plan, self.bank, i, run, self.launches[i], sb.charges[i], sb.idle[i], self._details(grid)
            )
        i = int(np.flatnonzero(self.retired_ids == row_id)[0])
        assert self.retired is not None  # the row is not active, so it was retired
        return make_record(
            self.plan,
            self.retired,
            i,
            run,
            self.retired_launches[i],
            self.retired_charges[i],
            self.retired_idle[i],
            self._details(self.retired_grid[i]),
        )

    def seat_charges_by_id(self) -> np.ndarray:
        """Charges per seat of every row id, active or retired."""
        out = np.zeros((len(self.runs), self.plan.n_seats), np.int64)
        out[self.ids] = self.seats.charges
        out[self.retired_ids] = self.retired_charges
        return out

    def _details(self, grid: int) -> dict | None:
        """Per-seat figures of a grid row, when this batch keeps them."""
        if not self.detail:
            return None
        g = self.seats.grids
        return seat_details(self.plan, g["launched"][grid], g["chargeable"][grid])


class DayTracker:
    """End-of-day balances, tokens consumed per day and tokens per product and month, by row id.

    The same figures the SimPy engine notes just before the events of each midnight.
    """

    def __init__(self, batch: FastBatch):
        plan = batch.plan
        self.batch = batch
        n, P, D = len(batch.runs), plan.n_pools, plan.days
        self.balance = np.zeros((n, P, D), np.int64)
        self.consumed = np.zeros((n, P, D), np.int64)  # cumulative until `attach`
        self.topups = np.zeros((n, P, D), np.int32)  # top-ups received, cumulative until `attach`
        months = plan.day_month
        self.month_end = np.append(months[1:] != months[:-1], True)  # last day of each month
        self.product_tokens = np.zeros((n, len(plan.month_labels), len(plan.products)), np.int64)
        self.product_onehot = (
            np.eye(len(plan.products), dtype=np.int64)[plan.seat_product_index] * plan.seat_rate[:, None]
        )  # (seats, products): tokens per charge

    def note(self, day: int) -> None:
        b = self.batch
        parts = [(b.ids, b.bank, b.seats.charges)]
        if b.retired is not None:
            parts.append((b.retired_ids, b.retired, b.retired_charges))
        month = int(b.plan.day_month[day])
        for ids, bank, charges in parts:
            for p, st in enumerate(bank.pools):
                self.balance[ids, p, day] = st.balance
                self.consumed[ids, p, day] = st.consumed_total
                self.topups[ids, p, day] = st.topups
            if self.month_end[day]:
                self.product_tokens[ids, month] = charges.astype(np.int64) @ self.product_onehot

    def attach(self, records: list[RunRecord]) -> None:
        """Give each record its figures (per day and per month, not cumulative)."""
        daily = np.diff(self.consumed, axis=2, prepend=0)
        arrived = np.diff(self.topups, axis=2, prepend=0)
        monthly = np.diff(self.product_tokens, axis=1, prepend=0)
        charges = self.batch.seat_charges_by_id()
        for i, record in enumerate(records):
            record.daily_balance = self.balance[i]
            record.daily_consumed = daily[i]
            record.daily_topups = arrived[i]
            record.month_product_tokens = monthly[i]
            if record.seat_tokens is None:
                record.seat_tokens = charges[i].astype(np.int64) * self.batch.plan.seat_rate


def make_record(
    plan: Plan,
    bank: PoolBank,
    i: int,
    run: int,
    launches: np.ndarray,
    seat_charges: np.ndarray,
    seat_idle: np.ndarray,
    details: dict | None,
) -> RunRecord:
    """The RunRecord of row i of a pool bank (with that run's launches, seat charges, idle
    renewals and, if kept, per-seat details)."""
    counters = np.zeros((plan.n_pools, len(POOL_COUNTERS)), np.int64)
    spend = np.zeros(plan.n_pools)
    lot_consumed = np.zeros(len(plan.lots), np.int64)
    lot_expired = np.zeros(len(plan.lots), np.int64)
    for p, st in enumerate(bank.pools):
        row = {
            "tokens_purchased": st.bought[i],
            "tokens_consumed": st.consumed_total[i],
            "tokens_expired": st.expired_total[i],
            "tokens_remaining": st.balance[i],
            "launches": launches[p],
            "charges": st.charges[i],
            "blocked_launches": st.blocked_launches[i],
            "blocked_renewals": st.blocked_renewals[i],
            "blocked_days": st.blocked_days[i],
            "run_out_day": st.run_out_day[i],
            "alert_day": st.alert_day[i],
            "topups": st.topups[i],
        }
        for name, value in row.items():
            counters[p, counter_index(name)] = value
        spend[p] = st.spend[i]
        for k, slot in enumerate(bank.pool_lots[p]):
            lot_consumed[slot] = st.consumed[i, k]
            lot_expired[slot] = st.expired[i, k]
        assert st.bought[i] == st.consumed_total[i] + st.expired_total[i] + st.balance[i]
    record = RunRecord(run, counters, spend, lot_consumed, lot_expired)
    if details is not None:
        record.seat_tokens = seat_charges.astype(np.int64) * plan.seat_rate
        record.seat_idle_tokens = seat_idle.astype(np.int64) * plan.seat_rate
        for name, value in details.items():
            setattr(record, name, value)
    return record


def draw_grids(plan: Plan, seed: int, runs: list[int]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Behaviour grids of these runs (one grid row each, in this thread's reused buffers: see
    `batch_grids`) and their launches per pool."""
    grids = batch_grids(plan, len(runs))
    launches = (
        np.stack([draw_behaviour(plan, seed, run, grids, row).launches for row, run in enumerate(runs)])
        if runs
        else np.zeros((0, plan.n_pools))
    )
    return grids, launches


def simulate_batch(
    plan: Plan, behaviours: list[Behaviour], runs: list[int], track: bool = False
) -> list[RunRecord]:
    """Simulate runs whose behaviour is already drawn; record i belongs to runs[i]."""
    grids = {name: np.stack([getattr(b, name) for b in behaviours]) for name in empty_grids(plan, 0)}
    launches = np.stack([b.launches for b in behaviours])
    R = len(runs)
    return FastBatch(
        plan, SeatBank(plan, grids, None, R), PoolBank.for_plan(plan, R), launches, list(runs), track=track
    ).run()


def simulate_fast(
    plan: Plan, seed: int, runs: list[int], detail: bool = True, track: bool = False
) -> list[RunRecord]:
    """Draw and simulate these runs together (the behaviour goes straight into the batch grids)."""
    grids, launches = draw_grids(plan, seed, runs)
    R = len(runs)
    return FastBatch(
        plan, SeatBank(plan, grids, None, R), PoolBank.for_plan(plan, R), launches, list(runs), detail, track
    ).run()
