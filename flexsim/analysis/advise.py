"""Flex or subscription: price each person's choice, then re-simulate the pool with the movers.

A person's yearly Flex cost for a product is the tokens charged to them for it, scaled to 365
days, at `costs.token_price`. Whether it beats the subscription price is a probability over the
runs, not a fixed rule of thumb. Moving people to subscriptions changes what the rest of the pool
needs, so the plan is re-simulated on the same runs (common random numbers) and priced as a whole.
"""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import replace

import numpy as np

from flexsim.analysis.costs import yearly_use_cost
from flexsim.analysis.stats import proportion, summary_with_range
from flexsim.api import Results, simulate
from flexsim.errors import OptimizeError
from flexsim.output.progress import Progress
from flexsim.scenario.model import Scenario


def _seat_floats(results: Results, name: str) -> np.ndarray:
    return results.per_seat(name).astype(np.float64)


def advise(
    scenario: Scenario,
    runs: int,
    seed: int,
    workers: int = 1,
    threshold: float = 0.5,
    progress=None,
    lot: str | None = None,
    sizes: list[int] | None = None,
    executor: Executor | None = None,
) -> dict:
    """The `advise --json` object of SPEC section 5 (plus waste findings; with `lot` and
    `sizes`, also how the best size of that pack changes once the plan is in place).

    `progress` (None: on a terminal) shows each simulation pass; `executor`: any
    concurrent.futures.Executor to run on (same results)."""
    if scenario.days not in (365, 366):
        raise OptimizeError(
            f"{scenario.source}: advise compares a year of Flex use with a yearly subscription, "
            f"but this scenario covers {scenario.days} days ({scenario.start} to {scenario.end}); "
            "scaling part of a year to a whole one would carry that part's season to the rest. "
            "Set `end` one year after `start` less a day (or `days: 365`), with the packs for that year"
        )
    if (lot is None) != (sizes is None):
        raise ValueError("lot and sizes go together")
    if lot is not None:  # a bad pack name or a held pack: say so before simulating anything
        from flexsim.analysis.optimize import check_lot

        check_lot(scenario, lot)
    with Progress(enabled=progress) as bar:
        return _advise(scenario, runs, seed, workers, threshold, bar, lot, sizes, executor)


def _advise(
    scenario: Scenario,
    runs: int,
    seed: int,
    workers: int,
    threshold: float,
    bar: Progress,
    lot: str | None,
    sizes: list[int] | None,
    executor: Executor | None,
) -> dict:
    before = simulate(
        scenario,
        runs=runs,
        seed=seed,
        keep_seats=True,
        progress=bar.phase("people as they are", runs),
        workers=workers,
        executor=executor,
    )

    plan = before.plan
    scale = 365.0 / scenario.days
    price_token = scenario.costs.token_price
    tokens = _seat_floats(before, "seat_tokens")  # (runs, seats)
    days = _seat_floats(before, "seat_days")
    idle = _seat_floats(before, "seat_idle_tokens")
    month_days = _seat_floats(before, "seat_month_days")
    extra = _seat_floats(before, "person_extra_tokens")  # (runs, persons)
    flex = tokens * price_token * scale
    people = []
    moved: list[tuple[str, str]] = []
    for s in range(plan.n_seats):
        person = plan.persons[plan.seat_person[s]]
        group = scenario.groups[plan.person_group[plan.seat_person[s]]]
        product = plan.seat_product[s]
        price = scenario.subscriptions.get(product)
        cheaper = int((flex[:, s] > price).sum()) if price is not None else 0
        prob = cheaper / runs if price is not None else 0.0
        already = (person, product) in scenario.on_subscription
        recommendation = "subscription" if price is not None and (already or prob > threshold) else "flex"
        if recommendation == "subscription" and not already:
            moved.append((person, product))
        rate = int(plan.seat_rate[s])
        people.append(
            {
                "person": person,
                "group": None if group.named else group.name,
                "product": product,
                "pool": plan.pool_names[plan.seat_pool[s]],
                "days_per_year": summary_with_range(days[:, s] * scale),
                "flex_cost_per_year": summary_with_range(flex[:, s]),
                "subscription_price": price,
                "probability_subscription_cheaper": prob,
                "probability_detail": proportion(cheaper, runs) if price is not None else None,
                "break_even_days_per_year": (price / (rate * price_token)) if price is not None else None,
                "expected_saving_with_subscription": (
                    float(flex[:, s].mean()) - price if price is not None else None
                ),
                "recommendation": recommendation,
                "already_on_subscription": already,
                # Mean days of use in each calendar month (January first) over the horizon.
                "days_per_month": [float(v) for v in month_days[:, :, s].mean(axis=0)],
            }
        )
    cost_before = yearly_use_cost(before.records, scenario) + sum(
        scenario.subscriptions[p] for _, p in scenario.on_subscription if p in scenario.subscriptions
    )
    if moved:
        after_scenario = replace(scenario, on_subscription=scenario.on_subscription | frozenset(moved))
        after = simulate(
            after_scenario,
            runs=runs,
            seed=seed,
            progress=bar.phase("with the plan", runs),
            workers=workers,
            executor=executor,
        )
        cost_after = yearly_use_cost(after.records, after_scenario) + sum(
            scenario.subscriptions[p]
            for _, p in after_scenario.on_subscription
            if p in scenario.subscriptions
        )
    else:
        cost_after = cost_before.copy()  # nobody moves: the same runs, the same cost
        after_scenario = scenario
    bundle = None
    if lot is not None and sizes is not None:
        bundle = _best_bundle(scenario, after_scenario, lot, sizes, runs, seed, bar, workers, executor)
    waste = _waste(scenario, before, idle * price_token * scale, extra * price_token * scale, people)
    return {
        "scenario": scenario.name,
        "runs": runs,
        "seed": seed,
        "threshold": threshold,
        "token_price": price_token,
        "horizon_days": scenario.days,
        "people": people,
        "plan": {
            "move_to_subscription": [{"person": p, "product": q} for p, q in moved],
            "cost_before": summary_with_range(cost_before),
            "cost_after": summary_with_range(cost_after),
            "saving": summary_with_range(cost_before - cost_after),
            **({} if bundle is None else {"best_bundle": bundle}),
        },
        "waste": waste,
    }


def _best_bundle(
    before: Scenario,
    after: Scenario,
    lot: str,
    sizes: list[int],
    runs: int,
    seed: int,
    bar: Progress,
    workers: int,
    executor: Executor | None,
) -> dict:
    """The recommended size of pack `lot` without and with the plan (same runs)."""
    from flexsim.analysis.optimize import evaluate, recommend

    objective = "cost" if before.costs.blocked_day is not None else "service"
    out = {"lot": lot, "objective": objective, "max_run_out": 0.05}
    for key, sc in (("before", before), ("after", after)):
        tick = bar.phase(f"sizes of {lot}, {'with' if key == 'after' else 'without'} the plan", runs)
        cands = evaluate(sc, lot, sizes, runs, seed, workers, objective, tick, executor=executor)
        rec = recommend(cands, objective, 0.05)
        out[key] = {
            "tokens": rec.summary.tokens,
            "expected_cost": rec.summary.expected_cost,
            "cost_ci95": list(rec.summary.cost_ci95),
            "run_out_probability": rec.summary.run_out_probability,
            "meets_limit": rec.meets_limit,
        }
    return out


def _waste(
    scenario: Scenario, results: Results, idle_usd: np.ndarray, extra_usd: np.ndarray, people: list[dict]
) -> dict:
    """What the seed guide calls waste, in USD per year with ranges."""
    plan = results.plan
    by_group: dict[str, np.ndarray] = {}
    for s in range(plan.n_seats):
        group = scenario.groups[plan.person_group[plan.seat_person[s]]].name
        by_group[group] = by_group.get(group, 0) + idle_usd[:, s]
    rare = [
        {
            "person": p["person"],
            "product": p["product"],
            "expected_flex_cost_per_year": p["flex_cost_per_year"]["mean"],
            "subscription_price": p["subscription_price"],
        }
        for p in people
        if p["subscription_price"] is not None and p["probability_subscription_cheaper"] == 0.0
    ]
    extra_by_group: dict[str, np.ndarray] = {}
    for p in range(len(plan.persons)):
        group = scenario.groups[plan.person_group[p]].name
        extra_by_group[group] = extra_by_group.get(group, 0) + extra_usd[:, p]
    return {
        "several_products_same_day_usd_per_year": {
            "total": summary_with_range(extra_usd.sum(axis=1)),
            "by_group": {g: summary_with_range(v) for g, v in extra_by_group.items() if np.any(v)},
            "note": "tokens of the second and further products a person launches on the same day "
            "(each product has its own window), valued at costs.token_price",
        },
        "left_open_recharges_usd_per_year": {
            "total": summary_with_range(idle_usd.sum(axis=1)),
            "by_group": {g: summary_with_range(v) for g, v in by_group.items() if np.any(v)},
            "note": "tokens charged again for products left open but idle (no idle awareness); "
            "an upper bound on what idle awareness would save, since a re-charge may also "
            "cover use later in the same 24 hours",
            # Groups that leave products open: with idle awareness that costs nothing; without
            # it, the re-charges above are what turning idle awareness on would save.
            "groups_leaving_products_open": [
                {
                    "group": g.name,
                    "left_open": g.left_open,
                    "idle_awareness": g.idle_awareness,
                    "usd_per_year": summary_with_range(by_group.get(g.name, np.zeros(results.runs))),
                }
                for g in scenario.groups
                if g.left_open > 0 or any(u.left_open for u in g.products)
            ],
        },
        "never_worth_a_subscription": rare,
    }
