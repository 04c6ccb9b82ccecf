"""How a number reads, in every face: a measured value (a loss), a share (an accuracy, always a percentage), a
learning rate, a count with its noun, a duration and an ETA, a rate; and what counts as a number.

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
    return f"{100 * v:.1f}%" if is_finite(v) else "-" if v is None or not is_number(v) else str(v)


def seconds(v: Any) -> str:
    """A duration: seconds with one decimal; '-' when missing."""
    return f"{v:.1f}s" if is_number(v) else "-"


def per_second(v: Any) -> str:
    """A rate (steps/s): whole units with thousands separators; '-' when missing or zero."""
    return f"{v:,.0f}" if v else "-"


def lr(v: Any) -> str:
    """A learning rate: 3 significant digits, plain for 1e-4..1e3 and in powers of ten beyond (0.1, 1e-05);
    '-' when missing."""
    return "-" if not is_number(v) else f"{v:.3g}"


def count(n: Any, noun: str, plural: str = "") -> str:
    """A count with its noun, thousands separated and singular for one: '1 thread', '2 threads',
    '60,000 samples'; a count not known reads '? threads'."""
    many = plural or noun + "s"
    return f"{whole(n)} {noun if n == 1 else many}" if is_whole(n) else f"? {many}"


def whole(n: Any) -> str:
    """A whole number with thousands separated (60,000); anything else as it is."""
    return f"{n:,}" if is_whole(n) else "-" if n is None else str(n)


def metric(name: str, v: Any) -> str:
    """A recorded value by its name: an accuracy as a percentage, a learning rate as `lr`, any other as
    `fmt`; so 'best epoch 4 (test acc 95.9%)' reads as the accuracy column beside it."""
    if "acc" in name:
        return pct(v)
    if name == "lr" or name.endswith("_lr"):
        return lr(v)
    return fmt(v)


def metric_name(name: str) -> str:
    """A record key as words: test_acc -> 'test acc'."""
    return name.replace("_", " ")


def duration(v: Any) -> str:
    """A time to plan by (an ETA, a run's length): '45s', '3m 05s', '2h 10m'; '-' when missing or not
    finite."""
    if not is_finite(v) or v < 0:
        return "-"
    s = round(v)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    return f"{s // 3600}h {s % 3600 // 60:02d}m"


def rate(v: Any, unit: str = "steps/s") -> str:
    """A speed with its unit, three significant digits below 100 ('8.42 steps/s'), whole above
    ('1,204 steps/s'); '-' when missing or zero."""
    if not is_number(v) or not v:
        return "-"
    gap = "" if unit.startswith("/") else " "
    return f"{v:,.0f}{gap}{unit}" if v >= 100 else f"{v:.3g}{gap}{unit}"


def clock(v: Any) -> str:
    """When something began (seconds since the epoch) as local month-day hour:minute, '12-06 22:31'; '-' when
    missing."""
    import time

    if not is_finite(v) or v <= 0:
        return "-"
    try:
        return time.strftime("%m-%d %H:%M", time.localtime(v))
    except (OverflowError, OSError, ValueError):  # a forged time far outside the calendar
        return "-"
