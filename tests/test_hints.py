"""Error messages carry a hint for the mistakes people make most (one line, exit status 2)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from flexsim.cli import main

BASE = "name: x\nstart: 2027-01-01\nend: 2027-12-31\n"
PACK = "lots:\n  - {name: a, date: 2027-01-01, tokens: 2000}\n"


def error_of(capsys, args) -> str:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 or "usage:" in err
    return err.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("content", "hint"),
    [
        (BASE + "lots:\n\t- {name: a, date: 2027-01-01, tokens: 100}\n", "indent with spaces"),
        (BASE + "lots:\n  - {name: a, date: 2027-01-01, tokens: 20,000}\n", "write 20000"),
        (BASE + PACK + "seasonality: {aug: 50%}\n", "write 0.5 for 50%"),
        (BASE + PACK + "seasonality: {aug: 50}\n", "write 0.5"),
    ],
)
def test_scenario_hints(tmp_path, capsys, content, hint):
    path = tmp_path / "s.yaml"
    path.write_text(content)
    assert hint in error_of(capsys, ["validate", str(path)])


def test_utf16_says_save_as_utf8(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text(BASE + PACK, encoding="utf-16")
    assert "save it as UTF-8" in error_of(capsys, ["validate", str(path)])


def test_pack_name_hints(capsys):
    args = ["optimize", "scenarios/small-studio.yaml", "--objective", "service", "--sizes", "1,2"]
    assert "did you mean 'FY27 bundle'" in error_of(capsys, [*args, "--lot", "fy27 bundle"])
    with pytest.raises(SystemExit):
        main([*args, "--lot", "FY27", "bundle"])
    assert "--lot 'FY27 bundle'" in capsys.readouterr().err


def test_a_percentage_written_as_a_whole_number(capsys):
    with pytest.raises(SystemExit):
        main(["optimize", "scenarios/small-studio.yaml", "--max-run-out", "5"])
    assert "did you mean 5%?" in capsys.readouterr().err


def test_a_stdout_that_cannot_encode_gets_no_traceback():
    env = {"PYTHONIOENCODING": "ascii", "PATH": ""}
    import os

    env["PYTHONPATH"] = os.environ.get("PYTHONPATH", "")
    cmd = [sys.executable, "-m", "flexsim", "run", "scenarios/small-studio.yaml", "--runs", "10"]
    done = subprocess.run(cmd, capture_output=True, env=env)
    assert done.returncode == 0 and b"Traceback" not in done.stderr and b"What to do" in done.stdout
