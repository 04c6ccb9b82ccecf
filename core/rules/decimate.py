"""Curves of any length, kept at about a plot's width: min/max buckets built as the points arrive.

A `MinMax` buffer splits a growing series into buckets of `span` consecutive points and keeps, per
bucket, its lowest and its highest point; when there are 2·B buckets, neighbours merge (B left, span
doubled). So a plot at about B columns shows every peak and every dip the full series has, the buffer
holds at most 2·B buckets, and adding a point costs O(1) (amortised): a live view's cost depends on
the screen width, never on the run's length. `Curve` is one metric of a growing list of records (a
run's metrics.jsonl) against an x-axis, optionally smoothed (core.rules.smoothing's EMA, kept running), fed
only the records it has not seen. The lab's live views, `compare` and the PNG exports all draw
through here, so they thin a curve out the same way. No torch, no textual.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .numbers import is_finite

BUCKETS = 100  # B: a plot's width in columns; the buffer holds B..2B buckets


def point(record: dict[str, Any], key: str, x: str = "epoch", log: bool = False) -> tuple[Any, Any] | None:
    """(x, y) of `key` in one record, or None when it has no point to draw: both must be finite numbers, and
    y > 0 on a log axis (which cannot show the rest). Every curve, thinned or not, counts records by this."""
    xv, yv = record.get(x), record.get(key)
    if is_finite(xv) and is_finite(yv) and not (log and yv <= 0):
        return xv, yv
    return None


class _Bucket:
    """`n` consecutive points: the lowest and the highest as (index, x, y), the earliest on a tie."""

    __slots__ = ("n", "lo", "hi")

    def __init__(self, point: tuple[int, Any, float]):
        self.n = 1
        self.lo = self.hi = point

    def add(self, point: tuple[int, Any, float]) -> None:
        self.n += 1
        if point[2] < self.lo[2]:
            self.lo = point
        if point[2] > self.hi[2]:
            self.hi = point

    def merge(self, other: _Bucket) -> _Bucket:
        self.n += other.n
        if other.lo[2] < self.lo[2]:
            self.lo = other.lo
        if other.hi[2] > self.hi[2]:
            self.hi = other.hi
        return self

    def points(self) -> list[tuple[int, Any, float]]:
        """Its min and max in the order they came (one point when they are the same)."""
        if self.lo is self.hi:
            return [self.lo]
        return sorted((self.lo, self.hi))


class MinMax:
    """A series' points thinned to B..2B min/max buckets as they arrive (see the module's docstring)."""

    def __init__(self, buckets: int = BUCKETS):
        if buckets < 1:
            raise ValueError(f"buckets = {buckets}: need at least 1")
        self.target = buckets
        self.span = 1  # points a full bucket holds
        self.buckets: list[_Bucket] = []
        self.count = 0
        self.first: tuple[int, Any, float] | None = None
        self.last: tuple[int, Any, float] | None = None

    def add(self, x: Any, y: float) -> None:
        point = (self.count, x, y)
        self.count += 1
        self.first = self.first or point
        self.last = point
        if self.buckets and self.buckets[-1].n < self.span:
            self.buckets[-1].add(point)
            return
        if len(self.buckets) == 2 * self.target:
            self._halve()  # 2B full buckets make B full ones
        self.buckets.append(_Bucket(point))

    def _halve(self) -> None:
        """Merge neighbouring buckets: half as many, twice as wide."""
        b = self.buckets
        self.buckets = [b[i].merge(b[i + 1]) for i in range(0, len(b), 2)]
        self.span *= 2

    def points(self) -> tuple[list, list]:
        """(xs, ys): every bucket's min and max in order, and the series' first and last points."""
        pts = [p for b in self.buckets for p in b.points()]
        if pts and pts[0] is not self.first:
            pts.insert(0, self.first)
        if pts and pts[-1] is not self.last:
            pts.append(self.last)
        return [p[1] for p in pts], [p[2] for p in pts]


class _Ema:
    """core.rules.smoothing.ema, kept running: the next smoothed value from the next raw one."""

    def __init__(self, a: float):
        self.a, self.s, self.t = a, 0.0, 0

    def __call__(self, y: float) -> float:
        self.t += 1
        self.s = self.a * self.s + (1.0 - self.a) * y
        return self.s / (1.0 - self.a**self.t)


class Curve:
    """One metric of a growing list of records against `x`, decimated; `feed` reads only the new records.

    A record counts when it has a `point` (finite numbers, y > 0 on a log axis), as in
    core.readout.series.series; with `smooth` the values are the running EMA of those.
    """

    def __init__(
        self, key: str, x: str = "epoch", log: bool = False, smooth: float = 0.0, buckets: int = BUCKETS
    ):
        self.key, self.x, self.log = key, x, log
        self.ema = _Ema(smooth) if smooth else None
        self.buffer = MinMax(buckets)
        self.seen = 0  # records read so far

    def feed(self, records: Sequence[dict[str, Any]]) -> Curve:
        """Take the records after the ones already seen (the list only ever grows)."""
        for i in range(self.seen, len(records)):
            self.add(records[i])
        self.seen = max(self.seen, len(records))
        return self

    def add(self, record: dict[str, Any]) -> None:
        """Take one record (a run's next), whatever `seen` says: for a caller that hands records over as they
        come."""
        found = point(record, self.key, self.x, self.log)
        if found is not None:
            xv, yv = found
            self.buffer.add(xv, self.ema(yv) if self.ema else yv)

    def points(self) -> tuple[list, list]:
        return self.buffer.points()


def decimated(
    records: Sequence[dict[str, Any]],
    key: str,
    x: str = "epoch",
    log: bool = False,
    smooth: float = 0.0,
    buckets: int = BUCKETS,
) -> tuple[list, list]:
    """(xs, ys) of a metric over all of a run's records, thinned to min/max buckets (see Curve)."""
    return Curve(key, x, log, smooth, buckets).feed(records).points()
