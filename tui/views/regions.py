"""The decision-regions view: what a 2-D classifier predicts over a grid, with the test points on top."""

from __future__ import annotations

from typing import Any

from ...core.readout.colours import PALETTE
from ..viewkit import RunData, ViewOptions, selected_run, snapshots_of, view

REGION_MARK, POINT_MARK = "·", "●"


def _latest(run: RunData | None, kind: str) -> dict[str, Any] | None:
    snaps = snapshots_of(run, kind)
    return snaps[-1] if snaps else None


def _cells(snap: dict[str, Any], cls: int) -> tuple[list[float], list[float]]:
    """The grid points predicted as `cls`."""
    xs, ys = [], []
    for y, row in zip(snap["ys"], snap["classes"]):
        for x, c in zip(snap["xs"], row):
            if c == cls:
                xs.append(x)
                ys.append(y)
    return xs, ys


def _accuracy_at(run: RunData, epoch: int) -> str:
    acc = next((r.get("test_acc") for r in run.records if r.get("epoch") == epoch), None)
    return f", test {100 * acc:.1f}%" if acc is not None else ""


@view("regions", "decision regions")
def draw_regions(plt, runs: list[RunData], opts: ViewOptions) -> None:
    """The selected run's latest decision regions (small dots, one colour per class) and test points (●); the
    classes' colours and the two marks in the key."""
    run = selected_run(runs, opts)
    snap = _latest(run, "regions")
    if snap is None:
        plt.title("decision regions (no snapshot yet)")
        return
    pts = snap["points"]
    n_classes = snap.get("n_classes") or 1 + max(max(map(max, snap["classes"])), max(pts["label"], default=0))
    for c in range(n_classes):
        colour = PALETTE[c % len(PALETTE)]
        gx, gy = _cells(snap, c)
        if gx:
            plt.scatter(gx, gy, color=colour, marker=REGION_MARK)
        px = [x for x, lab in zip(pts["x"], pts["label"]) if lab == c]
        py = [y for y, lab in zip(pts["y"], pts["label"]) if lab == c]
        if px:
            plt.scatter(px, py, color=colour, marker=POINT_MARK)
    plt.xlim(snap["xs"][0], snap["xs"][-1])
    plt.ylim(snap["ys"][0], snap["ys"][-1])
    for c in range(n_classes):
        plt.key(f"class {c}", PALETTE[c % len(PALETTE)])
    plt.key("predicted region", glyph=REGION_MARK)
    plt.key("test point", glyph=POINT_MARK)
    plt.title(f"{run.variant} epoch {snap['epoch']}{_accuracy_at(run, snap['epoch'])}")
