"""Plain-text layout shared by the command outputs: every line fits a terminal of 80 columns."""

from __future__ import annotations

import textwrap

WIDTH = 80


def fold(lines: list[str], width: int = WIDTH) -> list[str]:
    """Lines longer than `width` folded at spaces, the rest of each indented two more than its
    start; names and numbers are never split, so a single word longer than the width stays whole."""
    out: list[str] = []
    for line in lines:
        if len(line) <= width:
            out.append(line)
            continue
        lead = line[: len(line) - len(line.lstrip(" "))]
        out += textwrap.wrap(
            line,
            width,
            initial_indent="",
            subsequent_indent=lead + "  ",
            break_long_words=False,
            break_on_hyphens=False,
        ) or [line]
    return out
