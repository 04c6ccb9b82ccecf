"""Which epoch is best, the one rule: validation over test, accuracy over loss; and early stopping on it.

Only a trained epoch can be best: epoch 0 (the model as initialised, recorded before the first step) is
the curves' start, not a result; no best.pt holds it, and an untrained model that scores as well as a
trained one (chance accuracy both) says the training did nothing, which the curves show.

The trainer (BestEpoch), the live views (core/readout/tracks.py), `compare` and `show` all pick a run's best
epoch here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .numbers import is_number

# Which epoch is best: validation over test, accuracy over loss (the first of these a run records).
SCORES = ("val_acc", "test_acc", "val_loss", "test_loss")


def higher_is_better(metric: str) -> bool:
    return "acc" in metric


def score_metric(classify: bool, has_val: bool) -> str:
    """The metric that picks a run's best epoch: accuracy for a classifier, else loss; on the validation set
    if there is one, else the test set."""
    return f"{'val' if has_val else 'test'}_{'acc' if classify else 'loss'}"


def better(value: float, best: float | None, metric: str) -> bool:
    """True if `value` beats the best so far (none yet: it does). A tie keeps the earlier epoch."""
    return best is None or (value > best if higher_is_better(metric) else value < best)


def best_record(records: Sequence[dict[str, Any]], metric: str) -> dict[str, Any] | None:
    """The first trained epoch's record with the best value of `metric` (None if no record has it; epoch 0
    never: see the module's docstring)."""
    best = None
    for r in records:
        if r.get("epoch") == 0:
            continue
        if is_number(r.get(metric)) and better(r[metric], best[metric] if best else None, metric):
            best = r
    return best


def best_epoch(records: Sequence[dict[str, Any]], summary: dict[str, Any]) -> int | None:
    """A run's best epoch: the summary's once the run has ended, else the best so far by the first of SCORES
    that its records have."""
    if summary.get("best_epoch") is not None:
        return summary["best_epoch"]
    metric = next(
        (k for k in SCORES if any(is_number(r.get(k)) and r.get("epoch") != 0 for r in records)), None
    )
    best = best_record(records, metric) if metric else None
    return best.get("epoch") if best else None


def best_epoch_record(records: Sequence[dict[str, Any]], summary: dict[str, Any]) -> dict[str, Any] | None:
    """The record of a run's best epoch (see best_epoch), if the records hold it."""
    epoch = best_epoch(records, summary)
    return None if epoch is None else next((r for r in records if r.get("epoch") == epoch), None)


class BestEpoch:
    """Keeps {"epoch", "metric", "value"} of the best epoch (empty before one has a score); checkpoints save
    it."""

    def __init__(self, patience: int):
        self.patience = patience  # epochs without a better score before an early stop; 0: never
        self.info: dict[str, Any] = {}

    def update(self, record: dict[str, Any], metric: str) -> bool:
        """Take an epoch's record; True if it is the new best (epoch 0 never is)."""
        value = record.get(metric)
        if value is None or record.get("epoch") == 0 or not better(value, self.info.get("value"), metric):
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
    """(metric, higher is better) that picks a run's best epoch, for its data (score_metric's rule)."""
    key = score_metric(data.kind == "classification", data.val_x is not None)
    return key, higher_is_better(key)
