"""Views for the MNIST presets: final loss against the learning rate, per-class accuracy, hidden-unit similarity."""
from __future__ import annotations

import math

from ...core.present import PALETTE, X_LABELS
from ..viewkit import RunData, ViewOptions, decimate, series, selected_run, view

DIVERGED_COLOUR = "red"


def final_loss(run: RunData, key: str = "train_loss") -> float | None:
    """The run's last loss; None when it has none yet or it became non-finite."""
    if not run.records:
        return None
    v = run.records[-1].get(key)
    return v if isinstance(v, (int, float)) and math.isfinite(v) else None


def diverged(run: RunData) -> bool:
    """Diverged: the run says so, its last loss is not finite, or it ended above its first epoch's loss."""
    if run.status == "diverged" or (run.records and final_loss(run) is None):
        return True
    first = run.records[0].get("train_loss") if run.records else None
    return isinstance(first, (int, float)) and len(run.records) > 1 and final_loss(run) > first


def lr_points(runs: list[RunData]) -> tuple[dict[str, list[tuple[float, float]]], list[tuple[str, float]]]:
    """({optimizer: [(lr, final loss)] sorted by lr}, [(optimizer, lr) of diverged runs])."""
    curves: dict[str, list[tuple[float, float]]] = {}
    bad: list[tuple[str, float]] = []
    for r in runs:
        lr, opt = r.config.get("lr"), str(r.config.get("optimizer", "sgd"))
        if lr is None or not r.records:
            continue
        if diverged(r):
            bad.append((opt, lr))
        else:
            curves.setdefault(opt, []).append((lr, final_loss(r)))
    return {k: sorted(v) for k, v in curves.items()}, bad


@view("lr_curve", "final loss vs learning rate")
def draw_lr_curve(plt, runs: list[RunData], opts: ViewOptions) -> None:
    """Final train loss against lr on a log x-axis, one line per optimizer; diverged runs as red x at the top."""
    curves, bad = lr_points(runs)
    if not curves and not bad:
        plt.title("final train loss vs learning rate: no epochs yet")
        return
    plt.xscale("log")  # plotext fails on a log axis without data, hence after the check
    if opts.log:
        plt.yscale("log")
    for i, (opt, pts) in enumerate(sorted(curves.items())):
        plt.plot([p[0] for p in pts], [p[1] for p in pts], marker="dot", color=PALETTE[i % len(PALETTE)], label=opt)
    if bad:
        finite = [y for pts in curves.values() for _, y in pts]
        top = max(finite + [math.log(10)]) * 1.1
        plt.scatter([lr for _, lr in bad], [top] * len(bad), marker="x", color=DIVERGED_COLOUR, label="diverged")
    plt.title("final train loss vs learning rate" + (f" ({len(bad)} diverged)" if bad else ""))
    plt.xlabel("learning rate (log)")
    plt.ylabel("final train loss")


def class_points(run: RunData, x: str) -> tuple[list[float], list[list[float]]]:
    """(x values, per-class accuracy lists): the points inside each epoch, then the epoch's end."""
    xs: list[float] = []
    accs: list[list[float]] = []
    for rec in run.records:
        for t in rec.get("class_acc_trace") or []:
            if t.get(x) is not None:
                xs.append(t[x])
                accs.append(t["acc"])
        if rec.get("class_acc") is not None and rec.get(x) is not None:
            xs.append(rec[x])
            accs.append(rec["class_acc"])
    return xs, accs


@view("class_acc", "per-class test accuracy")
def draw_class_acc(plt, runs: list[RunData], opts: ViewOptions) -> None:
    """The selected run's test accuracy per class over time, one line per class."""
    run = selected_run(runs, opts)
    if run is None:
        return
    xs, accs = class_points(run, opts.x)
    n_classes = max((len(a) for a in accs), default=0)
    for c in range(n_classes):
        cx, cy = decimate(xs, [a[c] for a in accs])
        plt.plot(cx, cy, color=PALETTE[c % len(PALETTE)], label=str(c))
    plt.ylim(0, 1)
    plt.title(f"per-class test accuracy: {run.variant}")
    plt.xlabel(X_LABELS.get(opts.x, opts.x))
    plt.ylabel("test accuracy")


@view("hidden_similarity", "hidden-unit similarity")
def draw_hidden_similarity(plt, runs: list[RunData], opts: ViewOptions) -> None:
    """How alike the hidden units are per run (1.0: all identical, the symmetry is never broken)."""
    plain = ViewOptions(x=opts.x, log=False, selected=opts.selected, smooth=opts.smooth)
    for r in runs:
        xs, ys = series(r, "hidden_similarity", plain)
        if xs:
            plt.plot(xs, ys, color=r.colour, label=r.variant)
    plt.ylim(0, 1.05)
    plt.title("hidden-unit similarity (1 = all units identical)")
    plt.xlabel(X_LABELS.get(opts.x, opts.x))
    plt.ylabel("similarity")

