"""What a live view asks of a growing run, answered from the records it has not seen yet.

A run's records (metrics.jsonl lines) only ever grow. `Tracks` keeps, per run, the decimated curves
(core.rules.decimate.Curve), which metrics have any value, and which pairs of metrics are the same numbers so
far; `RunningBest` keeps the best epoch by core/rules/bestepoch.py's rule. Each question costs O(new records),
never O(history). No torch, no textual.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from ..rules.bestepoch import SCORES, better
from ..rules.decimate import BUCKETS, Curve
from ..rules.numbers import is_number

Records = Sequence[dict[str, Any]]


class Tracks:
    """One run's curves and facts, kept up to date as its records grow (safe to ask from several threads)."""

    def __init__(self, buckets: int = BUCKETS):
        self.buckets = buckets
        self.lock = threading.Lock()
        self.curves: dict[tuple, Curve] = {}
        self.keys: set[str] = set()  # metrics with at least one value
        self.keys_seen = 0
        self.pairs: dict[tuple[str, str], list] = {}  # (a, b) -> [same so far, records seen]
        # Set by core.readout.liverecords.LiveRecords: its records are handed over one by one as they come
        # (`add`),
        # and what is first asked about later starts from its kept records (it does not hold them all).
        self.live = None

    def curve(
        self, records: Records, key: str, x: str = "epoch", log: bool = False, smooth: float = 0.0
    ) -> tuple[list, list]:
        """(xs, ys) of `key` against `x`, min/max-decimated (see core.rules.decimate.Curve)."""
        with self.lock:
            records = self._source(records)
            c = self.curves.get((key, x, log, smooth))
            if c is None:
                c = self.curves[(key, x, log, smooth)] = Curve(key, x, log, smooth, self.buckets)
            return c.feed(records).points()

    def has(self, records: Records, key: str) -> bool:
        """True if any record has a value for `key`."""
        with self.lock:
            records = self._source(records)
            for i in range(self.keys_seen, len(records)):
                self.keys.update(k for k, v in records[i].items() if v is not None)
            self.keys_seen = max(self.keys_seen, len(records))
            return key in self.keys

    def same(self, records: Records, a: str, b: str) -> bool:
        """True when `a` and `b` are the same numbers in every record (the polynomial's test set is its train
        set)."""
        with self.lock:
            records = self._source(records)
            state = self.pairs.setdefault((a, b), [True, 0])
            if state[0]:
                state[0] = all(records[i].get(a) == records[i].get(b) for i in range(state[1], len(records)))
            state[1] = max(state[1], len(records))
            return state[0]

    def _source(self, records: Records) -> Records:
        """What to read from: the records given, or for a live run its kept records, every one of which has
        been handed over already to what exists (so only a curve, key set or pair asked for the first time
        reads them)."""
        return records if self.live is None else self.live.kept()

    def add(self, record: dict[str, Any]) -> None:
        """(Lock held.) Hand a live run's next record to every curve, the key set and the pairs asked about so
        far."""
        for c in self.curves.values():
            c.add(record)
            c.seen += 1
        self.keys.update(k for k, v in record.items() if v is not None)
        self.keys_seen += 1
        for (a, b), state in self.pairs.items():
            state[0] = state[0] and record.get(a) == record.get(b)
            state[1] += 1

    def clear(self) -> None:
        """(Lock held.) Forget every curve and fact: they are built again from what is read next."""
        self.curves.clear()
        self.keys.clear()
        self.pairs.clear()
        self.keys_seen = 0


class RunningBest:
    """A run's best epoch so far by core.rules.bestepoch.best_epoch's rule, fed one record at a time."""

    def __init__(self):
        self.best: dict[str, tuple[float, Any]] = {}  # metric -> (best value, its epoch)

    def add(self, record: dict[str, Any]) -> None:
        if record.get("epoch") == 0:  # the model as initialised is never the best epoch (bestepoch.py)
            return
        for metric in SCORES:
            v = record.get(metric)
            if is_number(v):  # as core.rules.bestepoch.best_record counts them
                held = self.best.get(metric)
                if better(v, held[0] if held else None, metric):
                    self.best[metric] = (v, record.get("epoch"))

    def epoch(self, summary: dict[str, Any] | None = None) -> int | None:
        """The summary's best epoch once the run has ended, else the best so far by the first of SCORES
        recorded."""
        if summary and summary.get("best_epoch") is not None:
            return summary["best_epoch"]
        metric = next((m for m in SCORES if m in self.best), None)
        return self.best[metric][1] if metric else None
