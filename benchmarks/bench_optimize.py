"""Speed of `flexsim optimize`: 31 sizes against one `flexsim run` with the same runs.

Sizing must not simulate people's behaviour once per size: every size follows one leader per run
until its pool comes up short (see flexsim/engine/sweep.py). Target: 31 sizes in at most 3x the time of
one run of the same scenario and runs.

Usage: python benchmarks/bench_optimize.py [--runs 200] [--sizes 150000:450000:10000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flexsim.analysis.optimize import evaluate, parse_sizes  # noqa: E402
from flexsim.api import simulate  # noqa: E402
from flexsim.scenario.loader import load_scenario  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default=str(ROOT / "benchmarks" / "reference.yaml"))
    parser.add_argument("--lot", default="FY27 bundle")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sizes", default="150000:450000:10000")
    args = parser.parse_args()
    scenario = load_scenario(args.scenario)
    sizes = parse_sizes(args.sizes)
    simulate(scenario, runs=8, seed=args.seed)  # warm up imports and caches

    started = time.perf_counter()
    results = simulate(scenario, runs=args.runs, seed=args.seed)
    one = time.perf_counter() - started
    started = time.perf_counter()
    cands = evaluate(scenario, args.lot, sizes, args.runs, args.seed, objective="service")
    many = time.perf_counter() - started

    print(f"scenario: {scenario.name}, {args.runs} runs, seed {args.seed}")
    print(
        f"one run of the scenario:   {one:7.2f} s  (run-out probability "
        f"{results.pool_summary(0)['run_out_probability']:.1%})"
    )
    print(
        f"{len(sizes)} sizes ({sizes[0]:,} to {sizes[-1]:,}): {many:7.2f} s  "
        f"(run-out probability from {cands[0].ran_out.mean():.0%} to {cands[-1].ran_out.mean():.0%})"
    )
    print(f"ratio: {many / one:.2f}x one run (target: at most 3x)")


if __name__ == "__main__":
    main()
