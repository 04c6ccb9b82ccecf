"""A run's numbers as other tools name them: one flat tag per value, and a wall-clock time per epoch.

Shared by the TensorBoard event files and the tidy CSV, so a value has the same name in both:
`train_loss`, `grad_norm/layer1` (one per weighted layer, layer 1 nearest the input),
`class_acc/class0` (one per class), `updates` (optimizer updates so far: metrics.jsonl's `step`,
since the epoch is the step elsewhere). Files the lab reads back are untrusted: anything that is
not a finite number is left out. No torch here.
"""

from __future__ import annotations

import re
from typing import Any

from ..rules.numbers import is_finite, is_whole

NOT_VALUES = ("epoch", "time")  # every value's step and wall time, not values of their own
RENAMED = {"step": "updates"}


def number(value: Any) -> float | None:
    """`value` if it is a finite int or float (not a bool), else None."""
    return value if is_finite(value) else None


def values(record: dict[str, Any]) -> dict[str, float]:
    """tag -> value for one metrics record; lists and dicts are spread over tags, lists of dicts (traces) left
    out."""
    out: dict[str, float] = {}
    for key, value in record.items():
        if key not in NOT_VALUES:
            _spread(RENAMED.get(key, str(key)), value, out, top=True)
    return out


def _spread(tag: str, value: Any, out: dict[str, float], top: bool = False) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _spread(f"{tag}/{k}", v, out)
    elif isinstance(value, list):
        if any(isinstance(v, dict) for v in value):
            return  # a trace inside the epoch (class_acc_trace): it has its own x values
        flat = top and not any(isinstance(v, list) for v in value)
        for i, v in enumerate(value):
            _spread(f"{tag}/{_item(tag, i) if flat else i}", v, out)
    elif (x := number(value)) is not None:
        out[tag] = x


def _item(tag: str, i: int) -> str:
    """class0, class1, ... for per-class values; layer1, layer2, ... (as the lab's views count) for the
    others."""
    return f"class{i}" if "class" in tag else f"layer{i + 1}"


def epoch_of(record: dict[str, Any]) -> int | None:
    e = record.get("epoch")
    return e if is_whole(e) and e >= 0 else None


def run_start(run) -> float:
    """When a run began (epoch seconds): status.json's `started`, else config.json's mtime (written before
    step 1)."""
    started = number(run.status.get("started"))
    if started is not None and started > 0:
        return started
    try:
        return (run.path / "config.json").stat().st_mtime
    except OSError:
        return 0.0


def elapsed(record: dict[str, Any]) -> float:
    """The record's `time`: seconds since the run began (0 if it holds none)."""
    return max(0.0, number(record.get("time")) or 0.0)


def wall_time(start: float, record: dict[str, Any]) -> float:
    """The epoch's end in epoch seconds: the run's start plus the record's `time`."""
    return start + elapsed(record)


def order(tag: str) -> tuple:
    """Sort key: grad_norm/layer10 after grad_norm/layer9."""
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", tag))
