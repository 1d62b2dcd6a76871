"""What `flexsim advise` prints: people by the expected saving of a subscription, the plan and
the waste findings, from the `advise --json` object (`flexsim.analysis.advise.advise`)."""

from __future__ import annotations

import textwrap

from flexsim.output.layout import WIDTH, fold

_FIGURES = f"{'days/yr':>7} {'P10-P90':>7} {'Flex USD':>8} {'subscr.':>7} {'P(sub)':>6}  advice"


def _figures(p: dict) -> str:
    d, f = p["days_per_year"], p["flex_cost_per_year"]
    sub = "-" if p["subscription_price"] is None else f"{p['subscription_price']:,.0f}"
    prob = "-" if p["subscription_price"] is None else f"{p['probability_subscription_cheaper']:.0%}"
    spread = f"{d['p10']:.0f}-{d['p90']:.0f}"
    return f"{d['mean']:>7.0f} {spread:>7} {f['mean']:>8,.0f} {sub:>7} {prob:>6}  {p['recommendation']}"


def _people_lines(rows: list[dict]) -> list[str]:
    """One line per person-product when the names fit in 80 columns; otherwise each person's
    name on a line of its own (never cut short) with their products under it."""
    w = max([len(p["person"]) for p in rows] + [6])
    wp = max([len(p["product"]) for p in rows] + [7])
    advice = max([len(p["recommendation"]) for p in rows] + [len("advice")])
    if 2 + w + 1 + wp + 1 + len(_FIGURES) - len("advice") + advice <= WIDTH:
        head = f"  {'person':<{w}} {'product':<{wp}} {_FIGURES}"
        return [head] + [f"  {p['person']:<{w}} {p['product']:<{wp}} {_figures(p)}" for p in rows]
    wp = max(wp, len("person / product"))
    lines = [f"  {'person / product':<{wp + 2}} {_FIGURES}"]
    order: dict[
        str, list[dict]
    ] = {}  # persons in the order of their first (best) row, their products under them
    for p in rows:
        order.setdefault(p["person"], []).append(p)
    for person, products in order.items():
        lines.append(f"  {person}")
        lines += [f"    {p['product']:<{wp}} {_figures(p)}" for p in products]
    return lines


def table_text(data: dict) -> str:
    """People sorted by the expected saving of a subscription, then the plan."""
    rows = sorted(
        data["people"],
        key=lambda p: (
            -(
                p["expected_saving_with_subscription"]
                if p["expected_saving_with_subscription"] is not None
                else -1e18
            )
        ),
    )
    lines = [
        *textwrap.wrap(
            f"{data['scenario']}: Flex or subscription, {data['runs']} runs, seed {data['seed']} "
            f"(a token valued at ${data['token_price']:.2f}; P10-P90: the middle 80% of runs)",
            WIDTH,
        ),
        "",
        *_people_lines(rows),
    ]
    plan = data["plan"]
    lines.append("")
    moved = plan["move_to_subscription"]
    if all(p["subscription_price"] is None for p in rows):
        lines.extend(
            textwrap.wrap(
                "No subscription prices to compare with: the scenario has no `subscriptions:` "
                "block, so everyone stays on Flex. Add the annual price you would pay per product "
                "(e.g. `subscriptions: {Revit: 2985, AutoCAD: 2030}`; flexsim calibrate writes "
                "list prices to check against your quote) and run advise again.",
                WIDTH,
            )
        )
    elif moved:
        lines += textwrap.wrap(
            f"Plan: move {len(moved)} person-product(s) to subscriptions: "
            + ", ".join(f"{m['person']} ({m['product']})" for m in moved[:8])
            + (" ..." if len(moved) > 8 else ""),
            WIDTH,
            subsequent_indent="  ",
            break_on_hyphens=False,
        )
    else:
        lines.append("Plan: nobody is better off on a subscription.")
    if "best_bundle" in plan:
        b = plan["best_bundle"]
        lines.append(
            f"Best size of pack {b['lot']!r} ({b['objective']} objective): "
            f"{b['before']['tokens']:,} tokens as it is, {b['after']['tokens']:,} with the plan"
        )
    for key, label in (
        ("cost_before", "Cost as it is"),
        ("cost_after", "Cost with the plan"),
        ("saving", "Saving"),
    ):
        s = plan[key]
        lo, hi = s["mean_ci95"]
        ci = "" if lo is None else f" (95% CI {lo:,.0f} to {hi:,.0f})"
        lines.append(f"  {label + ' (USD/year):':<30} {s['mean']:>10,.0f}{ci}")
    left = data["waste"]["left_open_recharges_usd_per_year"]["total"]
    if left["mean"]:
        lines.append(
            f"Left open without idle awareness: {left['mean']:,.0f} USD/year re-charged "
            f"(P10-P90 {left['p10']:,.0f} to {left['p90']:,.0f})"
        )
    several = data["waste"]["several_products_same_day_usd_per_year"]["total"]
    if several["mean"]:
        lines.append(
            f"Second products opened the same day: {several['mean']:,.0f} USD/year "
            f"(P10-P90 {several['p10']:,.0f} to {several['p90']:,.0f})"
        )
    rare = data["waste"]["never_worth_a_subscription"]
    if rare:
        lines.append(
            f"{len(rare)} person-product(s): a subscription was cheaper in none of the "
            "runs, so Flex is right for them."
        )
    return "\n".join(fold(lines)) + "\n"
