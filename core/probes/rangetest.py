"""The learning-rate range test (Smith 2017; fastai's lr_find), in the trainer's own terms.

From a preset's config, train for a few hundred minibatch steps while the lr grows exponentially
from `lr_min` to `lr_max`, and record the loss of each step. Stop once the loss diverges (fastai's rule:
a causal debiased EMA of the loss above DIVERGE times its lowest, or a non-finite loss). The whole curve
is the result; summary.json adds the suggested lr by one documented rule (core/rules/lrrange.py), its
lowest point and where it diverged. The losses stay on the device and are read back every CHECK_EVERY
steps.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import torch

from ..rules import lrrange
from ..rules.errors import BadInput
from ..rules.numbers import is_finite
from ..rules.smoothing import ema

SMOOTHING = 0.9  # factor of the causal, debiased EMA that the stop rule reads
DIVERGE = 4.0  # diverged: the smoothed loss above this many times its lowest (or a non-finite loss)
CHECK_EVERY = 10  # steps between host syncs
MAX_STEPS = 100_000


@dataclass(frozen=True)
class Ramp:
    """lr_min to lr_max, exponentially, over `steps` optimizer steps."""

    lr_min: float = 1e-5
    lr_max: float = 10.0
    steps: int = 200

    def check(self) -> Ramp:
        ok = is_finite(self.lr_min) and is_finite(self.lr_max)
        if not ok or self.lr_min <= 0 or self.lr_max <= self.lr_min:
            raise BadInput(
                f"--min {self.lr_min} --max {self.lr_max}: the range needs 0 < min < max; "
                "e.g. --min 1e-5 --max 10"
            )
        if not 10 <= self.steps <= MAX_STEPS:
            raise BadInput(f"--steps {self.steps}: use 10 to {MAX_STEPS:,} steps; e.g. --steps 200")
        return self

    def lr(self, k: int) -> float:
        return self.lr_min * (self.lr_max / self.lr_min) ** (k / max(1, self.steps - 1))


def batches(t) -> Iterator[tuple[torch.Tensor, torch.Tensor, int]]:
    """(x, y, first sample) of each step, epoch after epoch, in the order the trainer would use."""
    d, n, bs = t.data, t.data.n_train, t.batch_size
    while True:
        order = t.order.next()
        for start in range(0, n, bs):
            if order is None:
                yield d.train_x, d.train_y, 0
            else:
                idx = order[start : start + bs]
                yield d.train_x.index_select(0, idx), d.train_y.index_select(0, idx), start


def diverged(losses: list[float | None]) -> bool:
    """A non-finite loss, or the smoothed loss above DIVERGE times its lowest so far."""
    if any(v is None or not math.isfinite(v) for v in losses):
        return True
    smooth = ema(losses, SMOOTHING)
    return len(smooth) > CHECK_EVERY and smooth[-1] > DIVERGE * min(smooth)


def sweep(
    t,
    ramp: Ramp,
    poll: Callable[[], None] = lambda: None,
    on_points: Callable[[list[dict[str, Any]]], None] = lambda _: None,
) -> list[dict[str, Any]]:
    """Train `t` (set up) along the ramp; returns one record per step: step, epoch, time, lr, train_loss."""
    records: list[dict[str, Any]] = []
    pending: list[tuple[float, torch.Tensor]] = []
    source = batches(t)
    t0 = time.perf_counter()
    for k in range(ramp.steps):
        poll()
        lr = ramp.lr(k)
        for g in t.optimizer.param_groups:
            g["lr"] = lr
        xb, yb, start = next(source)
        for p in t.fast.params:
            p.grad = None
        pending.append((lr, t.fast.step(xb, yb, start)))
        t.fast.update()
        t.step += 1
        if len(pending) == CHECK_EVERY or k == ramp.steps - 1:
            values = torch.stack([v for _, v in pending]).float().tolist()  # one sync per CHECK_EVERY steps
            first = len(records)
            for i, ((lr_i, _), v) in enumerate(zip(pending, values)):
                step = first + i + 1
                records.append(
                    {
                        "epoch": math.ceil(step / t.steps_per_epoch),
                        "step": step,  # the epoch the step is in: epochs are whole numbers in metrics.jsonl
                        "time": round(time.perf_counter() - t0, 4),
                        "lr": lr_i,
                        "train_loss": v if math.isfinite(v) else None,
                    }
                )
            pending = []
            on_points(records[first:])
            if diverged([r["train_loss"] for r in records]):
                break
    return records


def hints(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The suggested lr and the lowest point of the smoothed loss (core/rules/lrrange.py: the rule is there),
    and the lr at which the sweep stopped as diverged (None if it did not)."""
    lrs = [r["lr"] for r in records]
    raw = [r["train_loss"] for r in records]
    return {**lrrange.read(lrs, raw), "diverged_lr": lrs[-1] if records and diverged(raw) else None}


def run(
    plan,
    ramp: Ramp,
    store,
    data_dir,
    control=None,
    on_points: Callable[[list[dict[str, Any]]], None] = lambda _: None,
):
    """Make a run of kind lrfind for `plan` (a runner.RunPlan) in `store`, sweep, and write its files;
    returns (run id, summary). The preflight is the caller's: bad input must come before the run dir."""
    from ..train.control import Control
    from ..train.lifecycle import RunLifecycle
    from ..train.trainer import Trainer

    writer = store.create(plan.preset, f"lrfind-{plan.variant}", plan.config.to_dict())
    records: list[dict[str, Any]] = []

    def keep(points: list[dict[str, Any]]) -> None:
        for r in points:
            writer.append_metrics(r)
        on_points(points)

    control = control or Control()
    life = RunLifecycle(writer.run_id, control, let_through=())
    life.end("failed", "the range test stopped unexpectedly")  # until it has run, or said why not
    try:
        with life:
            writer.set_status("running", kind="lrfind")
            t = Trainer(
                plan.config,
                run_id=writer.run_id,
                preset=plan.preset,
                variant=plan.variant,
                data_dir=data_dir,
                control=control,
            )
            t.setup()
            records = sweep(t, ramp, lambda: t.control.poll(t.run_dir, t.clock), keep)
            life.end("finished")
    finally:
        summary = _summary(plan, ramp, records, life.status, life.reason)
        writer.write_summary(summary)
        writer.set_status(life.status, life.reason, kind="lrfind")
        writer.close()
    life.raise_interrupt(summary)
    return writer.run_id, summary


def _summary(plan, ramp: Ramp, records: list[dict[str, Any]], status: str, reason: str) -> dict[str, Any]:
    """summary.json of a range test: how it ended, its range, its steps and the hints."""
    return {
        "kind": "lrfind",
        "status": status,
        "reason": reason,
        "preset": plan.preset,
        "variant": plan.variant,
        "lr_min": ramp.lr_min,
        "lr_max": ramp.lr_max,
        "steps": len(records),
        **hints(records),
    }
