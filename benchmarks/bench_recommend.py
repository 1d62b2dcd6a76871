"""Cost of the recommendation ("What to do") against the run it follows.

`flexsim run` ends each pool with the smallest top-up that holds the run-out risk under a
target, found by simulating top-up sizes on the forecast's own runs. Target: that extra work
costs at most 1x the run itself on the 200-person reference scenario. Both are timed in this
process, alternately, `--repeat` times; the ratio of the medians is printed (robust to a shared
machine). It also checks what it times: the recommended top-up meets the target.

Usage: python benchmarks/bench_recommend.py [--runs 200] [--repeat 3] [--target 0.05]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flexsim.analysis.recommend import recommend  # noqa: E402
from flexsim.api import simulate  # noqa: E402
from flexsim.scenario.loader import load_scenario  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default=str(ROOT / "benchmarks" / "reference.yaml"))
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--target", type=float, default=0.05)
    args = parser.parse_args()
    scenario = load_scenario(args.scenario)
    recommend(simulate(scenario, runs=8, seed=args.seed))  # warm up imports and caches
    run_s, rec_s = [], []
    for _ in range(args.repeat):
        started = time.perf_counter()
        results = simulate(scenario, runs=args.runs, seed=args.seed)
        run_s.append(time.perf_counter() - started)
        started = time.perf_counter()
        rec = recommend(results, args.target)
        rec_s.append(time.perf_counter() - started)
    print(f"scenario: {scenario.name}, {args.runs} runs, seed {args.seed}, {args.repeat} repeats")
    print(f"the run:            {statistics.median(run_s):7.2f} s (median)")
    print(f"the recommendation: {statistics.median(rec_s):7.2f} s (median)")
    for advice in rec.pools:
        t = advice.topup
        what = "nothing needed" if t is None else f"top up {t.tokens:,} tokens by {advice.arrive_by}"
        risk = advice.now.run_out.value if t is None else t.run_out.value
        print(f"  pool {advice.pool}: {advice.action}: {what}; run-out risk after it {risk:.1%}")
        assert advice.action in ("none", "top-up"), advice.action
        assert t is None or t.within_target
    ratio = statistics.median(rec_s) / statistics.median(run_s)
    print(f"ratio: {ratio:.2f}x the run (target: at most 1x)")


if __name__ == "__main__":
    main()
