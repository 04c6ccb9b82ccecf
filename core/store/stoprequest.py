"""Stopping a run from another process: the stop-request file, `<run>/stop-request`.

A watcher (the lab's `s` on a run it did not start, or anyone: `touch <run>/stop-request`) creates the file;
the process that owns the run looks for it at most every LOOK_S from the trainer's stop-flag check, removes
it, and ends the run `interrupted` exactly as Ctrl-C does (its epochs and checkpoint kept). A file works for
another user with write access to the runs dir, and on NFS, where a signal to a recorded pid would not reach.
A run on Ray trains in a scratch folder on its node: its driver, which writes the run's folder, looks for the
file there and passes the request on to the run's task (core/executors/raypool.py). Creating this one file is
the only write a watcher ever makes, and only when asked to. No torch, no textual.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

NAME = "stop-request"
LOOK_S = 0.5  # a stat every half second: nothing beside a training step
REASON = f"stopped by a stop request ({NAME} file)"
_looked: dict[str, float] = {}  # run folder -> when it was last looked at, by this process


def request(run_dir: Path) -> Path:
    """Ask the run's owner to stop it (the file says who asked); returns the file's path."""
    path = Path(run_dir) / NAME
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    try:
        os.write(fd, f"{os.getpid()} {socket.gethostname()} {time.time():.0f}\n".encode())
    finally:
        os.close(fd)
    return path


def asked(run_dir: Path | None) -> bool:
    """True (once: the file is removed) when a stop was requested for this run; looks at most every LOOK_S."""
    if run_dir is None:
        return False
    key, now = str(run_dir), time.monotonic()
    if now - _looked.get(key, -LOOK_S) < LOOK_S:
        return False
    _looked[key] = now
    path = Path(run_dir) / NAME
    if not os.path.lexists(path):
        return False
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False  # another reader took it
    except OSError:
        pass  # cannot remove it (read-only folder): stop anyway
    return True
