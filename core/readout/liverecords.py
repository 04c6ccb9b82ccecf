"""A live run's records as the lab keeps them: in memory that stays the same size however long the run.

`LiveRecords` hands each record to the run's `Tracks` as it comes (its decimated curves, key set and
pairs, core/readout/tracks.py), and keeps only a thinned sample of the records themselves: every `stride`-th
(the stride doubles when more than 2·KEEP are kept, as core/rules/decimate.py's buckets do), the first and
the last, the best so far (core/rules/bestepoch.py's rule) and those of the epochs a view has a snapshot of.
So a view that reads a run's records (per-layer norms, a best epoch's figures, the accuracy at a
snapshot) gets at most about 2·KEEP of them, in order; a new curve (the log axis or smoothing turned on
mid-run) starts from them. The whole history stays on disk (metrics.jsonl). No torch, no textual.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Any

from .tracks import RunningBest, Tracks

KEEP = 200  # records kept: KEEP..2·KEEP, besides the pinned ones
RECENT = 8  # the last records, kept to pin the one a snapshot arrives for


class LiveRecords:
    """The records of one live run, thinned as they arrive (see the module's docstring). `len` is how many
    came; iterating gives the kept ones, oldest first; [0] and [-1] are the first and the last."""

    def __init__(self, tracks: Tracks, keep: int = KEEP):
        self.tracks = tracks
        tracks.live = self
        self.keep = keep
        self.count = 0
        self.stride = 1
        self.store: dict[int, dict[str, Any]] = {}  # index in the run -> record
        self.pinned: dict[str, int] = {}  # why ("best", "epoch 40") -> the index it keeps
        self.pending: set[int] = set()  # snapshot epochs whose record has not come yet
        self.recent: deque[tuple[int, dict[str, Any]]] = deque(maxlen=RECENT)
        self.best = RunningBest()
        self._order: list[dict[str, Any]] | None = None  # kept records in order (None: to sort again)

    def append(self, record: dict[str, Any]) -> None:
        """Take the run's next record."""
        with self.tracks.lock:
            i = self.count
            self.count += 1
            self.tracks.add(record)
            self.recent.append((i, record))
            self._keep(i, record, i % self.stride == 0)
            before = self.best.epoch()
            self.best.add(record)
            if self.best.epoch() != before:
                self._pin("best", i)
            if record.get("epoch") in self.pending:
                self.pending.discard(record["epoch"])
                self._pin(f"epoch {record['epoch']}", i)
            if len(self.store) - len(self.pinned) > 2 * self.keep:
                self._thin()

    def pin_epoch(self, epoch: Any) -> None:
        """Keep the record of `epoch` for good (a snapshot of it came): now if it is among the last, else when
        it comes."""
        with self.tracks.lock:
            hit = next((i for i, r in self.recent if r.get("epoch") == epoch), None)
            if hit is None:
                self.pending.add(epoch)
            else:
                self._pin(f"epoch {epoch}", hit)

    def rewind(self, epoch: Any) -> None:
        """Drop the records from `epoch` on (a run sent again from an earlier checkpoint joins there)."""
        with self.tracks.lock:
            self.store = {i: r for i, r in self.store.items() if r.get("epoch", 0) < epoch}
            self.pinned = {why: i for why, i in self.pinned.items() if i in self.store}
            self.recent = deque(((i, r) for i, r in self.recent if i in self.store), maxlen=RECENT)
            self.count = max(self.store, default=-1) + 1
            self.best = RunningBest()
            for r in self.store.values():
                self.best.add(r)
            self._order = None
            self.tracks.clear()  # built again from the kept records when next asked

    def _keep(self, i: int, record: dict[str, Any], sampled: bool) -> None:
        last = self.count - 2  # the previous last record goes unless sampled or pinned
        if last >= 0 and last % self.stride != 0 and last not in self.pinned.values():
            self.store.pop(last, None)
        self.store[i] = record  # the last is always kept
        self._order = None

    def _pin(self, why: str, i: int) -> None:
        old = self.pinned.get(why)
        self.pinned[why] = i
        if i not in self.store:
            self.store[i] = next(r for j, r in self.recent if j == i)
        if (
            old is not None
            and old != i
            and old % self.stride != 0
            and old not in self.pinned.values()
            and old != self.count - 1
        ):
            self.store.pop(old, None)
        self._order = None

    def _thin(self) -> None:
        """Twice the stride: drop every kept record that is no longer sampled, pinned, first or last."""
        self.stride *= 2
        keep = set(self.pinned.values()) | {self.count - 1}
        self.store = {i: r for i, r in self.store.items() if i % self.stride == 0 or i in keep}
        self._order = None

    def kept(self) -> list[dict[str, Any]]:
        """The kept records, oldest first."""
        if self._order is None:
            self._order = [self.store[i] for i in sorted(self.store)]
        return self._order

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.kept())

    def __getitem__(self, i):
        if i == -1 and self.count:  # the last record, asked for at every record: no sort of the kept ones
            return self.store[self.count - 1]
        return self.kept()[i]
