"""The instruments (core.spec.probes says what that word means): probes a user switches on, each with its
own view, that say why training behaves as it does: sharpness against 2/lr, update-to-weight ratios,
dead and saturated units, and the confusion matrix. Each takes a ProbeContext, not the trainer, and
does its work at an epoch's end (never per step, so never a host sync per step).
"""

from __future__ import annotations

import math
import time
from typing import Any

import torch
from torch import nn

from ..rules.errors import BadInput
from ..spec.device import timed
from ..train.hooks import Probe, ProbeContext, eval_mode
from ..train.models import linear_layers
from .sharpness import hvp_operator, sharpness

MEASUREMENTS = 50  # sharpness and confusion: about this many over a run


def fixed_subset(ctx: ProbeContext, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Up to `size` training samples, the same for every run of a seed, transformed as the model sees them."""
    d = ctx.data
    n = d.n_train
    idx = (
        torch.randperm(n, generator=torch.Generator().manual_seed(ctx.cfg.seed))[: min(size, n)].sort().values
    )
    idx = idx.to(d.train_x.device)
    x, y = d.train_x.index_select(0, idx), d.train_y.index_select(0, idx)
    return (d.transform(x) if d.transform is not None else x), y


def cadence(epochs: int) -> int:
    """Every how many epochs a probe measures to take about MEASUREMENTS measurements in a run."""
    return max(1, epochs // MEASUREMENTS)


class Sharpness(Probe):
    """Record key "sharpness": the top eigenvalue of the training loss's Hessian on a fixed subset.

    At init (epoch 0) and then about MEASUREMENTS a run, each Lanczos run warm-started from the last
    eigenvector; or, where the config's probe_every sets it every N epochs, on exactly that schedule (the
    trainer asks it only then), whatever it costs. Its cost is otherwise held within BUDGET (or probe_every's
    share) of the training time by construction: a measurement that is due waits until the time
    spent on them so far plus the next one's expected cost fits in BUDGET of the training time so far
    (or in GRACE_S). So the first (from a random vector, the dearest) comes as early as the budget
    allows, and a short run on large data may get none. Compare it with 2/lr: GD is unstable above it.
    """

    SUBSET = 2500  # up to 5,000 is the usual; 2,500 keeps ~50 measurements of an MNIST run within the budget
    SUBSET_VALUES = 4_000_000  # at most this many input numbers (1,302 CIFAR images): the graph grows with it
    BUDGET = 0.04  # of the training time: the goal is 5% (issue 20), and an expected cost is only a forecast
    GRACE_S = 0.5  # or this many seconds in all, whatever the run's length: small data gets its curve at once
    COLD_PRODUCTS = 10  # Hessian-vector products of a measurement from a random vector (about; 20 at most)
    WARM_PRODUCTS = 5  # and of the first warm-started one, before a warm one has been seen
    PRODUCT_PER_GRAPH = (
        1.5  # a product (double backward) costs about this many builds of the gradient's graph
    )

    def __init__(self, ctx: ProbeContext):
        super().__init__(ctx)
        per_sample = max(1, math.prod(ctx.data.input_shape))
        self.x, self.y = fixed_subset(ctx, min(self.SUBSET, max(1, self.SUBSET_VALUES // per_sample)))
        self.cadence_every = cadence(ctx.cfg.epochs)  # its own rule; `every` is probe_every's
        self.vector: torch.Tensor | None = None
        self.next_epoch = 0  # the cadence's next epoch; the budget may put the measurement off further
        self.spent_s = 0.0  # seconds the measurements (and the one calibration) took so far
        self.product_s: float | None = None  # seconds of one product, graph share included, as last seen
        self.products = self.COLD_PRODUCTS  # the next measurement's expected products
        self.last: float | None = None

    def expected_s(self) -> float:
        """The next measurement's expected seconds. Before the first, a build of the gradient's graph
        (forward and backward on the subset) is timed to foresee it: it costs a product or so. The faster
        of two builds: the first pays one-off costs (kernels chosen, memory first touched)."""
        if self.product_s is None:
            with eval_mode(self.ctx.model) as model:
                builds = [
                    timed(lambda: hvp_operator(model, self.ctx.loss_fn, self.x, self.y), self.ctx.device)
                    for _ in range(2)
                ]
            self.spent_s += sum(builds)
            self.product_s = min(builds) * self.PRODUCT_PER_GRAPH
        return self.product_s * (self.products + 1)  # +1: the measurement's own graph

    def due(self, epoch: int) -> bool:
        if epoch < self.next_epoch:
            return False
        budget = self.budget if self.budget is not None else self.BUDGET
        return self.spent_s + self.expected_s() <= max(budget * self.ctx.clock(), self.GRACE_S)

    def measure(self, epoch: int) -> dict[str, Any]:
        if self.every is None and not self.due(epoch):
            return {}
        warm = self.vector is not None
        t = time.perf_counter()
        value, self.vector, products = sharpness(
            self.ctx.model, self.ctx.loss_fn, self.x, self.y, self.vector
        )
        took = (
            time.perf_counter() - t
        )  # its last product's eigenvalue came to the host: nothing is left queued
        self.spent_s += took
        self.product_s = took / (products + 1)
        self.products = products if warm else self.WARM_PRODUCTS
        self.next_epoch = epoch + self.cadence_every
        if not math.isfinite(value):
            self.vector = None  # a non-finite vector would poison the next start
            self.products = self.COLD_PRODUCTS
            return {"sharpness": None}
        self.last = value
        return {"sharpness": value}

    def summary(self) -> dict[str, Any]:
        return {} if self.last is None else {"final_sharpness": self.last}


def last_update(
    optimizer: torch.optim.Optimizer, group: dict[str, Any], p: torch.Tensor
) -> torch.Tensor | None:
    """The change the optimizer's last step made to `p` (up to sign), rebuilt from its state and the last
    gradient: lr·g for plain SGD, lr·momentum buffer with momentum, lr·m̂/(√v̂+ε) for Adam."""
    state = optimizer.state.get(p, {})
    lr = group["lr"]
    if "exp_avg" in state:
        b1, b2 = group["betas"]
        t = state["step"]
        m_hat = state["exp_avg"] / (1 - b1**t)
        v_hat = state["exp_avg_sq"] / (1 - b2**t)
        return lr * m_hat / (v_hat.sqrt() + group["eps"])
    if state.get("momentum_buffer") is not None:
        return lr * state["momentum_buffer"]
    if p.grad is None:
        return None
    wd = group.get("weight_decay", 0.0)
    return lr * (p.grad + wd * p) if wd else lr * p.grad


class UpdateRatio(Probe):
    """Record key "update_ratio": log10(‖update‖ / ‖W‖) of each weighted layer's last step at the epoch's
    end. About -3 is healthy; far below, the layer is frozen (vanishing gradients, zero init); near 0
    or above, each step rewrites it (the lr is too high). None where W or the update is all zero."""

    at_init = False  # no step yet, no update

    def __init__(self, ctx: ProbeContext):
        super().__init__(ctx)
        self.weights = [m.weight for m in linear_layers(ctx.model)]
        groups = {id(p): g for g in ctx.optimizer.param_groups for p in g["params"]}
        self.groups = [groups.get(id(w)) for w in self.weights]

    @torch.no_grad()
    def measure(self, epoch: int) -> dict[str, Any]:
        norms = []
        for w, g in zip(self.weights, self.groups):
            u = last_update(self.ctx.optimizer, g, w) if g is not None else None
            norms.append(
                torch.zeros((), device=w.device) if u is None else torch.linalg.vector_norm(u.float())
            )
            norms.append(torch.linalg.vector_norm(w.float()))
        if not norms:
            return {}
        host = torch.stack(norms).tolist()  # one sync
        return {"update_ratio": [_log_ratio(u, w) for u, w in zip(host[::2], host[1::2])]}


def _log_ratio(u: float, w: float) -> float | None:
    if not (u > 0 and w > 0 and math.isfinite(u) and math.isfinite(w)):
        return None
    return math.log10(u / w)


SATURATION = {nn.Sigmoid: 4.0, nn.Tanh: 2.0}  # |z| beyond which the slope is under 7% of its peak
SATURATED_SHARE = 0.9  # a sigmoid or tanh unit is saturated when it is on this share of the batch or more
WATCHED = (nn.ReLU, *SATURATION)


class DeadUnits(Probe):
    """Record key "dead_units": per activation layer, the share of units that are dead (ReLU: never active,
    z <= 0, on every sample of a fixed batch) or saturated (sigmoid |z| > 4, tanh |z| > 2, on 90% of
    the samples or more). A convolution's unit is a channel. One forward pass on BATCH samples an epoch."""

    BATCH = 1024

    def __init__(self, ctx: ProbeContext):
        super().__init__(ctx)
        self.acts = [m for m in ctx.model.modules() if type(m) in WATCHED]
        self.x, _ = fixed_subset(ctx, self.BATCH)
        self.found: list[torch.Tensor] = []

    def _hook(self, module: nn.Module, inputs: tuple, output) -> None:
        z = inputs[0].detach()
        z = z.transpose(0, 1).flatten(1) if z.dim() > 2 else z.t()  # units × observations
        limit = SATURATION.get(type(module))
        off = (z <= 0).all(1) if limit is None else (z.abs() > limit).float().mean(1) >= SATURATED_SHARE
        self.found.append(off.float().mean())

    @torch.no_grad()
    def measure(self, epoch: int) -> dict[str, Any]:
        if not self.acts:
            return {}
        hooks = [m.register_forward_hook(self._hook) for m in self.acts]
        try:
            with eval_mode(self.ctx.model) as model:
                model.forward(self.x)  # eagerly, so the hooks see every layer even if the model is compiled
        finally:
            for h in hooks:
                h.remove()
        found, self.found = self.found, []
        return {"dead_units": torch.stack(found).tolist()}


class Confusion(Probe):
    """Snapshots kind "confusion": counts of (true class, predicted class) on the test set, rows true,
    about MEASUREMENTS times a run and at the last epoch (or on probe_every's schedule); the last one goes in
    the summary."""

    CHUNK = 8192

    def __init__(self, ctx: ProbeContext):
        super().__init__(ctx)
        if ctx.data.kind != "classification":
            raise BadInput(
                f"probes: confusion needs a classification task, not task = {ctx.cfg.task}; "
                "remove it from probes"
            )
        self.cadence_every = cadence(ctx.cfg.epochs)  # its own rule; `every` is probe_every's
        self.last: list[list[int]] | None = None

    @torch.no_grad()
    def matrix(self) -> torch.Tensor:
        """From the predictions of the trainer's own test evaluation this epoch (no extra pass), else by
        one."""
        d, k = self.ctx.data, self.ctx.data.n_classes
        preds = self.ctx.test_preds()
        if preds is None or preds.shape != d.test_y.shape:
            preds = self.predict()
        return torch.bincount(d.test_y * k + preds, minlength=k * k).view(k, k)

    def predict(self) -> torch.Tensor:
        d = self.ctx.data
        out = []
        with eval_mode(self.ctx.model) as model:
            for s in range(0, d.test_x.shape[0], self.CHUNK):
                xb = d.test_x[s : s + self.CHUNK]
                out.append(model(d.transform(xb) if d.transform is not None else xb).argmax(1))
        return torch.cat(out)

    def snapshots(self, epoch: int) -> list[tuple[str, dict[str, Any]]]:
        if self.every is None and epoch % self.cadence_every and epoch not in (1, self.ctx.cfg.epochs):
            return []
        self.last = self.matrix().tolist()
        return [("confusion", {"matrix": self.last})]

    def summary(self) -> dict[str, Any]:
        return {} if self.last is None else {"confusion": self.last}
