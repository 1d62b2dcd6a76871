"""The output set is all or nothing: a terminating signal at any moment of the write phase leaves
the previous set whole (or the new one, once renaming began) and no temporary file; SIGKILL, which
no program can catch, leaves every file whole, old or new, and the next write sweeps what it left;
a terminating signal, SIGKILL too, ends the worker processes; a full disk leaves no empty report folder."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from flexsim.cli import main
from flexsim.output import files
from flexsim.output.files import Kind, Terminated, write_all

ROOT = Path(__file__).parent.parent
ANY = Kind("test output", lambda _path: True)
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# What write_all calls while it writes and renames: a signal can arrive before any of them.
STEPS = ("mkstemp", "fsync", "chmod", "link", "replace", "unlink")


def the_set(folder: Path, version: str) -> list[tuple[str, str, Kind]]:
    return [
        (str(folder / "a.json"), f"{version} a\n" * 1000, ANY),
        (str(folder / "b.csv"), f"{version} b\n" * 1000, ANY),
        (str(folder / "report" / "report.html"), f"{version} report\n" * 1000, ANY),
        (str(folder / "report" / "chart.png"), f"{version} chart\n".encode() * 1000, ANY),
    ]


def contents(folder: Path) -> dict[str, str]:
    out = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            out[str(path.relative_to(folder))] = path.read_bytes().decode()
    return out


def temporaries(folder: Path) -> list[Path]:
    return [p for p in folder.rglob(".*") if ".flexsim-" in p.name]


def versions(folder: Path) -> set[str]:
    """The versions ('old', 'new') the files of the set hold."""
    return {text.split(" ", 1)[0] for text in contents(folder).values()}


@pytest.fixture
def signals_restored():
    saved = {sig: signal.getsignal(sig) for sig in SIGNALS}
    files.install_signals()
    yield
    for sig, handler in saved.items():
        signal.signal(sig, handler)


def count_steps(monkeypatch, folder: Path, fresh: bool = True) -> int:
    """How many of the STEPS one write of the set makes (over an old set unless `fresh`)."""
    if not fresh:
        write_all(the_set(folder, "old"), say=False, folders=[str(folder / "report")])
    calls = []
    for name in STEPS:
        owner = files.tempfile if name == "mkstemp" else os
        real = getattr(owner, name)

        def counted(*args, _real=real, **kwargs):
            if threading.current_thread() is threading.main_thread():  # not a leftover thread's
                calls.append(1)
            return _real(*args, **kwargs)

        monkeypatch.setattr(owner, name, counted)
    write_all(the_set(folder, "new"), say=False, folders=[str(folder / "report")], force=True)
    monkeypatch.undo()
    return len(calls)


def signal_at(monkeypatch, step: int, signum: int) -> None:
    """Send `signum` to this process just before the step-th call of the write phase."""
    calls = []
    for name in STEPS:
        owner = files.tempfile if name == "mkstemp" else os
        real = getattr(owner, name)

        def interrupted(*args, _real=real, **kwargs):
            if threading.current_thread() is threading.main_thread():
                calls.append(1)
                if len(calls) == step:
                    os.kill(os.getpid(), signum)
            return _real(*args, **kwargs)

        monkeypatch.setattr(owner, name, interrupted)


@pytest.mark.parametrize("fresh", [False, True], ids=["over-an-old-set", "into-a-new-folder"])
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_at_any_step_leaves_one_whole_set_and_no_temporary_file(
    tmp_path: Path, monkeypatch, signals_restored, fresh: bool, signum: int
) -> None:
    probe = tmp_path / "probe"
    probe.mkdir()
    steps = count_steps(monkeypatch, probe, fresh)
    assert steps >= 12
    for step in range(1, steps + 1):
        folder = tmp_path / f"step{step}"
        folder.mkdir()
        if not fresh:
            write_all(the_set(folder, "old"), say=False, folders=[str(folder / "report")])
        before = contents(folder)
        signal_at(monkeypatch, step, signum)
        with pytest.raises(KeyboardInterrupt) as caught:
            write_all(the_set(folder, "new"), say=False, folders=[str(folder / "report")], force=True)
        monkeypatch.undo()
        assert signum != signal.SIGTERM or isinstance(caught.value, Terminated)
        assert not temporaries(folder), (step, temporaries(folder))
        after = contents(folder)
        if after != before:  # the signal came while renaming: held until the new set was whole
            assert versions(folder) == {"new"} and len(after) == 4, (step, after.keys())
        if fresh and after == before:
            assert not (folder / "report").exists(), step


SIGKILL_SCRIPT = textwrap.dedent(
    """
    import os, signal, sys
    sys.path.insert(0, sys.argv[3])
    from tests.test_kill import the_set, STEPS
    from flexsim.output import files
    from pathlib import Path
    step, folder, calls = int(sys.argv[1]), Path(sys.argv[2]), []
    for name in STEPS:
        owner = files.tempfile if name == "mkstemp" else os
        real = getattr(owner, name)
        def killed(*args, _real=real, **kwargs):
            calls.append(1)
            if len(calls) == step:
                os.kill(os.getpid(), signal.SIGKILL)
            return _real(*args, **kwargs)
        setattr(owner, name, killed)
    files.write_all(the_set(folder, "new"), say=False, folders=[str(folder / "report")], force=True)
    """
)


def test_sigkill_at_any_step_leaves_every_file_whole_and_the_next_write_sweeps(
    tmp_path: Path, monkeypatch
) -> None:
    probe = tmp_path / "probe"
    probe.mkdir()
    steps = count_steps(monkeypatch, probe, fresh=False)
    for step in range(1, steps + 1, 2):
        folder = tmp_path / f"step{step}"
        folder.mkdir()
        write_all(the_set(folder, "old"), say=False, folders=[str(folder / "report")])
        done = subprocess.run(
            [sys.executable, "-c", SIGKILL_SCRIPT, str(step), str(folder), str(ROOT)], capture_output=True
        )
        assert done.returncode == -signal.SIGKILL, done.stderr.decode()
        for name, text in contents(folder).items():  # old or new, never cut short
            assert text.split(" ", 1)[0] in ("old", "new") and len(set(text.splitlines())) == 1, name
            assert len(text.splitlines()) == 1000, name
        write_all(the_set(folder, "next"), say=False, folders=[str(folder / "report")], force=True)
        assert not temporaries(folder), (step, temporaries(folder))
        assert versions(folder) == {"next"}


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == pid:
                found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_a_signal_ends_the_worker_processes_and_keeps_the_outputs(tmp_path: Path, signum: int) -> None:
    scenario = tmp_path / "long.yaml"
    scenario.write_text(
        "start: 2027-01-01\nend: 2027-12-31\nlots:\n  - {date: 2027-01-01, tokens: 100000}\n"
        "users:\n  - group: a\n    count: 200\n    products: {Revit: 3}\nsimulation: {runs: 100000}\n",
        encoding="utf-8",
    )
    out = tmp_path / "r.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    base = [sys.executable, "-m", "flexsim", "run", str(scenario), "--quiet", "--json", str(out)]
    subprocess.run([*base, "--runs", "2"], check=True, env=env, capture_output=True)
    before = out.read_bytes()
    proc = subprocess.Popen([*base, "--workers", "2"], env=env, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    workers: list[int] = []
    while time.monotonic() < deadline and len(workers) < 2:
        time.sleep(0.2)
        workers = children(proc.pid)
    assert len(workers) >= 2, "the workers did not start"
    time.sleep(1.0)
    proc.send_signal(signum)
    assert proc.wait(timeout=30) == (128 + signum if signum == signal.SIGTERM else -signum)
    assert b"Traceback" not in proc.stderr.read()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(alive(pid) for pid in workers):
        time.sleep(0.1)
    assert not any(alive(pid) for pid in workers), "worker processes outlived the command"
    assert out.read_bytes() == before and not temporaries(tmp_path)


def test_a_full_disk_leaves_no_report_folder_and_no_temporary_file(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    real_fsync = os.fsync
    written = []

    def full(fd: int) -> None:
        written.append(fd)
        if len(written) == 3:  # the third file of the set finds the disk full
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", full)
    report, json_out = tmp_path / "report", tmp_path / "r.json"
    status = main(
        ["run", str(ROOT / "flexsim" / "examples" / "small-studio.yaml"), "--runs", "5", "--quiet"]
        + ["--json", str(json_out), "--report", str(report)]
    )
    err = capsys.readouterr().err
    assert status == 2 and "No space left on device" in err and len(err.strip().splitlines()) == 1
    assert not report.exists() and not json_out.exists()
    assert list(tmp_path.iterdir()) == []
