"""The command line (SPEC section 2) and its machine-readable outputs (SPEC section 3)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from flexsim.cli import main

ROOT = Path(__file__).resolve().parents[1]
SCENARIO_FILES = sorted((ROOT / "scenarios").glob("*.yaml"))
SMALL = ROOT / "scenarios" / "small-studio.yaml"

SUMMARY_KEYS = {"mean", "sd", "p05", "p50", "p95", "mean_ci95"}
POOL_KEYS = {
    "run_out_probability",
    "run_out_date",
    "tokens_consumed",
    "tokens_expired",
    "tokens_remaining",
    "blocked_days",
    "spend",
}
CSV_COLUMNS = [
    "run",
    "pool",
    "tokens_purchased",
    "tokens_consumed",
    "tokens_expired",
    "tokens_remaining",
    "launches",
    "charges",
    "blocked_launches",
    "blocked_days",
    "run_out_date",
    "spend",
]


def call(argv: list[str]) -> int:
    """flexsim's exit status for argv (argparse errors exit through SystemExit)."""
    try:
        return main([str(a) for a in argv])
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def check_summary(s: dict) -> None:
    assert SUMMARY_KEYS <= set(s), s
    lo, hi = s["mean_ci95"]
    if s["mean"] is not None and lo is not None:
        assert lo <= s["mean"] + 1e-9 and s["mean"] <= hi + 1e-9
        assert s["p05"] <= s["p50"] <= s["p95"]


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=[p.stem for p in SCENARIO_FILES])
def test_run_every_shipped_scenario(path, tmp_path, capsys):
    out_json, out_csv = tmp_path / "out.json", tmp_path / "runs.csv"
    assert call(["run", path, "--runs", 4, "--seed", 3, "--json", out_json, "--runs-csv", out_csv]) == 0
    printed = capsys.readouterr()
    data = json.loads(out_json.read_text())
    for pool in data["pools"]:
        assert pool in printed.out
    assert "Traceback" not in printed.err

    # --json: every key of SPEC section 3.
    assert {"scenario", "runs", "seed", "pools", "lots"} <= set(data)
    assert isinstance(data["scenario"], str)
    assert (data["runs"], data["seed"]) == (4, 3)
    for pool, s in data["pools"].items():
        assert POOL_KEYS <= set(s), pool
        assert 0.0 <= s["run_out_probability"] <= 1.0
        assert set(s["run_out_date"]) >= {"p10", "p50", "p90"}
        dates = [s["run_out_date"][k] for k in ("p10", "p50", "p90")]
        for d in dates:
            assert d is None or (len(d) == 10 and d[4] == "-")
        present = [d for d in dates if d is not None]
        assert present == sorted(present)
        for key in ("tokens_consumed", "tokens_expired", "tokens_remaining", "blocked_days", "spend"):
            check_summary(s[key])
    for lot in data["lots"]:
        assert {"name", "pool", "tokens", "consumed", "expired"} <= set(lot)
        assert lot["pool"] in data["pools"] and isinstance(lot["tokens"], int)
        check_summary(lot["consumed"])
        check_summary(lot["expired"])

    # --runs-csv: the required columns, one row per (run, pool), consistent with the JSON.
    rows = read_csv(out_csv)
    assert set(CSV_COLUMNS) <= set(rows[0])
    pools = list(data["pools"])
    assert sorted((int(r["run"]), r["pool"]) for r in rows) == sorted(
        (run, pool) for run in range(4) for pool in pools
    )
    for row in rows:
        purchased, consumed, expired, remaining = (int(row[k]) for k in CSV_COLUMNS[2:6])
        assert purchased == consumed + expired + remaining
        assert row["run_out_date"] == "" or len(row["run_out_date"]) == 10
        assert (row["run_out_date"] != "") == (int(row["blocked_days"]) > 0)
        float(row["spend"])
    for pool, s in data["pools"].items():
        mine = [r for r in rows if r["pool"] == pool]
        assert s["run_out_probability"] == pytest.approx(
            sum(r["run_out_date"] != "" for r in mine) / len(mine)
        )
        assert s["tokens_consumed"]["mean"] == pytest.approx(
            sum(int(r["tokens_consumed"]) for r in mine) / len(mine)
        )


def _outputs(tmp_path: Path, name: str, *extra) -> tuple[dict, str]:
    j, c = tmp_path / f"{name}.json", tmp_path / f"{name}.csv"
    assert call(["run", SMALL, "--quiet", "--seed", 42, "--json", j, "--runs-csv", c, *extra]) == 0
    data = json.loads(j.read_text())
    return data, c.read_text()


def test_same_seed_same_files_whatever_workers_or_engine(tmp_path):
    base_json, base_csv = _outputs(tmp_path, "simpy1", "--runs", 20, "--engine", "simpy")
    for name, extra in {
        "simpy2": ("--runs", 20, "--engine", "simpy", "--workers", 2),  # 3 batches of 8
        "fast1": ("--runs", 20, "--engine", "fast"),
        "auto2": ("--runs", 20, "--workers", 2),
    }.items():
        data, text = _outputs(tmp_path, name, *extra)
        assert text == base_csv, name
        # The JSON names the engine that ran (an addition to SPEC section 3); all else is equal.
        data.pop("engine", None)
        assert data == {k: v for k, v in base_json.items() if k != "engine"}, name


def test_fast_engine_with_several_workers_and_batches(tmp_path):
    one_json, one_csv = _outputs(tmp_path, "w1", "--runs", 130, "--engine", "fast")
    two_json, two_csv = _outputs(tmp_path, "w2", "--runs", 130, "--engine", "fast", "--workers", 2)
    assert one_csv == two_csv
    assert one_json == two_json
    assert len(read_csv(tmp_path / "w1.csv")) == 130


def test_seed_and_runs_default_to_the_file(tmp_path):
    text = SMALL.read_text().replace("runs: 1000", "runs: 3").replace("seed: 2027", "seed: 5")
    path = tmp_path / "s.yaml"
    path.write_text(text)
    out = tmp_path / "o.json"
    assert call(["run", path, "--quiet", "--json", out]) == 0
    data = json.loads(out.read_text())
    assert (data["runs"], data["seed"]) == (3, 5)


BAD = {
    "unknown product": ("products: {Revit: 10}", "users:\n  - name: x\n    products: {Reevit: 2}\n"),
    "misspelt key": ("", "users:\n  - name: x\n    prodcts: {Revit: 2}\n"),
    "negative count": ("", "users:\n  - group: x\n    count: -2\n    products: {Revit: 2}\n"),
    "percent above 100": ("", "pools:\n  - name: main\n    alert_below: 120%\n"),
    "malformed date": ("", "calendar:\n  holidays: [2027-02-30]\n"),
    "undefined pool": ("", "users:\n  - name: x\n    pool: nowhere\n    products: {Revit: 2}\n"),
}
GOOD_HEAD = "start: 2027-01-01\nend: 2027-01-31\nlots:\n  - {date: 2027-01-01, tokens: 100}\n"


def bad_files(tmp_path: Path) -> dict[str, Path]:
    files = {}
    for i, (name, (_, body)) in enumerate(BAD.items()):
        p = tmp_path / f"bad{i}.yaml"
        p.write_text(GOOD_HEAD + body)
        files[name] = p
    p = tmp_path / "end_before_start.yaml"
    p.write_text("start: 2027-01-01\nend: 2026-12-31\nlots:\n  - {date: 2027-01-01, tokens: 100}\n")
    files["end before start"] = p
    p = tmp_path / "syntax.yaml"
    p.write_text("start: 2027-01-01\nend: [2027-01-31\nlots: x\n")
    files["yaml syntax"] = p
    p = tmp_path / "empty.yaml"
    p.write_text("")
    files["empty"] = p
    files["missing file"] = tmp_path / "no-such-file.yaml"
    return files


def test_bad_scenarios_exit_2_with_one_line_and_no_output(tmp_path, capsys):
    for name, path in bad_files(tmp_path).items():
        out_json, out_csv = tmp_path / f"{path.stem}.json", tmp_path / f"{path.stem}.csv"
        code = call(["run", path, "--runs", 2, "--json", out_json, "--runs-csv", out_csv])
        captured = capsys.readouterr()
        assert code == 2, name
        message = captured.err.strip()
        assert message and "\n" not in message, (name, captured.err)
        assert str(path) in message, (name, message)
        assert "Traceback" not in captured.err
        assert captured.out == ""
        assert not out_json.exists() and not out_csv.exists(), name
        assert call(["validate", path]) == 2, name
        assert str(path) in capsys.readouterr().err


def test_errors_name_the_key_path_and_line(tmp_path, capsys):
    files = bad_files(tmp_path)
    call(["validate", files["misspelt key"]])
    err = capsys.readouterr().err
    assert "users[0].prodcts" in err and ":7:" in err
    call(["validate", files["undefined pool"]])
    err = capsys.readouterr().err
    assert "users[0].pool" in err and "nowhere" in err


def test_validate(tmp_path, capsys):
    for path in SCENARIO_FILES:
        assert call(["validate", path]) == 0
        out = capsys.readouterr().out
        assert "OK" in out and str(path) in out


@pytest.mark.parametrize(
    "argv",
    [
        ["--runs", 0],
        ["--runs", -3],
        ["--runs", "many"],
        ["--workers", 0],
        ["--seed", -1],
        ["--engine", "warp"],
    ],
)
def test_bad_options_exit_2(argv, tmp_path, capsys):
    out = tmp_path / "o.json"
    assert call(["run", SMALL, *argv, "--json", out]) == 2
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and captured.err.strip()
    assert not out.exists()


def test_unwritable_output_is_a_clean_error(tmp_path, capsys):
    out_json = tmp_path / "o.json"
    code = call(
        [
            "run",
            SMALL,
            "--runs",
            2,
            "--quiet",
            "--json",
            out_json,
            "--runs-csv",
            tmp_path / "missing" / "runs.csv",
        ]
    )
    captured = capsys.readouterr()
    assert code == 2
    assert "Traceback" not in captured.err and "runs.csv" in captured.err
    assert not out_json.exists()
    assert [p.name for p in tmp_path.iterdir()] == []  # no temporary files left behind


def test_long_lead_zero_cascade_runs_from_the_command_line(tmp_path, capsys):
    path = tmp_path / "cascade.yaml"
    path.write_text(
        "start: 2027-01-04\ndays: 5\nlots:\n  - {date: 2027-01-04, tokens: 30}\n"
        "purchasing:\n  reorder: {below: 5000, tokens: 1, lead_days: 0}\n"
        "users:\n  - name: a\n    products: {Revit: 5}\n"
    )
    try:
        code = call(["run", path, "--runs", 1, "--quiet"])
    except RecursionError:
        code = 1
    assert code == 0


def test_python_dash_m_flexsim(tmp_path):
    out = tmp_path / "o.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "flexsim",
            "run",
            str(SMALL),
            "--runs",
            "3",
            "--seed",
            "1",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "main" in done.stdout
    assert json.loads(out.read_text())["runs"] == 3
    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD_HEAD + BAD["unknown product"][1])
    done = subprocess.run(
        [sys.executable, "-m", "flexsim", "run", str(bad), "--json", str(out) + "2"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and str(bad) in done.stderr
    assert "Traceback" not in done.stderr
    assert not Path(str(out) + "2").exists()


def test_init_writes_a_starter_that_runs(tmp_path, capsys):
    out = tmp_path / "my-pool.yaml"
    assert main(["init", "-o", str(out)]) == 0
    text = out.read_text()
    assert text.startswith("# A starter scenario") and "lots:" in text
    assert main(["validate", str(out)]) == 0
    assert main(["init", "-o", str(out)]) == 2  # never overwrites
    assert main(["init", "--example", "two-teams", "-o", str(tmp_path / "b.yaml")]) == 0


def test_every_command_help_teaches(capsys):
    from flexsim.cli import EXAMPLES_HELP, build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    for name, cmd in sub.choices.items():
        assert name in EXAMPLES_HELP, name
        text = cmd.format_help()
        assert "examples:" in text and "more: docs/" in text and cmd.description


@pytest.mark.parametrize(
    "name", ["ScenarioError", "UsageError", "OutputError", "ClusterError", "OptimizeError", "CompareError"]
)
def test_every_flexsim_error_is_one_line_and_exit_2(monkeypatch, capsys, name):
    import flexsim.cli as cli
    from flexsim import errors

    def fail(args):
        raise getattr(errors, name)("what went wrong")

    monkeypatch.setitem(cli.COMMANDS, "validate", fail)
    assert main(["validate", str(SMALL)]) == 2
    assert capsys.readouterr().err == "flexsim: error: what went wrong\n"
