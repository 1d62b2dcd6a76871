"""flexsim synth-export: one simulated run written as a Token Usage export."""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from flexsim.api import simulate
from flexsim.cli import main
from flexsim.history.synth import synthesize
from flexsim.history.usage_export import read_usage
from flexsim.scenario.loader import load_scenario
from flexsim.scenario.model import Lot

HABITS = """\
start: 2026-01-01
end: 2026-03-31
lots: []
users:
  - name: ana@firm.example          # left open overnight on an old version: charged again
    products: {Revit: 3, AutoCAD: 1}
    left_open: 0.3
    idle_awareness: false
  - name: bo@firm.example           # short sessions: launches that cost nothing
    products: {AutoCAD: 4}
    session_hours: {mean: 0.1, sd: 0.1}
  - group: drafters
    count: 3
    products: {Civil 3D: 2}
    start_hour: {mean: 9, sd: 2}
simulation: {seed: 5}
"""


def call(argv: list[object]) -> int:
    try:
        return main([str(a) for a in argv])
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1


@pytest.fixture
def habits(tmp_path: Path) -> Path:
    path = tmp_path / "habits.yaml"
    path.write_text(HABITS)
    return path


def test_the_export_charges_what_the_engines_charge(habits: Path) -> None:
    """Per person and product, the export's tokens are the run's tokens with a pool that never
    runs dry, and a row with 0 tokens is a launch that opened no charge."""
    scenario = load_scenario(habits)
    unlimited = replace(scenario, lots=(Lot("all", scenario.start, 10**9, 3.0, date(2027, 1, 1)),))
    for run in (0, 3):
        results = simulate(unlimited, runs=run + 1, seed=5, keep_seats=True, engine="simpy")
        plan, record = results.plan, results.records[run]
        expected = Counter()
        for s, tokens in enumerate(record.seat_tokens):
            expected[plan.persons[plan.seat_person[s]], plan.seat_product[s]] += int(tokens)
        synthetic = synthesize(scenario, 5, run)
        got = Counter()
        for r in synthetic.records:
            person = r["email"] if r["email"] in plan.persons else r["email"].split("@")[0].replace(".", "-")
            got[person, r["product"]] += r["tokens"]
        assert got == expected
        assert synthetic.tokens == sum(expected.values())
        zero = [r for r in synthetic.records if r["tokens"] == 0]
        assert any(r["email"] == "bo@firm.example" for r in zero)  # short sessions are free
        weekend = [r for r in synthetic.records if date.fromisoformat(r["day"]).weekday() >= 5]
        assert weekend and all(r["email"] == "ana@firm.example" for r in weekend)  # left open: charged
        assert all(r["tokens"] > 0 for r in weekend)  # again each 24 hours, over the weekend too


def test_same_seed_same_file_and_the_shipped_sample_is_reproducible(tmp_path: Path, habits: Path) -> None:
    a, b, c = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"
    assert call(["synth-export", habits, "-o", a, "--quiet"]) == 0
    assert call(["synth-export", habits, "-o", b, "--quiet"]) == 0
    assert call(["synth-export", habits, "-o", c, "--seed", 6, "--quiet"]) == 0
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()
    shipped = tmp_path / "firm.csv"
    assert call(["synth-export", "scenarios/firm-history.yaml", "-o", shipped, "--quiet"]) == 0
    assert shipped.read_bytes() == Path("scenarios/firm-history-usage.csv").read_bytes()


@pytest.mark.parametrize(
    ("style", "privacy", "columns"),
    [
        (
            "current",
            "off",
            ["Team", "First name", "Last name", "Email", "Product", "Feature", "Day used", "Tokens used"],
        ),
        (
            "snake",
            "masked",
            [
                "team_alias",
                "email",
                "first_name",
                "last_name",
                "product_name",
                "version",
                "day_used",
                "tokens_used",
                "usage_type",
                "hashed_autodesk_id",
                "offering_name",
            ],
        ),
        ("camel", "hashed", ["productName", "usageDate", "version", "tokens", "emailAddress", "userName"]),
    ],
)
def test_styles_and_privacy(
    tmp_path: Path, habits: Path, capsys, style: str, privacy: str, columns: list[str]
) -> None:
    out = tmp_path / "u.csv"
    assert call(["synth-export", habits, "-o", out, "--style", style, "--privacy", privacy]) == 0
    assert "rows" in capsys.readouterr().out
    with open(out, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == columns
    if style == "camel":
        assert rows[0]["usageDate"].endswith("T00:00:00Z")
    usage = read_usage(out)
    assert len({r.user for r in usage.rows}) == 5  # masked e-mails: the hashed IDs still tell apart
    assert "ana@firm.example" in {r.user for r in usage.rows} or privacy != "off"


def test_a_fully_masked_export_is_refused_with_the_reason(tmp_path: Path, habits: Path, capsys) -> None:
    out = tmp_path / "u.csv"
    assert call(["synth-export", habits, "-o", out, "--privacy", "masked", "--quiet"]) == 0
    assert call(["calibrate", out, "-o", tmp_path / "c.yaml"]) == 2
    assert "every user is masked ('*****')" in capsys.readouterr().err


def test_xlsx_export_calibrates_like_csv(tmp_path: Path, habits: Path) -> None:
    pytest.importorskip("openpyxl")
    from flexsim.history.calibrate import calibrate
    from flexsim.history.calibrate_yaml import scenario_yaml

    as_csv, as_xlsx = tmp_path / "u.csv", tmp_path / "u.xlsx"
    assert call(["synth-export", habits, "-o", as_csv, "--quiet"]) == 0
    assert call(["synth-export", habits, "-o", as_xlsx, "--quiet"]) == 0
    a, b = calibrate(read_usage(as_csv)), calibrate(read_usage(as_xlsx))
    assert scenario_yaml(a).replace("u.csv", "u.xlsx") == scenario_yaml(b)
