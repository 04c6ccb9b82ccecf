"""Which loss fits which task, and the mean squared error of a classifier against one-hot targets.

`check` runs in the preflight (no data loaded), so a loss that cannot apply to a task is
bad input before any run dir exists. `for_task` adapts the loss module to the task's targets.
"""

from __future__ import annotations

import torch
from torch import nn

from ..data import REGISTRY
from ..rules.errors import BadInput

FITS = {
    "classification": ("cross_entropy", "mse"),
    "regression": ("mse", "smooth_l1"),
}


def task_kind(task: str) -> str | None:
    """classification, regression, or None for a task that trains nothing."""
    return REGISTRY[task].kind if task in REGISTRY else "classification"


def check(cfg, where: str = "") -> None:
    """BadInput when `cfg.loss` cannot apply to `cfg.task`."""
    kind = task_kind(cfg.task)
    if kind is None or cfg.loss in FITS[kind]:
        return
    allowed = FITS[kind]
    prefix = f"{where}: " if where else ""
    raise BadInput(
        f"{prefix}loss = {cfg.loss} does not apply to task {cfg.task} ({kind}); "
        f"use {' or '.join(allowed)}, e.g. --set loss={allowed[0]}"
    )


def for_task(loss_fn: nn.Module, data) -> nn.Module:
    """`loss_fn` as the task needs it: on a classifier, a squared-error loss compares the outputs with
    one-hot targets (mean over all elements, as torch's MSELoss does); otherwise unchanged."""
    if data.kind == "classification" and isinstance(loss_fn, nn.MSELoss):
        return OneHotLoss(loss_fn, data.n_classes)
    return loss_fn


class OneHotLoss(nn.Module):
    """A regression loss on a classifier's outputs (one per class) against one-hot class targets."""

    def __init__(self, inner: nn.Module, n_classes: int):
        super().__init__()
        self.inner, self.n_classes = inner, n_classes

    def forward(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.inner(out, nn.functional.one_hot(y, self.n_classes).to(out.dtype))
