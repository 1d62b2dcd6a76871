"""What a report costs: time of `flexsim run` with and without `--report`, and peak memory.

Runs the flexsim command line in fresh processes (so each peak memory figure is its own):
1. `run SCENARIO --runs N` and `run SCENARIO --runs N --report DIR --daily-csv F`: the ratio of
   their wall-clock times is what a report adds (target: below 2x);
2. `run --report` with a small and a large number of runs: the ratio of their peak memory (target:
   about 2x at most, because day-by-day figures are folded in as runs arrive, not kept).

Usage:
  python benchmarks/bench_report.py [--scenario benchmarks/reference.yaml] [--runs 2000]
                                    [--memory-runs 1000,20000] [--workers 2] [--json OUT.json]
Peak memory is read with GNU time (/usr/bin/time) when present, else from getrusage (children).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def measure(args: list[str]) -> tuple[float, float]:
    """(seconds, peak MB) of `python -m flexsim ARGS` in a fresh process (children included)."""
    cmd = [sys.executable, "-m", "flexsim", *args]
    gnu_time = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)
    started = time.monotonic()
    if gnu_time:
        done = subprocess.run(
            [gnu_time, "-f", "%M", *cmd], cwd=ROOT, capture_output=True, text=True, check=True
        )
        peak_kb = int(done.stderr.strip().splitlines()[-1])
    else:  # the largest child so far: run the large case last
        subprocess.run(cmd, cwd=ROOT, capture_output=True, check=True)
        peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return time.monotonic() - started, peak_kb / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default=str(HERE / "reference.yaml"))
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--memory-runs", default="1000,20000")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--json", metavar="OUT.json")
    opts = parser.parse_args()
    out: dict = {"scenario": opts.scenario, "runs": opts.runs, "workers": opts.workers}
    with tempfile.TemporaryDirectory() as tmp:
        base = ["run", opts.scenario, "--quiet", "--workers", str(opts.workers)]
        plain, _ = measure([*base, "--runs", str(opts.runs)])
        report, _ = measure(
            [*base, "--runs", str(opts.runs), "--report", f"{tmp}/r", "--daily-csv", f"{tmp}/d.csv"]
        )
        out["time"] = {"run_s": plain, "run_with_report_s": report, "ratio": report / plain}
        print(
            f"{opts.runs} runs: run {plain:.1f} s, run --report --daily-csv {report:.1f} s, "
            f"ratio {report / plain:.2f}x (target < 2x)"
        )
        peaks = {}
        for n in (int(x) for x in opts.memory_runs.split(",")):
            seconds, mb = measure(
                [*base, "--runs", str(n), "--report", f"{tmp}/m{n}", "--daily-csv", f"{tmp}/m{n}.csv"]
            )
            peaks[n] = mb
            print(f"{n} runs with --report: {seconds:.1f} s, peak {mb:.0f} MB")
        small, large = min(peaks), max(peaks)
        out["memory_mb"] = {str(k): v for k, v in peaks.items()}
        out["memory_ratio"] = peaks[large] / peaks[small]
        print(
            f"peak memory {large} runs / {small} runs: {peaks[large] / peaks[small]:.2f}x "
            "(target about 2x at most)"
        )
    if opts.json:
        Path(opts.json).write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
