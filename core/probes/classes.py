"""Probes for the MNIST presets: per-class test accuracy (forgetting) and hidden-unit symmetry (zero init)."""

from __future__ import annotations

from typing import Any

import torch

from ..rules.errors import BadInput
from ..train.hooks import Probe, ProbeContext
from ..train.models import linear_layers


class ClassAcc(Probe):
    """Test accuracy of each class at every epoch's end, and at TRACE_POINTS evenly spaced steps inside it.

    The points inside the epoch show forgetting under a sorted order: class 0 is learned while the
    zeros go by, and lost again while the ones do. Values stay on the device until `measure`.
    """

    TRACE_POINTS = 10
    CHUNK = 8192  # test samples per forward pass

    def __init__(self, ctx: ProbeContext):
        super().__init__(ctx)
        d = ctx.data
        if d.kind != "classification":
            raise BadInput(
                f"probes: class_acc needs a classification task, not task = {ctx.cfg.task}; "
                "remove it from probes"
            )
        self.class_count = torch.bincount(d.test_y, minlength=d.n_classes).clamp_min(1)
        spe = ctx.steps_per_epoch
        self.marks = {round(k * spe / self.TRACE_POINTS) for k in range(1, self.TRACE_POINTS)} - {0, spe}
        self.trace: list[tuple[float, int, float, torch.Tensor]] = []
        self.last: list[float] = []

    @torch.no_grad()
    def per_class(self) -> torch.Tensor:
        """Per-class test accuracy as a device tensor (no host sync)."""
        model, d = self.ctx.model, self.ctx.data
        was_training = model.training
        model.eval()
        correct = torch.zeros(d.n_classes, device=d.test_y.device, dtype=torch.long)
        for s in range(0, d.test_x.shape[0], self.CHUNK):
            xb, yb = d.test_x[s : s + self.CHUNK], d.test_y[s : s + self.CHUNK]
            if d.transform is not None:
                xb = d.transform(xb)
            hit = model(xb).argmax(1) == yb
            correct += torch.bincount(yb[hit], minlength=d.n_classes)
        model.train(was_training)
        return correct.float() / self.class_count

    def after_step(self) -> None:
        epoch, step = self.ctx.position()
        spe = self.ctx.steps_per_epoch
        local = step - (epoch - 1) * spe
        if local in self.marks:
            self.trace.append(
                (round(epoch - 1 + local / spe, 4), step, round(self.ctx.clock(), 4), self.per_class())
            )

    def measure(self, epoch: int) -> dict[str, Any]:
        accs = torch.stack([a for *_, a in self.trace] + [self.per_class()]).tolist()  # one host sync
        self.last = accs[-1]
        trace = [{"epoch": e, "step": s, "time": tm, "acc": a} for (e, s, tm, _), a in zip(self.trace, accs)]
        self.trace = []
        return {"class_acc": self.last, "class_acc_trace": trace}

    def summary(self) -> dict[str, Any]:
        return {"final_class_acc": self.last} if self.last else {}


def unit_vectors(model) -> list[torch.Tensor]:
    """For each hidden layer, one row per unit: its incoming weights, its bias and its outgoing weights."""
    layers = linear_layers(model)
    out = []
    for lin, nxt in zip(layers, layers[1:]):
        if nxt.weight.dim() != 2 or nxt.weight.shape[1] != lin.weight.shape[0]:
            continue  # not a fully connected pair (e.g. conv to flatten)
        parts = [lin.weight.detach().flatten(1)]
        if lin.bias is not None:
            parts.append(lin.bias.detach().unsqueeze(1))
        parts.append(nxt.weight.detach().transpose(0, 1).flatten(1))
        out.append(torch.cat(parts, 1))
    return out


def similarity(units: torch.Tensor) -> torch.Tensor:
    """|mean unit|² / mean |unit|²: 1.0 when every unit is the same vector (all zero counts), near 0 for
    random units."""
    energy = units.pow(2).sum(1).mean()
    common = units.mean(0).pow(2).sum()
    return torch.where(energy > 0, common / energy.clamp_min(1e-30), torch.ones_like(energy))


class HiddenSimilarity(Probe):
    """How alike the hidden units are (mean over hidden layers): 1.0 means all identical, the symmetry zero
    init never breaks."""

    def __init__(self, ctx):
        super().__init__(ctx)
        self.last: float | None = None

    def measure(self, epoch: int) -> dict[str, Any]:
        units = unit_vectors(self.ctx.model)
        if not units:
            return {}
        self.last = float(torch.stack([similarity(u) for u in units]).mean())
        return {"hidden_similarity": self.last}

    def summary(self) -> dict[str, Any]:
        return {} if self.last is None else {"final_hidden_similarity": self.last}
