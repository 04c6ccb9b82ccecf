"""Figures for reports, drawn with matplotlib's `Figure` (never pyplot): headless, no global state.

Loss (linear and log scale side by side, as the seeds' figures were), accuracy, the polynomial's learned
vs target function, and one metric of several runs overlaid. With smoothing, each curve is a causal,
debiased EMA drawn on top of the raw curve, which stays faint behind it. matplotlib is imported
lazily (inside the functions); no torch here.
"""
from __future__ import annotations

import io
import warnings
from typing import Any, Optional, Sequence

from .present import PALETTE, TARGET_COLOUR, X_LABELS, hex_colour, run_colours, sequential, series
from .smoothing import ema

# The lab's colours (core.present), so that a run reads the same in a figure as on the screen.
CURVES = (("train", hex_colour(PALETTE[0])), ("test", hex_colour(PALETTE[1])), ("val", hex_colour(PALETTE[2])))
RAW_ALPHA = 0.25


def label(run) -> str:
    st = run.status
    return f"{st.get('preset', '')} {st.get('variant', '')}".strip() or run.run_id


def labels(runs: Sequence[Any]) -> dict[str, str]:
    """run_id -> a short label: the variant (with the preset if presets differ); ids added to tell twins apart."""
    presets = {r.status.get("preset") for r in runs}
    base = {r.run_id: (f"{r.status.get('preset', '?')} " if len(presets) > 1 else "") + r.status.get("variant", r.run_id) for r in runs}
    counts = {v: list(base.values()).count(v) for v in base.values()}
    return {rid: (f"{b} [{rid[-4:]}]" if counts[b] > 1 else b) for rid, b in base.items()}


def plot_line(ax, xs: list, ys: list, colour: str, name: str, smooth: float) -> None:
    """A curve; with smoothing, the raw curve faint behind the smoothed one."""
    if smooth > 0:
        ax.plot(xs, ys, color=colour, alpha=RAW_ALPHA, linewidth=1)
        ys = ema(ys, smooth)
        name += f" (EMA {smooth:g})"
    ax.plot(xs, ys, color=colour, linewidth=1.6, label=name)


def _curves(records, kind: str, x: str) -> list[tuple[str, str, list, list]]:
    """train/test/val curves of `kind` (loss or acc); a test curve equal to train's is left out."""
    out, train_ys = [], None
    for split, colour in CURVES:
        xs, ys = series(records, f"{split}_{kind}", x)
        if not ys or (split != "train" and ys == train_ys):
            continue
        train_ys = ys if split == "train" else train_ys
        out.append((f"{split} {kind.replace('acc', 'accuracy')}", colour, xs, ys))
    return out


def _new_figure(ncols: int):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6 * ncols, 4.2), layout="constrained")
    return fig, fig.subplots(1, ncols, squeeze=False)[0]


def loss_figure(run, x: str = "epoch", smooth: float = 0.0):
    """Train vs test (and val) loss: linear scale left, log scale right. None without data."""
    curves = _curves(run.metrics(), "loss", x)
    if not curves:
        return None
    fig, axes = _new_figure(2)
    for ax, scale in zip(axes, ("linear", "log")):
        for name, colour, xs, ys in curves:
            plot_line(ax, xs, ys, colour, name, smooth)
        _decorate(ax, x, "loss", f"{scale} scale", scale)
    fig.suptitle(f"{label(run)}: loss")
    return fig


def accuracy_figure(run, x: str = "epoch", smooth: float = 0.0):
    """Train vs test (and val) accuracy, if the run records any. None otherwise."""
    curves = _curves(run.metrics(), "acc", x)
    if not curves:
        return None
    fig, (ax,) = _new_figure(1)
    for name, colour, xs, ys in curves:
        plot_line(ax, xs, [100 * y for y in ys], colour, name, smooth)
    _decorate(ax, x, "accuracy (%)", f"{label(run)}: accuracy", "linear")
    return fig


def function_figure(run):
    """The learned function at each recorded epoch against the target (snapshots kind "function")."""
    snaps = [s for s in run.snapshots() if s.get("kind") == "function"]
    if not snaps:
        return None
    fig, (ax,) = _new_figure(1)
    for i, s in enumerate(snaps):
        colour = hex_colour(sequential(i / max(1, len(snaps) - 1)))
        ax.plot(s["x"], s["learned"], color=colour, linewidth=1.4, label=f"learned, epoch {s['epoch']}")
    target = snaps[0]["target"]
    ax.plot(snaps[0]["x"], target, color=hex_colour(TARGET_COLOUR), linestyle="--", linewidth=2, label="target")  # on top
    pad = 0.15 * ((max(target) - min(target)) or 1.0)
    ax.set_ylim(min(target) - pad, max(target) + pad)  # an early, wild curve leaves at the edge
    _decorate(ax, None, "y", f"{label(run)}: learned vs target function", "linear")
    ax.set_xlabel("x")
    return fig


def compare_figure(runs: Sequence[Any], metric: str, x: str = "epoch", smooth: float = 0.0):
    """One metric of several runs overlaid, linear and log scale side by side. None unless two have data."""
    names = labels(runs)
    colours = run_colours([r.config for r in runs])
    data = [(names[r.run_id], hex_colour(c), series(r.metrics(), metric, x)) for r, c in zip(runs, colours)]
    data = [(name, c, xy) for name, c, xy in data if xy[1]]
    if len(data) < 2:
        return None
    fig, axes = _new_figure(2)
    for ax, scale in zip(axes, ("linear", "log")):
        for name, colour, (xs, ys) in data:
            plot_line(ax, xs, ys, colour, name, smooth)
        _decorate(ax, x, metric.replace("_", " "), f"{scale} scale", scale)
    presets = {r.status.get("preset", "") for r in runs}
    fig.suptitle((f"{presets.pop()}: " if len(presets) == 1 else "") + f"{metric.replace('_', ' ')} of {len(data)} runs")
    return fig


def _decorate(ax, x: Optional[str], ylabel: str, title: str, scale: str) -> None:
    with warnings.catch_warnings():  # a log axis with no positive value left stays empty, quietly
        warnings.simplefilter("ignore", UserWarning)
        ax.set_yscale(scale, **({"nonpositive": "mask"} if scale == "log" else {}))
    if x is not None:
        ax.set_xlabel(X_LABELS[x])
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")


def figure_bytes(fig, fmt: str) -> bytes:
    """The figure as a PNG or SVG file's bytes (an SVG without a date, so the same run gives the same file)."""
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=120, metadata={"Date": None} if fmt == "svg" else None)
    return buf.getvalue()


def run_figures(run, x: str = "epoch", smooth: float = 0.0) -> dict[str, Any]:
    """name -> figure for one run: loss, accuracy, function (those it has data for)."""
    figs = {"loss": loss_figure(run, x, smooth), "accuracy": accuracy_figure(run, x, smooth), "function": function_figure(run)}
    from .instruments import confusion_figure, sharpness_figure

    figs.update(sharpness=sharpness_figure(run, x), confusion=confusion_figure(run))
    return {k: f for k, f in figs.items() if f is not None}


def compare_metric(runs: Sequence[Any]) -> str:
    """test_loss if any run records it, else train_loss."""
    return "test_loss" if any(series(r.metrics(), "test_loss")[1] for r in runs) else "train_loss"
