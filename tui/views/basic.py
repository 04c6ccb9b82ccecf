"""The views every preset can use: loss and accuracy curves per run, and the polynomial's learned function.

With smoothing on (ViewOptions.smooth > 0) a curve is drawn twice: the raw values faint behind, and their
causal, debiased moving average (core.smoothing.ema) in the run's colour, so the smoothing never hides
what the data did.
"""
from __future__ import annotations

from dataclasses import replace

from ...core.present import PALETTE, RAW_COLOUR, X_LABELS
from ..viewkit import RunData, ViewOptions, selected_run, series, snapshots_of, view

SPLITS = (("train", "braille"), ("val", "dot"), ("test", "dot"))


def _same(run: RunData, a: str, b: str) -> bool:
    """True when two metrics are the same numbers in every record (the polynomial's test set is its train set)."""
    return run.tracks.same(run.records, a, b)


def _curves(plt, runs: list[RunData], opts: ViewOptions, metric: str, scale: float = 1.0) -> bool:
    """One line per run and split: the run's colour, braille for train and dots for val/test; True if any was drawn."""
    drawn = False
    for run in runs:
        for split, marker in SPLITS:
            key = f"{split}_{metric}"
            if split != "train" and _same(run, key, f"train_{metric}"):
                continue
            xs, ys = series(run, key, opts)
            if not xs:
                continue
            label = run.variant if split == "train" else None  # the title says which marker is which split
            if opts.smooth:
                plt.plot(xs, [y * scale for y in ys], color=RAW_COLOUR, marker=marker)
                xs, ys = series(run, key, opts, opts.smooth)  # the EMA over every point, then thinned out
            plt.plot(xs, [y * scale for y in ys], color=run.colour, marker=marker, label=label)
            drawn = True
    plt.xlabel(X_LABELS.get(opts.x, opts.x))
    return drawn


def _smoothing(opts: ViewOptions) -> str:
    return f", ema {opts.smooth:g}" if opts.smooth else ""  # short: plotext drops a title wider than the plot


def _key(runs: list[RunData], metric: str) -> str:
    """How to tell the splits apart, for the title: only the splits that are drawn."""
    drawn = [split for split, _ in SPLITS if any(
        run.tracks.has(run.records, f"{split}_{metric}")
        and (split == "train" or not _same(run, f"{split}_{metric}", f"train_{metric}")) for run in runs)]
    if len(drawn) < 2:
        return ""
    return ": " + ", ".join(("⣿ " if split == "train" else "• ") + split for split in drawn)


@view("loss", "loss")
def draw_loss(plt, runs: list[RunData], opts: ViewOptions) -> None:
    """Train (braille) and val/test (dots) loss of every run, one colour per run."""
    if _curves(plt, runs, opts, "loss") and opts.log:  # plotext cannot build an empty log axis
        plt.yscale("log")
    plt.title(("loss (log)" if opts.log else "loss") + _key(runs, "loss") + _smoothing(opts))


@view("accuracy", "accuracy")
def draw_accuracy(plt, runs: list[RunData], opts: ViewOptions) -> None:
    """Train and val/test accuracy in percent of every run (never on a log axis)."""
    _curves(plt, runs, replace(opts, log=False), "acc", scale=100.0)
    plt.title("accuracy %" + _key(runs, "acc") + _smoothing(opts))


@view("function", "learned vs target")
def draw_function(plt, runs: list[RunData], opts: ViewOptions) -> None:
    """The selected run's learned curve at each recorded epoch, over the target curve."""
    run = selected_run(runs, opts)
    snaps = snapshots_of(run, "function")
    if not snaps:
        plt.title("learned vs target (no snapshot yet)")
        return
    plt.plot(snaps[0]["x"], snaps[0]["target"], color="red", marker="braille", label="target")
    colours = [c for c in PALETTE if c != "red"]
    for i, s in enumerate(snaps):
        plt.plot(s["x"], s["learned"], color=colours[i % len(colours)], marker="dot", label=f"epoch {s['epoch']}")
    plt.title(f"{run.variant}: learned vs target")
    plt.xlabel("x")


draw_function.reads = "snapshots"  # redrawn only when a snapshot arrives, not at every epoch
