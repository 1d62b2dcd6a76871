"""The model of record: one run as a SimPy discrete-event simulation.

Each seat (a person's use of one product) is a SimPy process that sleeps until its next charge
attempt (a launch outside any window, or the renewal of a session still chargeable when its
window ends) and asks the pool's ledger for the tokens. Pack arrivals and expiries are events of
their own. Only those events are scheduled: the launches and sessions are drawn in bulk
beforehand (`flexsim.engine.behaviour`), so nothing else can change the ledger.

Events at the same instant happen in a fixed order: expiries, then arrivals (every pack due that
day and the top-up due, checked once), then charge attempts in seat order. That order is part of the
model; the fast engine follows it too.
"""

from __future__ import annotations

import numpy as np
import simpy
from simpy.events import Event, EventPriority

from flexsim.engine.behaviour import Behaviour, seat_details
from flexsim.engine.ledger import DAY, Pack, PoolLedger
from flexsim.engine.plan import Plan
from flexsim.engine.records import POOL_COUNTERS, RunRecord, counter_index
from flexsim.engine.seat import LAUNCH, RENEWAL, Seat

PRIO_NOTE = 0  # end-of-day notes come before anything else at midnight
PRIO_EXPIRY = 1
PRIO_ARRIVAL = 2
PRIO_SEAT = 10


def _at(env: simpy.Environment, t: int, priority: int, callback=None) -> Event:
    """An event at absolute time t with an explicit tie-break priority."""
    event = Event(env)
    event._ok = True
    event._value = None
    if callback is not None:
        event.callbacks.append(callback)
    env.schedule(event, EventPriority(priority), t - env.now)
    return event


def new_ledgers(plan: Plan) -> list[PoolLedger]:
    """One ledger per pool, holding the packs bought before the horizon."""
    ledgers = [
        PoolLedger(plan.alert[i], plan.topups[i], plan.first_topup_slot()) for i in range(plan.n_pools)
    ]
    for lot in plan.lots:
        if lot.held:
            ledgers[lot.pool].hold(Pack(lot.slot, lot.tokens, lot.date_day, lot.expires_day, lot.tokens))
    return ledgers


def seat_sessions(plan: Plan, behaviour: Behaviour) -> list[list[tuple[int, int, int]]]:
    """Chargeable sessions of every seat, in time order (short launches are free: left out)."""
    sessions: list[list[tuple[int, int, int]]] = [[] for _ in range(plan.n_seats)]
    seat, w = np.nonzero(behaviour.chargeable.T)
    for s, start, in_use_end, charge_end in zip(
        seat.tolist(),
        behaviour.start_grid[w, seat].tolist(),
        behaviour.in_use_end_grid[w, seat].tolist(),
        behaviour.charge_end_grid[w, seat].tolist(),
        strict=True,
    ):
        sessions[s].append((start, in_use_end, charge_end))
    return sessions


class _Tally:
    """Blocked attempts of one pool."""

    def __init__(self) -> None:
        self.launches = 0
        self.renewals = 0
        self.days: set[tuple[int, int]] = set()
        self.first_day = -1  # the run-out date: the first blocked *launch*

    def blocked(self, seat: int, t: int, launch: bool) -> None:
        if launch:
            self.launches += 1
        else:
            self.renewals += 1
        day = t // DAY
        self.days.add((seat, day))
        if launch and self.first_day < 0:
            self.first_day = day


def finish_record(
    plan: Plan,
    run: int,
    ledgers: list[PoolLedger],
    tallies,
    behaviour: Behaviour,
    seat_tokens: np.ndarray,
    seat_idle: np.ndarray,
) -> RunRecord:
    counters = np.zeros((plan.n_pools, len(POOL_COUNTERS)), dtype=np.int64)
    lot_consumed = np.zeros(len(plan.lots), dtype=np.int64)
    lot_expired = np.zeros(len(plan.lots), dtype=np.int64)
    for i, (ledger, tally) in enumerate(zip(ledgers, tallies, strict=True)):
        ledger.check_conservation()
        row = {
            "tokens_purchased": ledger.bought,
            "tokens_consumed": ledger.consumed,
            "tokens_expired": ledger.expired,
            "tokens_remaining": ledger.balance,
            "launches": int(behaviour.launches[i]),
            "charges": ledger.charges,
            "blocked_launches": tally.launches,
            "blocked_renewals": tally.renewals,
            "blocked_days": len(tally.days),
            "run_out_day": tally.first_day,
            "alert_day": -1 if ledger.alert_day is None else ledger.alert_day,
            "topups": ledger.topups_received,
        }
        for name, value in row.items():
            counters[i, counter_index(name)] = value
        for pack in ledger.all_packs:
            if pack.slot < len(plan.lots):
                lot_consumed[pack.slot] = pack.consumed
                lot_expired[pack.slot] = pack.expired
    spend = np.array([ledger.spend for ledger in ledgers], dtype=np.float64)
    record = RunRecord(run, counters, spend, lot_consumed, lot_expired, seat_tokens, seat_idle)
    for name, value in seat_details(plan, behaviour.launched, behaviour.chargeable).items():
        setattr(record, name, value)
    return record


class _DayNotes:
    """End-of-day balance, consumption and top-ups received per pool, and tokens per month and
    product (reports)."""

    def __init__(self, plan: Plan, ledgers: list[PoolLedger]):
        self.plan, self.ledgers = plan, ledgers
        self.balance = np.zeros((plan.n_pools, plan.days), np.int64)
        self.consumed = np.zeros((plan.n_pools, plan.days), np.int64)
        self.topups = np.zeros((plan.n_pools, plan.days), np.int32)  # received, cumulative
        self.product_tokens = np.zeros((len(plan.month_labels), len(plan.products)), np.int64)

    def note(self, day: int) -> None:
        for p, ledger in enumerate(self.ledgers):
            self.balance[p, day] = ledger.balance
            self.consumed[p, day] = ledger.consumed
            self.topups[p, day] = ledger.topups_received

    def charged(self, seat: int, t: int, rate: int) -> None:
        day = min(t // DAY, self.plan.days - 1)  # a charge at the final instant: the last day
        self.product_tokens[self.plan.day_month[day], self.plan.seat_product_index[seat]] += rate

    def attach(self, record: RunRecord) -> None:
        record.daily_balance = self.balance
        record.daily_consumed = np.diff(self.consumed, axis=1, prepend=0)
        record.daily_topups = np.diff(self.topups, axis=1, prepend=0)
        record.month_product_tokens = self.product_tokens


def simulate_run(plan: Plan, behaviour: Behaviour, run: int, track: bool = False) -> RunRecord:
    """Simulate one run with SimPy and return its record (with day-by-day figures if `track`)."""
    env = simpy.Environment()
    end = plan.end_time
    ledgers = new_ledgers(plan)
    tallies = [_Tally() for _ in ledgers]
    seat_tokens = np.zeros(plan.n_seats, dtype=np.int64)
    seat_idle = np.zeros(plan.n_seats, dtype=np.int64)

    # Arrivals: one event per (pool, day) receives every pack due that day (held packs count as
    # arriving on day 0) and the top-up due that day, then checks once.
    arrivals: list[dict[int, list[tuple[Pack, float]]]] = [{} for _ in ledgers]
    for lot in plan.lots:
        day = 0 if lot.held else lot.date_day
        due = arrivals[lot.pool].setdefault(day, [])
        if not lot.held:
            due.append((Pack(lot.slot, lot.tokens, lot.date_day, lot.expires_day, lot.tokens), lot.price))

    def schedule_arrival(pool: int, day: int) -> None:
        ledger = ledgers[pool]
        _at(env, day * DAY, PRIO_ARRIVAL, lambda _e: ledger.arrive(day, arrivals[pool].get(day, ())))

    for pool, ledger in enumerate(ledgers):

        def on_receive(pack: Pack, ledger=ledger) -> None:
            if pack.expires_day * DAY <= end:
                _at(env, pack.expires_day * DAY, PRIO_EXPIRY, lambda _e, d=pack.expires_day: ledger.expire(d))

        def on_order(day: int, pool=pool) -> None:
            if day * DAY <= end and day not in arrivals[pool]:
                arrivals[pool][day] = []
                schedule_arrival(pool, day)

        ledger.on_receive = on_receive
        ledger.on_order = on_order
        for pack in ledger.all_packs:  # held at start
            on_receive(pack)
        for day in arrivals[pool]:
            if day * DAY <= end:
                schedule_arrival(pool, day)

    notes = _DayNotes(plan, ledgers) if track else None
    if notes is not None:
        # The balance at the end of a day: noted at the next midnight, before its events.
        for day in range(plan.days - 1):
            _at(env, (day + 1) * DAY, PRIO_NOTE, lambda _e, day=day: notes.note(day))

    def seat_process(index: int, seat: Seat, ledger: PoolLedger, tally: _Tally, rate: int):
        priority = PRIO_SEAT + index
        while True:
            t = seat.next_attempt()
            if t is None or t > end:
                return
            yield _at(env, t, priority)
            if ledger.charge(rate, t):
                if seat.pending == RENEWAL and t >= seat.in_use_end:
                    seat_idle[index] += rate  # left open, not in use: the classic waste
                seat.charged(t)
                seat_tokens[index] += rate
                if notes is not None:
                    notes.charged(index, t, rate)
            else:
                if seat.in_use_at(t):
                    tally.blocked(index, t, seat.pending == LAUNCH)
                seat.blocked(t)

    for index, sessions in enumerate(seat_sessions(plan, behaviour)):
        if sessions:
            pool = int(plan.seat_pool[index])
            env.process(
                seat_process(index, Seat(sessions), ledgers[pool], tallies[pool], int(plan.seat_rate[index]))
            )
    stop = _at(env, end, PRIO_SEAT + plan.n_seats + 1)
    env.run(until=stop)
    record = finish_record(plan, run, ledgers, tallies, behaviour, seat_tokens, seat_idle)
    if notes is not None:
        notes.note(plan.days - 1)  # the last day ends with the run (its final instant included)
        notes.attach(record)
    return record
