"""Test helpers for the TUI: a scripted stand-in for the training process, and a fixed preset."""

from __future__ import annotations

from dltui.core.executors.trainingprocess import ExecutorDone
from dltui.core.spec.presets import parse
from dltui.core.train.events import EpochEnded, RunEnded, RunStarted, Snapshot

PRESET_TOML = """
name = "toy-poly"
title = "A small polynomial"
shows = "two learning rates on a quartic"
seeds = "seed 003 (test copy)"
views = ["loss", "function"]
description = "A fixed preset for the TUI's tests, so that its screens do not change when presets do."

[base]
task = "polynomial"
hidden = []
loss = "smooth_l1"
batch_size = 50
n_samples = 200
epochs = 20
seed = 2020
record_epochs = [5, 20]

[[variants]]
name = "lr=0.1"
lr = 0.1

[[variants]]
name = "lr=0.01"
lr = 0.01
"""


def toy_preset():
    return parse(PRESET_TOML, "toy-poly.toml")


def curve_events(plan, n_epochs: int, status: str = "finished", reason: str = "") -> list:
    """What a run of `plan` would send: started, one record per epoch, a function snapshot, ended."""
    run_id, v = f"20250101-000000-toy-{plan.variant}", plan.variant
    lr = plan.config.lr
    events = [RunStarted(run_id, plan.preset, v, plan.config.to_dict(), "cpu", {})]
    for e in range(1, n_epochs + 1):
        loss = 10.0 / (1 + lr * 10 * e)
        events.append(
            EpochEnded(
                run_id,
                v,
                {"epoch": e, "step": 4 * e, "time": 0.01 * e, "train_loss": loss, "test_loss": loss * 0.9},
            )
        )
    xs = [i / 10 for i in range(-20, 21)]
    events.append(
        Snapshot(
            run_id,
            v,
            n_epochs,
            "function",
            {
                "x": xs,
                "target": [x**2 for x in xs],
                "learned": [x**2 * lr * 5 for x in xs],
                "coefficients": [],
                "bias": 0.0,
            },
        )
    )
    events.append(
        RunEnded(run_id, v, status, reason, {"best_epoch": n_epochs} if status == "finished" else {})
    )
    return events


class FakeWorker:
    """Plays scripted events a few per drain, like core.executors.trainingprocess.TrainingProcess, without a
    process."""

    script = None  # set per test: plans -> list of events (ExecutorDone is added if missing)

    def __init__(self, plans, runs_dir, data_dir):
        self.events = list(type(self).script(plans))
        if not self.events or not isinstance(self.events[-1], ExecutorDone):
            self.events.append(ExecutorDone())
        self.done = False
        self.paused = False
        self.stopped = False

    def start(self):
        return self

    def drain(self, limit: int = 10_000, timeout: float = 0.0):
        out, self.events = self.events[:7], self.events[7:]
        self.done = not self.events
        return out

    def stop(self):
        self.stopped = True

    def toggle_pause(self):
        self.paused = not self.paused
        return self.paused

    def join(self, timeout=None):
        pass


def fake_worker(script):
    """A FakeWorker class whose runs play `script(plans)`."""
    return type("ScriptedWorker", (FakeWorker,), {"script": staticmethod(script)})
