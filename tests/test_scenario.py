"""The scenario file contract (SPEC section 1): every key, its defaults, and located errors."""

from __future__ import annotations

from datetime import date
from fractions import Fraction
from pathlib import Path

import pytest

from flexsim.errors import ScenarioError
from flexsim.scenario.catalog import CATALOG, CATALOG_DATE, catalog_rates
from flexsim.scenario.loader import load_scenario, parse_scenario
from flexsim.scenario.model import Normal, Pool, Threshold

# The SPEC section 1 example, verbatim, plus `Civil 3D: 9` (its catalogue rate) under products.
SPEC_EXAMPLE = """\
name: Studio North, FY2027            # free text
start: 2027-01-01                     # first simulated day (the clock starts 00:00 that day)
end: 2027-12-31                       # last simulated day, inclusive. Or `days: 365` instead of end.

calendar:
  workdays: [mon, tue, wed, thu, fri] # default; days on which users may launch products
  holidays: [2027-12-24, 2027-12-27]  # optional dates with no launches

products:                             # tokens per 24-hour window; merged over the built-in catalog
  AutoCAD: 7
  Revit: 10
  Civil 3D: 9

lots:                                 # token packs, bought before or during the horizon
  - name: FY27 bundle                 # optional; default "lot-<n>"
    date: 2027-01-01                  # purchase date (tokens usable from 00:00 that day). A pack dated
                                      #   before `start` is one you already hold: `tokens` is what is
                                      #   left of it at `start`, and its cost is sunk (not in `spend`).
    tokens: 5000
    price: 2.75                       # USD per token; default: from purchasing.price_tiers, else 3.00
    expires: 2028-01-01               # optional; default: same calendar date one year after `date`
    pool: main                        # optional; default "main"

purchasing:                           # optional: buying during the run
  price_tiers:                      # per-token price by purchase size; the largest min_tokens <= size applies
    - {min_tokens: 100, price: 3.00}
    - {min_tokens: 5000, price: 2.75}
  reorder:                            # top-up policy, one per pool (a list with `pool:` keys also allowed)
    below: 20%                        # trigger when the pool balance drops below this: a % of the tokens
                                      #   bought into the pool so far, or an absolute token count
    tokens: 1000                      # size of each top-up
    lead_days: 5                      # the top-up arrives at 00:00 of the lead_days-th workday after the
                                      #   day it was triggered; 0 = at once
    max_orders: 4                     # optional cap; at most one order outstanding at a time

pools:                                # optional. Every `pool:` that a lot, user or reorder names must be
                                      #   listed here; without this section the only pool is `main`.
  - name: main
    alert_below: 20%                  # record when the balance first drops below this (default 20%)

users:
  - group: architects                 # a group of `count` alike people
    count: 8
    products:
      Revit:   {days_per_week: 1.5}   # mean days per week this person uses the product
      AutoCAD: {days_per_week: 0.5}
    start_hour: {mean: 9.0, sd: 1.0}  # local time of the day's first launch; sd 0 = always exactly mean
    session_hours: {mean: 6.0, sd: 2.0}  # how long the product stays in use once launched
    left_open: 0.05                   # chance the product is left open (idle) until next morning
    idle_awareness: true              # default true: an idle open product is not charged again
    variation: 0.0                    # person-to-person spread of days_per_week (coefficient of variation)
    active: {from: 2027-03-01, to: 2027-08-31}   # optional: only launches inside these dates
    pool: main                        # optional
  - name: dana@studio.example         # a single named person (count 1)
    products: {Civil 3D: {days_per_week: 3}}

seasonality: {aug: 0.5, dec: 0.6}     # optional monthly multipliers on usage probability
events:                               # optional bursts (projects, deadlines)
  - {name: Competition, from: 2027-04-01, to: 2027-05-15, multiplier: 2.0, groups: [architects]}

subscriptions:                        # optional annual named-user prices (USD) for the advisor
  Revit: 2985
  AutoCAD: 2030

costs:
  blocked_day: 600                    # USD lost per blocked person-product-day; `optimize --objective
                                      #   cost` needs it (a clear error if it is missing)
  token_price: 3.00                   # USD per token when valuing a person's use (default 3.00)

simulation:
  runs: 2000
  seed: 7
"""

# A minimal valid file; error cases below append lines from line 5 on.
BASE = """\
start: 2027-01-01
end: 2027-12-31
lots:
  - {date: 2027-01-01, tokens: 1000}
"""


def write(tmp_path: Path, text: str, name: str = "scenario.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load_text(tmp_path: Path, text: str, name: str = "scenario.yaml"):
    return load_scenario(write(tmp_path, text, name))


# --- the full example --------------------------------------------------------------------------


def test_spec_example_loads_with_every_key(tmp_path: Path) -> None:
    path = write(tmp_path, SPEC_EXAMPLE, "studio.yaml")
    s = load_scenario(path)

    assert s.name == "Studio North, FY2027"
    assert s.source == str(path)
    assert (s.start, s.end, s.days) == (date(2027, 1, 1), date(2027, 12, 31), 365)

    assert s.calendar.workdays == (0, 1, 2, 3, 4)
    assert s.calendar.holidays == frozenset({date(2027, 12, 24), date(2027, 12, 27)})

    assert s.products["AutoCAD"] == 7 and s.products["Revit"] == 10 and s.products["Civil 3D"] == 9
    assert set(CATALOG) <= set(s.products)  # merged over the catalogue

    (lot,) = s.lots
    assert lot.name == "FY27 bundle"
    assert (lot.date, lot.tokens, lot.price, lot.expires, lot.pool) == (
        date(2027, 1, 1),
        5000,
        2.75,
        date(2028, 1, 1),
        "main",
    )
    assert lot.price_given is True

    assert [(t.min_tokens, t.price) for t in s.price_tiers] == [(100, 3.0), (5000, 2.75)]
    (reorder,) = s.reorders
    assert reorder.pool == "main"
    assert reorder.below == Threshold(percent=Fraction(20))
    assert (reorder.tokens, reorder.lead_days, reorder.max_orders, reorder.price) == (1000, 5, 4, None)

    assert s.pools == (Pool("main", Threshold(percent=Fraction(20))),)

    architects, dana = s.groups
    assert (architects.name, architects.count, architects.named) == ("architects", 8, False)
    assert [(u.product, u.days_per_week) for u in architects.products] == [("Revit", 1.5), ("AutoCAD", 0.5)]
    assert architects.products[0].left_open is None and architects.products[0].idle_awareness is None
    assert architects.start_hour == Normal(9.0, 1.0)
    assert architects.session_hours == Normal(6.0, 2.0)
    assert architects.left_open == 0.05
    assert architects.idle_awareness is True
    assert architects.variation == 0.0
    assert (architects.active_from, architects.active_to) == (date(2027, 3, 1), date(2027, 8, 31))
    assert architects.pool == "main"
    assert architects.people()[0] == "architects-1" and len(architects.people()) == 8

    assert (dana.name, dana.count, dana.named) == ("dana@studio.example", 1, True)
    assert dana.people() == ["dana@studio.example"]
    assert [(u.product, u.days_per_week) for u in dana.products] == [("Civil 3D", 3.0)]
    # defaults for everything dana's entry leaves out
    assert dana.start_hour == Normal(9.0, 1.0) and dana.session_hours == Normal(6.0, 2.0)
    assert (dana.left_open, dana.idle_awareness, dana.variation, dana.pool) == (0.0, True, 0.0, "main")
    assert (dana.active_from, dana.active_to) == (None, None)

    expected_season = [1.0] * 12
    expected_season[7], expected_season[11] = 0.5, 0.6
    assert s.seasonality == tuple(expected_season)

    (event,) = s.events
    assert (event.name, event.start, event.end, event.multiplier, event.groups) == (
        "Competition",
        date(2027, 4, 1),
        date(2027, 5, 15),
        2.0,
        ("architects",),
    )
    assert s.subscriptions == {"Revit": 2985.0, "AutoCAD": 2030.0}
    assert (s.costs.blocked_day, s.costs.token_price) == (600.0, 3.0)
    assert (s.runs, s.seed) == (2000, 7)


def test_defaults_of_a_minimal_file(tmp_path: Path) -> None:
    s = load_text(tmp_path, BASE, "north-office.yaml")
    assert s.name == "north-office"  # the file stem
    assert s.calendar.workdays == (0, 1, 2, 3, 4) and s.calendar.holidays == frozenset()
    assert s.products == catalog_rates()
    assert s.pools == (Pool("main", Threshold(percent=Fraction(20))),)
    assert s.groups == () and s.events == () and s.reorders == () and s.price_tiers == ()
    assert s.seasonality == (1.0,) * 12
    assert s.subscriptions == {}
    assert (s.costs.blocked_day, s.costs.token_price) == (None, 3.0)
    assert (s.runs, s.seed) == (1000, 0)


def test_parse_scenario_from_text_names_the_source() -> None:
    s = parse_scenario(BASE, "configs/plan.yaml")
    assert s.name == "plan" and s.source == "configs/plan.yaml"


# --- horizon -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("horizon", "end"),
    [
        ("end: 2027-12-31", date(2027, 12, 31)),
        ("days: 365", date(2027, 12, 31)),
        ("days: 1", date(2027, 1, 1)),
        ("end: 2027-01-01", date(2027, 1, 1)),
        ("end: '2027-06-30'", date(2027, 6, 30)),  # quoted dates work too
        ("days: 731", date(2028, 12, 31)),
    ],
)
def test_days_or_end(tmp_path: Path, horizon: str, end: date) -> None:
    s = load_text(tmp_path, f"start: 2027-01-01\n{horizon}\nlots: [{{date: 2027-01-01, tokens: 100}}]\n")
    assert s.end == end
    assert s.days == (end - date(2027, 1, 1)).days + 1


# --- lots ---------------------------------------------------------------------------------------


def test_lot_defaults_names_tier_prices_and_expiry(tmp_path: Path) -> None:
    text = """\
start: 2028-01-01
days: 366
purchasing:
  price_tiers:
    - {min_tokens: 100, price: 3.10}
    - {min_tokens: 5000, price: 2.75}
    - {min_tokens: 1000, price: 2.95}
pools: [{name: main}, {name: design, alert_below: 500}]
lots:
  - {date: 2028-01-01, tokens: 5000}
  - {date: 2028-02-29, tokens: 999}
  - {name: spare, date: "2027-06-15", tokens: 50, pool: design}
  - {date: 2028-07-01, tokens: 1000, price: 3.30, expires: 2029-03-31}
  - {date: 2029-01-01, tokens: 100}
"""
    s = load_text(tmp_path, text)
    names = [lot.name for lot in s.lots]
    assert names == ["lot-1", "lot-2", "spare", "lot-4", "lot-5"]
    one, leap, spare, given, last = s.lots
    assert one.price == 2.75 and not one.price_given  # 5000 -> the 5000 tier
    assert leap.price == 3.10  # 999 -> the 100 tier (the largest min_tokens <= 999)
    assert spare.price == 3.00  # below every tier -> list price
    assert given.price == 3.30 and given.price_given
    assert last.date == date(2029, 1, 1)  # the day after end is still allowed
    assert one.expires == date(2029, 1, 1)
    assert leap.expires == date(2029, 2, 28)  # 29 Feb -> 28 Feb next year
    assert spare.expires == date(2028, 6, 15) and spare.pool == "design"  # held at start
    assert given.expires == date(2029, 3, 31)
    assert s.pools[1] == Pool("design", Threshold(tokens=500))


def test_thresholds_and_reorder_list(tmp_path: Path) -> None:
    text = (
        BASE
        + """\
pools:
  - {name: main, alert_below: "12.5 %"}
  - {name: design, alert_below: 0}
purchasing:
  reorder:
    - {pool: main, below: 12.5%, tokens: 500}
    - {pool: design, below: 250, tokens: 100, lead_days: 0, max_orders: 2, price: 3.5}
"""
    )
    s = load_text(tmp_path, text)
    assert s.pools[0].alert_below == Threshold(percent=Fraction("12.5"))
    assert s.pools[1].alert_below == Threshold(tokens=0)
    main, design = s.reorders
    assert (main.pool, main.below, main.tokens, main.lead_days, main.max_orders, main.price) == (
        "main",
        Threshold(percent=Fraction("12.5")),
        500,
        0,
        None,
        None,
    )
    assert (design.below, design.max_orders, design.price) == (Threshold(tokens=250), 2, 3.5)
    assert s.reorder_for("design") is design


def test_hundred_percent_reorder_is_fine_with_a_cap_or_lead_time(tmp_path: Path) -> None:
    for extra in ("lead_days: 3", "max_orders: 2"):
        text = BASE + f"purchasing:\n  reorder: {{below: 100%, tokens: 100, {extra}}}\n"
        assert load_text(tmp_path, text).reorders[0].below.percent == 100


# --- people and the rest ------------------------------------------------------------------------


def test_users_defaults_overrides_and_added_products(tmp_path: Path) -> None:
    text = (
        BASE
        + """\
products: {Bespoke Tool: 4}
calendar: {workdays: [Mon, tuesday, sat], holidays: ["2027-05-01"]}
users:
  - group: drafters
    products:
      AutoCAD: {days_per_week: 2, left_open: 10%, idle_awareness: no}
      Bespoke Tool: 1
    start_hour: {mean: 8:30}   # a clock time, not YAML 1.1 base-60 (510)
    session_hours: {sd: 0}
    active: {to: 2027-06-30}
  - name: drafters-2x
    products: {Revit: {days_per_week: 0}}
seasonality: {August: 0, jan: 1.5}
events:
  - {from: 2027-02-01, to: 2027-02-01, multiplier: 0, groups: [drafters-2x]}
"""
    )
    s = load_text(tmp_path, text)
    assert s.products["Bespoke Tool"] == 4
    assert s.calendar.workdays == (0, 1, 5) and s.calendar.holidays == frozenset({date(2027, 5, 1)})
    drafters, person = s.groups
    assert drafters.count == 1 and not drafters.named
    auto, bespoke = drafters.products
    assert (auto.days_per_week, auto.left_open, auto.idle_awareness) == (2.0, 0.1, False)
    assert (bespoke.product, bespoke.days_per_week) == ("Bespoke Tool", 1.0)
    assert drafters.start_hour == Normal(8.5, 1.0)  # missing sd -> default sd
    assert drafters.session_hours == Normal(6.0, 0.0)
    assert (drafters.active_from, drafters.active_to) == (None, date(2027, 6, 30))
    assert person.named and person.products[0].days_per_week == 0.0
    assert s.seasonality[0] == 1.5 and s.seasonality[7] == 0.0 and s.seasonality[1] == 1.0
    (event,) = s.events
    assert event.name == "event-1" and event.groups == ("drafters-2x",)


def test_yaml_merge_keys_and_anchors(tmp_path: Path) -> None:
    text = (
        BASE
        + """\
users:
  - &base
    group: a
    count: 2
    products: {Revit: {days_per_week: 1}}
    variation: 0.2
  - <<: *base
    group: b
"""
    )
    a, b = load_text(tmp_path, text).groups
    assert (b.name, b.count, b.variation) == ("b", 2, 0.2)


def test_catalogue() -> None:
    assert CATALOG_DATE == "2026-11"
    rates = catalog_rates()
    assert rates["AutoCAD"] == 7 and rates["Revit"] == 10
    assert (rates["3ds Max"], rates["Civil 3D"], rates["Fusion"]) == (6, 9, 2)
    assert CATALOG["AutoCAD"].confirmed and CATALOG["Revit"].confirmed
    for name in ("AutoCAD LT", "Revit LT", "Inventor", "Maya", "Navisworks", "InfraWorks", "Vault"):
        assert not CATALOG[name].confirmed and "override" in CATALOG[name].note
    rates["AutoCAD"] = 1  # a fresh copy each time
    assert catalog_rates()["AutoCAD"] == 7


# --- bad input ----------------------------------------------------------------------------------

USERS = """\
users:
  - group: arch
    count: 2
    products:
      Revit: {days_per_week: 1}
"""  # lines 5-9 after BASE

# (id, file text, key path, line, a fragment of the message)
BAD = [
    ("unknown-top-key", BASE + "user: []\n", "user", 5, "did you mean 'users'"),
    ("misplaced-top-key", BASE + "runs: 10\n", "runs", 5, "under simulation"),
    (
        "misspelt-nested-key",
        BASE + "purchasing:\n  reorder:\n    below: 20%\n    tokens: 100\n    lead_day: 5\n",
        "purchasing.reorder.lead_day",
        9,
        "did you mean 'lead_days'",
    ),
    ("wrong-type", BASE + "simulation: {runs: many}\n", "simulation.runs", 5, "positive whole number"),
    ("boolean-as-number", BASE + "simulation:\n  runs: yes\n", "simulation.runs", 6, "boolean"),
    ("negative-count", BASE + USERS.replace("count: 2", "count: -2"), "users[0].count", 7, "got -2"),
    ("fractional-count", BASE + USERS.replace("count: 2", "count: 2.5"), "users[0].count", 7, "whole"),
    ("end-before-start", "start: 2027-06-01\nend: 2027-05-31\nlots: []\n", "end", 2, "before start"),
    ("malformed-date", "start: 2027-13-01\ndays: 10\nlots: []\n", "start", 1, "not a valid date"),
    ("quoted-bad-date", "start: '2027-02-30'\ndays: 10\nlots: []\n", "start", 1, "not a valid date"),
    (
        "text-date",
        BASE + "calendar:\n  holidays: [2027-12-24, next tuesday]\n",
        "calendar.holidays[1]",
        6,
        "next tuesday",
    ),
    ("date-with-time", "start: 2027-01-01 08:00:00\ndays: 3\nlots: []\n", "start", 1, "time of day"),
    (
        "percent-above-100",
        BASE + "pools:\n  - {name: main, alert_below: 120%}\n",
        "pools[0].alert_below",
        6,
        "above 100",
    ),
    (
        "percent-below-0",
        BASE + "purchasing:\n  reorder: {below: -5%, tokens: 10}\n",
        "purchasing.reorder.below",
        6,
        "below 0",
    ),
    (
        "fractional-token-threshold",
        BASE + "purchasing:\n  reorder:\n    below: 12.5\n    tokens: 10\n",
        "purchasing.reorder.below",
        7,
        "whole token count",
    ),
    (
        "endless-reorder",
        BASE + "purchasing:\n  reorder:\n    tokens: 10\n    below: 100%\n",
        "purchasing.reorder.below",
        8,
        "without end",
    ),
    (
        "undefined-pool-no-section",
        BASE + "  - {date: 2027-02-01, tokens: 5, pool: design}\n",
        "lots[1].pool",
        5,
        "only pool",
    ),
    (
        "pool-not-listed",
        BASE + "pools: [{name: main}]\n" + USERS + "    pool: mian\n",
        "users[0].pool",
        11,
        "did you mean 'main'",
    ),
    (
        "default-pool-not-listed",
        BASE + "pools:\n  - name: design\n",
        "lots[0].pool",
        4,
        "default pool 'main' is not listed in pools",
    ),
    (
        "unknown-product",
        BASE + USERS.replace("Revit:", "Revitt:"),
        "users[0].products.Revitt",
        9,
        "did you mean 'Revit'",
    ),
    (
        "product-case",
        BASE + USERS.replace("Revit:", "revit:"),
        "users[0].products.revit",
        9,
        "case-sensitive: write 'Revit'",
    ),
    (
        "product-case-in-products",
        BASE + "products:\n  autocad: 8\n",
        "products.autocad",
        6,
        "spells it 'AutoCAD'",
    ),
    (
        "unknown-subscription",
        BASE + "subscriptions:\n  Maya 2027: 1000\n",
        "subscriptions.Maya 2027",
        6,
        "unknown product",
    ),
    (
        "bad-days-per-week",
        BASE + USERS.replace("days_per_week: 1", "days_per_week: 8"),
        "users[0].products.Revit.days_per_week",
        9,
        "from 0 to 7",
    ),
    (
        "boolean-days-per-week",
        BASE + USERS.replace("days_per_week: 1", "days_per_week: yes"),
        "users[0].products.Revit.days_per_week",
        9,
        "boolean 'yes'",
    ),
    (
        "duplicate-lot-name",
        BASE + "  - {name: lot-1, date: 2027-02-01, tokens: 5}\n",
        "lots[1].name",
        5,
        "already used",
    ),
    (
        "duplicate-person",
        BASE + USERS + "  - name: arch-2\n    products: {Revit: 1}\n",
        "users[1].name",
        10,
        "person 'arch-2'",
    ),
    ("duplicate-key", BASE + "simulation:\n  runs: 5\n  runs: 6\n", "simulation.runs", 7, "duplicate key"),
    ("non-mapping-top", "- start: 2027-01-01\n- lots: []\n", None, 1, "expected a mapping"),
    ("yaml-syntax", BASE + "users: [a, b\n", None, 6, "invalid YAML"),
    ("yaml-tab", "start: 2027-01-01\n\tend: 2027-12-31\n", None, 2, "invalid YAML"),
    ("missing-start", "\n# comment\nend: 2027-12-31\nlots: []\n", "start", 3, "missing required key 'start'"),
    ("missing-lots", "start: 2027-01-01\ndays: 3\n", "lots", 1, "missing required key 'lots'"),
    ("missing-end", "start: 2027-01-01\nlots: []\n", "end", 1, "'days"),
    ("end-and-days", "start: 2027-01-01\nend: 2027-01-05\ndays: 5\nlots: []\n", "days", 3, "not both"),
    ("zero-days", "start: 2027-01-01\ndays: 0\nlots: []\n", "days", 2, "positive"),
    (
        "lot-missing-tokens",
        "start: 2027-01-01\ndays: 3\nlots:\n  - date: 2027-01-01\n",
        "lots[0].tokens",
        4,
        "missing",
    ),
    ("lot-zero-tokens", BASE.replace("tokens: 1000", "tokens: 0"), "lots[0].tokens", 4, "positive"),
    (
        "lot-expired-before-start",
        BASE.replace("date: 2027-01-01", "date: 2025-12-31"),
        "lots[0].date",
        4,
        "expired before start",
    ),
    (
        "lot-expires-on-start",
        BASE + "  - {date: 2026-03-01, tokens: 5, expires: 2027-01-01}\n",
        "lots[1].expires",
        5,
        "expired before start",
    ),
    (
        "lot-expires-before-date",
        BASE + "  - {date: 2027-03-01, tokens: 5, expires: 2027-02-01}\n",
        "lots[1].expires",
        5,
        "must be after",
    ),
    ("lot-after-end", BASE + "  - {date: 2028-01-02, tokens: 5}\n", "lots[1].date", 5, "after the run ends"),
    (
        "lot-negative-price",
        BASE + "  - {date: 2027-03-01, tokens: 5, price: -1}\n",
        "lots[1].price",
        5,
        "positive",
    ),
    (
        "duplicate-workday",
        BASE + "calendar:\n  workdays: [mon, tue, mon]\n",
        "calendar.workdays[2]",
        6,
        "twice",
    ),
    ("no-workdays", BASE + "calendar:\n  workdays: []\n", "calendar.workdays", 6, "at least one"),
    (
        "bad-weekday",
        BASE + "calendar: {workdays: [mon, thurs]}\n",
        "calendar.workdays[1]",
        5,
        "did you mean 'thu'",
    ),
    (
        "group-and-name",
        BASE + "users:\n  - group: a\n    name: b\n    products: {Revit: 1}\n",
        "users[0].name",
        7,
        "not both",
    ),
    ("neither-group-nor-name", BASE + "users:\n  - products: {Revit: 1}\n", "users[0].group", 6, "missing"),
    ("start-hour-24", BASE + USERS + "    start_hour: {mean: 24}\n", "users[0].start_hour.mean", 10, "24"),
    (
        "negative-sd",
        BASE + USERS + "    session_hours: {mean: 4, sd: -1}\n",
        "users[0].session_hours.sd",
        10,
        ">= 0",
    ),
    ("left-open-above-1", BASE + USERS + "    left_open: 1.5\n", "users[0].left_open", 10, "from 0 to 1"),
    (
        "idle-awareness-number",
        BASE + USERS + "    idle_awareness: 1\n",
        "users[0].idle_awareness",
        10,
        "true or false",
    ),
    (
        "active-backwards",
        BASE + USERS + "    active:\n      from: 2027-05-01\n      to: 2027-04-01\n",
        "users[0].active.to",
        12,
        "before from",
    ),
    (
        "reorder-list-without-pool",
        BASE + "purchasing:\n  reorder:\n    - {below: 10%, tokens: 5}\n",
        "purchasing.reorder[0].pool",
        7,
        "names its pool",
    ),
    (
        "two-reorders-one-pool",
        BASE
        + "purchasing:\n  reorder:\n"
        + "    - {pool: main, below: 10%, tokens: 5}\n    - {pool: main, below: 5, tokens: 5}\n",
        "purchasing.reorder[1].pool",
        8,
        "already has a reorder",
    ),
    (
        "duplicate-tier",
        BASE
        + "purchasing:\n  price_tiers:\n"
        + "    - {min_tokens: 100, price: 3}\n    - {min_tokens: 100, price: 2}\n",
        "purchasing.price_tiers[1].min_tokens",
        8,
        "already used",
    ),
    ("bad-month", BASE + "seasonality: {agu: 0.5}\n", "seasonality.agu", 5, "did you mean 'aug'"),
    ("negative-season", BASE + "seasonality:\n  dec: -0.5\n", "seasonality.dec", 6, ">= 0"),
    (
        "event-unknown-group",
        BASE
        + USERS
        + "events:\n  - {name: x, from: 2027-01-01, to: 2027-01-02, multiplier: 2, groups: [archi]}\n",
        "events[0].groups[0]",
        11,
        "did you mean 'arch'",
    ),
    ("negative-seed", BASE + "simulation:\n  seed: -1\n", "simulation.seed", 6, ">= 0"),
    ("negative-blocked-day", BASE + "costs: {blocked_day: -600}\n", "costs.blocked_day", 5, ">= 0"),
    ("zero-rate", BASE + "products:\n  Revit: 0\n", "products.Revit", 6, "positive"),
    ("lots-not-a-list", "start: 2027-01-01\ndays: 3\nlots:\n  tokens: 5\n", "lots", 4, "expected a list"),
    ("duplicate-pool", BASE + "pools: [{name: main}, {name: main}]\n", "pools[1].name", 5, "already defined"),
    (
        "unknown-user-key",
        BASE + USERS + "    left_opn: 0.1\n",
        "users[0].left_opn",
        10,
        "did you mean 'left_open'",
    ),
    ("nan-variation", BASE + USERS + "    variation: .nan\n", "users[0].variation", 10, "number"),
]


@pytest.mark.parametrize(("text", "path", "line", "fragment"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_input_is_one_located_line(
    tmp_path: Path, text: str, path: str | None, line: int, fragment: str
) -> None:
    file = write(tmp_path, text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(file)
    err = info.value
    assert (err.file, err.path, err.line) == (str(file), path, line)
    message = str(err)
    assert "\n" not in message
    prefix = f"{file}:{line}: " + (f"{path}: " if path else "")
    assert message.startswith(prefix), message
    assert fragment in message


def test_bad_input_table_is_large() -> None:
    assert len(BAD) >= 25


def test_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ScenarioError) as info:
        load_scenario(missing)
    assert str(info.value) == f"{missing}: no such file"


@pytest.mark.parametrize("text", ["", "   \n# only a comment\n", "~\n"])
def test_empty_file(tmp_path: Path, text: str) -> None:
    file = write(tmp_path, text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(file)
    assert info.value.line is None and info.value.path is None
    assert str(info.value).startswith(f"{file}: the file is empty")


def test_not_utf8(tmp_path: Path) -> None:
    file = tmp_path / "latin.yaml"
    file.write_bytes(b"start: 2027-01-01\nname: caf\xe9\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(file)
    assert info.value.line == 2 and "UTF-8" in str(info.value)


def test_error_str_leaves_out_missing_parts() -> None:
    assert str(ScenarioError("boom", file="a.yaml", path="x.y", line=3)) == "a.yaml:3: x.y: boom"
    assert str(ScenarioError("boom", file="a.yaml")) == "a.yaml: boom"
    assert str(ScenarioError("boom", path="x")) == "x: boom"
    assert str(ScenarioError("two\nlines", file="a.yaml", line=1)) == "a.yaml:1: two lines"
