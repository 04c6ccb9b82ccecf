"""Tasks: each builds its data as tensors on the device from a config.

The registry maps a task name to "module:function" so that naming a task costs no import; the
builder is imported (with torch) only when a run starts.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..rules.errors import BadInput


@dataclass(frozen=True)
class Task:
    """What the lab knows of a task before importing it: where its builder (and data check) live, and the
    facts the preflight and the loss rules need."""

    builder: str  # "module:function"
    check: str | None = (
        None  # "module:function" that says, before any run dir exists, whether its data can be had
    )
    kind: str | None = (
        "classification"  # "classification", "regression", or None: trains nothing (runs its own tests)
    )
    images: bool = False  # images a CNN can take (models.CNN_MIN_SIDE and up)
    in_memory: bool = False  # a small set drawn in memory (n_samples), not a data set on disk


# the config's `task` choices, in this order
REGISTRY: dict[str, Task] = {
    "polynomial": Task("dltui.core.data.polynomial:build", kind="regression", in_memory=True),
    "mnist": Task("dltui.core.data.mnist:build", "dltui.core.data.mnist:check", images=True),
    "digits": Task("dltui.core.data.digits:build"),  # 8x8: too small for the CNN
    "cifar10": Task("dltui.core.data.cifar:build", "dltui.core.data.cifar:check", images=True),
    "toy2d": Task("dltui.core.data.toy2d:build", in_memory=True),
    "gradcheck": Task("dltui.core.probes.gradcheck:build", kind=None),
}


def tasks_where(**facts: Any) -> tuple[str, ...]:
    """The tasks with these facts, e.g. tasks_where(images=True)."""
    return tuple(name for name, t in REGISTRY.items() if all(getattr(t, k) == v for k, v in facts.items()))


def default_data_dir() -> Path:
    env = os.environ.get("DLTUI_DATA_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "dltui"


@dataclass
class TaskData:
    """A task's tensors (already on the device) and what the trainer needs to know about them."""

    name: str
    kind: str  # "classification" or "regression"
    train_x: Any
    train_y: Any
    test_x: Any
    test_y: Any
    val_x: Any = None
    val_y: Any = None
    n_classes: int = 0
    input_shape: tuple[int, ...] = ()
    probes: tuple[str, ...] = ()  # probes the task always wants (e.g. the polynomial's learned function)
    extras: dict[str, Any] = field(default_factory=dict)  # task facts for probes and summary
    transform: Callable | None = None  # per-batch transform on the device (e.g. uint8 -> normalized float)
    # the task's own epoch order (.gen, .order(n)), e.g. a seed's DataLoader replayed; None: randperm
    shuffler: Any = None

    @property
    def n_train(self) -> int:
        return int(self.train_x.shape[0])


def _load(spec: str) -> Callable:
    mod, fn = spec.split(":")
    return getattr(importlib.import_module(mod), fn)


def check(cfg, data_dir: Path) -> None:
    """Raise BadInput if the task's data cannot be had (before any run dir is made)."""
    if cfg.task not in REGISTRY:
        raise BadInput(
            f"task = {cfg.task} is not available in this build; known tasks: {', '.join(sorted(REGISTRY))}"
        )
    checker = REGISTRY[cfg.task].check
    if checker:
        _load(checker)(cfg, Path(data_dir))


def build(cfg, device, data_dir: Path) -> TaskData:
    """Build the task's data on `device`."""
    check(cfg, data_dir)
    return _load(REGISTRY[cfg.task].builder)(cfg, device, Path(data_dir))
