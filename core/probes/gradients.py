"""The per-layer gradient-norms probe: each weighted layer's gradient norm over an epoch (vanishing
gradients)."""

from __future__ import annotations

import torch

from ..train.hooks import Probe, ProbeContext


class LayerGradNorms(Probe):
    """Record key "grad_norm": each weighted layer's gradient norm averaged over the epoch's steps.

    Less noisy than the default probe's last-step value, which it replaces in the record; it adds
    a few small kernels per step and no host sync.
    """

    def __init__(self, ctx: ProbeContext):
        super().__init__(ctx)
        from ..train.models import linear_layers

        self.layers = linear_layers(ctx.model)
        self.total: torch.Tensor | None = None
        self.steps = 0

    def after_step(self) -> None:
        grads = [m.weight.grad for m in self.layers if m.weight.grad is not None]
        if not grads:
            return
        norms = torch.stack([g.norm() for g in grads])
        self.total = norms if self.total is None else self.total + norms
        self.steps += 1

    def measure(self, epoch):
        if self.total is None:
            return {}
        out = {"grad_norm": (self.total / self.steps).tolist()}
        self.total, self.steps = None, 0
        return out
