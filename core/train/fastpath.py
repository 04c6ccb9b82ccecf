"""One optimizer step in the fastest form measured for the device, behind one boundary.

`step_and_update` hands back `(step, update)`: `step(xb, yb, start)` puts the step's gradients in each `.grad`
and its predictions in `preds` from sample `start`, and returns its mean loss (on the device, no sync);
`update()` applies the gradients; `build` bundles them with what else the loop needs (FastPath). What they
hide (docs/performance.md):
- on the CPU, a step larger than MICRO_BATCH_CPU samples goes in chunks of that size whose gradients add up to
  the step's own, so that the activations stay in the cache instead of being written out and read back;
- on the CPU, an MLP under cross-entropy trains with a hand-written backward (core/train/mlpstep.py);
- plain SGD (core/train/factories.py's PlainSGD) updates with one foreach op, any other optimizer through
  core/spec/nodynamo.py's `step_of` (its step without the wrapper that imports torch._dynamo);
- on CUDA, amp (bf16 autocast) and torch.compile when the config asks (elsewhere a note says they are
  ignored).
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from ..data import TaskData
from ..spec import nodynamo
from ..spec.config import RunConfig
from .factories import PlainSGD
from .mlpstep import MLPStep

Tensor = torch.Tensor
# On the CPU, a larger step's forward and backward (and evaluation) go in chunks of this many samples.
MICRO_BATCH_CPU = 4096


class Step:
    """The forward and backward of one step (see the module's docstring)."""

    def __init__(
        self,
        model: nn.Module,
        loss_fn: Callable,
        data: TaskData,
        autocast: Callable,
        micro: int,
        preds: Tensor,
        mlp_step: MLPStep | None,
    ):
        self.model, self.loss_fn, self.autocast = model, loss_fn, autocast
        self.transform = data.transform
        self.classify = data.kind == "classification"
        self.micro = micro
        self.preds = preds  # predictions land in one buffer, compared with the labels once per epoch
        self.mlp_step = mlp_step
        self.forward = mlp_step if mlp_step is not None else self.autograd  # (x, y, weight) -> (out, loss)

    def autograd(self, x: Tensor, y: Tensor, weight: float) -> tuple[Tensor, Tensor]:
        with self.autocast():
            out = self.model(x)
            loss = self.loss_fn(out, y)
        (loss if weight == 1.0 else loss * weight).backward()
        return out, loss

    def __call__(self, xb: Tensor, yb: Tensor, start: int) -> Tensor:
        m, micro = yb.shape[0], self.micro
        total = None
        for c in range(0, m, micro):
            x, y = (xb, yb) if m <= micro else (xb[c : c + micro], yb[c : c + micro])
            if self.transform is not None:
                x = self.transform(x)
            weight = 1.0 if m <= micro else y.shape[0] / m
            out, loss = self.forward(x, y, weight)
            part = loss.detach() if weight == 1.0 else loss.detach() * weight
            total = part if total is None else total + part
            if self.classify:
                torch.argmax(out.detach(), 1, out=self.preds[start + c : start + c + y.shape[0]])
        return total


def step_and_update(
    model: nn.Module,
    loss_fn: Callable,
    optimizer: torch.optim.Optimizer,
    data: TaskData,
    device: torch.device,
    autocast: Callable,
    preds: Tensor,
    batch_size: int,
) -> tuple[Step, Callable[[], None]]:
    """The step and the update for this model, loss, optimizer and device (see the module's docstring)."""
    cpu = device.type == "cpu"
    micro = MICRO_BATCH_CPU if cpu else max(batch_size, 1)
    mlp_step = MLPStep.build(model, loss_fn) if cpu else None
    update = optimizer.plain_step if isinstance(optimizer, PlainSGD) else nodynamo.step_of(optimizer)
    return Step(model, loss_fn, data, autocast, micro, preds, mlp_step), update


def accelerate(cfg: RunConfig, device: torch.device, model: nn.Module) -> tuple[Callable, list[str]]:
    """(autocast context, notes): amp and compile on CUDA as the config asks; elsewhere a note each says why
    not."""
    notes: list[str] = []
    autocast: Callable = contextlib.nullcontext
    if cfg.amp and device.type == "cuda":
        autocast = functools.partial(torch.autocast, device_type="cuda", dtype=torch.bfloat16)
    elif cfg.amp:
        notes.append(
            f"amp = true ignored on {device.type}: bf16 autocast is used on CUDA only; training in float32"
        )
    if cfg.compile and device.type == "cuda":
        model.compile()  # in place: state_dict keys, probes and checkpoints see the plain module
    elif cfg.compile:
        notes.append(
            f"compile = true ignored on {device.type}: "
            "compiling costs more than it saves for small models off the GPU"
        )
    return autocast, notes


@dataclass
class FastPath:
    """What the loop calls at each step, built once: the step and the update, the parameters whose gradients
    it drops before each step, the autocast context, and notes on what of the config was not applied here."""

    step: Step
    update: Callable[[], None]
    params: list[nn.Parameter]
    autocast: Callable
    notes: list[str]


def build(
    cfg: RunConfig,
    model: nn.Module,
    loss_fn: Callable,
    optimizer: torch.optim.Optimizer,
    data: TaskData,
    device: torch.device,
    preds: Tensor,
    batch_size: int,
) -> FastPath:
    params = list(model.parameters())
    autocast, notes = accelerate(cfg, device, model)
    step, update = step_and_update(model, loss_fn, optimizer, data, device, autocast, preds, batch_size)
    return FastPath(step, update, params, autocast, notes)


def warm_up(model: nn.Module, data: TaskData, batch_size: int, fast: FastPath) -> float:
    """One forward and backward pass on a batch, its gradients dropped: the one-off costs (thread pools,
    kernels chosen, memory first touched) land in the set-up time; returns its seconds. No weight, optimizer
    state or random generator changes (eval mode: no dropout mask drawn, no batch-norm statistics moved)."""
    t = time.perf_counter()
    if not fast.params or data.n_train == 0:
        return 0.0
    xb = data.train_x[: min(batch_size, MICRO_BATCH_CPU)]
    if data.transform is not None:
        xb = data.transform(xb)
    model.eval()
    with fast.autocast():  # a plain sum, not the loss: nothing that watches the loss sees this pass
        model(xb).float().sum().backward()
    for p in fast.params:
        p.grad = None
    return time.perf_counter() - t
