"""`run --report DIR` and `--daily-csv` (SPEC section 4): the page, its charts and the daily CSV
agree with the per-run results and with the JSON."""

from __future__ import annotations

import base64
import csv
import json
import os
import re
import struct
import subprocess
import sys
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from conftest import solo

from flexsim.api import load, simulate
from flexsim.cli import main
from flexsim.engine import engine_fast, engine_simpy
from flexsim.engine.behaviour import draw_behaviour
from flexsim.engine.plan import Plan
from flexsim.output.charts import REPORT_CHARTS
from flexsim.scenario.model import Lot

pytest.importorskip("matplotlib")

ROOT = Path(__file__).resolve().parents[1]
SCENARIO_FILES = sorted((ROOT / "scenarios").glob("*.yaml"))
SMALL = ROOT / "scenarios" / "small-studio.yaml"
DAILY_COLUMNS = ["pool", "date", "balance_mean", "balance_p10", "balance_p50", "balance_p90", "consumed_mean"]


def call(argv: list) -> int:
    try:
        return main([str(a) for a in argv])
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1


class Figures(HTMLParser):
    """Collects the tagged figures, the images and the embedded JSON of a report page."""

    def __init__(self):
        super().__init__()
        self.figures: list[tuple[str, str, str]] = []  # (key, value, shown text)
        self.images: list[str] = []
        self.links: list[str] = []
        self.embedded = ""
        self._open: list[list] = []
        self._in_json = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "data-key" in a:
            self._open.append([a["data-key"], a["data-value"], ""])
        if tag == "img":
            self.images.append(a["src"])
        for name in ("href", "src"):
            if name in a and tag != "img":
                self.links.append(a[name])
        self._in_json = tag == "script" and a.get("id") == "flexsim-data"

    def handle_data(self, data):
        if self._open:
            self._open[-1][2] += data
        if self._in_json:
            self.embedded += data

    def handle_endtag(self, tag):
        if tag == "span" and self._open:
            self.figures.append(tuple(self._open.pop()))
        if tag == "script":
            self._in_json = False


def at(obj, key: str):
    for part in key.split("/"):
        obj = obj[int(part)] if isinstance(obj, list) else obj[part]
    return obj


def png_size(blob: bytes) -> tuple[int, int]:
    assert blob[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", blob[16:24])


def shown(value) -> str:
    """How the page writes a JSON figure (mirrors flexsim.output.report's formats)."""
    if value is None:
        return "none"
    if isinstance(value, str):
        return value
    return None  # numbers: checked per kind below


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """Every shipped scenario run once with --report, --daily-csv, --json and --runs-csv."""
    out = {}
    for path in SCENARIO_FILES:
        folder = tmp_path_factory.mktemp(path.stem)
        files = {
            "dir": folder / "report",
            "daily": folder / "daily.csv",
            "json": folder / "run.json",
            "runs": folder / "runs.csv",
        }
        assert (
            call(
                [
                    "run",
                    path,
                    "--runs",
                    30 if path.stem == "enterprise" else 150,  # its runs take a third of a second
                    "--seed",
                    5,
                    "--quiet",
                    "--report",
                    files["dir"],
                    "--daily-csv",
                    files["daily"],
                    "--json",
                    files["json"],
                    "--runs-csv",
                    files["runs"],
                ]
            )
            == 0
        )
        out[path.stem] = files
    return out


@pytest.mark.parametrize("name", [p.stem for p in SCENARIO_FILES])
def test_report_shows_the_json_figures(reports, name):
    files = reports[name]
    data = json.loads(files["json"].read_text())
    page = (files["dir"] / "report.html").read_text(encoding="utf-8")
    parsed = Figures()
    parsed.feed(page)
    # The embedded data is the run JSON itself.
    assert json.loads(parsed.embedded) == data
    keys = {key for key, _, _ in parsed.figures}
    for pool in data["pools"]:
        for key in (
            "run_out_probability",
            "run_out_date/p10",
            "run_out_date/p50",
            "run_out_date/p90",
            "alert_date/p50",
            "spend/mean",
            "blocked_days/mean",
            "tokens_expired/mean",
            "tokens_consumed/mean",
            "tokens_remaining/mean",
        ):
            assert f"pools/{pool}/{key}" in keys, f"{key} of pool {pool} not in the report"
    for i in range(len(data["lots"])):
        assert {f"lots/{i}/expired/mean", f"lots/{i}/expired_usd/mean"} <= keys
    for key, value, text in parsed.figures:
        truth = at(data, key)
        assert json.loads(value) == truth, key  # same number as the JSON
        if truth is None or isinstance(truth, str):
            assert text == shown(truth), key
        elif key.endswith("run_out_probability"):
            assert text == f"{100 * truth:.1f}%", key
        elif key.endswith("usd/mean") or key.endswith("spend/mean"):
            assert text == f"${truth:,.0f}", key
        elif key.endswith("blocked_days/mean"):
            assert text == f"{truth:,.1f}", key
        else:
            assert text == f"{truth:,.0f}", key
    # The headline answers come first, then the breakdowns, the charts and the assumptions.
    order = [
        page.index(h)
        for h in ("Headline answers", "By product", "By group", "By person", "<h2>Charts", "Assumptions")
    ]
    assert order == sorted(order)
    assert f"{data['runs']:,} simulated runs" in page and f"seed {data['seed']}" in page


@pytest.mark.parametrize("name", [p.stem for p in SCENARIO_FILES])
def test_report_embeds_its_charts_and_fetches_nothing(reports, name):
    folder = reports[name]["dir"]
    page = (folder / "report.html").read_text(encoding="utf-8")
    parsed = Figures()
    parsed.feed(page)
    assert not parsed.links
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", page)
    assert "@import" not in page and "url(" not in page
    embedded = [base64.b64decode(src.split(",", 1)[1]) for src in parsed.images]
    assert len(embedded) == len(REPORT_CHARTS)
    n_pools = len(json.loads(reports[name]["json"].read_text())["pools"])
    for chart in REPORT_CHARTS:
        blob = (folder / chart).read_bytes()
        assert blob in embedded, f"{chart} is not the image in the page"
        width, height = png_size(blob)
        assert 900 <= width <= 1400, (chart, width)
        assert 150 <= height <= 600 * n_pools, (chart, height)
        assert len(blob) > 10_000  # something is drawn
    assert not [p for p in folder.iterdir() if p.name.startswith(".")], "temporary files left"


@pytest.mark.parametrize("name", [p.stem for p in SCENARIO_FILES])
def test_daily_csv_agrees_with_the_runs(reports, name):
    files = reports[name]
    data = json.loads(files["json"].read_text())
    with open(files["daily"], newline="") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == DAILY_COLUMNS
        rows = list(reader)
    with open(files["runs"], newline="") as handle:
        runs = list(csv.DictReader(handle))
    days = (date.fromisoformat(data["end"]) - date.fromisoformat(data["start"])).days + 1
    assert len(rows) == days * len(data["pools"])
    for pool, s in data["pools"].items():
        mine = [r for r in rows if r["pool"] == pool]
        assert [r["date"] for r in mine][0] == data["start"] and mine[-1]["date"] == data["end"]
        left = np.array([int(r["tokens_remaining"]) for r in runs if r["pool"] == pool])
        last = mine[-1]
        # The balance at the end of the last day is what each run had left.
        for col, q in (("balance_p10", 0.1), ("balance_p50", 0.5), ("balance_p90", 0.9)):
            assert float(last[col]) == pytest.approx(np.quantile(left, q), abs=1e-6), col
        assert float(last["balance_mean"]) == pytest.approx(s["tokens_remaining"]["mean"])
        consumed = sum(float(r["consumed_mean"]) for r in mine)
        assert consumed == pytest.approx(s["tokens_consumed"]["mean"], rel=1e-9)
        for r in mine:
            assert 0 <= float(r["balance_p10"]) <= float(r["balance_p50"]) <= float(r["balance_p90"])


def test_end_of_day_balances_counted_by_hand():
    """One person charged 10 tokens every workday from a 100-token pack: the balance at the end
    of each day is 100 - 10 x workdays so far, until it is empty; both engines note it."""
    scenario = solo(
        product="Revit",
        days_per_week=5,
        session=1.0,
        end=date(2026, 1, 20),
        lots=(Lot("pack", date(2026, 1, 1), 100, 3.0, date(2027, 1, 1)),),
    )
    assert scenario.products["Revit"] == 10
    plan = Plan(scenario)
    behaviour = draw_behaviour(plan, 1, 0)
    slow = engine_simpy.simulate_run(plan, behaviour, 0, track=True)
    (fast,) = engine_fast.simulate_fast(plan, 1, [0], track=True)
    workdays_so_far = np.cumsum([plan.workday_index[d] >= 0 for d in range(plan.days)])
    want = np.maximum(100 - 10 * workdays_so_far, 0)
    for record in (slow, fast):
        assert record.daily_balance[0].tolist() == want.tolist()
        assert record.daily_consumed[0].tolist() == np.diff(100 - want, prepend=0).tolist()


def test_runs_are_folded_in_and_dropped(tmp_path):
    """Day-by-day arrays are not kept per run; with --precision only the runs used count."""
    scenario = load(ROOT / "scenarios" / "two-teams.yaml")
    for workers in (1, 2):
        results = simulate(scenario, runs=400, seed=3, workers=workers, track=True, precision=0.05)
        assert results.tracked.n == results.runs < 400
        assert all(r.daily_balance is None and r.seat_tokens is None for r in results.records)
        left = results.column("tokens_remaining", 0)
        assert results.tracked.balance.mean()[0, -1] == pytest.approx(left.mean())
        person = results.tracked.person_tokens()
        assert person.shape == (results.runs, len(results.plan.persons))
        used = sum(results.column("tokens_consumed", p) for p in range(results.plan.n_pools))
        assert np.array_equal(person.sum(axis=1), used)


def test_report_is_the_same_for_any_workers_and_engine(tmp_path):
    outs = []
    for extra in (["--workers", 1], ["--workers", 2], ["--engine", "simpy"]):
        folder = tmp_path / "-".join(map(str, extra)).strip("-")
        folder.mkdir()
        assert (
            call(
                [
                    "run",
                    SMALL,
                    "--runs",
                    40,
                    "--quiet",
                    "--report",
                    folder / "r",
                    "--daily-csv",
                    folder / "d.csv",
                    *extra,
                ]
            )
            == 0
        )
        outs.append(((folder / "d.csv").read_bytes(), (folder / "r" / "report.html").read_bytes()))
    assert outs[0] == outs[1] == outs[2]


def test_bad_report_folder_is_one_line_and_writes_nothing(tmp_path, capsys):
    a_file = tmp_path / "taken"
    a_file.write_text("x")
    daily = tmp_path / "daily.csv"
    assert call(["run", SMALL, "--runs", 5, "--report", a_file, "--daily-csv", daily]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "not a folder" in err
    assert call(["run", SMALL, "--runs", 5, "--report", tmp_path / "no" / "such"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not daily.exists() and not (tmp_path / "no").exists()


def test_report_without_matplotlib_is_one_clear_line(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert call(["run", SMALL, "--runs", 5, "--report", tmp_path / "r"]) == 2
    err = capsys.readouterr().err
    assert "flexsim[report]" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()


def test_terminal_gets_tables_and_pipes_get_plain_text(tmp_path):
    """On a terminal the summary is a table; piped, the plain text."""
    pty = pytest.importorskip("pty")
    cmd = [sys.executable, "-m", "flexsim", "run", str(SMALL), "--runs", "30"]
    env = {**os.environ, "COLUMNS": "120"}
    piped = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout
    assert "Headline answers" not in piped and "Runs out before the end" in piped
    leader, follower = pty.openpty()
    proc = subprocess.Popen(cmd, stdout=follower, stderr=subprocess.DEVNULL, env=env)
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    assert proc.wait(timeout=60) == 0
    os.close(leader)
    screen = re.sub(r"\x1b\[[0-9;]*m", "", b"".join(chunks).decode("utf-8", "replace"))
    assert "Headline answers" in screen and "Runs out before the end" in screen
    assert "pool main" in screen and "Packs" in screen


def test_monthly_burn_intervals_are_the_t_intervals_of_the_runs():
    """The monthly burn's means and 95% intervals, kept as running sums, equal those computed
    from every run's figures with stats.mean_ci."""
    from flexsim.analysis.stats import mean_ci
    from flexsim.engine.tracking import Tracked

    plan = Plan(load(SMALL))
    records = engine_fast.simulate_fast(plan, 9, list(range(40)), detail=False, track=True)
    per_run = np.array([r.month_product_tokens.sum(axis=1) for r in records])  # (runs, months)
    tracked = Tracked(plan)
    for record in records:
        tracked.absorb(record)
    mean, half = tracked.month_total_mean()
    for m in range(per_run.shape[1]):
        lo, hi = mean_ci(per_run[:, m])
        assert mean[m] == pytest.approx(per_run[:, m].mean())
        assert half[m] == pytest.approx((hi - lo) / 2, rel=1e-6, abs=1e-9)


def test_top_up_arrivals_on_the_balance_chart_add_up_to_the_top_ups_received():
    """The weekly bars of the balance chart are the mean top-ups received per run, day by day."""
    from flexsim.analysis.forecast import daily_series

    results = simulate(load(ROOT / "scenarios" / "start-small.yaml"), runs=60, track=True)
    per_day = np.array(daily_series(results)["main"]["topups_mean"])
    assert per_day.sum() == pytest.approx(results.column("topups", "main").mean())
    assert per_day[:30].sum() == 0  # the first pack lasts beyond a month: nothing is ordered yet
