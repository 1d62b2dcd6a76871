"""The most straightforward SimPy model of flexsim's token rules: a speed yardstick and a cross-check.

One SimPy process per (person, product) walks every day of the horizon with `env.timeout`; random
numbers are drawn one at a time from a `numpy.random.Generator`; the pack ledger is a plain list.
No vectorisation, no event skipping, nothing precomputed but the calendar. It is deliberately written
apart from flexsim's engines (it shares only the scenario dataclasses), so that its statistics can
be compared with flexsim's as an independent check of the rules (SPEC section 1, DOMAIN.md).

Times are hours from 00:00 of `scenario.start`; day `d` starts at `24 * d`; the run ends at
`24 * scenario.days` (00:00 of the day after `end`), and events at exactly that instant still
happen (an expiry then is counted as expired).

Not modelled: reorder policies (top-ups). A scenario with `purchasing.reorder` is run without them
and a warning is printed.

Usage:  python benchmarks/naive_simpy.py [SCENARIO.yaml] [--runs 5] [--seed S] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from collections.abc import Generator, Iterable
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import simpy

if TYPE_CHECKING:
    from flexsim.scenario.model import Group, Lot, ProductUse, Scenario

HERE = Path(__file__).resolve().parent
REFERENCE = HERE / "reference.yaml"

WINDOW_H = 24.0  # a charge covers [t, t + 24 h)
SHORT_SESSION_H = 5.0 / 60.0  # sessions shorter than this are free and open no window
LATEST_HOUR = math.nextafter(24.0, 0.0)  # start hours are clipped to [0, 24)
LAUNCH, RENEWAL, IDLE = "launch", "renewal", "idle"  # kinds of charge attempt


# --------------------------------------------------------------------------------------------
# The pack ledger of one pool
# --------------------------------------------------------------------------------------------


class Pack:
    """One lot inside a run: when it arrives, when it expires, what is left of it."""

    def __init__(self, lot: Lot, index: int, start: date) -> None:
        self.name = lot.name
        self.tokens = lot.tokens
        # a lot dated before `start` is held at start
        self.arrive = max(0, (lot.date - start).days) * WINDOW_H
        self.expire = (lot.expires - start).days * WINDOW_H
        # draw order: earliest expiry, then smallest pack, then earliest date (then file order)
        self.key = (lot.expires, lot.tokens, lot.date, index)
        self.arrived = False
        self.gone = False
        self.remaining = 0
        self.consumed = 0
        self.expired = 0


class Ledger:
    """Balance of one pool: arrivals, expiries, charges drawn pack by pack."""

    def __init__(self, name: str, lots: Iterable[Lot], start: date) -> None:
        self.name = name
        self.packs = sorted((Pack(lot, i, start) for i, lot in enumerate(lots)), key=lambda p: p.key)
        self.start = start
        self.purchased = 0
        self.consumed = 0
        self.expired = 0
        self.charges = 0
        self.blocked_launches = 0  # launches refused
        self.blocked_renewals = 0  # renewals of a session in use refused (the session ends)
        self.idle_refused = 0  # renewals of an idle, left-open product refused (it closes; no work lost)
        self.blocked_days: set[tuple[str, str, int]] = set()  # (person, product, day) with work lost
        self.first_blocked_launch: float | None = None
        self.first_blocked: float | None = None  # first launch or in-use renewal refused

    def advance(self, t: float) -> None:
        """Apply every arrival and expiry due at or before `t` (arrivals first)."""
        for p in self.packs:
            if not p.arrived and p.arrive <= t:
                p.arrived = True
                p.remaining = p.tokens
                self.purchased += p.tokens
        for p in self.packs:
            if p.arrived and not p.gone and p.expire <= t:
                p.gone = True
                p.expired = p.remaining
                self.expired += p.remaining
                p.remaining = 0

    def balance(self) -> int:
        return sum(p.remaining for p in self.packs if p.arrived and not p.gone)

    def charge(self, t: float, tokens: int) -> bool:
        """Charge `tokens` at time `t`; False (and nothing taken) if the balance can't cover it."""
        self.advance(t)
        if self.balance() < tokens:
            return False
        need = tokens
        for p in self.packs:  # already in draw order
            if need == 0:
                break
            if p.arrived and not p.gone and p.remaining > 0:
                take = min(need, p.remaining)
                p.remaining -= take
                p.consumed += take
                need -= take
        self.consumed += tokens
        self.charges += 1
        return True

    def refused(self, t: float, kind: str, person: str, product: str) -> None:
        """Tally a charge that could not be covered: kind is LAUNCH, RENEWAL or IDLE."""
        if kind == IDLE:
            self.idle_refused += 1
            return
        if kind == LAUNCH:
            self.blocked_launches += 1
            if self.first_blocked_launch is None:
                self.first_blocked_launch = t
        else:
            self.blocked_renewals += 1
        if self.first_blocked is None:
            self.first_blocked = t
        self.blocked_days.add((person, product, int(t // WINDOW_H)))


# --------------------------------------------------------------------------------------------
# People and their products
# --------------------------------------------------------------------------------------------


class Calendar:
    """The horizon's days: which are workdays, and the next workday after each."""

    def __init__(self, scenario: Scenario) -> None:
        self.start = scenario.start
        self.days = scenario.days
        cal = scenario.calendar
        self.dates = [scenario.start + timedelta(days=d) for d in range(self.days)]
        self.workday = [cal.is_workday(day) for day in self.dates]
        # next_workday[d]: day index (may lie past the horizon) of the first workday after day d
        self.next_workday = [(cal.next_workday(day) - scenario.start).days for day in self.dates]


class Person:
    """One person in one run: the usage factor and the start hour of each workday."""

    def __init__(self, name: str, group: Group, factor: float, rng: np.random.Generator) -> None:
        self.name = name
        self.group = group
        self.factor = factor
        self.rng = rng
        self._start_hours: dict[int, float] = {}

    def start_hour(self, day: int) -> float:
        """This person's start hour on day index `day` (drawn the first time it is asked for)."""
        hour = self._start_hours.get(day)
        if hour is None:
            sh = self.group.start_hour
            hour = sh.mean if sh.sd <= 0 else self.rng.normal(sh.mean, sh.sd)
            hour = min(max(float(hour), 0.0), LATEST_HOUR)
            self._start_hours[day] = hour
        return hour


def launch_probability(scenario: Scenario, cal: Calendar, person: Person, use: ProductUse, d: int) -> float:
    group = person.group
    day = cal.dates[d]
    p = use.days_per_week / len(scenario.calendar.workdays)
    p *= scenario.seasonality[day.month - 1]
    for event in scenario.events:
        if event.start <= day <= event.end and event.applies_to(group.name):
            p *= event.multiplier
    return min(1.0, p * person.factor)


def is_active(group: Group, day: date) -> bool:
    if group.active_from is not None and day < group.active_from:
        return False
    return not (group.active_to is not None and day > group.active_to)


def use_process(
    env: simpy.Environment,
    scenario: Scenario,
    cal: Calendar,
    person: Person,
    use: ProductUse,
    ledger: Ledger,
    rng: np.random.Generator,
) -> Generator[simpy.Event, Any, None]:
    """One person using one product over the whole horizon."""
    group = person.group
    product = use.product
    rate = scenario.products[product]
    left_open = group.left_open if use.left_open is None else use.left_open
    idle_aware = group.idle_awareness if use.idle_awareness is None else use.idle_awareness
    session = group.session_hours
    window_end = -math.inf  # end of the open 24-hour window (none open: -inf)
    lost_until = -math.inf  # after work was blocked: no launch before the end of that day

    def charge(t: float, kind: str) -> bool:
        if ledger.charge(t, rate):
            return True
        ledger.refused(t, kind, person.name, product)
        return False

    for d in range(cal.days):
        day_start = WINDOW_H * d
        if env.now < day_start:
            yield env.timeout(day_start - env.now)
        if not cal.workday[d] or not is_active(group, cal.dates[d]):
            continue
        if rng.random() >= launch_probability(scenario, cal, person, use, d):
            continue
        launch = day_start + person.start_hour(d)
        if launch < lost_until:
            continue
        if launch > env.now:
            yield env.timeout(launch - env.now)

        duration = session.mean if session.sd <= 0 else rng.normal(session.mean, session.sd)
        duration = max(0.0, float(duration))
        left = left_open > 0 and rng.random() < left_open
        nxt = cal.next_workday[d]
        cap = WINDOW_H * nxt + person.start_hour(nxt)  # nothing stays open past the next start
        in_use_end = min(launch + duration, cap)

        if not left and in_use_end - launch < SHORT_SESSION_H:
            # a short launch: free, opens no window
            if in_use_end > env.now:
                yield env.timeout(in_use_end - env.now)
            continue

        if launch >= window_end:
            if not charge(launch, LAUNCH):
                lost_until = day_start + WINDOW_H
                continue
            window_end = launch + WINDOW_H

        # in use: charged again at every window end before the session ends
        ended = False
        while window_end < in_use_end:
            yield env.timeout(window_end - env.now)
            if not charge(window_end, RENEWAL):  # the session ends; the product is lost that day
                lost_until = (window_end // WINDOW_H + 1) * WINDOW_H
                ended = True
                break
            window_end += WINDOW_H
        if ended:
            continue
        if in_use_end > env.now:
            yield env.timeout(in_use_end - env.now)
        if not left:
            continue

        # left open, idle, until the start hour of the next workday
        if not idle_aware:
            while window_end < cap:
                yield env.timeout(window_end - env.now)
                if not charge(window_end, IDLE):  # the idle product closes; nobody was using it
                    ended = True
                    break
                window_end += WINDOW_H
        if not ended and cap > env.now:
            yield env.timeout(cap - env.now)


def lot_process(env: simpy.Environment, ledger: Ledger, pack: Pack) -> Generator[simpy.Event, Any, None]:
    """Makes the pack arrive and expire at its own instants (the ledger also catches up lazily)."""
    if pack.arrive > env.now:
        yield env.timeout(pack.arrive - env.now)
    ledger.advance(pack.arrive)
    if pack.expire > env.now:
        yield env.timeout(pack.expire - env.now)
    ledger.advance(pack.expire)


# --------------------------------------------------------------------------------------------
# Runs
# --------------------------------------------------------------------------------------------


def run_once(scenario: Scenario, cal: Calendar, seed: int, run: int) -> dict[str, Any]:
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(run,)))
    env = simpy.Environment()
    pool_names = list(scenario.pool_names())
    for name in [lot.pool for lot in scenario.lots] + [g.pool for g in scenario.groups]:
        if name not in pool_names:
            pool_names.append(name)
    ledgers = {
        pool: Ledger(pool, [lot for lot in scenario.lots if lot.pool == pool], scenario.start)
        for pool in pool_names
    }
    for ledger in ledgers.values():
        for pack in ledger.packs:
            env.process(lot_process(env, ledger, pack))

    for group in scenario.groups:
        ledger = ledgers[group.pool]
        for name in group.people():
            if group.variation > 0:
                shape = 1.0 / group.variation**2
                factor = float(rng.gamma(shape, 1.0 / shape))  # mean 1, cv = variation
            else:
                factor = 1.0
            person = Person(name, group, factor, rng)
            for use in group.products:
                env.process(use_process(env, scenario, cal, person, use, ledger, rng))

    until = WINDOW_H * cal.days
    events = 0
    while env.peek() <= until:  # what happens exactly at the run end still counts
        env.step()
        events += 1

    pools: dict[str, dict[str, Any]] = {}
    lots: dict[str, dict[str, int]] = {}
    for name, ledger in ledgers.items():
        ledger.advance(until)
        remaining = ledger.balance()
        assert ledger.purchased == ledger.consumed + ledger.expired + remaining, name
        first, first_launch = ledger.first_blocked, ledger.first_blocked_launch
        pools[name] = {
            "tokens_purchased": ledger.purchased,
            "tokens_consumed": ledger.consumed,
            "tokens_expired": ledger.expired,
            "tokens_remaining": remaining,
            "charges": ledger.charges,
            "blocked_launches": ledger.blocked_launches,
            "blocked_renewals": ledger.blocked_renewals,
            "idle_refused": ledger.idle_refused,
            "blocked_days": len(ledger.blocked_days),
            "run_out_date": None if first_launch is None else _day(scenario.start, first_launch),
            "first_blocked_date": None if first is None else _day(scenario.start, first),
        }
        for p in ledger.packs:
            lots[p.name] = {"pool": name, "tokens": p.tokens, "consumed": p.consumed, "expired": p.expired}

    record: dict[str, Any] = {"run": run, "seed": seed}
    for key in (
        "tokens_purchased",
        "tokens_consumed",
        "tokens_expired",
        "tokens_remaining",
        "charges",
        "blocked_launches",
        "blocked_renewals",
        "idle_refused",
        "blocked_days",
    ):
        record[key] = sum(p[key] for p in pools.values())
    for key in ("run_out_date", "first_blocked_date"):  # the earliest over the pools
        dates = [p[key] for p in pools.values() if p[key] is not None]
        record[key] = min(dates) if dates else None
    record["events"] = events
    record["pools"] = pools
    record["lots"] = lots
    return record


def _day(start: date, t: float) -> str:
    return (start + timedelta(days=int(t // WINDOW_H))).isoformat()


def run_naive(scenario: Scenario, runs: int, seed: int) -> list[dict[str, Any]]:
    """Run the naive model `runs` times; run k uses SeedSequence(seed, spawn_key=(k,)).

    One dict per run, totals over the pools: tokens_purchased, tokens_consumed, tokens_expired,
    tokens_remaining (at the run end), charges, blocked_launches, blocked_renewals (of a session in
    use), idle_refused (renewals of an idle left-open product refused: it closes, no work lost),
    blocked_days ((person, product, day) triples with a blocked launch or renewal), run_out_date
    (ISO date of the first blocked launch, or None), first_blocked_date (first blocked launch or
    renewal), events (SimPy events processed); then `pools` (the same per pool) and `lots`
    (per lot: pool, tokens, consumed, expired).
    """
    if scenario.reorders:
        print("naive_simpy: reorder policies are ignored by the naive model", file=sys.stderr)
    cal = Calendar(scenario)
    return [run_once(scenario, cal, seed, run) for run in range(runs)]


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def load(path: Path) -> Scenario:
    """Load a scenario with flexsim's own loader (a clear exit if it is not available)."""
    root = str(HERE.parent)
    if root not in sys.path:
        sys.path.insert(0, root)
    try:
        from flexsim.scenario.loader import load_scenario
    except ImportError as exc:
        print(
            f"naive_simpy: cannot load {path}: "
            f"flexsim.scenario.loader.load_scenario is not available ({exc})",
            file=sys.stderr,
        )
        raise SystemExit(2) from exc
    return load_scenario(path)


def summarise(records: list[dict[str, Any]]) -> dict[str, Any]:
    consumed = [r["tokens_consumed"] for r in records]
    n = len(records)
    mean = statistics.fmean(consumed)
    sd = statistics.stdev(consumed) if n > 1 else 0.0
    half = 1.96 * sd / math.sqrt(n) if n > 1 else math.nan
    ran_out = sum(r["run_out_date"] is not None for r in records)
    return {
        "runs": n,
        "tokens_consumed_mean": mean,
        "tokens_consumed_sd": sd,
        "tokens_consumed_ci95": [mean - half, mean + half],
        "tokens_expired_mean": statistics.fmean(r["tokens_expired"] for r in records),
        "charges_mean": statistics.fmean(r["charges"] for r in records),
        "blocked_launches_mean": statistics.fmean(r["blocked_launches"] for r in records),
        "blocked_renewals_mean": statistics.fmean(r["blocked_renewals"] for r in records),
        "blocked_days_mean": statistics.fmean(r["blocked_days"] for r in records),
        "run_out_probability": ran_out / n,
        "events_mean": statistics.fmean(r["events"] for r in records),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Run the naive SimPy model of flexsim's rules.")
    ap.add_argument("scenario", nargs="?", type=Path, default=REFERENCE)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seed", type=int, default=None, help="default: the scenario's seed")
    ap.add_argument("--json", type=Path, default=None, help="write the per-run records and a summary")
    args = ap.parse_args(argv)

    scenario = load(args.scenario)
    seed = scenario.seed if args.seed is None else args.seed
    t0 = time.perf_counter()
    records = run_naive(scenario, args.runs, seed)
    elapsed = time.perf_counter() - t0

    print(
        f"{'run':>4} {'consumed':>9} {'expired':>8} {'remaining':>9} {'charges':>8} "
        f"{'blocked':>8} {'run out':>10} {'events':>9}"
    )
    for r in records:
        print(
            f"{r['run']:>4} {r['tokens_consumed']:>9} {r['tokens_expired']:>8} {r['tokens_remaining']:>9} "
            f"{r['charges']:>8} {r['blocked_launches']:>8} {r['run_out_date'] or '-':>10} {r['events']:>9}"
        )
    summary = summarise(records)
    lo, hi = summary["tokens_consumed_ci95"]
    print(
        f"mean consumed {summary['tokens_consumed_mean']:.1f} (95% CI {lo:.1f} .. {hi:.1f}), "
        f"run-out probability {summary['run_out_probability']:.3f}"
    )
    print(f"{elapsed / args.runs:.3f} s per run, {summary['events_mean']:.0f} SimPy events per run")
    if args.json:
        summary["seconds_per_run"] = elapsed / args.runs
        out = {"scenario": scenario.name, "seed": seed, "summary": summary, "records": records}
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
