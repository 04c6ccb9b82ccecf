"""Gradient views: each layer's gradient norm over training (vanishing gradients), and the gradient and
Jacobian tests' errors against eps on log-log axes (seed 002's Taylor tests)."""
from __future__ import annotations

import math

from ...core.present import PALETTE, X_LABELS
from ..viewkit import RunData, ViewOptions, decimate, selected_run, snapshots_of, view


def layer_series(run: RunData, opts: ViewOptions) -> list[tuple[list, list]]:
    """(x, norm) per weighted layer, from the records' "grad_norm" lists (norms <= 0 left out: log axis)."""
    out: list[tuple[list, list]] = []
    for r in run.records:
        norms, x = r.get("grad_norm"), r.get(opts.x)
        if not norms or x is None:
            continue
        while len(out) < len(norms):
            out.append(([], []))
        for (xs, ys), g in zip(out, norms):
            if g is not None and g > 0:
                xs.append(x)
                ys.append(g)
    return [decimate(xs, ys) for xs, ys in out]


def _decade_ticks(plt, axis: str, values: list[float]) -> None:
    """Ticks at whole powers of ten on an axis that holds log10 values, labelled 1e-4 etc."""
    lo, hi = math.floor(min(values)), math.ceil(max(values))
    step = max(1, (hi - lo) // 6)
    ticks = list(range(lo, hi + 1, step))
    (plt.xticks if axis == "x" else plt.yticks)(ticks, [f"1e{t}" for t in ticks])


@view("grad_norm", "gradient norm per layer")
def draw_grad_norm(plt, runs: list[RunData], opts: ViewOptions) -> None:
    """The selected run's gradient norm of each layer over time on a log axis, layer 1 nearest the input."""
    run = selected_run(runs, opts)
    layers = layer_series(run, opts) if run else []
    if not any(xs for xs, _ in layers):
        plt.title("gradient norm per layer (no epoch yet)")
        return
    n, logs = len(layers), []
    for i, (xs, ys) in enumerate(layers):
        if xs:
            label = f"layer {i + 1}" + (" (input)" if i == 0 else " (output)") if i in (0, n - 1) else None
            plt.plot(xs, [math.log10(y) for y in ys], color=PALETTE[i % len(PALETTE)], marker="braille", label=label)
            logs += [math.log10(y) for y in ys]
    _decade_ticks(plt, "y", logs)
    first, last = layers[0][1], layers[-1][1]
    ratio = f", layer 1/layer {n} = {first[-1] / last[-1]:.0e}" if first and last else ""
    plt.title(f"{run.variant}: gradient norm per layer{ratio}")
    plt.xlabel(X_LABELS.get(opts.x, opts.x))


@view("gradcheck", "gradient and Jacobian tests")
def draw_gradcheck(plt, runs: list[RunData], opts: ViewOptions) -> None:
    """Log-log error against eps for each test: ⣿ first-order change (slope 1), • Taylor remainder (slope 2)."""
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
            if not pts:
                continue
            label = f"{c['name']}: slopes {c['slope_first']:.2f}, {c['slope_second']:.2f}" if key == "first" else None
            plt.plot([x for x, _ in pts], [y for _, y in pts], color=colour, marker=marker, label=label)
            all_x += [x for x, _ in pts]
            all_y += [y for _, y in pts]
    if all_x:
        _decade_ticks(plt, "x", all_x)
        _decade_ticks(plt, "y", all_y)
    plt.title("⣿ |f(x+εd)-f(x)| ~ ε   • |f(x+εd)-f(x)-ε dᵀ∇f| ~ ε²")
    plt.xlabel("eps")
