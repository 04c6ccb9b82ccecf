"""Run a preset's variants: plan them, check everything a user could get wrong, then train each.

Everything that can be bad input (the preset, --set values, the device, the dataset, the runs dir,
a batch larger than the data) is checked before the first run dir is made, so bad input leaves
nothing behind.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import RunConfig
from .errors import BadInput
from .events import EpochEnded, Listener, RunEnded, RunStarted, Snapshot
from .presets import Preset
from .store import RunStore, RunWriter


@dataclass(frozen=True)
class RunPlan:
    """One run to make: which preset and variant, with its resolved config."""

    preset: str
    variant: str
    config: RunConfig


def plan(preset: Preset, overrides: dict[str, Any] | None = None) -> list[RunPlan]:
    return [RunPlan(preset.name, name, cfg) for name, cfg in preset.configs(overrides)]


def preflight(plans: list[RunPlan], store: RunStore, data_dir: Path) -> None:
    """Raise BadInput for anything that would stop a run before its first step."""
    from . import data
    from .device import resolve_device

    store.check_writable()
    for p in plans:
        resolve_device(p.config.device)
        data.check(p.config, data_dir)
        n = train_size(p.config, data_dir)
        bs = p.config.batch_size
        if n is not None and bs != "full" and bs > n:
            raise BadInput(
                f"variant '{p.variant}': batch_size = {bs} is larger than the training set ({n} samples); "
                f"use at most {n} or batch_size=full"
            )


def train_size(cfg: RunConfig, data_dir: Path) -> int | None:
    """The number of training samples a config will see, if the task can tell without loading it."""
    from .data import REGISTRY

    mod = importlib.import_module(REGISTRY[cfg.task][0].split(":")[0])
    fn = getattr(mod, "train_size", None)
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
            w.set_status("running", device=event.device, **{k: event.info[k] for k in ("device_name", "n_params") if k in event.info})
        elif isinstance(event, EpochEnded):
            w.append_metrics(event.record)
        elif isinstance(event, Snapshot):
            w.append_snapshot({"epoch": event.epoch, "kind": event.kind, **event.data})
        elif isinstance(event, RunEnded):
            w.write_summary(event.summary)
            w.set_status(event.status, event.reason)
            w.close()


def run_one(p: RunPlan, store: RunStore, data_dir: Path, listeners: list[Listener] | None = None,
            control=None) -> RunEnded:
    """Make the run dir, train, and return how it ended. A Ctrl-C propagates after the files are written."""
    if p.config.task == "gradcheck":  # not training: the gradient tests, through the same events
        from .gradcheck import GradCheck as Runner
    else:
        from .engine import Trainer as Runner

    writer = store.create(p.preset, p.variant, p.config.to_dict())
    sink = StoreSink(writer)
    trainer = Runner(p.config, run_id=writer.run_id, preset=p.preset, variant=p.variant,
                      listeners=[sink, *(listeners or [])], data_dir=data_dir, control=control, run_dir=writer.path)
    try:
        return trainer.run()
    except BadInput as e:
        # Checked in preflight; if it still happens the run is failed, never left 'running'.
        ended = RunEnded(writer.run_id, p.variant, "failed", str(e), trainer.summary("failed", str(e)))
        sink(ended)
        for listener in listeners or []:
            listener(ended)
        return ended
    finally:
        if not writer.ended:  # an exception nobody caught: never leave a run 'running'
            writer.set_status("failed", "the run stopped unexpectedly")
        writer.close()


def exit_code(statuses: list[str]) -> int:
    """0 when every run finished or diverged; 1 when one failed; 130 when one was interrupted."""
    if "interrupted" in statuses:
        return 130
    if "failed" in statuses:
        return 1
    return 0
