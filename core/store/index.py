"""Listing thousands of saved runs fast: newest first from the folder names, one row per run from a cache.

Run ids begin with the time the run was made (core/store/folder.py's new_id), so sorting the folder names
gives newest first with no file read, and `latest` is the greatest name. What a listing shows of a run
(its `Row`) comes from `runs/.index.json`, a cache of the rows of ended runs, each stamped with its
status.json's mtime and size: a row is used only while that stamp still matches, so a run resumed, or
ended, by another process (or host) is read again. The folder listing is the truth: a run folder
deleted by hand is gone from the listing, and from the cache the next time it is written. The cache
is replaced atomically (core/store/atomic.py) and only when it changed; a missing or damaged cache is rebuilt.
Several writers may race: each writes a cache that is valid, because every row is checked on read: msgspec
decodes the cache against its shape (`Cached`) in one pass; only a cache with a row of the wrong shape is
looked at row by row, and those rows alone are read again from the run's files.
No torch, no textual.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, fields
from itertools import islice
from pathlib import Path
from typing import Any

import msgspec

from ..rules.errors import BadInput
from ..rules.status import ENDED, LISTED, RunStatus, names
from .atomic import write_atomic
from .files import parse_record
from .folder import RunInfo, RunStore, run_ids, status_stamp
from .safeopen import Damaged, read_tail, read_whole

INDEX = ".index.json"
VERSION = 1
TAIL_BYTES = 64 * 1024  # enough for a metrics line: a run without a summary shows its last one


@dataclass(frozen=True, slots=True)  # slots: thousands are held at once
class Row:
    """What a listing shows of one run."""

    run_id: str
    state: RunStatus
    preset: str = "?"
    variant: str = "?"
    epochs: int | None = None
    train_loss: float | None = None
    test_loss: float | None = None
    test_acc: float | None = None
    val_acc: float | None = None
    started: float | None = None
    problem: str = ""  # what is wrong with a damaged run's files

    @property
    def accuracy(self) -> float | None:
        """The validation accuracy if the run has a validation set, else the test accuracy."""
        return self.val_acc if self.val_acc is not None else self.test_acc

    def to_dict(self) -> dict[str, Any]:
        """The fields by name (shallow: each is a plain value, which dataclasses.asdict would deep-copy)."""
        return {name: getattr(self, name) for name in NAMES}


NAMES = tuple(f.name for f in fields(Row))
Num = int | float | None
# A cached row: status.json's [mtime_ns, size], then the Row's fields in order.
Cached = tuple[int, int, str, RunStatus, str, str, int | None, Num, Num, Num, Num, Num, str]


class Cache(msgspec.Struct):
    """The cache file, as written."""

    version: int
    runs: dict[str, Cached]


WHOLE = msgspec.json.Decoder(Cache)
PLAIN = msgspec.json.Decoder()


def cached(stamp: list[int], row: Row) -> Cached:
    """A row as the cache holds it (a shallow tuple: dataclasses.astuple deep-copies every field)."""
    return (*stamp, *(getattr(row, name) for name in NAMES))  # type: ignore[return-value]


def load_cache(raw: bytes) -> dict[str, Cached]:
    """run id -> its cached row; empty when the cache is damaged or of another version. A row of the wrong
    shape is left out (its run is read again), the others are kept."""
    try:
        cache = WHOLE.decode(raw)
        return cache.runs if cache.version == VERSION else {}
    except (msgspec.MsgspecError, RecursionError):
        pass
    try:  # nested past the interpreter's depth: RecursionError; else only typed scalars are kept below
        data = PLAIN.decode(raw)
    except (msgspec.MsgspecError, RecursionError):
        return {}
    if not isinstance(data, dict) or data.get("version") != VERSION or not isinstance(data.get("runs"), dict):
        return {}
    return {run_id: hit for run_id, row in data["runs"].items() if (hit := _row_or_none(row)) is not None}


def _row_or_none(row: Any) -> Cached | None:
    try:
        return msgspec.convert(row, Cached)
    except msgspec.MsgspecError:
        return None


def last_record(path: Path) -> dict[str, Any]:
    """The last complete, well-formed line of a metrics.jsonl, reading only its tail ({} if none)."""
    try:
        lines = (read_tail(path, TAIL_BYTES) or b"").split(b"\n")
    except Damaged:  # not a regular file: its run is listed as damaged (RunStore._info)
        return {}
    for line in reversed(lines[1:-1] if len(lines) > 2 else lines[:-1]):  # the last piece has no newline yet
        rec = parse_record(line + b"\n")
        if rec is not None:
            return rec
    return {}


def _num(v: Any) -> float | None:
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def row_of(info: RunInfo) -> Row:
    """A run's row: its final figures from its summary, or from its last metrics line if it has none."""
    s = info.summary
    src = (
        {k[len("final_") :]: v for k, v in s.items() if k.startswith("final_")}
        if s
        else last_record(info.path / "metrics.jsonl")
    )
    epochs = s.get("epochs") if s else src.get("epoch")
    st = info.status
    return Row(
        info.run_id,
        info.state,
        str(st.get("preset", "?")),
        str(st.get("variant", "?")),
        epochs if isinstance(epochs, int) and not isinstance(epochs, bool) else None,
        *(_num(src.get(k)) for k in ("train_loss", "test_loss", "test_acc", "val_acc")),
        _num(st.get("started")),
        info.problem,
    )


class RunIndex:
    """The rows of a runs dir, newest first, from the cache where it is still valid."""

    def __init__(self, root: Path | str, use_cache: bool = True):
        self.store = RunStore(root)
        self.root = self.store.root
        self.use_cache = use_cache  # False: a few rows are read directly, faster than loading the cache
        self.cache: dict[str, Cached] = self._load() if use_cache else {}
        self.changed = False

    def _load(self) -> dict[str, Cached]:
        """run id -> (status mtime_ns, size, *the row's fields); empty when missing or damaged."""
        try:
            return load_cache(read_whole(self.root / INDEX) or b"")
        except Damaged:  # a FIFO, a link, a file past its bound: rebuilt (the next save replaces it)
            return {}

    def row(self, run_id: str) -> Row | None:
        """One run's row: the cached one while its status.json is unchanged, else read (None: not a run
        yet)."""
        stamp = status_stamp(os.path.join(self.root, run_id))
        if stamp is None:
            return None
        hit = self.cache.get(run_id)
        if hit is not None and hit[0] == stamp[0] and hit[1] == stamp[1] and hit[2] == run_id:
            return Row(*hit[2:])
        row = row_of(self.store._info(self.root / run_id))
        if row.state in ENDED and self.use_cache:  # running and crashed runs are looked at anew each time
            self.cache[run_id] = cached(stamp, row)
            self.changed = True
        return row

    def rows(self, ids: list[str], preset: str | None = None, state: str | None = None) -> Iterator[Row]:
        """The rows of the runs `ids` (see run_ids), in order, those of `preset` and in `state` only, if
        given."""
        for run_id in ids:
            row = self.row(run_id)
            if (
                row is not None
                and (preset is None or row.preset == preset)
                and (state is None or row.state == state)
            ):
                yield row

    def save(self, keep: list[str] | None = None) -> None:
        """Write the cache if it changed (only the runs in `keep`, the folder listing, when given)."""
        if keep is not None:
            alive = set(keep)
            gone = [k for k in self.cache if k not in alive]
            for k in gone:
                del self.cache[k]
            self.changed |= bool(gone)
        if not self.changed:
            return
        try:
            write_atomic(self.root / INDEX, msgspec.json.encode(Cache(VERSION, self.cache)))
            self.changed = False
        except OSError:
            pass  # a read-only runs dir: the listing works, only slower


def check_state(state: str | None) -> RunStatus | None:
    """The status a listing is filtered by (None: all), or BadInput if no run can have it."""
    if state is None:
        return None
    if RunStatus.of(state) not in LISTED:
        raise BadInput(f"--status {state}: no run can have it; use one of {names(LISTED)}")
    return RunStatus(state)


def listing(
    root: Path | str, limit: int | None = None, preset: str | None = None, state: str | None = None
) -> tuple[list[Row], int]:
    """The newest `limit` rows (all when None) that match, and how many runs match in all."""
    state = check_state(state)
    few = limit is not None and preset is None and state is None  # only the newest rows are read
    index = RunIndex(root, use_cache=not few)
    ids = run_ids(index.root)
    if few:
        return list(islice(index.rows(ids), limit)), len(ids)
    out = list(index.rows(ids, preset, state))
    index.save(keep=ids)
    return (out if limit is None else out[:limit]), len(out)
