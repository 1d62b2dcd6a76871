"""PoolLedger on its own: random sequences of arrivals, expiries and charges against a brute force.

The brute-force model keeps a plain list of packs and re-sorts it for every charge; it checks the
draw order (earliest `expires_day`, then smallest `tokens`, then earliest date, then slot),
all-or-nothing charges, expiry at 00:00, the low-balance alert and the top-up policy.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import examples

from flexsim.engine.ledger import DAY, Pack, PoolLedger, TopUpPolicy
from flexsim.scenario.model import Threshold

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --------------------------------------------------------------------------------------------
# the brute-force model


@dataclass
class MPack:
    slot: int
    tokens: int
    date_day: int
    expires_day: int
    remaining: int
    consumed: int = 0
    expired: int = 0


@dataclass
class Model:
    alert_below: Threshold
    policy: TopUpPolicy | None
    first_topup_slot: int
    packs: list[MPack] = field(default_factory=list)
    bought: int = 0
    consumed: int = 0
    expired: int = 0
    spend: float = 0.0
    charges: int = 0
    alert_day: int | None = None
    outstanding: int | None = None
    orders: int = 0
    topups: int = 0

    @property
    def balance(self) -> int:
        return sum(p.remaining for p in self.packs)

    def _alert(self, day: int) -> None:
        if self.alert_day is None and self.balance < self.alert_below.level(self.bought):
            self.alert_day = day

    def _reorder(self, day: int) -> None:
        pol = self.policy
        while (
            pol is not None
            and self.outstanding is None
            and (pol.max_orders is None or self.orders < pol.max_orders)
            and self.balance < pol.below.level(self.bought)
        ):
            self.orders += 1
            if pol.lead_days:
                self.outstanding = pol.arrival_day(day)
                return
            self._topup(day)  # lead 0: at once (and checked again)

    def _topup(self, day: int) -> None:
        pol = self.policy
        slot = self.first_topup_slot + self.topups
        self.topups += 1
        self._add(MPack(slot, pol.tokens, day, pol.expiry_day(day), pol.tokens), day, pol.price)

    def _add(self, pack: MPack, day: int, price: float) -> None:
        self.packs.append(pack)
        self.bought += pack.remaining
        self.spend += price * pack.tokens
        self._alert(day)

    def receive(self, pack: MPack, day: int, price: float) -> None:
        self._add(pack, day, price)
        self._reorder(day)

    def receive_topup(self, day: int) -> None:
        assert self.outstanding == day
        self.outstanding = None
        self._topup(day)
        self._reorder(day)

    def expire(self, day: int) -> None:
        lost = 0
        for p in self.packs:
            if p.expires_day <= day and p.remaining:
                p.expired += p.remaining
                lost += p.remaining
                p.remaining = 0
        self.expired += lost
        if lost:  # an expiry is checked like a charge: the alert, then the reorder rule
            self._alert(day)
            self._reorder(day)

    def charge(self, rate: int, t: int) -> bool:
        if self.balance < rate:
            return False
        need = rate
        order = sorted(
            (p for p in self.packs if p.remaining > 0),
            key=lambda p: (p.expires_day, p.tokens, p.date_day, p.slot),
        )
        for p in order:
            take = min(need, p.remaining)
            p.remaining -= take
            p.consumed += take
            need -= take
        assert need == 0
        self.consumed += rate
        self.charges += 1
        self._alert(t // DAY)
        self._reorder(t // DAY)
        return True


# --------------------------------------------------------------------------------------------
# operations


def policies():
    def build(below, tokens, lead, max_orders, price):
        if lead == 0 and max_orders is None and below.percent is not None:
            # Keep lead-0 cascades short (a long one hits the RecursionError bug, tested apart).
            below, tokens = Threshold(percent=min(below.percent, Fraction(50))), max(tokens, 60)
        return TopUpPolicy(
            below,
            tokens,
            price,
            lead,
            max_orders,
            arrival_day=lambda d, lead=lead: d + lead + (d % 3),  # not just d + lead
            expiry_day=lambda d: d + 9,
        )

    below = st.one_of(
        st.integers(0, 80).map(lambda t: Threshold(tokens=t)),
        st.integers(0, 90).map(lambda p: Threshold(percent=Fraction(p))),
    )
    return st.builds(
        build,
        below,
        st.integers(20, 120),
        st.integers(0, 3),
        st.one_of(st.none(), st.integers(1, 3)),
        st.sampled_from([3.0, 3.5]),
    )


alerts = st.one_of(
    st.integers(0, 100).map(lambda p: Threshold(percent=Fraction(p))),
    st.integers(0, 60).map(lambda t: Threshold(tokens=t)),
)

ops = st.lists(
    st.one_of(
        st.tuples(st.just("advance"), st.integers(1, 3)),
        st.tuples(st.just("receive"), st.integers(1, 60), st.integers(1, 8), st.integers(-3, 0)),
        st.tuples(st.just("charge"), st.integers(1, 15), st.integers(0, DAY - 1)),
        st.tuples(st.just("charge"), st.integers(1, 15), st.integers(0, DAY - 1)),
    ),
    max_size=60,
)


def snapshot(ledger: PoolLedger):
    return (
        ledger.balance,
        ledger.bought,
        ledger.consumed,
        ledger.expired,
        ledger.spend,
        ledger.charges,
        ledger.alert_day,
        ledger.outstanding,
        ledger.orders,
        ledger.topups_received,
        [(p.slot, p.remaining, p.consumed, p.expired) for p in ledger.all_packs],
    )


def compare(ledger: PoolLedger, model: Model) -> None:
    ledger.check_conservation()
    assert ledger.balance >= 0
    assert ledger.balance == model.balance
    assert (ledger.bought, ledger.consumed, ledger.expired) == (model.bought, model.consumed, model.expired)
    assert ledger.charges == model.charges
    assert ledger.spend == pytest.approx(model.spend)
    assert ledger.alert_day == model.alert_day
    assert (ledger.outstanding, ledger.orders, ledger.topups_received) == (
        model.outstanding,
        model.orders,
        model.topups,
    )
    mine = {p.slot: (p.remaining, p.consumed, p.expired) for p in model.packs}
    theirs = {p.slot: (p.remaining, p.consumed, p.expired) for p in ledger.all_packs}
    assert theirs == mine
    # The ledger's working list: packs with tokens left, in draw order.
    keys = [p.draw_key() for p in ledger.packs]
    assert keys == sorted(keys)
    assert all(p.remaining > 0 for p in ledger.packs)


@settings(max_examples=examples(400), **SETTINGS)
@given(alerts, st.one_of(st.none(), policies()), ops)
def test_random_sequences_match_brute_force(alert, policy, operations):
    ledger = PoolLedger(alert, policy, first_topup_slot=100)
    model = Model(alert, policy, 100)
    ordered: list[int] = []

    def on_order(arrival: int) -> None:
        # Only when strictly below the threshold, and never with another order outstanding.
        assert ledger.balance < policy.below.level(ledger.bought)
        assert ledger.topups_received == len(ordered)
        assert arrival == policy.arrival_day(day)
        ordered.append(arrival)

    ledger.on_order = on_order
    day, t, slot = 0, 0, 0
    ok = False
    for op in operations:
        if op[0] == "advance":
            for _ in range(op[1]):
                day += 1
                t = day * DAY
                # 00:00: expiries first, then a top-up due today (the engines' order).
                ledger.expire(day)
                model.expire(day)
                compare(ledger, model)
                if ledger.outstanding == day:
                    ledger.receive_topup(day)
                    model.receive_topup(day)
                compare(ledger, model)
        elif op[0] == "receive":
            _, tokens, life, age = op
            date_day = day + age  # possibly bought before today (held at start)
            pack = Pack(slot, tokens, date_day, day + life, tokens)
            ledger.receive(pack, day, 2.5)
            model.receive(MPack(slot, tokens, date_day, day + life, tokens), day, 2.5)
            slot += 1
        else:
            _, rate, second = op
            t = max(t, day * DAY + second)  # times never go back
            if t >= (day + 1) * DAY:
                t = (day + 1) * DAY - 1
            before = snapshot(ledger)
            balance = ledger.balance
            covered = ledger.can_cover(rate)
            ok = ledger.charge(rate, t)
            assert ok == model.charge(rate, t) == covered == (balance >= rate)
            if not ok:
                assert snapshot(ledger) == before, "a blocked charge changed the ledger"
            else:
                assert ledger.consumed == before[2] + rate
            # No token is ever drawn from a pack that has expired by now.
            for p in ledger.all_packs:
                if p.expires_day <= t // DAY:
                    assert p.remaining == 0
        compare(ledger, model)
        if policy is not None:
            assert policy.max_orders is None or ledger.orders <= policy.max_orders
            if policy.lead_days > 0:
                assert ledger.orders == len(ordered)
                assert ledger.topups_received == ledger.orders - (ledger.outstanding is not None)
            else:
                assert ledger.orders == ledger.topups_received and not ordered
            just_checked = op[0] == "receive" or (op[0] == "charge" and ok)
            if (
                just_checked
                and ledger.outstanding is None
                and (policy.max_orders is None or ledger.orders < policy.max_orders)
            ):
                # A charge or an arrival below the threshold must have ordered.
                assert ledger.balance >= policy.below.level(ledger.bought)


@settings(max_examples=examples(200), **SETTINGS)
@given(
    st.lists(st.tuples(st.integers(1, 40), st.integers(1, 5), st.integers(-5, 0)), min_size=1, max_size=6),
    st.lists(st.integers(1, 30), min_size=1, max_size=20),
)
def test_draw_order_against_brute_force(packs, rates):
    """Charges at one instant take tokens in draw order, possibly across several packs."""
    ledger = PoolLedger(Threshold(percent=Fraction(0)))
    remaining = {}
    for slot, (tokens, expires, date_day) in enumerate(packs):
        ledger.receive(Pack(slot, tokens, date_day, expires, tokens), 0)
        remaining[slot] = tokens
    key = {slot: (expires, tokens, date_day, slot) for slot, (tokens, expires, date_day) in enumerate(packs)}
    for rate in rates:
        total = sum(remaining.values())
        ok = ledger.charge(rate, 3600)
        assert ok == (total >= rate)
        if not ok:
            continue
        need = rate
        for slot in sorted(remaining, key=key.__getitem__):
            take = min(need, remaining[slot])
            remaining[slot] -= take
            need -= take
        assert {p.slot: p.remaining for p in ledger.all_packs} == remaining
        ledger.check_conservation()


def test_a_charge_spans_packs_in_draw_order():
    ledger = PoolLedger(Threshold(percent=Fraction(20)))
    # slot: tokens, date, expires. Same expiry for 1 and 2: the smaller (2) goes first.
    ledger.receive(Pack(0, 100, 0, 30, 100), 0)  # latest expiry: last
    ledger.receive(Pack(1, 50, -10, 20, 50), 0)
    ledger.receive(Pack(2, 8, 0, 20, 8), 0)
    ledger.receive(Pack(3, 8, -2, 20, 8), 0)  # same expiry and size as 2, bought earlier: first
    assert ledger.charge(10, 100)
    remaining = {p.slot: p.remaining for p in ledger.all_packs}
    assert remaining == {0: 100, 1: 50, 2: 6, 3: 0}
    assert ledger.charge(60, 200)  # 6 from slot 2, 50 from slot 1, 4 from slot 0
    remaining = {p.slot: p.remaining for p in ledger.all_packs}
    assert remaining == {0: 96, 1: 0, 2: 0, 3: 0}
    assert [p.slot for p in ledger.packs] == [0]
    assert {p.slot: p.consumed for p in ledger.all_packs} == {0: 4, 1: 50, 2: 8, 3: 8}


def test_blocked_charge_is_all_or_nothing():
    ledger = PoolLedger(Threshold(percent=Fraction(20)))
    ledger.receive(Pack(0, 9, 0, 5, 9), 0)
    before = snapshot(ledger)
    assert not ledger.charge(10, 10)
    assert snapshot(ledger) == before
    assert ledger.charge(9, 20)
    assert ledger.balance == 0
    assert not ledger.charge(1, 30)
    ledger.check_conservation()


def test_expiry_at_midnight_of_the_end_day():
    ledger = PoolLedger(Threshold(percent=Fraction(20)))
    ledger.receive(Pack(0, 30, 0, 3, 30), 0)  # vanishes at 00:00 of day 3
    ledger.receive(Pack(1, 30, 0, 4, 30), 0)
    assert ledger.charge(10, 3 * DAY - 1)  # last second of day 2: still usable
    assert ledger.expire(3) == 20
    assert ledger.charge(10, 3 * DAY)
    assert {p.slot: (p.remaining, p.consumed, p.expired) for p in ledger.all_packs} == {
        0: (0, 10, 20),
        1: (20, 10, 0),
    }
    assert ledger.expire(3) == 0  # idempotent
    assert ledger.expire(10) == 20
    assert ledger.balance == 0 and ledger.expired == 40
    ledger.check_conservation()


def test_alert_day_is_the_first_day_below_the_level():
    ledger = PoolLedger(Threshold(percent=Fraction(20)))
    ledger.receive(Pack(0, 100, 0, 50, 100), 0)
    for day in range(8):  # 8 x 10: balance 20, not below 20
        assert ledger.charge(10, day * DAY + 3600)
    assert ledger.alert_day is None
    assert ledger.charge(1, 8 * DAY + 3600)  # 19 < 20
    assert ledger.alert_day == 8
    ledger.receive(Pack(1, 1000, 9, 50, 1000), 9)
    assert ledger.charge(10, 10 * DAY)
    assert ledger.alert_day == 8  # the first time only

    tokens = PoolLedger(Threshold(tokens=30))
    tokens.receive(Pack(0, 40, 0, 50, 40), 0)
    assert tokens.charge(10, 100) and tokens.alert_day is None  # 30: not below 30
    assert tokens.charge(1, DAY * 2 + 5) and tokens.alert_day == 2


def test_alert_can_fire_on_an_expiry():
    ledger = PoolLedger(Threshold(percent=Fraction(50)))
    ledger.receive(Pack(0, 60, 0, 5, 60), 0)
    ledger.receive(Pack(1, 40, 0, 50, 40), 0)
    ledger.expire(5)
    assert ledger.alert_day == 5


def _policy(below: Threshold, tokens=100, lead=2, max_orders=None, price=3.5):
    return TopUpPolicy(
        below, tokens, price, lead, max_orders, arrival_day=lambda d: d + lead, expiry_day=lambda d: d + 365
    )


def test_reorder_only_when_strictly_below():
    ledger = PoolLedger(Threshold(percent=Fraction(0)), _policy(Threshold(tokens=50)))
    orders = []
    ledger.on_order = orders.append
    ledger.receive(Pack(0, 60, 0, 100, 60), 0)
    assert ledger.charge(10, 100)  # balance 50: not below 50
    assert ledger.orders == 0 and ledger.outstanding is None and orders == []
    assert ledger.charge(1, DAY + 100)  # 49 < 50: ordered on day 1, arrives day 3
    assert ledger.orders == 1 and ledger.outstanding == 3 and orders == [3]
    assert ledger.charge(1, DAY + 200)  # at most one outstanding
    assert ledger.orders == 1 and orders == [3]
    ledger.receive_topup(3)
    assert ledger.outstanding is None and ledger.topups_received == 1
    assert ledger.balance == 148 and ledger.bought == 160
    assert ledger.spend == pytest.approx(350.0)
    top = ledger.all_packs[-1]
    assert (top.slot, top.tokens, top.date_day, top.expires_day) == (0, 100, 3, 368)


def test_reorder_percent_of_tokens_bought_so_far():
    ledger = PoolLedger(Threshold(percent=Fraction(0)), _policy(Threshold(percent=Fraction(25)), lead=1))
    ledger.receive(Pack(0, 100, -30, 100, 100), 0)  # held at start: counts as bought
    ledger.receive(Pack(1, 100, 0, 100, 100), 0)  # level 50 of 200
    assert ledger.charge(150, 10)  # 50: not below
    assert ledger.orders == 0
    assert ledger.charge(1, 20)
    assert ledger.orders == 1 and ledger.outstanding == 1


def test_reorder_respects_max_orders_and_lead_zero_delivers_at_once():
    ledger = PoolLedger(
        Threshold(percent=Fraction(0)),
        _policy(Threshold(tokens=15), tokens=10, lead=0, max_orders=2),
        first_topup_slot=7,
    )
    ledger.receive(Pack(0, 20, 0, 100, 20), 0)
    assert ledger.charge(10, 5 * DAY + 1)  # 10 < 15: top-up 1 at once (20), not below 15 any more
    assert ledger.topups_received == 1 and ledger.orders == 1 and ledger.balance == 20
    assert ledger.outstanding is None
    assert [p.slot for p in ledger.all_packs] == [0, 7]
    assert ledger.all_packs[1].date_day == 5
    assert ledger.charge(10, 5 * DAY + 2)  # 10 < 15 again: top-up 2
    assert ledger.topups_received == 2 and ledger.balance == 20
    assert ledger.charge(10, 5 * DAY + 3)  # max_orders reached: no more
    assert ledger.topups_received == 2 and ledger.orders == 2 and ledger.balance == 10
    ledger.check_conservation()


def test_lead_zero_top_ups_cascade_until_not_below():
    ledger = PoolLedger(Threshold(percent=Fraction(0)), _policy(Threshold(tokens=100), tokens=30, lead=0))
    ledger.receive(Pack(0, 20, 0, 100, 20), 0)  # 20 < 100 on arrival: 3 top-ups at once
    assert ledger.topups_received == 3 and ledger.balance == 110
    assert ledger.charge(20, 10)  # 90: one more
    assert ledger.topups_received == 4 and ledger.balance == 120


def test_long_lead_zero_cascade_does_not_crash():
    ledger = PoolLedger(Threshold(percent=Fraction(0)), _policy(Threshold(tokens=5000), tokens=1, lead=0))
    ledger.receive(Pack(0, 30, 0, 100, 30), 0)
    assert ledger.balance >= 5000
    ledger.check_conservation()


def test_nothing_is_ordered_when_the_policy_is_exhausted_or_absent():
    ledger = PoolLedger(Threshold(percent=Fraction(20)))
    ledger.receive(Pack(0, 10, 0, 100, 10), 0)
    assert ledger.charge(10, 5)
    assert ledger.orders == 0 and ledger.outstanding is None
    assert ledger.alert_day == 0


def test_pack_draw_key():
    a = Pack(slot=0, tokens=100, date_day=0, expires_day=10, remaining=100)
    b = Pack(slot=1, tokens=50, date_day=3, expires_day=10, remaining=50)
    c = Pack(slot=2, tokens=5000, date_day=-100, expires_day=9, remaining=5000)
    assert sorted([a, b, c], key=Pack.draw_key) == [c, b, a]


def test_receive_keeps_conservation_with_deep_copies():
    """check_conservation really checks: a token removed behind its back is caught."""
    ledger = PoolLedger(Threshold(percent=Fraction(20)))
    ledger.receive(Pack(0, 10, 0, 100, 10), 0)
    broken = copy.deepcopy(ledger)
    broken.packs[0].remaining -= 1
    with pytest.raises(AssertionError):
        broken.check_conservation()
    ledger.check_conservation()


def _checked_ledger() -> PoolLedger:
    """A pool holding two packs, one of them emptied by charges: in balance."""
    ledger = PoolLedger(Threshold(percent=Fraction(0)))
    ledger.receive(Pack(0, 20, 0, 400, 20), 0)
    ledger.receive(Pack(1, 30, 0, 500, 30), 0)
    assert ledger.charge(20, 10)
    ledger.packs = list(ledger.all_packs)  # the emptied pack still listed, at 0: still sound
    ledger.check_conservation()
    return ledger


def test_the_conservation_check_names_a_token_gone_missing():
    """The tests' oracle itself: it passes a sound ledger (an empty pack included) and fails,
    with its message, one where a token vanished or a count went negative."""
    lost = _checked_ledger()
    lost.packs[1].remaining -= 1
    with pytest.raises(AssertionError, match="ledger out of balance: bought 50 != consumed 20"):
        lost.check_conservation()
    negative = _checked_ledger()
    negative.packs[0].remaining, negative.packs[1].remaining = -1, 31  # held 30 = balance 30
    with pytest.raises(AssertionError, match="^negative balance$"):
        negative.check_conservation()
