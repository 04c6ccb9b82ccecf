"""Plain dataclass events the trainer emits to its listeners (console, run store, TUI).

They hold only JSON-friendly values (numbers, strings, lists, dicts), so they pickle cheaply
across the process boundary between a training process and the lab.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class RunStarted:
    """A run has built its data and model and is about to take its first step."""

    run_id: str
    preset: str
    variant: str
    config: dict[str, Any]
    device: str
    info: dict[str, Any] = field(default_factory=dict)  # n_params, n_train, steps_per_epoch, ...


@dataclass
class EpochEnded:
    """One epoch is done; `record` is the line written to metrics.jsonl."""

    run_id: str
    variant: str
    record: dict[str, Any]


@dataclass
class Progress:
    """Within a long epoch, at most a few times a second: how far the epoch has got."""

    run_id: str
    variant: str
    epoch: int
    step: int
    fraction: float
    train_loss: float | None
    time: float


@dataclass
class Snapshot:
    """A picture of the model at an epoch: a learned function, decision regions, ..."""

    run_id: str
    variant: str
    epoch: int
    kind: str
    data: dict[str, Any]


@dataclass
class RunEnded:
    """The run is over: status is finished, diverged, failed or interrupted."""

    run_id: str
    variant: str
    status: str
    reason: str
    summary: dict[str, Any]


Event = RunStarted | EpochEnded | Progress | Snapshot | RunEnded
Listener = Callable[[Event], None]
