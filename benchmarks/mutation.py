"""Mutation testing of the engine core: does the quick test suite fail when the engine is wrong?

    python benchmarks/mutation.py                  # every module configured in pyproject.toml
    python benchmarks/mutation.py ledger sweep     # some of them
    python benchmarks/mutation.py --report         # the scores of the last run, nothing re-run

It runs mutmut (configured under [tool.mutmut] in pyproject.toml: the six core modules and the
quick tests), which changes one line of the code at a time (a `<` for a `<=`, a `+ 1` dropped, a
constant changed) and runs the tests that cover the function it changed. A mutant is killed when
a test fails, survives when every test passes. It then prints, per module, how many mutants were
killed, survived or timed out, and the score (killed and timed out over all run), and lists the
survivors with `mutmut show NAME` to read each one. benchmarks/README.md explains the survivors
that can't change a result.

Needs `pip install mutmut` (3.x). Run it from the repository root; it takes a long time (the
whole core is over 3,000 mutants at a few seconds each): FLEXSIM_HYPOTHESIS_SCALE below 1 makes
each test run quicker at the cost of fewer generated cases.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# mutmut's exit codes for a mutant: 1 a test failed (killed); 0 every test passed (survived);
# 33 no test covers it; 34 skipped; 36 timed out (counted as killed: the mutant hung the tests).
KILLED, SURVIVED, NO_TESTS, SKIPPED, TIMEOUT = 1, 0, 33, 34, 36


def modules() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mutmut"]
    return [Path(p).stem for p in config["only_mutate"]]


def scores(names: list[str]) -> list[dict]:
    """Per module, the count of mutants by outcome, from mutmut's record of the last run."""
    out = []
    for name in names:
        meta = ROOT / "mutants" / "flexsim" / "engine" / f"{name}.py.meta"
        codes = json.loads(meta.read_text())["exit_code_by_key"] if meta.exists() else {}
        tally = {"killed": 0, "timeout": 0, "survived": 0, "no tests": 0, "not run": 0}
        survivors = []
        for key, code in codes.items():
            if code is None or code == SKIPPED:
                tally["not run"] += 1
            elif code == TIMEOUT:
                tally["timeout"] += 1
            elif code == SURVIVED:
                tally["survived"] += 1
                survivors.append(key)
            elif code == NO_TESTS:
                tally["no tests"] += 1
                survivors.append(key)
            else:
                tally["killed"] += 1
        run = sum(tally.values()) - tally["not run"]
        score = (tally["killed"] + tally["timeout"]) / run if run else None
        out.append(
            {"module": name, "mutants": len(codes), **tally, "score": score, "survivors": sorted(survivors)}
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("module", nargs="*", help="core modules to mutate (default: all configured)")
    parser.add_argument("--report", action="store_true", help="only print the scores of the last run")
    parser.add_argument("--children", type=int, default=os.cpu_count() or 1, help="parallel test runs")
    args = parser.parse_args(argv)
    names = args.module or modules()
    unknown = sorted(set(names) - set(modules()))
    if unknown:
        parser.error(f"not configured in pyproject.toml [tool.mutmut]: {', '.join(unknown)}")
    if not args.report:
        globs = [f"flexsim.engine.{name}*" for name in names]
        command = [sys.executable, "-m", "mutmut", "run", *globs, "--max-children", str(args.children)]
        done = subprocess.run(command, cwd=ROOT)
        if done.returncode not in (0, 1):
            return done.returncode
    heads = ("mutants", "killed", "timeout", "survived", "no tests", "not run", "score")
    print(f"{'module':<14} " + " ".join(f"{h:>8}" for h in heads))
    for s in scores(names):
        score = "-" if s["score"] is None else f"{s['score']:.1%}"
        cells = (s["mutants"], s["killed"], s["timeout"], s["survived"], s["no tests"], s["not run"], score)
        print(f"{s['module']:<14} " + " ".join(f"{c:>8}" for c in cells))
    for s in scores(names):
        for key in s["survivors"]:
            print(f"  survived: {key}  (mutmut show {key})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
