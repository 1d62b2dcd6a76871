"""`run --precision`: add runs until the Monte Carlo error is small enough, deterministically."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date

import numpy as np
from conftest import solo
from scipy import stats as sps

from flexsim.api import precise_enough, simulate
from flexsim.cli import main
from flexsim.scenario.model import Lot

N = 12 * 261  # launch chances in 2026: twelve people, every workday
P = 0.25
SIZE = 7950  # tokens: enough for 795 charges of 10


def binomial_pool():
    """Run-out happens exactly when the year's launches N ~ Binomial(N, P) exceed 795."""
    sc = solo(
        count=12,
        days_per_week=5 * P,
        lots=(Lot("pack", date(2026, 1, 1), SIZE, 3.0, date(2027, 1, 1), price_given=True),),
    )
    return replace(sc, runs=5000, seed=13)


def test_precision_reaches_its_target_on_an_exact_case():
    sc = binomial_pool()
    precision = 0.03
    res = simulate(sc, runs=5000, seed=13, precision=precision)
    assert res.precision_reached and res.runs < 5000 and res.runs % 100 == 0
    exact_out = float(sps.binom.sf(SIZE // 10, N, P))
    k = np.arange(N + 1)
    exact_used = float(10 * (sps.binom.pmf(k, N, P) * np.minimum(k, SIZE // 10)).sum())
    got = res.pool_summary(0)
    assert abs(got["run_out_probability"] - exact_out) < 2 * precision
    assert abs(got["tokens_consumed"]["mean"] - exact_used) < 2 * precision * exact_used
    # It stopped at the first checkpoint that met the rule, and those runs are the plain runs.
    assert not precise_enough(res.records[: res.runs - 100], res.plan, precision)
    plain = simulate(sc, runs=res.runs, seed=13)
    assert all(a.same_as(b) for a, b in zip(res.records, plain.records, strict=True))


def test_precision_is_the_same_with_more_workers(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(
        "start: 2026-01-01\nend: 2026-06-30\n"
        "lots: [{name: pack, date: 2026-01-01, tokens: 3800}]\n"
        "users:\n  - group: g\n    count: 12\n    products: {Revit: {days_per_week: 1.25}}\n"
        "simulation: {runs: 3000, seed: 3}\n"
    )
    outs = []
    for workers in ("1", "2"):
        out = tmp_path / f"w{workers}.json"
        assert (
            main(
                ["run", str(path), "--precision", "0.05", "--workers", workers, "--json", str(out), "--quiet"]
            )
            == 0
        )
        outs.append(out.read_text())
    assert outs[0] == outs[1]
    data = json.loads(outs[0])
    assert data["precision_reached"] and data["runs"] < 3000


def test_precision_not_reached_says_so(tmp_path, capsys):
    assert main(["run", "scenarios/small-studio.yaml", "--runs", "100", "--precision", "0.001"]) == 0
    assert "NOT reached within 100 runs" in capsys.readouterr().out
