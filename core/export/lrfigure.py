"""The report figure of an lr range test (`dltui lrfind`): loss against lr on a log axis, each step's loss
faint behind the smoothed curve, the suggested lr and the divergence as vertical lines, ticks at powers of
ten. The smoothing, the suggestion and the tick labels are the lab's (core/rules/lrrange.py). matplotlib is
imported lazily; no torch here.
"""

from __future__ import annotations

import math

from ..readout.colours import PALETTE, hex_colour
from ..rules import lrrange
from ..rules.numbers import is_number
from .figures import RAW_ALPHA, label


def lrfind_figure(run, x: str = "epoch"):
    """The range test's curve with its suggestion; None when no step has a finite loss. `x` is ignored: the
    axis is the lr."""
    records = [r for r in run.metrics() if is_number(r.get("lr")) and r["lr"] > 0]
    lrs = [r["lr"] for r in records]
    losses = [r.get("train_loss") if is_number(r.get("train_loss")) else None for r in records]
    n = lrrange.finite_prefix(lrs, losses)
    pts = [(lr, v) for lr, v in zip(lrs[:n], losses[:n]) if v is not None and math.isfinite(v)]
    if not pts:
        return None
    from matplotlib.figure import Figure

    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    smooth = lrrange.smoothed(ys)
    colour = hex_colour(PALETTE[0])
    fig = Figure(figsize=(7, 4.2), layout="constrained")
    ax = fig.subplots()
    ax.plot(xs, ys, color=colour, alpha=RAW_ALPHA, linewidth=0.8, label="each step")
    ax.plot(xs, smooth, color=colour, label="smoothed (debiased EMA, both ways)")
    s = run.summary
    for key, colour_, name in (("suggested_lr", "C2", "suggested"), ("diverged_lr", "C3", "diverged")):
        lr = s.get(key, s.get("steepest_lr") if key == "suggested_lr" else None)
        if is_number(lr) and lr > 0:
            ax.axvline(lr, color=colour_, linestyle="--", label=f"{name} {lrrange.lr_label(lr)}")
    ax.set_xscale("log")
    lo, hi = math.log10(min(xs)), math.log10(max(xs))
    ticks, labels = lrrange.lr_ticks(lo, hi, 7)
    ax.set_xticks([10**t for t in ticks], labels)
    ax.minorticks_off()
    top = max(v for v in smooth[: max(1, len(smooth) // 4)] if v is not None)
    ax.set_ylim(min(ys) - 0.05 * abs(min(ys)), min(max(ys), 1.5 * top))  # a blow-up would flatten the rest
    ax.set_xlabel("learning rate (log)")
    ax.set_ylabel("train loss (per step)")
    ax.set_title(f"{label(run)}: lr range test")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    return fig
