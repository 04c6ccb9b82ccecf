"""The run's best epoch so far, by core/present.py's rule on the run's score metric, and early stopping."""
from __future__ import annotations

from typing import Any

from .present import better, higher_is_better, score_metric


class BestEpoch:
    """Keeps {"epoch", "metric", "value"} of the best epoch (empty before one has a score); checkpoints save it."""

    def __init__(self, patience: int):
        self.patience = patience  # epochs without a better score before an early stop; 0: never
        self.info: dict[str, Any] = {}

    def update(self, record: dict[str, Any], metric: str) -> bool:
        """Take an epoch's record; True if it is the new best."""
        value = record.get(metric)
        if value is None or not better(value, self.info.get("value"), metric):
            return False
        self.info = {"epoch": record["epoch"], "metric": metric, "value": value}
        return True

    def restore(self, info: dict[str, Any] | None) -> None:
        self.info = dict(info or {})

    def stop_after(self, epoch: int) -> bool:
        """Whether the run stops early after `epoch`: `patience` epochs have passed without a better score."""
        return bool(self.patience) and "epoch" in self.info and epoch - self.info["epoch"] >= self.patience

    def record_in(self, history: list[dict[str, Any]]) -> dict[str, Any]:
        """The best epoch's record among `history` ({} if it is not there)."""
        return next((r for r in history if r["epoch"] == self.info.get("epoch")), {})


def score_key(data) -> tuple[str, bool]:
    """(metric, higher is better) that picks a run's best epoch, for its data (core/present.py's rule)."""
    key = score_metric(data.kind == "classification", data.val_x is not None)
    return key, higher_is_better(key)
