"""One run folder followed as another process writes it: its new metrics and snapshot lines, and its status.

A `RunTail` reads metrics.jsonl and snapshots.jsonl through core/store/linetail.py, and looks at status.json
every STATUS_S: read again when it changed (then its config is kept; a running run that has just written it
is alive), else, while the run is `running`, its writer is looked for, so that one that died (kill -9)
shows as `crashed` by the store's own rule (core/store/folder.py's RunInfo.state). A file replaced under it
starts it over from byte 0, and the `Update` says so (`reset`). A run followed for its row only (`full` off:
the past-runs table) costs less: of its new lines only the last is parsed, and snapshots are not read.
Following never writes. No torch, no textual.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..rules.status import RunStatus
from .files import Damaged, read_status, read_summary
from .folder import RunInfo, RunStore
from .linetail import LineTail

STATUS_S = 1.0  # a run's status is looked at this often (its writer's heartbeat is written once a second)


@dataclass
class Update:
    """What is new in one run since the last look."""

    run_id: str
    records: list[dict[str, Any]] = field(default_factory=list)
    snapshots: list[dict[str, Any]] = field(default_factory=list)
    info: RunInfo | None = None  # set when its status (or summary) changed
    state: RunStatus | str = ""  # then, info.state as found (the property looks at /proc: not on a UI thread)
    reset: bool = (
        False  # `records` and `snapshots` start from the files' top (a first look, or files replaced)
    )
    rows_only: bool = (
        False  # from a run followed for its table row: `records` is its last record, not its curve
    )

    def merge(self, later: Update) -> None:
        if later.reset:
            self.records, self.snapshots, self.reset = [], [], True
            self.rows_only = later.rows_only
        else:
            self.rows_only = self.rows_only or later.rows_only
        self.records += later.records
        self.snapshots += later.snapshots
        if later.info is not None:
            self.info, self.state = later.info, later.state

    @property
    def empty(self) -> bool:
        return not (self.records or self.snapshots or self.info or self.reset)


class RunTail:
    """One run folder, followed: its new lines (`full`; else only the last new record), and its status
    whenever it changes."""

    def __init__(self, path: Path, store: RunStore | None = None, full: bool = True):
        self.path = Path(path)
        self.run_id = self.path.name
        self.full = full
        self.store = store or RunStore(self.path.parent)
        self.metrics = LineTail(self.path / "metrics.jsonl")
        self.snaps = LineTail(self.path / "snapshots.jsonl")
        self.stamp_files = [os.path.join(self.path, name) for name in ("status.json", "summary.json")]
        self.stamp: tuple | None = (
            None  # status.json's and summary.json's (mtime_ns, size, inode) when last read
        )
        self.info: RunInfo | None = None  # as last read
        self.state: RunStatus | str = ""  # as last read: "" before the first look
        self.checked = -STATUS_S  # when the status was last looked at

    @property
    def live(self) -> bool:
        """Still worth following: not read yet, or running."""
        return self.state in ("", RunStatus.RUNNING)

    def poll(self) -> Update:
        update = Update(self.run_id, rows_only=not self.full)
        self._read_lines(update)
        now = time.monotonic()
        if now - self.checked >= STATUS_S:
            self.checked = now
            self._look_at_status(update)
            if not self.live:  # its last lines were written before it ended: read them too
                self._read_lines(update)
        return update

    def _read_lines(self, update: Update) -> None:
        records, reset_m = self.metrics.read(last_only=not self.full)
        if not self.full:
            update.records = records if reset_m else update.records + records
            update.reset = update.reset or reset_m
            return
        snapshots, reset_s = self.snaps.read()
        if reset_m or reset_s:  # start both files over, so that records and snapshots stay in step
            if not reset_m:
                self.metrics.restart()
                records, _ = self.metrics.read()
            if not reset_s:
                self.snaps.restart()
                snapshots, _ = self.snaps.read()
            update.records, update.snapshots, update.reset = [], [], True
        update.records += records
        update.snapshots += snapshots

    def _look_at_status(self, update: Update) -> None:
        """Read the status again if it changed; say so in `update` if its state or summary did."""
        stamp = self._stamp()
        changed = stamp != self.stamp
        if changed:
            info = self._reread()
            # A running run's status just written was written by its live writer (a heartbeat): no need to
            # look
            # for its process. A first look may find a status left by a writer that died since.
            fresh = (
                self.stamp is not None and info.status.get("status") == RunStatus.RUNNING and not info.problem
            )
            state = RunStatus.RUNNING if fresh else info.state
            summary_changed = self.stamp is None or stamp[3:] != self.stamp[3:]
            self.info, self.stamp = info, stamp
        elif self.state == RunStatus.RUNNING:
            state, summary_changed = self.info.state, False  # its writer is looked for: gone, it is `crashed`
        else:
            return
        if summary_changed or state != self.state:
            update.info, update.state = self.info, state
        self.state = state

    def _reread(self) -> RunInfo:
        """The run's info: status.json and summary.json read again, its config (which never changes) kept."""
        if self.info is None:
            return self.store._info(self.path)
        try:
            status = read_status(self.path / "status.json")
            summary = read_summary(self.path / "summary.json") or {}
        except Damaged:
            return self.store._info(self.path)  # the store's reader says what is wrong
        if not status:
            return self.store._info(self.path)
        return replace(self.info, status=status, summary=summary, problem="")

    def _stamp(self) -> tuple:
        out = []
        for name in self.stamp_files:
            try:
                st = os.stat(name)
                out += [st.st_mtime_ns, st.st_size, st.st_ino]
            except OSError:
                out += [None, None, None]
        return tuple(out)
