"""The ledger of token packs of one pool: plain Python, no SimPy, no I/O.

Times are whole seconds from 00:00 of the first simulated day; `day` is `t // DAY`. Tokens are
integers. The ledger enforces the Flex rules that involve money: the draw order, all-or-nothing
charges, expiry at 00:00 of a pack's end date, top-up orders and the low-balance alert. Both
engines drive the very same class, so they cannot disagree about bookkeeping.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from flexsim.scenario.model import Threshold

DAY = 86_400


Day = TypeVar("Day", int, date)


def draw_order(ends: Day, tokens: int, bought: Day, listed: int) -> tuple[Day, int, Day, int]:
    """The one order in which a pool draws its packs: earliest end date first, then the smallest
    pack, then the earliest purchase, then the order they were listed (days or dates alike)."""
    return (ends, tokens, bought, listed)


@dataclass
class Pack:
    """A purchase of tokens with its own end date. `slot` identifies it in results."""

    slot: int
    tokens: int
    date_day: int  # day index of purchase (negative: held before start)
    expires_day: int  # remaining tokens vanish at 00:00 of this day
    remaining: int
    consumed: int = 0
    expired: int = 0

    def draw_key(self) -> tuple[int, int, int, int]:
        """Where this pack comes in the draw order (see `draw_order`)."""
        return draw_order(self.expires_day, self.tokens, self.date_day, self.slot)


@dataclass(frozen=True)
class TopUpPolicy:
    """A pool's reorder rule, with its calendar already turned into day arithmetic."""

    below: Threshold
    tokens: int
    price: float
    lead_days: int
    max_orders: int | None
    arrival_day: Callable[[int], int]  # day of trigger -> day of arrival (lead_days workdays on)
    expiry_day: Callable[[int], int]  # day of arrival -> expiry day of the top-up


class PoolLedger:
    """One pool's balance as a set of packs.

    Invariant, at every instant: bought == consumed + expired + balance.
    """

    def __init__(self, alert_below: Threshold, topup: TopUpPolicy | None = None, first_topup_slot: int = 0):
        self.packs: list[Pack] = []  # packs still holding tokens, in draw order
        self.all_packs: list[Pack] = []  # every pack received, for per-pack results
        self.alert_below = alert_below
        self.topup = topup
        self.next_topup_slot = first_topup_slot
        self.bought = 0
        self.consumed = 0
        self.expired = 0
        self.balance = 0
        self.spend = 0.0
        self.charges = 0
        self.alert_day: int | None = None
        self.outstanding: int | None = None  # arrival day of the top-up on order
        self.orders = 0
        self.topups_received = 0
        self.on_order: Callable[[int], None] | None = None  # engines schedule the arrival
        self.on_receive: Callable[[Pack], None] | None = None  # engines schedule the expiry
        self.refresh_levels()

    def refresh_levels(self) -> None:
        """Alert and reorder levels depend only on the tokens bought so far: cache them."""
        self.alert_level = self.alert_below.level(self.bought)
        self.reorder_level = None if self.topup is None else self.topup.below.level(self.bought)

    # -- purchases ---------------------------------------------------------------------------
    def _add(self, pack: Pack, price: float) -> None:
        """Put a pack in the pool (no checks: callers check once everything has arrived)."""
        self.bought += pack.remaining
        self.balance += pack.remaining
        self.refresh_levels()
        self.spend += price * pack.tokens
        self.all_packs.append(pack)
        self.packs.append(pack)
        self.packs.sort(key=Pack.draw_key)
        if self.on_receive is not None:
            self.on_receive(pack)

    def hold(self, pack: Pack) -> None:
        """A pack already held when the horizon starts (its cost is sunk).

        Held packs count as arriving at 00:00 of the first day, together with the packs bought
        that day: the engines call `arrive(0, ...)` once, and only then is anything checked.
        """
        self._add(pack, 0.0)

    def arrive(self, day: int, packs: list[tuple[Pack, float]] | tuple = ()) -> None:
        """Everything arriving at 00:00 of `day`: the packs bought that day (in scenario order)
        and the top-up due that day; then the alert and the reorder rule are checked once, so
        the result doesn't depend on the order of packs arriving at the same instant."""
        for pack, price in packs:
            self._add(pack, price)
        if self.outstanding is not None and self.outstanding == day:
            self.outstanding = None
            self._add_topup(day)
        self._check(day)

    def receive(self, pack: Pack, day: int, price: float = 0.0) -> None:
        """A single pack arrives at `day`."""
        self.arrive(day, [(pack, price)])

    def receive_topup(self, day: int) -> None:
        """The outstanding top-up arrives."""
        assert self.topup is not None and self.outstanding == day
        self.arrive(day)

    def _add_topup(self, day: int) -> None:
        assert self.topup is not None
        pack = Pack(
            self.next_topup_slot, self.topup.tokens, day, self.topup.expiry_day(day), self.topup.tokens
        )
        self.next_topup_slot += 1
        self.topups_received += 1
        self._add(pack, self.topup.price)

    # -- expiry ------------------------------------------------------------------------------
    def expire(self, day: int) -> int:
        """Remove what is left of every pack ending at 00:00 of `day` (or earlier)."""
        lost = 0
        keep = []
        for pack in self.packs:
            if pack.expires_day <= day:
                pack.expired += pack.remaining
                lost += pack.remaining
                pack.remaining = 0
            else:
                keep.append(pack)
        if len(keep) != len(self.packs):
            self.packs = keep
            self.expired += lost
            self.balance -= lost
            # Checked after expiries too: a pool emptied by an expiry must be able to reorder.
            self._check(day)
        return lost

    # -- charges -----------------------------------------------------------------------------
    def can_cover(self, rate: int) -> bool:
        return self.balance >= rate

    def charge(self, rate: int, t: int) -> bool:
        """All or nothing: take `rate` tokens in draw order, or block (return False)."""
        if self.balance < rate:
            return False
        need = rate
        for pack in self.packs:
            if need == 0:
                break
            take = min(need, pack.remaining)
            pack.remaining -= take
            pack.consumed += take
            need -= take
        self.balance -= rate
        self.consumed += rate
        self.charges += 1
        if self.packs and self.packs[0].remaining == 0:
            self.packs = [p for p in self.packs if p.remaining > 0]
        self._check(t // DAY)
        return True

    # -- alert and reorder -------------------------------------------------------------------
    def _check(self, day: int) -> None:
        """After a charge, an arrival or an expiry: the low-balance alert, then the reorder rule."""
        if self.alert_day is None and self.balance < self.alert_level:
            self.alert_day = day
        self._check_reorder(day)

    def _check_reorder(self, day: int) -> None:
        """Order a top-up if the balance is strictly below the reorder level.

        A lead-0 top-up arrives at once, which is an arrival: the rule is checked again (a loop,
        not recursion: a small top-up far below a high level may take many rounds).
        """
        policy = self.topup
        while (
            policy is not None
            and self.outstanding is None
            and (policy.max_orders is None or self.orders < policy.max_orders)
            and self.reorder_level is not None
            and self.balance < self.reorder_level
        ):
            self.orders += 1
            if policy.lead_days > 0:
                self.outstanding = policy.arrival_day(day)
                if self.on_order is not None:
                    self.on_order(self.outstanding)
                return
            # No alert check here: the alert was checked just before, and a top-up raises the
            # balance by its size and the level by at most that (a share <= 100% of it).
            self._add_topup(day)

    def check_conservation(self) -> None:
        """Raise if a token went missing (used by tests after every event)."""
        held = sum(p.remaining for p in self.packs)
        if held != self.balance or self.bought != self.consumed + self.expired + self.balance:
            raise AssertionError(
                f"ledger out of balance: bought {self.bought} != consumed {self.consumed} "
                f"+ expired {self.expired} + balance {self.balance} (packs hold {held})"
            )
        if self.balance < 0 or any(p.remaining < 0 for p in self.packs):
            raise AssertionError("negative balance")
