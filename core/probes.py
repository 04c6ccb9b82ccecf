"""Probes: per-epoch measurements beyond the losses (learned function, gradient norms, ...).

A probe is made with a narrow `ProbeContext` (the model, data, config, device, optimizer and loss, and
nothing of the loop), and at each epoch's end returns values for the metrics record
(`measure`) and, at the epochs it cares about, snapshots (`snapshots`). At the end it may add to the
summary. Tasks name the probes they always want; `probes = [...]` in a config adds more.
The registry maps a name to "module:Class" so that naming costs no import.
"""
from __future__ import annotations

import contextlib
import importlib
from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import nn

from .errors import BadInput

REGISTRY: dict[str, str] = {
    "poly_function": "dltui.core.probes:PolyFunction",
    "grad_norm": "dltui.core.probes:GradNorm",
    "regions": "dltui.core.probes_regions:Regions",
    "layer_grad_norms": "dltui.core.probes_gradients:LayerGradNorms",
    "class_acc": "dltui.core.probes_mnist:ClassAcc",
    "hidden_similarity": "dltui.core.probes_mnist:HiddenSimilarity",
    "sharpness": "dltui.core.probes_dynamics:Sharpness",
    "update_ratio": "dltui.core.probes_dynamics:UpdateRatio",
    "dead_units": "dltui.core.probes_dynamics:DeadUnits",
    "confusion": "dltui.core.probes_dynamics:Confusion",
}
DEFAULT_PROBES = ("grad_norm",)


class Probe:
    """Base class: override what you need. It sees the run through its `ProbeContext` only."""

    def __init__(self, ctx: ProbeContext):
        self.ctx = ctx

    def after_step(self) -> None:
        """Called after each optimizer step (keep it cheap: no host sync)."""

    def measure(self, epoch: int) -> dict[str, Any]:
        """Values to add to this epoch's metrics record."""
        return {}

    def snapshots(self, epoch: int) -> list[tuple[str, dict[str, Any]]]:
        """(kind, data) pictures of the model to emit at this epoch."""
        return []

    def summary(self) -> dict[str, Any]:
        """Values to add to summary.json."""
        return {}


@dataclass(frozen=True)
class ProbeContext:
    """What a probe may see of a run: no loop state, no listeners, no run dir."""

    model: Any  # torch.nn.Module
    data: Any  # TaskData
    cfg: Any  # RunConfig
    device: Any  # torch.device
    optimizer: Any  # torch.optim.Optimizer
    loss_fn: Callable
    clock: Callable[[], float]  # seconds of training so far (pauses left out)
    test_preds: Callable[[], Any] = lambda: None  # the epoch's test predictions, from the trainer's own evaluation
    steps_per_epoch: int = 0
    position: Callable[[], tuple[int, int]] = lambda: (0, 0)  # (epoch, step) now

    @classmethod
    def of(cls, trainer) -> ProbeContext:
        return cls(trainer.model, trainer.data, trainer.cfg, trainer.device, trainer.optimizer, trainer.loss_fn,
                   trainer.clock.elapsed, lambda: trainer.evaluate.test_preds, trainer.steps_per_epoch,
                   lambda: (trainer.epoch, trainer.step))


@contextlib.contextmanager
def eval_mode(model):
    """The model in eval mode (dropout off) inside the block, and back as it was after."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


def check_names(names: tuple[str, ...]) -> None:
    """BadInput for a probe name that is not known."""
    for name in names:
        if name not in REGISTRY:
            raise BadInput(f"probes: unknown probe '{name}'; known probes: {', '.join(sorted(REGISTRY))}")


def make(names: tuple[str, ...], ctx: ProbeContext) -> list[Probe]:
    """The probes named (in order, repeats dropped), each made with `ctx`."""
    check_names(names)
    out = []
    for name in dict.fromkeys(names):
        mod, cls_name = REGISTRY[name].split(":")
        out.append(getattr(importlib.import_module(mod), cls_name)(ctx))
    return out


class GradNorm(Probe):
    """The L2 norm of each weighted layer's gradient at the epoch's last step (cheap: one sync)."""

    def __init__(self, ctx: ProbeContext):
        super().__init__(ctx)
        from .models import linear_layers

        self.weights = [m.weight for m in linear_layers(ctx.model)]  # the layers never change during a run

    def measure(self, epoch):
        norms = [torch.linalg.vector_norm(w.grad) for w in self.weights if w.grad is not None]
        return {"grad_norm": torch.stack(norms).tolist()} if norms else {}


class PolyFunction(Probe):
    """The polynomial's learned vs target curve at `record_epochs`, and its learned coefficients when the
    model is linear in the features (no hidden layers: the seed's model)."""

    POINTS = 60

    def _coefficients(self) -> tuple[list[float] | None, float | None]:
        layers = [m for m in self.ctx.model.modules() if isinstance(m, nn.Linear)]
        if len(layers) != 1:  # an MLP on [x..x^4] has no coefficients to print; its curve is still drawn
            return None, None
        lin = layers[0]
        return lin.weight.detach().view(-1).tolist(), float(lin.bias.detach().item())

    def snapshots(self, epoch):
        if epoch not in self.ctx.cfg.record_epochs and epoch != self.ctx.cfg.epochs:
            return []
        from .data.polynomial import features

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
        return [("function", {"x": x.tolist(), "learned": learned, "target": target, "coefficients": w, "bias": b,
                              "target_coefficients": tw, "target_bias": tb})]

    def summary(self):
        w, b = self._coefficients()
        extras = self.ctx.data.extras
        out = {"target_coefficients": extras["target_coefficients"], "target_bias": extras["target_bias"]}
        return out if w is None else {**out, "learned_coefficients": w, "learned_bias": b}
