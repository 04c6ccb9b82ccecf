"""Smoothing that does not lie: a causal, debiased exponential moving average.

s_t = a·s_{t-1} + (1 − a)·y_t with s_0 = 0, reported as s_t / (1 − a^t), where t counts the values
seen so far. Causal: the smoothed value at t uses y_1..y_t only, so a curve never bends before the
data does. Debiased: the first smoothed value is the first raw value, and a constant stays constant
(no start-up dip towards zero). Missing (None) or non-finite values stay missing and are skipped.
No torch, no numpy: the TUI, `compare` and the exports share it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from .errors import BadInput
from .numbers import is_finite


def check_alpha(a: float, where: str = "--smooth") -> float:
    """`a` if 0 <= a < 1, else BadInput naming `where`."""
    if not is_finite(a) or not 0.0 <= a < 1.0:
        raise BadInput(
            f"{where} {a}: the smoothing factor must be in [0, 1) (0 = off, 0.9 = strong); e.g. {where} 0.6"
        )
    return float(a)


def ema(values: Sequence[float | None], a: float) -> list[float | None]:
    """The causal, debiased EMA of `values` with factor `a`; a = 0 gives the values back."""
    check_alpha(a, "smoothing factor")
    out: list[float | None] = []
    s, t = 0.0, 0
    for y in values:
        if y is None or not math.isfinite(y):
            out.append(None)
            continue
        t += 1
        s = a * s + (1.0 - a) * y
        out.append(s / (1.0 - a**t))
    return out
