"""A model's summed loss and correct count over a data set, in chunks, on the device (no host sync), and an
epoch's losses and accuracies from them (the epoch's one host sync)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from ..data import TaskData
from . import fastpath

EVAL_CHUNK = (
    8192  # samples per forward off the CPU (on the CPU: fastpath.MICRO_BATCH_CPU, to stay in the cache)
)


class Evaluator:
    """`evaluate(x, y)` -> (summed loss, correct count), both device scalars; the count is 0 for
    regression."""

    def __init__(
        self, model: nn.Module, loss_fn: Callable, data: TaskData, autocast: Callable, device: torch.device
    ):
        self.model, self.loss_fn, self.autocast, self.device = model, loss_fn, autocast, device
        self.data, self.transform = data, data.transform
        self.classify = data.kind == "classification"
        self.chunk = fastpath.MICRO_BATCH_CPU if device.type == "cpu" else EVAL_CHUNK
        self.preds: torch.Tensor | None = None  # the last call's predicted classes
        self.test_preds: torch.Tensor | None = (
            None  # the last record's test predictions (the confusion probe reads them)
        )

    @torch.inference_mode()
    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        self.model.eval()
        totals, corrects, preds = [], [], []
        chunk = self.chunk
        for s in range(0, x.shape[0], chunk):
            xb, yb = x[s : s + chunk], y[s : s + chunk]
            if self.transform is not None:
                xb = self.transform(xb)
            with self.autocast():
                out = self.model(xb)
                totals.append(self.loss_fn(out, yb) * yb.shape[0])
            if self.classify:
                preds.append(out.argmax(1))
                corrects.append((preds[-1] == yb).sum())
        self.preds = torch.cat(preds) if preds else None
        return self._total(totals), self._total(corrects, torch.long)

    def _total(self, values: list[torch.Tensor], dtype=None) -> torch.Tensor:
        """The sum of a few device scalars, with as few ops as possible (zero when there are none)."""
        if not values:
            return torch.zeros((), device=self.device, dtype=dtype)
        return values[0] if len(values) == 1 else torch.stack(values).sum()

    def record(self, loss_sum: torch.Tensor, correct: torch.Tensor) -> dict[str, Any]:
        """An epoch's losses and accuracies: the training sums given, the test and validation sets evaluated
        now, all read back in one host sync."""
        d = self.data
        vals = [loss_sum, correct.float()]
        test_loss, test_correct = self(d.test_x, d.test_y)
        self.test_preds = self.preds
        vals += [test_loss, test_correct.float()]
        has_val = d.val_x is not None
        if has_val:
            val_loss, val_correct = self(d.val_x, d.val_y)
            vals += [val_loss, val_correct.float()]
        return figures(torch.stack(vals).tolist(), d, self.classify)  # the epoch's one host sync


def figures(host: list[float], d, classify: bool) -> dict[str, Any]:
    """An epoch's record figures from its sums read back (`host`: train loss and correct, test loss and
    correct, then val loss and correct when `d`, the task's data, has a validation split)."""
    n, nt, has_val = d.n_train, int(d.test_x.shape[0]), d.val_x is not None
    nv = int(d.val_x.shape[0]) if has_val else 0
    return {
        "train_loss": finite(host[0] / n),
        "test_loss": finite(host[2] / nt),
        "train_acc": host[1] / n if classify else None,
        "test_acc": host[3] / nt if classify else None,
        "val_loss": finite(host[4] / nv) if has_val else None,
        "val_acc": (host[5] / nv if classify else None) if has_val else None,
    }


def init_record(evaluate: Evaluator, lr: float) -> dict[str, Any]:
    """Epoch 0's metrics record: the training, test and validation losses and accuracies of the model as
    initialised, before the first step (the training set is evaluated like the test set, in eval mode).
    Every curve starts here, and divergence is judged against its train_loss (core/rules/divergence.py)."""
    d = evaluate.data
    loss_sum, correct = evaluate(d.train_x, d.train_y)
    return {"epoch": 0, "step": 0, "time": 0.0, **evaluate.record(loss_sum, correct), "lr": lr}


def finite(v: float) -> float | None:
    return v if math.isfinite(v) else None
