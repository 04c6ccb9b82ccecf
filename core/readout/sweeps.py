"""Sweeps you can read: variants that differ only in `seed` as one group (a mean line in a min–max band),
and many values said in a few words ("10 values 0.001…1").

`overlay` is how `compare` and `export` draw several runs, by the lab's rules (tui/views/basic.py reads the
same curves from its live buffers): decimated curves (core/rules/decimate.py), the lab's colours (by the swept
value, core.readout.colours.run_colours), seed groups as bands, and the runs table's names as the legend.

A band is computed from the members' decimated curves (core/rules/decimate.py), on a grid of at most
`points` x values: its cost depends on the number of members and the plot's width, never on the
runs' length. No torch, no textual.
"""

from __future__ import annotations

import bisect
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from ..rules.decimate import decimated
from ..rules.numbers import fmt, is_number
from .colours import RAW_COLOUR, TRAINING_ONLY, run_colours

T = TypeVar("T")


def _frozen(v: Any) -> Hashable:
    if isinstance(v, dict):  # a table (probe_every)
        return tuple(sorted((k, _frozen(x)) for k, x in v.items()))
    return tuple(_frozen(x) for x in v) if isinstance(v, (list, tuple)) else v


def experiment_key(config: dict[str, Any]) -> tuple:
    """A config without its training-only keys: runs with the same key are seeds of one experiment."""
    return tuple(sorted((k, _frozen(v)) for k, v in config.items() if k not in TRAINING_ONLY))


def seed_groups(items: Sequence[T], config_of) -> list[list[T]]:
    """`items` grouped by experiment_key(config_of(item)), in the order each group first appears. Only runs of
    different seeds make a group: runs of one config (a run repeated, or configs without a seed) stay
    apart."""
    groups: dict[tuple, list[T]] = {}
    for it in items:
        groups.setdefault(experiment_key(config_of(it)), []).append(it)
    out: list[list[T]] = []
    for group in groups.values():
        seeds = [config_of(it).get("seed") for it in group]
        distinct = None not in seeds and len({repr(s) for s in seeds}) == len(seeds)
        out += [group] if distinct else [[it] for it in group]
    return out


@dataclass
class Band:
    """A group's curve: at each x, the members' mean, lowest and highest value."""

    xs: list
    mean: list[float]
    lo: list[float]
    hi: list[float]


def _at(xs: list, ys: list, x: float) -> float | None:
    """The curve (xs, ys) at x, linearly interpolated; None outside it."""
    if not xs or x < xs[0] or x > xs[-1]:
        return None
    i = bisect.bisect_left(xs, x)
    if xs[i] == x or i == 0:
        return ys[i]
    x0, x1, y0, y1 = xs[i - 1], xs[i], ys[i - 1], ys[i]
    return y0 + (y1 - y0) * (x - x0) / (x1 - x0)


def band(curves: Sequence[tuple[list, list]], points: int = 200) -> Band:
    """The mean and min–max band of several curves (x ascending) where at least one has values: on a grid of
    at most `points` x values from the smallest x to the largest."""
    curves = [(xs, ys) for xs, ys in curves if xs]
    if not curves:
        return Band([], [], [], [])
    start, end = min(c[0][0] for c in curves), max(c[0][-1] for c in curves)
    grid = (
        sorted({x for xs, _ in curves for x in xs})
        if sum(len(c[0]) for c in curves) <= points
        else [start + (end - start) * i / (points - 1) for i in range(points)]
    )
    out = Band([], [], [], [])
    for x in grid:
        vals = [v for xs, ys in curves if (v := _at(xs, ys, x)) is not None]
        if vals:
            out.xs.append(x)
            out.mean.append(sum(vals) / len(vals))
            out.lo.append(min(vals))
            out.hi.append(max(vals))
    return out


def combined(curves: Sequence[tuple[list, list]]) -> tuple[list, list, Band | None]:
    """(xs, ys, band) of a seed group's curves: a lone run's curve as it is (no band), else their band's
    mean."""
    if len(curves) == 1:
        return (*curves[0], None)
    b = band(curves)
    return b.xs, b.mean, b


def summarise(values: Sequence[Any], limit: int = 4) -> str:
    """A few words for many values: all of them when few ("0.1 | 0.01"), else "10 values 0.001…1" for numbers
    and "6 values: a, b, …" for others."""
    distinct = list(dict.fromkeys(values))
    shown = [v if isinstance(v, str) else fmt(v) for v in distinct]
    if len(distinct) <= limit:
        return " | ".join(shown)
    if all(is_number(v) for v in distinct):
        return f"{len(distinct)} values {fmt(min(distinct))}…{fmt(max(distinct))}"
    return f"{len(distinct)} values: {', '.join(shown[:2])}, …"


def group_name(names: Sequence[str]) -> str:
    """A seed group's name: its first member's without the `seed=...` part, and how many seeds it has."""
    parts = [p for p in names[0].split(",") if not p.startswith("seed=")] if names else []
    base = ",".join(parts) or "runs"
    return base if len(names) == 1 else f"{base} ({len(names)} seeds)"


def variants_text(names: Sequence[str], sweep: dict[str, list[Any]], limit: int = 6) -> str:
    """The runs of a preset in a line: their names when few, else how many and what the sweep varies."""
    if len(names) <= limit:
        return ", ".join(names)
    grid = " × ".join(f"{k}: {summarise(v)}" for k, v in sweep.items())
    return f"{len(names)} ({grid})" if grid else f"{len(names)}: {summarise(list(names))}"


@dataclass
class Overlaid:
    """One entry of an overlay and its legend: a run's curve, or a seed group's mean (`band` holds its
    edges)."""

    label: str
    colour: tuple
    xs: list
    ys: list
    band: Band | None = None


def overlay(
    records: Sequence[Sequence[dict[str, Any]]],
    configs: Sequence[dict[str, Any]],
    names: Sequence[str],
    key: str,
    x: str = "epoch",
    log: bool = False,
    smooth: float = 0.0,
) -> list[Overlaid]:
    """Runs' `key` against `x` as the lab draws them (see the module's docstring): one entry per seed group
    that has values, in the runs' order."""
    colours = run_colours(configs)
    out = []
    for group in seed_groups(range(len(configs)), lambda i: configs[i]):
        xs, ys, b = combined([decimated(records[i], key, x, log, smooth) for i in group])
        if xs:
            out.append(Overlaid(group_name([names[i] for i in group]), colours[group[0]], xs, ys, b))
    return out


GREY = (138, 138, 138)  # RAW_COLOUR's grey in RGB: a band's edges go halfway from the group's colour to it


def dim(colour: Any) -> Any:
    """A fainter shade of an RGB colour (a named or numbered one becomes the raw curves' grey)."""
    if isinstance(colour, tuple):
        return tuple((c + g) // 2 for c, g in zip(colour, GREY))
    return RAW_COLOUR


def draw_band(plt, b: Band, colour: Any, marker: str, label: str | None = None, y=float) -> None:
    """Draw band `b` on a plotext-like `plt`: its min and max edges faint, then its mean in `colour`; `y` maps
    a value to the axis (a scale, or a cap at the top of the axis)."""
    for edge in (b.lo, b.hi):
        plt.plot(b.xs, [y(v) for v in edge], color=dim(colour), marker="dot")
    plt.plot(b.xs, [y(v) for v in b.mean], color=colour, marker=marker, label=label)
