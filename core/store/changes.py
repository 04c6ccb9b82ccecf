"""What wakes a watcher when a watched folder changes: Linux inotify through ctypes (no dependency), or
nothing, where polling alone must do.

`Inotify.open()` is None where the kernel has no inotify (macOS) or DLTUI_NO_INOTIFY is set: the watcher then
looks every POLL_S. Folders are watched one level deep (a runs dir with 50,000 run folders costs one watch,
not 50,000); events on dot-files (temporary files, the listing's cache) are ignored. A network filesystem
(`network_fs`) shows no other machine's writes to inotify: there, the caller keeps looking by the clock.

watchfiles (Rust's notify, which covers macOS too) was measured in its place: it took more CPU while runs
grow and woke later after a write, so this binding stays until a wake source measures no worse.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import select
import struct
from collections.abc import Iterator
from pathlib import Path

NETWORK_FS = frozenset(
    {"nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "ceph", "glusterfs", "lustre", "gpfs", "afs", "beegfs"}
)


class Inotify:
    """Linux inotify through libc, or `None` from `Inotify.open()` where there is none: wakes the watcher, and
    says which watched folders had events."""

    MASK = 0x2 | 0x8 | 0x80 | 0x100  # IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE
    EVENT = struct.Struct("iIII")  # struct inotify_event: wd, mask, cookie, len; then `len` bytes of name
    LOST = -1  # the descriptor of the queue-overflow event: events were lost

    def __init__(self, libc, fd: int):
        self.libc = libc
        self.fd = fd
        self.watched: dict[str, int] = {}  # folder -> its watch descriptor
        self.woken: set[int] = (
            set()
        )  # the descriptors with events (not on dot-files) since the owner emptied it

    @classmethod
    def open(cls) -> Inotify | None:
        if not hasattr(os, "O_NONBLOCK") or os.environ.get("DLTUI_NO_INOTIFY"):
            return None
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        except (OSError, AttributeError):
            return None
        return cls(libc, fd) if fd >= 0 else None

    def watch(self, path: Path) -> int:
        """The folder's watch descriptor, or -1 where it cannot be watched (a failed watch only means
        polling)."""
        key = str(path)
        wd = self.watched.get(key)
        if wd is None:
            wd = self.libc.inotify_add_watch(self.fd, key.encode(), self.MASK)
            self.watched[key] = wd
        return wd

    def wait(self, timeout: float) -> None:
        """Return when something changed in a watched folder, or after `timeout` seconds."""
        ready, _, _ = select.select([self.fd], [], [], max(0.0, timeout))
        if ready:
            try:
                while data := os.read(self.fd, 65536):
                    self.woken.update(self.descriptors(data))
            except (BlockingIOError, OSError):
                pass

    @classmethod
    def descriptors(cls, data: bytes) -> Iterator[int]:
        """The watch descriptor of each event in `data` but those on dot-files (temporary files, the listing's
        cache)."""
        at = 0
        while at + cls.EVENT.size <= len(data):
            wd, _, _, length = cls.EVENT.unpack_from(data, at)
            name = data[at + cls.EVENT.size : at + cls.EVENT.size + length]
            at += cls.EVENT.size + length
            if not name.startswith(b"."):
                yield wd

    def close(self) -> None:
        os.close(self.fd)


def network_fs(path: Path, mountinfo: str | None = None) -> bool:
    """True if `path` is on a network filesystem (NFS, SMB, FUSE such as sshfs, ...) by /proc/self/mountinfo,
    or if that cannot be told: there, inotify does not see what other machines write."""
    try:
        text = mountinfo if mountinfo is not None else Path("/proc/self/mountinfo").read_text()
    except OSError:
        return True
    real, best, fstype = os.path.realpath(path), "", ""
    for line in text.splitlines():
        left, _, right = line.partition(" - ")
        fields = left.split()
        if len(fields) < 5 or not right:
            continue
        mount = fields[4].replace("\\040", " ")
        if (real == mount or real.startswith(mount.rstrip("/") + "/")) and len(mount) >= len(best):
            best, fstype = mount, right.split()[0]
    return not best or fstype in NETWORK_FS or fstype.startswith("fuse")
