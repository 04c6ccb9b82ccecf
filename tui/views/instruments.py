"""The instruments' views (core.spec.probes: their probes, titles and `?` lines): sharpness against 2/lr,
update-to-weight ratios, dead or saturated units, and the confusion matrix as a text heatmap."""

from __future__ import annotations

from typing import Any

from ...core.readout.confusion import confusion_of, row_shares
from ...core.rules.numbers import is_number
from ...core.spec.probes import INSTRUMENTS, PROBES
from ...core.spec.views import X_LABELS
from ..viewkit import (
    AXIS_ROWS_LESS,
    RunData,
    ViewOptions,
    curve,
    layer_colour,
    layer_curves,
    layer_key,
    log_axis,
    selected_run,
    side_by_side,
    view,
)

# the lab's `?` screen: how to read each instrument
HELP = tuple(PROBES[name].reading for name in INSTRUMENTS)
GUIDE_COLOUR = "gray"
HEALTHY_RATIO = -3.0  # log10(update / weight) of a layer that learns at a steady pace (a rule of thumb)
HEAT = (236, 239, 242, 245, 248, 251, 254)  # 256-colour greys, dark to light: the heatmap's cells
DEAD_WORDS = {
    "relu": "dead (never active)",
    "sigmoid": "saturated (|z| > 4 on 90%)",
    "tanh": "saturated (|z| > 2 on 90%)",
}


def _plain(opts: ViewOptions) -> ViewOptions:
    return ViewOptions(x=opts.x, log=False, selected=opts.selected, smooth=opts.smooth)


@view("sharpness")
def draw_sharpness(plt, runs: list[RunData], opts: ViewOptions) -> None:
    """Each run's sharpness (top Hessian eigenvalue), with its 2/lr line dotted in the same colour. The axis
    is set by the sharpness and the lowest 2/lr (the first a curve can reach); a 2/lr far above both (lr =
    0.001: 2000 against 10) is left off and counted in the key, or it would squash the curves to the floor."""
    drawn = [(r, *curve(r, "sharpness", opts)) for r in runs]
    drawn = [(r, xs, ys) for r, xs, ys in drawn if xs]
    if not drawn:
        plt.title(
            'sharpness vs 2/lr (no measurement yet; add "sharpness" to probes)',
            "sharpness: none yet (a probe)",
        )
        return
    peak = max(y for _, _, ys in drawn for y in ys)
    guides = [(r, 2 / r.config["lr"]) for r, _, _ in drawn if _positive(r.config.get("lr"))]
    reach = GUIDE_REACH * max(
        [peak] + [min(g for _, g in guides)] if guides else [peak]
    )  # the lowest 2/lr always shows
    top = max([peak] + [g for _, g in guides if g <= reach])
    off = 0
    for r, xs, ys in drawn:
        plt.plot(xs, ys, color=r.colour, marker="braille", label=r.variant)
    span = [min(xs[0] for _, xs, _ in drawn), max(xs[-1] for _, xs, _ in drawn)]  # every line across the plot
    for r, guide in guides:
        if guide <= top:
            plt.plot(span, [guide, guide], color=r.colour, marker="dot")
        else:
            off += 1
    if off:
        plt.key(f"2/lr above the axis for {off} run{'s' if off > 1 else ''}", GUIDE_COLOUR, "•")
    if log_axis(opts, [y for _, _, ys in drawn for y in ys] + [g for _, g in guides if g <= top]):
        plt.yscale("log")
    plt.title(
        "sharpness ⣿ (top Hessian eigenvalue) vs 2/lr •: GD is unstable above",
        "sharpness ⣿ vs 2/lr •: unstable above",
        "sharpness ⣿ vs 2/lr •",
    )
    plt.xlabel(X_LABELS.get(opts.x, opts.x))


GUIDE_REACH = 3  # a 2/lr line is drawn when at most this many times the highest sharpness (or lowest 2/lr)


def _has(run: RunData, key: str) -> bool:
    """Whether the run's last records hold `key` (measured, if only as None: nothing moved)."""
    return any(key in rec for rec in run.records[-3:])


def _positive(v: Any) -> bool:
    return is_number(v) and v > 0


def _draw_layers(plt, layers: list[tuple[list, list]], hidden: bool = False) -> None:
    """Each layer's line on the sequential layer scale (as the gradient norms), named by one key entry."""
    for i, (xs, ys) in enumerate(layers):
        if xs:
            plt.plot(xs, ys, color=layer_colour(i, len(layers)), marker="braille")
    layer_key(plt, len(layers), hidden)


@view("update_ratio")
def draw_update_ratio(plt, runs: list[RunData], opts: ViewOptions) -> None:
    """Each run's log10(‖update‖/‖W‖) per layer with the -3 guide line, up to MAX_SIDE runs side by side (the
    selected one among them); a run whose layers never moved (zero init: no weight, no update) says so."""
    shown = [
        (r, layer_curves(r, "update_ratio", opts))
        for r in side_by_side(runs, opts, getattr(plt, "width", 100))
    ]
    moved = [(r, layers) for r, layers in shown if any(xs for xs, _ in layers)]
    moved_ids = {r.run_id for r, _ in moved}
    still = [r.variant for r, _ in shown if r.run_id not in moved_ids and _has(r, "update_ratio")]
    if not moved:
        plt.title(
            f"{', '.join(still)}: no layer moved (weights and updates 0)"
            if still
            else 'update/weight ratio (no measurement yet; add "update_ratio" to probes)',
            "update ratio: no layer moved" if still else "update ratio: none yet (a probe)",
        )
        return
    if len(moved) > 1:
        plt.subplots(1, len(moved))
    for i, (run, layers) in enumerate(moved):
        panel = plt.subplot(1, i + 1) if len(moved) > 1 else plt
        xs = [x for lx, _ in layers for x in lx]
        _draw_layers(panel, layers)
        panel.plot([min(xs), max(xs)], [HEALTHY_RATIO, HEALTHY_RATIO], color=GUIDE_COLOUR, marker="dot")
        panel.title(
            f"{run.variant}: log10 ‖lr·update‖/‖W‖: ≪ -3 frozen, ≈ -3 healthy, ≳ -1 thrashed",
            f"{run.variant}: log10 update/weight, ≈ -3 healthy",
            f"{run.variant}: log10 update/weight",
            run.variant,
        )
        panel.xlabel(X_LABELS.get(opts.x, opts.x))
    plt.key("1e-3 guide", GUIDE_COLOUR, "•")
    if still:
        plt.key(f"no layer moved: {', '.join(still)}", GUIDE_COLOUR, "·")


@view("dead_units")
def draw_dead_units(plt, runs: list[RunData], opts: ViewOptions) -> None:
    """The selected run's share of dead (ReLU) or saturated (sigmoid, tanh) units per layer, 0 to 1."""
    run = selected_run(runs, opts)
    layers = layer_curves(run, "dead_units", _plain(opts)) if run else []
    if not any(xs for xs, _ in layers):
        plt.title(
            'dead or saturated units (no measurement yet; add "dead_units" to probes)',
            "dead units: none yet (a probe)",
        )
        return
    _draw_layers(plt, layers, hidden=True)
    plt.ylim(0, 1.05)
    plt.yticks([0, 0.5, 1], ["0", "0.5", "1"])
    word = DEAD_WORDS.get(str(run.config.get("activation", "")), "dead or saturated")
    plt.title(f"{run.variant}: share of units {word} on a fixed batch", f"{run.variant}: share {word}")
    plt.xlabel(X_LABELS.get(opts.x, opts.x))


@view("confusion")
def draw_confusion(plt, runs: list[RunData], opts: ViewOptions) -> None:
    """The selected run's latest confusion matrix: rows true class, columns predicted, cells % of the row,
    lighter for more. A column that lights up everywhere is a class that eats the predictions."""
    run = selected_run(runs, opts)
    epoch, m = confusion_of(run.summary, run.snapshots) if run else (None, None)
    if m is None:
        plt.title('confusion matrix (none yet; add "confusion" to probes)', "confusion: none yet (a probe)")
        return
    k = len(m)
    shares = row_shares(m)
    rows = _confusion_rows(shares, max(1, getattr(plt, "height", 20) - AXIS_ROWS_LESS + 1))  # no key line
    for y, c in enumerate(reversed(rows)):
        for j, share in enumerate(shares[c]):
            shade = HEAT[min(len(HEAT) - 1, int(share * len(HEAT)))]
            plt.text(f"{round(100 * share):3d}", j, y, color="black", background=shade)
    plt.xlim(-0.5, k - 0.5)
    plt.ylim(-0.5, len(rows) - 0.5)
    plt.xticks(list(range(k)), [str(c) for c in range(k)])
    plt.yticks(list(range(len(rows))), [str(c) for c in reversed(rows)])
    diag = sum(m[c][c] for c in range(k)) / max(1, sum(map(sum, m)))
    when = f" epoch {epoch}" if epoch is not None else ""
    some = f" ({len(rows)} worst rows)" if len(rows) < k else ""
    plt.title(
        f"{run.variant}{when}: % of each true class (row) predicted as (column); acc {100 * diag:.1f}%{some}",
        f"{run.variant}{when}, acc {100 * diag:.1f}%: % of true (row) as (column){some}",
        f"{run.variant} acc {100 * diag:.1f}%{some}",
    )
    plt.xlabel("predicted class")
    plt.ylabel("true class")


draw_confusion.rows = 10 + AXIS_ROWS_LESS + 1  # ten classes' rows, the frame, ticks, title, labels


def _confusion_rows(shares: list[list[float]], room: int) -> list[int]:
    """The true classes to show as rows, in order: all when `room` rows hold them, else the `room` classes
    predicted worst (a plot shorter than the classes would drop rows at random)."""
    k = len(shares)
    return list(range(k)) if room >= k else sorted(sorted(range(k), key=lambda c: shares[c][c])[:room])
