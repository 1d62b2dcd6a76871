"""What a scenario must be to run and to end: the model's own check (`Scenario.validate`).

Every entry point meets it: the YAML loader once it has mapped the text (passing a `Locate` so
that each message names the line), and `Plan` before anything is simulated, so that the Python
API refuses exactly what the command line refuses, in the same one line. Key paths are those of
the scenario file (`lots[0].tokens`, `users[1].products.Revit.days_per_week`).
See docs/explanation/what-flexsim-refuses.md.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date, datetime
from fractions import Fraction
from numbers import Real
from typing import TYPE_CHECKING, NoReturn

from flexsim.errors import ScenarioError
from flexsim.scenario import limits
from flexsim.scenario.model import MONTHS

if TYPE_CHECKING:
    from flexsim.scenario.model import Group, Scenario, Threshold

# Where a key path was written: (the path as written, its 1-based line or None).
Locate = Callable[[str], tuple[str, int | None]]

FULL_PERCENT = Fraction(100)


def _unlocated(path: str) -> tuple[str, int | None]:
    return path, None


def fmt(x: float) -> str:
    return f"{x:g}"


def expected_number(
    minimum: float | None = None,
    maximum: float | None = None,
    *,
    positive: bool = False,
    below: float | None = None,
) -> str:
    """The words for a number's bounds, as the messages say them."""
    if positive:
        return "a positive number"
    if minimum is not None and maximum is not None:
        return f"a number from {fmt(minimum)} to {fmt(maximum)}"
    if minimum is not None and below is not None:
        return f"a number from {fmt(minimum)} up to (not including) {fmt(below)}"
    if minimum is not None:
        return f"a number >= {fmt(minimum)}"
    return "a number"


def expected_whole(minimum: int | None) -> str:
    return {None: "a whole number", 0: "a whole number >= 0", 1: "a positive whole number"}.get(
        minimum, f"a whole number >= {minimum}"
    )


def unstorable(text: str) -> str | None:
    """Why `text` can't be written to a UTF-8 file (a lone surrogate), or None."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return (
            f"holds a lone surrogate (U+{ord(text[exc.start]):04X}), which is not a character and "
            "that no output file can store: write the text without it"
        )
    return None


def storable(text: str) -> str:
    """`text` with what a file can't store replaced: a file name's undecodable bytes (kept by
    Python as lone surrogates) become U+FFFD, as they would in a file manager."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")


class _Check:
    """The walk over one scenario; `fail` raises the located one-line error."""

    def __init__(self, scenario: Scenario, locate: Locate | None) -> None:
        self.sc = scenario
        self.locate = locate or _unlocated

    def fail(self, path: str, message: str) -> NoReturn:
        written, line = self.locate(path)
        raise ScenarioError(message, file=self.sc.source, path=written, line=line)

    # --- values ---------------------------------------------------------------------------

    def text(self, path: str, value: object, what: str = "a name") -> str:
        if not isinstance(value, str):
            self.fail(path, f"expected {what}, got {value!r}")
        if not value.strip():
            self.fail(path, f"expected {what}, got an empty text")
        if problem := unstorable(value):
            self.fail(path, f"the {what.removeprefix('a ')} {problem}")
        return value

    def whole(self, path: str, value: object, minimum: int | None = None) -> int:
        expected = expected_whole(minimum)
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(path, f"expected {expected}, got {value!r}")
        if minimum is not None and value < minimum:
            self.fail(path, f"must be {expected}, got {value}")
        top = limits.integer_limit(path)
        if value > top:
            self.fail(path, limits.too_large(path, value, top))
        return value

    def number(
        self,
        path: str,
        value: object,
        minimum: float | None = None,
        maximum: float | None = None,
        *,
        positive: bool = False,
        below: float | None = None,
    ) -> float:
        expected = expected_number(minimum, maximum, positive=positive, below=below)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(path, f"expected {expected}, got {value!r}")
        if isinstance(value, int) and abs(value) > limits.ANY_INTEGER:
            self.fail(path, limits.too_large(path, value, limits.ANY_INTEGER))
        x = float(value)
        if not math.isfinite(x):
            self.fail(path, f"expected {expected}, got {value!r}")
        out_of_range = (
            (positive and x <= 0)
            or (minimum is not None and x < minimum)
            or (maximum is not None and x > maximum)
            or (below is not None and x >= below)
        )
        if out_of_range:
            self.fail(path, f"must be {expected}, got {fmt(x)}")
        top = limits.number_limit(path)
        if top is not None and x > top:
            self.fail(path, limits.too_large(path, x, top))
        return x

    def probability(self, path: str, value: object) -> float:
        return self.number(path, value, 0.0, 1.0)

    def flag(self, path: str, value: object) -> None:
        if not isinstance(value, bool):
            self.fail(path, f"expected true or false, got {value!r}")

    def day(self, path: str, value: object) -> date:
        if isinstance(value, datetime) or not isinstance(value, date):
            self.fail(path, f"expected a date like 2027-01-01, got {value!r}")
        if not limits.date_ok(value):
            self.fail(path, limits.date_message(value))
        return value

    def threshold(self, path: str, value: Threshold) -> None:
        if (value.percent is None) == (value.tokens is None):
            self.fail(path, "expected a percentage like '20%' or a whole token count like 500")
        if value.tokens is not None:
            self.whole(path, value.tokens, 0)
            return
        percent = value.percent
        if isinstance(percent, bool) or not isinstance(percent, Real) or not math.isfinite(percent):
            self.fail(path, f"expected a percentage like Fraction(20) for 20%, got {percent!r}")
        if percent < 0:
            self.fail(path, f"a percentage can't be below 0%, got {fmt(float(percent))}%")
        if percent > FULL_PERCENT:
            self.fail(path, f"a percentage can't be above 100%, got {fmt(float(percent))}%")

    # --- sections -----------------------------------------------------------------------------

    def run(self) -> None:
        sc = self.sc
        self.text("name", sc.name)
        self.horizon()
        self.calendar()
        for product, rate in sc.products.items():
            self.text(f"products.{product}", product, "a product name")
            self.whole(f"products.{product}", rate, 1)
        self.tiers()
        pools = self.pools()
        self.lots(pools)
        self.reorders(pools)
        self.groups(pools)
        self.seasonality()
        self.events()
        for product, price in sc.subscriptions.items():
            self.known_product(f"subscriptions.{product}", product)
            self.number(f"subscriptions.{product}", price, positive=True)
        costs = sc.costs
        if costs.blocked_day is not None:
            self.number("costs.blocked_day", costs.blocked_day, 0.0)
        self.number("costs.token_price", costs.token_price, positive=True)
        self.probability("costs.subscription_threshold", costs.subscription_threshold)
        self.whole("simulation.runs", sc.runs, 1)
        self.whole("simulation.seed", sc.seed, 0)
        limits.check_cost(sc, self.fail)

    def horizon(self) -> None:
        sc = self.sc
        start, end = self.day("start", sc.start), self.day("end", sc.end)
        if end < start:
            self.fail("end", f"end {end} is before start {start}")
        if sc.days > limits.MAX_DAYS:
            self.fail("end", f"the horizon is too long: at most {limits.MAX_DAYS} days (20 years)")

    def calendar(self) -> None:
        cal = self.sc.calendar
        if not cal.workdays:
            self.fail("calendar.workdays", "needs at least one workday")
        if len(set(cal.workdays)) != len(cal.workdays) or not all(
            isinstance(d, int) and 0 <= d <= 6 for d in cal.workdays
        ):
            self.fail(
                "calendar.workdays", f"expected weekday numbers 0 (mon) to 6 (sun), each once: {cal.workdays}"
            )
        if len(cal.holidays) > limits.LISTS["holidays"]:
            self.fail("calendar.holidays", limits.too_many("calendar.holidays", len(cal.holidays)))
        for day in sorted(cal.holidays, key=lambda d: (not isinstance(d, date), str(d))):
            self.day("calendar.holidays", day)

    def tiers(self) -> None:
        if len(self.sc.price_tiers) > limits.LISTS["price_tiers"]:
            self.fail("purchasing.price_tiers", limits.too_many("price_tiers", len(self.sc.price_tiers)))
        seen: dict[int, int] = {}
        for i, tier in enumerate(self.sc.price_tiers):
            path = f"purchasing.price_tiers[{i}]"
            tokens = self.whole(f"{path}.min_tokens", tier.min_tokens, 0)
            if tokens in seen:
                self.fail(
                    f"{path}.min_tokens",
                    f"min_tokens {tokens} is already used by price_tiers[{seen[tokens]}]",
                )
            seen[tokens] = i
            self.number(f"{path}.price", tier.price, positive=True)

    def pools(self) -> list[str]:
        if not self.sc.pools:
            self.fail("pools", "needs at least one pool (or leave the section out for one 'main')")
        seen: dict[str, int] = {}
        for i, pool in enumerate(self.sc.pools):
            path = f"pools[{i}]"
            name = self.text(f"{path}.name", pool.name)
            if name in seen:
                self.fail(f"{path}.name", f"pool {name!r} is already defined in pools[{seen[name]}]")
            seen[name] = i
            self.threshold(f"{path}.alert_below", pool.alert_below)
        return list(seen)

    def pool_ref(self, path: str, name: object, pools: list[str]) -> None:
        self.text(path, name, "a pool name")
        if name not in pools:
            self.fail(path, f"pool {name!r} is not listed in pools (listed: {', '.join(pools)})")

    def lots(self, pools: list[str]) -> None:
        sc = self.sc
        if len(sc.lots) > limits.LISTS["lots"]:
            self.fail("lots", limits.too_many("lots", len(sc.lots)))
        names: dict[str, int] = {}
        for i, lot in enumerate(sc.lots):
            path = f"lots[{i}]"
            name = self.text(f"{path}.name", lot.name)
            if name in names:
                self.fail(f"{path}.name", f"lot name {name!r} is already used by lots[{names[name]}]")
            names[name] = i
            bought = self.day(f"{path}.date", lot.date)
            if (bought - sc.end).days > 1:  # a pack arriving as the run ends (00:00 after end)
                self.fail(
                    f"{path}.date",
                    f"lot date {bought} is after the run ends (end {sc.end}); "
                    "drop the lot or extend the horizon",
                )
            self.whole(f"{path}.tokens", lot.tokens, 1)
            self.number(f"{path}.price", lot.price, positive=True)
            expires = self.day(f"{path}.expires", lot.expires)
            if expires <= bought:
                self.fail(f"{path}.expires", f"expires {expires} must be after the lot date {bought}")
            if expires <= sc.start:
                self.fail(
                    f"{path}.expires",
                    f"this lot expired before start: it expires {expires}, start is {sc.start}",
                )
            self.pool_ref(f"{path}.pool", lot.pool, pools)

    def reorders(self, pools: list[str]) -> None:
        seen: dict[str, str] = {}
        for i, rule in enumerate(self.sc.reorders):
            path = f"purchasing.reorder[{i}]"
            self.pool_ref(f"{path}.pool", rule.pool, pools)
            if rule.pool in seen:
                self.fail(
                    f"{path}.pool", f"pool {rule.pool!r} already has a reorder policy ({seen[rule.pool]})"
                )
            seen[rule.pool] = self.locate(path)[0]
            self.threshold(f"{path}.below", rule.below)
            self.whole(f"{path}.tokens", rule.tokens, 1)
            self.whole(f"{path}.lead_days", rule.lead_days, 0)
            if rule.max_orders is not None:
                self.whole(f"{path}.max_orders", rule.max_orders, 1)
            if rule.price is not None:
                self.number(f"{path}.price", rule.price, positive=True)
            if rule.below.percent == FULL_PERCENT and rule.lead_days == 0 and rule.max_orders is None:
                self.fail(
                    f"{path}.below",
                    "below: 100% with lead_days 0 and no max_orders would reorder without end "
                    "(the balance never reaches 100% of tokens bought once any are used); "
                    "lower the threshold, or set lead_days or max_orders",
                )
            limits.check_orders(self.sc, rule, path, self.fail)

    def known_product(self, path: str, product: str) -> None:
        self.text(path, product, "a product name")
        if product not in self.sc.products:
            self.fail(path, f"unknown product {product!r} (to add a product, give its rate under products:)")

    def groups(self, pools: list[str]) -> None:
        sc = self.sc
        if len(sc.groups) > limits.LISTS["users"]:
            self.fail("users", limits.too_many("users", len(sc.groups)))
        names: dict[str, str] = {}
        people: dict[str, str] = {}
        for i, group in enumerate(sc.groups):
            path = f"users[{i}]"
            key = f"{path}.name" if group.named else f"{path}.group"
            name = self.text(key, group.name)
            if name in names:
                self.fail(key, f"{name!r} is already used by {names[name]}")
            names[name] = path
            count = self.whole(f"{path}.count", group.count, 1)
            if group.named and count != 1:
                self.fail(f"{path}.count", "a named person is one person; use group: for several")
            self.uses(path, group)
            for key_name, hours, clock in (
                ("start_hour", group.start_hour, True),
                ("session_hours", group.session_hours, False),
            ):
                self.number(f"{path}.{key_name}.mean", hours.mean, 0.0, below=24.0 if clock else None)
                self.number(f"{path}.{key_name}.sd", hours.sd, 0.0)
            self.probability(f"{path}.left_open", group.left_open)
            self.flag(f"{path}.idle_awareness", group.idle_awareness)
            self.number(f"{path}.variation", group.variation, 0.0)
            first = None if group.active_from is None else self.day(f"{path}.active.from", group.active_from)
            last = None if group.active_to is None else self.day(f"{path}.active.to", group.active_to)
            if first is not None and last is not None and last < first:
                self.fail(f"{path}.active.to", f"to {last} is before from {first}")
            self.pool_ref(f"{path}.pool", group.pool, pools)
            if count <= limits.INTEGERS["count"]:
                for person in group.people():
                    if person in people:
                        self.fail(key, f"person {person!r} is already defined by {people[person]}")
                    people[person] = path

    def uses(self, path: str, group: Group) -> None:
        if not group.products:
            self.fail(f"{path}.products", "needs at least one product")
        seen: set[str] = set()
        for use in group.products:
            upath = f"{path}.products.{use.product}"
            self.known_product(upath, use.product)
            if use.product in seen:
                self.fail(upath, f"product {use.product!r} is listed twice")
            seen.add(use.product)
            self.number(f"{upath}.days_per_week", use.days_per_week, 0.0, 7.0)
            if use.left_open is not None:
                self.probability(f"{upath}.left_open", use.left_open)
            if use.idle_awareness is not None:
                self.flag(f"{upath}.idle_awareness", use.idle_awareness)
            if use.history is not None:
                used = self.whole(f"{upath}.history.days_used", use.history.days_used, 0)
                workdays = self.whole(f"{upath}.history.workdays", use.history.workdays, 0)
                if used > workdays:
                    self.fail(
                        f"{upath}.history.days_used",
                        f"days_used {used} is more than workdays "
                        f"{workdays} (the days used are counted among the workdays observed)",
                    )

    def seasonality(self) -> None:
        factors = self.sc.seasonality
        if len(factors) != len(MONTHS):
            self.fail("seasonality", f"expected 12 monthly factors, got {len(factors)}")
        for month, factor in zip(MONTHS, factors, strict=True):
            self.number(f"seasonality.{month}", factor, 0.0)

    def events(self) -> None:
        sc = self.sc
        if len(sc.events) > limits.LISTS["events"]:
            self.fail("events", limits.too_many("events", len(sc.events)))
        known = {g.name for g in sc.groups}
        for i, event in enumerate(sc.events):
            path = f"events[{i}]"
            self.text(f"{path}.name", event.name)
            first = self.day(f"{path}.from", event.start)
            last = self.day(f"{path}.to", event.end)
            if last < first:
                self.fail(f"{path}.to", f"to {last} is before from {first}")
            self.number(f"{path}.multiplier", event.multiplier, 0.0)
            for j, name in enumerate(event.groups or ()):
                self.text(f"{path}.groups[{j}]", name, "a group or person name")
                if name not in known:
                    self.fail(f"{path}.groups[{j}]", f"no group or named person {name!r} under users:")


def validate(scenario: Scenario, locate: Locate | None = None) -> None:
    """Raise a one-line `ScenarioError` for the first thing that can't run or can't end."""
    _Check(scenario, locate).run()
