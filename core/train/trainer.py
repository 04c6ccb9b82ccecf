"""The trainer: data on the device, batches by randperm slicing, one host sync per epoch.

It knows nothing of who listens: it emits RunStarted, EpochEnded, Progress, Snapshot and RunEnded
to plain callbacks. It polls its Control (stop, pause) every step and never imports a UI.

The class is the loop and its hooks; its collaborators, each in its own module beside it:
core/train/factories.py (loss, optimizer), core/train/fastpath.py (the step and the update in their fastest
form, the warm-up), core/train/inflight.py (the epoch in flight: its order and sums), core/train/evaluation.py
(an epoch's losses and accuracies), core/rules/bestepoch.py (best epoch, early stop), core/train/checkpoint.py
(checkpoint files) with core/train/state.py (what they hold), core/train/control.py (stop, pause, the clock),
core/train/report.py (info, summary), core/train/lifecycle.py (how an exception ends the run).
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..data import TaskData, default_data_dir
from ..data import build as build_task
from ..rules import divergence
from ..rules.bestepoch import BestEpoch, score_key
from ..spec.config import RunConfig
from ..spec.device import resolve_device
from . import fastpath, losses, report
from . import hooks as probes_mod
from . import state as runstate
from .checkpoint import Checkpoints, load_checkpoint
from .control import Clock, Control, KeyboardInterruptAfterEnd, Stopped  # noqa: F401 - importable from here too
from .evaluation import Evaluator, init_record
from .events import EpochEnded, Listener, Progress, RunEnded, RunStarted, Snapshot
from .factories import PlainSGD, batch_size_for, make_loss, make_optimizer  # noqa: F401 - importable from here too
from .inflight import EpochOrder, EpochSums, InFlight
from .lifecycle import RunLifecycle
from .models import build_model

PROGRESS_EVERY_S = 0.5


class Trainer:
    """Trains one resolved config and tells its listeners what happens (a ConfigRunner,
    core/executors/runner.py)."""

    def __init__(
        self,
        cfg: RunConfig,
        *,
        run_id: str,
        preset: str = "",
        variant: str = "default",
        listeners: list[Listener] | None = None,
        data_dir: Path | str | None = None,
        control: Control | None = None,
        run_dir: Path | str | None = None,
        data: TaskData | None = None,
    ):
        self.cfg, self.run_id, self.preset, self.variant = cfg, run_id, preset, variant
        self.listeners = list(listeners or [])
        self.data_dir = Path(data_dir) if data_dir else default_data_dir()
        self.control = control or Control()
        self.run_dir = Path(run_dir) if run_dir else None
        self.data: TaskData | None = data  # given (on the config's device): used as is; else built in setup()
        self.epoch = self.step = 0
        self.history: list[dict[str, Any]] = []
        self.clock = Clock()
        self.best = BestEpoch(cfg.early_stop_patience)
        self.checkpoints = Checkpoints(self.run_dir, cfg.checkpoint, cfg.epochs)
        self.resume: dict[str, Any] | None = None  # a checkpoint to go on from (resume_from)
        self.inflight: InFlight | None = None  # the epoch being trained (or a resumed run's interrupted one)
        self.setup_s = 0.0  # data loading and warm-up, before the clock started
        self.traceback = ""  # a failed run's, for traceback.txt
        # Made by setup() from the config and the data:
        self.device: torch.device | None = None
        self.batch_size = self.steps_per_epoch = 0
        self.model: nn.Module | None = None
        self.loss_fn: nn.Module | None = None
        self.optimizer: torch.optim.Optimizer | None = None
        self.order: EpochOrder | None = None
        self.sums: EpochSums | None = None
        self.probes: list[probes_mod.Probe] = []
        self.step_probes: list[probes_mod.Probe] = []  # those that do work after each step
        self.fast: fastpath.FastPath | None = None  # the step and the update, the parameters, autocast, notes
        self.evaluate: Evaluator | None = None

    @classmethod
    def for_run(cls, spec) -> Trainer:
        """From a core/executors/runner.py RunSpec (the ConfigRunner contract)."""
        return cls(
            spec.cfg,
            run_id=spec.run_id,
            preset=spec.preset,
            variant=spec.variant,
            listeners=spec.listeners,
            data_dir=spec.data_dir,
            control=spec.control,
            run_dir=spec.run_dir,
        )

    def emit(self, event) -> None:
        for listener in self.listeners:
            listener(event)

    def setup(self) -> None:
        """Build what the run needs from the config and the data: model, loss, optimizer, order, probes, the
        step."""
        cfg = self.cfg
        torch.manual_seed(cfg.seed)
        self.device = resolve_device(cfg.device)
        if self.data is None:
            self.data = build_task(cfg, self.device, self.data_dir)
        self.batch_size = batch_size_for(cfg, self.data.n_train)
        self.steps_per_epoch = math.ceil(self.data.n_train / self.batch_size)
        self.model = build_model(cfg, self.data, self.device)
        self.loss_fn = losses.for_task(make_loss(cfg.loss), self.data)
        self.optimizer = make_optimizer(cfg, self.model, self.device)
        self.order = EpochOrder(cfg, self.data, self.device, self.batch_size)
        names = self.data.probes + probes_mod.DEFAULT_PROBES + tuple(cfg.probes)
        self.probes = probes_mod.make(names, probes_mod.ProbeContext.of(self))
        # Most probes only measure at the epoch's end.
        self.step_probes = [p for p in self.probes if type(p).after_step is not probes_mod.Probe.after_step]
        self.sums = EpochSums(self.data, self.batch_size, self.device)
        self.fast = fastpath.build(
            cfg,
            self.model,
            self.loss_fn,
            self.optimizer,
            self.data,
            self.device,
            self.sums.preds,
            self.batch_size,
        )
        self.evaluate = Evaluator(self.model, self.loss_fn, self.data, self.fast.autocast, self.device)

    # -- the loop -----------------------------------------------------------------------------
    def run(self) -> RunEnded:
        """Train to the end (or a stop), emitting events; returns the RunEnded event it emitted."""
        began = self.clock.start()
        with RunLifecycle(self.run_id, self.control, resumable=True) as life:
            self.setup()
            if self.resume is not None:
                self.inflight = runstate.restore(self, self.resume)
            self.emit(
                RunStarted(
                    self.run_id,
                    self.preset,
                    self.variant,
                    self.cfg.to_dict(),
                    str(self.device),
                    report.info(self),
                )
            )
            warm_s = fastpath.warm_up(self.model, self.data, self.batch_size, self.fast)
            if self.resume is None and not any(r.get("epoch") == 0 for r in self.history):
                record_init(self)  # set-up time, not training: the clock starts after it
            self.setup_s = self.clock.start_training(began, warm_s, resumed=self.resume is not None)
            life.end(*judged(*self._train(), self.history))
        self.traceback = life.traceback
        if life.stopped:
            life.reason += runstate.save_interrupted(self)
        ended = self._end(life.status, life.reason)
        life.raise_interrupt(ended)
        return ended

    def _train(self) -> tuple[str, str]:
        for epoch in range(self.epoch + 1, self.cfg.epochs + 1):
            self.epoch = epoch
            self.model.train()
            ep = self.inflight = self.inflight or InFlight.fresh(self.order.next(), self.device)
            seen = self._train_epoch(ep)
            self.inflight = None
            record = self._record(epoch, *self.sums.totals(ep, seen))
            self.history.append(record)
            self.emit(EpochEnded(self.run_id, self.variant, record))
            if record["train_loss"] is None or not math.isfinite(record["train_loss"]):
                return (
                    "diverged",
                    f"the training loss became non-finite in epoch {epoch} (by step {self.step}); "
                    "try a smaller lr",
                )
            self.after_epoch(record)
            if self.best.stop_after(epoch):
                return (
                    "finished",
                    f"early stop: no better validation score for {self.cfg.early_stop_patience} epochs",
                )
        return "finished", ""

    def _train_epoch(self, ep: InFlight) -> int:
        """The epoch's steps from sample `ep.first` on; returns the samples seen (fewer if the loss became
        non-finite)."""
        d, n, bs, order = self.data, self.data.n_train, self.batch_size, ep.order
        step, update, params, step_probes = (
            self.fast.step,
            self.fast.update,
            self.fast.params,
            self.step_probes,
        )
        full, step_losses = bs >= n, ep.losses
        labels = (
            d.train_y if order is None else d.train_y.index_select(0, order)
        )  # the epoch's labels in its order
        seen, last_progress = ep.first, time.perf_counter()
        for start in range(ep.first, n, bs):
            ep.start = start
            self.control.poll(self.run_dir, self.clock)
            if full:
                xb, yb = d.train_x, d.train_y
            else:
                # index_select rather than x[idx]: the faster gather (docs/performance.md, the fast path)
                xb, yb = d.train_x.index_select(0, order[start : start + bs]), labels[start : start + bs]
            for p in params:  # zero_grad(set_to_none=True) without its per-call overhead
                p.grad = None
            step_losses.append(step(xb, yb, start))
            update()
            self.step += 1
            seen = min(start + bs, n)
            for p in step_probes:
                p.after_step()
            if not full and time.perf_counter() - last_progress >= PROGRESS_EVERY_S:
                last_progress = time.perf_counter()
                running = ((ep.loss_sum + self.sums.loss_sum(step_losses, ep.first)) / seen).item()
                self.emit(
                    Progress(
                        self.run_id,
                        self.variant,
                        self.epoch,
                        self.step,
                        seen / n,
                        running,
                        self.clock.elapsed(),
                    )
                )
                if not math.isfinite(running):
                    break
        return seen

    def _record(self, epoch: int, loss_sum: torch.Tensor, correct: torch.Tensor) -> dict[str, Any]:
        """The epoch's metrics record: counters, losses and accuracies (core/train/evaluation.py), lr, the
        probes' values."""
        rec = {
            "epoch": epoch,
            "step": self.step,
            "time": round(self.clock.elapsed(), 4),
            **self.evaluate.record(loss_sum, correct),
            "lr": self.optimizer.param_groups[0]["lr"],
        }
        if rec["train_loss"] is not None:
            for p in self.probes:
                if p.scheduled(epoch):
                    rec.update(p.measure(epoch))
        return rec

    # -- at an epoch's end, and resuming ----------------------------------------------------
    def after_epoch(self, record: dict[str, Any]) -> None:
        """The probes' snapshots, the best epoch's weights (best.pt) and, when due, checkpoint.pt."""
        for p in (p for p in self.probes if p.scheduled(record["epoch"])):
            for kind, data in p.snapshots(record["epoch"]):
                self.emit(Snapshot(self.run_id, self.variant, record["epoch"], kind, data))
        if (
            self.best.update(record, score_key(self.data)[0])
            and self.checkpoints.on
            and self.data.val_x is not None
        ):
            self.checkpoints.write("best.pt", runstate.state(self, weights_only=True))
        if self.checkpoints.due(record["epoch"]):
            self.checkpoints.write("checkpoint.pt", runstate.state(self))

    def resume_from(
        self, checkpoint: dict[str, Any] | Path | str, history: list[dict[str, Any]] | None = None
    ) -> int:
        """Continue from a checkpoint (see load_checkpoint) and the metrics records kept; returns its
        epoch."""
        self.resume = checkpoint if isinstance(checkpoint, dict) else load_checkpoint(Path(checkpoint))
        self.history = list(history or [])
        return int(self.resume["epoch"])

    # -- the end ------------------------------------------------------------------------------
    def summary(self, status: str, reason: str) -> dict[str, Any]:
        return report.summary(self, status, reason)

    def _end(self, status: str, reason: str) -> RunEnded:
        ended = RunEnded(self.run_id, self.variant, status, reason, self.summary(status, reason))
        self.emit(ended)
        return ended


def record_init(t: Trainer) -> None:
    """Epoch 0: the model as initialised, evaluated before the first step (core/train/evaluation.py), with
    what the probes that measure at init see (their `at_init`, on their schedule); emitted as an epoch."""
    record = init_record(t.evaluate, t.optimizer.param_groups[0]["lr"])
    if record["train_loss"] is not None:
        record.update(init_probes(t))
    t.history.append(record)
    t.emit(EpochEnded(t.run_id, t.variant, record))


def init_probes(t: Trainer) -> dict[str, Any]:
    """What the run's probes that measure at init see at epoch 0 (their `at_init`, on their schedule)."""
    out: dict[str, Any] = {}
    for p in t.probes:
        if p.at_init and p.scheduled(0):
            out.update(p.measure(0))
    return out


def judged(status: str, reason: str, history: list[dict[str, Any]]) -> tuple[str, str]:
    """A finished run's status by the divergence rule (core/rules/divergence.py): diverged when its final
    training loss is well above its loss at init (epoch 0's record); any other end as it was."""
    if status != "finished" or not history:
        return status, reason
    why = divergence.verdict(divergence.init_loss(history), history[-1].get("train_loss"))
    return ("diverged", why + (f" ({reason})" if reason else "")) if why else (status, reason)
