"""The learning-rate range test's view: loss against lr on a log axis (`dltui lrfind`,
core/probes/rangetest.py)."""

from __future__ import annotations

import math
from typing import Any

from ...core.rules.numbers import is_number
from ..viewkit import RunData, ViewOptions, selected_run, view


def _lr_points(run: RunData) -> tuple[list[float], list[float]]:
    pts = [
        (r["lr"], r["train_loss"])
        for r in run.records
        if isinstance(r.get("lr"), (int, float))
        and r["lr"] > 0
        and isinstance(r.get("train_loss"), (int, float))
        and math.isfinite(r["train_loss"])
    ]
    return [p[0] for p in pts], [p[1] for p in pts]


def _mark(plt, lr: Any, lo: float, hi: float, colour: str, label: str) -> None:
    """A vertical marker at `lr` (from the untrusted summary) from `lo` to `hi`."""
    if is_number(lr) and lr > 0:
        plt.plot([lr, lr], [lo, hi], color=colour, marker="dot", label=f"{label} {lr:.2g}")


@view("lrfind", "lr range test")
def draw_lrfind(plt, runs: list[RunData], opts: ViewOptions) -> None:
    """Loss against lr on a log axis, with the steepest descent and the divergence marked (hints only)."""
    run = selected_run(runs, opts)
    xs, ys = _lr_points(run) if run else ([], [])
    if not xs:
        plt.title("lr range test (no step yet)")
        return
    plt.xscale("log")
    lo, hi = min(ys), min(max(ys), 1.5 * ys[0])  # the blow-up at the end would flatten the rest
    plt.plot(xs, [min(y, hi) for y in ys], color=run.colour, marker="braille", label="loss")
    _mark(plt, run.summary.get("steepest_lr"), lo, hi, "green", "steepest")
    _mark(plt, run.summary.get("diverged_lr"), lo, hi, "red", "diverged")
    plt.title(
        f"{run.variant}: loss vs lr (a hint: pick below the steepest fall, well below the divergence)",
        f"{run.variant}: loss vs lr; pick below the steepest fall",
        f"{run.variant}: loss vs lr",
    )
    plt.xlabel("learning rate (log)")
    plt.ylabel("train loss (this step)")
