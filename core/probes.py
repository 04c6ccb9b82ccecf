"""Probes: per-epoch measurements beyond the losses (learned function, gradient norms, ...).

A probe is made with the trainer, and at each epoch's end returns values for the metrics record
(`measure`) and, at the epochs it cares about, snapshots (`snapshots`). At the end it may add to the
summary. Tasks name the probes they always want; `probes = [...]` in a config adds more.
The registry maps a name to "module:Class" so that naming costs no import.
"""
from __future__ import annotations

import importlib
from typing import Any

import torch

from .errors import BadInput

REGISTRY: dict[str, str] = {
    "poly_function": "dltui.core.probes:PolyFunction",
    "grad_norm": "dltui.core.probes:GradNorm",
    "regions": "dltui.core.probes_seed002:Regions",
    "layer_grad_norms": "dltui.core.probes_seed002:LayerGradNorms",
    "class_acc": "dltui.core.probes_mnist:ClassAcc",
    "hidden_similarity": "dltui.core.probes_mnist:HiddenSimilarity",
}
DEFAULT_PROBES = ("grad_norm",)


class Probe:
    """Base class: override what you need."""

    def __init__(self, trainer):
        self.trainer = trainer

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


def check_names(names: tuple[str, ...]) -> None:
    """BadInput for the first name that is not a probe (checked before any run starts)."""
    for name in names:
        if name not in REGISTRY:
            raise BadInput(f"probes: unknown probe '{name}'; known probes: {', '.join(sorted(REGISTRY))}")


def make(names: tuple[str, ...], trainer) -> list[Probe]:
    check_names(names)
    out = []
    for name in dict.fromkeys(names):  # keep order, drop repeats
        mod, cls = REGISTRY[name].split(":")
        out.append(getattr(importlib.import_module(mod), cls)(trainer))
    return out


class GradNorm(Probe):
    """The L2 norm of each weighted layer's gradient at the epoch's last step (cheap: one sync)."""

    def measure(self, epoch):
        from .models import linear_layers

        if not hasattr(self, "weights"):  # the layers never change during a run: find them once
            self.weights = [m.weight for m in linear_layers(self.trainer.model)]
        norms = [torch.linalg.vector_norm(w.grad) for w in self.weights if w.grad is not None]
        return {"grad_norm": torch.stack(norms).tolist()} if norms else {}


class PolyFunction(Probe):
    """The polynomial's learned coefficients, and its learned vs target curve at `record_epochs`."""

    POINTS = 60

    def _coefficients(self):
        lin = self.trainer.model.net[-1]
        return lin.weight.detach().view(-1).tolist(), float(lin.bias.detach().item())

    def snapshots(self, epoch):
        if epoch not in self.trainer.cfg.record_epochs and epoch != self.trainer.cfg.epochs:
            return []
        from .data.polynomial import features

        extras = self.trainer.data.extras
        lo, hi = extras["x_range"]
        x = torch.linspace(lo, hi, self.POINTS)
        w, b = self._coefficients()
        tw, tb = extras["target_coefficients"], extras["target_bias"]
        f = features(x)
        learned = (f @ torch.tensor(w) + b).tolist()
        target = (f @ torch.tensor(tw) + tb).tolist()
        return [("function", {"x": x.tolist(), "learned": learned, "target": target, "coefficients": w, "bias": b,
                              "target_coefficients": tw, "target_bias": tb})]

    def summary(self):
        w, b = self._coefficients()
        extras = self.trainer.data.extras
        return {
            "target_coefficients": extras["target_coefficients"],
            "target_bias": extras["target_bias"],
            "learned_coefficients": w,
            "learned_bias": b,
        }
