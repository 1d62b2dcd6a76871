"""Every error flexsim reports to a user: one line, exit status 2.

They all derive from `FlexsimError`, which the command line translates, in one place, into
``flexsim: error: MESSAGE`` and exit status 2; the Python API raises the same types. The ones that
are about a value given to a function (a request that can't be optimised, compared or calibrated)
are also `ValueError`s.
"""

from __future__ import annotations


def _one_line(text: str) -> str:
    return text.replace("\r", "\\r").replace("\n", "\\n")


class FlexsimError(Exception):
    """Bad input or an unusable environment, reported in one line (`str()` is one line)."""


class ScenarioError(FlexsimError):
    """Bad input, located as precisely as we know: file, dotted key path and 1-based line.

    `str()` is always exactly one line, ``FILE:LINE: PATH: MESSAGE`` with the missing parts
    left out, so that users (and editors that jump to ``file:line``) can find the spot at once.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        path: str | None = None,
        line: int | None = None,
    ) -> None:
        self.message = " ".join(str(message).split())
        self.file = _one_line(str(file)) if file else None
        self.path = _one_line(path) if path else None
        self.line = line
        super().__init__(self.message)

    def __str__(self) -> str:
        parts: list[str] = []
        if self.file and self.line is not None:
            parts.append(f"{self.file}:{self.line}")
        elif self.file:
            parts.append(self.file)
        elif self.line is not None:
            parts.append(f"line {self.line}")
        if self.path:
            parts.append(self.path)
        parts.append(self.message)
        return ": ".join(parts)

    def __repr__(self) -> str:
        return f"ScenarioError({self.message!r}, file={self.file!r}, path={self.path!r}, line={self.line!r})"


class UsageFileError(ScenarioError):
    """A usage or packs file that can't be read: one line naming the file and the row or column."""

    def __init__(self, message: str, file: str, row: int | None = None) -> None:
        super().__init__(message, file=file, path=f"row {row}" if row is not None else None)
        self.row = row


class UsageError(FlexsimError):
    """Bad command-line input (options that don't go together, values out of range)."""


class OutputError(FlexsimError):
    """An output file can't be written."""


class ClusterError(FlexsimError):
    """A Dask cluster can't be used (unreachable, or its workers lack flexsim)."""


class OptimizeError(FlexsimError, ValueError):
    """A sizing or top-up request that can't be optimised (`flexsim optimize`, `advise --lot`)."""


class CompareError(FlexsimError, ValueError):
    """Scenarios that can't be compared on the same simulated people."""


class CalibrationError(FlexsimError, ValueError):
    """Options that don't fit the usage export (`flexsim calibrate`, `flexsim backtest`)."""
