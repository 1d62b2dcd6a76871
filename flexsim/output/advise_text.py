"""What `flexsim advise` prints: people by the expected saving of a subscription, the plan and
the waste findings, from the `advise --json` object (`flexsim.analysis.advise.advise`)."""

from __future__ import annotations

import textwrap


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
    w = max([len(p["person"]) for p in rows] + [6])
    wp = max([len(p["product"]) for p in rows] + [7])
    lines = [
        *textwrap.wrap(
            f"{data['scenario']}: Flex or subscription, {data['runs']} runs, seed {data['seed']} "
            f"(a token valued at ${data['token_price']:.2f}; P10-P90: the middle 80% of runs)",
            80,
        ),
        "",
        f"  {'person':<{w}} {'product':<{wp}} {'days/yr':>7} {'P10-P90':>9} {'Flex USD':>8} "
        f"{'subscr.':>7} {'P(sub)':>6}  advice",
    ]
    for p in rows:
        d, f = p["days_per_year"], p["flex_cost_per_year"]
        sub = "-" if p["subscription_price"] is None else f"{p['subscription_price']:,.0f}"
        prob = "-" if p["subscription_price"] is None else f"{p['probability_subscription_cheaper']:.0%}"
        spread = f"{d['p10']:.0f}-{d['p90']:.0f}"
        lines.append(
            f"  {p['person']:<{w}} {p['product']:<{wp}} {d['mean']:>7.0f} {spread:>9} "
            f"{f['mean']:>8,.0f} {sub:>7} {prob:>6}  {p['recommendation']}"
        )
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
                80,
            )
        )
    elif moved:
        lines.append(
            f"Plan: move {len(moved)} person-product(s) to subscriptions: "
            + ", ".join(f"{m['person']} ({m['product']})" for m in moved[:8])
            + (" ..." if len(moved) > 8 else "")
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
    return "\n".join(lines) + "\n"
