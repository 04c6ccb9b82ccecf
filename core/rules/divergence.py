"""When a run has diverged: the one rule, judged against the loss at initialisation (epoch 0's record).

A run has diverged when its training loss is non-finite, or when it ends well above where it started: its
final training loss more than WELL_ABOVE times the loss at init. The loss at init is the reference because
the first epoch's own loss may already hold the blow-up (digits at lr 1e5 reaches 8.6e22 within epoch 1 and
then sits at 45,000 with chance accuracy, far above its init loss of 2.3).

While a run is going, only a non-finite loss now reads as diverged: a loss above its init loss mid-run may
still come down (a catapult, the edge of stability). The trainer (core/train/trainer.py), a batched trainer
and every view that marks a diverged run ask here; docs/architecture.md states the rule.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from .numbers import is_number
from .status import RunStatus

WELL_ABOVE = 2.0  # a final training loss above this many times the loss at init: diverged


def non_finite(loss: Any) -> bool:
    """A loss that is missing (a record writes a non-finite loss as null), NaN or infinite."""
    return not is_number(loss) or not math.isfinite(loss)


def well_above(final_loss: float, init_loss: Any) -> bool:
    """True when a finite `final_loss` is more than WELL_ABOVE times a finite, positive `init_loss`
    (no verdict without such a reference)."""
    if not is_number(init_loss) or not math.isfinite(init_loss) or init_loss <= 0:
        return False
    return final_loss > WELL_ABOVE * init_loss


def verdict(init_loss: Any, final_loss: Any) -> str | None:
    """The reason an ended run diverged, in a user's words, or None when it did not: its final training
    loss is non-finite, or well above (WELL_ABOVE times) its loss at init."""
    if non_finite(final_loss):
        return "the training loss became non-finite; try a smaller lr"
    if well_above(final_loss, init_loss):
        return (
            f"the training loss ended at {final_loss:.4g}, over {WELL_ABOVE:g} times its {init_loss:.4g} "
            "at initialisation; try a smaller lr"
        )
    return None


def init_loss(records: Sequence[dict[str, Any]]) -> float | None:
    """The training loss at initialisation: epoch 0's record, if the records hold it (a run from before
    epoch 0 was recorded has none, and then only a non-finite loss says it diverged)."""
    first = records[0] if records else None
    if isinstance(first, dict) and first.get("epoch") == 0 and is_number(first.get("train_loss")):
        return float(first["train_loss"])
    return None


def run_diverged(records: Sequence[dict[str, Any]], status: Any) -> bool:
    """What a reader shows: a run that says it diverged, or one whose last loss is non-finite now, or a
    finished run whose final loss is well above its init loss (the trainer marks those diverged itself; a
    file from elsewhere may not). A running run is never judged on its way, only on a non-finite loss."""
    if status == RunStatus.DIVERGED:
        return True
    if not records:
        return False
    last = records[-1].get("train_loss")
    if non_finite(last):
        return True
    if status != RunStatus.FINISHED or len(records) < 2:
        return False
    return well_above(last, init_loss(records))
