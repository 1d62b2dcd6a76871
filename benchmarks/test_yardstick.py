"""The yardstick follows the same rules as flexsim: exactly where nothing is random, and in
distribution (means within Monte Carlo error) where it is. Run: python -m pytest benchmarks/test_yardstick.py
(the statistical check is marked slow: add -m slow)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
for _p in (str(HERE.parent), str(HERE)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import yardstick  # noqa: E402

from flexsim.api import simulate  # noqa: E402
from flexsim.scenario.loader import load_scenario  # noqa: E402

SURE = """
name: sure
start: 2026-01-01
end: 2026-12-31
lots:
  - {{name: pack, date: 2026-01-01, tokens: {tokens}}}
users:
  - name: ana
    products: {{Revit: {{days_per_week: 5}}}}
    start_hour: {{mean: 9, sd: 0}}
    session_hours: {{mean: {hours}, sd: 0}}
    left_open: {left_open}
    idle_awareness: {aware}
  - group: drafters
    count: 3
    products: {{AutoCAD: {{days_per_week: 5}}}}
    start_hour: {{mean: 8, sd: 0}}
    session_hours: {{mean: 4, sd: 0}}
"""


def both(path: Path) -> tuple[dict, object]:
    sc = load_scenario(path)
    return yardstick.run(sc, 2, 1, 2), simulate(sc, runs=2, seed=1)


@pytest.mark.parametrize(
    "tokens,hours,left_open,aware",
    [
        (10**7, 6, 0, "true"),  # every workday charged once: 261 Revit + 3 x 261 AutoCAD
        (10**7, 30, 0, "true"),  # a 30-hour session is charged again the next morning
        (10**7, 6, 1, "false"),  # left open, no idle awareness: every 24 hours, weekends too
        (10**7, 50, 1, "true"),  # long sessions joined by the next launches
        (9000, 6, 0, "true"),  # runs out in the autumn: blocked launches, run-out day
        (9000, 30, 1, "false"),  # runs out with sessions in use and idle products open
    ],
)
def test_where_nothing_is_random_the_two_agree_exactly(tmp_path, tokens, hours, left_open, aware):
    path = tmp_path / "sure.yaml"
    path.write_text(SURE.format(tokens=tokens, hours=hours, left_open=left_open, aware=aware))
    ys, fs = both(path)
    for key, name in [
        ("consumed", "tokens_consumed"),
        ("charges", "charges"),
        ("blocked_launches", "blocked_launches"),
        ("blocked_days", "blocked_days"),
        ("run_out_day", "run_out_day"),
        ("expired", "tokens_expired"),
    ]:
        assert ys[key][:, 0].tolist() == fs.column(name, 0).tolist(), key


@pytest.mark.slow
@pytest.mark.parametrize("name", ["reference.yaml", "../flexsim/examples/two-teams.yaml"])
def test_means_agree_within_monte_carlo_error(name):
    sc = load_scenario(HERE / name)
    ys = yardstick.run(sc, 400, 11, 40)
    fs = simulate(sc, runs=400, seed=11)
    for p in range(len(fs.plan.pool_names)):
        pairs = [("consumed", "tokens_consumed"), ("charges", "charges"), ("launches", "launches")]
        if sc.reorders:  # the yardstick has no top-ups: only people's behaviour is comparable
            pairs = pairs[2:]
        for key, column in pairs:
            a, b = ys[key][:, p].astype(float), fs.column(column, p).astype(float)
            se = np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
            assert abs(a.mean() - b.mean()) <= 4 * se + 1e-9, (key, a.mean(), b.mean(), se)
