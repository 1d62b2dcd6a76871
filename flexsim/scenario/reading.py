"""Reading files that come from outside, safely: regular files only, of a bounded size, and YAML
composed with the safe loader under a nesting limit, so that a hostile file is one located error
rather than a hang, a traceback or a memory blow-up. See docs/explanation/what-flexsim-refuses.md.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from typing import BinaryIO

import yaml
from yaml.nodes import Node

from flexsim.errors import ScenarioError

MAX_SCENARIO_BYTES = 64 * 1024 * 1024  # a scenario is a hand-written file: far below this
MAX_NESTING = 64  # mappings and lists inside each other; a scenario needs about 6


def _kind(mode: int) -> str | None:
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "is a directory, not a file"
    if stat.S_ISFIFO(mode):
        return "is a named pipe, not a file: save what it carries to a file and read that"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device, not a file"
    if stat.S_ISSOCK(mode):
        return "is a socket, not a file"
    return "is not a regular file"


def open_input(source: str, error: Callable[[str], Exception] | None = None) -> BinaryIO:
    """Open `source` for reading, refusing (one line) anything that is not a regular file.

    `error` makes the exception from a message (default: a `ScenarioError` naming the file)."""
    fail = error or (lambda message: ScenarioError(message, file=source))
    try:
        st = os.stat(source)
    except FileNotFoundError:
        raise fail("no such file") from None
    except OSError as exc:
        raise fail(f"cannot read the file: {exc.strerror or exc}") from None
    problem = _kind(st.st_mode)
    if problem:
        raise fail(problem)
    try:
        # O_NONBLOCK: a file swapped for a FIFO after the check still can't make us wait
        fd = os.open(source, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        if _kind(os.fstat(fd).st_mode):
            os.close(fd)
            raise fail(problem or "is not a regular file")
        return os.fdopen(fd, "rb")
    except OSError as exc:
        raise fail(f"cannot read the file: {exc.strerror or exc}") from None


def read_input(source: str, limit: int = MAX_SCENARIO_BYTES, what: str = "a scenario") -> bytes:
    """The bytes of a regular file of at most `limit` bytes."""
    with open_input(source) as handle:
        try:
            raw = handle.read(limit + 1)
        except OSError as exc:
            raise ScenarioError(f"cannot read the file: {exc.strerror or exc}", file=source) from None
    if len(raw) > limit:
        raise ScenarioError(
            f"the file is larger than {limit // (1024 * 1024)} MiB: too large for {what}", file=source
        )
    return raw


def _too_deep(mark, source: str) -> ScenarioError:
    return ScenarioError(
        f"invalid YAML: lists and mappings nested more than {MAX_NESTING} deep",
        file=source,
        line=mark.line + 1 if mark is not None else None,
    )


def compose(text: str, source: str) -> Node | None:
    """The YAML document's root node (safe loader: no tags run), refusing deep nesting.

    libyaml (when PyYAML has it) checks the nesting on the events, then composes; any problem it
    finds sends the text to PyYAML's own loader, so that errors read the same either way."""
    fast = getattr(yaml, "CSafeLoader", None)
    if fast is not None:
        try:
            return _compose_fast(fast, text, source)
        except ScenarioError:
            raise
        except Exception:  # noqa: BLE001 - the pure loader says what is wrong, in its words
            pass
    loader = _DepthLimitedLoader(text, source)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


def _compose_fast(loader_class, text: str, source: str) -> Node | None:
    loader = loader_class(text)
    try:
        depth = 0
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_NESTING:
                    raise _too_deep(event.start_mark, source)
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
    finally:
        loader.dispose()
    loader = loader_class(text)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


class _DepthLimitedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing nesting beyond MAX_NESTING before it recurses too deep."""

    def __init__(self, text: str, source: str) -> None:
        super().__init__(text)
        self._depth = 0
        self._source = source

    def compose_node(self, parent, index):
        self._depth += 1
        try:
            if self._depth > MAX_NESTING:
                raise _too_deep(self.peek_event().start_mark, self._source)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1
