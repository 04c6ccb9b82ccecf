"""What the trainer calls on a probe, and how it makes them: the Probe base class, the narrow ProbeContext a
probe sees the run through, and `make`, which builds the probes a run names.

Which probes exist is core.spec.probes.PROBES (with what probe, view and instrument mean): it names each
probe's class as "module:Class" (the probes live in core/probes/), so that naming costs no import and the
trainer never imports a probe's module until a run asks for it.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..rules.errors import BadInput
from ..spec.probes import DEFAULT_PROBES, OFF, PROBES, budget_share, on_schedule, setting_of

__all__ = ["DEFAULT_PROBES", "Probe", "ProbeContext", "check_names", "eval_mode", "make"]


class Probe:
    """Base class: override what you need. It sees the run through its `ProbeContext` only.

    When it measures is the config's `probe_every` (core/spec/probes.py), set by `make`: `every` epochs on a
    fixed schedule (the trainer calls `measure` and `snapshots` only on it, and the probe measures each time
    it is called), or its own rule when None (every epoch, or a cadence or time budget of its own, held to
    `budget` of the training time where one is given)."""

    at_init = True  # measures at epoch 0, the model as initialised (not those that need a step first)

    def __init__(self, ctx: ProbeContext):
        self.ctx = ctx
        self.every: int | None = None
        self.budget: float | None = None

    def scheduled(self, epoch: int) -> bool:
        """Whether the trainer asks this probe at `epoch` (its own rule decides further when `every` is
        None)."""
        return self.every is None or on_schedule(epoch, self.every, self.ctx.cfg.epochs)

    def after_step(self) -> None:
        """Called after each optimizer step (keep it cheap: no host sync)."""

    def measure(self, epoch: int) -> dict[str, Any]:
        """Values to add to this epoch's metrics record."""
        return {}

    def reads_model(self, epoch: int) -> bool:
        """Whether `measure` or `snapshots` at this epoch (on the schedule) read the model's weights or
        gradients: a batched group (core/sweep/trainer.py) hands a copy its weights back only when something
        does. Say False only where that is sure."""
        return True

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
    test_preds: Callable[[], Any] = lambda: (
        None
    )  # the epoch's test predictions, from the trainer's own evaluation
    steps_per_epoch: int = 0
    position: Callable[[], tuple[int, int]] = lambda: (0, 0)  # (epoch, step) now

    @classmethod
    def of(cls, trainer) -> ProbeContext:
        return cls(
            trainer.model,
            trainer.data,
            trainer.cfg,
            trainer.device,
            trainer.optimizer,
            trainer.loss_fn,
            trainer.clock.elapsed,
            lambda: trainer.evaluate.test_preds,
            trainer.steps_per_epoch,
            lambda: (trainer.epoch, trainer.step),
        )


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
        if name not in PROBES:
            raise BadInput(f"probes: unknown probe '{name}'; known probes: {', '.join(sorted(PROBES))}")


def make(names: tuple[str, ...], ctx: ProbeContext) -> list[Probe]:
    """The probes named (in order, repeats dropped, those `probe_every` turns off left out), each made with
    `ctx` and given its schedule."""
    check_names(names)
    out = []
    for name in dict.fromkeys(names):
        setting = setting_of(ctx.cfg.probe_every, name)
        if setting == OFF:
            continue
        mod, cls_name = PROBES[name].probe.split(":")
        probe = getattr(importlib.import_module(mod), cls_name)(ctx)
        probe.every = setting if isinstance(setting, int) else None
        probe.budget = budget_share(setting)
        out.append(probe)
    return out
