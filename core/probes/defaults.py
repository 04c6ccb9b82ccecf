"""The probes a run gets without asking: the gradient norm (every run) and the polynomial's learned function
(its task asks for it).

The base class and the context are in core/train/hooks.py; the table of all probes is core/spec/probes.py.

A probe is made with a narrow `ProbeContext` (the model, data, config, device, optimizer and loss, and
nothing of the loop), and at each epoch's end returns values for the metrics record
(`measure`) and, at the epochs it cares about, snapshots (`snapshots`). At the end it may add to the
summary. Tasks name the probes they always want; `probes = [...]` in a config adds more.
"""

from __future__ import annotations

import torch
from torch import nn

from ..train.hooks import Probe, ProbeContext, eval_mode


class GradNorm(Probe):
    """The L2 norm of each weighted layer's gradient at the epoch's last step (cheap: one sync)."""

    def __init__(self, ctx: ProbeContext):
        super().__init__(ctx)
        from ..train.models import linear_layers

        self.weights = [m.weight for m in linear_layers(ctx.model)]  # the layers never change during a run

    def measure(self, epoch):
        norms = [torch.linalg.vector_norm(w.grad) for w in self.weights if w.grad is not None]
        return {"grad_norm": torch.stack(norms).tolist()} if norms else {}

    @staticmethod
    def of_stacked(weight_grads: list[torch.Tensor]) -> list[list[float]]:
        """A batched group's copies' figures at once ([C, ...] gradients of each weighted layer, in order):
        one host sync for them all."""
        return torch.stack([torch.linalg.vector_norm(g.flatten(1), dim=1) for g in weight_grads], 1).tolist()


class PolyFunction(Probe):
    """The polynomial's learned vs target curve at `record_epochs`, and its learned coefficients when the
    model is linear in the features (no hidden layers: the course's model)."""

    POINTS = 60

    def _coefficients(self) -> tuple[list[float] | None, float | None]:
        layers = [m for m in self.ctx.model.modules() if isinstance(m, nn.Linear)]
        if len(layers) != 1:  # an MLP on [x..x^4] has no coefficients to print; its curve is still drawn
            return None, None
        lin = layers[0]
        return lin.weight.detach().view(-1).tolist(), float(lin.bias.detach().item())

    def reads_model(self, epoch):
        own = epoch in self.ctx.cfg.record_epochs or epoch == self.ctx.cfg.epochs
        return self.every is not None or own  # else probe_every's schedule

    def snapshots(self, epoch):
        if not self.reads_model(epoch):
            return []
        from ..data.polynomial import features

        extras = self.ctx.data.extras
        lo, hi = extras["x_range"]
        x = torch.linspace(lo, hi, self.POINTS)
        w, b = self._coefficients()
        tw, tb = extras["target_coefficients"], extras["target_bias"]
        f = features(x)
        model = self.ctx.model
        with torch.no_grad(), eval_mode(model):
            learned = model(f.to(self.ctx.device)).view(-1).cpu().tolist()
        target = (f @ torch.tensor(tw) + tb).tolist()
        return [
            (
                "function",
                {
                    "x": x.tolist(),
                    "learned": learned,
                    "target": target,
                    "coefficients": w,
                    "bias": b,
                    "target_coefficients": tw,
                    "target_bias": tb,
                },
            )
        ]

    def summary(self):
        w, b = self._coefficients()
        extras = self.ctx.data.extras
        out = {"target_coefficients": extras["target_coefficients"], "target_bias": extras["target_bias"]}
        return out if w is None else {**out, "learned_coefficients": w, "learned_bias": b}
