"""Hints for the mistakes people make most, added to the one-line error messages.

Each function takes what the reader saw and returns a short hint (with its leading '; ') or ''.
The loader and the command line call them in one line each, so the rules live here, in one place.
"""

from __future__ import annotations

import difflib


def percent_hint(text: str) -> str:
    """'--max-run-out 5': a percentage written as a whole number."""
    try:
        value = float(text)
    except ValueError:
        return ""
    if 1 < value <= 100:
        return f" (did you mean {value:g}%? write {value / 100:g} or {value:g}%)"
    return ""


def encoding_hint(raw: bytes) -> str:
    """A file that is not UTF-8: UTF-16 (Notepad's 'Unicode') is the usual culprit."""
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff") or (len(raw) > 8 and raw[1:8:2] == b"\0\0\0\0"):
        return "; it looks like UTF-16: save it as UTF-8 (in Notepad: Save as, Encoding UTF-8)"
    return "; save it as UTF-8"


def yaml_hint(text: str, line: int | None) -> str:
    """A YAML syntax error: tabs used for indenting."""
    lines = text.splitlines()
    here = lines[line - 1] if line and 0 < line <= len(lines) else ""
    if "\t" in here[: len(here) - len(here.lstrip())] or (not here and "\t" in text):
        return "; indent with spaces, not tabs"
    if "\t" in here:
        return "; the line holds a tab: use spaces"
    return ""


def key_hint(key: str) -> str:
    """An unknown key made of digits: '20,000' inside {...} split at the comma."""
    if key.isdigit() and len(key) == 3:
        return f"; inside {{...}} a comma separates entries: write 20000, not 20,{key}"
    return ""


def seasonality_hint(text: str) -> str | None:
    """A month written as a percentage ('50%', or 50) where seasonality takes multipliers."""
    value = text.strip()
    if value.endswith("%"):
        try:
            share = float(value[:-1]) / 100
        except ValueError:
            return None
        return f"seasonality takes multipliers, not percentages: write {share:g} for {value}"
    try:
        number = float(value)
    except ValueError:
        return None
    if number > 10:
        return (
            f"{value} would be {value} times the usual usage: seasonality takes multipliers "
            f"(0.5 = half, 1.2 = a fifth more); for {value}% write {number / 100:g}"
        )
    return None


def name_hint(name: str, known: list[str], option: str) -> str:
    """A name given on the command line that is not known: another case, or a name cut at a space."""
    for k in known:
        if k.casefold() == name.casefold():
            return f" (did you mean {k!r}? names are case-sensitive)"
    cut = [k for k in known if k.startswith(name + " ")]
    if cut:
        return f" (a name with a space must be quoted: {option} {cut[0]!r})"
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def split_argument_hint(argv: list[str], extra: list[str]) -> str:
    """'--lot FY27 bundle' unquoted: the shell split the name, argparse sees a stray 'bundle'."""
    if not extra or extra[0] not in argv:
        return ""
    i = argv.index(extra[0])
    if i >= 2 and argv[i - 2].startswith("--") and not argv[i - 1].startswith("-"):
        return f" (a value with a space must be quoted: {argv[i - 2]} '{argv[i - 1]} {extra[0]}')"
    return ""
