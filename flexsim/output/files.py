"""Output files, written as a set, and never over something that matters.

Before a command does any work it checks its outputs (`check_outputs`): no output on one of its
inputs (compared by resolved path and by inode, so symlinks and hard links count), no two outputs
on one path, nothing over an existing file that is not a regular file, and nothing over a regular
file that is not an earlier flexsim output of the same kind unless `--force` was given. `-` and
`/dev/stdout` are standard output, written on purpose as a stream.

`write_all` then writes every file to a hidden temporary file beside its target and renames the
set into place only once all are written, with SIGINT and SIGTERM held back while it renames: a
failed or interrupted command leaves the previous set whole, no temporary file, and no report folder
it made itself. A terminating signal also ends the command's worker processes (`install_signals`).
See docs/explanation/what-flexsim-refuses.md.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import stat
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from flexsim.errors import OutputError

STREAMS = ("-", "/dev/stdout")
_SNIFF = 64 * 1024  # bytes read to recognise a file by its first line or signature
_JSON_SNIFF = 64 * 1024 * 1024  # a JSON file larger than this is not taken for one of ours


# --------------------------------------------------------------------------------------------
# kinds of output, and how to recognise an earlier one


@dataclass(frozen=True)
class Kind:
    """What an output is, in words for the `wrote` line, and how to tell an earlier one."""

    words: str
    recognise: Callable[[Path], bool]


def _head(path: Path, size: int = _SNIFF) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(size)


def json_kind(words: str, *keysets: Sequence[str]) -> Kind:
    """A JSON object that has at least the top-level keys of one of `keysets`."""

    def recognise(path: Path) -> bool:
        if path.stat().st_size > _JSON_SNIFF or not _head(path, 16).lstrip().startswith(b"{"):
            return False
        try:
            data = json.loads(path.read_bytes())
        except (ValueError, RecursionError):
            return False
        return isinstance(data, dict) and any(set(keys) <= set(data) for keys in keysets)

    return Kind(words, recognise)


def csv_kind(words: str, *headers: Sequence[str]) -> Kind:
    """A CSV file whose header row starts with one of these column lists."""
    starts = [",".join(h).encode() for h in headers]

    def recognise(path: Path) -> bool:
        first = _head(path).removeprefix(b"\xef\xbb\xbf").split(b"\n", 1)[0].rstrip(b"\r")
        return any(first == s or first.startswith(s + b",") for s in starts)

    return Kind(words, recognise)


def text_kind(words: str, first_line: str) -> Kind:
    """A text file whose first line starts with `first_line` (the calibrated scenario's header)."""

    def recognise(path: Path) -> bool:
        return _head(path).startswith(first_line.encode())

    return Kind(words, recognise)


def _png(path: Path) -> bool:
    head = _head(path, 4096)
    return head.startswith(b"\x89PNG\r\n\x1a\n") and b"Matplotlib" in head


def _report(path: Path) -> bool:
    head = _head(path, 1 << 20)
    return head.startswith(b"<!DOCTYPE html>") and b"Flex token forecast" in head


def xlsx_kind(words: str, sheet: str) -> Kind:
    """An .xlsx workbook with a sheet of this name (as synth-export writes it)."""

    def recognise(path: Path) -> bool:
        try:
            with zipfile.ZipFile(path) as book:
                info = book.getinfo("xl/workbook.xml")
                if info.file_size > 1 << 20:
                    return False
                return f'name="{sheet}"'.encode() in book.read(info)
        except (zipfile.BadZipFile, KeyError, OSError):
            return False

    return Kind(words, recognise)


CHART = Kind("chart", _png)
REPORT = Kind("report", _report)


# --------------------------------------------------------------------------------------------
# checks before any work


def is_stream(path: str) -> bool:
    return path in STREAMS


def _key(path: str) -> tuple:
    """What makes two paths the same file: the inode when it exists, else the resolved path."""
    try:
        st = os.stat(path)
        return ("inode", st.st_dev, st.st_ino)
    except OSError:
        return ("path", os.path.realpath(path))


def _what(mode: int) -> str:
    for test, words in (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a named pipe"),
        (stat.S_ISCHR, "a device"),
        (stat.S_ISBLK, "a device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return words
    return "not a regular file"


def _check_one(path: str, kind: Kind, force: bool, to_make: set[str]) -> None:
    real = Path(os.path.realpath(path))
    try:
        st = os.stat(real)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise OutputError(f"{path}: can't write there: {exc.strerror or exc}") from None
    if st is not None:
        if not stat.S_ISREG(st.st_mode):
            to = " (write - for standard output)" if not stat.S_ISDIR(st.st_mode) else ""
            raise OutputError(
                f"{path}: exists and is {_what(st.st_mode)}: flexsim writes only regular files{to}"
            )
        if not force:
            try:
                ours = kind.recognise(real)
            except OSError:
                ours = False
            if not ours:
                raise OutputError(
                    f"{path}: exists and is not a flexsim {kind.words} file: choose another name, "
                    "or add --force to replace it"
                )
    parent = real.parent
    if str(parent) in to_make:
        return  # a folder the command makes (checked in _check_folder)
    if not parent.is_dir():
        raise OutputError(f"{path}: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise OutputError(f"{path}: the folder {parent} is not writable")


def _check_folder(folder: str) -> None:
    target = Path(folder)
    if target.exists() and not target.is_dir():
        raise OutputError(f"{folder}: exists and is not a folder")
    where = target if target.is_dir() else target.parent
    if not where.is_dir():
        raise OutputError(f"{folder}: the folder {where} does not exist")
    if not os.access(where, os.W_OK):
        raise OutputError(f"{folder}: the folder {where} is not writable")


def check_outputs(
    outputs: Sequence[tuple[str | None, Kind]],
    inputs: Sequence[str | None] = (),
    *,
    force: bool = False,
    folders: Sequence[str | None] = (),
) -> None:
    """Refuse, in one line, any output that would destroy something (see the module docstring).

    `outputs` are (path, kind), a None path meaning the option was not given; `folders` are
    folders the command writes into (a report), made if missing.
    """
    to_make = set()
    for folder in folders:
        if folder:
            _check_folder(folder)
            to_make.add(os.path.realpath(folder))
    given = {}
    for path in inputs:
        if path and not is_stream(path):
            given[_key(path)] = path
    seen: dict[tuple, str] = {}
    for path, kind in outputs:
        if not path:
            continue
        key = ("stream",) if is_stream(path) else _key(path)
        if key in seen:
            raise OutputError(f"{path}: two outputs on one path ({seen[key]} and {path}): give each its own")
        seen[key] = path
        if key in given:
            also = f" ({given[key]})" if given[key] != path else ""
            raise OutputError(f"{path}: is an input of this command{also}: write the output elsewhere")
        if key == ("stream",):
            continue
        realkey = ("path", os.path.realpath(path))
        if realkey in seen and seen[realkey] != path:
            raise OutputError(
                f"{path}: two outputs on one path ({seen[realkey]} and {path}): give each its own"
            )
        seen[realkey] = path
        _check_one(path, kind, force, to_make)


# --------------------------------------------------------------------------------------------
# signals: a terminating signal is an exception in the main process, and ends the workers

_MAIN_PID = os.getpid()


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised where the command is so that `finally` blocks clean up."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


_holding = False  # inside _signals_held: a signal is noted, and acted on at its end
_deferred: list[int] = []


def _on_signal(signum: int, _frame) -> None:
    if os.getpid() != _MAIN_PID:  # a worker process: end quietly, the main process reports
        os._exit(128 + signum)
    if _holding:  # delivered through another thread, which the mask does not cover
        _deferred.append(signum)
        return
    _end(signum)


def _end(signum: int) -> None:
    import multiprocessing

    for child in multiprocessing.active_children():
        with contextlib.suppress(Exception):
            child.terminate()
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise Terminated(signum)


def install_signals() -> None:
    """SIGINT, SIGTERM and SIGHUP end the command cleanly, with its worker processes."""
    global _MAIN_PID
    _MAIN_PID = os.getpid()
    for sig in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if sig is not None:
            with contextlib.suppress(ValueError, OSError):  # not the main thread
                signal.signal(sig, _on_signal)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold SIGINT/SIGTERM/SIGHUP back until the block ends, so a set of renames completes.

    The mask holds them in this thread; a signal another thread receives runs the handler here
    all the same, so the handler only notes it while the block runs."""
    global _holding
    held = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
    try:
        old = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    except (AttributeError, OSError, ValueError):
        old = None
    _holding = True
    try:
        yield
    finally:
        _holding = False
        noted = _deferred[:1]
        _deferred.clear()
        if old is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)  # a held signal is handled here
        if noted:
            _end(noted[0])


# --------------------------------------------------------------------------------------------
# writing the set


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_TEMP = re.compile(r"^\.(?P<name>.+)\.flexsim-(?P<pid>\d+)-[^.]*\.(?:tmp|bak)$")


def _sweep_stale(folder: Path, name: str) -> None:
    """Remove temporary files an earlier, killed flexsim left beside `name` (its process is gone)."""
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            m = _TEMP.match(entry.name)
            if m is None or m["name"] != name:
                continue
            pid = int(m["pid"])
            try:
                os.kill(pid, 0)
                continue  # still running
            except ProcessLookupError:
                pass
            except OSError:
                continue
            with contextlib.suppress(OSError):
                os.unlink(entry.path)


def _write_temp(target: Path, content: str | bytes | Iterable[str]) -> str:
    fd, tmp = tempfile.mkstemp(
        prefix=f".{target.name}.flexsim-{os.getpid()}-", suffix=".tmp", dir=target.parent
    )
    try:
        if isinstance(content, bytes):
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
        else:
            with os.fdopen(fd, "w", encoding="utf-8", newline="", errors="backslashreplace") as handle:
                for piece in (content,) if isinstance(content, str) else content:  # text, or a stream
                    handle.write(piece)
                handle.flush()
                os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # as an ordinary file would be, not mkstemp's 0600
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return tmp


def _commit(pairs: list[tuple[str, Path]]) -> None:
    """Rename every temporary file onto its target; on a failure put the old files back."""
    backups: list[str | None] = []  # a hard link to each old file, None: no old file (or no links)
    existed = [target.exists() for _tmp, target in pairs]
    replaced = 0
    try:
        for (_tmp, target), old in zip(pairs, existed, strict=True):
            backup = None
            if old:
                backup = f"{target.parent}/.{target.name}.flexsim-{os.getpid()}-old.bak"
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(backup)
                try:
                    os.link(target, backup)
                except OSError:
                    backup = None  # no hard links here: the old file can't be kept aside
            backups.append(backup)
        for tmp, target in pairs:
            os.replace(tmp, target)
            replaced += 1
    except BaseException:
        for i in reversed(range(replaced)):
            target, kept = pairs[i][1], backups[i]
            with contextlib.suppress(OSError):
                if kept is not None:
                    os.replace(kept, target)
                elif not existed[i]:
                    os.unlink(target)
        raise
    finally:
        for backup in backups:
            if backup is not None:
                with contextlib.suppress(OSError):
                    os.unlink(backup)


def write_all(
    files: Sequence[tuple[str, str | bytes | Iterable[str], Kind]],
    inputs: Sequence[str | None] = (),
    *,
    force: bool = False,
    folders: Sequence[str | None] = (),
    say: bool = True,
) -> bool:
    """Write every (path, content, kind) as one set: all of them complete, or none touched.

    Says on standard error which files it wrote. Returns whether standard output was written to
    (then the command prints no summary there).
    """
    check_outputs([(p, k) for p, _c, k in files], inputs, force=force, folders=folders)
    made: list[Path] = []
    temps: list[tuple[str, Path]] = []
    streams = [(c, k) for p, c, k in files if is_stream(p)]
    committed = False
    current = ""
    try:
        for folder in folders:
            if folder and not Path(folder).is_dir():
                current = folder
                Path(folder).mkdir()
                made.append(Path(folder))
        for path, content, _kind in files:
            if is_stream(path):
                continue
            current = path
            target = Path(os.path.realpath(path))
            _sweep_stale(target.parent, target.name)
            temps.append((_write_temp(target, content), target))
        with _signals_held():
            _commit(temps)
            committed = True
    except OSError as exc:
        where = (
            exc.filename
            if isinstance(exc.filename, str) and not Path(exc.filename).name.startswith(".")
            else current
        )
        raise OutputError(f"{where}: can't write: {exc.strerror or exc}") from None
    finally:
        if not committed:
            for tmp, _target in temps:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
            for made_folder in reversed(made):
                shutil.rmtree(made_folder, ignore_errors=True)
    for content, _kind in streams:
        _to_stdout(content)
    if say:
        for path, _content, kind in files:
            if not is_stream(path):
                print(f"flexsim: wrote {kind.words}: {path}", file=sys.stderr)
    return bool(streams)


def _to_stdout(content: str | bytes | Iterable[str]) -> None:
    try:
        if isinstance(content, bytes):
            sys.stdout.flush()
            sys.stdout.buffer.write(content)
            sys.stdout.buffer.flush()
        else:
            for piece in (content,) if isinstance(content, str) else content:
                sys.stdout.write(piece)
            sys.stdout.flush()
    except BrokenPipeError:
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
