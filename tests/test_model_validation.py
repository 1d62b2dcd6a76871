"""The scenario model validates itself: the Python API refuses what the file refuses, in the
same words, and what could not run or could not end is refused before anything is simulated."""

from __future__ import annotations

import math
import time
from dataclasses import replace
from datetime import date
from fractions import Fraction
from pathlib import Path

import pytest

from flexsim import (
    Calendar,
    Group,
    History,
    Lot,
    Pool,
    ProductUse,
    Reorder,
    Scenario,
    ScenarioError,
    Threshold,
    load,
    parse_scenario,
    simulate,
)

EXAMPLES = sorted((Path(__file__).parent.parent / "flexsim" / "examples").glob("*.yaml"))

BASE = """\
name: base
start: 2027-01-01
end: 2027-12-31
lots:
  - {name: pack, date: 2027-01-01, tokens: 5000}
users:
  - group: team
    count: 3
    products: {Revit: 2}
"""


def base() -> Scenario:
    return parse_scenario(BASE, "base.yaml")


def with_lots(*lots: Lot) -> Scenario:
    return replace(base(), lots=lots)


def with_group(**changes) -> Scenario:
    sc = base()
    return replace(sc, groups=(replace(sc.groups[0], **changes),))


PACK = base().lots[0]
REORDER = "purchasing:\n  reorder:\n    - {pool: main, below: %s, tokens: %s%s}\n"
NO_WORKDAY = "calendar:\n  workdays: [sat]\n  holidays: [{}]\n".format(
    ", ".join(date.fromordinal(date(2027, 1, 2).toordinal() + 7 * k).isoformat() for k in range(600))
)

# (what the file says, the same scenario built through the API)
SAME_REFUSAL = {
    "below 100%, never ends": (
        REORDER % ("100%", 10, ""),
        lambda: replace(base(), reorders=(Reorder("main", Threshold(percent=Fraction(100)), 10),)),
    ),
    "below 99.9%, one token a top-up": (
        REORDER % ('"99.9%"', 1, ""),
        lambda: replace(base(), reorders=(Reorder("main", Threshold(percent=Fraction("99.9")), 1),)),
    ),
    "a billion orders": (
        REORDER % ("10%", 100, ", max_orders: 1000000000"),
        lambda: replace(base(), reorders=(Reorder("main", Threshold(percent=Fraction(10)), 100, 0, 10**9),)),
    ),
    "a lead time of a million days": (
        REORDER % ("10%", 100, ", lead_days: 1000000"),
        lambda: replace(base(), reorders=(Reorder("main", Threshold(percent=Fraction(10)), 100, 10**6),)),
    ),
    "a million people": (
        None,
        lambda: with_group(count=10**6),
    ),
    "packs beyond the ledger": (
        "lots!",
        lambda: with_lots(*(replace(PACK, name=f"p{k}", tokens=2**62) for k in range(3))),
    ),
    "a price of 1e308": (
        "price!",
        lambda: with_lots(replace(PACK, price=1e308, price_given=True)),
    ),
    "a trillion runs": ("simulation: {runs: 1000000000000}\n", lambda: replace(base(), runs=10**12)),
    "a seed of 2**63": ("simulation: {seed: 9223372036854775808}\n", lambda: replace(base(), seed=2**63)),
    "no workday for ten years": (
        NO_WORKDAY,
        lambda: replace(
            base(),
            calendar=Calendar(
                workdays=(5,),
                holidays=frozenset(
                    date.fromordinal(date(2027, 1, 2).toordinal() + 7 * k) for k in range(600)
                ),
            ),
        ),
    ),
    "a lone surrogate in the name": (
        'name: "bad \\udc80 name"\n',
        lambda: replace(base(), name="bad \udc80 name"),
    ),
    "days used beyond the workdays": (
        None,
        lambda: with_group(products=(ProductUse("Revit", 2.0, history=History(300, 200)),)),
    ),
}


def file_text(key: str) -> str | None:
    extra = SAME_REFUSAL[key][0]
    if extra is None:
        return {
            "a million people": BASE.replace("count: 3", "count: 1000000"),
            "days used beyond the workdays": BASE.replace(
                "products: {Revit: 2}",
                "products:\n      Revit: {days_per_week: 2, history: {days_used: 300, workdays: 200}}",
            ),
        }[key]
    if extra == "lots!":
        packs = "".join(f"  - {{name: p{k}, date: 2027-01-01, tokens: {2**62}}}\n" for k in range(3))
        return BASE.replace("  - {name: pack, date: 2027-01-01, tokens: 5000}\n", packs)
    if extra == "price!":
        return BASE.replace("tokens: 5000}", "tokens: 5000, price: 1.0e+308}")
    if extra.startswith("name:"):
        return extra + BASE.split("\n", 1)[1]
    return BASE + extra


@pytest.mark.parametrize("key", sorted(SAME_REFUSAL))
def test_the_api_refuses_what_the_file_refuses_in_the_same_words(key: str) -> None:
    with pytest.raises(ScenarioError) as from_file:
        parse_scenario(file_text(key), "s.yaml")
    assert from_file.value.line is not None, str(from_file.value)  # the file's message names the line
    scenario = SAME_REFUSAL[key][1]()
    started = time.monotonic()
    with pytest.raises(ScenarioError) as from_api:
        simulate(scenario, runs=2)
    assert time.monotonic() - started < 10
    assert from_api.value.message == from_file.value.message
    assert from_api.value.path == from_file.value.path
    assert "\n" not in str(from_api.value)
    with pytest.raises(ScenarioError):
        scenario.validate()


def test_the_api_names_the_key_and_the_scenario_not_a_line() -> None:
    scenario = replace(base(), reorders=(Reorder("main", Threshold(percent=Fraction(100)), 10),))
    with pytest.raises(ScenarioError) as caught:
        simulate(scenario, runs=2)
    assert str(caught.value).startswith(
        "base.yaml: purchasing.reorder[0].below: below: 100% with lead_days 0"
    )


@pytest.mark.parametrize(
    "scenario, path",
    [
        (with_lots(replace(PACK, price=math.nan)), "lots[0].price"),
        (with_lots(replace(PACK, tokens=0)), "lots[0].tokens"),
        (with_lots(replace(PACK, tokens=12.5)), "lots[0].tokens"),
        (with_lots(replace(PACK, pool="nowhere")), "lots[0].pool"),
        (with_lots(replace(PACK, expires=date(2026, 6, 1))), "lots[0].expires"),
        (with_lots(replace(PACK, date=date(2029, 1, 1), expires=date(2030, 1, 1))), "lots[0].date"),
        (with_group(products=(ProductUse("Revit", "3"),)), "users[0].products.Revit.days_per_week"),
        (with_group(products=(ProductUse("NoSuchProduct", 1.0),)), "users[0].products.NoSuchProduct"),
        (with_group(left_open=1.5), "users[0].left_open"),
        (with_group(pool="nowhere"), "users[0].pool"),
        (replace(base(), pools=()), "pools"),
        (replace(base(), pools=(Pool("main"), Pool("main"))), "pools[1].name"),
        (replace(base(), end=date(2026, 1, 1)), "end"),
        (replace(base(), start=date(9999, 12, 30), end=date(9999, 12, 31)), "start"),
        (replace(base(), seasonality=(1.0,) * 11 + (math.inf,)), "seasonality.dec"),
        (replace(base(), calendar=Calendar(workdays=())), "calendar.workdays"),
        (replace(base(), groups=(Group("a", ()),)), "users[0].products"),
    ],
)
def test_the_api_refuses_a_model_the_loader_could_not_have_built(scenario: Scenario, path: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        simulate(scenario, runs=2)
    assert caught.value.path == path, str(caught.value)


def test_runs_given_to_simulate_are_bounded_too() -> None:
    with pytest.raises(ScenarioError) as caught:
        simulate(base(), runs=10**7)
    assert caught.value.path == "runs"
    busy = with_group(count=5_000)
    with pytest.raises(ScenarioError) as caught:
        simulate(busy, runs=1_000_000)
    assert caught.value.path == "runs" and "person-product-days" in caught.value.message


def test_the_file_keeps_the_line_of_the_key_it_wrote() -> None:
    text = BASE + "purchasing:\n  reorder: {below: 100%, tokens: 10}\n"
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, "s.yaml")
    assert str(caught.value).startswith("s.yaml:11: purchasing.reorder.below: ")
    days = BASE.replace("end: 2027-12-31", "days: 2").replace("2027-01-01", "9899-12-31")
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(days, "s.yaml")
    assert str(caught.value).startswith("s.yaml:3: days: 9900-01-01 is outside the dates")


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_shipped_scenarios_validate_unchanged(path: Path) -> None:
    scenario = load(path)
    assert scenario.validate() is scenario
