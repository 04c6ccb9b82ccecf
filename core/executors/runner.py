"""Run a preset's variants: plan them, check everything a user could get wrong, then train each.

Everything that can be bad input (the preset, --set values, the device, the dataset, the runs dir,
a batch larger than the data) is checked before the first run dir is made, so bad input leaves
nothing behind.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ..rules.errors import BadInput
from ..rules.status import RunStatus
from ..spec.config import RunConfig
from ..spec.presets import Preset
from ..store.atomic import write_atomic
from ..store.folder import RunInfo, RunStore, RunWriter, check_resumable
from ..train import lifecycle
from ..train.events import EpochEnded, Listener, Progress, RunEnded, RunStarted, Snapshot


@dataclass(frozen=True)
class RunPlan:
    """One run to make: which preset and variant, with its resolved config."""

    preset: str
    variant: str
    config: RunConfig
    alone: bool = False  # never batched with others (its preset says batched = "off")


def plan(preset: Preset, overrides: dict[str, Any] | None = None) -> list[RunPlan]:
    alone = preset.batched == "off"
    return [RunPlan(preset.name, name, cfg, alone) for name, cfg in preset.configs(overrides)]


def preflight(plans: list[RunPlan], store: RunStore, data_dir: Path) -> None:
    """Raise BadInput for anything that would stop a run before its first step."""
    from .. import data
    from ..spec.device import resolve_device
    from ..spec.resources import check_fits
    from ..train import losses
    from ..train.hooks import check_names
    from ..train.models import CNN_MIN_SIDE

    for p in plans:
        check_fits(p.config, resolve_device(p.config.device), p.variant)
        losses.check(p.config, f"variant '{p.variant}'")
        check_names(p.config.probes)
        images = data.tasks_where(images=True)
        if p.config.model == "cnn" and p.config.task not in images:
            raise BadInput(
                f"variant '{p.variant}': model = cnn needs images of at least "
                f"{CNN_MIN_SIDE}x{CNN_MIN_SIDE} pixels, and task "
                f"{p.config.task} has none; use it with task {' or '.join(sorted(images))}, or set model=mlp"
            )
        data.check(p.config, data_dir)
        n = train_size(p.config, data_dir)
        bs = p.config.batch_size
        if n is not None and bs != "full" and bs > n:
            raise BadInput(
                f"variant '{p.variant}': batch_size = {bs} is larger than the training set ({n} samples); "
                f"use at most {n} or batch_size=full"
            )
    store.check_writable()


def task_module(cfg: RunConfig):
    """The module that builds a config's task: it may also say its training-set size and its runner."""
    from ..data import REGISTRY

    return importlib.import_module(REGISTRY[cfg.task].builder.split(":")[0])


def train_size(cfg: RunConfig, data_dir: Path) -> int | None:
    """The number of training samples a config will see, if the task can tell without loading it."""
    fn = getattr(task_module(cfg), "train_size", None)
    if fn is None:
        return None
    n = fn(cfg, data_dir)
    if cfg.train_size:
        n = min(n, cfg.train_size)
    return n - int(round(n * cfg.val_fraction))


class StoreSink:
    """A listener that writes one run's events to its run dir."""

    def __init__(self, writer: RunWriter):
        self.writer = writer

    def __call__(self, event) -> None:
        w = self.writer
        if isinstance(event, RunStarted):
            w.set_status(
                "running",
                device=event.device,
                **{k: event.info[k] for k in ("device_name", "n_params") if k in event.info},
            )
        elif isinstance(event, EpochEnded):
            w.append_metrics(event.record)
        elif isinstance(event, Progress):  # long epochs: keep the heartbeat fresh between records
            w.beat()
        elif isinstance(event, Snapshot):
            w.append_snapshot({"epoch": event.epoch, "kind": event.kind, **event.data})
        elif isinstance(event, RunEnded):
            w.write_summary(event.summary)
            w.set_status(event.status, event.reason)
            w.close()


def run_one(
    p: RunPlan, store: RunStore, data_dir: Path, listeners: list[Listener] | None = None, control=None
) -> RunEnded:
    """Make the run dir, train, and return how it ended. A Ctrl-C propagates after the files are written."""
    writer = store.create(p.preset, p.variant, p.config.to_dict())
    return _drive(p, writer, data_dir, listeners, control)


def prepare_resume(run: RunInfo, store: RunStore, data_dir: Path) -> tuple[RunPlan, dict[str, Any] | None]:
    """Check that a run can go on (its state, config, device, data, checkpoint) before touching it."""
    from ..spec.config import from_dict

    check_resumable(run)
    if not run.config:
        raise BadInput(
            f"run {run.run_id}: its config.json is missing or unreadable, so it cannot be resumed; "
            f"start it again with `dltui run {run.status.get('preset') or 'PRESET'}`"
        )
    plan = RunPlan(
        run.status.get("preset", ""),
        run.status.get("variant", ""),
        from_dict(run.config, str(run.path / "config.json")),
    )
    preflight([plan], store, data_dir)
    ckpt = run.path / "checkpoint.pt"
    if not ckpt.exists():
        return plan, None  # it stopped before its first checkpoint: it starts over, in the same dir
    from ..train.checkpoint import load_checkpoint

    return plan, load_checkpoint(ckpt, plan.config, data_dir, fit_problem)  # checked before anything changes


@dataclass(frozen=True)
class ResumePlan:
    """A stored run to go on with (prepare_resume's plan and checkpoint, the run claimed): grouped as a plan
    is (core/sweep/grouping.py), with the point it stands at, so that resumed variants at one epoch and step
    train together again (core/executors/batched.py's resume_group)."""

    plan: RunPlan
    run: RunInfo
    checkpoint: dict[str, Any] | None  # None: it stopped before its first checkpoint, and starts over
    alone: bool = False  # never batched with others (its preset says batched = "off")

    @property
    def preset(self) -> str:
        return self.plan.preset

    @property
    def variant(self) -> str:
        return self.plan.variant

    @property
    def config(self) -> RunConfig:
        return self.plan.config

    @property
    def epoch(self) -> int:
        return int(self.checkpoint["epoch"]) if self.checkpoint else 0

    @property
    def point(self) -> tuple[int, int | None]:
        """Its epochs done, and the first sample still to train of the epoch a stop interrupted (None)."""
        partial = (self.checkpoint or {}).get("partial")
        return self.epoch, None if partial is None else int(partial["start"])

    @property
    def adoptable(self) -> bool:
        """Whether a batched group can take up the epoch its stop interrupted (a checkpoint written before
        each step's loss was kept cannot: such a run goes on alone)."""
        partial = (self.checkpoint or {}).get("partial")
        return partial is None or not partial["start"] or "losses" in partial

    def where(self) -> str:
        """Where it goes on from, in words."""
        if self.checkpoint is None:
            return "the start (it had no checkpoint yet)"
        return f"epoch {self.checkpoint['epoch']}, step {self.checkpoint['step']}"


def resume_one(
    run: RunInfo,
    plan: RunPlan,
    checkpoint: dict[str, Any] | None,
    store: RunStore,
    data_dir: Path,
    listeners: list[Listener] | None = None,
    control=None,
) -> RunEnded:
    """Continue an interrupted or crashed run from its checkpoint, in its own dir and metrics file."""
    writer, kept = store.reopen(run, int(checkpoint["epoch"]) if checkpoint else 0)
    return _drive(plan, writer, data_dir, listeners, control, checkpoint, kept)


def _drive(
    p: RunPlan,
    writer: RunWriter,
    data_dir: Path,
    listeners: list[Listener] | None,
    control,
    checkpoint: dict[str, Any] | None = None,
    kept: list[dict[str, Any]] | None = None,
) -> RunEnded:
    """Train one run into `writer`; whatever happens, its status ends as something other than running."""
    from ..export.tensorboard import sinks as tensorboard_sinks

    with lifecycle.guard(writer):
        # TensorBoard files beside the store, if asked for (--tensorboard, DLTUI_TENSORBOARD_DIR)
        sinks = [StoreSink(writer), *tensorboard_sinks(writer), *(listeners or [])]
        ended = train(p, writer.run_id, writer.path, data_dir, sinks, control, checkpoint, kept)
    if ended.status == RunStatus.FAILED:
        _release_gpu_memory()
    return ended


@dataclass(frozen=True)
class RunSpec:
    """One run as a runner is given it: its config, who it is, who listens, where its data and files go, its
    flags."""

    cfg: RunConfig
    run_id: str
    preset: str
    variant: str
    listeners: list[Listener]
    data_dir: Path
    run_dir: Path
    control: Any = None  # core/train/control.py's Control, or None


@runtime_checkable
class ConfigRunner(Protocol):
    """Something that runs one resolved config and tells its listeners: the Trainer, the gradient tests.

    A task's module names its runner class as `RUNNER` (else the Trainer runs it); `for_run` makes one from a
    RunSpec, taking what it uses of it. `traceback` is a failed run's, for traceback.txt ('' if none).
    """

    traceback: str

    @classmethod
    def for_run(cls, spec: RunSpec) -> ConfigRunner: ...

    def run(self) -> RunEnded: ...

    def summary(self, status: str, reason: str) -> dict[str, Any]: ...


@runtime_checkable
class Resumable(Protocol):
    """A runner that can go on from a checkpoint and the metrics records kept (the Trainer)."""

    def resume_from(self, checkpoint: dict[str, Any], history: list[dict[str, Any]] | None) -> int: ...


def runner_class(cfg: RunConfig) -> type:
    """The runner a task names in its module (`RUNNER`), or the Trainer."""
    cls = getattr(task_module(cfg), "RUNNER", None)
    if cls is None:
        from ..train.trainer import Trainer as cls
    return cls


def train(
    p: RunPlan,
    run_id: str,
    run_dir: Path,
    data_dir: Path,
    listeners: list[Listener],
    control=None,
    checkpoint: dict[str, Any] | None = None,
    kept: list[dict[str, Any]] | None = None,
) -> RunEnded:
    """Run one plan with its task's runner, files in `run_dir`, events to `listeners`; returns how it
    ended."""
    from .hardwaresink import HardwareSink

    hardware = HardwareSink(p.config, Path(run_dir))  # samples from now; sets the threads at RunStarted
    try:
        return _train(p, run_id, run_dir, data_dir, [hardware, *listeners], control, checkpoint, kept)
    finally:
        hardware.close()


def _train(p, run_id, run_dir, data_dir, listeners, control, checkpoint, kept) -> RunEnded:
    spec = RunSpec(p.config, run_id, p.preset, p.variant, listeners, data_dir, run_dir, control)
    runner = runner_class(p.config).for_run(spec)
    if not isinstance(runner, ConfigRunner):
        raise TypeError(
            f"task {p.config.task}: its runner {type(runner).__name__} is not a ConfigRunner "
            f"(for_run, run, summary, traceback)"
        )
    if checkpoint is not None:
        runner.resume_from(
            checkpoint, kept
        )  # a Resumable: core/train/checkpoint.py refuses checkpoints for the others
    # Bad input is checked in preflight; if it still happens the run is failed, never left 'running'.
    with lifecycle.RunLifecycle(run_id, catch=(BadInput,), let_through=()) as life:
        ended = runner.run()
    if life.caught is not None:
        ended = RunEnded(
            run_id, p.variant, life.status, life.reason, runner.summary(life.status, life.reason)
        )
        for listener in listeners:
            listener(ended)
    if ended.status == RunStatus.FAILED and runner.traceback:
        write_atomic(Path(run_dir) / "traceback.txt", runner.traceback)  # never seen half-written
    return ended


def _release_gpu_memory() -> None:
    """After a failed run (CUDA out of memory, say), give its cached GPU memory back for the next run."""
    import gc
    import sys

    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_initialized():
        gc.collect()
        torch.cuda.empty_cache()


def exit_code(statuses: list[str]) -> int:
    """0 when every run finished or diverged; 1 when one failed; 130 when one was interrupted."""
    if "interrupted" in statuses:
        return 130
    if "failed" in statuses:
        return 1
    return 0


def fit_problem(s: dict[str, Any], cfg: RunConfig, data_dir: Path | None) -> str:
    """Why a checkpoint of the right shape still does not fit `cfg` (its task cannot go on, or its model and
    optimizer are not those the config makes); '' if it fits."""
    if not issubclass(runner_class(cfg), Resumable):
        return f"task {cfg.task} does not go on from a checkpoint"
    from ..train.state import restore
    from ..train.trainer import Trainer  # the trainer builds the model and optimizer the checkpoint must fit

    trainer = Trainer(
        cfg.with_overrides({"device": "cpu", "compile": False}, "check"), run_id="check", data_dir=data_dir
    )
    trainer.setup()  # the model and optimizer this config makes, to hold the checkpoint against
    try:
        restore(trainer, s)
    except (RuntimeError, ValueError, KeyError, TypeError, IndexError) as e:
        return " ".join(str(e).split())[:300] or type(e).__name__
    partial = s.get("partial")
    if (
        partial is not None
        and partial.get("order") is not None
        and partial["order"].shape != (trainer.data.n_train,)
    ):
        return "the epoch in flight's sample order does not fit the training set"
    return ""
