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

from flexsim.behaviour import TIME, Behaviour, draw_behaviour, empty_grids
from flexsim.ledger import DAY, Pack, PoolLedger
from flexsim.model import Threshold
from flexsim.plan import Plan
from flexsim.records import POOL_COUNTERS, RunRecord, counter_index
from flexsim.usage import LAUNCH, Seat

NEVER = np.iinfo(np.int64).max // 4


def level(threshold: Threshold, bought: np.ndarray) -> np.ndarray:
    """Vector form of Threshold.level (exact integer ceiling)."""
    if threshold.tokens is not None:
        return np.full_like(bought, threshold.tokens)
    frac = threshold.percent
    num, den = frac.numerator, frac.denominator * 100
    return -((-num * bought) // den)


@dataclass
class _PoolState:
    """Packs and counters of one pool across the runs of a batch (rows are runs)."""

    lot_slots: list[int]  # global lot slot of each lot column
    rem: np.ndarray  # (R, K) tokens remaining per pack column
    consumed: np.ndarray
    expired: np.ndarray
    tokens: np.ndarray  # (R, K) pack size (for the draw order)
    date_day: np.ndarray
    exp_day: np.ndarray  # NEVER for columns not arrived yet
    order: np.ndarray  # (R, K) columns in draw order
    bought: np.ndarray  # (R,)
    consumed_total: np.ndarray
    expired_total: np.ndarray
    balance: np.ndarray
    spend: np.ndarray
    charges: np.ndarray
    alert_day: np.ndarray
    outstanding: np.ndarray  # arrival day of the top-up on order, -1 none
    orders: np.ndarray
    topups: np.ndarray  # top-ups received
    blocked_launches: np.ndarray
    blocked_renewals: np.ndarray
    blocked_days: np.ndarray
    run_out_day: np.ndarray

    @property
    def n_lots(self) -> int:
        return len(self.lot_slots)

    def slot_id(self, column: int, first_topup_slot: int) -> int:
        if column < self.n_lots:
            return self.lot_slots[column]
        return first_topup_slot + column - self.n_lots

    def grow(self, extra: int) -> None:
        """Add top-up columns."""
        R = self.rem.shape[0]
        for name in ("rem", "consumed", "expired", "tokens", "date_day"):
            setattr(self, name, np.hstack([getattr(self, name), np.zeros((R, extra), np.int64)]))
        self.exp_day = np.hstack([self.exp_day, np.full((R, extra), NEVER, np.int64)])
        K = self.rem.shape[1]
        self.order = np.hstack([self.order, np.tile(np.arange(K - extra, K), (R, 1))])

    def resort(self, rows: np.ndarray) -> None:
        """Recompute the draw order of these runs (after an arrival)."""
        if len(rows) == 0:
            return
        K = self.rem.shape[1]
        slot_key = np.broadcast_to(np.arange(K), (len(rows), K))
        self.order[rows] = np.lexsort(
            (slot_key, self.date_day[rows], self.tokens[rows], self.exp_day[rows]), axis=-1)


class FastBatch:
    """One batch of runs of one plan: behaviour grids shaped (runs, workdays, seats)."""

    def __init__(self, plan: Plan, grids: dict[str, np.ndarray], launches: np.ndarray,
                 runs: list[int]):
        self.plan = plan
        self.runs = runs
        self.R = R = len(runs)
        S = plan.n_seats
        self.grids = grids
        self.launches = launches  # (R, pools)
        # Seat state, in the grids' 32-bit time unit.
        self.W = np.zeros((R, S), TIME)  # window end
        self.CE = np.zeros((R, S), TIME)  # end of the current chargeable stretch
        self.IU = np.zeros((R, S), TIME)  # end of its use
        self.seat_charges = np.zeros((R, S), np.int32)
        self.rate = plan.seat_rate
        self.pool_seats = [np.flatnonzero(plan.seat_pool == p) for p in range(plan.n_pools)]
        self.pool_mask = [plan.seat_pool == p for p in range(plan.n_pools)]
        self.pool_onehot = np.eye(plan.n_pools, dtype=np.int64)[plan.seat_pool]  # (S, pools)
        self.pools = [self._new_pool(p) for p in range(plan.n_pools)]

    # -- set-up ------------------------------------------------------------------------------
    def _new_pool(self, p: int) -> _PoolState:
        plan, R = self.plan, self.R
        lots = [lot for lot in plan.lots if lot.pool == p]
        policy = plan.topups[p]
        K = len(lots) + (0 if policy is None else (policy.max_orders or 4))
        zeros = lambda: np.zeros((R, K), np.int64)  # noqa: E731
        state = _PoolState(
            [lot.slot for lot in lots], zeros(), zeros(), zeros(), zeros(), zeros(),
            np.full((R, K), NEVER, np.int64), np.tile(np.arange(K), (R, 1)),
            *[np.zeros(R, np.int64) for _ in range(4)], np.zeros(R, np.float64),
            np.zeros(R, np.int64), np.full(R, -1, np.int64), np.full(R, -1, np.int64),
            *[np.zeros(R, np.int64) for _ in range(5)], np.full(R, -1, np.int64))
        for k, lot in enumerate(lots):
            state.tokens[:, k] = lot.tokens
            state.date_day[:, k] = lot.date_day
            if lot.held:  # in the pool from the outset: no checks (see PoolLedger.hold)
                state.rem[:, k] = lot.tokens
                state.exp_day[:, k] = lot.expires_day
                state.bought += lot.tokens
                state.balance += lot.tokens
        state.resort(np.arange(R))
        return state

    def per_pool(self, cells: np.ndarray) -> np.ndarray:
        """Count of true cells per (run, pool)."""
        if self.plan.n_pools == 1:
            return cells.sum(axis=1)[:, None]
        return cells.astype(np.int64) @ self.pool_onehot

    # -- ledger steps shared by several phases -----------------------------------------------
    def _arrive_column(self, p: int, st: _PoolState, rows: np.ndarray, k, exp_day: int | np.ndarray,
                       tokens: int, price: float, day: int) -> None:
        """Pack column k (scalar or per row) arrives in these runs; then alert and reorder."""
        st.rem[rows, k] = tokens
        st.exp_day[rows, k] = exp_day
        st.bought[rows] += tokens
        st.balance[rows] += tokens
        st.spend[rows] += price * tokens
        self._alert(p, st, rows, day)
        self._reorder(p, st, rows, day)

    def _alert(self, p: int, st: _PoolState, rows: np.ndarray, day: int) -> None:
        if len(rows) == 0:
            return
        fire = (st.alert_day[rows] < 0) & (st.balance[rows] < level(self.plan.alert[p], st.bought[rows]))
        st.alert_day[rows[fire]] = day

    def _reorder(self, p: int, st: _PoolState, rows: np.ndarray, day: int) -> None:
        policy = self.plan.topups[p]
        if policy is None or len(rows) == 0:
            return
        ok = st.outstanding[rows] < 0
        if policy.max_orders is not None:
            ok &= st.orders[rows] < policy.max_orders
        ok &= st.balance[rows] < level(policy.below, st.bought[rows])
        fire = rows[ok]
        if len(fire) == 0:
            return
        st.orders[fire] += 1
        if policy.lead_days == 0:
            self._deliver_topup(p, st, fire, day)
        else:
            st.outstanding[fire] = self.plan.arrival_table[p][day]

    def _deliver_topup(self, p: int, st: _PoolState, rows: np.ndarray, day: int) -> None:
        policy = self.plan.topups[p]
        cols = st.n_lots + st.topups[rows]
        need = int(cols.max()) + 1 - st.rem.shape[1]
        if need > 0:
            st.grow(max(need, 4))
        st.tokens[rows, cols] = policy.tokens
        st.date_day[rows, cols] = day
        st.topups[rows] += 1
        self._arrive_column(p, st, rows, cols, int(self.plan.expiry_table[day]), policy.tokens,
                            policy.price, day)

    # -- the day loop --------------------------------------------------------------------------
    def run(self) -> list[RunRecord]:
        plan = self.plan
        for day in range(plan.days + 1):
            self._midnight(day)
            self._charges(day)
        return self._records()

    def _midnight(self, day: int) -> None:
        """00:00: expiries, then lot arrivals in scenario order, then top-up arrivals."""
        all_rows = np.arange(self.R)
        for p, st in enumerate(self.pools):
            arrived = False
            hit = st.exp_day == day
            if hit.any():
                lost = np.where(hit, st.rem, 0)
                rows = np.flatnonzero(lost.sum(axis=1) > 0)
                st.expired += lost
                st.rem -= lost
                total = lost.sum(axis=1)
                st.expired_total += total
                st.balance -= total
                st.exp_day[hit] = NEVER - 1  # gone; keep it last in the draw order
                self._alert(p, st, rows, day)
            for k, slot in enumerate(st.lot_slots):
                lot = plan_lot = self.plan.lots[slot]
                if not plan_lot.held and lot.date_day == day:
                    self._arrive_column(p, st, all_rows, k, lot.expires_day, lot.tokens, lot.price, day)
                    arrived = True
            due = np.flatnonzero(st.outstanding == day)
            if len(due):
                st.outstanding[due] = -1
                self._deliver_topup(p, st, due, day)
                arrived = True
            if arrived:
                st.resort(all_rows)

    def _charges(self, day: int) -> None:
        plan = self.plan
        day_start = day * DAY
        day_end = day_start + DAY if day < plan.days else day_start + 1
        W, CE = self.W, self.CE
        R = self.R
        wd = plan.workday_index[day] if day < plan.days else -1
        renew = (W < CE) & (W < day_end)
        if wd >= 0:
            g = self.grids
            has = g["chargeable"][:, wd, :]
            TS, TIU, TCE = (g["start_grid"][:, wd, :], g["in_use_end_grid"][:, wd, :],
                            g["charge_end_grid"][:, wd, :])
            free = has & ~renew
            launch = free & (W <= TS)
            free_renew = free & (W > TS) & (W < TCE) & (W < day_end)
            attempt = renew | launch | free_renew
            t = np.where(launch, TS, W)
        else:
            if not renew.any():
                return
            has = TS = TIU = TCE = None
            launch = free_renew = np.zeros_like(renew)
            attempt, t = renew, W
        rate = self.rate
        if plan.n_pools == 1:
            demand = (attempt @ rate)[:, None]  # (R, pools)
        else:
            demand = (attempt * rate) @ self.pool_onehot
        easy_cells = np.zeros(self.R, bool)[:, None] & attempt  # all False, shape (R, S)
        blocked_cells = np.zeros_like(easy_cells)
        hard: list[tuple[int, int]] = []
        easy_rows: list[np.ndarray] = []
        for p, st in enumerate(self.pools):
            d = demand[:, p]
            active = d > 0
            if not active.any():
                easy_rows.append(np.zeros(R, bool))
                continue
            easy = active & (st.balance >= d)
            policy = plan.topups[p]
            if policy is not None and policy.lead_days == 0:
                can_order = np.ones(R, bool) if policy.max_orders is None else st.orders < policy.max_orders
                easy &= ~(can_order & (st.balance - d < level(policy.below, st.bought)))
            rest = active & ~easy
            blocked = np.zeros(R, bool)
            if rest.any():
                att_p = attempt & self.pool_mask[p]
                min_rate = np.where(att_p, rate, NEVER).min(axis=1)
                blocked = rest & (st.balance < min_rate)
                hard.extend((int(r), p) for r in np.flatnonzero(rest & ~blocked))
                blocked_cells |= blocked[:, None] & self.pool_mask[p]
            easy_cells |= easy[:, None] & self.pool_mask[p]
            easy_rows.append(easy)
        adopt = has.copy() if has is not None else None
        if any(e.any() for e in easy_rows):
            self._charge_all(easy_rows, easy_cells & attempt, t, demand, day)
        if blocked_cells.any():
            self._block_all(blocked_cells, renew, launch, free_renew, has, TIU, adopt, day)
        for row, p in hard:
            self._replay(p, self.pools[p], row, self.pool_seats[p], attempt, has, TS, TIU, TCE,
                         adopt, day_end)
        if has is not None:
            self.CE = np.where(adopt, TCE, self.CE)
            self.IU = np.where(adopt, TIU, self.IU)

    def _charge_all(self, easy_rows: list[np.ndarray], cells: np.ndarray, t: np.ndarray,
                    demand: np.ndarray, day: int) -> None:
        """Every attempt in these cells is covered: charge them all at once."""
        self.W = np.where(cells, t + DAY, self.W)
        self.seat_charges += cells
        counts = self.per_pool(cells)
        for p, st in enumerate(self.pools):
            rows = np.flatnonzero(easy_rows[p])
            if len(rows) == 0:
                continue
            st.charges[rows] += counts[rows, p]
            d = demand[rows, p]
            # Draw d tokens from the packs in draw order (same as one charge after another).
            order = st.order[rows]
            rem = np.take_along_axis(st.rem[rows], order, axis=1)
            before = np.cumsum(rem, axis=1) - rem
            take = np.clip(d[:, None] - before, 0, rem)
            taken = np.zeros_like(take)
            np.put_along_axis(taken, order, take, axis=1)
            st.rem[rows] -= taken
            st.consumed[rows] += taken
            st.consumed_total[rows] += d
            st.balance[rows] -= d
            self._alert(p, st, rows, day)
            self._reorder(p, st, rows, day)

    def _block_all(self, cells, renew, launch, free_renew, has, TIU, adopt, day) -> None:
        """The balance is below every attempted rate: every attempt in these cells is blocked."""
        W, CE, IU = self.W, self.CE, self.IU
        ren = renew & cells
        counted_ren = ren & (W < IU)
        np.copyto(CE, W, where=ren)
        np.minimum(IU, W, out=IU, where=ren)
        if has is not None:
            # Launched outside any window (maybe right after a lost renewal): lost for the day.
            lost_launch = has & cells & (launch | ren)
            fr = free_renew & cells  # launched free inside a window, renewal lost
            counted_fr = fr & (W < TIU)
            np.copyto(CE, W, where=fr)
            np.copyto(IU, np.minimum(TIU, W), where=fr)
            adopt &= ~(lost_launch | fr)
            counted_ren |= counted_fr
        else:
            lost_launch = np.zeros_like(cells)
        lost_launches = self.per_pool(lost_launch)
        lost_renewals = self.per_pool(counted_ren)
        lost_days = self.per_pool(counted_ren | lost_launch)
        for p, st in enumerate(self.pools):
            st.blocked_launches += lost_launches[:, p]
            st.blocked_renewals += lost_renewals[:, p]
            st.blocked_days += lost_days[:, p]
            first = (lost_launches[:, p] > 0) & (st.run_out_day < 0)
            st.run_out_day[first] = day

    def _replay(self, p, st: _PoolState, row, seats, attempt, has, TS, TIU, TCE, adopt,
                day_end) -> None:
        """Replay one run's day for one pool event by event, as the SimPy engine would."""
        plan = self.plan
        first_topup = plan.first_topup_slot()
        ledger = PoolLedger(plan.alert[p], plan.topups[p], first_topup + int(st.topups[row]))
        packs: dict[int, tuple[int, Pack]] = {}
        for k in range(st.rem.shape[1]):
            if st.exp_day[row, k] >= NEVER - 1:
                continue
            pack = Pack(st.slot_id(k, first_topup), int(st.tokens[row, k]), int(st.date_day[row, k]),
                        int(st.exp_day[row, k]), int(st.rem[row, k]), int(st.consumed[row, k]),
                        int(st.expired[row, k]))
            packs[pack.slot] = (k, pack)
            if pack.remaining > 0:
                ledger.packs.append(pack)
        ledger.packs.sort(key=Pack.draw_key)
        ledger.bought, ledger.consumed = int(st.bought[row]), int(st.consumed_total[row])
        ledger.refresh_levels()
        ledger.expired, ledger.balance = int(st.expired_total[row]), int(st.balance[row])
        ledger.spend, ledger.charges = float(st.spend[row]), int(st.charges[row])
        ledger.alert_day = None if st.alert_day[row] < 0 else int(st.alert_day[row])
        ledger.outstanding = None if st.outstanding[row] < 0 else int(st.outstanding[row])
        ledger.orders, ledger.topups_received = int(st.orders[row]), int(st.topups[row])

        W, CE, IU = self.W, self.CE, self.IU
        heap: list[tuple[int, int, Seat]] = []
        seat_objs: list[tuple[int, Seat]] = []
        involved = attempt[row, seats] if has is None else attempt[row, seats] | has[row, seats]
        for s in seats[involved].tolist():
            launched = has is not None and has[row, s]
            sessions = [(int(TS[row, s]), int(TIU[row, s]), int(TCE[row, s]))] if launched else []
            seat = Seat(sessions, int(W[row, s]), int(CE[row, s]), int(IU[row, s]))
            seat_objs.append((s, seat))
            t = seat.next_attempt()
            if t is not None and t < day_end:
                heap.append((t, s, seat))
        heapq.heapify(heap)
        blocked_seats: set[int] = set()
        rate = self.rate
        while heap:
            t, s, seat = heapq.heappop(heap)
            r = int(rate[s])
            if ledger.charge(r, t):
                seat.charged(t)
                self.seat_charges[row, s] += 1
            else:
                if seat.in_use_at(t):
                    if seat.pending == LAUNCH:
                        st.blocked_launches[row] += 1
                        if st.run_out_day[row] < 0:
                            st.run_out_day[row] = t // DAY
                    else:
                        st.blocked_renewals[row] += 1
                    blocked_seats.add(s)
                seat.blocked(t)
            t = seat.next_attempt()
            if t is not None and t < day_end:
                heapq.heappush(heap, (t, s, seat))
        st.blocked_days[row] += len(blocked_seats)
        for s, seat in seat_objs:
            W[row, s], CE[row, s], IU[row, s] = seat.window_end, seat.charge_end, seat.in_use_end
            if adopt is not None:
                adopt[row, s] = False

        # Write the ledger back.
        for pack in ledger.all_packs:  # lead-0 top-ups delivered today
            if pack.slot not in packs:
                k = st.n_lots + pack.slot - first_topup
                if k >= st.rem.shape[1]:
                    st.grow(max(k + 1 - st.rem.shape[1], 4))
                packs[pack.slot] = (k, pack)
                st.tokens[row, k], st.date_day[row, k] = pack.tokens, pack.date_day
                st.exp_day[row, k] = pack.expires_day
        for k, pack in packs.values():
            st.rem[row, k], st.consumed[row, k], st.expired[row, k] = (
                pack.remaining, pack.consumed, pack.expired)
        st.bought[row], st.consumed_total[row] = ledger.bought, ledger.consumed
        st.expired_total[row], st.balance[row] = ledger.expired, ledger.balance
        st.spend[row], st.charges[row] = ledger.spend, ledger.charges
        st.alert_day[row] = -1 if ledger.alert_day is None else ledger.alert_day
        st.outstanding[row] = -1 if ledger.outstanding is None else ledger.outstanding
        st.orders[row], st.topups[row] = ledger.orders, ledger.topups_received
        if ledger.topups_received:
            st.resort(np.array([row]))

    # -- results -------------------------------------------------------------------------------
    def _records(self) -> list[RunRecord]:
        plan = self.plan
        records = []
        for b, run in enumerate(self.runs):
            counters = np.zeros((plan.n_pools, len(POOL_COUNTERS)), np.int64)
            spend = np.zeros(plan.n_pools)
            lot_consumed = np.zeros(len(plan.lots), np.int64)
            lot_expired = np.zeros(len(plan.lots), np.int64)
            launches = self.launches[b]
            for p, st in enumerate(self.pools):
                row = {
                    "tokens_purchased": st.bought[b], "tokens_consumed": st.consumed_total[b],
                    "tokens_expired": st.expired_total[b], "tokens_remaining": st.balance[b],
                    "launches": launches[p], "charges": st.charges[b],
                    "blocked_launches": st.blocked_launches[b],
                    "blocked_renewals": st.blocked_renewals[b], "blocked_days": st.blocked_days[b],
                    "run_out_day": st.run_out_day[b], "alert_day": st.alert_day[b],
                    "topups": st.topups[b],
                }
                for name, value in row.items():
                    counters[p, counter_index(name)] = value
                spend[p] = st.spend[b]
                for k, slot in enumerate(st.lot_slots):
                    lot_consumed[slot] = st.consumed[b, k]
                    lot_expired[slot] = st.expired[b, k]
                assert st.bought[b] == st.consumed_total[b] + st.expired_total[b] + st.balance[b]
            records.append(RunRecord(run, counters, spend, lot_consumed, lot_expired,
                                     self.seat_charges[b] * self.rate))
        return records


def simulate_batch(plan: Plan, behaviours: list[Behaviour], runs: list[int]) -> list[RunRecord]:
    """Simulate runs whose behaviour is already drawn; record i belongs to runs[i]."""
    grids = {name: np.stack([getattr(b, name) for b in behaviours])
             for name in empty_grids(plan, 0)}
    launches = np.stack([b.launches for b in behaviours])
    return FastBatch(plan, grids, launches, list(runs)).run()


def simulate_fast(plan: Plan, seed: int, runs: list[int]) -> list[RunRecord]:
    """Draw and simulate these runs together (the behaviour goes straight into the batch grids)."""
    grids = empty_grids(plan, len(runs))
    launches = np.stack([draw_behaviour(plan, seed, run, grids, row).launches
                         for row, run in enumerate(runs)])
    return FastBatch(plan, grids, launches, list(runs)).run()
