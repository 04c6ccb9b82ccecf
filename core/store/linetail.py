"""The new lines of a growing JSONL file (a run's metrics or snapshots), read from where the last read ended.

Nothing is read twice; a cut-off last line is kept until its newline arrives (a line being written is waited
for, not dropped); a file replaced under the reader (a resume truncates the metrics atomically), or cut
shorter, is read again from byte 0, and the read says so. Where only the last record is wanted, a long
backlog is skipped to its last TAIL_BYTES.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from .files import parse_record

CHUNK = 4 << 20  # the most bytes read from one file in one look (a long backlog comes in pieces)
TAIL_BYTES = (
    64 << 10
)  # where only the last line is wanted, a longer backlog is skipped to its last this many bytes


class LineTail:
    """The complete, well-formed new lines of one JSONL file, from where the last read ended."""

    def __init__(self, path: Path):
        self.path = path
        self.file = os.fspath(path)
        self.offset = 0
        self.ident: tuple[int, int] | None = None  # (device, inode) of the file read so far
        self.partial = b""  # a last line without its newline yet
        self.first = True  # the first read's records are the file from its top

    def read(self, last_only: bool = False) -> tuple[list[dict[str, Any]], bool]:
        """(new records, whether they start from the file's top: the first read, or the file was replaced or
        cut). `last_only`: of the new records, the last one only (a long backlog is skipped, not read)."""
        first, self.first = self.first, False
        try:
            fd = os.open(self.file, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            return [], first
        try:
            data, reset = self._new_bytes(fd, first, last_only)
        except OSError:
            return [], first
        finally:
            os.close(fd)
        if data is None:
            return [], reset
        self.offset += len(data)
        data = self.partial + data
        end = data.rfind(b"\n") + 1
        lines, self.partial = data[:end], data[end:]
        if last_only:
            return last_record(lines), reset
        return [rec for line in lines.splitlines() if (rec := parse_record(line)) is not None], reset

    def _new_bytes(self, fd: int, first: bool, last_only: bool) -> tuple[bytes | None, bool]:
        """(the bytes written since the last read, None if none; whether the read starts over)."""
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None, first
        replaced = self.ident is not None and (
            (st.st_dev, st.st_ino) != self.ident or st.st_size < self.offset
        )
        if replaced:
            self.offset, self.partial = 0, b""
        self.ident = (st.st_dev, st.st_ino)
        if last_only and st.st_size - self.offset > TAIL_BYTES:  # from the middle of a line: it is cut off
            self.offset, self.partial = st.st_size - TAIL_BYTES, b"\0"
        if st.st_size <= self.offset:
            return None, first or replaced
        return os.pread(fd, min(CHUNK, st.st_size - self.offset), self.offset), first or replaced

    def restart(self) -> None:
        """Read the file from its top again at the next read."""
        self.offset, self.partial = 0, b""


def last_record(lines: bytes) -> list[dict[str, Any]]:
    """The last well-formed record of `lines`, as a list of none or one."""
    for line in reversed(lines.splitlines()):
        rec = parse_record(line)
        if rec is not None:
            return [rec]
    return []
