"""Peak memory of `flexsim run` in fresh processes: large scenarios, and few runs against many.

Cases (each a fresh `python -m flexsim run ... --quiet --runs-csv` of this checkout, its peak
resident memory read by GNU time, else by getrusage of the children):

- `enterprise`: flexsim/examples/enterprise.yaml (2,000 people, 3 years), 100 runs, the default
  budget (target: under 400 MB);
- `5000x3`: the same scenario with every group 2.5 times as large (5,000 people, 3 years), 10 runs
  (target: within the default 1 GB budget);
- `reference`: benchmarks/reference.yaml with few and with many runs (default 10,000 and 200,000;
  target: the many within 1.5x the peak of the few).

Usage:
  python benchmarks/bench_memory.py [--cases enterprise,5000x3,reference]
                                    [--reference-runs 10000,200000] [--workers 1] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
ENTERPRISE = ROOT / "flexsim" / "examples" / "enterprise.yaml"


def measure(args: list[str]) -> tuple[float, float]:
    """(seconds, peak MB) of `python -m flexsim ARGS` run from this checkout in a fresh process."""
    cmd = [sys.executable, "-m", "flexsim", *args]
    env = dict(os.environ, PYTHONPATH=str(ROOT))  # this checkout, not an installed flexsim
    gnu_time = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)
    started = time.monotonic()
    if gnu_time:
        done = subprocess.run([gnu_time, "-f", "%M", *cmd], env=env, capture_output=True, text=True)
        if done.returncode:
            raise SystemExit(f"bench_memory: {' '.join(args)} failed:\n{done.stderr}")
        peak_kb = int(done.stderr.strip().splitlines()[-1])
    else:  # the largest child so far: run the large cases last
        subprocess.run(cmd, env=env, capture_output=True, check=True)
        peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return time.monotonic() - started, peak_kb / 1024


def scaled(path: Path, factor: float, out: Path) -> Path:
    """A copy of a scenario with every group's `count` multiplied by `factor`."""
    text = re.sub(
        r"(\bcount:\s*)(\d+)", lambda m: f"{m.group(1)}{round(int(m.group(2)) * factor)}", path.read_text()
    )
    out.write_text(text)
    return out


def run_case(file: Path, runs: int, workers: int, folder: Path, *extra: str) -> dict:
    csv = folder / "runs.csv"
    argv = [
        "run",
        str(file),
        "--runs",
        str(runs),
        "--workers",
        str(workers),
        "--quiet",
        "--runs-csv",
        str(csv),
    ]
    seconds, peak = measure([*argv, "--force", *extra])
    line = {"file": file.name, "runs": runs, "workers": workers, "seconds": seconds, "peak_mb": peak}
    print(
        f"{file.name}: {runs:,} runs, {workers} worker(s): {seconds:,.1f} s, peak {peak:,.0f} MB", flush=True
    )
    return line


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", default="enterprise,5000x3,reference")
    ap.add_argument("--reference-runs", default="10000,200000")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--json", type=Path, metavar="OUT")
    args = ap.parse_args(argv)
    cases = args.cases.split(",")
    out: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if "enterprise" in cases:
            out["enterprise"] = run_case(ENTERPRISE, 100, args.workers, folder)
        if "5000x3" in cases:
            big = scaled(ENTERPRISE, 2.5, folder / "enterprise-5000.yaml")
            out["5000x3"] = run_case(big, 10, args.workers, folder)
        if "reference" in cases:
            few, many = (int(n) for n in args.reference_runs.split(","))
            lines = [run_case(HERE / "reference.yaml", n, args.workers, folder) for n in (few, many)]
            ratio = lines[1]["peak_mb"] / lines[0]["peak_mb"]
            print(f"reference: peak of {many:,} runs / peak of {few:,} runs = {ratio:.2f}x")
            out["reference"] = {"lines": lines, "ratio": ratio}
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
