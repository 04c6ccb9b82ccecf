"""A trainer's state as its checkpoints hold it (core/train/checkpoint.py writes and reads the files), and
putting it back.

checkpoint.pt: model, optimizer, epoch, step, clock, the shuffling generator, torch's random state, the best
epoch and, after a stop mid-epoch, the epoch in flight (its order, its sums so far, and each step's loss and
each sample's predicted class so far, which a resumed batched group seeds its epoch with); best.pt: the model,
epoch and step only.
"""

from __future__ import annotations

from typing import Any

import torch

from .inflight import InFlight

Trainer = Any  # core/train/trainer.py's Trainer, not imported: it imports this module


def state(t: Trainer, weights_only: bool = False) -> dict[str, Any]:
    """What a checkpoint of `t` holds now (the epochs done so far)."""
    s: dict[str, Any] = {"model": t.model.state_dict(), "epoch": t.epoch, "step": t.step}
    if not weights_only:
        s.update(
            optimizer=t.optimizer.state_dict(),
            time=t.clock.elapsed(),
            gen=t.order.gen.get_state(),
            rng=torch.get_rng_state(),
            best=dict(t.best.info),
        )
        if t.device.type == "cuda":
            s["cuda_rng"] = torch.cuda.get_rng_state(t.device)
    return s


def interrupted_state(t: Trainer) -> dict[str, Any]:
    """A checkpoint of a run stopped mid-epoch: the epochs done, and the epoch in flight up to its next
    step."""
    ep = t.inflight
    loss_sum, correct = t.sums.totals(ep, ep.start)  # the steps run so far in this epoch
    s = state(t)
    s.update(
        epoch=t.epoch - 1,
        partial={
            "start": ep.start,
            "order": ep.order,
            "loss_sum": loss_sum,
            "correct": correct,
            **ep.so_far(t.sums.preds),  # each step's loss and prediction so far: a batched group adopts them
        },
    )
    return s


def restore(t: Trainer, s: dict[str, Any]) -> InFlight | None:
    """Put the model, optimizer, counters, random state, best epoch and clock of `t` (set up) back as saved;
    returns the epoch a stop interrupted, to go on from (None if the checkpoint is at an epoch's end)."""
    t.model.load_state_dict(s["model"])
    t.optimizer.load_state_dict(s["optimizer"])
    t.epoch, t.step = int(s["epoch"]), int(s["step"])
    try:
        t.order.gen.set_state(s["gen"])
    except RuntimeError:  # saved on another kind of device: keep the seeded generator
        pass
    torch.set_rng_state(s["rng"])
    if "cuda_rng" in s and t.device.type == "cuda":
        torch.cuda.set_rng_state(s["cuda_rng"], t.device)
    t.best.restore(s.get("best"))
    t.clock.go_on_from(float(s["time"]))
    return InFlight.resumed(s.get("partial"), t.device)


def save_interrupted(t: Trainer) -> str:
    """On a stop, checkpoint the epoch in flight too; returns a note for the run's reason if that failed."""
    if not t.checkpoints.on or t.inflight is None:
        return ""
    try:
        t.checkpoints.write("checkpoint.pt", interrupted_state(t))
    except OSError as e:
        return f"; the checkpoint could not be written ({e})"
    return ""
