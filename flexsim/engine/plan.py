"""A scenario compiled into arrays: the calendar as day indices, people as seats.

A *seat* is one (person, product) pair: the unit that owns a 24-hour window. The plan is computed
once per scenario and shared by both engines and every run, so a run only has to draw random
numbers and advance the ledger.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cached_property

import numpy as np

from flexsim.engine.ledger import DAY, TopUpPolicy
from flexsim.scenario.model import Scenario, one_year_after, tier_price


@dataclass(frozen=True)
class LotSlot:
    slot: int
    name: str
    pool: int
    tokens: int
    date_day: int  # negative: held at start
    expires_day: int
    price: float

    @property
    def held(self) -> bool:
        """Bought before the horizon: its cost is sunk."""
        return self.date_day < 0


class Plan:
    """Everything about a scenario that does not depend on the random draws."""

    def __init__(self, scenario: Scenario, *, validate: bool = True):
        """`validate=False` only for a scenario flexsim made itself from a validated one (a
        placeholder pack priced later) or checked already before it was sent to a worker."""
        self.scenario = sc = scenario.validate() if validate else scenario
        self.days = sc.days  # the run ends at 00:00 of day `days`
        self.end_time = self.days * DAY
        cal = sc.calendar
        self.pool_names = sc.pool_names()
        pool_index = {name: i for i, name in enumerate(self.pool_names)}

        # Workdays of the horizon plus the first one after it (sessions end at the latest at the
        # person's start hour on the next workday, which may lie beyond the horizon).
        wd = [d for d in range(self.days) if cal.is_workday(self.date(d))]
        after = cal.next_workday(self.date(self.days - 1))
        self.workdays = np.array(wd, dtype=np.int64)  # day index of each horizon workday
        self.workdays_ext = np.array(wd + [(after - sc.start).days], dtype=np.int64)
        self.n_workdays = len(wd)
        months = np.array([self.date(d).month - 1 for d in wd], dtype=np.int64)
        self.workday_index = np.full(self.days + 1, -1, dtype=np.int64)
        self.workday_index[self.workdays] = np.arange(self.n_workdays)

        # People and seats.
        persons: list[str] = []
        person_group: list[int] = []
        start_mean, start_sd, variation = [], [], []
        seat_person, seat_product, seat_rate, seat_pool = [], [], [], []
        seat_left_open, seat_idle_aware, sess_mean, sess_sd = [], [], [], []
        seat_beta: list[tuple[float, float]] = []  # (nan, nan): no history
        # One row of chances per (group, product): a group's people share it, so the plan holds
        # the (workday, seat) table once, not a row per seat and then its transpose as well.
        base_rows: list[np.ndarray] = []
        seat_row: list[int] = []
        season = np.array(sc.seasonality, dtype=np.float64)[months]
        n_wd_week = len(cal.workdays)
        for g_index, group in enumerate(sc.groups):
            active = np.ones(self.n_workdays, dtype=bool)
            if group.active_from is not None:
                active &= self.workdays >= (group.active_from - sc.start).days
            if group.active_to is not None:
                active &= self.workdays <= (group.active_to - sc.start).days
            boost = np.ones(self.n_workdays, dtype=np.float64)
            for event in sc.events:
                if event.applies_to(group.name):
                    lo, hi = (event.start - sc.start).days, (event.end - sc.start).days
                    boost[(self.workdays >= lo) & (self.workdays <= hi)] *= event.multiplier
            first_row = len(base_rows)
            base_rows.extend(
                use.days_per_week / n_wd_week * season * boost * active for use in group.products
            )
            for person in group.people():
                p = len(persons)
                persons.append(person)
                person_group.append(g_index)
                start_mean.append(group.start_hour.mean)
                start_sd.append(group.start_hour.sd)
                variation.append(group.variation)
                for k, use in enumerate(group.products):
                    seat_row.append(first_row + k)
                    seat_person.append(p)
                    seat_product.append(use.product)
                    seat_rate.append(sc.products[use.product])
                    seat_pool.append(pool_index[group.pool])
                    seat_left_open.append(group.left_open if use.left_open is None else use.left_open)
                    seat_idle_aware.append(
                        group.idle_awareness if use.idle_awareness is None else use.idle_awareness
                    )
                    sess_mean.append(group.session_hours.mean)
                    sess_sd.append(group.session_hours.sd)
                    seat_beta.append(use.history.beta() if use.history else (np.nan, np.nan))
        self.persons = persons
        self.person_group = np.array(person_group, dtype=np.int64)
        self.start_mean = np.array(start_mean, dtype=np.float64)
        self.start_sd = np.array(start_sd, dtype=np.float64)
        self.variation = np.array(variation, dtype=np.float64)
        self.seat_person = np.array(seat_person, dtype=np.int64)
        self.seat_product = seat_product
        self.seat_rate = np.array(seat_rate, dtype=np.int64)
        self.seat_pool = np.array(seat_pool, dtype=np.int64)
        self.seat_left_open = np.array(seat_left_open, dtype=np.float64)
        self.seat_idle_aware = np.array(seat_idle_aware, dtype=bool)
        self.seat_subscribed = np.array(
            [
                (persons[p], prod) in sc.on_subscription
                for p, prod in zip(seat_person, seat_product, strict=True)
            ],
            dtype=bool,
        )
        # Fitted rates: Beta(a, b) of each seat's per-workday chance of use (see model.History).
        self.seat_beta = np.array(seat_beta, dtype=np.float64).reshape(len(seat_person), 2)
        self.seat_history = ~np.isnan(self.seat_beta[:, 0])
        self.session_mean = np.array(sess_mean, dtype=np.float64)
        self.session_sd = np.array(sess_sd, dtype=np.float64)
        # (workday, seat) layout, as the behaviour draws use it. Not capped at 1: a uniform draw
        # below a probability above 1 always launches, which is the cap.
        rows = np.array(base_rows, dtype=np.float64).reshape(len(base_rows), self.n_workdays)
        self.base_prob_t = np.ascontiguousarray(np.take(rows.T, np.array(seat_row, np.int64), axis=1))
        self.workday_month = months  # month (0-11) of each horizon workday
        self.month_starts = np.flatnonzero(np.diff(months, prepend=-1) != 0)  # month stretches
        # Seats are listed person by person: where each person's seats begin.
        self.person_first_seat = np.searchsorted(self.seat_person, np.arange(len(persons)))

        # float32 / int32 copies used by the bulk draws.
        self.start_mean32 = self.start_mean.astype(np.float32)
        self.start_sd32 = self.start_sd.astype(np.float32)
        self.start_sd_all = bool((self.start_sd32 > 0).all())
        self.session_sd_all = bool((self.session_sd > 0).all())
        self.session_mean32 = self.session_mean.astype(np.float32)
        self.session_sd32 = self.session_sd.astype(np.float32)
        self.seat_left_open32 = self.seat_left_open.astype(np.float32)
        self.seat_left_always = self.seat_left_open32 >= 1  # left open without a draw
        self.seat_left_maybe = (self.seat_left_open32 > 0) & (self.seat_left_open32 < 1)
        self.workday_start32 = (self.workdays_ext * DAY).astype(np.int32)

        # Packs.
        self.lots = [
            LotSlot(
                i,
                lot.name,
                pool_index[lot.pool],
                lot.tokens,
                (lot.date - sc.start).days,
                (lot.expires - sc.start).days,
                lot.price,
            )
            for i, lot in enumerate(sc.lots)
        ]
        self.alert = [pool.alert_below for pool in sc.pools]
        self.topups: list[TopUpPolicy | None] = []
        for name in self.pool_names:
            rule = sc.reorder_for(name)
            if rule is None:
                self.topups.append(None)
                continue
            price = rule.price if rule.price is not None else tier_price(sc.price_tiers, rule.tokens)
            self.topups.append(
                TopUpPolicy(
                    rule.below,
                    rule.tokens,
                    price,
                    rule.lead_days,
                    rule.max_orders,
                    self.arrival_day(rule.lead_days),
                    self.topup_expiry_day,
                )
            )

    # -- calendar helpers --------------------------------------------------------------------
    def date(self, day: int) -> date:
        return self.scenario.start + timedelta(days=int(day))

    def arrival_day(self, lead_days: int):
        """Day a top-up triggered on `day` arrives: 00:00 of the lead_days-th workday after."""
        cal = self.scenario.calendar

        def arrival(day: int) -> int:
            if lead_days == 0:
                return day
            return (cal.add_workdays(self.date(day), lead_days) - self.scenario.start).days

        return arrival

    def topup_expiry_day(self, day: int) -> int:
        return (one_year_after(self.date(day)) - self.scenario.start).days

    @cached_property
    def arrival_table(self) -> list[np.ndarray | None]:
        """Per pool, the arrival day for a trigger on each day 0..days (fast engine lookup)."""
        out: list[np.ndarray | None] = []
        for policy in self.topups:
            if policy is None:
                out.append(None)
            else:
                out.append(np.array([policy.arrival_day(d) for d in range(self.days + 1)], dtype=np.int64))
        return out

    @cached_property
    def expiry_table(self) -> np.ndarray:
        return np.array([self.topup_expiry_day(d) for d in range(self.days + 1)], dtype=np.int64)

    # -- what reports break figures down by ----------------------------------------------------
    @cached_property
    def products(self) -> list[str]:
        """Products that somebody uses, in order of first appearance."""
        return list(dict.fromkeys(self.seat_product))

    @cached_property
    def seat_product_index(self) -> np.ndarray:
        index = {name: i for i, name in enumerate(self.products)}
        return np.array([index[name] for name in self.seat_product], dtype=np.int64)

    @cached_property
    def day_month(self) -> np.ndarray:
        """Calendar month of the horizon (0 = the month of `start`) of each day 0..days-1."""
        start = self.scenario.start
        return np.array(
            [
                (d.year - start.year) * 12 + d.month - start.month
                for d in (self.date(i) for i in range(self.days))
            ],
            dtype=np.int64,
        )

    @cached_property
    def month_labels(self) -> list[str]:
        """'2027-01', ... for each calendar month of the horizon."""
        firsts = np.flatnonzero(np.diff(self.day_month, prepend=-1) != 0)
        return [self.date(int(d)).strftime("%Y-%m") for d in firsts]

    @property
    def base_prob(self) -> np.ndarray:
        """(seats, workdays) chances: a view of `base_prob_t`."""
        return self.base_prob_t.T

    @property
    def n_seats(self) -> int:
        return len(self.seat_person)

    @property
    def n_pools(self) -> int:
        return len(self.pool_names)

    def first_topup_slot(self) -> int:
        return len(self.lots)
