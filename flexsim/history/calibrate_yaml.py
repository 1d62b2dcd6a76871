"""The calibrated scenario as a YAML file, with the evidence behind each number as a comment.

`flexsim.history.calibrate` makes the `Scenario`; this writes it, reading every value from the
scenario and every comment from what the fit found, so the file reads back as the same scenario
(the test suite checks it).
"""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Sequence
from datetime import timedelta

import yaml

from flexsim import __version__
from flexsim.defaults import DEFAULT_POOL
from flexsim.history.calibrate import Calibration
from flexsim.history.usage_export import STYLE_WORDS
from flexsim.output.cells import one_line
from flexsim.scenario.catalog import LIST_PRICES_DATE
from flexsim.scenario.model import MONTHS, one_year_after


def scenario_yaml(calibration: Calibration) -> str:
    """The scenario file of a calibration."""
    sc, fit, usage = calibration.scenario, calibration.fit, calibration.usage
    start, end = sc.start, sc.end
    out: list[str] = []
    add = out.append
    add(
        f"# Calibrated by flexsim {__version__} from {one_line(usage.source)} "
        f"({STYLE_WORDS[usage.style]} column names): {len(usage.rows):,} rows"
    )
    add(
        f"# from {fit.history_start} to {fit.history_end}, {len(fit.people)} people, "
        f"{len(fit.rates)} products, {len(fit.pools)} team(s); users told apart by {usage.identity}."
    )
    add("# Every number below says where it came from. Check it with: flexsim validate THIS-FILE")
    add(f"name: {yaml_name(sc.name)}")
    add(
        f"start: {start}            # the day after the history"
        if start == fit.history_end + timedelta(days=1)
        else f"start: {start}            # as asked (--start)"
    )
    add(
        f"end: {end}              # one year after start, less a day"
        if end == one_year_after(start) - timedelta(days=1)
        else f"end: {end}              # as asked (--end)"
    )
    add("")
    add("calendar:                     # the export does not say which days are workdays, nor holidays:")
    add("  workdays: [mon, tue, wed, thu, fri]   # days_per_week below are per Monday-to-Friday week")
    add("")
    add("products:                     # tokens per 24-hour window: the most common charge per row")
    width = max((len(yaml_name(p)) for p in fit.rates), default=0)
    for product in fit.rates:
        rate = sc.products[product]
        add(f"  {yaml_name(product) + ':':<{width + 1}} {rate:<4} # {fit.rate_comments[product]}")
    add("")
    several_pools = sc.pool_names() != [DEFAULT_POOL]
    if several_pools:
        add("pools:                        # one per Autodesk Account team in the export")
        for pool in sc.pool_names():
            add(f"  - name: {yaml_name(pool)}")
        add("")
    live = [p for p in calibration.packs if p.usable(start)]
    gone = [p for p in calibration.packs if not p.usable(start)]
    packs_path = calibration.packs_path
    add(
        f"lots:                         # from {one_line(packs_path)}"
        if packs_path
        else "lots:                         # no packs file was given: see the assumption below"
    )
    if not sc.lots:
        add("  []                          # no pack is still usable at start")
    for pack, lot in zip(live, sc.lots, strict=True):
        out.extend(yaml_comment(pack.comment, "  ") if pack.comment else [])
        add(f"  - name: {yaml_name(lot.name)}")
        add(f"    date: {lot.date}")
        add(f"    tokens: {lot.tokens}")
        if lot.price_given:
            add(f"    price: {_price(lot.price)}")
        if lot.expires != one_year_after(lot.date):
            add(f"    expires: {lot.expires}")
        if several_pools or lot.pool != DEFAULT_POOL:
            add(f"    pool: {yaml_name(lot.pool)}")
    for pack in gone:
        out.extend(yaml_comment(f"left out: {pack.name}: {pack.comment or 'nothing left at start'}", "  "))
    add("")
    add("# One named person per user. days_per_week = 5 x days_used / workdays (workdays weighted by")
    add("# the season, when fitted), counted from the day after the person's first row to the end of")
    add("# the history; a row with 0 tokens counts as a day of use. history: lets each run spread the")
    add("# rate by how much history backs it. Start hours, session lengths and products left open are")
    add("# not in the export: flexsim's defaults apply (start 9:00 +-1 h, sessions 6 +-2 h).")
    add("users:" if sc.groups else "users: []")
    for person, group in zip(fit.people, sc.groups, strict=True):
        for c in person.comments():
            out.extend(yaml_comment(c, "  "))
        add(
            f"  - name: {yaml_name(group.name)}   # seen {person.first_seen} to {person.last_seen}, "
            f"{person.workdays} workdays observed"
        )
        if several_pools:
            add(f"    pool: {yaml_name(group.pool)}")
        add("    products:")
        for use in group.products:
            assert use.history is not None  # every fitted rate carries its evidence
            add(
                f"      {yaml_name(use.product)}: "
                f"{{days_per_week: {yaml_number(use.days_per_week)}, history: "
                f"{{days_used: {use.history.days_used}, workdays: {use.history.workdays}}}}}"
            )
    add("")
    out.extend(seasonality_lines(fit.season_comment, sc.seasonality if fit.seasonality else None))
    add("")
    out.extend(_subscriptions_block(sc.subscriptions))
    add("simulation:")
    add(f"  runs: {sc.runs}")
    add(f"  seed: {sc.seed}")
    return "\n".join(out) + "\n"


def _subscriptions_block(prices: dict[str, float]) -> list[str]:
    """The catalogue's dated list prices for the products seen, for `flexsim advise`."""
    if not prices:
        return []
    return [
        f"# Annual named-user subscription LIST prices (USD, US store, {LIST_PRICES_DATE}): check them",
        "# against your own quote before trusting `flexsim advise`.",
        "subscriptions:",
        *(f"  {yaml_name(product)}: {_price(price)}" for product, price in prices.items()),
        "",
    ]


def seasonality_lines(comment: str, factors: Sequence[float] | None) -> list[str]:
    """The `seasonality:` key of a calibrated scenario, after the comment on how it was fitted
    (only the comment when no factors were fitted)."""
    out = yaml_comment(f"Seasonality {comment}.")
    if factors:
        months = [f"{m}: {f:.2f}" for m, f in zip(MONTHS, factors, strict=True)]
        out += [
            "seasonality: {" + ", ".join(months[:6]) + ",",
            "              " + ", ".join(months[6:]) + "}",
        ]
    return out


def yaml_comment(text: str, indent: str = "") -> list[str]:
    """`text` as YAML comment lines of at most about 100 characters."""
    return [f"{indent}# {line}" for line in textwrap.wrap(one_line(text), 98 - len(indent))]


def yaml_name(text: str) -> str:
    """A YAML scalar for a name: plain when that reads back as the same text, else quoted."""
    if re.fullmatch(r"[A-Za-z][\w .@+'-]*", text) and not text.endswith(" ") and " #" not in text:
        try:
            if yaml.safe_load(text) == text:
                return text
        except yaml.YAMLError:
            pass
    return json.dumps(text, ensure_ascii=False)


def yaml_number(x: float) -> str:
    return f"{x:.3f}".rstrip("0").rstrip(".") if x else "0"


def _price(x: float) -> str:
    """A price as short as it reads back exactly (2.75, 2985)."""
    text = f"{x:g}"
    return text if float(text) == x else repr(x)
