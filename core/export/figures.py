"""Figures for reports, drawn with matplotlib's `Figure` (never pyplot): headless, no global state.

Curves are thinned as the lab's are (core/rules/decimate.py's min/max buckets, smoothed before thinning), and
several runs are overlaid by the lab's rules (core.readout.sweeps.overlay), so a figure shows what the lab
shows.

Loss (linear and log scale side by side, as the course's figures were), accuracy, and one metric of several
runs overlaid; the figures of what a probe measured are in probefigures. With smoothing, each curve is a
causal, debiased EMA drawn on top of the raw curve, which stays faint behind it. matplotlib is imported lazily
(inside the functions); no torch here.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Sequence
from typing import Any

from ..readout.colours import PALETTE, colour_key, hex_colour
from ..readout.series import series
from ..readout.sweeps import Overlaid, overlay
from ..rules.decimate import decimated
from ..spec.views import X_LABELS

# The lab's colours (core/readout/colours.py), so that a run reads the same in a figure as on the screen.
CURVES = (
    ("train", hex_colour(PALETTE[0])),
    ("test", hex_colour(PALETTE[1])),
    ("val", hex_colour(PALETTE[2])),
)
RAW_ALPHA = 0.25


def label(run) -> str:
    st = run.status
    return f"{st.get('preset', '')} {st.get('variant', '')}".strip() or run.run_id


def labels(runs: Sequence[Any]) -> dict[str, str]:
    """run_id -> a short label: the variant (with the preset if presets differ); ids added to tell twins
    apart."""
    presets = {r.status.get("preset") for r in runs}
    base = {
        r.run_id: (f"{r.status.get('preset', '?')} " if len(presets) > 1 else "")
        + r.status.get("variant", r.run_id)
        for r in runs
    }
    counts = {v: list(base.values()).count(v) for v in base.values()}
    return {rid: (f"{b} [{rid[-4:]}]" if counts[b] > 1 else b) for rid, b in base.items()}


def plot_line(
    ax,
    raw: tuple[list, list],
    smoothed: tuple[list, list] | None,
    colour: str,
    name: str,
    smooth: float,
    scale: float = 1.0,
) -> None:
    """A curve; with smoothing, the raw curve faint behind the smoothed one."""
    if smoothed is not None:
        ax.plot(raw[0], [scale * y for y in raw[1]], color=colour, alpha=RAW_ALPHA, linewidth=1)
        raw, name = smoothed, name + f" (EMA {smooth:g})"
    ax.plot(raw[0], [scale * y for y in raw[1]], color=colour, linewidth=1.6, label=name)


def _curves(records, kind: str, x: str, log: bool = False, smooth: float = 0.0) -> list[tuple]:
    """(name, colour, raw, smoothed or None) of the train/test/val curves of `kind` (loss or acc), thinned as
    the lab's are (core.rules.decimate); a test curve equal to train's is left out."""
    out, train_ys = [], None
    for split, colour in CURVES:
        raw = decimated(records, f"{split}_{kind}", x, log)
        if not raw[1] or (split != "train" and raw[1] == train_ys):
            continue
        train_ys = raw[1] if split == "train" else train_ys
        smoothed = decimated(records, f"{split}_{kind}", x, log, smooth) if smooth > 0 else None
        out.append((f"{split} {kind.replace('acc', 'accuracy')}", colour, raw, smoothed))
    return out


def _new_figure(ncols: int):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6 * ncols, 4.2), layout="constrained")
    return fig, fig.subplots(1, ncols, squeeze=False)[0]


def loss_figure(run, x: str = "epoch", smooth: float = 0.0):
    """Train vs test (and val) loss: linear scale left, log scale right. None without data."""
    records = run.metrics()
    if not _curves(records, "loss", x):
        return None
    fig, axes = _new_figure(2)
    for ax, scale in zip(axes, ("linear", "log")):
        for name, colour, raw, smoothed in _curves(records, "loss", x, scale == "log", smooth):
            plot_line(ax, raw, smoothed, colour, name, smooth)
        _decorate(ax, x, "loss", f"{scale} scale", scale)
    fig.suptitle(f"{label(run)}: loss")
    return fig


def accuracy_figure(run, x: str = "epoch", smooth: float = 0.0):
    """Train vs test (and val) accuracy, if the run records any. None otherwise."""
    curves = _curves(run.metrics(), "acc", x, smooth=smooth)
    if not curves:
        return None
    fig, (ax,) = _new_figure(1)
    for name, colour, raw, smoothed in curves:
        plot_line(ax, raw, smoothed, colour, name, smooth, scale=100.0)
    _decorate(ax, x, "accuracy (%)", f"{label(run)}: accuracy", "linear")
    return fig


def compare_figure(runs: Sequence[Any], metric: str, x: str = "epoch", smooth: float = 0.0):
    """One metric of several runs overlaid as the lab draws them (core.readout.sweeps.overlay: thinned, the
    lab's colours with their key, seeds of one experiment as a mean in a shaded min–max band), linear and log
    scale side by side. None unless two runs have data."""
    names = labels(runs)
    args = ([r.metrics() for r in runs], [r.config for r in runs], [names[r.run_id] for r in runs], metric, x)
    with_data = sum(1 for recs in args[0] if series(recs, metric, x)[1])
    if with_data < 2:
        return None
    fig, axes = _new_figure(2)
    for ax, scale in zip(axes, ("linear", "log")):
        raw = overlay(*args, log=scale == "log")
        for entry, smoothed in zip(
            raw, overlay(*args, log=scale == "log", smooth=smooth) if smooth > 0 else [None] * len(raw)
        ):
            _draw_entry(ax, entry, smoothed, smooth)
        _decorate(
            ax, x, metric.replace("_", " "), f"{scale} scale", scale, colour_key([r.config for r in runs])
        )
    presets = {r.status.get("preset", "") for r in runs}
    fig.suptitle(
        (f"{presets.pop()}: " if len(presets) == 1 else "")
        + f"{metric.replace('_', ' ')} of {with_data} runs"
    )
    return fig


def _draw_entry(ax, entry: Overlaid, smoothed: Overlaid | None, smooth: float) -> None:
    """A run's line, or a seed group's mean line over its shaded band (the band of the raw values)."""
    colour = hex_colour(entry.colour)
    if entry.band is not None:
        ax.fill_between(
            entry.band.xs, entry.band.lo, entry.band.hi, color=colour, alpha=RAW_ALPHA, linewidth=0
        )
    plot_line(
        ax,
        (entry.xs, entry.ys),
        (smoothed.xs, smoothed.ys) if smoothed else None,
        colour,
        entry.label,
        smooth,
    )


def _decorate(ax, x: str | None, ylabel: str, title: str, scale: str, key: str = "") -> None:
    with warnings.catch_warnings():  # a log axis with no positive value left stays empty, quietly
        warnings.simplefilter("ignore", UserWarning)
        ax.set_yscale(scale, **({"nonpositive": "mask"} if scale == "log" else {}))
    if x is not None:
        ax.set_xlabel(X_LABELS[x])
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small", title=key or None, title_fontsize="small")


def figure_bytes(fig, fmt: str) -> bytes:
    """The figure as a PNG or SVG file's bytes (an SVG without a date, so the same run gives the same
    file)."""
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=120, metadata={"Date": None} if fmt == "svg" else None)
    return buf.getvalue()


def compare_metric(runs: Sequence[Any]) -> str:
    """test_loss if any run records it, else train_loss."""
    return "test_loss" if any(series(r.metrics(), "test_loss")[1] for r in runs) else "train_loss"
