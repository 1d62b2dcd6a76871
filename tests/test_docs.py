"""The docs show what the program prints, word for word.

Every fenced ```console block in docs/ holds commands (lines starting with `$ flexsim`) each
followed by the output it prints. This runs each command from the repository root, with stdout
piped (so the plain text, not the terminal tables), and compares. Only the run time in seconds,
which no two machines share, is left out of the comparison.

A page that shows only part of a long output (a few rows of a CSV, one figure of a summary) puts
the part in a ```text or ```json block right after the comment `<!-- excerpt of: flexsim ... -->`;
each of its lines must then be a line of what that command writes (its notes on standard error,
then standard output), in the same order; a line `...` stands for lines left out. A block right
after `<!-- file: PATH -->` shows that shipped file (under docs/examples/ or scenarios/) whole
and as it is; after `<!-- start of: PATH -->`, its first lines.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SECONDS = re.compile(r"\(\d+(\.\d+)? s\)")
EXCERPT = re.compile(r"^<!-- excerpt of: (flexsim .+?) -->$")
FILE = re.compile(r"^<!-- file: ((?:docs/examples|scenarios)/\S+) -->$")
START = re.compile(r"^<!-- start of: ((?:docs/examples|scenarios)/\S+) -->$")


def docs() -> list[tuple[str, list[str]]]:
    return [
        (doc.relative_to(ROOT).as_posix(), doc.read_text(encoding="utf-8").splitlines())
        for doc in sorted((ROOT / "docs").rglob("*.md"))
    ]


def console_blocks() -> list[tuple[str, int, str, str]]:
    """(doc, line, command, expected output) for every command in a ```console block."""
    out = []
    for doc, lines in docs():
        i = 0
        while i < len(lines):
            if lines[i].strip() != "```console":
                i += 1
                continue
            i += 1
            command, start, expected = None, 0, []
            while i < len(lines) and lines[i].strip() != "```":
                if lines[i].startswith("$ flexsim "):
                    if command:
                        out.append((doc, start, command, "\n".join(expected)))
                    command, start, expected = lines[i][2:], i + 1, []
                else:
                    expected.append(lines[i])
                i += 1
            if command:
                out.append((doc, start, command, "\n".join(expected)))
    return out


def marked_blocks(marker: re.Pattern) -> list[tuple[str, int, str, str]]:
    """(doc, line, what the comment names, block) for every fenced block right after a comment."""
    out = []
    for doc, lines in docs():
        for i, line in enumerate(lines):
            found = marker.match(line.strip())
            if not found:
                continue
            fence = i + 1
            while fence < len(lines) and not lines[fence].strip():
                fence += 1
            assert fence < len(lines) and lines[fence].startswith("```"), f"{doc}:{i + 1}: no block follows"
            end = fence + 1
            while end < len(lines) and lines[end].strip() != "```":
                end += 1
            out.append((doc, fence + 1, found.group(1), "\n".join(lines[fence + 1 : end])))
    return out


def normal(text: str) -> str:
    return "\n".join(SECONDS.sub("(N s)", line).rstrip() for line in text.strip("\n").splitlines())


def _run(command: str) -> subprocess.CompletedProcess:
    """Run `command` from the repository root, as the docs' reader would (80 columns)."""
    words = shlex.split(command)
    assert words[0] == "flexsim"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "80"}
    return subprocess.run(
        [sys.executable, "-m", "flexsim", *words[1:]], cwd=ROOT, capture_output=True, text=True, env=env
    )


# The docs' commands are independent of each other (each writes, if anything, its own file), so
# they run side by side, one per core, and each command only once however many blocks show it.
POOL = ThreadPoolExecutor(max_workers=os.cpu_count() or 1)
RUNS: dict[str, Future] = {}


def start(command: str) -> Future:
    if command not in RUNS:
        RUNS[command] = POOL.submit(_run, command)
    return RUNS[command]


def run(command: str) -> subprocess.CompletedProcess:
    return start(command).result()


@pytest.fixture(scope="module", autouse=True)
def _start_the_selected_commands(request):
    """Start the commands of every selected test at once, so that they share the cores."""
    for item in request.session.items:
        params = getattr(item, "callspec", None) and item.callspec.params
        if getattr(item, "module", None) is request.module and params and "command" in params:
            start(params["command"])


def prints(command: str) -> str:
    """What `command` prints: stdout, and stderr too when it fails."""
    done = run(command)
    return done.stdout if done.returncode == 0 else done.stdout + done.stderr


def shows(command: str) -> str:
    """Everything `command` writes: its notes and messages on stderr, then its stdout."""
    done = run(command)
    return done.stderr + done.stdout


BLOCKS = console_blocks()
EXCERPTS = marked_blocks(EXCERPT)
FILES = marked_blocks(FILE)
STARTS = marked_blocks(START)


def test_the_docs_have_commands_to_check():
    assert len(BLOCKS) >= 3
    assert len(EXCERPTS) >= 1


@pytest.mark.parametrize(
    ("doc", "line", "command", "expected"), BLOCKS, ids=[f"{b[0]}:{b[1]}" for b in BLOCKS]
)
def test_documented_command_prints_what_the_docs_show(doc, line, command, expected):
    got = prints(command)
    assert normal(got) == normal(expected), f"{doc}:{line}: `{command}` prints something else:\n{got}"


@pytest.mark.parametrize(
    ("doc", "line", "command", "excerpt"), EXCERPTS, ids=[f"{b[0]}:{b[1]}" for b in EXCERPTS]
)
def test_documented_excerpt_is_part_of_what_the_command_prints(doc, line, command, excerpt):
    got = normal(shows(command)).splitlines()
    at = 0
    for shown in normal(excerpt).splitlines():
        if not shown or shown.strip() == "...":
            continue
        assert shown in got[at:], f"{doc}:{line}: `{command}` does not print, here or later:\n{shown}"
        at = got.index(shown, at) + 1


@pytest.mark.parametrize(("doc", "line", "path", "shown"), FILES, ids=[f"{b[0]}:{b[1]}" for b in FILES])
def test_documented_file_is_the_shipped_one(doc, line, path, shown):
    shipped = (ROOT / path).read_text(encoding="utf-8")
    assert shown.strip("\n") == shipped.strip("\n"), f"{doc}:{line}: the block is not {path} as shipped"


@pytest.mark.parametrize(("doc", "line", "path", "shown"), STARTS, ids=[f"{b[0]}:{b[1]}" for b in STARTS])
def test_documented_file_start_is_that_of_the_shipped_one(doc, line, path, shown):
    lines = shown.strip("\n").splitlines()
    shipped = (ROOT / path).read_text(encoding="utf-8").splitlines()
    assert lines == shipped[: len(lines)], f"{doc}:{line}: the block is not the start of {path}"


def test_the_shipped_calibrated_scenario_is_what_calibrate_writes():
    calibrate = "flexsim calibrate scenarios/firm-history-usage.csv --packs scenarios/firm-history-packs.csv"
    shipped = (ROOT / "docs" / "examples" / "northwind.yaml").read_text(encoding="utf-8")
    assert prints(f"{calibrate} -o -") == shipped
