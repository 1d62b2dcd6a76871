"""Progress: drawn on a terminal's standard error for every long phase, nothing in a pipe."""

from __future__ import annotations

import io
import os
import select
import subprocess
import sys
from pathlib import Path

import pytest

from flexsim.output.progress import Progress

ROOT = Path(__file__).resolve().parent.parent
SMALL = str(ROOT / "scenarios" / "small-studio.yaml")
HISTORY = str(ROOT / "scenarios" / "firm-history-usage.csv")


def flexsim(*argv: str, terminal: bool) -> tuple[int, str, str]:
    """Run `python -m flexsim ARGV` with standard error on a pseudo-terminal or a pipe."""
    if not terminal:
        done = subprocess.run(
            [sys.executable, "-m", "flexsim", *argv], capture_output=True, text=True, timeout=300, cwd=ROOT
        )
        return done.returncode, done.stdout, done.stderr
    import pty

    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "flexsim", *argv], stdout=subprocess.PIPE, stderr=slave, cwd=ROOT
    )
    os.close(slave)
    err = b""
    while True:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the other end closed
                break
            if not chunk:
                break
            err += chunk
        elif proc.poll() is not None:
            break
    out = proc.stdout.read().decode()
    proc.wait(timeout=300)
    os.close(master)
    return proc.returncode, out, err.decode(errors="replace")


@pytest.mark.parametrize(
    "argv",
    [
        ["run", SMALL, "--runs", "130"],
        ["advise", SMALL, "--runs", "30"],
        ["optimize", SMALL, "--runs", "30", "--lot", "FY27 bundle", "--sizes", "4000:6000:1000"],
        ["backtest", HISTORY, "--folds", "2", "--runs", "20"],
    ],
    ids=lambda a: a[0],
)
def test_a_pipe_gets_no_progress(argv):
    code, out, err = flexsim(*argv, terminal=False)
    assert code == 0, err
    assert err.strip() == "" or all(line.startswith("flexsim: note") for line in err.splitlines()), err
    assert "runs/s" not in out + err and "\x1b[" not in out + err


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pseudo-terminals as on Linux")
def test_a_terminal_shows_runs_speed_and_time_left(tmp_path):
    code, out, err = flexsim("run", SMALL, "--runs", "130", "--json", str(tmp_path / "a.json"), terminal=True)
    assert code == 0, err
    assert "130/130" in err and "runs/s" in err and "left" in err
    assert "runs/s" not in out


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pseudo-terminals as on Linux")
def test_advice_shows_each_pass(tmp_path):
    argv = ["advise", SMALL, "--runs", "30", "--lot", "FY27 bundle", "--sizes", "4000:6000:1000"]
    code, _, err = flexsim(*argv, "--json", str(tmp_path / "a.json"), terminal=True)
    assert code == 0, err
    assert "people as they are" in err
    assert "sizes of FY27 bundle, without the plan" in err and "sizes of FY27 bundle, with the plan" in err


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pseudo-terminals as on Linux")
def test_backtest_folds_show_each_fold():
    code, _, err = flexsim("backtest", HISTORY, "--folds", "2", "--runs", "20", "--quiet", terminal=True)
    assert code == 0
    assert "runs/s" not in err  # --quiet: nothing
    code, _, err = flexsim("backtest", HISTORY, "--folds", "2", "--runs", "20", terminal=True)
    assert code == 0, err
    assert "fold 1 of 2" in err and "fold 2 of 2" in err


def test_a_phase_that_stops_early_is_shown_as_ended():
    stream = io.StringIO()
    with Progress(enabled=True, stream=stream) as bar:
        tick = bar.phase("simulating", 1000)
        tick(200)
    assert "200/200" in stream.getvalue()


def test_disabled_progress_draws_nothing():
    stream = io.StringIO()
    with Progress(enabled=False, stream=stream) as bar:
        bar.phase("simulating", 10)(10)
    assert stream.getvalue() == ""
