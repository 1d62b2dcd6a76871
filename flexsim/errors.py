"""The one error type for bad input, so the CLI can print it as a single line and exit 2."""

from __future__ import annotations


def _one_line(text: str) -> str:
    return text.replace("\r", "\\r").replace("\n", "\\n")


class ScenarioError(Exception):
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


class OutputError(Exception):
    """An output file can't be written (reported in one line, exit status 2)."""


class ClusterError(Exception):
    """A Dask cluster can't be used (unreachable, or its workers lack flexsim): one line, exit 2."""
