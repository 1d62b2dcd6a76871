"""The plainest vectorised numpy model of flexsim's rules: the speed yardstick at scale.

A batch of runs is advanced one day at a time. Each day draws a launch grid (runs x seats), the
people's start hours, session lengths and left-open flags, all dense; each seat's 24-hour window
is one float (the time it ends), beside the end of the stretch it renews and of its use; each
pool's packs are a (runs x packs) array in draw order. A day whose charges a pool can cover is
settled for every run at once; a day on which a pool runs short is replayed launch by launch, in
plain Python, for that run and pool only.

Written apart from flexsim's engines: it reads only the scenario dataclasses (through flexsim's
loader), and its random numbers are its own, so it agrees with flexsim in distribution, not run by
run (`test_yardstick.py` checks the means). Rules: SPEC section 1, as `naive_simpy.py` reads them,
with sessions in use for their whole length (past the next day's start).

Not modelled: reorder policies (top-ups) and the uncertainty of rates fitted from history; a
scenario with either is run without them and a warning is printed.

Usage:  python benchmarks/yardstick.py [SCENARIO.yaml] [--runs 50] [--batch 16] [--seed S]
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from flexsim.scenario.model import Scenario

HERE = Path(__file__).resolve().parent
DAY = 86_400.0
SHORT = 300.0  # seconds: a session shorter than this (and not left open) is free
COUNTERS = ("consumed", "expired", "remaining", "purchased", "launches", "charges")
COUNTERS += ("blocked_launches", "blocked_renewals", "blocked_days", "run_out_day")


class Yardstick:
    """The scenario as flat arrays: seats (person x product), people, the calendar, the packs."""

    def __init__(self, sc: Scenario):
        if sc.reorders:
            print("yardstick: warning: reorder policies are not modelled (run without them)", file=sys.stderr)
        self.days = sc.days
        dates = [sc.start + timedelta(days=d) for d in range(sc.days)]
        cal = sc.calendar
        self.workdays = [d for d, day in enumerate(dates) if cal.is_workday(day)]
        after = (cal.next_workday(dates[-1]) - sc.start).days
        self.wd_days = np.array(self.workdays + [after], float)  # and the first workday after
        self.wd_of_day = {d: i for i, d in enumerate(self.workdays)}
        pools = [p.name for p in sc.pools]
        seat_person, rate, pool, left, aware, s_mean, s_sd, sub, chances = [], [], [], [], [], [], [], [], []
        p_mean, p_sd, p_var = [], [], []
        for group in sc.groups:
            row = []
            for use in group.products:
                if use.history is not None:
                    print("yardstick: warning: fitted rates taken as exact", file=sys.stderr)
                chance = []
                for d in self.workdays:
                    day = dates[d]
                    c = use.days_per_week / len(cal.workdays) * sc.seasonality[day.month - 1]
                    for ev in sc.events:
                        if ev.start <= day <= ev.end and ev.applies_to(group.name):
                            c *= ev.multiplier
                    inside = (group.active_from is None or day >= group.active_from) and (
                        group.active_to is None or day <= group.active_to
                    )
                    chance.append(c if inside else 0.0)
                row.append(chance)
            for person in group.people():
                for use, chance in zip(group.products, row, strict=True):
                    seat_person.append(len(p_mean))
                    rate.append(sc.products[use.product])
                    pool.append(pools.index(group.pool))
                    left.append(group.left_open if use.left_open is None else use.left_open)
                    aware.append(group.idle_awareness if use.idle_awareness is None else use.idle_awareness)
                    s_mean.append(group.session_hours.mean)
                    s_sd.append(group.session_hours.sd)
                    sub.append((person, use.product) in sc.on_subscription)
                    chances.append(chance)
                p_mean.append(group.start_hour.mean)
                p_sd.append(group.start_hour.sd)
                p_var.append(group.variation)
        self.seat_person = np.array(seat_person, int)
        self.rate = np.array(rate, np.int64)
        self.pool = np.array(pool, int)
        self.left = np.array(left, float)
        self.aware = np.array(aware, bool)
        self.s_mean, self.s_sd = np.array(s_mean, float), np.array(s_sd, float)
        self.subscribed = np.array(sub, bool)
        self.chance = np.array(chances, float).reshape(len(rate), len(self.workdays)).T  # (wd, seat)
        self.p_mean, self.p_sd, self.p_var = np.array(p_mean), np.array(p_sd), np.array(p_var)
        self.pool_onehot = np.eye(len(pools), dtype=np.int64)[self.pool]  # (seats, pools)
        # Packs per pool in draw order: earliest expiry, smallest, earliest date.
        self.packs = []
        for name in pools:
            lots = sorted(
                (lot for lot in sc.lots if lot.pool == name),
                key=lambda lot: (lot.expires, lot.tokens, lot.date),
            )
            arrive = np.array([max(0, (lot.date - sc.start).days) for lot in lots], int)
            expire = np.array([(lot.expires - sc.start).days for lot in lots], int)
            self.packs.append((arrive, expire, np.array([lot.tokens for lot in lots], np.int64)))

    # -- one batch ------------------------------------------------------------------------------
    def run(self, rng: np.random.Generator, R: int) -> dict[str, np.ndarray]:
        """Simulate R runs; each counter is an (R, pools) array."""
        S, P, NP = len(self.rate), len(self.packs), len(self.p_mean)
        factor = np.ones((R, NP))
        v = self.p_var > 0
        if v.any():
            shape = 1.0 / self.p_var[v] ** 2
            factor[:, v] = rng.gamma(shape, 1.0 / shape, size=(R, int(v.sum())))
        seat_factor = factor[:, self.seat_person]
        # Start hours of every person on every workday (and the one after), in seconds.
        hours = self.p_mean + self.p_sd * rng.standard_normal((R, len(self.wd_days), NP))
        self.starts = np.clip(hours, 0.0, np.nextafter(24.0, 0)) * 3600.0 + self.wd_days[None, :, None] * DAY
        self.c = {name: np.zeros((R, P), np.int64) for name in COUNTERS}
        self.c["run_out_day"][:] = -1
        self.rem = [np.zeros((R, len(tokens)), np.int64) for _, _, tokens in self.packs]
        self.W = np.zeros((R, S))  # window end: the one float of window state
        self.E = np.zeros((R, S))  # end of the stretch the window's end renews (use, or idle open)
        self.U = np.zeros((R, S))  # end of its use
        for d in range(self.days + 1):
            self._midnight(d)
            wd = self.wd_of_day.get(d)
            today = None if wd is None else self._launches(rng, wd, seat_factor)
            self._charges(d, today)
        for p in range(P):
            self.c["remaining"][:, p] = self.rem[p].sum(axis=1)
        return self.c

    def _midnight(self, d: int) -> None:
        """Expiries, then arrivals."""
        for p, (arrive, expire, tokens) in enumerate(self.packs):
            for k in np.flatnonzero(expire == d):
                self.c["expired"][:, p] += self.rem[p][:, k]
                self.rem[p][:, k] = 0
            for k in np.flatnonzero(arrive == d):
                self.rem[p][:, k] = tokens[k]
                self.c["purchased"][:, p] += tokens[k]

    def _launches(self, rng: np.random.Generator, wd: int, seat_factor: np.ndarray):
        """Today's chargeable launches: (has, start, end of use, end of charging)."""
        R, S = seat_factor.shape
        launched = rng.random((R, S)) < np.minimum(1.0, self.chance[wd] * seat_factor)
        self.c["launches"] += launched.astype(np.int64) @ self.pool_onehot
        TS = self.starts[:, wd, :][:, self.seat_person]
        length = np.maximum(0.0, self.s_mean + self.s_sd * rng.standard_normal((R, S))) * 3600.0
        left = rng.random((R, S)) < self.left
        IU = TS + length
        CE = IU.copy()
        idle = launched & left & ~self.aware
        if idle.any():  # open until the person's start hour on the next workday after use ends
            r, s = np.nonzero(idle)
            end = IU[r, s]
            j = np.maximum(np.searchsorted(self.wd_days, np.floor(end / DAY)), wd + 1)
            for _ in range(2):
                inside = j < len(self.wd_days)
                start = np.full(len(j), np.inf)
                start[inside] = self.starts[r[inside], j[inside], self.seat_person[s[inside]]]
                late = start < end
                CE[r[~late & inside], s[~late & inside]] = start[~late & inside]
                j = np.where(late, j + 1, len(self.wd_days))
        has = launched & ~((length < SHORT) & ~left) & ~self.subscribed
        return has, TS, IU, CE

    def _charges(self, d: int, today) -> None:
        W, E, U = self.W, self.E, self.U
        day_end = d * DAY + (DAY if d < self.days else 1.0)
        if today is not None:
            has, TS, IU, CE = today
            joined = has & (TS < W)  # launched inside the window: free, part of its stretch
            np.maximum(E, CE, out=E, where=joined)
            np.maximum(U, IU, out=U, where=joined)
        renew = (W < E) & (W < day_end)
        if today is not None:
            launch = has & (TS >= W) & ~renew
            later = has & (TS >= W) & renew  # joins the renewed window, if renewed
            t = np.where(renew, W, TS)
        else:
            launch = later = np.zeros_like(renew)
            t = W
        attempt = renew | launch
        demand = (attempt * self.rate) @ self.pool_onehot  # (R, P)
        balance = np.stack([rem.sum(axis=1) for rem in self.rem], axis=1)
        ok = balance >= demand
        cells = ok[:, self.pool] & attempt
        np.add(t, DAY, out=W, where=cells)
        if today is not None:
            go = cells & launch
            np.copyto(E, CE, where=go)
            np.copyto(U, IU, where=go)
            go = cells & later
            np.maximum(E, CE, out=E, where=go)
            np.maximum(U, IU, out=U, where=go)
        self.c["charges"] += cells.astype(np.int64) @ self.pool_onehot
        for p in range(len(self.rem)):
            rows = np.flatnonzero(ok[:, p] & (demand[:, p] > 0))
            if len(rows):
                self._take(p, rows, demand[rows, p])
        for r, p in np.argwhere(~ok):
            self._replay(int(r), int(p), d, attempt, renew, t, today)

    def _take(self, p: int, rows: np.ndarray, amount: np.ndarray) -> None:
        """Draw `amount` tokens from each row's packs, in draw order."""
        rem = self.rem[p][rows]
        before = np.cumsum(rem, axis=1) - rem
        take = np.clip(amount[:, None] - before, 0, rem)
        self.rem[p][rows] = rem - take
        self.c["consumed"][rows, p] += amount

    def _replay(self, r: int, p: int, d: int, attempt, renew, t, today) -> None:
        """Run r's day in pool p, attempt by attempt in time order."""
        W, E, U, rate = self.W[r], self.E[r], self.U[r], self.rate
        seats = np.flatnonzero(attempt[r] & (self.pool == p))
        queue = sorted((t[r, s], s, bool(renew[r, s])) for s in seats)
        lost: set[int] = set()
        c = self.c
        while queue:
            when, s, is_renewal = queue.pop(0)
            if self.rem[p][r].sum() >= rate[s]:
                self._take(p, np.array([r]), np.array([rate[s]]))
                c["charges"][r, p] += 1
                W[s] = when + DAY
                if today is not None and today[0][r, s] and today[1][r, s] >= when:
                    E[s] = max(E[s], today[3][r, s]) if is_renewal else today[3][r, s]
                    U[s] = max(U[s], today[2][r, s]) if is_renewal else today[2][r, s]
            elif is_renewal:
                if when < U[s]:  # in use: the session ends, work is lost
                    c["blocked_renewals"][r, p] += 1
                    lost.add(s)
                E[s] = U[s] = min(U[s], when)
                if today is not None and today[0][r, s] and today[1][r, s] >= when:
                    queue.append((today[1][r, s], s, False))  # its launch comes after all
                    queue.sort()
            else:
                c["blocked_launches"][r, p] += 1
                lost.add(s)
                if c["run_out_day"][r, p] < 0:
                    c["run_out_day"][r, p] = d
        c["blocked_days"][r, p] += len(lost)


def run(sc: Scenario, runs: int, seed: int, batch: int = 16) -> dict[str, np.ndarray]:
    """`runs` runs in batches of `batch`; each counter is a (runs, pools) array."""
    model = Yardstick(sc)
    parts = []
    for first in range(0, runs, batch):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(first,)))
        parts.append(model.run(rng, min(batch, runs - first)))
    return {name: np.concatenate([part[name] for part in parts]) for name in COUNTERS}


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(HERE.parent))
    from flexsim.scenario.loader import load_scenario

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario", nargs="?", default=str(HERE / "reference.yaml"))
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args(argv)
    sc = load_scenario(args.scenario)
    t0 = time.perf_counter()
    out = run(sc, args.runs, sc.seed if args.seed is None else args.seed, args.batch)
    seconds = time.perf_counter() - t0
    print(f"{args.runs} runs in {seconds:.2f} s ({seconds / args.runs * 1000:.1f} ms a run)")
    for p, pool in enumerate(pool.name for pool in sc.pools):
        used = out["consumed"][:, p]
        print(
            f"{pool}: consumed {used.mean():,.0f} +- {used.std(ddof=1) / np.sqrt(len(used)):,.0f} (se), "
            f"run-out {(out['run_out_day'][:, p] >= 0).mean():.3f}, "
            f"blocked days {out['blocked_days'][:, p].mean():,.1f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
