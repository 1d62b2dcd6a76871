"""Quick start-up: help and validate load no numeric library (checked on the modules, not timed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from scipy import stats as sps

from flexsim.analysis.stats import t_multiplier, wilson
from flexsim.engine.plan import Plan
from flexsim.scenario.loader import load_scenario

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted((ROOT / "scenarios").glob("*.yaml"))
HEAVY = ("numpy", "scipy", "simpy", "rich", "matplotlib", "dask", "distributed")

# Runs the command line as `python -m flexsim ARGS` does, then prints the heavy modules it loaded.
PROBE = """
import json, runpy, sys
heavy = set(json.loads(sys.argv[2]))
sys.argv = ["flexsim", *json.loads(sys.argv[1])]
try:
    runpy.run_module("flexsim", run_name="__main__", alter_sys=True)
except SystemExit:
    pass
print("LOADED=" + json.dumps(sorted({m.split(".")[0] for m in sys.modules} & heavy)))
"""


def loaded_by(*args: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(list(args)), json.dumps(HEAVY)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("LOADED=")]
    assert lines, done.stdout + done.stderr
    return json.loads(lines[-1][len("LOADED=") :])


def test_help_loads_no_numeric_library():
    assert loaded_by("--help") == []
    assert loaded_by("run", "--help") == []


def test_validate_loads_no_numeric_library():
    assert loaded_by("validate", str(SHIPPED[0])) == []


def test_a_run_loads_numpy_but_not_the_dask_client():
    loaded = loaded_by("run", str(ROOT / "scenarios" / "small-studio.yaml"), "--runs", "1", "--quiet")
    assert "numpy" in loaded and "dask" not in loaded and "distributed" not in loaded
    assert "rich" not in loaded  # no progress in a pipe: Rich is not even imported


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_validate_counts_people_and_seats_as_the_simulation_does(path, capsys):
    from flexsim.cli import main

    assert main(["validate", str(path)]) == 0
    plan = Plan(load_scenario(path))
    assert f" {len(plan.persons)} people using {plan.n_seats} person-products," in capsys.readouterr().out


@pytest.mark.parametrize("level", [0.5, 0.8, 0.9, 0.95, 0.99])
def test_interval_multipliers_are_exactly_scipy_stats(level):
    for n in [*range(2, 400), 1000, 10**4, 10**5, 10**6]:
        assert t_multiplier(n, level) == float(sps.t.ppf(0.5 + level / 2, n - 1)), n
    z = float(sps.norm.ppf(0.5 + level / 2))
    p, n = 0.3, 50
    half = z * (p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5 / (1 + z * z / n)
    lo, hi = wilson(15, 50, level)
    assert hi - lo == pytest.approx(2 * half, rel=1e-15)
