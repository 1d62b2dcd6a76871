"""Hints for the mistakes people make most, added to the one-line error messages.

Each function takes what the reader saw and returns a short hint (with its leading '; ') or ''.
The loader and the command line call them in one line each, so the rules live here, in one place.
"""

from __future__ import annotations


def percent_hint(text: str) -> str:
    """'--max-run-out 5': a percentage written as a whole number."""
    try:
        value = float(text)
    except ValueError:
        return ""
    if 1 < value <= 100:
        return f" (did you mean {value:g}%? write {value / 100:g} or {value:g}%)"
    return ""
