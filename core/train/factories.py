"""The loss and the optimizer a config names, each in its fastest form for the device, and its batch size."""

from __future__ import annotations

import torch
from torch import nn

from ..rules.errors import BadInput
from ..spec import nodynamo
from ..spec.config import RunConfig

TINY_MODEL = (
    10_000  # parameters; below this, SGD's per-tensor loop has the least per-step overhead (momentum too)
)


def batch_size_for(cfg: RunConfig, n_train: int) -> int:
    """The config's batch size in samples ("full": the whole training set); BadInput if the set is smaller."""
    bs = n_train if cfg.batch_size == "full" else cfg.batch_size
    if bs > n_train:
        raise BadInput(
            f"batch_size = {bs} is larger than the training set ({n_train} samples); "
            f'use at most {n_train} or "full"'
        )
    return bs


def make_loss(name: str) -> nn.Module:
    if name == "cross_entropy":
        return nn.CrossEntropyLoss()
    if name == "smooth_l1":
        return nn.SmoothL1Loss()
    if name == "mse":
        return nn.MSELoss()
    raise BadInput(f"loss = {name} is unknown; use cross_entropy, smooth_l1 or mse")


class PlainSGD(torch.optim.SGD):
    """torch's SGD made for the plain update only (no momentum or weight decay: make_optimizer sees to it),
    which `plain_step` does as one foreach op: torch's `step` wraps it in enough Python to matter for the
    small steps the presets take (docs/performance.md). State, param groups (a changed lr included) and
    checkpoints are torch's."""

    @torch.no_grad()
    def plain_step(self) -> None:
        for g in self.param_groups:
            params = [p for p in g["params"] if p.grad is not None]
            if params:
                torch._foreach_add_(params, [p.grad for p in params], alpha=-g["lr"])


def make_optimizer(cfg: RunConfig, model: nn.Module, device) -> torch.optim.Optimizer:
    nodynamo.prepare(cfg.compile and device.type == "cuda")  # torch._dynamo only where the model compiles
    params = list(model.parameters())
    if cfg.optimizer == "sgd" and device.type == "cpu" and cfg.momentum == 0 and cfg.weight_decay == 0:
        return PlainSGD(params, lr=cfg.lr)
    fast = _fast_kwargs(cfg, params, device)
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(
            params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay, **fast
        )
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay, **fast)
    raise BadInput(f"optimizer = {cfg.optimizer} is unknown; use sgd or adam")


def _fast_kwargs(cfg: RunConfig, params: list[nn.Parameter], device) -> dict[str, bool]:
    """The fastest optimizer implementation measured for this device and size (docs/performance.md)."""
    if device.type not in ("cuda", "cpu"):
        return {"foreach": True}
    if device.type == "cpu" and cfg.optimizer == "sgd" and sum(p.numel() for p in params) < TINY_MODEL:
        return {"foreach": False}
    return {"fused": True}
