"""The plot keys the lab and past runs share, each a change to the screen's ViewOptions: l (log y), x (the next
x-axis), m (the next smoothing)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from ..core.spec.views import X_AXES
from .viewkit import ViewOptions

SMOOTHING = (0.0, 0.6, 0.9, 0.97)  # m cycles through these
T = TypeVar("T")


def following(values: Sequence[T], current: T) -> T:
    """The value after `current`, round."""
    return values[(values.index(current) + 1) % len(values)]


def toggle_log(opts: ViewOptions) -> None:
    opts.log = not opts.log


def next_x(opts: ViewOptions) -> None:
    opts.x = following(X_AXES, opts.x)


def next_smoothing(opts: ViewOptions) -> None:
    opts.smooth = following(SMOOTHING, opts.smooth)
