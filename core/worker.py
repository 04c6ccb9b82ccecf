"""Train in a separate process (spawn) and send the events back over a queue.

A busy UI can never slow training, and a crash in training can never take the UI down. The child
writes its runs to the run store itself, so nothing depends on the parent staying alive.
"""
from __future__ import annotations

import multiprocessing as mp
import queue as queue_mod
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .runner import RunPlan


@dataclass
class WorkerDone:
    """The worker has run all its plans (or was stopped); `error` is set if it broke."""

    error: str = ""


def _child(plans: list[RunPlan], runs_dir: str, data_dir: str, q, stop, pause) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent owns Ctrl-C and sets `stop`
    from .engine import Control
    from .runner import run_one
    from .store import RunStore

    store = RunStore(runs_dir)
    control = Control(stop=stop, pause=pause)

    def on_signal(signum, frame) -> None:  # SIGTERM, or SIGHUP from a dropped session: end the run as interrupted
        control.reason = f"interrupted by {signal.Signals(signum).name}"
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    error = ""
    try:
        for p in plans:
            if stop.is_set():
                break
            run_one(p, store, Path(data_dir), [q.put], control)
    except BaseException as e:  # noqa: BLE001 - reported to the parent, which stays up
        error = f"{type(e).__name__}: {e}"
    q.put(WorkerDone(error))


class Worker:
    """One training process running `plans` in order."""

    def __init__(self, plans: list[RunPlan], runs_dir: Path | str, data_dir: Path | str):
        ctx = mp.get_context("spawn")
        self.queue = ctx.Queue()
        self.stop_event = ctx.Event()
        self.pause_event = ctx.Event()
        self.process = ctx.Process(
            target=_child, args=(plans, str(runs_dir), str(data_dir), self.queue, self.stop_event, self.pause_event), daemon=True
        )
        self.done = False

    def start(self) -> "Worker":
        self.process.start()
        return self

    def drain(self, limit: int = 10_000) -> list[Any]:
        """Events that have arrived, without waiting."""
        out = []
        for _ in range(limit):
            try:
                ev = self.queue.get_nowait()
            except queue_mod.Empty:
                break
            if isinstance(ev, WorkerDone):
                self.done = True
            out.append(ev)
        if not out and not self.done and not self.process.is_alive():
            self.done = True
            out.append(WorkerDone(f"the training process died (exit code {self.process.exitcode})"))
        return out

    def stop(self) -> None:
        self.pause_event.clear()
        self.stop_event.set()

    @property
    def paused(self) -> bool:
        return self.pause_event.is_set()

    def toggle_pause(self) -> bool:
        if self.pause_event.is_set():
            self.pause_event.clear()
        else:
            self.pause_event.set()
        return self.pause_event.is_set()

    def join(self, timeout: float | None = None) -> None:
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(1)
