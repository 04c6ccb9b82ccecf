"""Gradient views: each layer's gradient norm over training (vanishing gradients), and the gradient and
Jacobian tests' errors against eps on log-log axes (the course's Taylor tests)."""

from __future__ import annotations

import math

from ...core.readout.colours import PALETTE
from ...core.rules.numbers import is_number
from ...core.spec.views import X_LABELS
from ..viewkit import (
    RunData,
    ViewOptions,
    decade_ticks,
    layer_colour,
    layer_curves,
    layer_key,
    selected_run,
    side_by_side,
    snapshots_of,
    view,
)


def layer_series(run: RunData, opts: ViewOptions) -> list[tuple[list, list]]:
    """(x, norm) per weighted layer, from the records' "grad_norm" lists (norms <= 0 left out: log axis)."""
    return layer_curves(run, "grad_norm", opts, positive=True)


def pair(runs: list[RunData], opts: ViewOptions, width: int = 100) -> list[RunData]:
    """The runs side by side: every run up to MAX_SIDE (vanishing-gradients' four), else the first (the
    baseline, e.g. sigmoid) and the selected one (the preset's focus, e.g. ReLU with He init)."""
    return side_by_side(runs, opts, width)


@view("grad_norm", "gradient norm per layer")
def draw_grad_norm(plt, runs: list[RunData], opts: ViewOptions) -> None:
    """Per-layer gradient norms over time, two runs side by side on one log axis (ticks at powers of ten):
    layer 1 (nearest the input) dark blue to the last layer yellow. Vanishing gradients: the lines fan out
    over orders of magnitude on the left, stay together on the right. Each panel's title is its run and
    layer 1's norm over the last layer's; the key names the layers' colours."""
    shown = [(r, layer_series(r, opts)) for r in pair(runs, opts, getattr(plt, "width", 100))]
    shown = [(r, layers) for r, layers in shown if any(xs for xs, _ in layers)]
    if not shown:
        plt.title("gradient norm per layer (no epoch yet)")
        return
    logs = [math.log10(y) for _, layers in shown for _, ys in layers for y in ys]
    lo, hi = math.floor(min(logs)), math.ceil(max(logs))
    if len(shown) > 1:
        plt.subplots(1, len(shown))
    for i, (run, layers) in enumerate(shown):
        panel = plt.subplot(1, i + 1) if len(shown) > 1 else plt
        _layers(panel, run, layers, opts)
        panel.ylim(lo, hi)
        decade_ticks(panel, "y", [lo, hi])
    layer_key(plt, max(len(layers) for _, layers in shown))


def _layers(plt, run: RunData, layers: list[tuple[list, list]], opts: ViewOptions) -> None:
    n = len(layers)
    for i, (xs, ys) in enumerate(layers):
        if xs:
            plt.plot(xs, [math.log10(y) for y in ys], color=layer_colour(i, n), marker="braille")
    first, last = layers[0][1], layers[-1][1]
    if first and last:
        ratio = f"{first[-1] / last[-1]:.1g}"
        plt.title(
            f"{run.variant}: layer 1/{n} = {ratio}",
            f"{run.variant}: 1/{n} = {ratio}",
            f"{run.variant} {ratio}",
        )
    else:
        plt.title(run.variant)
    plt.xlabel(X_LABELS.get(opts.x, opts.x))


@view("gradcheck", "gradient and Jacobian tests")
def draw_gradcheck(plt, runs: list[RunData], opts: ViewOptions) -> None:
    """Log-log error against eps for each test (one colour each, named in the key): ⣿ first-order change
    (slope 1), • Taylor remainder (slope 2); the measured slopes in the title."""
    run = selected_run(runs, opts)
    checks = snapshots_of(run, "gradcheck")
    if not checks:
        plt.title("gradient and Jacobian tests (no result yet)")
        return
    all_x, all_y = [], []
    for i, c in enumerate(checks):
        colour = PALETTE[i % len(PALETTE)]
        for key, marker in (("first", "braille"), ("second", "dot")):
            pts = [(math.log10(e), math.log10(r)) for e, r in zip(c["eps"], c[key]) if r and r > 0]
            if pts:
                plt.plot([x for x, _ in pts], [y for _, y in pts], color=colour, marker=marker)
                all_x += [x for x, _ in pts]
                all_y += [y for _, y in pts]
        plt.key(c["name"], colour)
    if all_x:
        decade_ticks(plt, "x", all_x)
        decade_ticks(plt, "y", all_y)
    first, second = _slopes(checks, "slope_first"), _slopes(checks, "slope_second")
    plt.title(
        f"slopes: ⣿ |f(x+εd)-f(x)| {first} (~ε)   • minus ε dᵀ∇f {second} (~ε²)",
        f"slopes: ⣿ change {first} (~ε)  • remainder {second} (~ε²)",
        f"slopes ⣿ {first} (~ε)  • {second} (~ε²)",
    )
    plt.xlabel("eps")


def _slopes(checks: list[dict], key: str) -> str:
    """The tests' measured slopes: one figure where they agree to two decimals, else their range."""
    values = sorted(f"{c[key]:.2f}" for c in checks if is_number(c.get(key)))
    return "?" if not values else values[0] if values[0] == values[-1] else f"{values[0]}–{values[-1]}"
