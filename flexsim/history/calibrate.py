"""From a Token Usage export to a scenario: rates, people, seasons, teams and packs, and the
evidence behind each number (which `flexsim.history.calibrate_yaml` writes beside it as a YAML
comment).

What is fitted, and how (docs/tutorial-from-export.md tells the same in plain words):
- **Rates**: per product, the most common tokens per row over the rows with tokens > 0 (ties:
  the smaller). A product never charged in the whole export is left out.
- **People**: one named person per distinct user. A person is observable from the day after
  their first row (the first day says when they appeared, not how often they work) to the last
  day of the history; `workdays` counts the Monday-to-Friday days of that window, `days_used`
  the days with a row for the product (a row with 0 tokens is a launch too: flexsim charges
  launches by the same window rules, and a short one is free). days_per_week = 5 x days_used /
  workdays (workdays weighted by the fitted season, when there is one), written with `history:`
  so that each run spreads the rate by how much history backs it.
- **Seasonality**: when every calendar month has at least three weeks of workdays inside the
  history, monthly multipliers pooled over everyone, each month's shrunk towards 1 as if it had
  `SEASON_PRIOR_DAYS` more person-days at the yearly rate, and weighted to average 1 over the
  forecast year's workdays (so days_per_week stays a yearly mean).
- **Teams** become pools; a user seen in several teams belongs to the one with most rows.
- **Packs** come from a packs CSV. A pack bought before `start` is replayed through the export's
  usage in flexsim's draw order, and the scenario gets what is left of it at `start`.
"""

from __future__ import annotations

import datetime
import math
import os
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

import numpy as np

from flexsim.defaults import DEFAULT_POOL
from flexsim.engine.ledger import draw_order
from flexsim.errors import CalibrationError, UsageFileError
from flexsim.history.usage_export import Dates, Usage, read_table, whole_tokens
from flexsim.scenario import limits
from flexsim.scenario.catalog import (
    CATALOG,
    CATALOG_DATE,
    SUBSCRIPTION_LIST_PRICES,
    catalog_rates,
    spelling_hint,
)
from flexsim.scenario.model import (
    MONTHS,
    Group,
    History,
    Lot,
    Pool,
    ProductUse,
    Scenario,
    one_year_after,
    tier_price,
)
from flexsim.scenario.validation import storable

WORKDAYS_PER_WEEK = 5  # the export does not say which days are workdays: Monday to Friday
SHORT_HISTORY = 60  # workdays (12 weeks): below this a rate is flagged as uncertain
GONE_AFTER = 40  # workdays without a row at the end of the history: flagged as possibly gone
SEASON_MIN_WORKDAYS = 15  # per calendar month inside the history, for seasonality to be fitted
SEASON_PRIOR_DAYS = 20.0  # shrinkage of each month's multiplier towards 1, in person-days


# --------------------------------------------------------------------------------------------
# the fit


@dataclass
class FittedUse:
    product: str
    days_per_week: float
    days_used: int  # counted after the first day seen, at most `workdays`
    workdays: int


@dataclass
class FittedPerson:
    name: str
    pool: str
    first_seen: date
    last_seen: date
    workdays: int  # observable workdays: after the first day seen, to the end of the history
    quiet: int  # workdays after the last day seen, to the end of the history
    uses: list[FittedUse] = field(default_factory=list)

    @property
    def short(self) -> bool:
        return self.workdays < SHORT_HISTORY

    @property
    def gone(self) -> bool:
        """Silent for long at the end of the history: perhaps no longer with the firm."""
        return self.quiet >= GONE_AFTER

    def comments(self) -> list[str]:
        """Flags worth a comment line above the person in the scenario."""
        out = []
        if self.workdays == 0:
            out.append(
                "first seen at the very end of the history: days_per_week is the mean of the "
                "others who use each product, a guess (history: says so)"
            )
        elif self.short:
            out.append(
                f"SHORT HISTORY: {self.workdays} workdays (under {SHORT_HISTORY}): the rate is "
                "uncertain, and the forecast spreads it (history:)"
            )
        if self.gone:
            out.append(
                f"no usage in the last {self.quiet} workdays of the history: has this person "
                "left? If so, delete them"
            )
        return out


@dataclass
class Fit:
    """Everything fitted from the export, before it is written as YAML."""

    rates: dict[str, int]
    rate_comments: dict[str, str]
    people: list[FittedPerson]
    pools: list[str]
    seasonality: list[float] | None  # 12 multipliers, jan..dec
    season_comment: str
    history_start: date
    history_end: date
    notes: list[str]


def _rates(usage: Usage, notes: list[str]) -> tuple[dict[str, int], dict[str, str]]:
    """Per product: the most common tokens per row over rows with tokens > 0 (ties: smaller)."""
    per_row: dict[str, Counter] = defaultdict(Counter)
    products: list[str] = []
    for r in usage.rows:
        if r.product not in per_row:
            products.append(r.product)
        per_row[r.product][r.tokens] += 1
    rates, comments = {}, {}
    for product in sorted(products):
        counts = per_row[product]
        charged = {t: n for t, n in counts.items() if t > 0}
        if not charged:
            notes.append(
                f"{product}: never charged in the export ({counts[0]} rows, all 0 tokens): "
                "left out of the scenario"
            )
            continue
        rate = min(charged, key=lambda t: (-charged[t], t))
        rows = sum(charged.values())
        rates[product] = rate
        comment = f"{rows:,} rows with tokens, {charged[rate] / rows:.0%} of them at {rate}"
        entry = CATALOG.get(product)
        if entry is None:
            comment += "; not in flexsim's catalogue"
        elif entry.rate != rate:
            status = "confirmed" if entry.confirmed else "an estimate"
            comment += f"; flexsim's catalogue ({CATALOG_DATE}) says {entry.rate}"
            notes.append(
                f"warning: {product}: the export charges {rate} tokens a day (the most common "
                f"charge over {rows:,} rows); flexsim's catalogue ({CATALOG_DATE}, {status}) says "
                f"{entry.rate}. The scenario uses {rate}"
            )
        else:
            comment += "; as in flexsim's catalogue"
        comments[product] = comment
    return rates, comments


def _workday_months(first: date, last: date) -> tuple[np.ndarray, np.ndarray]:
    """For every day from `first` to `last`: is it Monday to Friday, and its month (0-11)."""
    days = range((last - first).days + 1)
    weekday = (first.toordinal() - 1 + np.arange(len(days))) % 7  # date.fromordinal(1): a Monday
    months = np.array([(first + timedelta(days=d)).month - 1 for d in days], dtype=np.int64)
    return weekday < WORKDAYS_PER_WEEK, months


def _year_weights(start: date) -> np.ndarray:
    """Workdays per calendar month in the year from `start`: the weights seasons average over."""
    workday, months = _workday_months(start, one_year_after(start) - timedelta(days=1))
    return np.bincount(months, weights=workday, minlength=12)


def fit(usage: Usage, history_end: date | None = None, year_start: date | None = None) -> Fit:
    """Fit rates, people and seasons from `usage`; the history ends on `history_end` (default: the
    last usage date), and seasons average 1 over the year from `year_start` (default: the day after)."""
    notes = list(usage.notes)
    history_start = usage.first_day
    history_end = history_end or usage.last_day
    year_start = year_start or history_end + timedelta(days=1)
    rates, rate_comments = _rates(usage, notes)
    if not rates:
        raise CalibrationError(f"{usage.source}: no row has more than 0 tokens: nothing to calibrate")

    # Who is who: one person per user, in the team with most of their rows.
    teams: dict[str, Counter] = defaultdict(Counter)
    first_seen: dict[str, date] = {}
    last_seen: dict[str, date] = {}
    used: dict[tuple[str, str], set[date]] = defaultdict(set)
    for r in usage.rows:
        teams[r.user][r.team or DEFAULT_POOL] += 1
        first_seen[r.user] = min(first_seen.get(r.user, r.day), r.day)
        last_seen[r.user] = max(last_seen.get(r.user, r.day), r.day)
        if r.product in rates:
            used[r.user, r.product].add(r.day)
    split = [u for u, c in teams.items() if len(c) > 1]
    if split:
        example = split[0]
        shares = ", ".join(f"{t} {n} rows" for t, n in teams[example].most_common())
        notes.append(
            f"{len(split)} user(s) appear in several teams, e.g. {example} ({shares}): each is "
            "modelled in the team with most of their rows"
        )

    workday, months = _workday_months(history_start, history_end)
    weekend_use = sum(1 for days in used.values() for d in days if d.weekday() >= WORKDAYS_PER_WEEK)
    all_use = sum(len(days) for days in used.values())
    if all_use and weekend_use > 0.05 * all_use:
        notes.append(
            f"{weekend_use / all_use:.0%} of the days of use fall on a Saturday or Sunday: "
            "they count towards days_per_week, spread over Monday to Friday"
        )

    users = sorted(teams, key=lambda u: (teams[u].most_common(1)[0][0], u.casefold()))
    seats = [(u, p) for u in users for p in rates if (u, p) in used]
    index = {u: i for i, u in enumerate(users)}
    person_of_seat = np.array([index[u] for u, _ in seats], dtype=np.int64)
    # Observable workdays per person and month; days used per seat and month (after the first day).
    exposure = np.zeros((len(users), 12))
    for i, u in enumerate(users):
        k = (first_seen[u] - history_start).days + 1
        exposure[i] = np.bincount(months[k:], weights=workday[k:], minlength=12)
    seat_month = np.zeros((len(seats), 12))
    for s, (u, p) in enumerate(seats):
        for d in used[u, p]:
            if d > first_seen[u]:
                seat_month[s, d.month - 1] += 1
    workdays = exposure.sum(axis=1).round().astype(np.int64)
    days_used = seat_month.sum(axis=1)

    covered = np.bincount(months, weights=workday, minlength=12)
    seasonal = bool((covered >= SEASON_MIN_WORKDAYS).all())
    season = np.ones(12)
    if seasonal and len(seats):
        weights = _year_weights(year_start)
        used_m = seat_month.sum(axis=0)
        for _ in range(100):  # alternate: rates given the season, the season given the rates
            rate = days_used / np.maximum(exposure[person_of_seat] @ season, 1e-9)
            expected = rate @ exposure[person_of_seat]  # person-days of use per month, no season
            new = (used_m + SEASON_PRIOR_DAYS) / (expected + SEASON_PRIOR_DAYS)
            new /= (weights @ new) / weights.sum()
            done = np.allclose(new, season, atol=1e-7)
            season = new
            if done:
                break
        season = np.round(season, 2)
        season_comment = (
            f"fitted from {history_start} to {history_end}: every month has at least "
            f"{SEASON_MIN_WORKDAYS} workdays of history. Pooled over everyone; each month "
            f"shrunk towards 1 as if it had {SEASON_PRIOR_DAYS:g} more person-days at the "
            "yearly rate; weighted to average 1 over the forecast year's workdays"
        )
    else:
        thin = [MONTHS[m] for m in range(12) if covered[m] < SEASON_MIN_WORKDAYS]
        season_comment = (
            f"not fitted: the history ({history_start} to {history_end}) has fewer than "
            f"{SEASON_MIN_WORKDAYS} workdays in {', '.join(thin)}; seasons need a full "
            "year. Add multipliers by hand if you know them, e.g. seasonality: {aug: 0.6}"
        )
    effective = exposure @ season  # observable workdays, weighted by the season

    by_product: dict[str, list[float]] = defaultdict(list)
    dpw = np.zeros(len(seats))
    for s in range(len(seats)):
        i = int(person_of_seat[s])
        if effective[i] > 0:
            dpw[s] = min(WORKDAYS_PER_WEEK * days_used[s] / effective[i], 7.0)
            by_product[seats[s][1]].append(dpw[s])
    people = []
    for i, u in enumerate(users):
        quiet = int(workday[(last_seen[u] - history_start).days + 1 :].sum())
        person = FittedPerson(
            u, teams[u].most_common(1)[0][0], first_seen[u], last_seen[u], int(workdays[i]), quiet
        )
        for s in np.flatnonzero(person_of_seat == i).tolist():
            product = seats[s][1]
            value = float(dpw[s])
            if effective[i] <= 0:  # first seen on the last workday: nothing to go on but the others
                others = by_product.get(product)
                value = float(np.mean(others)) if others else 1.0
            w = int(workdays[i])
            person.uses.append(FittedUse(product, round(value, 3), min(int(days_used[s]), w), w))
        if person.uses:  # else every product they used was never charged: nothing to forecast
            people.append(person)
    if len(people) < len(users):
        notes.append(f"{len(users) - len(people)} user(s) only used products never charged: left out")
    pools = sorted({p.pool for p in people})
    short = [p for p in people if p.short]
    if short:
        names = ", ".join(p.name for p in short[:3]) + (", ..." if len(short) > 3 else "")
        notes.append(
            f"{len(short)} of {len(people)} people have under {SHORT_HISTORY} workdays of "
            f"history ({names}): their rates are uncertain, and the forecast spreads them "
            "accordingly (history:)"
        )
    gone = [p for p in people if p.gone]
    if gone:
        notes.append(
            f"{_people(len(gone))} no usage in the last {GONE_AFTER} workdays of the history "
            f"(e.g. {gone[0].name}): if they have left, delete them from the scenario"
        )
    return Fit(
        rates,
        rate_comments,
        people,
        pools,
        list(season) if seasonal else None,
        season_comment,
        history_start,
        history_end,
        notes,
    )


# --------------------------------------------------------------------------------------------
# packs


@dataclass
class PackLine:
    """A pack from the packs CSV, with what the history says is left of it at `start`."""

    name: str
    date: datetime.date
    tokens: int  # bought
    price: float | None
    expires: datetime.date
    pool: str
    row: int
    remaining: int | None = None  # given in the CSV
    left: int | None = None  # at start (held packs): given, or replayed from the export
    comment: str = ""

    def usable(self, start: datetime.date) -> bool:
        """Still there at `start`: not ended, not used up."""
        return self.expires > start and (self.left is None or self.left > 0)


_PACK_FIELDS = {
    "name": "name",
    "packname": "name",
    "date": "date",
    "purchasedate": "date",
    "tokens": "tokens",
    "price": "price",
    "expires": "expires",
    "enddate": "expires",
    "pool": "pool",
    "team": "pool",
    "remaining": "remaining",
}


def read_packs(
    path: str | os.PathLike[str], pools: list[str], start: date, end: date, notes: list[str] | None = None
) -> list[PackLine]:
    """The packs CSV: name, date, tokens, price, optionally expires, pool (a team) and remaining."""
    source = os.fspath(path)
    header, table = read_table(source)
    where: dict[str, int] = {}
    for i, name in enumerate(header):
        key = _PACK_FIELDS.get(re.sub(r"[\s_\-]+", "", str(name or "")).casefold())
        if key is not None and key not in where:
            where[key] = i
    shown = ", ".join(str(c).strip() for c in header if c is not None and str(c).strip())
    for need in ("date", "tokens"):
        if need not in where:
            raise UsageFileError(
                f"no {need} column: a packs file has the columns name, date, tokens, "
                f"price (and optionally expires, pool, remaining); the header row has "
                f"{shown or 'nothing'}",
                source,
                1,
            )
    packs: list[PackLine] = []
    names: dict[str, int] = {}

    def cell(cells: Sequence[object], key: str) -> object:
        i = where.get(key)
        return cells[i] if i is not None and i < len(cells) else None

    def text(cells: Sequence[object], key: str) -> str:
        value = cell(cells, key)
        return "" if value is None else " ".join(str(value).split())

    rows = [(n, c) for n, c in table if any(str(x).strip() for x in c if x is not None)]
    days = Dates(source, str(header[where["date"]]).strip())  # one date order for the whole file
    note = days.scan([(n, cell(c, k)) for n, c in rows for k in ("date", "expires") if cell(c, k)])
    if note and notes is not None:
        notes.append(note)
    for number, cells in rows:
        bought = days.parse(cell(cells, "date"), number)
        tokens = whole_tokens(cell(cells, "tokens"), "tokens", source, number)
        if tokens < 1:
            raise UsageFileError("tokens is 0: a pack holds at least 1 token", source, number)
        name = text(cells, "name") or f"lot-{len(packs) + 1}"
        if name in names:
            raise UsageFileError(f"pack name {name!r} is already used on row {names[name]}", source, number)
        names[name] = number
        price = None
        if text(cells, "price"):
            raw = text(cells, "price").lstrip("$").replace(",", "")
            try:
                price = float(raw)
            except ValueError:
                price = -1.0
            if not (math.isfinite(price) and 0 < price <= limits.NUMBERS["price"]):
                raise UsageFileError(
                    f"price is {text(cells, 'price')!r}: expected USD per token, like 2.75 "
                    f"(at most {limits.NUMBERS['price']:,.0f})",
                    source,
                    number,
                )
        expires = one_year_after(bought)
        if text(cells, "expires"):
            expires = replace(days, column="expires").parse(cell(cells, "expires"), number)
            if expires <= bought:
                raise UsageFileError(f"expires {expires} is not after the date {bought}", source, number)
        if bought > end + timedelta(days=1):
            raise UsageFileError(
                f"the date {bought} is after the forecast ends ({end}): leave the pack "
                "out, or give a later --end",
                source,
                number,
            )
        pool = text(cells, "pool")
        if not pool:
            if len(pools) > 1:
                raise UsageFileError(
                    f"no pool: the export has several teams ({', '.join(pools)}); give "
                    "a pool column naming the team each pack belongs to",
                    source,
                    number,
                )
            pool = pools[0]
        elif pool == DEFAULT_POOL and len(pools) == 1:
            pool = pools[0]  # the default pool's name, for the only team there is
        elif pool not in pools:
            hint = spelling_hint(pool, pools)
            extra = f"; did you mean {hint!r}?" if hint else ""
            raise UsageFileError(
                f"pool {pool!r} is not a team of the export (teams: {', '.join(pools)}){extra}",
                source,
                number,
            )
        remaining = None
        if text(cells, "remaining"):
            remaining = whole_tokens(cell(cells, "remaining"), "remaining", source, number)
            if remaining > tokens:
                raise UsageFileError(
                    f"remaining {remaining} is more than the {tokens} tokens bought", source, number
                )
        packs.append(PackLine(name, bought, tokens, price, expires, pool, number, remaining))
    if not packs:
        raise UsageFileError("no packs under the header row", source, 2)
    return packs


def replay_packs(packs: list[PackLine], usage: Usage, start: date, notes: list[str]) -> None:
    """What is left at `start` of each pack bought before it: the export's usage before `start`,
    team by team and day by day, drawn in flexsim's order (earliest end, smallest pack, earliest
    date). A `remaining` from the CSV wins over the replay."""
    daily: dict[str, Counter] = defaultdict(Counter)
    for r in usage.rows:
        if r.day < start:
            daily[r.team or DEFAULT_POOL][r.day] += r.tokens
    first_day = usage.first_day
    for pool in sorted({p.pool for p in packs}):
        held = sorted(
            (p for p in packs if p.pool == pool and p.date < start),
            key=lambda p: draw_order(p.expires, p.tokens, p.date, p.row),
        )
        left = {id(p): p.tokens for p in held}
        uncovered = 0
        for day in sorted(daily[pool]):
            need = daily[pool][day]
            for p in held:
                if need == 0:
                    break
                if p.date <= day < p.expires:
                    take = min(left[id(p)], need)
                    left[id(p)] -= take
                    need -= take
            uncovered += need
        for p in held:
            used = p.tokens - left[id(p)]
            if p.remaining is not None:
                p.left = p.remaining
                p.comment = (
                    f"bought {p.tokens:,} on {p.date}; {p.remaining:,} left at start, as the "
                    f"packs file says (the export's usage would leave {left[id(p)]:,})"
                )
            else:
                p.left = left[id(p)]
                p.comment = (
                    f"bought {p.tokens:,} on {p.date}; the export's usage since then took "
                    f"{used:,} in flexsim's draw order: {p.left:,} left at start"
                )
                if p.date < first_day:
                    notes.append(
                        f"pack {p.name!r} was bought on {p.date}, before the export begins "
                        f"({first_day}): its use before then is unknown, so what is left of it "
                        "may be less. Give a 'remaining' column if you know it"
                    )
            if p.expires <= start:
                p.comment = f"bought {p.tokens:,} on {p.date}, ended {p.expires}: gone before start"
        if uncovered:
            notes.append(
                f"warning: team {pool}: the export used {uncovered:,} tokens more than the packs "
                "could cover when they were used: is a pack missing from the packs file?"
            )


def assumed_packs(fit: Fit, start: date, end: date) -> list[PackLine]:
    """Without a packs file: one pack per pool sized to the expected demand (an assumption)."""
    packs = []
    workday, months = _workday_months(start, end)
    season = np.array(fit.seasonality) if fit.seasonality else np.ones(12)
    season_days = float(season[months] @ workday)
    for pool in fit.pools:
        demand = sum(
            fit.rates[u.product] * u.days_per_week / WORKDAYS_PER_WEEK * season_days
            for p in fit.people
            if p.pool == pool
            for u in p.uses
        )
        packs.append(assumed_pack(pool, len(fit.pools), demand, start, end))
    return packs


def assumed_pack(pool: str, pools: int, demand: float, start: date, end: date) -> PackLine:
    """The pack assumed for a pool without a packs file: the expected demand rounded up to
    hundreds, bought at `start` for a year, with a comment that says it is an assumption."""
    return PackLine(
        f"assumed {pool}" if pools > 1 else "assumed bundle",
        start,
        max(100, math.ceil(demand / 100) * 100),
        None,
        one_year_after(start),
        pool,
        0,
        comment=(
            f"ASSUMPTION (no packs file given): sized to the expected demand, "
            f"about {demand:,.0f} tokens from {start} to {end}, rounded up. "
            "Replace it with your real packs"
        ),
    )


# --------------------------------------------------------------------------------------------
# the scenario file


def _people(n: int) -> str:
    return "1 person has" if n == 1 else f"{n} people have"


class ForecastDates:
    """The forecast window of a calibration, read from its scenario (for both calibrations)."""

    scenario: Scenario

    @property
    def start(self) -> date:
        return self.scenario.start

    @property
    def end(self) -> date:
        return self.scenario.end


@dataclass
class Calibration(ForecastDates):
    """The calibrated scenario, what the fit found out, and what it rests on (the evidence that
    `flexsim.history.calibrate_yaml` writes beside each number)."""

    scenario: Scenario
    fit: Fit
    packs: list[PackLine]  # every pack of the packs file (or assumed), usable at start or not
    usage: Usage  # the history the fit read
    packs_path: str | None
    notes: list[str]


def forecast_frame(
    usage: Usage, start: date | None, end: date | None, history_end: date | None, notes: list[str]
) -> tuple[date, date, date]:
    """(start, end, history_end) of a calibration: by default the forecast starts the day after
    the export ends and lasts a year; a gap between the two is said in a note."""
    start = start or usage.last_day + timedelta(days=1)
    end = end or one_year_after(start) - timedelta(days=1)
    if end < start:
        raise CalibrationError(f"--end {end} is before the start {start}")
    history_end = history_end or usage.last_day
    if (start - history_end).days > 1:
        notes.append(
            f"the forecast starts {start}, {(start - history_end).days - 1} days after the export "
            "ends: usage in between is unknown (packs are replayed up to the export's end only)"
        )
    return start, end, history_end


def calibration_packs(
    packs_path: str | None,
    pools: list[str],
    usage: Usage,
    start: date,
    end: date,
    notes: list[str],
    assumed: Callable[[], list[PackLine]],
    per: str,
) -> list[PackLine]:
    """The packs of `--packs`, replayed against the export up to `start`, or one assumed pack
    `per` team or token pool (said in a note)."""
    if packs_path is not None:
        packs = read_packs(packs_path, pools, start, end, notes)
        replay_packs(packs, usage, start, notes)
        return packs
    notes.append(
        f"no --packs file: the scenario holds one assumed pack per {per}, sized to the expected "
        "demand. Replace it with your real packs"
    )
    return assumed()


def default_name(usage: Usage) -> str:
    return f"Calibrated from {storable(os.path.basename(usage.source))}"


def calibrate(
    usage: Usage,
    packs_path: str | None = None,
    start: date | None = None,
    end: date | None = None,
    history_end: date | None = None,
    name: str | None = None,
    runs: int = 1000,
    seed: int = 1,
) -> Calibration:
    """Fit `usage` into a scenario (`flexsim.history.calibrate_yaml` writes it as YAML). `start`
    defaults to the day after the last usage date, `end` to one year after `start` less a day."""
    frame_notes: list[str] = []
    start, end, history_end = forecast_frame(usage, start, end, history_end, frame_notes)
    result = fit(usage, history_end, start)
    notes = result.notes + frame_notes
    packs = calibration_packs(
        packs_path, result.pools, usage, start, end, notes, lambda: assumed_packs(result, start, end), "team"
    )
    name = name or default_name(usage)
    scenario = _scenario(result, packs, start, end, name, runs, seed, f"<calibrated from {usage.source}>")
    return Calibration(scenario, result, packs, usage, packs_path, notes)


def _scenario(
    fit: Fit,
    packs: list[PackLine],
    start: date,
    end: date,
    name: str,
    runs: int,
    seed: int,
    source: str,
) -> Scenario:
    """The scenario of a fit: the fitted rates over the catalogue, one named person per user (on
    Monday-to-Friday workdays, flexsim's default habits), the packs still usable at `start`, the
    fitted seasons and the catalogue's subscription list prices of the products seen."""
    products = catalog_rates()
    products.update(fit.rates)
    pool_names = sorted({p.pool for p in fit.people} | {p.pool for p in packs})
    lots = tuple(_lot(p) for p in packs if p.usable(start))
    groups = tuple(
        Group(
            person.name,
            tuple(
                ProductUse(u.product, float(u.days_per_week), history=History(u.days_used, u.workdays))
                for u in person.uses
            ),
            named=True,
            pool=person.pool,
        )
        for person in fit.people
    )
    return Scenario(
        name=name,
        start=start,
        end=end,
        products=products,
        lots=lots,
        pools=tuple(Pool(pool) for pool in pool_names),
        groups=groups,
        seasonality=tuple(float(f) for f in fit.seasonality) if fit.seasonality else (1.0,) * 12,
        subscriptions={p: float(SUBSCRIPTION_LIST_PRICES[p]) for p in listed_subscriptions(fit)},
        runs=runs,
        seed=seed,
        source=source,
    )


def _lot(pack: PackLine) -> Lot:
    """A pack as the scenario holds it: what is left of it at start (held packs), at its price."""
    tokens = pack.left if pack.left is not None else pack.tokens
    price = pack.price if pack.price is not None else tier_price((), tokens)
    given = pack.price is not None
    return Lot(pack.name, pack.date, tokens, price, pack.expires, pack.pool, price_given=given)


def listed_subscriptions(fit: Fit) -> list[str]:
    """The products seen that have a subscription list price in the catalogue, sorted."""
    return [p for p in sorted(fit.rates) if p in SUBSCRIPTION_LIST_PRICES]
