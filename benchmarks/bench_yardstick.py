"""flexsim's default engine against the vectorised numpy yardstick, timed in one process.

For each scenario: the yardstick (benchmarks/yardstick.py) over some runs, then flexsim's
`simulate` (one worker, engine auto) over runs of its own, both after a warm-up batch; prints
milliseconds per run, flexsim / yardstick, and each pool's means side by side with a two-sample
z-score (|z| above 3 to 4 would be a real difference between the two models).

Usage:
  python benchmarks/bench_yardstick.py [--scenario FILE ...] [--runs 200] [--yard-runs 200]
                                       [--yard-batch 32] [--repeat 3] [--json OUT.json]
Default scenarios: benchmarks/reference.yaml and flexsim/examples/enterprise.yaml (with fewer
runs there: --runs and --yard-runs are divided by 10 for it unless given per scenario as
FILE:RUNS).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for _p in (str(ROOT), str(HERE)):  # runnable from a checkout without `pip install -e .`
    if _p not in sys.path:
        sys.path.insert(0, _p)

import yardstick  # noqa: E402

from flexsim.api import simulate  # noqa: E402
from flexsim.scenario.loader import load_scenario  # noqa: E402

ENTERPRISE = ROOT / "flexsim" / "examples" / "enterprise.yaml"
COMPARED = ("consumed", "charges", "blocked_days", "expired")


def best_of(repeat: int, fn) -> tuple[float, object]:
    """Least wall-clock seconds of `repeat` calls (the machine's load only ever adds), and the
    last call's result."""
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def z(a: np.ndarray, b: np.ndarray) -> float:
    se = np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
    return 0.0 if se == 0 else float((a.mean() - b.mean()) / se)


def compare(path: Path, runs: int, yard_runs: int, yard_batch: int, repeat: int) -> dict:
    sc = load_scenario(path)
    seed = sc.seed
    yardstick.run(sc, min(yard_batch, yard_runs), seed + 1, yard_batch)  # warm-up
    simulate(sc, runs=min(runs, 8), seed=seed + 1)
    y_sec, ys = best_of(repeat, lambda: yardstick.run(sc, yard_runs, seed, yard_batch))
    f_sec, fs = best_of(repeat, lambda: simulate(sc, runs=runs, seed=seed, workers=1, engine="auto"))
    line = {
        "scenario": sc.name,
        "file": str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path),
        "runs": runs,
        "yardstick_runs": yard_runs,
        "yardstick_ms_per_run": 1000 * y_sec / yard_runs,
        "flexsim_ms_per_run": 1000 * f_sec / runs,
        "pools": {},
    }
    line["ratio"] = line["flexsim_ms_per_run"] / line["yardstick_ms_per_run"]
    names = {"consumed": "tokens_consumed", "expired": "tokens_expired"}
    for p, pool in enumerate(fs.plan.pool_names):
        out = {}
        for key in COMPARED:
            a = ys[key][:, p].astype(float)
            b = fs.column(names.get(key, key), p).astype(float)
            out[key] = {"yardstick": a.mean(), "flexsim": b.mean(), "z": z(a, b)}
        ya, fa = (
            (ys["run_out_day"][:, p] >= 0).astype(float),
            (fs.column("run_out_day", p) >= 0).astype(float),
        )
        out["run_out"] = {
            "yardstick": ya.mean(),
            "flexsim": fa.mean(),
            "z": z(ya, fa) if ya.std() + fa.std() else 0.0,
        }
        line["pools"][pool] = out
    return line


def show(line: dict) -> None:
    print(f"{line['scenario']} ({line['file']})")
    print(
        f"  yardstick {line['yardstick_ms_per_run']:8.2f} ms/run over {line['yardstick_runs']} runs; "
        f"flexsim {line['flexsim_ms_per_run']:8.2f} ms/run over {line['runs']} runs; "
        f"flexsim / yardstick {line['ratio']:.2f}x"
    )
    for pool, out in line["pools"].items():
        parts = [
            f"{k} {v['yardstick']:,.1f} vs {v['flexsim']:,.1f} (z {v['z']:+.1f})" for k, v in out.items()
        ]
        print(f"  {pool}: " + "; ".join(parts))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", action="append", help="FILE or FILE:RUNS (repeatable)")
    ap.add_argument("--runs", type=int, default=200, help="flexsim runs (default 200)")
    ap.add_argument("--yard-runs", type=int, default=200, help="yardstick runs (default 200)")
    ap.add_argument("--yard-batch", type=int, default=32, help="runs the yardstick advances together")
    ap.add_argument("--repeat", type=int, default=3, help="timings per model; the least is kept")
    ap.add_argument("--json", type=Path, metavar="OUT")
    args = ap.parse_args(argv)
    specs = args.scenario or [str(HERE / "reference.yaml"), f"{ENTERPRISE}:{max(args.runs // 10, 2)}"]
    lines = []
    for spec in specs:
        file, _, n = spec.partition(":")
        runs = int(n) if n else args.runs
        yard_runs = int(n) if n else args.yard_runs
        lines.append(
            compare(Path(file).resolve(), runs, yard_runs, min(args.yard_batch, yard_runs), args.repeat)
        )
        show(lines[-1])
    if args.json:
        args.json.write_text(
            json.dumps({"python": platform.python_version(), "lines": lines}, indent=2) + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
