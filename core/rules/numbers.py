"""How a number reads, in every face: a measured value, a share, a duration, a rate; and what counts as a
number.

The CLI (`dltui runs`, `show`, `compare`), the lab and the report figures all format with these, so that a
loss or an accuracy reads the same wherever it appears.
"""

from __future__ import annotations

import math
from typing import Any


def is_number(v: Any) -> bool:
    """True for an int or a float, never for a bool (JSON's true is no number of epochs or loss)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def is_whole(v: Any) -> bool:
    """True for an int, never for a bool: an epoch, a step, a count. A float such as 3.0 is not whole here."""
    return isinstance(v, int) and not isinstance(v, bool)


def is_finite(v: Any) -> bool:
    """A number (see is_number) that is neither NaN nor infinite; every int is finite, however large."""
    return is_whole(v) or is_number(v) and math.isfinite(v)


def fmt(v: Any) -> str:
    """A loss or any other measured number: 4 significant digits; '-' when missing."""
    if v is None:
        return "-"
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def pct(v: Any) -> str:
    """An accuracy (a share in [0, 1]) as a percentage with one decimal; '-' when missing."""
    return "-" if v is None else f"{100 * v:.1f}%"


def seconds(v: Any) -> str:
    """A duration: seconds with one decimal; '-' when missing."""
    return "-" if v is None else f"{v:.1f}s"


def per_second(v: Any) -> str:
    """A rate (steps/s): whole units with thousands separators; '-' when missing or zero."""
    return f"{v:,.0f}" if v else "-"
