"""Hostile inputs through the command line: every file of tests/hostile/, special files and
generated bombs end in exit 0 or 2, in one line, within a time bound, and write nothing when
refused; what is accepted runs with its tokens conserved and its cells formula-safe."""

from __future__ import annotations

import csv
import io
import os
import time
import zipfile
from pathlib import Path

import pytest

from flexsim.cli import main

HERE = Path(__file__).parent
CORPUS = HERE / "hostile"
EXAMPLES = HERE.parent / "flexsim" / "examples"
EXPORT = EXAMPLES / "firm-history-usage.csv"
SCENARIOS = sorted(CORPUS.glob("*.yaml"))
USAGE = sorted(CORPUS.glob("usage-*.csv"))
PACKS = sorted(CORPUS.glob("packs-*.csv"))
BOUND = 30.0  # seconds a command may take on a hostile input (the bar is 60)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cli(capsys, *args: str | os.PathLike[str]) -> tuple[int, str]:
    """Exit status and standard error of `flexsim ARGS`; an exception (a traceback) fails the test."""
    capsys.readouterr()
    started = time.monotonic()
    try:
        status = main([str(a) for a in args])
    except SystemExit as exc:  # argparse's own refusals
        status = exc.code if isinstance(exc.code, int) else 2
    took = time.monotonic() - started
    err = capsys.readouterr().err
    assert took < BOUND, f"flexsim {' '.join(map(str, args))} took {took:.1f} s"
    assert status in (0, 2), (status, err)
    if status == 2:
        last = err.strip().splitlines()[-1]
        assert last.startswith("flexsim") and "error" in last, err
    return status, err


def refusal(err: str) -> str:
    return err.strip().splitlines()[-1]


def conserved(runs_csv: Path) -> None:
    with open(runs_csv, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows
    for row in rows:
        bought, used, lost, left = (
            int(row[k]) for k in ("tokens_purchased", "tokens_consumed", "tokens_expired", "tokens_remaining")
        )
        assert bought == used + lost + left, row


def formula_safe(path: Path) -> None:
    with open(path, newline="", encoding="utf-8") as handle:
        for row in csv.reader(handle):
            for cell in row:
                if cell.startswith(FORMULA_START):
                    float(cell)  # only a negative number may start with '-'


def test_the_corpus_is_large_enough() -> None:
    assert len(SCENARIOS) >= 50 and len(USAGE) >= 5 and len(PACKS) >= 3


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_hostile_scenario(path: Path, tmp_path: Path, capsys) -> None:
    status, err = cli(capsys, "validate", path)
    out = tmp_path / "out"
    out.mkdir()
    run = [
        "run", path, "--runs", "2", "--quiet",
        "--json", out / "r.json", "--runs-csv", out / "r.csv", "--report", out / "report",
    ]  # fmt: skip
    run_status, run_err = cli(capsys, *run)
    assert run_status == status, (err, run_err)
    if status == 2:
        assert refusal(run_err) == refusal(err)
        assert not list(out.iterdir()), "a refused scenario wrote outputs"
        return
    conserved(out / "r.csv")
    formula_safe(out / "r.csv")
    assert (out / "report" / "report.html").is_file()
    assert not Path("/tmp/flexsim-pwned").exists()


def special_files(tmp_path: Path) -> list[Path]:
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    link = tmp_path / "zero.yaml"
    link.symlink_to("/dev/zero")
    found = [Path("/dev/zero"), Path("/dev/null"), fifo, link, tmp_path]
    return found + [p for p in (Path("/proc/self/mem"), Path("/dev/urandom")) if p.exists()]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes")
def test_special_files_are_refused_as_inputs(tmp_path: Path, capsys) -> None:
    out = tmp_path / "o.yaml"
    for special in special_files(tmp_path):
        for args in (
            ["validate", special],
            ["run", special, "--runs", "2"],
            ["compare", EXAMPLES / "small-studio.yaml", special, "--runs", "2"],
            ["calibrate", special, "-o", out],
            ["calibrate", EXPORT, "--packs", special, "-o", out],
        ):
            status, err = cli(capsys, *args)
            assert status == 2, (args, err)
            assert not out.exists()


@pytest.mark.parametrize("path", USAGE, ids=lambda p: p.stem)
def test_hostile_usage_export(path: Path, tmp_path: Path, capsys) -> None:
    scenario = tmp_path / "fitted.yaml"
    status, err = cli(capsys, "calibrate", path, "-o", scenario)
    if status == 2:
        assert not scenario.exists()
        return
    runs = tmp_path / "runs.csv"
    assert cli(capsys, "run", scenario, "--runs", "2", "--quiet", "--runs-csv", runs)[0] == 0
    conserved(runs)
    formula_safe(runs)
    export = tmp_path / "export.csv"
    assert cli(capsys, "synth-export", scenario, "-o", export)[0] == 0
    formula_safe(export)


@pytest.mark.parametrize("path", PACKS, ids=lambda p: p.stem)
def test_hostile_packs_file(path: Path, tmp_path: Path, capsys) -> None:
    status, err = cli(capsys, "calibrate", EXPORT, "--packs", path, "-o", tmp_path / "o.yaml")
    assert status == 2
    assert refusal(err).startswith(f"flexsim: error: {path}: row ")


def workbook(cell: bytes) -> bytes:
    """A one-row usage export as .xlsx whose e-mail cell is `cell` (written as an inline string)."""
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    book.active.append(["Team", "First name", "Last name", "Email", "Product", "Day used", "Tokens used"])
    book.active.append(["A", "Ana", "Lee", "CELL", "Revit", "2025-11-03", 10])
    raw = io.BytesIO()
    book.save(raw)
    source, out = zipfile.ZipFile(io.BytesIO(raw.getvalue())), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, source.read(info).replace(b"CELL", cell, 1))
    return out.getvalue()


@pytest.mark.parametrize(
    "cell, words",
    [
        (os.urandom(1 << 20).hex().encode(), "holds a cell of more than"),  # 2 MiB, packs 2 times
        (b"A" * (64 << 20), "times its packed size"),  # a zip bomb: 64 MiB from 64 KiB
    ],
    ids=["2-MiB-cell", "zip-bomb"],
)
def test_xlsx_bombs_are_refused_before_parsing(cell: bytes, words: str, tmp_path: Path, capsys) -> None:
    path = tmp_path / "usage.xlsx"
    path.write_bytes(workbook(cell))
    status, err = cli(capsys, "calibrate", path, "-o", tmp_path / "o.yaml")
    assert status == 2 and words in refusal(err)


def test_an_ordinary_workbook_still_calibrates(tmp_path: Path, capsys) -> None:
    path = tmp_path / "usage.xlsx"
    path.write_bytes(workbook(b"ana@x.example"))
    assert cli(capsys, "calibrate", path, "-o", tmp_path / "o.yaml")[0] == 0


def test_too_many_packs(tmp_path: Path, capsys) -> None:
    path = tmp_path / "many.yaml"
    packs = "".join(f"  - {{name: p{k}, date: 2027-01-01, tokens: 1}}\n" for k in range(10_001))
    path.write_text(f"start: 2027-01-01\nend: 2027-12-31\nlots:\n{packs}", encoding="utf-8")
    status, err = cli(capsys, "validate", path)
    assert status == 2 and "lots: 10,001 entries" in refusal(err)
