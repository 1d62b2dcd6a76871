"""The enterprise Token Flex export: one row per token pool, product and day, no user column.

Columns `contractYear, tokenPool, usageCategory, usageDate, productLineCode, productName,
tokensConsumed` (often with a trailing comma, dates like `2016-01-01 00:00:00`, many rows of 0
tokens). Without users, the demand is fitted per pool and product, in today's scenario model:

- **Rate**: the product's charge per launch divides every day's total; the catalogue's rate when
  it does, else the greatest common divisor of the daily totals. A day's total / rate = the number
  of people who launched the product that day, its *count*.
- **Anonymous users**: a group of N people who each launch with chance p a day gives a binomial
  count, mean N p and variance N p (1 - p); so p = 1 - variance / mean and N = mean / p. An
  `every day` group is fitted to the Saturday-and-Sunday counts, a `weekdays` group (kept off
  weekends by `events:` of multiplier 0) to what Monday to Friday add. A count more spread than
  a binomial can be (variance above the mean) gets p at its floor: the comment says so.
- **Season**: monthly multipliers shared by every product (seasonality is one per scenario),
  when every month has at least three weeks in the history, each shrunk towards 1 as if it had
  `SEASON_PRIOR_LAUNCHES` more launches at the yearly rate (as `calibrate` does with person-days).
- **Level**: how much the monthly means wander beyond daily noise becomes `variation`, so that
  each run draws its own level (a group of N people with variation v has a level spread v / sqrt N).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from flexsim import __version__
from flexsim.defaults import DEFAULT_POOL
from flexsim.errors import CalibrationError
from flexsim.history.calibrate import (
    ForecastDates,
    PackLine,
    assumed_pack,
    calibration_packs,
    default_name,
    forecast_frame,
)
from flexsim.history.calibrate_yaml import seasonality_lines, yaml_comment, yaml_name, yaml_number
from flexsim.history.usage_export import (
    Dates,
    Usage,
    UsageFileError,
    _Columns,
    _fold,
    _index,
    _plain,
    canonical_product,
    whole_tokens,
)
from flexsim.output.cells import one_line
from flexsim.scenario.catalog import CATALOG
from flexsim.scenario.model import MONTHS, WEEKDAYS, Scenario, one_year_after

COLUMNS = (
    "contractYear",
    "tokenPool",
    "usageCategory",
    "usageDate",
    "productLineCode",
    "productName",
    "tokensConsumed",
)
_FIELDS = {"tokenpool": "pool", "usagedate": "day", "productname": "product", "tokensconsumed": "tokens"}
SEASON_MIN_DAYS = 21  # per calendar month inside the history, for seasonality to be fitted
SEASON_PRIOR_LAUNCHES = 20.0  # as calibrate's person-days: a day of use is one launch
P_MIN, P_MAX = 0.05, 0.9  # the daily chance of a fitted anonymous user
VARIATION_MAX = 1.0  # beyond it, the capped chances would bias the mean down
MONTH_DAYS = 30.44


def is_tokenflex(header: Sequence[object]) -> bool:
    """The header of an enterprise Token Flex export (names folded, any order)."""
    folded = {_fold(c) for c in header}
    return {"tokenpool", "usagedate", "productname", "tokensconsumed"} <= folded


def pseudo_user(pool: str, product: str) -> str:
    """The name a product's demand in a pool goes by where a user would (backtests)."""
    return f"{product} in {pool}"


def read_tokenflex(
    source: str, header: Sequence[object], table: Iterator[tuple[int, Sequence[object]]]
) -> Usage:
    """The rows of a Token Flex export as `Usage` rows: the pool as the team, one pseudo-user
    per pool and product (`pseudo_user`)."""
    where: dict[str, int] = {}
    for i, name in enumerate(header):
        f = _FIELDS.get(_fold(name))
        if f is not None and f not in where:
            where[f] = i
    names = {f: str(header[i]).strip() for f, i in where.items()}
    days = Dates(source, names["day"])
    out = _Columns()
    at: dict[str, dict[str, int]] = {"team": {}, "user": {}, "product": {}}
    spellings: dict[str, str] = {}
    width = 1 + max(where.values())
    i_pool = where.get("pool")
    for number, cells in table:
        if not any(str(c).strip() for c in cells if c is not None):
            continue
        if len(cells) < width:
            cells = [*cells, *([None] * (width - len(cells)))]
        product_text = _plain(cells[where["product"]])
        if not product_text:
            raise UsageFileError(f"{names['product']} is empty: expected a product name", source, number)
        product = canonical_product(product_text, spellings)
        pool = (_plain(cells[i_pool]) if i_pool is not None else "") or DEFAULT_POOL
        raw_day = cells[where["day"]]
        day = days.ordinal(raw_day)
        if day is None:
            days.fail("" if raw_day is None else str(raw_day).strip(), number)
        if day < 0:
            days.pending(day, number)
        out.row.append(number)
        out.team.append(_index(out.teams, at["team"], pool))
        out.user.append(_index(out.users, at["user"], pseudo_user(pool, product)))
        out.product.append(_index(out.products, at["product"], product))
        out.day.append(day)
        out.tokens.append(whole_tokens(cells[where["tokens"]], names["tokens"], source, number))
    if not len(out):
        raise UsageFileError("no usage rows under the header row", source, 2)
    note = days.resolve_column(out)
    notes = [note] if note else []
    return Usage(
        source, "tokenflex", out, i_pool is not None, "no user column (one row per product and day)", notes
    )


# --------------------------------------------------------------------------------------------
# the fit


@dataclass
class Demand:
    """One anonymous group: `count` people who each launch the product with `chance` a day."""

    group: str
    pool: str
    product: str
    count: int
    chance: float  # per calendar workday, before the season
    weekdays_only: bool
    variation: float
    comment: str

    @property
    def name(self) -> str:
        return pseudo_user(self.pool, self.product)


@dataclass
class TokenFlexFit:
    rates: dict[str, int]
    rate_comments: dict[str, str]
    demands: list[Demand]
    pools: list[str]
    seasonality: list[float] | None
    season_comment: str
    seven_days: bool
    history_start: date
    history_end: date
    notes: list[str]

    @property
    def people(self) -> list[Demand]:
        """What a backtest calls the fitted people: here, the groups of each product and pool."""
        return self.demands


def _binomial(mean: float, var: float, p_cap: float) -> tuple[int, float, bool]:
    """(N, p, overdispersed) of a binomial count with this mean and variance."""
    p = 1 - var / mean if mean > 0 else P_MIN
    over = p < P_MIN
    p = min(max(p, P_MIN), p_cap)
    n = max(1, round(mean / p))
    return n, mean / n, over


def _rate(product: str, totals: np.ndarray) -> tuple[int, str]:
    charged = totals[totals > 0].astype(np.int64)
    entry = CATALOG.get(product)
    if entry is not None and not (charged % entry.rate).any():
        return entry.rate, f"every daily total is a multiple of {entry.rate}, as in flexsim's catalogue"
    rate = int(np.gcd.reduce(charged))
    words = f"the greatest common divisor of the {len(charged):,} daily totals"
    if entry is not None:
        words += f"; flexsim's catalogue says {entry.rate}"
    return rate, words


def fit_tokenflex(usage: Usage, history_end: date, start: date, end: date) -> TokenFlexFit:
    notes = list(usage.notes)
    first = usage.first_day
    n = (history_end - first).days + 1
    weekday = (first.toordinal() - 1 + np.arange(n)) % 7
    months = np.array([(first + timedelta(days=d)).month - 1 for d in range(n)], np.int64)
    series: dict[tuple[str, str], np.ndarray] = defaultdict(lambda: np.zeros(n))
    for r in usage.rows:
        if r.day <= history_end:
            series[r.team or DEFAULT_POOL, r.product][(r.day - first).days] += r.tokens
    rates, rate_comments = {}, {}
    for product in sorted({p for _, p in series}):
        totals = np.sum([s for (_, p), s in series.items() if p == product], axis=0)
        if not (totals > 0).any():
            notes.append(f"{product}: never charged in the export: left out of the scenario")
            continue
        rates[product], rate_comments[product] = _rate(product, totals)
    if not rates:
        raise CalibrationError(f"{usage.source}: no row has more than 0 tokens: nothing to calibrate")
    counts = {k: s / rates[k[1]] for k, s in series.items() if k[1] in rates}
    weekend = weekday >= 5
    seven = bool(any((c[weekend] > 0).any() for c in counts.values()))
    total = np.sum(list(counts.values()), axis=0)

    # Seasons: alternate the day-type means and the months' multipliers.
    covered = np.bincount(months, minlength=12)
    seasonal = bool((covered >= SEASON_MIN_DAYS).all())
    season = np.ones(12)
    fdays = (end - start).days + 1
    if seasonal:
        year = (one_year_after(start) - start).days
        y_weekend = ((start.toordinal() - 1 + np.arange(year)) % 7) >= 5
        y_months = np.array([(start + timedelta(days=d)).month - 1 for d in range(year)], np.int64)
        prior = SEASON_PRIOR_LAUNCHES
        for _ in range(100):
            level = total / season[months]
            base = np.where(weekend, level[weekend].mean(), level[~weekend].mean())
            expected = np.bincount(months, weights=base, minlength=12)
            new = (np.bincount(months, weights=total, minlength=12) + prior) / (expected + prior)
            y_base = np.where(y_weekend, level[weekend].mean(), level[~weekend].mean())
            weights = np.bincount(y_months, weights=y_base, minlength=12)
            new /= (weights @ new) / weights.sum()
            done = np.allclose(new, season, atol=1e-7)
            season = new
            if done:
                break
        season = np.round(season, 2)
        season_comment = (
            f"fitted from {first} to {history_end} on the daily totals of every product: each "
            f"month shrunk towards 1 as if it had {SEASON_PRIOR_LAUNCHES:g} more launches at the yearly "
            "rate; "
            "weighted to average 1 over the forecast year"
        )
    else:
        thin = [MONTHS[m] for m in range(12) if covered[m] < SEASON_MIN_DAYS]
        season_comment = (
            f"not fitted: the history ({first} to {history_end}) has fewer than {SEASON_MIN_DAYS} "
            f"days in {', '.join(thin)}; seasons need a full year"
        )
    s_day = season[months]
    p_cap = P_MAX / float(season.max())
    horizon_months = fdays / MONTH_DAYS
    demands: list[Demand] = []
    pools = sorted({pool for pool, _ in counts})
    several = len(pools) > 1
    for (pool, product), c in sorted(counts.items()):
        y = c / s_day
        label = f"{pool} {product}" if several else product
        kinds = [(False, weekend)] if seven else []
        kinds.append((True, ~weekend))
        fitted: list[tuple[bool, float, float]] = []
        for weekdays_only, days in kinds:
            mean = float(y[days].mean())
            var = float(y[days].var(ddof=1)) if days.sum() > 1 else mean
            if weekdays_only and seven:  # what Monday to Friday add to the every-day group
                mean -= fitted[0][1]
                var -= fitted[0][2]
            fitted.append((weekdays_only, mean, var))
        sigma = _level_spread(y, weekend, months, horizon_months)
        for weekdays_only, mean, var in fitted:
            if mean < 0.01:
                continue
            count, chance, over = _binomial(mean, max(var, 0.0), p_cap)
            kind = ("weekdays" if weekdays_only else "every day") if seven else "users"
            days_words = {
                "weekdays": "Monday to Friday, above the every-day group",
                "every day": "every day",
                "users": "Monday to Friday",
            }[kind]
            comment = (
                f"{product} in {pool}, {days_words}: {mean:,.2f} launches a day (variance "
                f"{max(var, 0):,.2f}, season removed) = binomial({count}, {chance:.3f})"
            )
            if over:
                comment += (
                    "; the days are more spread than a binomial can be: the chance is at its floor "
                    f"({P_MIN}), and the forecast's days vary less than the history's did"
                )
            variation = min(sigma * math.sqrt(count), VARIATION_MAX)
            if sigma > 0:
                comment += f"; the monthly level wanders by {sigma:.1%} over the forecast: variation"
            demands.append(
                Demand(
                    f"{label} {kind}", pool, product, count, chance, kind == "weekdays", variation, comment
                )
            )
    if seven:
        notes.append(
            "the export has tokens on Saturdays or Sundays: every day is a workday in the scenario, "
            "and the weekday groups are kept off weekends by events"
        )
    return TokenFlexFit(
        rates,
        rate_comments,
        demands,
        pools,
        list(season) if seasonal else None,
        season_comment,
        seven,
        first,
        history_end,
        notes,
    )


def _level_spread(y: np.ndarray, weekend: np.ndarray, months: np.ndarray, horizon_months: float) -> float:
    """The relative spread of the forecast's level: how much whole months' means wander beyond
    their daily noise (tau), over the months seen and the months ahead: tau sqrt(1/M + 1/H)."""
    base = np.where(weekend, y[weekend].mean(), y[~weekend].mean())
    mean = float(y.mean())
    if mean <= 0:
        return 0.0
    runs = np.flatnonzero(np.diff(months, prepend=-1, append=-1) != 0)
    means, noise = [], []
    for a, b in zip(runs[:-1], runs[1:], strict=True):
        if b - a >= SEASON_MIN_DAYS:
            means.append(float(y[a:b].mean()))
            noise.append(float(np.var(y[a:b] - base[a:b], ddof=1)) / (b - a))
    if len(means) < 3:
        return 0.0
    tau2 = max(float(np.var(means, ddof=1)) - float(np.mean(noise)), 0.0) / mean**2
    return math.sqrt(tau2 * (1 / len(means) + 1 / horizon_months))


# --------------------------------------------------------------------------------------------
# the scenario file


def _assumed_packs(fit: TokenFlexFit, start: date, end: date) -> list[PackLine]:
    packs = []
    season = np.array(fit.seasonality) if fit.seasonality else np.ones(12)
    n = (end - start).days + 1
    day_kind = ((start.toordinal() - 1 + np.arange(n)) % 7) >= 5
    s = season[[(start + timedelta(days=d)).month - 1 for d in range(n)]]
    for pool in fit.pools:
        demand = 0.0
        for d in fit.demands:
            if d.pool == pool:
                on = ~day_kind if (d.weekdays_only or not fit.seven_days) else np.ones(n, bool)
                demand += fit.rates[d.product] * d.count * d.chance * float(s[on].sum())
        packs.append(assumed_pack(pool, len(fit.pools), demand, start, end))
    return packs


def _weekends(start: date, end: date) -> list[tuple[date, date]]:
    out = []
    day = start
    while day <= end:
        if day.weekday() >= 5:
            last = min(day + timedelta(days=6 - day.weekday()), end)
            out.append((day, last))
            day = last + timedelta(days=1)
        else:
            day += timedelta(days=5 - day.weekday())
    return out


@dataclass
class TokenFlexCalibration(ForecastDates):
    """The scenario fitted on a Token Flex export: its YAML text (with the evidence in comments),
    the same as a Scenario object, and what the fit found out."""

    text: str
    scenario: Scenario
    fit: TokenFlexFit
    packs: list[PackLine]
    notes: list[str]


def calibrate_tokenflex(
    usage: Usage,
    packs_path: str | None = None,
    start: date | None = None,
    end: date | None = None,
    history_end: date | None = None,
    name: str | None = None,
    runs: int = 1000,
    seed: int = 1,
) -> TokenFlexCalibration:
    """Fit a Token Flex export and write the scenario YAML (as `calibrate` does for the other
    exports)."""
    frame_notes: list[str] = []
    start, end, history_end = forecast_frame(usage, start, end, history_end, frame_notes)
    fit = fit_tokenflex(usage, history_end, start, end)
    notes = fit.notes + frame_notes
    packs = calibration_packs(
        packs_path, fit.pools, usage, start, end, notes, lambda: _assumed_packs(fit, start, end), "token pool"
    )
    name = name or default_name(usage)
    text = _render(fit, packs, usage, start, end, name, runs, seed, packs_path)
    from flexsim.scenario.loader import parse_scenario

    scenario = parse_scenario(text, f"<calibrated from {usage.source}>")
    return TokenFlexCalibration(text, scenario, fit, packs, notes)


def _render(
    fit: TokenFlexFit,
    packs: list[PackLine],
    usage: Usage,
    start: date,
    end: date,
    name: str,
    runs: int,
    seed: int,
    packs_path: str | None,
) -> str:
    out: list[str] = []
    add = out.append
    add(
        f"# Calibrated by flexsim {__version__} from {one_line(usage.source)} (Token Flex enterprise "
        f"export): {len(usage.rows):,} rows"
    )
    add(
        f"# from {fit.history_start} to {fit.history_end}, {len(fit.rates)} products, {len(fit.pools)} "
        "token pool(s); no user column: each product's demand is a group of anonymous users."
    )
    add("# Every number below says where it came from. Check it with: flexsim validate THIS-FILE")
    add(f"name: {yaml_name(name)}")
    add(f"start: {start}")
    add(f"end: {end}")
    add("")
    if fit.seven_days:
        add("calendar:                     # the export has tokens on Saturdays and Sundays")
        add(f"  workdays: [{', '.join(WEEKDAYS)}]")
    else:
        add("calendar:                     # no tokens on Saturdays and Sundays in the export")
        add(f"  workdays: [{', '.join(WEEKDAYS[:5])}]")
    add("")
    add("products:                     # tokens per launch day")
    for product, rate in fit.rates.items():
        add(f"  {yaml_name(product)}: {rate}   # {fit.rate_comments[product]}")
    add("")
    pools_used = sorted(set(fit.pools) | {p.pool for p in packs})
    if pools_used != [DEFAULT_POOL]:
        add("pools:                        # the export's token pools")
        for pool in pools_used:
            add(f"  - name: {yaml_name(pool)}")
        add("")
    live = [p for p in packs if p.usable(start)]
    add(f"lots:                         # from {one_line(packs_path)}" if packs_path else "lots:")
    if not live:
        add("  []                          # no pack is still usable at start")
    for p in live:
        out.extend(yaml_comment(p.comment, "  ") if p.comment else [])
        add(f"  - name: {yaml_name(p.name)}")
        add(f"    date: {p.date}")
        add(f"    tokens: {p.left if p.left is not None else p.tokens}")
        if p.price is not None:
            add(f"    price: {p.price:g}")
        if p.expires != one_year_after(p.date):
            add(f"    expires: {p.expires}")
        if pools_used != [DEFAULT_POOL]:
            add(f"    pool: {yaml_name(p.pool)}")
    add("")
    workdays = 7 if fit.seven_days else 5
    add(f"# days_per_week = {workdays} x the daily chance p of each anonymous user.")
    add("users:" if fit.demands else "users: []")
    for d in fit.demands:
        out.extend(yaml_comment(d.comment, "  "))
        add(f"  - group: {yaml_name(d.group)}")
        add(f"    count: {d.count}")
        if pools_used != [DEFAULT_POOL]:
            add(f"    pool: {yaml_name(d.pool)}")
        if d.variation > 0:
            add(f"    variation: {yaml_number(d.variation)}")
        add(
            f"    products: {{{yaml_name(d.product)}: {{days_per_week: {yaml_number(d.chance * workdays)}}}}}"
        )
    add("")
    out.extend(seasonality_lines(fit.season_comment, fit.seasonality))
    weekday_groups = [yaml_name(d.group) for d in fit.demands if d.weekdays_only]
    if fit.seven_days and weekday_groups:
        add("")
        add("# The weekday groups launch Monday to Friday only: no launches on Saturdays and Sundays.")
        add("events:")
        for k, (a, b) in enumerate(_weekends(start, end)):
            groups = f"&weekdays [{', '.join(weekday_groups)}]" if k == 0 else "*weekdays"
            add(f"  - {{name: weekend, from: {a}, to: {b}, multiplier: 0, groups: {groups}}}")
    add("")
    add("simulation:")
    add(f"  runs: {runs}")
    add(f"  seed: {seed}")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------------------------
# writing a Token Flex export


def product_code(product: str) -> str:
    """A product line code in the export's manner (letters of the name, upper case)."""
    letters = "".join(ch for ch in product.upper() if ch.isalnum())
    return letters[:6] or "PRODUCT"


def tokenflex_table(
    scenario: Scenario, records: Sequence[dict[str, object]]
) -> tuple[list[str], list[list[object]]]:
    """The synthetic export's tokens as a Token Flex export: one row per pool, product and day
    of the scenario (0 on the days nobody used it), with the export's trailing comma."""
    tokens: dict[tuple[str, str, str], int] = defaultdict(int)
    for r in records:
        tokens[str(r["team"]), str(r["product"]), str(r["day"])[:10]] += int(r["tokens"])  # type: ignore[call-overload]
    pairs = sorted({(g.pool, u.product) for g in scenario.groups for u in g.products})
    rows = []
    day, year, anniversary = scenario.start, 1, one_year_after(scenario.start)
    while day <= scenario.end:
        if day >= anniversary:
            year, anniversary = year + 1, one_year_after(anniversary)
        for pool, product in pairs:
            rows.append(
                [
                    year,
                    pool,
                    "Desktop",
                    f"{day.isoformat()} 00:00:00",
                    product_code(product),
                    product,
                    tokens.get((pool, product, day.isoformat()), 0),
                    "",
                ]
            )
        day += timedelta(days=1)
    return [*COLUMNS, ""], rows
