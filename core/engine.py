"""The trainer: data on the device, batches by randperm slicing, one host sync per epoch.

It knows nothing of who listens: it emits RunStarted, EpochEnded, Progress, Snapshot and RunEnded
to plain callbacks. It checks a stop flag (and a pause flag) every step and never imports a UI.

Its collaborators, each in its own module: core/fastpath.py (the step and the update in their fastest form),
core/evaluation.py (loss and accuracy over a set), core/inflight.py (the epoch in flight), core/bestepoch.py
(best epoch, early stop), core/checkpoint.py (checkpoint files, reading one back), core/factories.py (loss, optimizer).
"""
from __future__ import annotations

import contextlib
import errno
import math
import os
import platform
import time
import traceback
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from . import fastpath, losses, probes as probes_mod, stoprequest
from .bestepoch import BestEpoch
from .checkpoint import CHECKPOINT_KEYS, Checkpoints, load_checkpoint  # noqa: F401 - importable from here too
from .config import RunConfig
from .data import TaskData, build as build_task
from .device import describe, resolve_device
from .errors import BadInput
from .events import EpochEnded, Listener, Progress, RunEnded, RunStarted, Snapshot
from .factories import PlainSGD, make_loss, make_optimizer  # noqa: F401 - importable from here too
from .evaluation import Evaluator
from .inflight import InFlight
from .store import NO_SPACE
from .models import build_model, count_params
from .present import higher_is_better, score_metric

PROGRESS_EVERY_S = 0.5
PAUSE_POLL_S = 0.05  # while paused, how often the stop and pause flags are looked at


class Stopped(Exception):
    """Raised inside the loop when the stop flag is set."""


@dataclass
class Control:
    """Flags the trainer polls: `stop` ends the run as interrupted, `pause` holds it while set.

    Anything with `is_set()` works: threading.Event, multiprocessing.Event.
    """

    stop: Any = None
    pause: Any = None
    reason: str = ""  # why `stop` was set (e.g. "SIGTERM"); the interrupted run's reason


class Trainer:
    """Trains one resolved config and tells its listeners what happens."""

    def __init__(self, cfg: RunConfig, *, run_id: str, preset: str = "", variant: str = "default",
                 listeners: list[Listener] | None = None, data_dir: Path | str | None = None,
                 control: Control | None = None, run_dir: Path | str | None = None, data: TaskData | None = None):
        self.cfg = cfg
        self.run_id, self.preset, self.variant = run_id, preset, variant
        self.listeners = list(listeners or [])
        from .data import default_data_dir

        self.data_dir = Path(data_dir) if data_dir else default_data_dir()
        self.control = control or Control()
        self.run_dir = Path(run_dir) if run_dir else None
        self.epoch = 0
        self.step = 0
        self.history: list[dict[str, Any]] = []
        self.model: nn.Module | None = None
        self.data: TaskData | None = data  # given (on the config's device): used as is; else built in setup()
        self._paused_s = 0.0
        self._t0 = 0.0
        self.best = BestEpoch(cfg.early_stop_patience)
        self.checkpoints = Checkpoints(self.run_dir, cfg.checkpoint, cfg.epochs)
        self._resume: dict[str, Any] | None = None  # a checkpoint to continue from (resume_from)
        self._partial: dict[str, Any] | None = None  # the interrupted epoch's order, position and sums
        self._inflight: InFlight | None = None  # the epoch being trained, for a checkpoint on a stop
        self.setup_s = 0.0  # data loading and warm-up, before the clock started
        self.test_preds: torch.Tensor | None = None  # the last test evaluation's predicted classes (on the device)
        self.traceback = ""  # a failed run's, for traceback.txt
        # Made by setup() from the config and the data:
        self.device: torch.device | None = None
        self.batch_size = 0
        self.steps_per_epoch = 0
        self.loss_fn: nn.Module | None = None
        self.optimizer: torch.optim.Optimizer | None = None
        self.gen: torch.Generator | None = None  # the shuffling generator (checkpoints save its state)
        self.classify = False
        self.fixed_order: torch.Tensor | None = None  # the same order every epoch (order = "stratified")
        self.probes: list[probes_mod.Probe] = []
        self.step_probes: list[probes_mod.Probe] = []  # those that do work after each step
        self.params: list[nn.Parameter] = []
        self.batch_sizes: torch.Tensor | None = None  # samples per step
        self.preds: torch.Tensor | None = None  # the epoch's predictions, compared with the labels once per epoch
        self.autocast: Callable = contextlib.nullcontext
        self.notes: list[str] = []  # what of the config was not applied here, and why
        self.forward_backward: Callable | None = None  # core/fastpath.py's step and update
        self.update: Callable[[], None] | None = None
        self.evaluate: Evaluator | None = None  # (x, y) -> summed loss and correct count, on the device

    # -- events -------------------------------------------------------------------------------
    def emit(self, event) -> None:
        for listener in self.listeners:
            listener(event)

    def elapsed(self) -> float:
        return time.perf_counter() - self._t0 - self._paused_s

    # -- set-up -------------------------------------------------------------------------------
    def setup(self) -> None:
        cfg = self.cfg
        torch.manual_seed(cfg.seed)
        self.device = resolve_device(cfg.device)
        if self.data is None:
            self.data = build_task(cfg, self.device, self.data_dir)
        n = self.data.n_train
        bs = n if cfg.batch_size == "full" else cfg.batch_size
        if bs > n:
            raise BadInput(f"batch_size = {bs} is larger than the training set ({n} samples); use at most {n} or \"full\"")
        self.batch_size = bs
        self.steps_per_epoch = math.ceil(n / bs)
        self.model = build_model(cfg, self.data, self.device)
        self.loss_fn = losses.for_task(make_loss(cfg.loss), self.data)
        self.optimizer = make_optimizer(cfg, self.model, self.device)
        gen_device = self.device if self.device.type == "cuda" else "cpu"
        shuffler = self.data.shuffler  # its generator is the one checkpoints save, so a resumed run keeps its order
        self.gen = shuffler.gen if shuffler is not None else torch.Generator(device=gen_device).manual_seed(cfg.seed)
        self.classify = self.data.kind == "classification"
        if cfg.order == "stratified":
            # Sorted by label (a stable sort keeps each class in its original order), the same every epoch.
            self.fixed_order = torch.argsort(self.data.train_y, stable=True)
        self.probes = probes_mod.make(self.data.probes + probes_mod.DEFAULT_PROBES + tuple(cfg.probes), self)
        self._fast_path()

    def _fast_path(self) -> None:
        """Buffers for a loop without per-step syncs, and the step and update in their fastest form (core/fastpath.py)."""
        n, bs = self.data.n_train, self.batch_size
        self.params = list(self.model.parameters())
        sizes = [min(bs, n - s) for s in range(0, n, bs)]  # samples per step; the last batch may be smaller
        self.batch_sizes = torch.tensor(sizes, dtype=torch.float32, device=self.device)
        self.preds = torch.empty(n if self.classify else 0, dtype=torch.long, device=self.device)
        # Most probes only measure at the epoch's end.
        self.step_probes = [p for p in self.probes if type(p).after_step is not probes_mod.Probe.after_step]
        self.autocast, self.notes = fastpath.accelerate(self.cfg, self.device, self.model)
        self.forward_backward, self.update = fastpath.step_and_update(
            self.model, self.loss_fn, self.optimizer, self.data, self.device, self.autocast, self.preds, bs)
        self.evaluate = Evaluator(self.model, self.loss_fn, self.data, self.autocast, self.device)

    def _start_clock(self, began: float) -> None:
        """Warm up, then start the clock: data loading and the first step's one-off costs are set-up, not
        training, or the first run of a batch would carry them on the wall-clock axis alone. A resumed run's
        clock goes on from its checkpoint's time."""
        warm = time.perf_counter()
        self.warm_up()
        now = time.perf_counter()
        self.setup_s = now - began
        self._t0 = self._t0 + (now - warm) if self._resume is not None else now

    def warm_up(self) -> None:
        """One forward and backward pass on a batch, its gradients dropped: the one-off costs (thread pools,
        kernels chosen, memory first touched) land in the set-up time. No weight, optimizer state or random
        generator changes (eval mode: no dropout mask drawn, no batch-norm statistics moved)."""
        d, n = self.data, min(self.batch_size, fastpath.MICRO_BATCH_CPU)
        if not self.params or d.n_train == 0:
            return
        xb = d.train_x[:n]
        if d.transform is not None:
            xb = d.transform(xb)
        self.model.eval()
        with self.autocast():  # a plain sum, not the loss: nothing that watches the loss sees this pass
            self.model(xb).float().sum().backward()
        for p in self.params:
            p.grad = None

    def info(self) -> dict[str, Any]:
        d = self.data
        return {
            "n_params": count_params(self.model),
            "n_train": d.n_train,
            "n_test": int(d.test_x.shape[0]),
            "n_val": int(d.val_x.shape[0]) if d.val_x is not None else 0,
            "batch_size": self.batch_size,
            "steps_per_epoch": self.steps_per_epoch,
            "kind": d.kind,
            "n_classes": d.n_classes,
            "device_name": describe(self.device),
            "torch": str(torch.__version__),  # a plain str: its own class would make the lab import torch to unpickle it
            "cuda": torch.version.cuda,
            "python": platform.python_version(),
            "host": platform.node(),
            "pid": os.getpid(),
            **({"notes": list(self.notes)} if self.notes else {}),
        }

    # -- the loop -----------------------------------------------------------------------------
    def run(self) -> RunEnded:
        """Train to the end (or a stop), emitting events; returns the RunEnded event it emitted."""
        self._t0 = began = time.perf_counter()
        status, reason = "finished", ""
        try:
            self.setup()
            if self._resume is not None:
                self._restore(self._resume)
            self.emit(RunStarted(self.run_id, self.preset, self.variant, self.cfg.to_dict(), str(self.device), self.info()))
            self._start_clock(began)
            status, reason = self._train()
        except Stopped:
            status, reason = "interrupted", self.control.reason or "stopped by the user"
            reason += self._save_interrupted()
        except KeyboardInterrupt as e:  # its message, if any, says what it was (a second SIGTERM, say)
            ended = self._end("interrupted", str(e) or "interrupted (Ctrl-C)")
            raise KeyboardInterruptAfterEnd(ended) from None
        except BadInput:
            raise
        except Exception as e:  # a run's failure is a result, not a crash of the lab
            status, reason = "failed", f"{type(e).__name__}: {e}".strip()
            if isinstance(e, torch.cuda.OutOfMemoryError):
                reason = "CUDA out of memory; try a smaller batch_size or model, or --device cpu (" + reason + ")"
            if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):  # the machine's fault, not the code's
                reason = f"{NO_SPACE}; free some space, then continue with `dltui run --resume {self.run_id}`"
            else:
                self.traceback = traceback.format_exc()
        return self._end(status, reason)

    def _train(self) -> tuple[str, str]:
        cfg, d = self.cfg, self.data
        n, bs = d.n_train, self.batch_size
        full = bs >= n
        for epoch in range(self.epoch + 1, cfg.epochs + 1):
            self.epoch = epoch
            self.model.train()
            if self._partial is not None:  # resuming mid-epoch: the same order, from the same step
                ep = self._take_partial()
            else:
                order = None if full else self.fixed_order if self.fixed_order is not None else self._perm(n)
                ep = InFlight(order, 0, torch.zeros((), device=self.device), torch.zeros((), device=self.device, dtype=torch.long))
            order, first, losses = ep.order, ep.first, ep.losses
            self._inflight = ep
            labels = d.train_y if order is None else d.train_y.index_select(0, order)  # the epoch's labels in its order
            seen, last_progress = first, time.perf_counter()
            for start in range(first, n, bs):
                ep.start = start
                self._poll()
                if full:
                    xb, yb = d.train_x, d.train_y
                else:
                    idx = order[start:start + bs]
                    xb, yb = d.train_x.index_select(0, idx), labels[start:start + bs]  # index_select: half the time of x[idx]
                for p in self.params:  # zero_grad(set_to_none=True) without its per-call overhead
                    p.grad = None
                losses.append(self.forward_backward(xb, yb, start))
                self.update()
                self.step += 1
                seen = min(start + bs, n)
                for p in self.step_probes:
                    p.after_step()
                if not full and time.perf_counter() - last_progress >= PROGRESS_EVERY_S:
                    last_progress = time.perf_counter()
                    running = ((ep.loss_sum + self._loss_sum(losses, first)) / seen).item()
                    self.emit(Progress(self.run_id, self.variant, epoch, self.step, seen / n, running, self.elapsed()))
                    if not math.isfinite(running):
                        break
            self._inflight = None
            record = self._epoch_record(epoch, ep.loss_sum + self._loss_sum(losses, first), ep.correct + self._correct(order, seen, first))
            self.history.append(record)
            self.emit(EpochEnded(self.run_id, self.variant, record))
            if record["train_loss"] is None or not math.isfinite(record["train_loss"]):
                return "diverged", f"the training loss became non-finite in epoch {epoch} (by step {self.step}); try a smaller lr"
            for p in self.probes:
                for kind, data in p.snapshots(epoch):
                    self.emit(Snapshot(self.run_id, self.variant, epoch, kind, data))
            self.after_epoch(record)
            if self.best.stop_after(epoch):
                return "finished", f"early stop: no better validation score for {cfg.early_stop_patience} epochs"
        return "finished", ""

    def _loss_sum(self, losses: list[torch.Tensor], first: int = 0) -> torch.Tensor:
        """The summed per-sample loss of the steps from sample `first` on: each step's mean loss times its batch size."""
        if not losses:
            return torch.zeros((), device=self.device)
        k = first // self.batch_size
        return torch.dot(torch.stack(losses).float(), self.batch_sizes[k:k + len(losses)])

    def _correct(self, order: torch.Tensor | None, seen: int, first: int = 0) -> torch.Tensor:
        """How many of the epoch's samples `first` to `seen` were predicted right."""
        if not self.classify or seen <= first:
            return torch.zeros((), device=self.device, dtype=torch.long)
        labels = self.data.train_y[first:seen] if order is None else self.data.train_y.index_select(0, order[first:seen])
        return (self.preds[first:seen] == labels).sum()

    def _perm(self, n: int) -> torch.Tensor:
        if self.data.shuffler is not None:
            return self.data.shuffler.order(n).to(self.device)
        if self.gen.device.type == self.device.type:
            return torch.randperm(n, generator=self.gen, device=self.device)
        return torch.randperm(n, generator=self.gen).to(self.device)

    def _poll(self) -> None:
        c = self.control
        if c.pause is not None and c.pause.is_set():
            t = time.perf_counter()
            while c.pause.is_set() and not (c.stop is not None and c.stop.is_set()):
                time.sleep(PAUSE_POLL_S)
            self._paused_s += time.perf_counter() - t
        if c.stop is not None and c.stop.is_set():
            raise Stopped()
        if stoprequest.asked(self.run_dir):  # a watcher's `<run>/stop-request` (core/stoprequest.py)
            self.control = replace(c, reason=stoprequest.REASON)  # this run's reason only: `c` may be shared
            raise Stopped()

    def _epoch_record(self, epoch: int, loss_sum, correct) -> dict[str, Any]:
        d = self.data
        vals = [loss_sum, correct.float()]
        test_loss, test_correct = self.evaluate(d.test_x, d.test_y)
        self.test_preds = self.evaluate.preds
        vals += [test_loss, test_correct.float()]
        has_val = d.val_x is not None
        if has_val:
            val_loss, val_correct = self.evaluate(d.val_x, d.val_y)
            vals += [val_loss, val_correct.float()]
        host = torch.stack(vals).tolist()  # the epoch's one host sync
        n, nt = d.n_train, int(d.test_x.shape[0])
        rec: dict[str, Any] = {
            "epoch": epoch,
            "step": self.step,
            "time": round(self.elapsed(), 4),
            "train_loss": _finite(host[0] / n),
            "test_loss": _finite(host[2] / nt),
            "train_acc": host[1] / n if self.classify else None,
            "test_acc": host[3] / nt if self.classify else None,
            "val_loss": _finite(host[4] / d.val_x.shape[0]) if has_val else None,
            "val_acc": (host[5] / d.val_x.shape[0] if self.classify else None) if has_val else None,
            "lr": self.optimizer.param_groups[0]["lr"],
        }
        if rec["train_loss"] is not None:
            for p in self.probes:
                rec.update(p.measure(epoch))
        return rec

    # -- best epoch, early stopping, checkpoints ----------------------------------------------------
    def score_key(self) -> tuple[str, bool]:
        """(metric, higher is better) that picks the best epoch."""
        key = score_metric(self.classify, self.data.val_x is not None)
        return key, higher_is_better(key)

    def after_epoch(self, record: dict[str, Any]) -> None:
        if self.best.update(record, self.score_key()[0]) and self.checkpoints.on and self.data.val_x is not None:
            self.checkpoints.write("best.pt", self.state(weights_only=True))
        if self.checkpoints.due(record["epoch"]):
            self.checkpoints.write("checkpoint.pt", self.state())

    def state(self, weights_only: bool = False) -> dict[str, Any]:
        s: dict[str, Any] = {"model": self.model.state_dict(), "epoch": self.epoch, "step": self.step}
        if not weights_only:
            s.update(optimizer=self.optimizer.state_dict(), time=self.elapsed(), gen=self.gen.get_state(),
                     rng=torch.get_rng_state(), best=dict(self.best.info))
            if self.device.type == "cuda":
                s["cuda_rng"] = torch.cuda.get_rng_state(self.device)
        return s

    def _save_interrupted(self) -> str:
        """On a stop, checkpoint the epoch in flight too; returns a note for the reason if that failed."""
        if not self.checkpoints.on or self._inflight is None:
            return ""
        ep = self._inflight
        loss_sum = ep.loss_sum + self._loss_sum(ep.losses, ep.first)  # the steps run so far in this epoch
        correct = ep.correct + self._correct(ep.order, ep.start, ep.first)
        s = self.state()
        s.update(epoch=self.epoch - 1, partial={"start": ep.start, "order": ep.order, "loss_sum": loss_sum, "correct": correct})
        try:
            self.checkpoints.write("checkpoint.pt", s)
        except OSError as e:
            return f"; the checkpoint could not be written ({e})"
        return ""

    # -- resume -------------------------------------------------------------------------------
    def resume_from(self, checkpoint: dict[str, Any] | Path | str, history: list[dict[str, Any]] | None = None) -> int:
        """Continue from a checkpoint (see load_checkpoint) and the metrics records kept; returns its epoch."""
        s = checkpoint if isinstance(checkpoint, dict) else load_checkpoint(Path(checkpoint))
        self._resume = s
        self.history = list(history or [])
        return int(s["epoch"])

    def _restore(self, s: dict[str, Any]) -> None:
        """Put the model, optimizer, counters, random state, best info and clock back as saved."""
        self.model.load_state_dict(s["model"])
        self.optimizer.load_state_dict(s["optimizer"])
        self.epoch, self.step = int(s["epoch"]), int(s["step"])
        try:
            self.gen.set_state(s["gen"])
        except RuntimeError:  # saved on another kind of device: keep the seeded generator
            pass
        torch.set_rng_state(s["rng"])
        if "cuda_rng" in s and self.device.type == "cuda":
            torch.cuda.set_rng_state(s["cuda_rng"], self.device)
        self.best.restore(s.get("best"))
        self._t0, self._paused_s = time.perf_counter() - float(s["time"]), 0.0  # the clock goes on from the save
        self._partial = s.get("partial")

    def _take_partial(self) -> InFlight:
        """The epoch interrupted mid-way, from its first step not yet run."""
        p, self._partial = self._partial, None
        order = p["order"].to(self.device) if p["order"] is not None else None
        return InFlight(order, int(p["start"]), p["loss_sum"].to(self.device), p["correct"].to(self.device))

    # -- the end ------------------------------------------------------------------------------
    def summary(self, status: str, reason: str) -> dict[str, Any]:
        last = self.history[-1] if self.history else {}
        dur = self.elapsed()
        s: dict[str, Any] = {
            "status": status,
            "reason": reason,
            "preset": self.preset,
            "variant": self.variant,
            "epochs": len(self.history) and self.history[-1]["epoch"],
            "steps": self.step,
            "duration_s": round(dur, 3),
            "setup_s": round(self.setup_s, 3),  # data loading and warm-up, before the clock started
            "steps_per_s": round(self.step / dur, 1) if dur > 0 else None,
        }
        for k in ("train_loss", "test_loss", "train_acc", "test_acc", "val_loss", "val_acc"):
            s[f"final_{k}"] = last.get(k)
        if self.best.info:
            s["best_epoch"] = self.best.info["epoch"]
            s["best_metric"] = self.best.info["metric"]
            s["best_value"] = self.best.info["value"]
            best = self.best.record_in(self.history)
            for k in ("test_loss", "test_acc", "val_loss", "val_acc"):
                s[f"best_{k}"] = best.get(k)
            if status != "failed":
                s.update(self.test_best_weights())
        if self.model is not None and self.data is not None:
            s.update(self.info())
            for p in self.probes:
                try:
                    s.update(p.summary())
                except Exception:  # a probe must never lose the run's summary
                    pass
        return s

    def test_best_weights(self) -> dict[str, Any]:
        """Test loss/accuracy of the best epoch's weights (those in best.pt): its record's own figures, measured on
        those very weights, when the record is at hand; else read back from best.pt with weights_only=True."""
        path = self.run_dir / "best.pt" if self.run_dir is not None else None
        if path is None or not path.exists() or self.model is None or self.data is None:
            return {}
        record = self.best.record_in(self.history)
        if "test_loss" in record:
            out = {"best_weights_epoch": record["epoch"], "best_weights_test_loss": record["test_loss"]}
            if self.classify:
                out["best_weights_test_acc"] = record["test_acc"]
            return out
        final = {k: v.clone() for k, v in self.model.state_dict().items()}
        saved = torch.load(path, map_location=self.device, weights_only=True)
        self.model.load_state_dict(saved["model"])
        loss, correct = self.evaluate(self.data.test_x, self.data.test_y)
        self.model.load_state_dict(final)  # probes and checkpoint.pt keep the last epoch's weights
        n = int(self.data.test_x.shape[0])
        out = {"best_weights_epoch": saved["epoch"], "best_weights_test_loss": _finite(loss.item() / n)}
        if self.classify:
            out["best_weights_test_acc"] = correct.item() / n
        return out

    def _end(self, status: str, reason: str) -> RunEnded:
        ended = RunEnded(self.run_id, self.variant, status, reason, self.summary(status, reason))
        self.emit(ended)
        return ended


class KeyboardInterruptAfterEnd(KeyboardInterrupt):
    """A Ctrl-C that arrived mid-run, after the run was ended as interrupted and its files written."""

    def __init__(self, ended: RunEnded):
        super().__init__()
        self.ended = ended


def _finite(v: float) -> float | None:
    return v if math.isfinite(v) else None
