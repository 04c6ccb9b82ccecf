"""The report figures of what probes measured: the polynomial's learned function, sharpness against 2/lr and
the confusion matrix (a heatmap, and its CSV). core.spec.probes names each probe's figure here, and every
figure function is f(run, x) -> a matplotlib Figure, or None when the run has nothing to draw.

Read from a run's files, which are untrusted: a matrix that is not square counts is ignored
(core.readout.confusion). matplotlib is imported lazily (inside the figure functions); no torch here.
"""

from __future__ import annotations

from ..readout.colours import TARGET_COLOUR, hex_colour, sequential
from ..readout.confusion import confusion_of, row_shares
from ..readout.series import series
from ..rules.numbers import is_number
from ..spec.views import X_LABELS
from .figures import _decorate, _new_figure, label


def function_figure(run, x: str = "epoch"):
    """The learned function at each recorded epoch against the target (snapshots kind "function"); drawn
    against the input, so `x` is not used."""
    snaps = [s for s in run.snapshots() if s.get("kind") == "function"]
    if not snaps:
        return None
    fig, (ax,) = _new_figure(1)
    for i, s in enumerate(snaps):
        colour = hex_colour(sequential(i / max(1, len(snaps) - 1)))
        ax.plot(s["x"], s["learned"], color=colour, linewidth=1.4, label=f"learned, epoch {s['epoch']}")
    target = snaps[0]["target"]
    ax.plot(
        snaps[0]["x"], target, color=hex_colour(TARGET_COLOUR), linestyle="--", linewidth=2, label="target"
    )  # on top
    pad = 0.15 * ((max(target) - min(target)) or 1.0)
    ax.set_ylim(min(target) - pad, max(target) + pad)  # an early, wild curve leaves at the edge
    _decorate(ax, None, "y", f"{label(run)}: learned vs target function", "linear")
    ax.set_xlabel("x")
    return fig


def confusion_csv(m: list[list[int]]) -> str:
    """Counts, one row per true class, one column per predicted class."""
    k = len(m)
    lines = ["true\\predicted," + ",".join(str(c) for c in range(k))]
    lines += [f"{i}," + ",".join(str(v) for v in row) for i, row in enumerate(m)]
    return "\n".join(lines) + "\n"


def confusion_figure(run, x: str = "epoch"):
    """The run's last confusion matrix as a heatmap of row shares, with the counts written in (one matrix:
    `x` is not used). None without one."""
    epoch, m = confusion_of(run.summary, run.snapshots())
    if m is None:
        return None
    from matplotlib.figure import Figure

    k = len(m)
    size = min(12, 3 + 0.5 * k)
    fig = Figure(figsize=(size, size * 0.85), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(row_shares(m), cmap="Blues", vmin=0, vmax=1)
    if k <= 20:
        for i, row in enumerate(m):
            for j, v in enumerate(row):
                ax.text(
                    j,
                    i,
                    str(v),
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if v > 0.6 * max(1, sum(row)) else "black",
                )
    ax.set_xticks(range(k))
    ax.set_yticks(range(k))
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    when = f", epoch {epoch}" if epoch is not None else ""
    ax.set_title(f"{label(run)}: confusion on the test set{when}")
    fig.colorbar(image, ax=ax, label="share of the true class")
    return fig


def sharpness_figure(run, x: str = "epoch"):
    """Sharpness over the run with its 2/lr line. None when the run did not measure it."""
    xs, ys = series(run.metrics(), "sharpness", x)
    if not ys:
        return None
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 4.2), layout="constrained")
    ax = fig.subplots()
    ax.plot(xs, ys, color="C0", marker=".", label="sharpness (top Hessian eigenvalue)")
    lr = run.config.get("lr")
    if is_number(lr) and lr > 0:
        ax.axhline(2 / lr, color="C3", linestyle="--", label=f"2/lr = {2 / lr:g}")
    ax.set_xlabel(X_LABELS[x])
    ax.set_ylabel("sharpness")
    ax.set_title(f"{label(run)}: sharpness vs 2/lr")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    return fig
