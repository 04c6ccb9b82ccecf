"""Progress a person can plan with: how long a running run (and a batch) still needs, and how fast it goes.

A run's pace is read from what it has reported: its last epoch record (`epoch`, `step`, `time`: seconds since
it began) or, inside a long epoch, its last Progress (`epoch`, `fraction`, `step`, `time`). The ETA is the
epochs left at the seconds an epoch has taken so far; a batch's ETA is the epochs left of its running and
queued runs at the running runs' pace together. Pure: no textual, no torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..rules.numbers import duration, is_finite, is_number, rate


@dataclass(frozen=True)
class Pace:
    """How long is left (seconds), how fast the steps go, and how many epochs a second (to add paces up)."""

    eta_s: float
    steps_per_s: float | None
    epochs_per_s: float
    epochs_left: float

    def text(self) -> str:
        """'ETA 3m 05s, 8.42 steps/s' (the speed left out while it is not known)."""
        speed = rate(self.steps_per_s)
        return f"ETA {duration(self.eta_s)}" + (f", {speed}" if speed != "-" else "")

    def cell(self) -> str:
        """The same in fewer cells, for a column headed 'ETA, steps/s': '3m 05s 8.42/s'."""
        speed = rate(self.steps_per_s, "/s")
        return duration(self.eta_s) + (f" {speed}" if speed != "-" else "")


def run_pace(record: dict[str, Any] | None, progress: Any, config: dict[str, Any]) -> Pace | None:
    """A running run's pace from its last record or, fresher, its last Progress; None until it has one."""
    epochs = config.get("epochs")
    if not is_number(epochs):
        return None
    if progress is not None:
        done, step, secs = progress.epoch - 1 + progress.fraction, progress.step, progress.time
    elif record:
        done, step, secs = record.get("epoch"), record.get("step"), record.get("time")
    else:
        return None
    if not (is_finite(done) and is_finite(secs)) or done <= 0 or secs <= 0:
        return None
    per_s = done / secs
    left = max(0.0, epochs - done)
    steps = step / secs if is_finite(step) and step > 0 else None
    return Pace(left / per_s, steps, per_s, left)


def batch_pace(running: list[Pace], queued_epochs: list[Any]) -> Pace | None:
    """A batch's pace: the epochs left of its running runs and its queued ones, at the running runs' speed
    together (runs one at a time or several side by side alike); None while no run has a pace."""
    if not running:
        return None
    per_s = sum(p.epochs_per_s for p in running)
    left = sum(p.epochs_left for p in running) + sum(e for e in queued_epochs if is_number(e))
    steps = [p.steps_per_s for p in running if p.steps_per_s is not None]
    return Pace(left / per_s, sum(steps) if steps else None, per_s, left)
