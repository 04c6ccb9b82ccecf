"""Views for the MNIST presets: final loss against the learning rate, per-class accuracy, hidden-unit
similarity."""

from __future__ import annotations

import math

from ...core.readout.colours import MARKERS, PALETTE, RAW_COLOUR, sequential
from ...core.rules.divergence import run_diverged
from ...core.rules.numbers import is_finite, is_number
from ...core.rules.status import RunStatus
from ...core.spec.views import X_LABELS
from ..viewkit import RunData, ViewOptions, curve, decade_ticks, log_axis, robust_top, selected_run, view


def final_loss(run: RunData, key: str = "train_loss") -> float | None:
    """The run's last loss; None when it has none yet or it became non-finite."""
    if not run.records:
        return None
    v = run.records[-1].get(key)
    return v if is_finite(v) else None


def diverged(run: RunData) -> bool:
    """Diverged by the one rule (core/rules/divergence.py): the run says so, its loss is non-finite now, or
    it finished well above its loss at init. A run still going is never marked on its way."""
    return run_diverged(run.records, run.status)


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


DIVERGED_MARK, OFF_SCALE = "X", "^"


def _final_points(runs: list[RunData]) -> dict[str, list[tuple[float, float, bool]]]:
    """{optimizer: [(lr, final loss, still running)]} of the runs that have a finite loss and did not
    diverge."""
    out: dict[str, list[tuple[float, float, bool]]] = {}
    for r in runs:
        lr = r.config.get("lr")
        if is_number(lr) and lr > 0 and r.records and not diverged(r):
            out.setdefault(str(r.config.get("optimizer", "sgd")), []).append(
                (lr, final_loss(r), r.status == RunStatus.RUNNING)
            )
    return {k: sorted(v) for k, v in out.items()}


@view("lr_curve", "final loss vs learning rate")
def draw_lr_curve(plt, runs: list[RunData], opts: ViewOptions) -> None:
    """Final train loss against lr, ticks at powers of ten: one line per optimizer through its measured points
    (o, x, ...), a run still going in grey, a diverged run as X at the top edge, a loss above the robust top
    as ^."""
    points, (_, bad) = _final_points(runs), lr_points(runs)
    if not points and not bad:
        plt.title("final train loss vs learning rate: no epochs yet")
        return
    optimizers = sorted(set(points) | {opt for opt, _ in bad})
    finite = [y for pts in points.values() for _, y, _ in pts]
    top = _top(runs, finite)
    ylog = log_axis(opts, finite)
    fy = (lambda y: math.log10(y)) if ylog else (lambda y: y)
    xs_all: list[float] = []
    for i, opt in enumerate(optimizers):
        xs_all += _optimizer_points(
            plt,
            points.get(opt, []),
            [lr for o, lr in bad if o == opt and lr > 0],
            PALETTE[i % len(PALETTE)],
            MARKERS[i % len(MARKERS)],
            fy(top),
            fy,
        )
    decade_ticks(plt, "x", xs_all)
    if ylog and finite:
        decade_ticks(plt, "y", [fy(y) for y in finite if y <= top])
    for i, opt in enumerate(optimizers):
        plt.key(opt, PALETTE[i % len(PALETTE)], MARKERS[i % len(MARKERS)])
    if bad:
        plt.key(f"diverged ({len(bad)})", glyph=DIVERGED_MARK)
    if any(y > top for y in finite):
        plt.key(f"above {top:.3g}", glyph=OFF_SCALE)
    if any(p[2] for pts in points.values() for p in pts):
        plt.key("running", RAW_COLOUR, "o")
    plt.title("final train loss vs learning rate", "final loss vs lr")
    plt.xlabel(
        "learning rate (log scale)" + ("; final train loss (log)" if ylog else "; y: final train loss")
    )


def _top(runs: list[RunData], finals: list[float]) -> float:
    """The y-axis top: the highest final loss not above 1.5x where the runs typically started (a final loss
    above that blew up, and would squash the others); ln 10 (chance on ten classes) before any."""
    starts = sorted(
        r.records[0]["train_loss"] for r in runs if r.records and _finite(r.records[0].get("train_loss"))
    )
    if not finals:
        return math.log(10)
    limit = 1.5 * starts[len(starts) // 2] if starts else robust_top(finals)
    return max([f for f in finals if f <= limit] or finals)


def _finite(v) -> bool:
    return is_finite(v)


def _optimizer_points(
    plt, pts: list[tuple[float, float, bool]], gone: list[float], colour, mark: str, top: float, fy
) -> list[float]:
    """One optimizer's line and points (x: log10 lr); returns the x values drawn."""
    xs = [math.log10(p[0]) for p in pts]
    ys = [min(fy(p[1]), top) for p in pts]
    if len(xs) > 1:
        plt.plot(xs, ys, color=colour, marker="braille")
    for x, y, p in zip(xs, ys, pts):
        plt.scatter(
            [x], [y], color=RAW_COLOUR if p[2] else colour, marker=OFF_SCALE if fy(p[1]) > top else mark
        )
    gone_x = [math.log10(lr) for lr in gone]
    if gone_x:
        plt.scatter(gone_x, [top] * len(gone_x), color=colour, marker=DIVERGED_MARK)
    return xs + gone_x


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


LEVELS = 8  # shades of the heatmap: accuracy 0-12%, ..., 88-100%
CELL = "█"


def _held(xs: list[float], accs: list[list[float]], at: list[float]) -> list[list[float] | None]:
    """The per-class accuracies measured last at or before each of `at` (None before the first)."""
    out, j = [], -1
    for x in at:
        while j + 1 < len(xs) and xs[j + 1] <= x:
            j += 1
        out.append(accs[j] if j >= 0 else None)
    return out


@view("class_acc", "per-class test accuracy")
def draw_class_acc(plt, runs: list[RunData], opts: ViewOptions) -> None:
    """The selected run's test accuracy per class over time as a heatmap: one row per class (0 at the top),
    dark for 0% to bright for 100%. Learning then forgetting each class in turn is a diagonal band."""
    run = selected_run(runs, opts)
    xs, accs = class_points(run, opts.x) if run else ([], [])
    if not xs:
        plt.title("per-class test accuracy (no measurement yet)")
        return
    n_classes = max(len(a) for a in accs)
    cols = max(10, getattr(plt, "width", 60) - 8)
    # One y value per canvas row (plotext's canvas is the plot's height less 5 rows: title, frame, ticks,
    # label), each row given to one class from the top: no row is left empty, each tick sits in its block.
    rows = max(n_classes, getattr(plt, "height", 20) - 5)
    owner = [k * n_classes // rows for k in range(rows)]  # class of each row, row 0 at the top
    lo, hi = min(xs), max(xs)
    at = [lo + (hi - lo) * i / (cols - 1) for i in range(cols)] if hi > lo else [lo]
    cells: list[tuple[list, list]] = [([], []) for _ in range(LEVELS)]
    for x, acc in zip(at, _held(xs, accs, at)):
        for k, c in enumerate(owner):
            if acc is not None and c < len(acc):
                level = min(LEVELS - 1, int(acc[c] * LEVELS))
                cells[level][0].append(x)
                cells[level][1].append(rows - 1 - k)
    for level, (cx, cy) in enumerate(cells):
        if cx and level:  # below 1/LEVELS: left dark, so that what is forgotten is a hole in the band
            plt.scatter(cx, cy, color=sequential(level / (LEVELS - 1)), marker=CELL)
    plt.ylim(0, rows - 1)
    centres = [rows - 1 - (owner.index(c) + rows - 1 - owner[::-1].index(c)) // 2 for c in range(n_classes)]
    plt.yticks(centres, [str(c) for c in range(n_classes)])
    plt.title(f"{run.variant}: accuracy per class, bright = 100%")
    plt.xlabel(X_LABELS.get(opts.x, opts.x))
    plt.ylabel("class")


@view("hidden_similarity", "hidden-unit similarity")
def draw_hidden_similarity(plt, runs: list[RunData], opts: ViewOptions) -> None:
    """How alike the hidden units are per run (1.0: all identical, the symmetry is never broken): each run a
    line in its colour, its last value in the key, the axis from 0 to 1 with room at both ends."""
    plain = ViewOptions(x=opts.x, log=False, selected=opts.selected, smooth=opts.smooth)
    drawn = False
    for r in runs:
        xs, ys = curve(r, "hidden_similarity", plain)
        if xs:
            plt.plot(xs, ys, color=r.colour, marker="braille", label=f"{r.variant} {ys[-1]:.2f}")
            drawn = True
    plt.ylim(-0.08, 1.08)
    plt.yticks([0, 0.25, 0.5, 0.75, 1], ["0", "0.25", "0.5", "0.75", "1"])
    if drawn:
        plt.title("hidden-unit similarity (1 = all units identical)", "unit similarity (1 = identical)")
    else:
        plt.title("hidden-unit similarity (no epoch yet)")
    plt.xlabel(X_LABELS.get(opts.x, opts.x))
    plt.ylabel("similarity")
