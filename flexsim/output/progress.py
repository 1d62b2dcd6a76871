"""Progress of long phases (runs done, runs per second, time left) on a terminal's standard error.

Drawn by Rich; nothing at all (and Rich is not even imported) when standard error is not a
terminal, so pipes, files and logs get no progress lines. One line per phase: a command with
several long phases (advice's second pass, each backtest fold) shows each as it starts.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

Tick = Callable[[int], None]  # called with the number of runs just finished


def _silent(_n: int) -> None:
    return None


class Progress:
    """Phases of a command, each with its total of runs.

    `enabled`: None (default) draws only when `stream` (standard error) is a terminal.
    """

    def __init__(self, enabled: bool | None = None, stream=None):
        self.stream = stream or sys.stderr
        self.enabled = _is_terminal(self.stream) if enabled is None else enabled
        self._bar: Any = None
        self._tasks: list[tuple[Any, list[int]]] = []

    def phase(self, description: str, total: int) -> Tick:
        """Start a phase of `total` runs; returns the function to call as runs finish."""
        if not self.enabled:
            return _silent
        bar = self._start()
        task = bar.add_task(description, total=max(total, 1))
        done = [0]
        self._tasks.append((task, done))

        def tick(n: int) -> None:
            done[0] += n
            bar.update(task, advance=n)

        return tick

    def _start(self):
        if self._bar is None:
            self._bar = _rich_progress(self.stream)
            self._bar.start()
        return self._bar

    def close(self) -> None:
        """Stop drawing. A phase that ended early (enough precision) is shown as ended."""
        if self._bar is None:
            return
        for task, done in self._tasks:
            self._bar.update(task, total=max(done[0], 1), completed=done[0])
        self._bar.stop()
        self._bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _is_terminal(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _rich_progress(stream):
    """A Rich progress display: phase, bar, runs done of total, runs per second, time left."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, ProgressColumn, TextColumn, TimeRemainingColumn
    from rich.progress import Progress as RichProgress
    from rich.text import Text

    class RunsPerSecond(ProgressColumn):
        def render(self, task) -> Text:
            speed = task.finished_speed or task.speed
            return Text("" if speed is None else f"{speed:,.0f} runs/s")

    return RichProgress(
        TextColumn("  {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("runs"),
        RunsPerSecond(),
        TimeRemainingColumn(),
        TextColumn("left"),
        console=Console(file=stream, force_terminal=True),
        # Lines printed while the bar is drawn go above it, when both go to the terminal.
        redirect_stdout=_is_terminal(sys.stdout),
        speed_estimate_period=10.0,
    )
