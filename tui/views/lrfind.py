"""The learning-rate range test's view: loss against lr on a log axis (`dltui lrfind`,
core/probes/rangetest.py), the smoothed loss over the raw one, and the suggested lr marked (the rule:
core/rules/lrrange.py)."""

from __future__ import annotations

import math
from typing import Any

from ...core.rules import lrrange
from ...core.rules.numbers import is_number
from ..viewkit import RunData, ViewOptions, selected_run, tick_room, view

RAW_COLOUR = "gray"  # each step's own loss, behind the smoothed curve


def _lr_points(run: RunData) -> tuple[list[float], list[float | None]]:
    """(lr, loss) of each step with a positive lr; a non-finite loss is None (it ends the curve)."""
    pts = [
        (r["lr"], r["train_loss"] if is_number(r.get("train_loss")) else None)
        for r in run.records
        if is_number(r.get("lr")) and r["lr"] > 0
    ]
    return [p[0] for p in pts], [p[1] for p in pts]


def _mark(plt, lr: Any, lo: float, hi: float, colour: str, label: str) -> None:
    """A vertical line at `lr` (from the untrusted summary) from `lo` to `hi`, on the log10 axis."""
    if is_number(lr) and lr > 0 and math.isfinite(lr):
        x = math.log10(lr)
        plt.plot([x, x], [lo, hi], color=colour, marker="dot", label=f"{label} {lrrange.lr_label(lr)}")


@view("lrfind", "lr range test")
def draw_lrfind(plt, runs: list[RunData], opts: ViewOptions) -> None:
    """Loss against lr (log axis, ticks at powers of ten), raw and smoothed, with the suggested lr and the
    divergence marked."""
    run = selected_run(runs, opts)
    lrs, losses = _lr_points(run) if run else ([], [])
    n = lrrange.finite_prefix(lrs, losses)
    pts = [(math.log10(lr), v) for lr, v in zip(lrs[:n], losses[:n]) if v is not None and math.isfinite(v)]
    if not pts:
        plt.title("lr range test (no step yet)")
        return
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    smooth = lrrange.smoothed(ys)
    lo, hi = (
        min(ys),
        min(max(ys), 1.5 * max(smooth[: max(1, len(smooth) // 4)])),
    )  # a blow-up would flatten it
    plt.plot(xs, [min(y, hi) for y in ys], color=RAW_COLOUR, marker="braille", label="each step")
    plt.plot(xs, [min(y, hi) for y in smooth], color=run.colour, marker="braille", label="smoothed")
    suggested = run.summary.get("suggested_lr", run.summary.get("steepest_lr"))  # steepest_lr: older runs
    _mark(plt, suggested, lo, hi, "green", "suggested")
    _mark(plt, run.summary.get("diverged_lr"), lo, hi, "red", "diverged")
    ticks, labels = lrrange.lr_ticks(min(xs), max(xs), tick_room(plt, "x"))
    plt.xticks(ticks, labels)
    plt.title(
        f"{run.variant}: loss vs lr (suggested: the steepest fall of the smoothed loss)",
        f"{run.variant}: loss vs lr; suggested: the steepest fall",
        f"{run.variant}: loss vs lr",
    )
    plt.xlabel("learning rate (log)")
    plt.ylabel("train loss (per step)")
