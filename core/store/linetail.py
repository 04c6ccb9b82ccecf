"""The new lines of a growing JSONL file (a run's metrics or snapshots), read from where the last read ended.

Nothing is read twice; a cut-off last line is kept until its newline arrives (a line being written is waited
for, not dropped); a file replaced under the reader (a resume truncates the metrics atomically), or cut
shorter, is read again from byte 0, and the read says so. Where only the last record is wanted, a long
backlog is skipped to its last TAIL_BYTES. The file is opened through core/store/safeopen.py (a regular
file, never a link); a line longer than its kind's bound is skipped, and of a file longer than its kind's
bound, the first read starts that far from its end.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .files import parse_record
from .safeopen import Damaged, limit_of, opened

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
        self.most, self.longest = limit_of(path)  # the most bytes read of the file, the longest line kept
        self.skipping = False  # the line being read is longer than `longest`: dropped up to its newline
        self.first = True  # the first read's records are the file from its top

    def read(self, last_only: bool = False) -> tuple[list[dict[str, Any]], bool]:
        """(new records, whether they start from the file's top: the first read, or the file was replaced or
        cut). `last_only`: of the new records, the last one only (a long backlog is skipped, not read)."""
        first, self.first = self.first, False
        try:
            with opened(self.file) as found:
                if found is None:
                    return [], first
                data, reset = self._new_bytes(*found, first, last_only)
        except (Damaged, OSError):  # not a regular file: the run's listing says so (RunStore._info)
            return [], first
        if data is None:
            return [], reset
        self.offset += len(data)
        lines = self._lines(data)
        if last_only:
            return last_record(lines), reset
        return [rec for line in lines.splitlines() if (rec := parse_record(line)) is not None], reset

    def _lines(self, data: bytes) -> bytes:
        """The complete lines of the held partial line and `data` (a line past `longest` dropped whole); what
        follows the last newline is held."""
        end = data.rfind(b"\n") + 1
        if not end:  # still inside one line
            self.skipping = self.skipping or len(self.partial) + len(data) > self.longest
            self.partial = b"" if self.skipping else self.partial + data
            return b""
        lines, rest = data[:end], data[end:]
        if self.skipping:
            lines = lines[lines.find(b"\n") + 1 :]
        else:
            lines = self.partial + lines
        self.skipping = len(rest) > self.longest
        self.partial = b"" if self.skipping else rest
        return b"\n".join(line for line in lines.split(b"\n") if len(line) <= self.longest)

    def _new_bytes(
        self, fd: int, st: os.stat_result, first: bool, last_only: bool
    ) -> tuple[bytes | None, bool]:
        """(the bytes written since the last read, None if none; whether the read starts over)."""
        replaced = self.ident is not None and (
            (st.st_dev, st.st_ino) != self.ident or st.st_size < self.offset
        )
        if replaced:
            self.offset, self.partial, self.skipping = 0, b"", False
        self.ident = (st.st_dev, st.st_ino)
        skip_to = st.st_size - (TAIL_BYTES if last_only else self.most)
        if skip_to > self.offset:  # from the middle of a line: it is cut off
            self.offset, self.partial, self.skipping = skip_to, b"", True
        if st.st_size <= self.offset:
            return None, first or replaced
        return os.pread(fd, min(CHUNK, st.st_size - self.offset), self.offset), first or replaced

    def restart(self) -> None:
        """Read the file from its top again at the next read."""
        self.offset, self.partial, self.skipping = 0, b"", False


def last_record(lines: bytes) -> list[dict[str, Any]]:
    """The last well-formed record of `lines`, as a list of none or one."""
    for line in reversed(lines.splitlines()):
        rec = parse_record(line)
        if rec is not None:
            return [rec]
    return []
