"""The one way a run file is opened: a regular file only, never through a link, read within a bound for its
kind, its JSON decoded within a depth bound.

Whatever sits at a run file's path is untrusted: a FIFO (a plain open() would wait for a writer forever), a
device such as /dev/zero (a plain read() never ends), a link out of the runs dir, a file grown to gigabytes,
JSON nested a hundred thousand deep. Every reader of the store goes through here:

- `opened(path)`: the open descriptor and its stat, or None when there is no file. It opens with O_NONBLOCK
  (a FIFO opens at once) and O_NOFOLLOW (a link, in or out of the runs dir, is refused), and refuses
  whatever fstat says is not a regular file.
- `read_whole(path, limit)`: a small file's bytes (status, summary, config, the listing's cache); past its
  kind's bound (`LIMITS`) it is refused, never read.
- `read_tail(path, nbytes)`: the last `nbytes` of a file (the listing's last metrics line).
- `read_lines(path)`: the complete lines of a JSONL file, streamed in CHUNK pieces: a line longer than its
  kind's bound is skipped, and of a file longer than its kind's bound only the end is read (a view parses
  at most MAX_LINES of them: core/store/files.py's read_records).
- `decode(raw, name, decoder)`: JSON decoded by a msgspec decoder, refused if nested deeper than MAX_DEPTH
  (`shallow(raw)` is the check alone).
- `kind_problem(path)`: what is wrong with what sits there (a link, not a regular file, past its bound), by
  lstat alone, for a run's listing.

A new kind of run file gets its row in LIMITS (a name not there is bounded as any JSON or JSONL file) and is
read with these; its fields are then type-checked by a msgspec decoder, as core/store/files.py does.

What is refused raises `Damaged`, whose message names the file and what is wrong in one phrase: the run is
then listed as `damaged (...)`, and the other runs are untouched. No torch, no textual.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec

MB = 1 << 20
CHUNK = 1 * MB  # a JSONL file is read this much at a time
MAX_DEPTH = 64  # the deepest JSON nesting read: the lab writes at most 3 or 4 levels
# The most lines of a JSONL file parsed for a view (10 times the longest run benchmarked): 256 MB of 12-byte
# lines would be 22 million records, gigabytes of dicts.
MAX_LINES = 1_000_000
# file name -> (the most bytes read of it, the longest line kept of it: JSONL only)
LIMITS: dict[str, tuple[int, int]] = {
    "status.json": (1 * MB, 0),
    "summary.json": (4 * MB, 0),
    "config.json": (4 * MB, 0),
    ".index.json": (256 * MB, 0),  # about a row of 250 bytes per run: a million runs
    "metrics.jsonl": (256 * MB, 1 * MB),  # a line per epoch of a few hundred bytes
    "snapshots.jsonl": (256 * MB, 16 * MB),  # a function, a regions grid, a confusion matrix: tens of KB
}
JSON_LIMIT = 4 * MB  # a JSON file not named in LIMITS
JSONL_LIMIT = LIMITS["metrics.jsonl"]  # a JSONL file not named in LIMITS
_TOKENS = re.compile(rb'"(?:[^"\\]++|\\.)*+"?|[][{}]')  # a JSON string (skipped whole) or a bracket
PLAIN = msgspec.json.Decoder()


class Damaged(ValueError):
    """A run file that cannot be trusted; the message says what is wrong, in a phrase."""


def limit_of(path: Path | str) -> tuple[int, int]:
    """(the most bytes read of this file, the longest line kept) by its name."""
    name = os.path.basename(path)
    return LIMITS.get(name) or (JSONL_LIMIT if name.endswith(".jsonl") else (JSON_LIMIT, 0))


@contextlib.contextmanager
def opened(path: Path | str) -> Iterator[tuple[int, os.stat_result] | None]:
    """(descriptor, stat) of the regular file at `path`, or None when there is none; Damaged when something
    else is there (a link, a FIFO, a device, a folder) or it cannot be opened."""
    name = os.path.basename(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        yield None
        return
    except OSError as e:
        if e.errno == errno.ELOOP or os.path.islink(path):
            raise Damaged(f"{name} is a link, which the lab never follows") from None
        raise Damaged(f"{name} cannot be read ({e.strerror})") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise Damaged(f"{name} is not a regular file")
        yield fd, st
    finally:
        os.close(fd)


def kind_problem(path: Path | str) -> str:
    """What is wrong with what sits at `path` (a link, a FIFO, a device, a folder, a file past its kind's
    bound), by lstat alone, without opening it; '' when it is a regular file within bounds, or absent."""
    name = os.path.basename(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return ""
    except OSError as e:
        return f"{name} cannot be read ({e.strerror})"
    if stat.S_ISLNK(st.st_mode):
        return f"{name} is a link, which the lab never follows"
    if not stat.S_ISREG(st.st_mode):
        return f"{name} is not a regular file"
    most = limit_of(path)[0]
    return (
        f"{name} is {_size(st.st_size)}, more than the {_size(most)} a run writes"
        if st.st_size > most
        else ""
    )


def _size(n: int) -> str:
    return f"{n / MB:.0f} MB" if n >= MB else f"{n} bytes"


def _pread(fd: int, size: int, offset: int, name: str) -> bytes:
    try:
        return os.pread(fd, size, offset)
    except OSError as e:
        raise Damaged(f"{name} cannot be read ({e.strerror})") from None


def read_whole(path: Path | str, limit: int | None = None) -> bytes | None:
    """The bytes of a regular file, None if it is absent; Damaged if it is anything else or bigger than
    `limit` (its kind's bound when None)."""
    limit = limit_of(path)[0] if limit is None else limit
    name = os.path.basename(path)
    with opened(path) as found:
        if found is None:
            return None
        fd, st = found
        if st.st_size > limit:
            raise Damaged(f"{name} is {_size(st.st_size)}, more than the {_size(limit)} a run writes")
        parts, at = [], 0
        while at <= limit:  # to the end as it is now (a file grown since the fstat is read to `limit`)
            part = _pread(fd, min(CHUNK * 16, limit + 1 - at), at, name)
            if not part:
                break
            parts.append(part)
            at += len(part)
        if at > limit:
            raise Damaged(f"{name} is more than the {_size(limit)} a run writes")
        return b"".join(parts)


def read_tail(path: Path | str, nbytes: int) -> bytes | None:
    """The last `nbytes` (or fewer) of a regular file, None if it is absent; Damaged if it is not one."""
    with opened(path) as found:
        if found is None:
            return None
        fd, st = found
        start = max(0, st.st_size - nbytes)
        return _pread(fd, st.st_size - start, start, os.path.basename(path))


def read_lines(path: Path | str, limit: tuple[int, int] | None = None) -> Iterator[bytes]:
    """The complete lines (without their newline) of a regular JSONL file, streamed: nothing if it is absent;
    Damaged if it is not a regular file. A line longer than the kind's bound is skipped; of a file longer
    than its bound only the last bytes are read, from the first line that starts in them. A last line
    without its newline (being written, or cut by a crash) is left out. `limit`: (most bytes, longest
    line), if not the kind's."""
    most, longest = limit or limit_of(path)
    name = os.path.basename(path)
    with opened(path) as found:
        if found is None:
            return
        fd, st = found
        at, end = max(0, st.st_size - most), st.st_size  # lines appended meanwhile are for the next read
        partial = b""
        skipping = at > 0 and _pread(fd, 1, at - 1, name) != b"\n"  # a cut inside a line drops that line
        while at < end:
            chunk = _pread(fd, min(CHUNK, end - at), at, name)
            if not chunk:
                break
            at += len(chunk)
            cut = chunk.rfind(b"\n") + 1
            if not cut:  # still inside one line
                skipping = skipping or len(partial) + len(chunk) > longest
                partial = b"" if skipping else partial + chunk
                continue
            lines = chunk[: cut - 1].split(b"\n")
            lines[0] = b"" if skipping else partial + lines[0]
            yield from (line for line in lines if line and len(line) <= longest)
            rest = chunk[cut:]
            skipping = len(rest) > longest
            partial = b"" if skipping else rest


def shallow(raw: bytes, depth: int = MAX_DEPTH) -> bool:
    """Whether the JSON text `raw` nests at most `depth` deep (brackets inside strings do not count)."""
    if raw.count(b"[") + raw.count(b"{") <= depth:  # the common case: no scan
        return True
    level = 0
    for m in _TOKENS.finditer(raw):
        c = m.group()
        if c in (b"[", b"{"):
            level += 1
            if level > depth:
                return False
        elif c in (b"]", b"}"):
            level -= 1
    return True


def decode(raw: bytes, name: str, decoder: msgspec.json.Decoder = PLAIN) -> Any:
    """`raw` decoded by `decoder`; Damaged if it is not valid JSON (of the decoder's type) or nests deeper
    than MAX_DEPTH."""
    if not shallow(raw):
        raise Damaged(f"{name} is nested more than {MAX_DEPTH} levels deep")
    try:
        return decoder.decode(raw)
    except (msgspec.MsgspecError, RecursionError) as e:
        raise Damaged(f"{name} is not valid JSON ({str(e)[:80]})") from None
