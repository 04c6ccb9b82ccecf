"""What every plot view needs: the data of a run as the TUI holds it, options, and a registry.

A view is a function `draw(plt, runs, opts)` that draws on a plotext-like object (`plotext` itself in
tests, `PlotextPlot.plt` in the app). Views live in tui/views/*.py, are found by name from a preset's
`views` list, and register themselves with `@view("name")`. No torch, no textual here.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

from dltui.core.present import MARKERS, PALETTE, VIEW_NAMES, run_colours
from dltui.core.tracks import Tracks

MAX_POINTS = 1000
TITLE_MARGIN = 8  # plotext drops a title longer than its plot's width less about 7


@dataclass
class RunData:
    """One run as the TUI holds it: its config, the metrics records so far, snapshots and summary."""

    run_id: str
    variant: str
    config: dict[str, Any] = field(default_factory=dict)
    status: str = "running"
    records: list[dict[str, Any]] = field(default_factory=list)  # metrics.jsonl lines
    snapshots: list[dict[str, Any]] = field(default_factory=list)  # {"epoch", "kind", ...}
    summary: dict[str, Any] = field(default_factory=dict)
    index: int = 0  # position in the preset: picks the colour, unless `tint` is set
    tint: Any = None  # the colour given by colour_runs (by the swept value)
    tracks: Tracks = field(default_factory=Tracks)  # decimated curves, kept as records arrive (shared by copies)

    @property
    def colour(self):
        return self.tint if self.tint is not None else PALETTE[self.index % len(PALETTE)]

    @property
    def marker(self) -> str:
        """A point marker: the second channel that tells apart runs of similar colours."""
        return MARKERS[self.index % len(MARKERS)]


def colour_runs(runs: list[RunData]) -> list[RunData]:
    """Give the runs their colours together: by the swept value where they differ in one number (see
    core.present.run_colours), else one hue each in order."""
    for run, colour in zip(runs, run_colours([r.config for r in runs])):
        run.tint = colour
    return runs


@dataclass
class ViewOptions:
    """How to draw: the x-axis (epoch, step or time), log y-axis, the selected run, smoothing, a variant filter."""

    x: str = "epoch"
    log: bool = False
    selected: str | None = None
    smooth: float = 0.0
    only: str = ""  # words a run's variant must all contain to be drawn (the variant filter); "" draws all


def narrowed(runs: list[RunData], only: str) -> list[RunData]:
    """The runs whose variant holds every word of `only` (all of them when it is empty)."""
    words = only.lower().split()
    return [r for r in runs if all(w in r.variant.lower() for w in words)]


Drawer = Callable[[Any, list[RunData], ViewOptions], None]
VIEWS: dict[str, tuple[str, Drawer]] = {}


def view(name: str, title: str = ""):
    """Register a drawer under `name` (a preset's `views` entry, one of core.present.VIEW_NAMES)."""
    if name not in VIEW_NAMES:
        raise ValueError(f"view '{name}' is not in core.present.VIEW_NAMES; add it there so that presets may name it")

    def deco(fn: Drawer) -> Drawer:
        VIEWS[name] = (title or name, fn)
        return fn

    return deco


INSTRUMENT_VIEWS = ("sharpness", "update_ratio", "dead_units", "confusion")  # each probe's view has its name


def views_for(views, probes) -> tuple[str, ...]:
    """A preset's views, then the view of each instrument among `probes` that they leave out."""
    probes = probes if isinstance(probes, (list, tuple)) else ()
    extra = [p for p in probes if isinstance(p, str) and p in INSTRUMENT_VIEWS and p not in views]
    return tuple(views) + tuple(dict.fromkeys(extra))


def decimate(xs: list, ys: list, max_points: int = MAX_POINTS) -> tuple[list, list]:
    """At most `max_points` points, keeping the first and the last."""
    n = len(xs)
    if n <= max_points:
        return list(xs), list(ys)
    stride = math.ceil(n / max_points)
    idx = list(range(0, n, stride))
    if idx[-1] != n - 1:
        idx.append(n - 1)
    return [xs[i] for i in idx], [ys[i] for i in idx]


def series(run: RunData, key: str, opts: ViewOptions, smooth: float = 0.0) -> tuple[list, list]:
    """(x, y) of a metric over the run's records, skipping missing values (and y <= 0 on a log axis), in
    min/max buckets at about a plot's width (core.decimate), optionally smoothed: O(new records) a call."""
    return run.tracks.curve(run.records, key, opts.x, opts.log, smooth)


def selected_run(runs: list[RunData], opts: ViewOptions) -> RunData | None:
    """The run a one-run view shows: the selected one, else the last that has records."""
    for r in runs:
        if r.run_id == opts.selected:
            return r
    with_data = [r for r in runs if r.records or r.snapshots]
    return with_data[-1] if with_data else (runs[-1] if runs else None)


def snapshots_of(run: RunData | None, kind: str) -> list[dict[str, Any]]:
    """The run's snapshots of one kind, oldest first (none for no run)."""
    return [s for s in (run.snapshots if run else []) if s.get("kind") == kind]


def run_datas(infos: list) -> list[RunData]:  # infos: dltui.core.store.RunInfo
    """The runs as plot buffers, named by variant (with the run's time when two share a variant)."""
    variants = [i.status.get("variant", i.run_id) for i in infos]
    out = []
    for n, (info, variant) in enumerate(zip(infos, variants)):
        if variants.count(variant) > 1:
            variant = f"{variant} {info.run_id[9:15]}"
        out.append(RunData(info.run_id, variant, info.config, info.state, info.metrics(), info.snapshots(),
                           info.summary, index=n))
    return colour_runs(out)



def shorten(text: str, width: int) -> str:
    """`text` in at most `width` characters, cut at the end with '…' (the essential part goes first)."""
    return text if len(text) <= width else text[:max(0, width - 1)] + "…"


class Fitted:
    """The plot as a drawer sees it: every call goes to plotext, but a title is cut to the plot's width with
    '…' (plotext drops a title wider than its plot without a word). Subplots get their share of the width."""

    def __init__(self, plt, width: int, height: int = 20):
        self.plt = plt
        self.width, self.height = width, height
        self.columns = 1

    def subplots(self, rows: int, cols: int):
        self.columns = max(1, cols)
        return self.plt.subplots(rows, cols)

    def subplot(self, row: int, col: int) -> "Fitted":
        """One panel, to draw on (plotext's figure-level calls do not reach the active panel in textual-plotext)."""
        return Fitted(self.plt.subplot(row, col), self.width // self.columns, self.height)

    def title(self, text: str):
        return self.plt.title(shorten(text, self.width // self.columns - TITLE_MARGIN))

    def __getattr__(self, name: str):
        return getattr(self.plt, name)


def decade_ticks(plt, axis: str, values: list[float]) -> None:
    """Ticks at whole powers of ten on an axis that holds log10 values, labelled 1e-4 ... 1 ... 1e+02."""
    lo, hi = math.floor(min(values)), math.ceil(max(values))
    step = max(1, (hi - lo) // 6)
    ticks = list(range(lo, hi + 1, step))
    (plt.xticks if axis == "x" else plt.yticks)(ticks, [power_of_ten(t) for t in ticks])


def power_of_ten(exponent: int) -> str:
    """10**exponent as a tick reads it: 0.01, 0.1, 1, 10, 100 near 1, else 1e-4, 1e+03."""
    return f"{10.0 ** exponent:g}" if -2 <= exponent <= 2 else f"1e{exponent:+03d}"


def robust_top(peaks: list[float]) -> float:
    """The top of a y-axis over lines whose highest points are `peaks`: the highest peak within 3x the median
    peak, so that one run that blew up (a loss of 412 among losses of 2) cannot squash the others to the floor."""
    middle = sorted(peaks)[len(peaks) // 2]
    return max([p for p in peaks if p <= 3 * middle] or peaks)
