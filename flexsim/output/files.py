"""Output files, written as a set: every file goes to a temporary file beside its target, and the
set is renamed into place only once all are written, so a failed or interrupted command never leaves
half a file behind.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from flexsim.errors import OutputError


def check_writable(path: str | os.PathLike) -> None:
    """Fail early (before a long simulation) if `path` can't be written."""
    target = Path(path)
    if target.is_dir():
        raise OutputError(f"{path}: is a directory, not a file")
    parent = target.parent
    if not parent.is_dir():
        raise OutputError(f"{path}: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise OutputError(f"{path}: the folder {parent} is not writable")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_all(files: list[tuple[str | os.PathLike, str | bytes]]) -> None:
    """Write every (path, text) via temporary files, renamed into place only once all are written.

    Either every file appears complete, or none is touched.
    """
    temps: list[tuple[str, Path]] = []
    try:
        for path, text in files:
            target = Path(path)
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
            temps.append((tmp, target))
            if isinstance(text, bytes):
                with os.fdopen(fd, "wb") as handle:
                    handle.write(text)
            else:
                with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
                    handle.write(text)
            os.chmod(tmp, 0o666 & ~_umask())  # as an ordinary file would be, not mkstemp's 0600
        for tmp, target in temps:
            os.replace(tmp, target)
    except OSError as exc:
        raise OutputError(f"{exc.filename or path}: can't write: {exc.strerror or exc}") from None
    finally:
        for tmp, _ in temps:
            Path(tmp).unlink(missing_ok=True)
