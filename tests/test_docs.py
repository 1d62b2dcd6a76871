"""The docs show what the program prints, word for word.

Every fenced ```console block in docs/ holds commands (lines starting with `$ flexsim`) each
followed by the output it prints. This runs each command from the repository root, with stdout
piped (so the plain text, not the terminal tables), and compares. Only the run time in seconds,
which no two machines share, is left out of the comparison.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SECONDS = re.compile(r"\(\d+(\.\d+)? s\)")


def console_blocks() -> list[tuple[str, int, str, str]]:
    """(doc, line, command, expected output) for every command in a ```console block."""
    out = []
    for doc in sorted((ROOT / "docs").rglob("*.md")):
        lines = doc.read_text(encoding="utf-8").splitlines()
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
                        out.append((doc.relative_to(ROOT).as_posix(), start, command, "\n".join(expected)))
                    command, start, expected = lines[i][2:], i + 1, []
                else:
                    expected.append(lines[i])
                i += 1
            if command:
                out.append((doc.relative_to(ROOT).as_posix(), start, command, "\n".join(expected)))
    return out


def normal(text: str) -> str:
    return "\n".join(SECONDS.sub("(N s)", line).rstrip() for line in text.strip("\n").splitlines())


BLOCKS = console_blocks()


def test_the_docs_have_commands_to_check():
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize(
    ("doc", "line", "command", "expected"), BLOCKS, ids=[f"{b[0]}:{b[1]}" for b in BLOCKS]
)
def test_documented_command_prints_what_the_docs_show(doc, line, command, expected, tmp_path):
    words = shlex.split(command)
    assert words[0] == "flexsim"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "80"}
    done = subprocess.run(
        [sys.executable, "-m", "flexsim", *words[1:]], cwd=ROOT, capture_output=True, text=True, env=env
    )
    got = done.stdout if done.returncode == 0 else done.stdout + done.stderr
    assert normal(got) == normal(expected), f"{doc}:{line}: `{command}` prints something else:\n{got}"
