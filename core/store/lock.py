"""One process owns a run: an exclusive OS lock (flock) on the run folder's `.lock` file.

The lock is taken before the run's state is read and held for the life of the run. It belongs to the
open file, so it dies with its process: a crash or a kill -9 frees it, and nothing stale is left to
clean up. The file holds the owner's pid, host and role, to name it to whoever finds the run taken.
"""

from __future__ import annotations

import errno
import fcntl
import os
import socket
from pathlib import Path

from ..rules.errors import BadInput

LOCK_NAME = ".lock"
_held: dict[str, RunLock] = {}  # the locks this process holds, by run folder: taking one again is a no-op


class RunLock:
    """The lock on one run folder, held by this process until `release`."""

    def __init__(self, path: Path, fd: int):
        self.path = path
        self.fd = fd

    def release(self) -> None:
        if self.fd >= 0:
            _held.pop(str(self.path.resolve()), None)
            os.close(self.fd)  # closing the file drops the flock
            self.fd = -1


def acquire(run_dir: Path, run_id: str, role: str = "run") -> RunLock:
    """Lock `run_dir` for this process, or raise BadInput naming the process that holds it."""
    key = str(Path(run_dir).resolve())
    if key in _held:
        return _held[key]
    fd = _open(Path(run_dir), run_id)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _holder(fd)
        os.close(fd)
        raise BadInput(
            f"run {run_id} is being {holder}; wait for it to end or stop it there "
            f"(Ctrl-C in its terminal), then try again"
        ) from None
    except (
        OSError
    ):  # a file system without locks (some NFS): go on; a live run's status still refuses a resume
        pass
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {socket.gethostname()} {role}\n".encode(), 0)
    except OSError:
        pass  # the lock holds without the note; only the message to a second process is vaguer
    lock = _held[key] = RunLock(Path(run_dir), fd)
    return lock


def _open(run_dir: Path, run_id: str) -> int:
    try:
        return os.open(run_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except OSError as e:
        if e.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            raise BadInput(
                f"run {run_id}: its folder {run_dir} is read-only ({e.strerror}), so the run cannot be "
                "written; make it writable (chmod u+w, or remount), "
                "or copy the run elsewhere and use --runs-dir"
            ) from None
        raise BadInput(f"run {run_id}: cannot lock its folder {run_dir} ({e.strerror})") from None


def _holder(fd: int) -> str:
    """'resumed by pid P on HOST' from the lock file, or a vaguer phrase if it says nothing usable."""
    try:
        pid, host, role = os.pread(fd, 300, 0).decode("utf-8", "replace").split()
        int(pid)
    except (OSError, ValueError):
        return "used by another process"
    return f"{'resumed' if role == 'resumed' else 'run'} by pid {pid} on {host}"
