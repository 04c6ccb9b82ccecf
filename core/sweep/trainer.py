"""The loop that trains a group of copies as one batched model, each copy still its own run.

Each copy is a core/train Trainer, set up as it would be alone (its data, its model's init from its seed, its
optimizer, its epoch order, its probes, its checkpoints): the batched loop only replaces the steps. It stacks
the copies' weights (core/sweep/stacked.py), takes each batch once for all copies in each copy's own order,
and after each epoch hands every copy its weights and optimizer state back, so that its probes, records,
checkpoints and summary are made by core/train exactly as for a run trained alone. A copy that ends (its loss
non-finite: diverged; an early stop; its own stop request: interrupted) leaves the group there and then, and
the others go on without it.
"""

from __future__ import annotations

import math
import time
from typing import Any

import torch

from ..probes.defaults import GradNorm
from ..store import stoprequest
from ..train import fastpath, report
from ..train import state as runstate
from ..train.checkpoint import CHECKPOINT_EVERY_S, Checkpoints
from ..train.control import KeyboardInterruptAfterEnd, Stopped
from ..train.events import EpochEnded, Progress, RunEnded, RunStarted
from ..train.inflight import InFlight
from ..train.lifecycle import RUN_ENDS, ending
from ..train.trainer import PROGRESS_EVERY_S, Trainer, init_probes, judged
from .groupdata import GroupData
from .grouping import OWN, PER_COPY
from .stacked import StackedMLP, StackedOptimizer, mlp_layers

OPTIMIZER_ONLY = (PER_COPY | OWN) - {"seed", "data_seed"}  # values that leave the data set as it is
GRAD_NORMS = "_grad_norms"  # a copy's GradNorm figures in its figures, measured for the group at once


def why_not_batched(t: Trainer, at: tuple | None = None) -> str:
    """Why a set-up trainer cannot join a batched group ('' if it can); given `at`, the group's point (its
    epoch, and the first sample still to train in an epoch a stop interrupted), a copy elsewhere cannot."""
    if mlp_layers(t.model) is None:
        return "its model is not a plain MLP"
    if t.step_probes:
        return "a probe of it works after every step"
    ep = t.inflight  # a resumed copy's epoch in flight: the group adopts it with every step's loss so far
    if ep is not None and ep.first:
        losses, preds = ep.past_losses, ep.past_preds
        if losses is None or losses.shape != (ep.first // t.batch_size,) or not losses.is_floating_point():
            return "its checkpoint of the epoch in flight keeps no step losses"
        if t.sums.classify and (preds is None or preds.shape != (ep.first,) or preds.dtype != torch.long):
            return "its checkpoint of the epoch in flight keeps no predictions"
    if at is not None and point(t) != at:
        return "it stands at another epoch or step than the others"
    return ""


def point(t: Trainer) -> tuple[int, int | None]:
    """Where a set-up copy goes on from: its epochs done, and the first sample of an interrupted epoch."""
    return t.epoch, None if t.inflight is None else t.inflight.first


def data_key(cfg) -> tuple:
    """Copies whose configs agree on this build the same data set (only the optimizer's values differ)."""
    return tuple(sorted((k, repr(v)) for k, v in cfg.to_dict().items() if k not in OPTIMIZER_ONLY))


class SpacedCheckpoints(Checkpoints):
    """A copy's checkpoint.pt at most every `every_s` seconds (and always at its last epoch): a group of C
    copies writes C times as many files as one run alone in the same time, and each write is an fsync, so
    each copy waits C seconds and the group writes about one a second, as one run does. A stop still
    checkpoints every copy's epoch in flight."""

    def __init__(self, base: Checkpoints, every_s: float, first_in_s: float):
        super().__init__(base.dir, base.dir is not None, base.last_epoch)
        self.every_s = every_s
        self._last_write = time.perf_counter() - every_s + first_in_s

    def _due(self, epoch: int) -> bool:
        if self.dir is None:
            return False
        now = time.perf_counter()
        if now - self._last_write >= self.every_s or epoch == self.last_epoch:
            self._last_write = now
            return True
        return False


class _Clocks:
    """The copies' clocks as one, for a pause (core/train/control.py's Control.poll leaves it out of all)."""

    def __init__(self, trainers: list[Trainer]):
        self.trainers = trainers

    def leave_out(self, seconds: float) -> None:
        for t in self.trainers:
            t.clock.leave_out(seconds)


class BatchedTrainer:
    """Trains `trainers` (core/train Trainers, not yet set up; one per run, sharing one Control) together."""

    def __init__(self, trainers: list[Trainer]):
        self.all, self.active = list(trainers), list(trainers)
        self.control = trainers[0].control
        self.ended: dict[str, RunEnded] = {}
        self.model: StackedMLP | None = None
        self.opt: StackedOptimizer | None = None
        self.data: GroupData | None = None
        self.losses: list[torch.Tensor] = []  # the epoch's step losses, [C] each
        self.orders: torch.Tensor | None = None  # the epoch's sample order of each copy, [C, n]
        self.preds: torch.Tensor | None = None  # the epoch's predicted classes of each copy, [C, n]
        self.per_copy = False  # whether this epoch's batches differ between copies ([C, B, ...])
        self.handed: dict[str, int] = {}  # each copy's step when its own weights were last handed back

    # -- start and end --------------------------------------------------------------------------
    def run(self) -> list[RunEnded]:
        """Train every copy to its end; returns each run's RunEnded, in the order given."""
        began = time.perf_counter()
        for t in self.all:
            t.clock.start()
        try:
            self._start(began)
            self._train()
        except RUN_ENDS as e:
            self._end_all(e)
        return [self.ended[t.run_id] for t in self.all]

    def _start(self, began: float) -> None:
        shared: dict[tuple, Any] = {}  # one data set for the copies that differ only in lr, momentum, decay
        for t in self.all:
            key = data_key(t.cfg)
            t.data = shared.get(key, t.data)
            t.setup()
            if t.data.shuffler is None:  # a task's own shuffler holds its generator: never shared
                shared.setdefault(key, t.data)
            if t.resume is not None:
                t.inflight = runstate.restore(t, t.resume)
        points = [point(t) for t in self.all if not why_not_batched(t)]  # resumed copies: all at one point
        at = max(points, key=points.count, default=None)
        alone = [t for t in self.all if why_not_batched(t, at)]
        if len(alone) == len(self.all) - 1:  # one copy left: no group to train it with
            alone = list(self.all)
        for t in alone:  # trained one by one, as before (set up again by its own run)
            self.active.remove(t)
            self.ended[t.run_id] = t.run()
        if not self.active:
            return
        for t in self.active:
            others = ", ".join(o.variant for o in self.active if o is not t)
            t.fast.notes.append(f"trained batched, one model of {len(self.active)} copies with {others}")
            t.emit(RunStarted(t.run_id, t.preset, t.variant, t.cfg.to_dict(), str(t.device), report.info(t)))
        self._stack()
        record_inits(self)
        if not self.active:
            return
        c = len(self.active)
        for i, t in enumerate(self.active):
            t.checkpoints = SpacedCheckpoints(t.checkpoints, CHECKPOINT_EVERY_S * c, CHECKPOINT_EVERY_S * i)
        warm = warm_up(self)
        for t in self.active:
            t.setup_s = t.clock.start_training(began, warm, resumed=t.resume is not None)

    def _stack(self) -> None:
        ts = self.active
        self.model = StackedMLP([t.model for t in ts])
        self.opt = StackedOptimizer(self.model, [t.optimizer for t in ts], ts[0].cfg.optimizer)
        self.data = GroupData([t.data for t in ts])

    def _end(self, t: Trainer, status: str, reason: str, keep: bool = True) -> None:
        """End one copy's run (core/train's own end: its summary, from its weights, RunEnded to its
        listeners)."""
        fresh(self, [t], quiet=True)
        self.ended[t.run_id] = t._end(status, reason)
        if keep:
            self._drop([t])

    def _drop(self, gone: list[Trainer]) -> None:
        keep = [i for i, t in enumerate(self.active) if t not in gone]
        self.active = [self.active[i] for i in keep]
        if self.active:
            self.model.select(keep)
            self.opt.select(keep)
            self.data.select(keep)
            if self.orders is not None:
                self.orders = self.orders.index_select(0, torch.tensor(keep, device=self.orders.device))
            self.losses = [v.index_select(0, torch.tensor(keep, device=v.device)) for v in self.losses]
            if self.preds is not None:
                self.preds = self.preds[keep]

    def _end_all(self, e: BaseException) -> None:
        """Something raised in the loop (a stop for all, a Ctrl-C, a failure): every copy still training ends
        as core/train/lifecycle.py says; a stop checkpoints each copy's epoch in flight first."""
        for t in list(self.active):
            end = ending(e, t.run_id, self.control, resumable=True)
            t.traceback = end.traceback
            reason = end.reason
            if isinstance(e, Stopped):
                reason += self._save_in_flight(t)
            self._end(t, end.status, reason, keep=False)
        self.active = []
        if isinstance(e, KeyboardInterrupt):
            raise KeyboardInterruptAfterEnd(None) from None

    def _save_in_flight(self, t: Trainer) -> str:
        """A copy stopped mid-epoch: its weights, optimizer state and epoch so far into its own trainer, then
        core/train's checkpoint of the epoch in flight."""
        if self.model is None or t.inflight is None:
            return ""
        i, start = self.active.index(t), t.inflight.start
        self._hand_back([t])
        t.inflight.losses = [v[i] for v in self.losses]
        if self.preds is not None:
            t.sums.preds[:start] = self.preds[i, :start]
        return runstate.save_interrupted(t)

    def _hand_back(self, ts: list[Trainer]) -> None:
        """These copies' weights, last gradients and optimizer state into their own modules and optimizers
        (where their probes, checkpoints and summary read them): only when something will (`fresh`)."""
        idx = [self.active.index(t) for t in ts]
        self.model.to_models([t.fast.params for t in ts], idx)
        self.opt.to_optimizers([t.optimizer for t in ts], idx)
        self.handed.update((t.run_id, t.step) for t in ts)

    # -- the loop -------------------------------------------------------------------------------
    def _train(self) -> None:
        resumed = bool(self.active) and self.active[0].inflight is not None  # stopped mid-epoch: that first
        while self.active:
            epoch = self.active[0].epoch + 1
            for t in self.active:
                t.epoch = epoch
                if not resumed:
                    t.inflight = InFlight.fresh(t.order.next(), t.device)
            orders = [t.inflight.order for t in self.active]
            self.orders = None if orders[0] is None else torch.stack(orders)
            same = self.data.shared and all(o is None or torch.equal(o, orders[0]) for o in orders)
            self.per_copy = not self.data.shared or (self.orders is not None and not same)
            first = adopt_in_flight(self) if resumed else 0
            resumed = False  # the next epochs are fresh
            self._train_epoch(same, first)
            self._after_epoch(epoch)

    def _train_epoch(self, same: bool, first: int = 0) -> None:
        """The epoch's steps for every copy, from sample `first` (0, or where a resumed group's epoch stopped:
        adopt_in_flight seeded its losses and predictions); a copy's own stop request ends it at the step it
        comes in."""
        lead = self.active[0]
        n, bs = self.data.n, lead.batch_size
        if not first:
            self.losses = []
            cls, c0 = self.data.classify, len(self.active)
            self.preds = torch.empty((c0, n), dtype=torch.long, device=lead.device) if cls else None
        self.data.epoch(self.orders, same)
        clocks, last, look = _Clocks(self.active), time.perf_counter(), 0.0
        for start in range(first, n, bs):
            self.control.poll(None, clocks)  # the shared flags: a stop ends every copy
            now = time.monotonic()
            if now >= look:  # each copy's stop-request file, at most every LOOK_S (as stoprequest looks)
                look = now + stoprequest.LOOK_S
                asked = [t for t in self.active if stoprequest.asked(t.run_dir)]
                if asked:
                    self._stop_some(asked, start)
                    if not self.active:
                        return
            xb, yb = self.data.batch(start, bs)
            self._step(xb, yb, start)
            for t in self.active:
                t.step += 1
            if bs < n and time.perf_counter() - last >= PROGRESS_EVERY_S:
                last = time.perf_counter()
                self._progress(min(start + bs, n))

    def _step(self, xb: torch.Tensor, yb: torch.Tensor, start: int) -> None:
        """One step of every copy (core/sweep/stacked.py's hand-written forward and backward): in chunks of
        MICRO_BATCH_CPU rows on the CPU (as core/train/fastpath.py does), the gradients summed, then the
        update; no host sync."""
        per_copy, model, d = self.per_copy, self.model, self.data
        m = xb.shape[1] if per_copy else xb.shape[0]
        micro = fastpath.MICRO_BATCH_CPU if xb.device.type == "cpu" else max(m, 1)
        loss_name, total = self.active[0].cfg.loss, None
        for c in range(0, m, micro):
            if m <= micro:
                x, y = xb, yb
            elif per_copy:
                x, y = xb[:, c : c + micro], yb[:, c : c + micro]
            else:
                x, y = xb[c : c + micro], yb[c : c + micro]
            if d.transform is not None:
                x = d.transform(x)
            k = y.shape[1 if per_copy else 0]
            weight = 1.0 if m <= micro else k / m
            out, loss = model.train_step(x, y, loss_name, d.n_classes, weight, not per_copy, c == 0)
            part = loss if weight == 1.0 else loss * weight
            total = part if total is None else total + part
            if self.preds is not None:  # max's indices: argmax over a middle dim is several times slower
                self.preds[:, start + c : start + c + k].copy_(out.max(1).indices)
        self.losses.append(total)
        self.opt.step()
        for t in self.active:
            t.inflight.start = min(start + m, d.n)

    def _sums(self, seen: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Each copy's summed training loss and correct count over the epoch's steps so far ([C] each)."""
        first = self.active[0]
        sizes = first.sums.batch_sizes[: len(self.losses)]
        loss_sum = sizes @ torch.stack(self.losses).float() if self.losses else torch.zeros(len(self.active))
        if self.preds is None:
            return loss_sum, torch.zeros_like(loss_sum)
        labels = self.data.labels()[..., :seen]
        return loss_sum, (self.preds[:, :seen] == labels).sum(1).float()

    def _progress(self, seen: int) -> None:
        running = (self._sums(seen)[0] / seen).tolist()
        for t, r in zip(self.active, running):
            t.emit(Progress(t.run_id, t.variant, t.epoch, t.step, seen / self.data.n, r, t.clock.elapsed()))

    def _stop_some(self, asked: list[Trainer], start: int) -> None:
        """Copies whose own stop request came in: each ends interrupted, its epoch in flight checkpointed."""
        for t in asked:
            t.inflight.start = start
            reason = stoprequest.REASON + self._save_in_flight(t)
            self._end(t, "interrupted", reason)

    # -- at an epoch's end ------------------------------------------------------------------------
    def _after_epoch(self, epoch: int) -> None:
        """Each copy's record, made and judged by core/train as for a run alone; copies that end leave."""
        n = self.data.n
        loss_sum, correct = self._sums(n)
        figures, test_preds = self.data.records(self.model, self.active[0].cfg.loss, loss_sum, correct)
        figures = grad_norms(self, epoch, figures)
        fresh(self, [t for t in self.active if reads_model(t, epoch)])
        gone = []
        for i, t in enumerate(self.active):
            try:
                status = epoch_end(t, i, epoch, figures, test_preds)
            except Exception as e:  # noqa: BLE001 - one copy's failure (a probe, its files) ends it alone
                end = ending(e, t.run_id, self.control, resumable=True)
                t.traceback, status = end.traceback, (end.status, end.reason)
            if status is not None:
                self._end(t, *status, keep=False)
                gone.append(t)
        if gone:
            self._drop(gone)


def warm_up(bt: BatchedTrainer) -> float:
    """The seconds of one step's forward and backward on a micro-batch (core/train/fastpath.py's warm_up:
    left out of the training time); its gradients are dropped, the first step writes its own."""
    t0 = time.perf_counter()
    d, lead = bt.data, bt.active[0]
    k = min(lead.batch_size, fastpath.MICRO_BATCH_CPU)
    x, y = (d.train_x[:k], d.train_y[:k]) if d.shared else (d.train_x[:, :k], d.train_y[:, :k])
    if d.transform is not None:
        x = d.transform(x)
    bt.model.train_step(x, y, lead.cfg.loss, d.n_classes, 1.0, d.shared, True)  # as _step calls it
    bt.model.has_grad = False
    return time.perf_counter() - t0


def adopt_in_flight(bt: BatchedTrainer) -> int:
    """The epoch a stop interrupted, taken up by the group where its copies stopped (all at one sample,
    core/executors' grouping of resumed runs): every step's loss and every prediction so far, as their
    checkpoints kept them, seed the group's epoch; returns the sample its steps go on from
    (`_train_epoch`'s `first`), so that its records are those of a group never stopped."""
    ts, first = bt.active, bt.active[0].inflight.first
    n, bs, dev = bt.data.n, ts[0].batch_size, ts[0].device
    bt.losses = [torch.stack([t.inflight.past_losses[j] for t in ts]).to(dev) for j in range(first // bs)]
    bt.preds = torch.empty((len(ts), n), dtype=torch.long, device=dev) if bt.data.classify else None
    for i, t in enumerate(ts):
        if bt.preds is not None and first:
            bt.preds[i, :first] = t.inflight.past_preds
        t.inflight = InFlight.fresh(t.inflight.order, dev)  # from sample 0: the group holds the epoch so far
        t.inflight.start = first
    if first == 0:  # stopped before its first step: the epoch starts afresh
        bt.losses = []
    return first


def epoch_end(t: Trainer, i: int, epoch: int, figures: list, test_preds) -> tuple[str, str] | None:
    """One copy's record, probes and end-of-epoch files; how it ends, or None if it goes on."""
    t.inflight = None
    if test_preds is not None:
        t.evaluate.test_preds = test_preds[i]
    rec = {"epoch": epoch, "step": t.step, "time": round(t.clock.elapsed(), 4), **figures[i]}
    norms = rec.pop(GRAD_NORMS, None)  # the copy's GradNorm figures, measured for the group at once
    rec["lr"] = t.optimizer.param_groups[0]["lr"]
    if rec["train_loss"] is not None:
        for p in t.probes:
            if p.scheduled(epoch):
                rec.update({"grad_norm": norms} if norms and isinstance(p, GradNorm) else p.measure(epoch))
    t.history.append(rec)
    t.emit(EpochEnded(t.run_id, t.variant, rec))
    return judge(t, rec, epoch)


def judge(t: Trainer, rec: dict[str, Any], epoch: int) -> tuple[str, str] | None:
    """How the copy ends after this epoch (core/train/trainer.py's rules), or None if it goes on."""
    if rec["train_loss"] is None or not math.isfinite(rec["train_loss"]):
        return (
            "diverged",
            f"the training loss became non-finite in epoch {epoch} (by step {t.step}); try a smaller lr",
        )
    t.after_epoch(rec)
    if t.best.stop_after(epoch):
        return judged(
            "finished",
            f"early stop: no better validation score for {t.cfg.early_stop_patience} epochs",
            t.history,
        )
    if epoch >= t.cfg.epochs:
        return judged("finished", "", t.history)  # the one divergence rule: against the loss at init
    return None


def record_inits(bt: BatchedTrainer) -> None:
    """Epoch 0, as a run alone records it (core/train/evaluation.py's init_record): every copy evaluated
    before its first step, all at once on the stacked model (one pass over the data for all copies, one host
    sync), then each copy's probes that measure at init. A copy that fails there (a probe, its files) ends
    failed alone; the others go on."""
    todo = [t for t in bt.active if t.resume is None and not any(r.get("epoch") == 0 for r in t.history)]
    if not todo:
        return
    d, loss = bt.data, bt.active[0].cfg.loss
    train_sum, train_correct, _ = d.evaluate(bt.model, d.train_x, d.train_y, loss)
    figures, test_preds = d.records(bt.model, loss, train_sum, train_correct)
    gone = []
    for i, t in enumerate(bt.active):
        if t not in todo:
            continue
        try:
            if test_preds is not None:
                t.evaluate.test_preds = test_preds[i]
            rec = {"epoch": 0, "step": 0, "time": 0.0, **figures[i], "lr": t.optimizer.param_groups[0]["lr"]}
            if rec["train_loss"] is not None:
                rec.update(init_probes(t))
            t.history.append(rec)
            t.emit(EpochEnded(t.run_id, t.variant, rec))
        except Exception as e:  # noqa: BLE001 - one copy's failure ends it alone
            end = ending(e, t.run_id, bt.control, resumable=True)
            t.traceback = end.traceback
            bt._end(t, end.status, end.reason, keep=False)
            gone.append(t)
    if gone:
        bt._drop(gone)


def reads_model(t: Trainer, epoch: int) -> bool:
    """Whether anything at this epoch's end reads the copy's own weights, gradients or optimizer state: its
    checkpoint.pt due, a best.pt it may write, or a probe on its schedule that says it does (GradNorm's
    figures come from the stacked gradients: `grad_norms`). Its end reads them too (`_end`)."""
    if t.checkpoints.pin(epoch) or (t.checkpoints.on and t.data.val_x is not None):
        return True
    return any(p.scheduled(epoch) and p.reads_model(epoch) for p in t.probes if not isinstance(p, GradNorm))


def fresh(bt: BatchedTrainer, ts: list[Trainer], quiet: bool = False) -> None:
    """Hand these copies their weights back where a step has changed them since the last time. `quiet` (a
    copy's end): where that fails (a group that failed), the copy ends with the weights it last had."""
    stale = [t for t in ts if t in bt.active and bt.handed.get(t.run_id) != t.step]
    if not stale or bt.model is None:
        return
    try:
        bt._hand_back(stale)
    except Exception:
        if not quiet:
            raise


def grad_norms(bt: BatchedTrainer, epoch: int, figures: list[dict]) -> list[dict]:
    """Each copy's figures with its GradNorm figures (core/probes/defaults.py) under GRAD_NORMS, measured
    for every copy at once from the stacked gradients (one host sync), when a copy's GradNorm is due."""
    due = any(isinstance(p, GradNorm) and p.scheduled(epoch) for t in bt.active for p in t.probes)
    model = bt.model  # its gradients: the last step's, in `grads` (each layer's weight, then its bias)
    grads = list(model.grads[0::2]) if model.has_grad else []
    if not due or not grads:
        if due:  # no stacked gradients to read: each copy's GradNorm reads its own, handed back
            fresh(bt, list(bt.active))
        return figures
    return [{**f, GRAD_NORMS: n} for f, n in zip(figures, GradNorm.of_stacked(grads))]
