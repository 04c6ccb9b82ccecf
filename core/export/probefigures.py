"""The instruments in reports: the confusion matrix (CSV and heatmap) and sharpness against 2/lr.

Read from a run's files, which are untrusted: a matrix that is not square counts is ignored.
matplotlib is imported lazily (inside the figure functions); no torch here.
"""

from __future__ import annotations

from typing import Any

from ..rules.numbers import is_number, is_whole
from .figures import X_LABELS, label, series

MAX_CLASSES = 1000


def valid_matrix(m: Any) -> bool:
    """A square list of lists of non-negative whole numbers."""
    return (
        isinstance(m, list)
        and 0 < len(m) <= MAX_CLASSES
        and all(isinstance(row, list) and len(row) == len(m) for row in m)
        and all(is_whole(v) and v >= 0 for row in m for v in row)
    )


def confusion_of(
    summary: dict[str, Any], snapshots: list[dict[str, Any]]
) -> tuple[int | None, list[list[int]] | None]:
    """(epoch, matrix): the latest confusion snapshot, else the summary's (epoch unknown); (None, None) if neither."""
    snaps = [s for s in snapshots if s.get("kind") == "confusion" and valid_matrix(s.get("matrix"))]
    if snaps:
        return snaps[-1].get("epoch"), snaps[-1]["matrix"]
    m = summary.get("confusion") if isinstance(summary, dict) else None
    return (None, m) if valid_matrix(m) else (None, None)


def row_shares(m: list[list[int]]) -> list[list[float]]:
    """Each row over its sum: the share of a true class predicted as each class."""
    return [[v / max(1, sum(row)) for v in row] for row in m]


def confusion_csv(m: list[list[int]]) -> str:
    """Counts, one row per true class, one column per predicted class."""
    k = len(m)
    lines = ["true\\predicted," + ",".join(str(c) for c in range(k))]
    lines += [f"{i}," + ",".join(str(v) for v in row) for i, row in enumerate(m)]
    return "\n".join(lines) + "\n"


def confusion_figure(run):
    """The run's last confusion matrix as a heatmap of row shares, with the counts written in. None without one."""
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
