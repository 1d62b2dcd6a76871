"""Hypothesis strategies: random *valid* `Scenario` objects built straight from the dataclasses.

The scenarios are small (5-60 days, a handful of people) so that both engines can run several
of them per second, but they reach every rule: packs held before the start, packs bought during
the horizon (up to the run end itself), explicit early expiries, tiny packs (pools run dry and
days mix charged and blocked attempts), top-ups with percent or token thresholds and lead 0..5,
sessions under 5 minutes, over 24 hours and over a weekend, idle and non-idle open products, weekend workdays,
holidays, seasonality, events, active ranges and rates fitted from history.
"""

from __future__ import annotations

import os
from datetime import date, timedelta
from fractions import Fraction

from hypothesis import strategies as st

from flexsim.scenario.model import (
    Calendar,
    Event,
    Group,
    History,
    Lot,
    Normal,
    Pool,
    PriceTier,
    ProductUse,
    Reorder,
    Scenario,
    Threshold,
    one_year_after,
)

PRODUCT_NAMES = ("Revit", "AutoCAD", "Tool")
POOL_NAMES = ("main", "second")

FIRST_START = date(2025, 1, 1)
LAST_START = date(2028, 12, 31)


def thresholds(max_percent: int = 100, max_tokens: int = 300) -> st.SearchStrategy[Threshold]:
    """A percent (whole or with a fraction) or an absolute token threshold."""
    percent = st.one_of(
        st.integers(0, max_percent).map(Fraction),
        st.fractions(min_value=0, max_value=max_percent, max_denominator=8),
    ).map(lambda p: Threshold(percent=Fraction(p)))
    tokens = st.integers(0, max_tokens).map(lambda t: Threshold(tokens=t))
    return st.one_of(percent, tokens)


def pack_sizes() -> st.SearchStrategy[int]:
    """Tiny packs (pools run out mid-day), middling ones and large ones."""
    return st.one_of(st.integers(1, 40), st.integers(41, 400), st.integers(401, 5000))


def hours_normal(means: st.SearchStrategy[float], max_sd=3.0) -> st.SearchStrategy[Normal]:
    """A normal with the given means and an sd of 0 or up to `max_sd` (a number or a strategy)."""
    max_sds = max_sd if isinstance(max_sd, st.SearchStrategy) else st.just(max_sd)
    sds = st.one_of(st.just(0.0), max_sds.flatmap(lambda top: st.floats(0.01, top)))
    return st.builds(Normal, means, sds)


def start_hours() -> st.SearchStrategy[Normal]:
    return hours_normal(st.one_of(st.sampled_from([0.0, 8.0, 9.0, 10.0, 23.9]), st.floats(0.0, 23.99)))


def session_hours() -> st.SearchStrategy[Normal]:
    means = st.one_of(
        st.floats(0.0, 0.15),  # around the 5-minute rule (0.0833 h)
        st.sampled_from([0.0, 5 / 60, 1.0, 6.0, 9.0]),
        st.floats(0.2, 12.0),
        st.floats(20.0, 60.0),  # sessions longer than a 24-hour window
        st.sampled_from([24.0, 48.0, 50.0, 72.0]),  # ending exactly as a window does, or near it
        st.floats(60.0, 130.0),  # longer than a weekend: in use across several workdays
    )
    return hours_normal(means, max_sd=st.sampled_from([4.0, 30.0]))


def probabilities() -> st.SearchStrategy[float]:
    return st.one_of(st.sampled_from([0.0, 1.0]), st.floats(0.0, 1.0))


def days_per_week() -> st.SearchStrategy[float]:
    return st.one_of(st.sampled_from([0.0, 1.0, 2.5, 5.0, 7.0]), st.floats(0.0, 7.0))


@st.composite
def histories(draw) -> History:
    """Evidence behind a fitted rate: from none at all (0 workdays) to a year's."""
    workdays = draw(st.one_of(st.sampled_from([0, 1, 5]), st.integers(0, 300)))
    return History(draw(st.integers(0, workdays)), workdays)


@st.composite
def calendars(draw, start: date, days: int) -> Calendar:
    workdays = draw(
        st.one_of(
            st.just((0, 1, 2, 3, 4)),
            st.just(tuple(range(7))),
            st.lists(st.integers(0, 6), min_size=1, max_size=7, unique=True).map(lambda w: tuple(sorted(w))),
        )
    )
    offsets = draw(st.lists(st.integers(0, days + 3), max_size=4, unique=True))
    holidays = frozenset(start + timedelta(days=k) for k in offsets)
    cal = Calendar(workdays=workdays, holidays=holidays)
    return cal


@st.composite
def lots_for(draw, start: date, days: int, pools: tuple[str, ...]) -> tuple[Lot, ...]:
    end_day = days  # a lot may arrive at 00:00 after `end` (the run end)
    n = draw(st.integers(1, 4))
    lots = []
    for i in range(n):
        kind = draw(st.sampled_from(["held", "start", "mid", "mid", "end"]))
        if kind == "held":
            bought = start - timedelta(days=draw(st.integers(1, 360)))
        elif kind == "start":
            bought = start
        elif kind == "mid":
            bought = start + timedelta(days=draw(st.integers(1, max(1, end_day - 1))))
        else:
            bought = start + timedelta(days=end_day)
        if draw(st.booleans()):
            expires = one_year_after(bought)
        else:  # explicit, usually well before a year: expiries inside the horizon
            lo = max(bought, start) + timedelta(days=1)
            expires = lo + timedelta(days=draw(st.integers(0, days + 2)))
        tokens = draw(pack_sizes())
        price = draw(st.sampled_from([2.75, 3.0, 3.25]))
        lots.append(
            Lot(
                f"lot-{i + 1}", bought, tokens, price, expires, draw(st.sampled_from(pools)), price_given=True
            )
        )
    return tuple(lots)


@st.composite
def reorder_for(draw, pool: str, pool_tokens: int) -> Reorder:
    lead = draw(st.integers(0, 5))
    max_orders = draw(st.one_of(st.none(), st.integers(1, 3)))
    below = draw(thresholds(max_percent=90 if (lead == 0 and max_orders is None) else 100))
    tokens = draw(pack_sizes())
    if lead == 0 and max_orders is None:
        # Keep a lead-0 cascade of top-ups short (each top-up is checked again at once).
        if below.tokens is not None:
            tokens = max(tokens, below.tokens // 10 + 1)
        else:
            tokens = max(tokens, pool_tokens // 5 + 1)
    price = draw(st.one_of(st.none(), st.sampled_from([3.0, 3.5])))
    return Reorder(pool, below, tokens, lead, max_orders, price)


@st.composite
def groups_for(
    draw,
    start: date,
    days: int,
    pools: tuple[str, ...],
    products: tuple[str, ...],
    max_groups: int = 4,
    max_count: int = 4,
) -> tuple[Group, ...]:
    n = draw(st.integers(1, max_groups))
    groups = []
    for i in range(n):
        named = draw(st.booleans())
        count = 1 if named else draw(st.integers(1, max_count))
        chosen = draw(st.lists(st.sampled_from(products), min_size=1, max_size=len(products), unique=True))
        uses = []
        for product in chosen:
            left_open = draw(st.one_of(st.none(), probabilities()))
            idle = draw(st.one_of(st.none(), st.booleans()))
            history = draw(st.one_of(st.none(), histories()))
            uses.append(ProductUse(product, draw(days_per_week()), left_open, idle, history))
        active_from = active_to = None
        if draw(st.booleans()):
            a = draw(st.integers(-3, days))
            b = draw(st.integers(a, days + 3))
            active_from = start + timedelta(days=a) if draw(st.booleans()) else None
            active_to = start + timedelta(days=b) if draw(st.booleans()) else None
        groups.append(
            Group(
                name=f"p{i}@example.com" if named else f"g{i}",
                products=tuple(uses),
                count=count,
                named=named,
                start_hour=draw(start_hours()),
                session_hours=draw(session_hours()),
                left_open=draw(probabilities()),
                idle_awareness=draw(st.booleans()),
                variation=draw(st.one_of(st.just(0.0), st.floats(0.05, 1.5))),
                active_from=active_from,
                active_to=active_to,
                pool=draw(st.sampled_from(pools)),
            )
        )
    return tuple(groups)


@st.composite
def events_for(draw, start: date, days: int, groups: tuple[Group, ...]) -> tuple[Event, ...]:
    events = []
    for i in range(draw(st.integers(0, 2))):
        a = draw(st.integers(-5, days))
        b = draw(st.integers(a, days + 5))
        names = None
        if draw(st.booleans()):
            names = tuple(draw(st.lists(st.sampled_from([g.name for g in groups]), min_size=1, unique=True)))
        multiplier = draw(st.one_of(st.sampled_from([0.0, 2.0, 10.0]), st.floats(0.0, 3.0)))
        events.append(
            Event(f"event-{i}", start + timedelta(days=a), start + timedelta(days=b), multiplier, names)
        )
    return tuple(events)


@st.composite
def scenarios(
    draw,
    min_days: int = 5,
    max_days: int = 60,
    max_groups: int = 4,
    max_count: int = 4,
    reorders: bool = True,
) -> Scenario:
    """A random valid scenario (what `parse_scenario` could have produced)."""
    start = draw(st.dates(FIRST_START, LAST_START))
    days = draw(st.integers(min_days, max_days))
    end = start + timedelta(days=days - 1)
    calendar = draw(calendars(start, days))
    n_pools = draw(st.integers(1, 2))
    pool_names = POOL_NAMES[:n_pools]
    pools = tuple(
        Pool(name, draw(st.one_of(st.just(Threshold(percent=Fraction(20))), thresholds())))
        for name in pool_names
    )
    n_products = draw(st.integers(1, 3))
    product_names = PRODUCT_NAMES[:n_products]
    products = {name: draw(st.integers(1, 12)) for name in product_names}
    lots = draw(lots_for(start, days, pool_names))
    reorder_rules = []
    if reorders:
        for name in pool_names:
            if draw(st.booleans()):
                pool_tokens = sum(lot.tokens for lot in lots if lot.pool == name)
                reorder_rules.append(draw(reorder_for(name, pool_tokens)))
    tiers = draw(st.sampled_from([(), (PriceTier(100, 3.0), PriceTier(5000, 2.75))]))
    groups = draw(groups_for(start, days, pool_names, product_names, max_groups, max_count))
    if draw(st.booleans()):
        seasonality = tuple(draw(st.lists(st.floats(0.0, 2.0), min_size=12, max_size=12)))
    else:
        seasonality = (1.0,) * 12
    events = draw(events_for(start, days, groups))
    return Scenario(
        name="hypothesis",
        start=start,
        end=end,
        products=products,
        lots=lots,
        pools=pools,
        groups=groups,
        calendar=calendar,
        price_tiers=tiers,
        reorders=tuple(reorder_rules),
        seasonality=seasonality,
        events=events,
        runs=5,
        seed=draw(st.integers(0, 2**32 - 1)),
        source="<hypothesis>",
    )


seeds = st.integers(0, 2**63 - 1)


def examples(n: int) -> int:
    """`max_examples` scaled by FLEXSIM_HYPOTHESIS_SCALE (e.g. 20 for a long hunt for bugs)."""
    return max(1, round(n * float(os.environ.get("FLEXSIM_HYPOTHESIS_SCALE", "1"))))
