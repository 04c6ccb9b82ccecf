"""Stopping a run from another process: the stop-request file, `<run>/stop-request`.

A watcher (the lab's `s` on a run it did not start, or anyone: `touch <run>/stop-request`) creates the file;
the process that owns the run looks for it at most every LOOK_S from the trainer's stop-flag check, removes
it, and ends the run `interrupted` exactly as Ctrl-C does (its epochs and checkpoint kept). A file works for
another user with write access to the runs dir, and on NFS, where a signal to a recorded pid would not reach.
A run on Ray trains in a scratch folder on its node: its driver, which writes the run's folder, looks for the
file there and passes the request on to the run's task (core/executors/raypool.py). Creating this one file is
the only write a watcher ever makes, and only when asked to. No torch, no textual.

A request cannot wedge a run: only a regular file counts, and only one written (its mtime) since the run, or
its resume, began (the mtime of the run's `.lock`, which its owner writes on taking it). A stale request is
removed unheeded; anything else at the name is reported in one line and ignored.
"""

from __future__ import annotations

import os
import socket
import stat
import sys
import time
from pathlib import Path

from ..rules.errors import BadInput
from .lock import LOCK_NAME

NAME = "stop-request"
LOOK_S = 0.5  # a stat every half second: nothing beside a training step
REASON = f"stopped by a stop request ({NAME} file)"
_looked: dict[str, float] = {}  # run folder -> when it was last looked at, by this process
_reported: set[str] = set()  # run folders whose unusable request this process has reported


def request(run_dir: Path) -> Path:
    """Ask the run's owner to stop it (the file says who asked); returns the file's path."""
    path = Path(run_dir) / NAME
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        pass
    else:
        if not stat.S_ISREG(st.st_mode):  # a write would fail (a folder, a link) or block (a FIFO)
            raise BadInput(f"{path} is not a file ({_kind(st.st_mode)}): remove it, then ask again")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, 0o644)
    try:
        os.write(fd, f"{os.getpid()} {socket.gethostname()} {time.time():.0f}\n".encode())
    finally:
        os.close(fd)
    return path


def asked(run_dir: Path | None) -> bool:
    """True (once: the file is removed) when a stop was requested for this run; looks at most every LOOK_S.

    Only a regular file written since this run (or this resume) began counts: one from before (left by a
    watcher of an earlier run) is removed unheeded, and anything else at the name (a folder, a link, a FIFO)
    is reported once on stderr and ignored, so that no leftover can stop every resume at once."""
    if run_dir is None:
        return False
    key, now = str(run_dir), time.monotonic()
    if now - _looked.get(key, -LOOK_S) < LOOK_S:
        return False
    _looked[key] = now
    path = Path(run_dir) / NAME
    try:
        st = os.lstat(path)
    except OSError:  # none (the usual case), or the folder cannot be read: no request
        return False
    if not stat.S_ISREG(st.st_mode):
        _report_once(key, f"{path} is not a file ({_kind(st.st_mode)}), so it stops nothing; remove it")
        return False
    if st.st_mtime_ns < began_ns(Path(run_dir)):
        _take(path)  # stale: from before this run began; it asked another run to stop
        return False
    return _take(path) is not False


def began_ns(run_dir: Path) -> int:
    """When the run (or its resume) in `run_dir` began: when its owner took the run's lock
    (core/store/lock.py writes the owner into `.lock` then); 0 if that cannot be told."""
    try:
        return os.stat(run_dir / LOCK_NAME).st_mtime_ns
    except OSError:
        return 0


def _take(path: Path) -> bool | None:
    """Remove the request: True if this process removed it, False if another reader took it first, None if
    it cannot be removed (a read-only folder: it is still honoured, once, by this process)."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    except OSError:
        return None
    return True


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISLNK, "a link"), (stat.S_ISFIFO, "a FIFO")):
        if test(mode):
            return name
    return "not a regular file"


def _report_once(key: str, line: str) -> None:
    """One line on stderr (the run's terminal, or a lab's training log), once per run folder per process."""
    if key in _reported:
        return
    _reported.add(key)
    try:
        sys.stderr.write(f"warning: {line}\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
