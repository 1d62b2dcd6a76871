"""Read a scenario file into a validated, immutable `Scenario` (SPEC section 1).

The YAML is composed into nodes with the safe loader only (no object construction from tags) and
walked by hand against the schema below, so that every bad input gets one `ScenarioError` that
names the file, the dotted key path and the line of the offending node, and so that nothing a
file says is silently ignored: unknown keys are errors, with the closest valid key suggested.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import NoReturn

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from flexsim.errors import ScenarioError
from flexsim.scenario import limits
from flexsim.scenario.catalog import CATALOG, catalog_rates, spelling_hint
from flexsim.scenario.hints import encoding_hint, key_hint, seasonality_hint, yaml_hint
from flexsim.scenario.model import (
    DEFAULT_TOKEN_PRICE,
    MONTHS,
    WEEKDAYS,
    Calendar,
    Costs,
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
    tier_price,
)
from flexsim.scenario.reading import compose, read_input
from flexsim.scenario.validation import storable

__all__ = ["load_scenario", "parse_scenario"]

_TAG = "tag:yaml.org,2002:"
_NULL, _BOOL, _INT, _FLOAT, _TIMESTAMP, _STR = (
    _TAG + t for t in ("null", "bool", "int", "float", "timestamp", "str")
)
_MERGE = _TAG + "merge"

# The schema: allowed keys per section (free-form mappings such as `products:` are checked apart).
TOP_KEYS = (
    "name", "start", "end", "days", "calendar", "products", "lots", "purchasing", "pools",
    "users", "seasonality", "events", "subscriptions", "costs", "simulation", "provenance",
)  # fmt: skip

CALENDAR_KEYS = ("workdays", "holidays")
LOT_KEYS = ("name", "date", "tokens", "price", "expires", "pool")
PURCHASING_KEYS = ("price_tiers", "reorder")
TIER_KEYS = ("min_tokens", "price")
REORDER_KEYS = ("pool", "below", "tokens", "lead_days", "max_orders", "price")
POOL_KEYS = ("name", "alert_below")
USER_KEYS = (
    "group", "name", "count", "products", "start_hour", "session_hours", "left_open",
    "idle_awareness", "variation", "active", "pool",
)  # fmt: skip
USE_KEYS = ("days_per_week", "left_open", "idle_awareness", "history")
HISTORY_KEYS = ("days_used", "workdays")
NORMAL_KEYS = ("mean", "sd")
ACTIVE_KEYS = ("from", "to")
EVENT_KEYS = ("name", "from", "to", "multiplier", "groups")
COSTS_KEYS = ("blocked_day", "token_price", "subscription_threshold")
SIMULATION_KEYS = ("runs", "seed")
PROVENANCE_KEYS = ("source", "backtest")
PROVENANCE_BACKTEST_KEYS = ("folds", "horizon", "covered", "pinball", "run_rate_pinball", "runs", "seed")
PROVENANCE_HORIZONS = ("1 month", "3 months", "6 months", "rest of file")

# Where a key belongs when someone writes it at the top level by mistake.
_SECTION_OF = {
    key: section
    for section, keys in (
        ("calendar", CALENDAR_KEYS),
        ("purchasing", PURCHASING_KEYS),
        ("costs", COSTS_KEYS),
        ("simulation", SIMULATION_KEYS),
    )
    for key in keys
}

_DEFAULT_POOL = "main"
_DEFAULT_ALERT = Threshold(percent=Fraction(20))
_DEFAULT_START_HOUR = Normal(9.0, 1.0)
_DEFAULT_SESSION_HOURS = Normal(6.0, 2.0)
_FULL_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_FULL_MONTHS = (
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december",
)  # fmt: skip
_WEEKDAY_NAMES = {name: i for names in (WEEKDAYS, _FULL_WEEKDAYS) for i, name in enumerate(names)}
_MONTH_NAMES = {name: i for names in (MONTHS, _FULL_MONTHS) for i, name in enumerate(names)} | {"sept": 8}
_PERCENT = re.compile(r"^\s*([+-]?\d+(?:\.\d+)?)\s*%\s*$")
_ISO_DATE = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})\s*$")
_CLOCK = re.compile(r"^\s*(\d{1,2}):([0-5]\d)\s*$")


# --------------------------------------------------------------------------------------------
# public API


def load_scenario(path: str | os.PathLike[str]) -> Scenario:
    """Read and validate a scenario file; any problem is a one-line `ScenarioError`."""
    source = os.fspath(path)
    raw = read_input(source)  # a regular file of a sane size, or one line saying why not
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ScenarioError(
            f"the file is not UTF-8 text (bad byte at offset {exc.start}){encoding_hint(raw)}",
            file=source,
            line=line,
        ) from None
    return parse_scenario(text, source)


def parse_scenario(text: str, source: str) -> Scenario:
    """Validate scenario YAML `text`; `source` names it in errors and gives the default name."""
    doc = _Doc(source)
    return _Builder(doc, doc.compose(text)).build()


# --------------------------------------------------------------------------------------------
# node access with located errors


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _line(node: Node | None) -> int | None:
    return node.start_mark.line + 1 if node is not None and node.start_mark is not None else None


def _is_null(node: Node | None) -> bool:
    return isinstance(node, ScalarNode) and node.tag == _NULL


def _short(value: str, limit: int = 40) -> str:
    value = " ".join(value.split())
    return value if len(value) <= limit else value[: limit - 3] + "..."


def _describe(node: Node) -> str:
    """What the user wrote, in words, for 'expected X, got Y' messages."""
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    value = _short(str(node.value))
    return {
        _NULL: "an empty value",
        _BOOL: f"the boolean {value!r}",
        _INT: f"the number {value}",
        _FLOAT: f"the number {value}",
        _TIMESTAMP: f"the date {value}",
    }.get(node.tag, f"the text {value!r}")


def _fmt(x: float) -> str:
    return f"{x:g}"


def _unknown_key_message(key: str, allowed: Sequence[str], section: str) -> str:
    hint = spelling_hint(key, allowed)
    if hint is not None:
        return f"unknown key {key!r}; did you mean {hint!r}?"
    if not section and key in _SECTION_OF:
        return f"unknown top-level key {key!r}; it belongs under {_SECTION_OF[key]}:"
    return f"unknown key {key!r}{key_hint(key)}; valid keys here: {', '.join(allowed)}"


class _Doc:
    """The source name plus typed readers of scalar nodes that fail with file, path and line."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._ctor = SafeConstructor()
        self.lines: dict[str, int | None] = {}  # key path as written -> line of its value
        self.aliases: dict[str, str] = {}  # the model's key path -> the one the file wrote

    def note(self, path: str, node: Node) -> None:
        self.lines.setdefault(path, _line(node))

    def locate(self, path: str) -> tuple[str, int | None]:
        """Where the file wrote the model's key `path` (for the model's own messages)."""
        for canonical in sorted(self.aliases, key=len, reverse=True):
            if path == canonical or path.startswith((canonical + ".", canonical + "[")):
                path = self.aliases[canonical] + path[len(canonical) :]
                break
        probe = path
        while probe:
            if probe in self.lines:
                return path, self.lines[probe]
            probe = re.sub(r"(\.[^.\[]*|\[\d+\])$", "", probe) if re.search(r"[.\[]", probe) else ""
        return path, None

    def fail(self, node: Node | None, path: str, message: str) -> NoReturn:
        raise ScenarioError(message, file=self.source, path=path, line=_line(node))

    def compose(self, text: str) -> Node:
        """The document's root node; YAML syntax problems become located errors."""
        try:
            root = compose(text, self.source)  # safe loader, nesting bounded
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            parts = [p for p in (exc.context, exc.problem) if p]
            message = "invalid YAML: " + ("; ".join(parts) or "syntax error")
            if exc.context_mark is not None and mark is not None and exc.context_mark.line != mark.line:
                message += f" (the construct began on line {exc.context_mark.line + 1})"
            message += yaml_hint(text, mark.line + 1 if mark else None)
            raise ScenarioError(message, file=self.source, line=mark.line + 1 if mark else None) from None
        except yaml.reader.ReaderError as exc:
            line = text.count("\n", 0, exc.position) + 1 if isinstance(exc.position, int) else None
            code = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "\0")
            raise ScenarioError(
                f"invalid YAML: {exc.reason} (character U+{code:04X})", file=self.source, line=line
            ) from None
        except yaml.YAMLError as exc:
            raise ScenarioError(f"invalid YAML: {exc}", file=self.source) from None
        if root is None or _is_null(root):
            raise ScenarioError(
                "the file is empty: a scenario needs at least start, end (or days) and lots",
                file=self.source,
                line=None,
            )
        return root

    # --- scalars ------------------------------------------------------------------------------

    def scalar(self, node: Node, path: str, expected: str) -> object:
        if not isinstance(node, ScalarNode) or node.tag == _NULL:
            self.fail(node, path, f"expected {expected}, got {_describe(node)}")
        try:
            return self._ctor.construct_object(node)
        except Exception:  # noqa: BLE001 - a tag's constructor fails in its own ways (!!int "")
            if node.tag == _TIMESTAMP:
                self.fail(node, path, f"{node.value!r} is not a valid date (expected YYYY-MM-DD)")
            tag = node.tag.replace(_TAG, "!!")
            self.fail(node, path, f"expected {expected}, got {_short(str(node.value))!r} tagged {tag}")

    def integer(self, node: Node, path: str, minimum: int | None = None) -> int:
        expected = {None: "a whole number", 0: "a whole number >= 0", 1: "a positive whole number"}.get(
            minimum, f"a whole number >= {minimum}"
        )
        if not isinstance(node, ScalarNode) or node.tag != _INT or ":" in node.value:
            if isinstance(node, ScalarNode) and node.tag == _FLOAT:
                self.fail(node, path, f"expected {expected}, got {_describe(node)} (not whole)")
            self.fail(node, path, f"expected {expected}, got {_describe(node)}")
        value = self.scalar(node, path, expected)
        assert isinstance(value, int)
        if minimum is not None and value < minimum:
            self.fail(node, path, f"must be {expected}, got {value}")
        if value > (top := limits.integer_limit(path)):  # before anything is built from it
            self.fail(node, path, limits.too_large(path, value, top))
        return value

    def number(
        self,
        node: Node,
        path: str,
        minimum: float | None = None,
        maximum: float | None = None,
        *,
        positive: bool = False,
        below: float | None = None,
    ) -> float:
        """A finite int or float (never a boolean) within the given bounds."""
        if positive:
            expected = "a positive number"
        elif minimum is not None and maximum is not None:
            expected = f"a number from {_fmt(minimum)} to {_fmt(maximum)}"
        elif minimum is not None and below is not None:
            expected = f"a number from {_fmt(minimum)} up to (not including) {_fmt(below)}"
        elif minimum is not None:
            expected = f"a number >= {_fmt(minimum)}"
        else:
            expected = "a number"
        if not isinstance(node, ScalarNode) or node.tag not in (_INT, _FLOAT) or ":" in node.value:
            self.fail(node, path, f"expected {expected}, got {_describe(node)}")
        value = float(self.scalar(node, path, expected))  # type: ignore[arg-type]
        if not math.isfinite(value):
            self.fail(node, path, f"expected {expected}, got {node.value}")
        out_of_range = (
            (positive and value <= 0)
            or (minimum is not None and value < minimum)
            or (maximum is not None and value > maximum)
            or (below is not None and value >= below)
        )
        if out_of_range:
            self.fail(node, path, f"must be {expected}, got {_fmt(value)}")
        return value

    def hours(self, node: Node, path: str, minimum: float, below: float | None) -> float:
        """Hours as a number, or as a clock time '8:30' (which YAML 1.1 would read as 510)."""
        if isinstance(node, ScalarNode) and (m := _CLOCK.match(node.value)):
            value = int(m.group(1)) + int(m.group(2)) / 60
            if value < minimum or (below is not None and value >= below):
                self.fail(node, path, f"{node.value} is not a time of day from 0:00 to 23:59")
            return value
        return self.number(node, path, minimum, below=below)

    def boolean(self, node: Node, path: str) -> bool:
        if not isinstance(node, ScalarNode) or node.tag != _BOOL:
            self.fail(node, path, f"expected true or false, got {_describe(node)}")
        return bool(self.scalar(node, path, "true or false"))

    def text(self, node: Node, path: str, what: str = "a name") -> str:
        """A non-empty name, exactly as written (so `name: 2027` is the text '2027')."""
        if not isinstance(node, ScalarNode) or node.tag == _NULL:
            self.fail(node, path, f"expected {what}, got {_describe(node)}")
        value = str(node.value).strip()
        if not value:
            self.fail(node, path, f"expected {what}, got an empty text")
        return value

    def date(self, node: Node, path: str) -> date:
        """A date from a YAML timestamp or a quoted 'YYYY-MM-DD' string."""
        expected = "a date like 2027-01-01"
        if isinstance(node, ScalarNode) and node.tag == _TIMESTAMP:
            value = self.scalar(node, path, expected)
            if isinstance(value, datetime):
                if (value.hour, value.minute, value.second, value.microsecond) != (0, 0, 0, 0):
                    self.fail(node, path, f"expected {expected} without a time of day, got {node.value!r}")
                return value.date()
            assert isinstance(value, date)
            return value
        if isinstance(node, ScalarNode) and node.tag == _STR:
            m = _ISO_DATE.match(node.value)
            if m is None:
                self.fail(node, path, f"expected {expected}, got {_describe(node)}")
            try:
                return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError:
                self.fail(node, path, f"{node.value.strip()!r} is not a valid date (expected YYYY-MM-DD)")
        self.fail(node, path, f"expected {expected}, got {_describe(node)}")

    def threshold(self, node: Node, path: str) -> Threshold:
        """'20%' / '12.5 %' (share of tokens bought so far) or a whole token count >= 0."""
        if isinstance(node, ScalarNode) and node.tag == _INT:
            return Threshold(tokens=self.integer(node, path, 0))
        if isinstance(node, ScalarNode) and node.tag == _STR and (m := _PERCENT.match(node.value)):
            percent = Fraction(m.group(1))
            if percent < 0:
                self.fail(node, path, f"a percentage can't be below 0%, got {node.value.strip()}")
            if percent > 100:
                self.fail(node, path, f"a percentage can't be above 100%, got {node.value.strip()}")
            return Threshold(percent=percent)
        hint = " (not whole)" if isinstance(node, ScalarNode) and node.tag == _FLOAT else ""
        self.fail(
            node,
            path,
            f"expected a percentage like '20%' or a whole token count like 500, got {_describe(node)}{hint}",
        )

    def probability(self, node: Node, path: str) -> float:
        """A chance from 0 to 1, or a percentage string like '5%'."""
        if isinstance(node, ScalarNode) and node.tag == _STR and (m := _PERCENT.match(node.value)):
            percent = Fraction(m.group(1))
            if not 0 <= percent <= 100:
                self.fail(node, path, f"a percentage must be from 0% to 100%, got {node.value.strip()}")
            return float(percent / 100)
        return self.number(node, path, 0.0, 1.0)

    # --- containers ----------------------------------------------------------------------------

    def seq(self, node: Node, path: str, what: str = "a list") -> list[Node]:
        if not isinstance(node, SequenceNode):
            self.fail(node, path, f"expected {what}, got {_describe(node)}")
        for i, item in enumerate(node.value):
            self.note(f"{path}[{i}]", item)
        return list(node.value)

    def mapping(self, node: Node, path: str, allowed: Sequence[str] | None, what: str = "a mapping") -> _Map:
        return _Map(self, node, path, allowed, what)


class _Map:
    """A YAML mapping checked for unknown and duplicate keys, keeping nodes for line numbers."""

    def __init__(
        self, doc: _Doc, node: Node, path: str, allowed: Sequence[str] | None, what: str = "a mapping"
    ) -> None:
        if not isinstance(node, MappingNode):
            doc.fail(node, path, f"expected {what}, got {_describe(node)}")
        self.doc, self.node, self.path = doc, node, path
        self.entries: dict[str, tuple[Node, Node]] = {}
        own: list[tuple[Node, Node]] = []
        inherited: dict[str, tuple[Node, Node]] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:  # `<<: *anchor` merges another mapping's keys
                for name, pair in self._merged(value_node, set()):
                    inherited.setdefault(name, pair)
            else:
                own.append((key_node, value_node))
        for key_node, value_node in own:
            if not isinstance(key_node, ScalarNode) or _is_null(key_node):
                doc.fail(key_node, path, f"expected a key name, got {_describe(key_node)}")
            key = str(key_node.value)
            key_path = _join(path, key)
            if key in self.entries:
                first = _line(self.entries[key][0])
                doc.fail(key_node, key_path, f"duplicate key {key!r} (first given on line {first})")
            if allowed is not None and key not in allowed:
                doc.fail(key_node, key_path, _unknown_key_message(key, allowed, path))
            self.entries[key] = (key_node, value_node)
            doc.note(key_path, value_node)
        for key, pair in inherited.items():
            if key not in self.entries:
                if allowed is not None and key not in allowed:
                    doc.fail(pair[0], _join(path, key), _unknown_key_message(key, allowed, path))
                self.entries[key] = pair
                doc.note(_join(path, key), pair[1])

    def _merged(self, node: Node, seen: set[int]) -> Iterator[tuple[str, tuple[Node, Node]]]:
        if id(node) in seen:
            return
        seen.add(id(node))
        if isinstance(node, SequenceNode):
            for item in node.value:
                yield from self._merged(item, seen)
            return
        if not isinstance(node, MappingNode):
            self.doc.fail(node, self.path, f"'<<' must merge a mapping, got {_describe(node)}")
        for key_node, value_node in node.value:  # a mapping's own keys beat what it merges itself
            if key_node.tag != _MERGE and isinstance(key_node, ScalarNode):
                yield str(key_node.value), (key_node, value_node)
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                yield from self._merged(value_node, seen)

    def __iter__(self) -> Iterator[tuple[str, Node, Node]]:
        for key, (key_node, value_node) in self.entries.items():
            yield key, key_node, value_node

    def __len__(self) -> int:
        return len(self.entries)

    def at(self, key: str) -> str:
        return _join(self.path, key)

    def get(self, key: str) -> Node | None:
        """The value node, or None when the key is absent or left empty (meaning: the default)."""
        pair = self.entries.get(key)
        if pair is None or _is_null(pair[1]):
            return None
        return pair[1]

    def need(self, key: str, hint: str = "") -> Node:
        pair = self.entries.get(key)
        if pair is None:
            self.doc.fail(self.node, self.at(key), f"missing required key {key!r}{hint}")
        if _is_null(pair[1]):
            self.doc.fail(pair[1], self.at(key), f"{key!r} needs a value{hint}")
        return pair[1]


# --------------------------------------------------------------------------------------------
# the schema walk


class _Builder:
    """Walks the root mapping section by section, in an order that lets later sections be
    checked against earlier ones (pools before the lots and people that name them)."""

    def __init__(self, doc: _Doc, root: Node) -> None:
        self.doc = doc
        self.top = _Map(doc, root, "", TOP_KEYS, what="a mapping of scenario keys (start, lots, users, ...)")
        self.pools_given = False
        self.pool_names: list[str] = [_DEFAULT_POOL]

    def build(self) -> Scenario:
        top = self.top
        name_node = top.get("name")
        name = (
            self.doc.text(name_node, "name")
            if name_node is not None
            else storable(Path(self.doc.source).stem)
        )
        start, end = self._horizon()
        calendar = self._calendar()
        products = self._products()
        price_tiers, reorder_node = self._purchasing()
        pools = self._pools()
        lots = self._lots(start, end, price_tiers)
        reorders = self._reorders(reorder_node)
        groups = self._users(products)
        seasonality = self._seasonality()
        events = self._events(groups)
        subscriptions = self._subscriptions(products)
        costs = self._costs()
        runs, seed = self._simulation()
        provenance = self._provenance()
        return Scenario(
            name=name,
            start=start,
            end=end,
            products=products,
            lots=lots,
            pools=pools,
            groups=groups,
            calendar=calendar,
            price_tiers=price_tiers,
            reorders=reorders,
            seasonality=seasonality,
            events=events,
            subscriptions=subscriptions,
            costs=costs,
            runs=runs,
            seed=seed,
            source=self.doc.source,
            provenance=provenance,
        ).validate(self.doc.locate)

    # --- horizon and calendar -------------------------------------------------------------------

    def _horizon(self) -> tuple[date, date]:
        doc, top = self.doc, self.top
        start = doc.date(top.need("start"), "start")
        end_node, days_node = top.get("end"), top.get("days")
        if end_node is not None and days_node is not None:
            doc.fail(days_node, "days", "give either 'end' or 'days', not both")
        if end_node is None and days_node is None:
            doc.fail(top.node, "end", "missing required key 'end' (or 'days: N')")
        if days_node is not None:
            doc.aliases["end"] = "days"
            days = doc.integer(days_node, "days", 1)
            if days > limits.MAX_DAYS:
                doc.fail(days_node, "days", f"{days} days is too long: at most {limits.MAX_DAYS} (20 years)")
            try:
                return start, start + timedelta(days=days - 1)
            except OverflowError:
                doc.fail(days_node, "days", f"{days} days from {start} runs past the year 9999")
        assert end_node is not None
        return start, doc.date(end_node, "end")

    def _calendar(self) -> Calendar:
        doc = self.doc
        node = self.top.get("calendar")
        if node is None:
            return Calendar()
        cal = doc.mapping(node, "calendar", CALENDAR_KEYS)
        workdays: tuple[int, ...] = Calendar().workdays
        if (wd_node := cal.get("workdays")) is not None:
            seen: dict[int, Node] = {}
            path = cal.at("workdays")
            items = doc.seq(wd_node, path, "a list of weekdays like [mon, tue, wed, thu, fri]")
            if not items:
                doc.fail(wd_node, path, "needs at least one workday")
            for i, item in enumerate(items):
                item_path = f"{path}[{i}]"
                word = doc.text(item, item_path, "a weekday (mon..sun)").lower()
                if word not in _WEEKDAY_NAMES:
                    hint = spelling_hint(word, WEEKDAYS)
                    extra = f"; did you mean {hint!r}?" if hint else ""
                    doc.fail(item, item_path, f"unknown weekday {item.value!r}: use mon..sun{extra}")
                number = _WEEKDAY_NAMES[word]
                if number in seen:
                    doc.fail(item, item_path, f"{WEEKDAYS[number]} is listed twice")
                seen[number] = item
            workdays = tuple(sorted(seen))
        holidays: set[date] = set()
        if (hol_node := cal.get("holidays")) is not None:
            path = cal.at("holidays")
            for i, item in enumerate(doc.seq(hol_node, path, "a list of dates")):
                holidays.add(doc.date(item, f"{path}[{i}]"))
        return Calendar(workdays=workdays, holidays=frozenset(holidays))

    # --- products and purchasing ----------------------------------------------------------------

    def _products(self) -> dict[str, int]:
        doc = self.doc
        rates = catalog_rates()
        node = self.top.get("products")
        if node is None:
            return rates
        section = doc.mapping(node, "products", None, "a mapping of product name -> tokens per day")
        for product, key_node, value_node in section:
            path = section.at(product)
            if not product.strip():
                doc.fail(key_node, path, "a product needs a name")
            if product not in CATALOG:
                hint = spelling_hint(product, CATALOG)
                if hint is not None and hint.casefold() == product.casefold():
                    doc.fail(
                        key_node,
                        path,
                        f"product names are case-sensitive: the catalogue spells it {hint!r}",
                    )
            if _is_null(value_node):
                doc.fail(value_node, path, "needs a rate in tokens per 24-hour window")
            rates[product] = doc.integer(value_node, path, 1)
        return rates

    def _purchasing(self) -> tuple[tuple[PriceTier, ...], Node | None]:
        doc = self.doc
        node = self.top.get("purchasing")
        if node is None:
            return (), None
        section = doc.mapping(node, "purchasing", PURCHASING_KEYS)
        tiers: list[PriceTier] = []
        if (tiers_node := section.get("price_tiers")) is not None:
            path = section.at("price_tiers")
            seen: dict[int, int] = {}
            for i, item in enumerate(doc.seq(tiers_node, path, "a list of {min_tokens, price}")):
                item_path = f"{path}[{i}]"
                tier = doc.mapping(item, item_path, TIER_KEYS, "a mapping {min_tokens, price}")
                min_node = tier.need("min_tokens")
                min_tokens = doc.integer(min_node, tier.at("min_tokens"), 0)
                if min_tokens in seen:
                    doc.fail(
                        min_node,
                        tier.at("min_tokens"),
                        f"min_tokens {min_tokens} is already used by price_tiers[{seen[min_tokens]}]",
                    )
                seen[min_tokens] = i
                price = doc.number(tier.need("price"), tier.at("price"), positive=True)
                tiers.append(PriceTier(min_tokens, price))
        return tuple(tiers), section.get("reorder")

    # --- pools, lots, reorders --------------------------------------------------------------------

    def _pools(self) -> tuple[Pool, ...]:
        doc = self.doc
        node = self.top.get("pools")
        if node is None:
            return (Pool(_DEFAULT_POOL),)
        self.pools_given = True
        items = doc.seq(node, "pools", "a list of {name, alert_below}")
        if not items:
            doc.fail(
                node, "pools", f"needs at least one pool (or leave the section out for one {_DEFAULT_POOL!r})"
            )
        pools: list[Pool] = []
        seen: dict[str, int] = {}
        for i, item in enumerate(items):
            path = f"pools[{i}]"
            entry = doc.mapping(item, path, POOL_KEYS, "a mapping {name, alert_below}")
            name_node = entry.need("name")
            name = doc.text(name_node, entry.at("name"))
            if name in seen:
                doc.fail(
                    name_node, entry.at("name"), f"pool {name!r} is already defined in pools[{seen[name]}]"
                )
            seen[name] = i
            alert_node = entry.get("alert_below")
            alert = (
                doc.threshold(alert_node, entry.at("alert_below"))
                if alert_node is not None
                else _DEFAULT_ALERT
            )
            pools.append(Pool(name, alert))
        self.pool_names = list(seen)
        return tuple(pools)

    def _pool_ref(self, entry: _Map) -> str:
        """The pool an entry names (default main), which must be defined."""
        node = entry.get("pool")
        if node is None:
            name, node, path = _DEFAULT_POOL, entry.node, entry.at("pool")
        else:
            path = entry.at("pool")
            name = self.doc.text(node, path, "a pool name")
        if name in self.pool_names:
            return name
        if not self.pools_given:
            self.doc.fail(
                node,
                path,
                f"pool {name!r} is not defined: without a pools: section the only pool is {_DEFAULT_POOL!r}",
            )
        hint = spelling_hint(name, self.pool_names)
        extra = f"; did you mean {hint!r}?" if hint else f" (listed: {', '.join(self.pool_names)})"
        what = f"the default pool {name!r}" if entry.get("pool") is None else f"pool {name!r}"
        self.doc.fail(node, path, f"{what} is not listed in pools{extra}")

    def _lots(self, start: date, end: date, tiers: tuple[PriceTier, ...]) -> tuple[Lot, ...]:
        doc = self.doc
        node = self.top.need("lots", " (a list of token packs)")
        items = doc.seq(node, "lots", "a list of token packs {date, tokens, ...}")
        lots: list[Lot] = []
        names: dict[str, int] = {}
        for i, item in enumerate(items):
            path = f"lots[{i}]"
            entry = doc.mapping(item, path, LOT_KEYS, "a mapping {name, date, tokens, price, expires, pool}")
            name_node = entry.get("name")
            name = doc.text(name_node, entry.at("name")) if name_node is not None else f"lot-{i + 1}"
            if name in names:
                where = name_node if name_node is not None else item
                doc.fail(where, entry.at("name"), f"lot name {name!r} is already used by lots[{names[name]}]")
            names[name] = i
            date_node = entry.need("date")
            bought = doc.date(date_node, entry.at("date"))
            tokens = doc.integer(entry.need("tokens"), entry.at("tokens"), 1)
            price_node = entry.get("price")
            if price_node is not None:
                price = doc.number(price_node, entry.at("price"), positive=True)
            else:
                price = tier_price(tiers, tokens)
            expires_node = entry.get("expires")
            if expires_node is not None:
                expires = doc.date(expires_node, entry.at("expires"))
            else:
                try:
                    expires = one_year_after(bought)
                except ValueError:
                    doc.fail(date_node, entry.at("date"), f"one year after {bought} is out of range")
                if expires <= start:
                    doc.fail(
                        date_node,
                        entry.at("date"),
                        f"this lot expired before start: bought {bought}, it expired {expires} "
                        f"(one year later), start is {start}",
                    )
            pool = self._pool_ref(entry)
            lots.append(Lot(name, bought, tokens, price, expires, pool, price_given=price_node is not None))
        return tuple(lots)

    def _reorders(self, node: Node | None) -> tuple[Reorder, ...]:
        doc = self.doc
        if node is None:
            return ()
        path = "purchasing.reorder"
        if isinstance(node, MappingNode):
            entries = [doc.mapping(node, path, REORDER_KEYS)]
            doc.aliases[f"{path}[0]"] = path
        else:
            items = doc.seq(node, path, "a mapping {below, tokens, ...} or a list of them with pool: keys")
            entries = [
                doc.mapping(item, f"{path}[{i}]", REORDER_KEYS, "a mapping {pool, below, tokens, ...}")
                for i, item in enumerate(items)
            ]
            for entry in entries:
                entry.need("pool", " (each reorder of a list names its pool)")
        reorders: list[Reorder] = []
        seen: dict[str, str] = {}
        for entry in entries:
            pool = self._pool_ref(entry)
            if pool in seen:
                where = entry.get("pool") or entry.node
                doc.fail(
                    where, entry.at("pool"), f"pool {pool!r} already has a reorder policy ({seen[pool]})"
                )
            seen[pool] = entry.path
            below_node = entry.need("below")
            below = doc.threshold(below_node, entry.at("below"))
            tokens = doc.integer(entry.need("tokens"), entry.at("tokens"), 1)
            lead_node = entry.get("lead_days")
            lead_days = doc.integer(lead_node, entry.at("lead_days"), 0) if lead_node is not None else 0
            max_node = entry.get("max_orders")
            max_orders = doc.integer(max_node, entry.at("max_orders"), 1) if max_node is not None else None
            price_node = entry.get("price")
            price = (
                doc.number(price_node, entry.at("price"), positive=True) if price_node is not None else None
            )
            reorders.append(Reorder(pool, below, tokens, lead_days, max_orders, price))
        return tuple(reorders)

    # --- people ---------------------------------------------------------------------------------

    def _users(self, products: dict[str, int]) -> tuple[Group, ...]:
        doc = self.doc
        node = self.top.get("users")
        if node is None:
            return ()
        groups: list[Group] = []
        names: dict[str, str] = {}  # group / named-person name -> where
        people: dict[str, str] = {}  # person name -> where
        for i, item in enumerate(doc.seq(node, "users", "a list of groups and named people")):
            path = f"users[{i}]"
            entry = doc.mapping(item, path, USER_KEYS, "a mapping with group: or name:")
            group_node, person_node = entry.get("group"), entry.get("name")
            if group_node is not None and person_node is not None:
                doc.fail(
                    person_node,
                    entry.at("name"),
                    "give either group: (several alike people) or name: (one person), not both",
                )
            if group_node is None and person_node is None:
                doc.fail(
                    item,
                    entry.at("group"),
                    "missing required key 'group' (a group of people) or 'name' (one person)",
                )
            named = person_node is not None
            key = "name" if named else "group"
            name_node = person_node if named else group_node
            assert name_node is not None
            name = doc.text(name_node, entry.at(key))
            if name in names:
                doc.fail(name_node, entry.at(key), f"{name!r} is already used by {names[name]}")
            names[name] = path
            count_node = entry.get("count")
            count = 1
            if count_node is not None:
                count = doc.integer(count_node, entry.at("count"), 1)
                if named and count != 1:
                    doc.fail(
                        count_node, entry.at("count"), "a named person is one person; use group: for several"
                    )
            uses = self._uses(entry, products)
            start_hour = self._normal(entry, "start_hour", _DEFAULT_START_HOUR, clock=True)
            session_hours = self._normal(entry, "session_hours", _DEFAULT_SESSION_HOURS, clock=False)
            lo_node = entry.get("left_open")
            left_open = doc.probability(lo_node, entry.at("left_open")) if lo_node is not None else 0.0
            ia_node = entry.get("idle_awareness")
            idle = doc.boolean(ia_node, entry.at("idle_awareness")) if ia_node is not None else True
            var_node = entry.get("variation")
            variation = doc.number(var_node, entry.at("variation"), 0.0) if var_node is not None else 0.0
            active_from, active_to = self._active(entry)
            pool = self._pool_ref(entry)
            group = Group(
                name=name,
                products=uses,
                count=count,
                named=named,
                start_hour=start_hour,
                session_hours=session_hours,
                left_open=left_open,
                idle_awareness=idle,
                variation=variation,
                active_from=active_from,
                active_to=active_to,
                pool=pool,
            )
            for person in group.people():
                if person in people:
                    doc.fail(
                        name_node, entry.at(key), f"person {person!r} is already defined by {people[person]}"
                    )
                people[person] = path
            groups.append(group)
        return tuple(groups)

    def _uses(self, entry: _Map, products: dict[str, int]) -> tuple[ProductUse, ...]:
        doc = self.doc
        node = entry.need("products", " (product -> {days_per_week: N})")
        section = doc.mapping(node, entry.at("products"), None, "a mapping product -> {days_per_week: N}")
        if not len(section):
            doc.fail(node, entry.at("products"), "needs at least one product")
        uses: list[ProductUse] = []
        for product, key_node, value_node in section:
            path = section.at(product)
            self._check_product(product, key_node, path, products)
            if isinstance(value_node, ScalarNode) and value_node.tag in (_INT, _FLOAT):
                uses.append(ProductUse(product, doc.number(value_node, path, 0.0, 7.0)))  # shorthand
                doc.aliases[f"{path}.days_per_week"] = path
                continue
            use = doc.mapping(value_node, path, USE_KEYS, "a mapping {days_per_week: N}")
            dpw = doc.number(use.need("days_per_week"), use.at("days_per_week"), 0.0, 7.0)
            lo_node = use.get("left_open")
            left_open = doc.probability(lo_node, use.at("left_open")) if lo_node is not None else None
            ia_node = use.get("idle_awareness")
            idle = doc.boolean(ia_node, use.at("idle_awareness")) if ia_node is not None else None
            hist_node = use.get("history")
            history = self._history(hist_node, use.at("history")) if hist_node is not None else None
            uses.append(ProductUse(product, dpw, left_open, idle, history))
        return tuple(uses)

    def _history(self, node: Node, path: str) -> History:
        doc = self.doc
        section = doc.mapping(node, path, HISTORY_KEYS, "a mapping {days_used, workdays}")
        used = doc.integer(section.need("days_used"), section.at("days_used"), 0)
        return History(used, doc.integer(section.need("workdays"), section.at("workdays"), 0))

    def _check_product(self, product: str, node: Node, path: str, products: dict[str, int]) -> None:
        if product in products:
            return
        hint = spelling_hint(product, products)
        if hint is not None and hint.casefold() == product.casefold():
            self.doc.fail(
                node, path, f"unknown product {product!r}; product names are case-sensitive: write {hint!r}"
            )
        extra = f"; did you mean {hint!r}?" if hint else ""
        self.doc.fail(
            node,
            path,
            f"unknown product {product!r}{extra} (to add a product, give its rate under products:)",
        )

    def _normal(self, entry: _Map, key: str, default: Normal, *, clock: bool) -> Normal:
        doc = self.doc
        node = entry.get(key)
        if node is None:
            return default
        section = doc.mapping(node, entry.at(key), NORMAL_KEYS, "a mapping {mean, sd} in hours")
        mean_node, sd_node = section.get("mean"), section.get("sd")
        mean = default.mean
        if mean_node is not None:
            below = 24.0 if clock else None
            mean = doc.hours(mean_node, section.at("mean"), 0.0, below)
        sd = doc.number(sd_node, section.at("sd"), 0.0) if sd_node is not None else default.sd
        return Normal(mean, sd)

    def _active(self, entry: _Map) -> tuple[date | None, date | None]:
        doc = self.doc
        node = entry.get("active")
        if node is None:
            return None, None
        section = doc.mapping(node, entry.at("active"), ACTIVE_KEYS, "a mapping {from, to} of dates")
        from_node, to_node = section.get("from"), section.get("to")
        first = doc.date(from_node, section.at("from")) if from_node is not None else None
        return first, doc.date(to_node, section.at("to")) if to_node is not None else None

    # --- usage patterns and costs ----------------------------------------------------------------

    def _seasonality(self) -> tuple[float, ...]:
        doc = self.doc
        node = self.top.get("seasonality")
        factors = [1.0] * 12
        if node is None:
            return tuple(factors)
        section = doc.mapping(node, "seasonality", None, "a mapping of months (jan..dec) to multipliers")
        seen: dict[int, str] = {}
        for month, key_node, value_node in section:
            path = section.at(month)
            number = _MONTH_NAMES.get(month.strip().lower())
            if number is None:
                hint = spelling_hint(month, MONTHS)
                extra = f"; did you mean {hint!r}?" if hint else ""
                doc.fail(key_node, path, f"unknown month {month!r}: use jan..dec{extra}")
            if number in seen:
                doc.fail(key_node, path, f"{MONTHS[number]} is already given as {seen[number]!r}")
            seen[number] = month
            if isinstance(value_node, ScalarNode) and (hint := seasonality_hint(value_node.value)):
                doc.fail(value_node, path, hint)
            factors[number] = doc.number(value_node, path, 0.0)
        return tuple(factors)

    def _events(self, groups: tuple[Group, ...]) -> tuple[Event, ...]:
        doc = self.doc
        node = self.top.get("events")
        if node is None:
            return ()
        known = [g.name for g in groups]
        events: list[Event] = []
        for i, item in enumerate(doc.seq(node, "events", "a list of {name, from, to, multiplier}")):
            path = f"events[{i}]"
            entry = doc.mapping(item, path, EVENT_KEYS, "a mapping {name, from, to, multiplier, groups}")
            name_node = entry.get("name")
            name = doc.text(name_node, entry.at("name")) if name_node is not None else f"event-{i + 1}"
            first = doc.date(entry.need("from"), entry.at("from"))
            last = doc.date(entry.need("to"), entry.at("to"))
            multiplier = doc.number(entry.need("multiplier"), entry.at("multiplier"), 0.0)
            names: tuple[str, ...] | None = None
            if (groups_node := entry.get("groups")) is not None:
                gpath = entry.at("groups")
                names_list: list[str] = []
                for j, g in enumerate(doc.seq(groups_node, gpath, "a list of group or person names")):
                    gname = doc.text(g, f"{gpath}[{j}]", "a group or person name")
                    if gname not in known:
                        hint = spelling_hint(gname, known)
                        extra = f"; did you mean {hint!r}?" if hint else ""
                        doc.fail(
                            g, f"{gpath}[{j}]", f"no group or named person {gname!r} under users:{extra}"
                        )
                    names_list.append(gname)
                names = tuple(names_list)
            events.append(Event(name, first, last, multiplier, names))
        return tuple(events)

    def _subscriptions(self, products: dict[str, int]) -> dict[str, float]:
        doc = self.doc
        node = self.top.get("subscriptions")
        if node is None:
            return {}
        section = doc.mapping(node, "subscriptions", None, "a mapping product -> annual price (USD)")
        prices: dict[str, float] = {}
        for product, key_node, value_node in section:
            path = section.at(product)
            self._check_product(product, key_node, path, products)
            prices[product] = doc.number(value_node, path, positive=True)
        return prices

    def _costs(self) -> Costs:
        doc = self.doc
        node = self.top.get("costs")
        if node is None:
            return Costs()
        section = doc.mapping(node, "costs", COSTS_KEYS)
        bd_node, tp_node = section.get("blocked_day"), section.get("token_price")
        blocked_day = doc.number(bd_node, section.at("blocked_day"), 0.0) if bd_node is not None else None
        token_price = (
            doc.number(tp_node, section.at("token_price"), positive=True)
            if tp_node is not None
            else DEFAULT_TOKEN_PRICE
        )
        th_node = section.get("subscription_threshold")
        threshold = (
            doc.probability(th_node, section.at("subscription_threshold")) if th_node is not None else 0.5
        )
        return Costs(blocked_day=blocked_day, token_price=token_price, subscription_threshold=threshold)

    def _simulation(self) -> tuple[int, int]:
        doc = self.doc
        node = self.top.get("simulation")
        if node is None:
            return Scenario.runs, Scenario.seed
        section = doc.mapping(node, "simulation", SIMULATION_KEYS)
        runs_node, seed_node = section.get("runs"), section.get("seed")
        runs = doc.integer(runs_node, section.at("runs"), 1) if runs_node is not None else Scenario.runs
        seed = doc.integer(seed_node, section.at("seed"), 0) if seed_node is not None else Scenario.seed
        return runs, seed

    def _provenance(self) -> dict[str, object]:
        """Where a calibrated scenario came from and how it did on its own history
        (`calibrate --backtest`): read so that `run` can say so, never simulated."""
        doc = self.doc
        node = self.top.get("provenance")
        if node is None:
            return {}
        section = doc.mapping(node, "provenance", PROVENANCE_KEYS)
        out: dict[str, object] = {}
        if (source_node := section.get("source")) is not None:
            out["source"] = doc.text(source_node, section.at("source"), "a file name")
        if (bt_node := section.get("backtest")) is None:
            return out
        bt = doc.mapping(bt_node, section.at("backtest"), PROVENANCE_BACKTEST_KEYS)
        folds = doc.integer(bt.need("folds"), bt.at("folds"), 1)
        horizon_node = bt.need("horizon")
        horizon = doc.text(horizon_node, bt.at("horizon"), "a horizon")
        if horizon not in PROVENANCE_HORIZONS:
            doc.fail(horizon_node, bt.at("horizon"), f"expected one of {', '.join(PROVENANCE_HORIZONS)}")
        covered_node = bt.need("covered")
        covered = doc.integer(covered_node, bt.at("covered"), 0)
        if covered > folds:
            doc.fail(covered_node, bt.at("covered"), f"covered {covered} is more than the {folds} folds")
        record: dict[str, object] = {
            "folds": folds,
            "horizon": horizon,
            "covered": covered,
            "pinball": doc.integer(bt.need("pinball"), bt.at("pinball"), 0),
            "runs": doc.integer(bt.need("runs"), bt.at("runs"), 1),
            "seed": doc.integer(bt.need("seed"), bt.at("seed"), 0),
        }
        if (rr_node := bt.get("run_rate_pinball")) is not None:
            record["run_rate_pinball"] = doc.integer(rr_node, bt.at("run_rate_pinball"), 0)
        out["backtest"] = record
        return out
