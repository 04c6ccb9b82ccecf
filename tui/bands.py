"""A seed group drawn as one band: the members' mean as a line in the group's colour, their lowest and
highest values as faint edges in a dimmer shade of it (core/sweeps.py computes the band from the decimated
curves). The loss view draws every seed group of two or more runs this way; no textual here."""
from __future__ import annotations

from typing import Any, Callable

from dltui.core.present import RAW_COLOUR
from dltui.core.sweeps import Band

GREY = (138, 138, 138)  # RAW_COLOUR's grey in RGB: a band's edges go halfway from the group's colour to it


def dim(colour: Any) -> Any:
    """A fainter shade of an RGB colour (a named or numbered one becomes the raw curves' grey)."""
    if isinstance(colour, tuple):
        return tuple((c + g) // 2 for c, g in zip(colour, GREY))
    return RAW_COLOUR


def draw_band(plt, b: Band, colour: Any, marker: str, label: str | None = None,
              y: Callable[[float], float] = float) -> None:
    """Draw band `b`: its min and max edges faint, then its mean in `colour`; `y` maps a value to the axis
    (a scale or a cap at the top of the axis)."""
    for edge in (b.lo, b.hi):
        plt.plot(b.xs, [y(v) for v in edge], color=dim(colour), marker="dot")
    plt.plot(b.xs, [y(v) for v in b.mean], color=colour, marker=marker, label=label)
