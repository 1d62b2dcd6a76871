"""The validated, immutable scenario: what the engines simulate.

Everything here is plain data. `flexsim.scenario.loader` builds it from a YAML file (and reports bad
input); the engines only read it. Dates are `datetime.date`; token counts are `int`.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from fractions import Fraction
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flexsim.scenario.validation import Locate

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
DEFAULT_TOKEN_PRICE = 3.00


@dataclass(frozen=True)
class Threshold:
    """A level given either as a share of the tokens bought so far or as a token count."""

    percent: Fraction | None = None
    tokens: int | None = None

    def level(self, bought: int) -> int:
        """Smallest balance that is *not* below the threshold (balance < level means below)."""
        if self.tokens is not None:
            return self.tokens
        assert self.percent is not None
        return math.ceil(self.percent * bought / 100)

    def describe(self) -> str:
        if self.tokens is not None:
            return f"{self.tokens:,} tokens"
        assert self.percent is not None
        return f"{float(self.percent):g}%"


@dataclass(frozen=True)
class Calendar:
    """Days on which people may launch products."""

    workdays: tuple[int, ...] = (0, 1, 2, 3, 4)  # date.weekday() numbers, mon = 0
    holidays: frozenset[date] = frozenset()

    def is_workday(self, day: date) -> bool:
        return day.weekday() in self.workdays and day not in self.holidays

    def next_workday(self, day: date) -> date:
        """First workday strictly after `day`."""
        d = day + timedelta(days=1)
        for _ in range(3700):
            if self.is_workday(d):
                return d
            d += timedelta(days=1)
        raise ValueError("the calendar has no workdays")

    def add_workdays(self, day: date, n: int) -> date:
        """The n-th workday after `day` (n >= 1)."""
        for _ in range(n):
            day = self.next_workday(day)
        return day


@dataclass(frozen=True)
class PriceTier:
    min_tokens: int
    price: float


def tier_price(tiers: tuple[PriceTier, ...], tokens: int, default: float = DEFAULT_TOKEN_PRICE) -> float:
    """Per-token price of a purchase of `tokens`: the largest `min_tokens <= tokens` applies."""
    best: PriceTier | None = None
    for tier in tiers:
        if tier.min_tokens <= tokens and (best is None or tier.min_tokens > best.min_tokens):
            best = tier
    return best.price if best is not None else default


@dataclass(frozen=True)
class Lot:
    """A token pack bought before or during the horizon."""

    name: str
    date: dt.date
    tokens: int
    price: float
    expires: dt.date
    pool: str = "main"
    price_given: bool = False  # False: price came from the tiers / default, re-priced when resized


@dataclass(frozen=True)
class Reorder:
    """Top-up policy of one pool."""

    pool: str
    below: Threshold
    tokens: int
    lead_days: int = 0
    max_orders: int | None = None
    price: float | None = None  # None: from the price tiers


@dataclass(frozen=True)
class Pool:
    name: str
    alert_below: Threshold = Threshold(percent=Fraction(20))


@dataclass(frozen=True)
class Normal:
    """A normal distribution in hours; sd 0 means always exactly `mean`."""

    mean: float
    sd: float = 0.0


@dataclass(frozen=True)
class History:
    """The evidence behind a `days_per_week` fitted from a usage export: the product was used on
    `days_used` of the `workdays` on which the person could be observed.

    It makes the forecast carry the uncertainty of the fitted rate: each run multiplies the
    person's launch probability by a factor with mean 1 drawn from the Jeffreys posterior
    Beta(days_used + 1/2, workdays - days_used + 1/2) divided by its mean. Few workdays, wide
    spread; a year of history, a narrow one. The mean forecast stays that of `days_per_week`.
    """

    days_used: int
    workdays: int

    def beta(self) -> tuple[float, float]:
        """Parameters (a, b) of the Jeffreys posterior of the per-workday chance of use."""
        return self.days_used + 0.5, self.workdays - self.days_used + 0.5


@dataclass(frozen=True)
class ProductUse:
    """How one person of a group uses one product."""

    product: str
    days_per_week: float
    left_open: float | None = None  # None: the group's setting
    idle_awareness: bool | None = None  # None: the group's setting
    history: History | None = None  # None: days_per_week is known exactly


@dataclass(frozen=True)
class Group:
    """`count` alike people (a named person is a group of one with `named=True`)."""

    name: str
    products: tuple[ProductUse, ...]
    count: int = 1
    named: bool = False
    start_hour: Normal = Normal(9.0, 1.0)
    session_hours: Normal = Normal(6.0, 2.0)
    left_open: float = 0.0
    idle_awareness: bool = True
    variation: float = 0.0
    active_from: date | None = None
    active_to: date | None = None
    pool: str = "main"

    def people(self) -> list[str]:
        """Person names: `name` for a named person, `<group>-<k>` for group members."""
        if self.named:
            return [self.name]
        return [f"{self.name}-{k}" for k in range(1, self.count + 1)]


@dataclass(frozen=True)
class Event:
    """A burst of usage (project, deadline) multiplying the launch probability."""

    name: str
    start: date
    end: date
    multiplier: float
    groups: tuple[str, ...] | None = None  # None: every group

    def applies_to(self, group: str) -> bool:
        return self.groups is None or group in self.groups


@dataclass(frozen=True)
class Costs:
    blocked_day: float | None = None
    token_price: float = DEFAULT_TOKEN_PRICE
    # advise: recommend a subscription when it is cheaper with a probability above this
    subscription_threshold: float = 0.5


@dataclass(frozen=True)
class Scenario:
    name: str
    start: date
    end: date
    products: dict[str, int]  # rate in tokens per 24-hour window, catalogue merged with the file
    lots: tuple[Lot, ...]
    pools: tuple[Pool, ...] = (Pool("main"),)
    groups: tuple[Group, ...] = ()
    calendar: Calendar = Calendar()
    price_tiers: tuple[PriceTier, ...] = ()
    reorders: tuple[Reorder, ...] = ()
    seasonality: tuple[float, ...] = (1.0,) * 12
    events: tuple[Event, ...] = ()
    subscriptions: dict[str, float] = field(default_factory=dict)
    # (person, product) pairs on a named-user subscription: they use it first, no tokens.
    on_subscription: frozenset[tuple[str, str]] = frozenset()
    costs: Costs = Costs()
    runs: int = 1000
    seed: int = 0
    source: str = "<scenario>"
    # Where a calibrated scenario came from, and its backtest (`provenance:`); not simulated.
    provenance: dict[str, object] = field(default_factory=dict)

    @property
    def days(self) -> int:
        """Number of simulated days (the run ends at 00:00 of day `days`)."""
        return (self.end - self.start).days + 1

    def validate(self, locate: Locate | None = None) -> Scenario:
        """This scenario if it can run and end; else a one-line `ScenarioError` (see
        flexsim.scenario.validation). `locate` maps key paths to where the file wrote them."""
        from flexsim.scenario.validation import validate

        validate(self, locate)
        return self

    def pool_names(self) -> list[str]:
        return [p.name for p in self.pools]

    def reorder_for(self, pool: str) -> Reorder | None:
        return next((r for r in self.reorders if r.pool == pool), None)

    def lot_named(self, name: str) -> Lot:
        for lot in self.lots:
            if lot.name == name:
                return lot
        raise KeyError(name)

    def with_lot_tokens(self, name: str, tokens: int) -> Scenario:
        """The same scenario with lot `name` resized (re-priced by the tiers unless it set a price)."""
        lots = []
        for lot in self.lots:
            if lot.name == name:
                price = lot.price if lot.price_given else tier_price(self.price_tiers, tokens)
                lot = replace(lot, tokens=tokens, price=price)
            lots.append(lot)
        return replace(self, lots=tuple(lots))


def one_year_after(day: date) -> date:
    """Same calendar date one year later (29 Feb -> 28 Feb)."""
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return day.replace(year=day.year + 1, day=28)
