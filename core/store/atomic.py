"""One way to replace a file so that a reader never sees it half-written: write a temp file with a
unique name beside it, fsync it, and rename it over the old one.

The temp name holds the pid, the thread and a random token, so two processes (or threads) writing the
same file never share a temp file; a failed write (a full disk, say) removes its temp file and leaves
the old file whole.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import threading
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def temp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.{secrets.token_hex(4)}.tmp")


def write_with(path: Path, write: Callable[[BinaryIO], object]) -> Path:
    """Call `write(f)` on a temp file beside `path`, fsync it and rename it over `path`."""
    path = Path(path)
    tmp = temp_name(path)
    try:
        with open(tmp, "xb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return path


def write_atomic(path: Path, data: str | bytes | memoryview) -> Path:
    """Replace the file at `path` with `data` (text is written as UTF-8)."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return write_with(path, lambda f: f.write(raw))


def overwrite(path: Path, data: str) -> None:
    """Write `data` over the file at `path` in place, for when the disk has no room for a new file: the
    old file's blocks are reused. Not atomic; only for a last small write (a run's final status)."""
    with open(path, "r+b" if Path(path).exists() else "wb") as f:
        f.write(data.encode("utf-8"))
        f.truncate()
        f.flush()
        os.fsync(f.fileno())
