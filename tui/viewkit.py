"""What every plot view needs: the data of a run as the TUI holds it, options, and a registry.

A view is a function `draw(plt, runs, opts)` that draws on a `Fitted` plot (plotext's calls, with the title
and the legend drawn above the plot by `Fitted.render`). Views live in tui/views/*.py, are found by name from
a preset's `views` list, and register themselves with `@view("name")`. No torch, no textual here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..core.readout.colours import MARKERS, PALETTE, run_colours, sequential
from ..core.readout.tracks import Tracks
from ..core.rules.decimate import MinMax, is_finite
from ..core.spec.probes import INSTRUMENTS, PROBES, titles
from ..core.spec.views import VIEW_NAMES

PROBE_TITLES = titles()
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
    tracks: Tracks = field(
        default_factory=Tracks
    )  # decimated curves, kept as records arrive (shared by copies)

    @property
    def colour(self):
        return self.tint if self.tint is not None else PALETTE[self.index % len(PALETTE)]

    @property
    def marker(self) -> str:
        """A point marker: the second channel that tells apart runs of similar colours."""
        return MARKERS[self.index % len(MARKERS)]


def colour_runs(runs: list[RunData]) -> list[RunData]:
    """Give the runs their colours together: by the swept value where they differ in one number (see
    core.readout.colours.run_colours), else one hue each in order."""
    for run, colour in zip(runs, run_colours([r.config for r in runs])):
        run.tint = colour
    return runs


@dataclass
class ViewOptions:
    """How to draw: the x-axis (epoch, step or time), log y-axis, the selected run, smoothing, a variant
    filter."""

    x: str = "epoch"
    log: bool | None = None  # None: log where a series spans more than LOG_SPAN (see log_axis)
    selected: str | None = None
    smooth: float = 0.0
    only: str = ""  # words a run's variant must all contain to be drawn (the variant filter); "" draws all
    cursor: float | None = None  # an x where a maximised panel draws its readout line (tui/zoom.py)


LOG_SPAN = 100.0  # a y-axis is logarithmic by default where its positive values span more than two decades


def log_axis(opts: ViewOptions, values) -> bool:
    """Whether a y-axis holding `values` is drawn on a log scale: as `opts.log` says when set, else where
    they are all positive and span more than LOG_SPAN (a loss from 34 down to 0.005); never with a value
    at or below 0 (plotext cannot place it)."""
    finite = [v for v in values if is_finite(v)]
    if not finite:
        return bool(opts.log)  # asked for: said in the title, and drawn once there are values
    if min(finite) <= 0:
        return False
    return opts.log if opts.log is not None else max(finite) / min(finite) > LOG_SPAN


def narrowed(runs: list[RunData], only: str) -> list[RunData]:
    """The runs whose variant holds every word of `only` (all of them when it is empty)."""
    words = only.lower().split()
    return [r for r in runs if all(w in r.variant.lower() for w in words)]


Drawer = Callable[[Any, list[RunData], ViewOptions], None]
VIEWS: dict[str, tuple[str, Drawer]] = {}


def view(name: str, title: str = ""):
    """Register a drawer under `name` (a preset's `views` entry, one of core.spec.views.VIEW_NAMES), with its
    title (for the view of a probe's data: its title in core.spec.probes, unless given here)."""
    if name not in VIEW_NAMES:
        raise ValueError(
            f"view '{name}' is not in core.spec.views.VIEW_NAMES; add it there so that presets may name it"
        )

    def deco(fn: Drawer) -> Drawer:
        VIEWS[name] = (title or PROBE_TITLES.get(name) or name, fn)
        return fn

    return deco


INSTRUMENT_VIEWS = tuple(PROBES[name].view for name in INSTRUMENTS)  # drawn once a run has measured something


def measured(name: str, runs: list[RunData], recent: int | None = None) -> bool:
    """Whether a run holds what the instrument view `name` draws (core.spec.probes.PROBES says where its
    probe writes): one of its record keys in a metrics record (only the `recent` last ones when given), a
    snapshot of its kind, or one of its summary values."""
    spec = next(p for p in PROBES.values() if p.instrument and p.view == name)
    for r in runs:
        records = r.records[-recent:] if recent else r.records
        if any(rec.get(k) is not None for rec in reversed(records) for k in spec.records):
            return True
        if spec.snapshot and any(s.get("kind") == spec.snapshot for s in r.snapshots):
            return True
        if isinstance(r.summary, dict) and any(r.summary.get(k) is not None for k in spec.summary):
            return True
    return False


def views_for(views, probes) -> tuple[str, ...]:
    """A preset's views, then the view of each instrument among `probes` that they leave out."""
    probes = probes if isinstance(probes, (list, tuple)) else ()
    extra = [PROBES[p].view for p in probes if isinstance(p, str) and p in INSTRUMENTS]
    return tuple(views) + tuple(v for v in dict.fromkeys(extra) if v not in views)


def curve(run: RunData, key: str, opts: ViewOptions, smooth: float = 0.0) -> tuple[list, list]:
    """(x, y) of a metric over the run's records as a view draws it: the points core.readout.series.series
    takes, in min/max buckets at about a plot's width (core.rules.decimate), optionally smoothed; kept in
    the run's Tracks, so a call costs O(new records)."""
    return run.tracks.curve(run.records, key, opts.x, opts.log, smooth)


def layer_curves(
    run: RunData, key: str, opts: ViewOptions, positive: bool = False
) -> list[tuple[list, list]]:
    """(x, value) per layer from records whose `key` is a list of per-layer values, thinned as `curve` is
    (core.rules.decimate); values that are not finite numbers (or not > 0 when `positive`: a log axis) are
    left out."""
    out: list[MinMax] = []
    for rec in run.records:
        values, x = rec.get(key), rec.get(opts.x)
        if not isinstance(values, list) or x is None:
            continue
        while len(out) < len(values):
            out.append(MinMax())
        for buffer, v in zip(out, values):
            if is_finite(v) and not (positive and v <= 0):
                buffer.add(x, v)
    return [buffer.points() for buffer in out]


def selected_run(runs: list[RunData], opts: ViewOptions) -> RunData | None:
    """The run a one-run view shows: the selected one, else the last that has records."""
    for r in runs:
        if r.run_id == opts.selected:
            return r
    with_data = [r for r in runs if r.records or r.snapshots]
    return with_data[-1] if with_data else (runs[-1] if runs else None)


MAX_SIDE = 4  # a per-run view draws up to this many runs side by side
SIDE_COLS = 24  # each of them at least this wide


def side_by_side(runs: list[RunData], opts: ViewOptions, width: int = 100) -> list[RunData]:
    """The runs a per-run view draws side by side in `width` columns: all of them where they fit (at most
    MAX_SIDE, each SIDE_COLS wide), else the first (the baseline) and the selected one (the preset's focus),
    else the selected one alone."""
    room = max(1, min(MAX_SIDE, width // SIDE_COLS))
    if len(runs) <= room:
        return list(runs)
    chosen = selected_run(runs, opts)
    return [chosen] if room == 1 or chosen is runs[0] else [runs[0], chosen]


def snapshots_of(run: RunData | None, kind: str) -> list[dict[str, Any]]:
    """The run's snapshots of one kind, oldest first (none for no run)."""
    return [s for s in (run.snapshots if run else []) if s.get("kind") == kind]


def run_datas(infos: list) -> list[RunData]:  # infos: dltui.core.store.folder.RunInfo
    """The runs as plot buffers, named by variant (with the run's time when two share a variant)."""
    variants = [i.status.get("variant", i.run_id) for i in infos]
    out = []
    for n, (info, variant) in enumerate(zip(infos, variants)):
        if variants.count(variant) > 1:
            variant = f"{variant} {info.run_id[9:15]}"
        out.append(
            RunData(
                info.run_id,
                variant,
                info.config,
                info.state,
                info.metrics(),
                info.snapshots(),
                info.summary,
                index=n,
            )
        )
    return colour_runs(out)


def shorten(text: str, width: int) -> str:
    """`text` in at most `width` characters, cut at the end with '…' (the essential part goes first)."""
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


GLYPHS = {
    "braille": "⣿",
    "dot": "•",
    "hd": "▚",
    "fhd": "▚",
    "sd": "█",
}  # a plotext marker as the key shows it
SWATCH = "█"  # the key's mark for a colour alone (a layer, a test drawn with two markers)
MAX_KEY_LINES = 2  # the key's lines above a plot; what does not fit ends in '…'
KEY_GAP = "  "


class Fitted:
    """The plot as a drawer sees it: every call goes to plotext, except the title and the legend. Those go
    above the plot on their own lines (`render`): the title cut to the width with '…' (plotext drops a title
    wider than its plot without a word), the legend as a key line, never on the data. Subplots get their
    share of the width, their titles side by side on the title line."""

    def __init__(self, plt, width: int, height: int = 20):
        self.plt = plt
        self.width, self.height = width, height
        self.columns = 1
        self.panels: list[Fitted] = []
        self.titled = ""
        self.keys: list[tuple[str, Any, str]] = []  # (label, colour, glyph), in the order drawn
        self.note = ""  # right on the title line: the focus mark and the page (PlotPanel)
        self.ylog = False
        self.ticked: set[str] = set()  # the axes the drawer gave ticks to (the others get nice ones)
        self.limits: dict[str, tuple[float, float]] = {}
        self.span = {"x": [math.inf, -math.inf], "y": [math.inf, -math.inf]}  # the data drawn

    def subplots(self, rows: int, cols: int):
        self.columns = max(1, cols)
        return self.plt.subplots(rows, cols)

    def subplot(self, row: int, col: int) -> Fitted:
        """One panel, to draw on (plotext's figure-level calls do not reach the active panel in
        textual-plotext)."""
        panel = Fitted(self.plt.subplot(row, col), self.width // self.columns, self.height)
        self.panels.append(panel)
        return panel

    def title(self, text: str, *shorter: str) -> None:
        """The title: the first of `text` and its `shorter` forms that fits, else the last cut with '…'."""
        room = self.width - 1 - (len(self.note) + 2 if self.note else 0)  # the note keeps its place
        self.titled = next(
            (t for t in (text, *shorter) if len(t) <= room), shorten((text, *shorter)[-1], room)
        )

    def key(self, label: str, colour=None, glyph: str = SWATCH) -> None:
        """A key entry (a legend's line) for something drawn without a `label`."""
        if (label, colour, glyph) not in self.keys:
            self.keys.append((label, colour, glyph))

    def plot(self, *args, label: str | None = None, **kw):
        return self._drawn(self.plt.plot, args, label, kw)

    def scatter(self, *args, label: str | None = None, **kw):
        return self._drawn(self.plt.scatter, args, label, kw)

    def yscale(self, scale: str = "linear") -> None:
        self.ylog = scale == "log"
        self.plt.yscale(scale)

    def xticks(self, *args, **kw):
        self.ticked.add("x")
        return self.plt.xticks(*args, **kw)

    def yticks(self, *args, **kw):
        self.ticked.add("y")
        return self.plt.yticks(*args, **kw)

    def xlim(self, lo=None, hi=None):
        if lo is not None and hi is not None:
            self.limits["x"] = (lo, hi)
        return self.plt.xlim(lo, hi)

    def ylim(self, lo=None, hi=None):
        if lo is not None and hi is not None:
            self.limits["y"] = (lo, hi)
        return self.plt.ylim(lo, hi)

    def _seen(self, args) -> None:
        """Widen the drawn data's span by a call's points (plotext's forms: ys, or xs and ys)."""
        if not args:
            return
        xs, ys = (args[0], args[1]) if len(args) > 1 else (range(1, len(args[0]) + 1), args[0])
        for axis, values in (("x", xs), ("y", ys)):
            finite = [v for v in values if is_finite(v)]
            if finite:
                span = self.span[axis]
                span[0], span[1] = min(span[0], min(finite)), max(span[1], max(finite))

    def ticks(self, rows: int) -> None:
        """Ticks on each axis the drawer left to plotext: at least three, at round numbers in plain notation
        (decades, and 2 and 5 between where few, on a log axis)."""
        for axis in ("x", "y"):
            lo, hi = self.limits.get(axis, self.span[axis])
            if axis in self.ticked or not lo < math.inf:
                continue
            room = max(3, (rows - 1) // 2 + 1) if axis == "y" else tick_room(self, "x")
            values = log_ticks(lo, hi, room) if axis == "y" and self.ylog else nice_ticks(lo, hi, room)
            (self.plt.xticks if axis == "x" else self.plt.yticks)(values, [tick_label(v) for v in values])

    def _drawn(self, draw, args, label, kw):
        self._seen(args)
        if label:
            marker = kw.get("marker") or "hd"
            self.key(label, kw.get("color"), GLYPHS.get(marker, marker if len(marker) == 1 else SWATCH))
        return draw(*args, **kw)

    def heading(self) -> list[str]:
        """The lines above the plot: the title (or the panels' titles side by side), then the key."""
        titles = [p.titled for p in self.panels] if self.panels else [self.titled]
        room = self.width - (len(self.note) + 2 if self.note else 0)  # the titles' room beside the note
        width = room // len(titles)
        line = "".join(shorten(t, width - 1).center(width) for t in titles).rstrip()
        if self.note:
            line = line.ljust(self.width - len(self.note)) + self.note
        keys = self.keys + [k for p in self.panels for k in p.keys if k not in self.keys]
        return ([line] if line else []) + key_lines(keys, self.width)

    def render(self) -> str:
        """The heading and the plotext picture below it, `height` lines in all (after the drawer has
        drawn)."""
        head = self.heading()
        rows = max(1, self.height - len(head))
        for panel in self.panels or [self]:
            panel.ticks(rows - AXIS_ROWS_LESS + 2)
        for panel in self.panels:
            panel.plt.plotsize(panel.width, rows)
        self.plt.plotsize(self.width, rows)
        canvas = getattr(
            getattr((self.panels[0] if self.panels else self).plt, "monitor", None), "canvas_color", None
        )
        head = [on_canvas(line, self.width, canvas) for line in head]
        if hasattr(
            self.plt, "_set_size"
        ):  # a PlotextPlot's figure, as its render does (textual-plotext issue 5)
            self.plt._set_size(self.width, rows)
        return "\n".join(head + [self.plt.build()])

    def __getattr__(self, name: str):
        return getattr(self.plt, name)


def picture(
    plt,
    drawer: Drawer,
    runs: list[RunData],
    opts: ViewOptions,
    width: int,
    height: int,
    theme: str | None = None,
    note: str = "",
    drawn: dict | None = None,
) -> str:
    """A view drawn afresh on `plt` (plotext, or a PlotextPlot's figure) at this size: its heading and plot as
    ANSI text, `height` lines; `note` goes right on the title line, and `drawn` (when given) is told whether
    the y-axis came out logarithmic (`log`) and where the cursor line is (`cursor`)."""
    plt.main()  # plotext's module-level clear_figure clears the active panel only: a view's panels would stay
    plt.clear_figure()
    fitted = Fitted(plt, width, height)
    fitted.note = note
    drawer(fitted, runs, opts)
    cursor = getattr(opts, "cursor", None)
    if cursor is not None and not fitted.panels and fitted.span["x"][0] <= opts.cursor:
        fitted.plt.vline(cursor, CURSOR_COLOUR)
    if drawn is not None:
        drawn["log"] = fitted.ylog or any(p.ylog for p in fitted.panels)
    if theme is not None:
        plt.theme(theme)
    return fitted.render()


CURSOR_COLOUR = "gray"


def nice_ticks(lo: float, hi: float, most: int) -> list[float]:
    """At least three and at most `most` (when it is 3 or more) ticks at round steps (1, 2 or 5 times
    a power of ten) within [lo, hi]; a point range is widened around its value."""
    if not hi > lo:
        pad = abs(lo) * 0.5 or 1.0
        lo, hi = lo - pad, hi + pad
    most = max(3, most)
    exponent = math.floor(math.log10((hi - lo) / 2))
    steps = [m * 10.0**e for e in range(exponent + 1, exponent - 3, -1) for m in (5, 2, 1)]
    best: list[float] = []
    for step in steps:  # largest first: the first with three ticks, unless too many
        first = math.ceil(lo / step - 1e-9)
        ticks = [round((first + i) * step, 12) for i in range(int((hi - lo) / step + 1e-9) + 2)]
        ticks = [t for t in ticks if lo - 1e-9 * step <= t <= hi + 1e-9 * step]
        if len(ticks) > most:
            break
        best = ticks
        if len(ticks) >= 3:
            break
    return best or [lo, (lo + hi) / 2, hi]


def log_ticks(lo: float, hi: float, most: int) -> list[float]:
    """Ticks on a log axis over [lo, hi] (> 0): the powers of ten in it (every second, third, ... where too
    many), with 2 and 5 between them where fewer than three; round linear ticks in a range under a decade."""
    if not (lo > 0 and hi > lo):
        return nice_ticks(lo, hi, most)
    a, b = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    for mantissas in ((1,), (1, 2, 5), (1, 1.5, 2, 3, 5, 7)):
        ticks = [m * 10.0**e for e in range(a, b + 1) for m in mantissas]
        ticks = [t for t in ticks if lo * (1 - 1e-9) <= t <= hi * (1 + 1e-9)]
        if len(ticks) >= 3 and mantissas == (1,):  # every step-th decade, 1 among them where it shows
            step = max(1, math.ceil((math.log10(ticks[-1]) - math.log10(ticks[0])) / (max(3, most) - 1)))
            picked = [t for t in ticks if round(math.log10(t)) % step == 0]
            return picked if len(picked) >= 3 else ticks[:: max(1, (len(ticks) - 1) // 2)]
        if len(ticks) >= 3:
            return ticks[: max(3, most)]
    return nice_ticks(lo, hi, most)


def tick_label(v: float) -> str:
    """A tick's label in plain notation, as short as it reads: 0.001, 0.25, 12, 3000, 1.5e+06 (1e-05)."""
    if v == 0:
        return "0"
    if 1e-4 <= abs(v) < 1e6:
        return f"{v:.6f}".rstrip("0").rstrip(".")[: 8 if abs(v) < 1 else 12]
    return f"{v:.2g}".replace("e-0", "e-").replace("e+0", "e+")


ANSI = re.compile(r"\x1b\[[0-9;]*m")
RESET = "\x1b[0m"


def uncoloured(text: str) -> str:
    """`text` without its ANSI colours (what a reader of the picture sees)."""
    return ANSI.sub("", text)


def on_canvas(line: str, width: int, colour) -> str:
    """A heading line (ANSI text) padded to `width` on the plot's canvas colour, so that it reads as part of
    the plot (no colour, as in `dltui show`'s "clear" theme: the line as it is)."""
    if colour is None or colour == "default":
        return line
    from plotext import colorize  # loaded already wherever a plot is drawn

    start = colorize(" ", background=colour).split(" ")[0]
    pad = " " * max(0, width - len(uncoloured(line)))
    return start + line.replace(RESET, RESET + start) + pad + RESET


def key_lines(keys: list[tuple[str, Any, str]], width: int) -> list[str]:
    """The key's entries (a coloured glyph, its label) packed into at most MAX_KEY_LINES lines of `width`;
    when more are left, the last line ends in '…'."""
    lines: list[list[tuple[str, Any, str]]] = []  # per line: its entries as (label, colour, glyph)
    for label, colour, glyph in keys:
        entry = (shorten(label, width - len(glyph) - 1), colour, glyph)
        if lines and _length(lines[-1] + [entry]) <= width:
            lines[-1].append(entry)
        else:
            lines.append([entry])
    if len(lines) > MAX_KEY_LINES:
        lines = lines[:MAX_KEY_LINES]
        last = lines[-1]
        while len(last) > 1 and _length(last) + 2 > width:
            last.pop()
        label, colour, glyph = last[-1]
        before = _length(last[:-1]) + len(KEY_GAP) if len(last) > 1 else 0
        last[-1] = (shorten(label, width - before - len(glyph) - 1 - len(KEY_GAP) - 1), colour, glyph)
        last.append(("", None, "…"))
    return [
        KEY_GAP.join(" ".join(t for t in (paint(g, c), lab) if t) for lab, c, g in line) for line in lines
    ]


def _length(line: list[tuple[str, Any, str]]) -> int:
    return sum(len(g) + 1 + len(lab) for lab, _, g in line) + len(KEY_GAP) * (len(line) - 1)


def paint(text: str, colour) -> str:
    """`text` in `colour` (a plotext colour: a name, a 256-colour number or RGB), as ANSI codes; a list of
    colours paints the characters one by one (a colour scale)."""
    from plotext import colorize  # loaded already wherever a plot is drawn

    if isinstance(colour, list):
        return "".join(paint(ch, c) for ch, c in zip(text, colour))
    return text if colour is None else colorize(text, colour)


LAYER_SCALE_CELLS = 6  # the key's colour scale from layer 1 to the last


def layer_colour(i: int, n: int):
    """Layer i of n on the sequential scale: layer 1 (input) dark blue to the last yellow, distinct at any
    n."""
    return sequential(i / max(1, n - 1))


def layer_key(plt, n: int, hidden: bool = False) -> None:
    """One key entry for n layers' colours: the scale from layer 1 to layer n (one line however many layers);
    `hidden`: the layers are the hidden ones (a probe of activations), not every weighted layer."""
    scale = [sequential(i / (LAYER_SCALE_CELLS - 1)) for i in range(LAYER_SCALE_CELLS)]
    label = f"hidden layer 1 … {n}" if hidden else f"layer 1 (input) … {n} (output)"
    plt.key(label if n > 1 else label.split(" …")[0], scale, SWATCH * LAYER_SCALE_CELLS)


def decade_ticks(plt, axis: str, values: list[float]) -> None:
    """Ticks on an axis that holds log10 values, labelled in plain numbers (1e-4 ... 0.01, 0.1, 1 ... 100): at
    the powers of ten, with 2 and 5 between them where fewer than three decades show (log_ticks); few enough
    that each gets its own row (or room for its label) with space between. Two ticks on one row would
    overwrite each other's label."""
    lo, hi = min(values), max(values)
    most = max(3, min(7, tick_room(plt, axis)))
    ticks = log_ticks(10.0**lo, 10.0**hi, most)
    if len(ticks) < 3:  # a point: the decades around it
        ticks = [10.0**e for e in range(math.floor(lo) - 1, math.ceil(hi) + 2)]
    (plt.xticks if axis == "x" else plt.yticks)(
        [math.log10(t) for t in ticks],
        [tick_label(t) if 0.01 <= t < 1e4 else power_of_ten(round(math.log10(t))) for t in ticks],
    )


AXIS_ROWS_LESS = 6  # a plot's rows less its canvas's: title, key, frame (2), tick labels, axis label
TICK_LABEL_COLS = 8  # an x tick label ("1e-05") and the space either side of it


def tick_room(plt, axis: str) -> int:
    """How many ticks fit on a plot's axis one line (y) or one label (x) apart, from the size it is drawn
    at."""
    if axis == "y":
        return (getattr(plt, "height", 20) - AXIS_ROWS_LESS + 1) // 2
    return (getattr(plt, "width", 80) - TICK_LABEL_COLS) // TICK_LABEL_COLS


def power_of_ten(exponent: int) -> str:
    """10**exponent as a tick reads it: 0.01, 0.1, 1, 10, 100 near 1, else 1e-4, 1e+03."""
    return f"{10.0**exponent:g}" if -2 <= exponent <= 2 else f"1e{exponent:+d}".replace("+", "")


def robust_top(peaks: list[float]) -> float:
    """The top of a y-axis over lines whose highest points are `peaks`: the highest peak within 3x the median
    peak, so that one run that blew up (a loss of 412 among losses of 2) cannot squash the others to the
    floor."""
    middle = sorted(peaks)[len(peaks) // 2]
    return max([p for p in peaks if p <= 3 * middle] or peaks)
