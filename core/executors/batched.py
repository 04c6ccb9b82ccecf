"""Variants trained together as one batched model (core/sweep/), each still its own run: its own folder,
config, metrics, status, checkpoints and summary, written through the same StoreSink as a run trained alone.

`groups` splits a batch of plans into groups (core/sweep/grouping.py: which configs can go together, how many
fit in memory); `run_group` trains one group (a group of one runs as before, core/executors/runner.py's
run_one); `run_groups` runs them one after another. The local pool (localpool.py) hands out groups instead
of plans. The Ray engine runs every variant alone, as before.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

from ..rules.status import RunStatus
from ..store.atomic import write_atomic
from ..store.folder import RunStore
from ..sweep import grouping
from ..train import lifecycle
from ..train.events import Listener, RunEnded
from .runner import ResumePlan, RunPlan, RunSpec, StoreSink, _release_gpu_memory, resume_one, run_one

MAX_HEARTBEAT_S = 30.0  # well inside a foreign run's liveness window (core/store/folder.py, 120 s)


def _trains(cfg) -> bool:
    """Whether the config's task trains (the gradient check does not); no torch imported."""
    from ..data import REGISTRY

    return cfg.task in REGISTRY and REGISTRY[cfg.task].kind is not None


def _fits(cfg, n: int) -> bool:
    """Whether n copies of `cfg`'s model fit in MEMORY_SHARE of the memory to be had now
    (core/spec/resources.py's estimate: weights, gradients, optimizer state, a step's activations; a CUDA
    device's free memory, else the host's available memory)."""
    from ..spec.device import resolve_device
    from ..spec.resources import BYTES, activation_bytes, copies, device_free, host_available, min_params

    device = resolve_device(cfg.device)
    have = device_free(device) if device.type == "cuda" else host_available()
    need = n * (min_params(cfg) * BYTES * copies(cfg) + activation_bytes(cfg))
    return have is None or need <= have * grouping.MEMORY_SHARE


def groups(
    plans: list[RunPlan], mode: str = "auto", say: Callable[[str], None] = print, jobs: int = 1
) -> list[list[RunPlan]]:
    """The plans in groups that train together (`mode` off: each alone), at least one per process of
    `jobs` where there are copies enough."""
    return grouping.groups(plans, grouping.check_mode(mode), _trains, _fits, say, jobs)


def run_group(
    group: list[RunPlan],
    store: RunStore,
    data_dir: Path,
    listeners: list[Listener] | None = None,
    control=None,
) -> list[RunEnded]:
    """Make each plan's run dir, train them together, and return how each ended (in the group's order)."""
    if len(group) == 1:
        return [run_one(group[0], store, data_dir, listeners, control)]
    writers = [store.create(p.preset, p.variant, p.config.to_dict()) for p in group]
    with contextlib.ExitStack() as guards:
        for w in writers:
            guards.enter_context(lifecycle.guard(w))
        return _together(guards, list(zip(group, writers)), data_dir, listeners, control)


def resume_group(
    group: list[ResumePlan],
    store: RunStore,
    data_dir: Path,
    listeners: list[Listener] | None = None,
    control=None,
) -> list[RunEnded]:
    """Resumed runs at one point (core/sweep/grouping.py) trained together again, each in its own folder and
    from its own checkpoint, as run_group trains new ones; a group of one goes on alone (runner.resume_one).
    An epoch a stop interrupted is taken up where it stopped (core/sweep/trainer.py's adopt_in_flight)."""
    if len(group) == 1:
        p = group[0]
        return [resume_one(p.run, p.plan, p.checkpoint, store, data_dir, listeners, control)]
    kept: dict[str, list] = {}

    def ready(t, p: ResumePlan) -> None:
        if p.checkpoint is not None:
            t.resume_from(p.checkpoint, kept[t.run_id])
        else:  # it starts over: its epoch-0 record, if it has one, is kept
            t.history = list(kept[t.run_id])

    with contextlib.ExitStack() as guards:
        items = []
        for p in group:
            w, kept_w = store.reopen(p.run, p.epoch)  # its metrics cut back to its checkpoint's epoch
            guards.enter_context(lifecycle.guard(w))
            kept[w.run_id] = kept_w
            items.append((p, w))
        return _together(guards, items, data_dir, listeners, control, ready)


def _together(guards, items: list, data_dir: Path, listeners, control, ready=None) -> list[RunEnded]:
    """Train (plan, open writer) pairs as one batched model: one sampler for the group, as a run alone has
    one (its records in each copy's hardware.jsonl), each copy its own sinks; `ready(trainer, plan)`: what a
    resumed copy takes from its checkpoint before the group starts. A failed copy's traceback.txt after."""
    from ..export.tensorboard import sinks as tensorboard_sinks
    from ..sweep.trainer import BatchedTrainer
    from ..train.control import Control
    from ..train.trainer import Trainer
    from .hardwaresink import HardwareSink

    control = control or Control()
    for _, w in items:  # each heartbeat is an fsync: the group beats about once a second, as one run does
        w.HEARTBEAT_S = min(w.HEARTBEAT_S * len(items), MAX_HEARTBEAT_S)
    hardware = HardwareSink(items[0][0].config, [Path(w.path) for _, w in items])
    guards.callback(hardware.close)
    trainers = []
    for p, w in items:
        sinks = [hardware, StoreSink(w), *tensorboard_sinks(w), *(listeners or [])]
        t = Trainer.for_run(
            RunSpec(p.config, w.run_id, p.preset, p.variant, sinks, data_dir, w.path, control)
        )
        if ready is not None:
            ready(t, p)
        trainers.append(t)
    ended = BatchedTrainer(trainers).run()
    for t, e in zip(trainers, ended):
        if e.status == RunStatus.FAILED and t.traceback:
            write_atomic(Path(t.run_dir) / "traceback.txt", t.traceback)  # never seen half-written
    if any(e.status == RunStatus.FAILED for e in ended):
        _release_gpu_memory()
    return ended


def run_groups(
    groups_: list[list[RunPlan]], store: RunStore, data_dir: Path, listeners: list[Listener], control
) -> list[RunEnded]:
    """The groups one after another in this process (stopping when the stop flag is set); groups of resumed
    runs (runner.ResumePlan) go on from their checkpoints (resume_group)."""
    ended: list[RunEnded] = []
    for g in groups_:
        if control is not None and control.stop is not None and control.stop.is_set():
            break
        go = resume_group if isinstance(g[0], ResumePlan) else run_group
        ended += go(g, store, data_dir, listeners, control)
    return ended
