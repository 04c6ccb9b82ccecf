"""The views every preset can use: loss and accuracy curves per run, and the polynomial's learned function.

With smoothing on (ViewOptions.smooth > 0) a curve is drawn twice: the raw values faint behind, and their
causal, debiased moving average (core.rules.smoothing.ema) in the run's colour, so the smoothing never hides
what the data did. Runs that differ only in `seed` (core/readout/sweeps.py) are one line: their mean, in a
faint band from their lowest to their highest value, so a 10 lr x 4 seed sweep draws ten lines, not forty.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ...core.readout.colours import PALETTE, RAW_COLOUR, TARGET_COLOUR, sequential
from ...core.readout.sweeps import Band, combined, draw_band, seed_groups
from ...core.spec.views import X_LABELS
from ..viewkit import RunData, ViewOptions, curve, log_axis, robust_top, selected_run, snapshots_of, view

SPLITS = (("train", "braille"), ("val", "dot"), ("test", "dot"))
OFF_SCALE = (
    "^"  # a point above the top of the axis, drawn at the top edge (ASCII: see core.readout.colours.MARKERS)
)


def _same(run: RunData, a: str, b: str) -> bool:
    """True when two metrics are the same numbers in every record (the polynomial's test set is its train
    set)."""
    return run.tracks.same(run.records, a, b)


@dataclass
class Line:
    """A line to draw: one run's split, or a seed group's (the mean of its runs, in their min–max band)."""

    runs: list[RunData]
    key: str
    marker: str
    xs: list
    ys: list
    band: Band | None = None
    tint: object = None  # a group's own colour (see _grouped); else the run's, lighter for val and test
    label: str | None = None

    @property
    def colour(self):
        if self.tint is not None:
            return self.tint
        colour = self.runs[0].colour
        return colour if self.key.startswith("train") else lighter(colour)

    @property
    def peak(self) -> float:
        return max(self.ys)


def _points(
    runs: list[RunData], key: str, opts: ViewOptions, smooth: float = 0.0
) -> tuple[list, list, Band | None]:
    """(xs, ys, band) of `key`: one run's decimated curve, or several runs' mean and band (band None for
    one)."""
    return combined([curve(r, key, opts, smooth) for r in runs])


MAX_CURVES = 8  # above this many lines a panel draws the train split only, then groups of runs
TEST_TINT = 0.45  # how far a val/test line's colour is from its run's towards white


def lighter(colour):
    """A run's colour for its val/test lines: nearer white (an RGB colour), so that train and test never
    share a colour; a named or numbered colour stays as it is (the marker tells them apart)."""
    if isinstance(colour, tuple):
        return tuple(round(c + (255 - c) * TEST_TINT) for c in colour)
    return colour


def _grouping_key(runs: list[RunData]) -> str | None:
    """The config key (not the seed) with the fewest distinct values, 2 or more, among the runs: what a
    crowded panel groups them by (adam-vs-sgd: the optimizer); None when no key groups them."""
    keys = sorted({k for r in runs for k in r.config if k != "seed"})
    counts = {k: len({repr(r.config.get(k)) for r in runs}) for k in keys}
    fits = [k for k, n in counts.items() if 1 < n < len(runs)]
    return min(fits, key=lambda k: (counts[k], k)) if fits else None


def _lines(runs: list[RunData], opts: ViewOptions, metric: str) -> list[Line]:
    """The lines to draw (_all_lines), thinned where more than MAX_CURVES: the train split only, then, if
    still too many, one line per group of runs (_grouping_key) in its runs' min–max band."""
    out = _all_lines(runs, opts, metric)
    if len(out) <= MAX_CURVES:
        return out
    out = [line for line in out if line.key.startswith("train")]
    by = _grouping_key(runs) if len(out) > MAX_CURVES else None
    if by is None:
        return out
    groups: dict[str, list[RunData]] = {}
    for r in runs:
        groups.setdefault(str(r.config.get(by)), []).append(r)
    key = f"train_{metric}"
    grouped = []
    for i, (value, members) in enumerate(groups.items()):
        xs, ys, b = _points(members, key, opts)
        if xs:
            label = f"{by}={value} ({len(members)} runs)"
            grouped.append(Line(members, key, "braille", xs, ys, b, PALETTE[i % len(PALETTE)], label))
    return grouped


def _all_lines(runs: list[RunData], opts: ViewOptions, metric: str) -> list[Line]:
    """Every line to draw: per seed group (runs that differ only in `seed`, core.readout.sweeps) and split, a
    test split equal to train's left out; a group of one run is that run's curve."""
    out = []
    for group in seed_groups(runs, lambda r: r.config):
        for split, marker in SPLITS:
            key = f"{split}_{metric}"
            members = [r for r in group if split == "train" or not _same(r, key, f"train_{metric}")]
            xs, ys, b = _points(members, key, opts) if members else ([], [], None)
            if xs:
                out.append(Line(members, key, marker, xs, ys, b))
    return out


def _curves(plt, runs: list[RunData], opts: ViewOptions, metric: str, scale: float = 1.0) -> bool:
    """One line per run and split: the run's colour (its row in the runs table is the key), braille for train
    and dots for val/test; a seed group's runs as one mean line in a faint min–max band. Losses above the
    robust top are drawn at the top edge with ^; True if any was drawn."""
    lines = _lines(runs, opts, metric)
    top = robust_top([line.peak for line in lines]) if lines and metric == "loss" else None
    off = ([], [])

    def y(v: float) -> float:
        return _cap(v, top) * scale

    for line in lines:
        xs, ys, b = line.xs, line.ys, line.band
        if opts.smooth:
            plt.plot(xs, [y(v) for v in ys], color=RAW_COLOUR, marker=line.marker)
            xs, ys, b = _points(
                line.runs, line.key, opts, opts.smooth
            )  # the EMA over every point, then thinned out
        if b is not None:
            draw_band(plt, b, line.colour, line.marker, label=line.label, y=y)
        else:
            plt.plot(xs, [y(v) for v in ys], color=line.colour, marker=line.marker, label=line.label)
        for x, v in zip(xs, ys):
            if top is not None and v > top:
                off[0].append(x)
                off[1].append(top)
    if off[0]:
        plt.scatter(*off, color=RAW_COLOUR, marker=OFF_SCALE)
    plt.xlabel(X_LABELS.get(opts.x, opts.x))
    return bool(lines)


def _cap(y: float, top: float | None) -> float:
    return y if top is None else min(y, top)


def _off_note(runs: list[RunData], opts: ViewOptions) -> str:
    lines = _lines(runs, opts, "loss")
    if not lines:
        return ""
    top = robust_top([line.peak for line in lines])
    return f", {OFF_SCALE} above {top:.3g}" if any(line.peak > top for line in lines) else ""


def _seeds(runs: list[RunData], opts: ViewOptions, metric: str) -> str:
    """How a seed group (or a crowded panel's group) is drawn, for the title, when there is one."""
    lines = _lines(runs, opts, metric)
    if any(line.label for line in lines):
        return ", train: mean & range per group (z: each run)"
    if len(lines) < len(_all_lines(runs, opts, metric)):
        return ", train only (z: each run)"
    return ", seeds: mean & band" if any(len(g) > 1 for g in seed_groups(runs, lambda r: r.config)) else ""


def _smoothing(opts: ViewOptions) -> str:
    return f", ema {opts.smooth:g}" if opts.smooth else ""  # short: plotext drops a title wider than the plot


def _key(runs: list[RunData], metric: str, opts: ViewOptions) -> str:
    """How to tell the splits apart, for the title: only the splits that are drawn (none where a crowded
    panel draws the train split only)."""
    if len(_lines(runs, opts, metric)) < len(_all_lines(runs, opts, metric)):
        return ""
    drawn = [
        split
        for split, _ in SPLITS
        if any(
            run.tracks.has(run.records, f"{split}_{metric}")
            and (split == "train" or not _same(run, f"{split}_{metric}", f"train_{metric}"))
            for run in runs
        )
    ]
    if len(drawn) < 2:
        return ""
    return ": " + ", ".join(("⣿ " if split == "train" else "• ") + split for split in drawn)


@view("loss", "loss")
def draw_loss(plt, runs: list[RunData], opts: ViewOptions) -> None:
    """Train (braille) and val/test (dots) loss of every run, one colour per run."""
    logged = log_axis(opts, [v for line in _lines(runs, opts, "loss") for v in line.ys])
    if _curves(plt, runs, opts, "loss") and logged:  # plotext cannot build an empty log axis
        plt.yscale("log")
    plt.title(
        ("loss (log)" if logged else "loss")
        + _key(runs, "loss", opts)
        + _seeds(runs, opts, "loss")
        + _smoothing(opts)
        + _off_note(runs, opts)
    )


@view("accuracy", "accuracy")
def draw_accuracy(plt, runs: list[RunData], opts: ViewOptions) -> None:
    """Train and val/test accuracy in percent of every run (never on a log axis)."""
    _curves(plt, runs, replace(opts, log=False), "acc", scale=100.0)
    plt.ylim(0, 100)  # chance-level noise between 8% and 11% must not look like learning
    plt.yticks([0, 25, 50, 75, 100])
    plt.title("accuracy %" + _key(runs, "acc", opts) + _seeds(runs, opts, "acc") + _smoothing(opts))


CORE_X = 2.0  # the polynomial's x is drawn from N(0, 1) (core/data/polynomial.py): 95% of the points in ±2


@view("function", "learned vs target")
def draw_function(plt, runs: list[RunData], opts: ViewOptions) -> None:
    """The selected run's learned curve at each recorded epoch as braille lines (early dark, late bright, the
    epochs named in the key in their colours), the target as a dotted line in TARGET_COLOUR. Both are drawn
    where the data is (|x| <= CORE_X, within the points' range) and the y-axis spans the target there, so
    the x⁴ tail beyond the last points cannot flatten the fit; a wilder learned curve meets the edge."""
    run = selected_run(runs, opts)
    snaps = snapshots_of(run, "function")
    if not snaps:
        plt.title("learned vs target (no snapshot yet)")
        return
    inside = [i for i, x in enumerate(snaps[0]["x"]) if abs(x) <= CORE_X] or list(range(len(snaps[0]["x"])))
    xs = [snaps[0]["x"][i] for i in inside]
    target = [snaps[0]["target"][i] for i in inside]
    lo, hi = min(target), max(target)
    pad = 0.15 * (hi - lo or 1.0)
    lo, hi = lo - pad, hi + pad
    plt.plot(xs, target, color=TARGET_COLOUR, marker="dot", label="target")  # first in the key
    for i, s in enumerate(snaps):
        colour = sequential(i / max(1, len(snaps) - 1))
        learned = [min(hi, max(lo, s["learned"][j])) for j in inside if j < len(s["learned"])]
        plt.plot(xs[: len(learned)], learned, color=colour, marker="braille", label=f"{s['epoch']}")
    plt.plot(xs, target, color=TARGET_COLOUR, marker="dot")  # and on top of the learned curves
    plt.ylim(lo, hi)
    plt.title(f"{run.variant}: learned by epoch vs target")
    plt.xlabel(f"x (|x| ≤ {CORE_X:g}: 95% of the points)")


draw_function.reads = "snapshots"  # redrawn only when a snapshot arrives, not at every epoch
