"""Speed benchmark: flexsim against the most straightforward SimPy model of the same rules.

Loads benchmarks/reference.yaml with flexsim's loader, times the naive model
(benchmarks/naive_simpy.py) over a few runs and flexsim's own `simulate` over more runs, in this
one process, and prints seconds per run and the ratio naive / flexsim per run (how many times
faster flexsim is than the yardstick).

Usage:
  python benchmarks/bench_run.py [--runs 200] [--naive-runs 5] [--engine auto] [--workers 1]
                                 [--seed S] [--also-simpy] [--naive-only] [--json OUT.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for _p in (str(ROOT), str(HERE)):  # runnable from a checkout without `pip install -e .`
    if _p not in sys.path:
        sys.path.insert(0, _p)

from naive_simpy import REFERENCE, run_naive  # noqa: E402


def fail(message: str) -> None:
    print(f"bench_run: {message}", file=sys.stderr)
    raise SystemExit(2)


def load_reference(path: Path) -> Any:
    try:
        from flexsim.scenario.loader import load_scenario
    except ImportError as exc:
        fail(f"cannot load {path}: flexsim.scenario.loader.load_scenario is not available ({exc})")
    return load_scenario(path)


def load_simulate() -> Callable[..., Any]:
    try:
        from flexsim.api import simulate
    except ImportError as exc:
        fail(
            "flexsim's Python API is not available: `from flexsim.api import simulate` failed "
            f"({exc}). Use --naive-only to time the naive model alone."
        )
    return simulate


def flexsim_summary(results: Any) -> tuple[float | None, float | None]:
    """(mean tokens consumed per run over all pools, run-out probability if there is one pool),
    read from the SPEC section 3 JSON object if `results.to_json()` exists; (None, None) if not."""
    try:
        pools = results.to_json()["pools"]
        consumed = sum(float(p["tokens_consumed"]["mean"]) for p in pools.values())
        run_out = float(next(iter(pools.values()))["run_out_probability"]) if len(pools) == 1 else None
    except Exception:  # a sanity column only: never fail the benchmark over it
        return None, None
    return consumed, run_out


def time_naive(scenario: Any, runs: int, seed: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    records = run_naive(scenario, runs, seed)
    seconds = time.perf_counter() - t0
    return {
        "label": "naive SimPy",
        "engine": "naive",
        "runs": len(records),
        "seconds": seconds,
        "seconds_per_run": seconds / len(records),
        "events_per_run": statistics.fmean(r["events"] for r in records),
        "tokens_consumed_mean": statistics.fmean(r["tokens_consumed"] for r in records),
        "run_out_share": sum(r["run_out_date"] is not None for r in records) / len(records),
    }


def time_flexsim(
    simulate: Callable[..., Any], scenario: Any, runs: int, seed: int, workers: int, engine: str
) -> dict[str, Any]:
    t0 = time.perf_counter()
    results = simulate(scenario, runs=runs, seed=seed, workers=workers, engine=engine, progress=False)
    seconds = time.perf_counter() - t0
    done = len(results.records)
    if done != runs:
        print(f"bench_run: warning: flexsim returned {done} records for {runs} runs", file=sys.stderr)
    consumed, run_out = flexsim_summary(results)
    return {
        "label": f"flexsim ({engine})",
        "engine": engine,
        "workers": workers,
        "runs": done,
        "seconds": seconds,
        "seconds_per_run": seconds / max(done, 1),
        "events_per_run": None,
        "tokens_consumed_mean": consumed,
        "run_out_share": run_out,
    }


def print_table(lines: list[dict[str, Any]]) -> None:
    head = (
        f"{'model':<18} {'runs':>5} {'seconds':>9} {'s/run':>9} {'naive/this':>10} {'events/run':>11} "
        f"{'consumed/run':>13} {'run-out':>8}"
    )
    print(head)
    print("-" * len(head))
    for line in lines:
        ratio = line.get("ratio")
        events = line.get("events_per_run")
        consumed = line.get("tokens_consumed_mean")
        run_out = line.get("run_out_share")
        print(
            f"{line['label']:<18} {line['runs']:>5} {line['seconds']:>9.2f} {line['seconds_per_run']:>9.4f} "
            f"{'-' if ratio is None else f'{ratio:.1f}x':>10} "
            f"{'-' if events is None else f'{events:.0f}':>11} "
            f"{'-' if consumed is None else f'{consumed:.0f}':>13} "
            f"{'-' if run_out is None else f'{run_out:.2f}':>8}"
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Time flexsim against the naive SimPy model.")
    ap.add_argument("--scenario", type=Path, default=REFERENCE, help="default: benchmarks/reference.yaml")
    ap.add_argument("--runs", type=int, default=200, help="flexsim runs (default 200)")
    ap.add_argument("--naive-runs", type=int, default=5, help="naive model runs (default 5)")
    ap.add_argument("--engine", default="auto", choices=["auto", "fast", "simpy"], help="default auto")
    ap.add_argument("--workers", type=int, default=1, help="flexsim workers (default 1)")
    ap.add_argument("--seed", type=int, default=None, help="default: the scenario's seed")
    ap.add_argument("--also-simpy", action="store_true", help="also time flexsim's SimPy engine")
    ap.add_argument("--naive-only", action="store_true", help="time the naive model alone")
    ap.add_argument("--json", type=Path, default=None, metavar="OUT", help="also write the results as JSON")
    args = ap.parse_args(argv)
    if args.runs < 1 or args.naive_runs < 1 or args.workers < 1:
        fail("--runs, --naive-runs and --workers must be at least 1")

    scenario = load_reference(args.scenario)
    simulate = None if args.naive_only else load_simulate()  # fail before the slow part
    seed = scenario.seed if args.seed is None else args.seed

    lines = [time_naive(scenario, args.naive_runs, seed)]
    naive_per_run = lines[0]["seconds_per_run"]
    if simulate is not None:
        engines = [args.engine]
        if args.also_simpy and args.engine != "simpy":
            engines.append("simpy")
        for engine in engines:
            lines.append(time_flexsim(simulate, scenario, args.runs, seed, args.workers, engine))
    for line in lines[1:]:
        line["ratio"] = naive_per_run / line["seconds_per_run"] if line["seconds_per_run"] > 0 else None

    print(f"scenario: {scenario.name} ({args.scenario}), seed {seed}")
    print_table(lines)
    if len(lines) > 1:
        print("naive/this: naive seconds per run / this line's seconds per run (higher = faster than naive)")

    if args.json:
        out = {
            "scenario": scenario.name,
            "scenario_file": str(args.scenario),
            "seed": seed,
            "naive_seconds_per_run": naive_per_run,
            "naive_events_per_run": lines[0]["events_per_run"],
            "lines": lines,
            "python": platform.python_version(),
            "machine": platform.platform(),
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
