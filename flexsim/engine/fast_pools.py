"""Pool ledgers of many runs at once: the fast engine's vector form of `PoolLedger`.

Rows are runs (or, when sizes are compared, (size, run) pairs). Every step mirrors a
`PoolLedger` method exactly; a row can be turned into a `PoolLedger` and back whenever a day has
to be replayed event by event.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from flexsim.engine.ledger import Pack, PoolLedger
from flexsim.engine.plan import Plan
from flexsim.scenario.model import Threshold

NEVER = np.iinfo(np.int64).max // 4


def level(threshold: Threshold, bought: np.ndarray) -> np.ndarray:
    """Vector form of Threshold.level (exact integer ceiling)."""
    if threshold.tokens is not None:
        return np.full_like(bought, threshold.tokens)
    frac = threshold.percent
    assert frac is not None  # a threshold is tokens or a percentage
    num, den = frac.numerator, frac.denominator * 100
    return -((-num * bought) // den)


@dataclass
class PoolColumns:
    """Packs and counters of one pool; row i is one run, column k one pack."""

    rem: np.ndarray  # (R, K) tokens remaining per pack column
    consumed: np.ndarray
    expired: np.ndarray
    tokens: np.ndarray  # (R, K) pack size (for the draw order)
    date_day: np.ndarray
    exp_day: np.ndarray  # NEVER for columns not arrived yet, NEVER - 1 once expired
    order: np.ndarray  # (R, K) columns in draw order
    bought: np.ndarray  # (R,)
    consumed_total: np.ndarray
    expired_total: np.ndarray
    balance: np.ndarray
    spend: np.ndarray  # float
    charges: np.ndarray
    alert_day: np.ndarray
    outstanding: np.ndarray  # arrival day of the top-up on order, -1 none
    orders: np.ndarray
    topups: np.ndarray  # top-ups received
    blocked_launches: np.ndarray
    blocked_renewals: np.ndarray
    blocked_days: np.ndarray
    run_out_day: np.ndarray

    @classmethod
    def empty(cls, R: int, K: int) -> PoolColumns:
        cols = {f.name: np.zeros((R, K), np.int64) for f in fields(cls)[:7]}
        cols["exp_day"][:] = NEVER
        cols["order"][:] = np.arange(K)
        rows = {f.name: np.zeros(R, np.int64) for f in fields(cls)[7:]}
        rows["spend"] = np.zeros(R, np.float64)
        for name in ("alert_day", "outstanding", "run_out_day"):
            rows[name][:] = -1
        return cls(**cols, **rows)

    def take(self, rows: np.ndarray) -> PoolColumns:
        return PoolColumns(**{f.name: getattr(self, f.name)[rows].copy() for f in fields(self)})

    def extend(self, other: PoolColumns) -> None:
        """Append other's rows (widening whichever has fewer pack columns)."""
        k_self, k_other = self.rem.shape[1], other.rem.shape[1]
        if k_other > k_self:
            self.grow(k_other - k_self)
        elif k_self > k_other:
            other.grow(k_self - k_other)
        for f in fields(self):
            setattr(self, f.name, np.concatenate([getattr(self, f.name), getattr(other, f.name)]))

    def grow(self, extra: int) -> None:
        """Add pack columns (for top-ups)."""
        R = self.rem.shape[0]
        for name in ("rem", "consumed", "expired", "tokens", "date_day"):
            setattr(self, name, np.hstack([getattr(self, name), np.zeros((R, extra), np.int64)]))
        self.exp_day = np.hstack([self.exp_day, np.full((R, extra), NEVER, np.int64)])
        K = self.rem.shape[1]
        self.order = np.hstack([self.order, np.tile(np.arange(K - extra, K), (R, 1))])

    def resort(self, rows: np.ndarray) -> None:
        """Recompute the draw order of these rows (after an arrival)."""
        if len(rows) == 0:
            return
        K = self.rem.shape[1]
        slot_key = np.broadcast_to(np.arange(K), (len(rows), K))
        self.order[rows] = np.lexsort(
            (slot_key, self.date_day[rows], self.tokens[rows], self.exp_day[rows]), axis=-1
        )


class PoolBank:
    """Every pool of a set of rows. `lot_tokens`/`lot_price` (rows x lots) may differ by row."""

    def __init__(self, plan: Plan, lot_tokens: np.ndarray, lot_price: np.ndarray):
        self.plan = plan
        self.lot_tokens = lot_tokens
        self.lot_price = lot_price
        self.pool_lots = [[lot.slot for lot in plan.lots if lot.pool == p] for p in range(plan.n_pools)]
        R = len(lot_tokens)
        self.pools = []
        for p in range(plan.n_pools):
            policy = plan.topups[p]
            K = len(self.pool_lots[p]) + (0 if policy is None else (policy.max_orders or 4))
            st = PoolColumns.empty(R, K)
            for k, slot in enumerate(self.pool_lots[p]):
                lot = plan.lots[slot]
                st.tokens[:, k] = lot_tokens[:, slot]
                st.date_day[:, k] = lot.date_day
                if lot.held:  # in the pool from the outset: no checks (see PoolLedger.hold)
                    st.rem[:, k] = lot_tokens[:, slot]
                    st.exp_day[:, k] = lot.expires_day
                    st.bought += lot_tokens[:, slot]
                    st.balance += lot_tokens[:, slot]
            st.resort(np.arange(R))
            self.pools.append(st)
        self.held_pool = [any(plan.lots[slot].held for slot in lots) for lots in self.pool_lots]

    @classmethod
    def for_plan(cls, plan: Plan, rows: int) -> PoolBank:
        tokens = np.tile(np.array([lot.tokens for lot in plan.lots], np.int64), (rows, 1))
        price = np.tile(np.array([lot.price for lot in plan.lots], np.float64), (rows, 1))
        return cls(plan, tokens.reshape(rows, len(plan.lots)), price.reshape(rows, len(plan.lots)))

    @property
    def rows(self) -> int:
        return len(self.lot_tokens)

    def take(self, rows: np.ndarray) -> PoolBank:
        """A new bank holding copies of these rows."""
        bank = object.__new__(PoolBank)
        bank.plan, bank.pool_lots, bank.held_pool = self.plan, self.pool_lots, self.held_pool
        bank.lot_tokens, bank.lot_price = self.lot_tokens[rows], self.lot_price[rows]
        bank.pools = [st.take(rows) for st in self.pools]
        return bank

    def extend(self, other: PoolBank) -> None:
        self.lot_tokens = np.concatenate([self.lot_tokens, other.lot_tokens])
        self.lot_price = np.concatenate([self.lot_price, other.lot_price])
        for st, more in zip(self.pools, other.pools, strict=True):
            st.extend(more)

    # -- 00:00 -----------------------------------------------------------------------------------
    def midnight(self, day: int) -> None:
        """Expiries (then checks), then every arrival due (then one check), as PoolLedger does."""
        all_rows = np.arange(self.rows)
        for p, st in enumerate(self.pools):
            hit = st.exp_day == day
            if hit.any():
                lost = np.where(hit, st.rem, 0)
                total = lost.sum(axis=1)
                st.expired += lost
                st.rem -= lost
                st.expired_total += total
                st.balance -= total
                st.exp_day[hit] = NEVER - 1  # gone; keep it last in the draw order
                expired_rows = np.flatnonzero(total > 0)
                self.alert(p, expired_rows, day)
                self.reorder(p, expired_rows, day)
            lots_today = day == 0 and self.held_pool[p]  # held packs count as arriving on day 0
            for k, slot in enumerate(self.pool_lots[p]):
                lot = self.plan.lots[slot]
                if not lot.held and lot.date_day == day:
                    self._add(
                        p, all_rows, k, lot.expires_day, self.lot_tokens[:, slot], self.lot_price[:, slot]
                    )
                    lots_today = True
            due = np.flatnonzero(st.outstanding == day)
            if len(due):
                st.outstanding[due] = -1
                self._add_topup(p, due, day)
            rows = all_rows if lots_today else due
            if len(rows):
                st.resort(rows)
                self.alert(p, rows, day)
                self.reorder(p, rows, day)

    def _add(self, p: int, rows: np.ndarray, k, exp_day: int, tokens, price) -> None:
        """Pack column k (scalar or per row) arrives in these rows (checks are the caller's)."""
        st = self.pools[p]
        st.rem[rows, k] = tokens
        st.exp_day[rows, k] = exp_day
        st.bought[rows] += tokens
        st.balance[rows] += tokens
        st.spend[rows] += price * tokens

    def _add_topup(self, p: int, rows: np.ndarray, day: int) -> None:
        st, policy = self.pools[p], self.plan.topups[p]
        assert policy is not None  # only pools with a reorder rule get top-ups
        cols = len(self.pool_lots[p]) + st.topups[rows]
        need = int(cols.max()) + 1 - st.rem.shape[1]
        if need > 0:
            st.grow(max(need, 4))
        st.tokens[rows, cols] = policy.tokens
        st.date_day[rows, cols] = day
        st.topups[rows] += 1
        self._add(p, rows, cols, int(self.plan.expiry_table[day]), policy.tokens, policy.price)

    # -- checks ----------------------------------------------------------------------------------
    def alert(self, p: int, rows: np.ndarray, day: int) -> None:
        if len(rows) == 0:
            return
        st = self.pools[p]
        fire = (st.alert_day[rows] < 0) & (st.balance[rows] < level(self.plan.alert[p], st.bought[rows]))
        st.alert_day[rows[fire]] = day

    def reorder(self, p: int, rows: np.ndarray, day: int) -> None:
        """Order where the balance is strictly below the reorder level (see PoolLedger)."""
        policy = self.plan.topups[p]
        st = self.pools[p]
        while policy is not None and len(rows):
            ok = st.outstanding[rows] < 0
            if policy.max_orders is not None:
                ok &= st.orders[rows] < policy.max_orders
            ok &= st.balance[rows] < level(policy.below, st.bought[rows])
            rows = rows[ok]
            if len(rows) == 0:
                return
            st.orders[rows] += 1
            if policy.lead_days > 0:
                arrivals = self.plan.arrival_table[p]
                assert arrivals is not None  # the pool has a reorder rule
                st.outstanding[rows] = arrivals[day]
                return
            self._add_topup(p, rows, day)  # arrives at once: an arrival, so check again
            st.resort(rows)
            self.alert(p, rows, day)

    # -- charges ---------------------------------------------------------------------------------
    def covers(self, p: int, demand: np.ndarray, rows: np.ndarray | slice = slice(None)) -> np.ndarray:
        """Rows whose day can be charged in one step: the balance covers the demand and no
        top-up would arrive at once in the middle of the day."""
        st, policy = self.pools[p], self.plan.topups[p]
        balance = st.balance[rows]
        easy = balance >= demand
        if policy is not None and policy.lead_days == 0:
            can_order = (
                np.ones(len(demand), bool)
                if policy.max_orders is None
                else (st.orders[rows] < policy.max_orders)
            )
            easy &= ~(can_order & (balance - demand < level(policy.below, st.bought[rows])))
        return easy

    def charge(self, p: int, rows: np.ndarray, demand: np.ndarray, count: np.ndarray, day: int) -> None:
        """Charge these rows' whole day (`demand` tokens in `count` charges) at once.

        Drawing the day's total from the packs in draw order leaves them exactly as charging one
        attempt after another would.
        """
        st = self.pools[p]
        st.charges[rows] += count
        if st.rem.shape[1] == 1:  # one pack: it holds the whole balance, which covers the day
            st.rem[rows, 0] -= demand
            st.consumed[rows, 0] += demand
            st.consumed_total[rows] += demand
            st.balance[rows] -= demand
            self.alert(p, rows, day)
            self.reorder(p, rows, day)
            return
        order = st.order[rows]
        rem = np.take_along_axis(st.rem[rows], order, axis=1)
        before = np.cumsum(rem, axis=1) - rem
        take = np.clip(demand[:, None] - before, 0, rem)
        taken = np.zeros_like(take)
        np.put_along_axis(taken, order, take, axis=1)
        st.rem[rows] -= taken
        st.consumed[rows] += taken
        st.consumed_total[rows] += demand
        st.balance[rows] -= demand
        self.alert(p, rows, day)
        self.reorder(p, rows, day)

    # -- one row as a PoolLedger -----------------------------------------------------------------
    def ledger(self, p: int, row: int) -> tuple[PoolLedger, dict[int, tuple[int, Pack]]]:
        """Row `row` of pool p as a PoolLedger (and its packs by slot, with their columns)."""
        plan, st = self.plan, self.pools[p]
        first_topup = plan.first_topup_slot()
        n_lots = len(self.pool_lots[p])
        ledger = PoolLedger(plan.alert[p], plan.topups[p], first_topup + int(st.topups[row]))
        packs: dict[int, tuple[int, Pack]] = {}
        # Only packs still holding tokens can change; the others stay as they are in the bank.
        for k in np.flatnonzero(st.rem[row] > 0).tolist():
            slot = self.pool_lots[p][k] if k < n_lots else first_topup + k - n_lots
            pack = Pack(
                slot,
                int(st.tokens[row, k]),
                int(st.date_day[row, k]),
                int(st.exp_day[row, k]),
                int(st.rem[row, k]),
                int(st.consumed[row, k]),
                int(st.expired[row, k]),
            )
            packs[slot] = (k, pack)
            ledger.packs.append(pack)
        ledger.packs.sort(key=Pack.draw_key)
        ledger.bought, ledger.consumed = int(st.bought[row]), int(st.consumed_total[row])
        ledger.expired, ledger.balance = int(st.expired_total[row]), int(st.balance[row])
        ledger.spend, ledger.charges = float(st.spend[row]), int(st.charges[row])
        ledger.alert_day = None if st.alert_day[row] < 0 else int(st.alert_day[row])
        ledger.outstanding = None if st.outstanding[row] < 0 else int(st.outstanding[row])
        ledger.orders, ledger.topups_received = int(st.orders[row]), int(st.topups[row])
        ledger.refresh_levels()
        return ledger, packs

    def store(self, p: int, row: int, ledger: PoolLedger, packs: dict[int, tuple[int, Pack]]) -> None:
        """Write a PoolLedger made by `ledger()` back into row `row`."""
        st = self.pools[p]
        first_topup = self.plan.first_topup_slot()
        n_lots = len(self.pool_lots[p])
        for pack in ledger.all_packs:  # lead-0 top-ups delivered during the replay
            if pack.slot not in packs:
                k = n_lots + pack.slot - first_topup
                if k >= st.rem.shape[1]:
                    st.grow(max(k + 1 - st.rem.shape[1], 4))
                packs[pack.slot] = (k, pack)
                st.tokens[row, k], st.date_day[row, k] = pack.tokens, pack.date_day
                st.exp_day[row, k] = pack.expires_day
        for k, pack in packs.values():
            st.rem[row, k], st.consumed[row, k], st.expired[row, k] = (
                pack.remaining,
                pack.consumed,
                pack.expired,
            )
        st.bought[row], st.consumed_total[row] = ledger.bought, ledger.consumed
        st.expired_total[row], st.balance[row] = ledger.expired, ledger.balance
        st.spend[row], st.charges[row] = ledger.spend, ledger.charges
        st.alert_day[row] = -1 if ledger.alert_day is None else ledger.alert_day
        st.outstanding[row] = -1 if ledger.outstanding is None else ledger.outstanding
        st.orders[row], st.topups[row] = ledger.orders, ledger.topups_received
        if ledger.topups_received:
            st.resort(np.array([row]))
