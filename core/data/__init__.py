"""Tasks: each builds its data as tensors on the device from a config.

The registry maps a task name to "module:function" so that naming a task costs no import; the
builder is imported (with torch) only when a run starts.
"""
from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..errors import BadInput

# task -> (builder "module:function", check "module:function" or None); the config's `task` choices, in this order
REGISTRY: dict[str, tuple[str, str | None]] = {
    "polynomial": ("dltui.core.data.polynomial:build", None),
    "mnist": ("dltui.core.data.mnist:build", "dltui.core.data.mnist:check"),
    "digits": ("dltui.core.data.digits:build", None),
    "cifar10": ("dltui.core.data.cifar:build", "dltui.core.data.cifar:check"),
    "toy2d": ("dltui.core.data.toy2d:build", None),
    "gradcheck": ("dltui.core.gradcheck:build", None),
}


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
    shuffler: Any = None  # the task's own epoch order (.gen, .order(n)), e.g. a seed's DataLoader replayed; None: randperm

    @property
    def n_train(self) -> int:
        return int(self.train_x.shape[0])


def _load(spec: str) -> Callable:
    mod, fn = spec.split(":")
    return getattr(importlib.import_module(mod), fn)


def check(cfg, data_dir: Path) -> None:
    """Raise BadInput if the task's data cannot be had (before any run dir is made)."""
    if cfg.task not in REGISTRY:
        raise BadInput(f"task = {cfg.task} is not available in this build; known tasks: {', '.join(sorted(REGISTRY))}")
    checker = REGISTRY[cfg.task][1]
    if checker:
        _load(checker)(cfg, Path(data_dir))


def build(cfg, device, data_dir: Path) -> TaskData:
    """Build the task's data on `device`."""
    check(cfg, data_dir)
    return _load(REGISTRY[cfg.task][0])(cfg, device, Path(data_dir))
