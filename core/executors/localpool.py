"""Run a preset's variants concurrently: N spawned processes, each taking the next plan when it is free.

Where runs execute is one small interface, `Executor` (core/executors/drive.py: start, drain, stop,
toggle_pause, join): `Pool` (local processes, this module; core/executors/trainingprocess.py's
`TrainingProcess` is a Pool of one) and `RayPool` (core/executors/raypool.py, a Ray cluster) implement it on
drive.py's `EventQueue`, and every driver follows either with drive.py's `Drive`. Each child here writes its
runs to the run store itself and sends every event back over one queue. On CUDA each process is one of a few
per GPU (small models leave a GPU mostly idle: several runs hide each other's launch overhead); with several
GPUs, slot i uses GPU i mod count. On the CPU the torch threads are split between the processes.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time
from pathlib import Path

from ..train.events import RunEnded, RunStarted
from .drive import EventQueue, Executor, ExecutorDone
from .runner import RunPlan

__all__ = ["Executor", "Pool", "ExecutorDone", "default_jobs"]

RUNS_PER_GPU = 4  # default concurrent runs on one GPU for the small models of the presets
BATCH_S = 0.05  # a training process sends its events in batches at most this often (starts and ends at once)
TERMINATED_JOIN_S = 1.0  # how long a terminated training process gets to go
ORPHAN_GRACE_S = 20.0  # how long a training process whose parent died gets to end its run as interrupted


class _Batcher:
    """A listener that puts events on the queue in lists: one pickle and one pipe write per batch, not per
    epoch."""

    def __init__(self, q):
        self.q, self.buf, self.last = q, [], time.monotonic()

    def __call__(self, event) -> None:
        self.buf.append(event)
        now = time.monotonic()
        if isinstance(event, (RunStarted, RunEnded)) or now - self.last >= BATCH_S:
            self.q.put(self.buf)
            self.buf, self.last = [], now


def _log_to(path: Path) -> None:
    """Send this process's stdout and stderr (fds 1 and 2, so C libraries too) to a file: never over a UI."""
    import sys

    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    sys.stdout = open(1, "w", buffering=1, closefd=False)
    sys.stderr = open(2, "w", buffering=1, closefd=False)


def default_jobs(plans: list[RunPlan]) -> int:
    """1 on the CPU (one run already uses every core); on CUDA a few runs per GPU, at most one per core."""
    if len(plans) < 2:
        return 1
    from ..spec.device import resolve_device

    if {resolve_device(p.config.device).type for p in plans} != {"cuda"}:
        return 1
    import torch

    return max(1, min(len(plans), RUNS_PER_GPU * torch.cuda.device_count(), os.cpu_count() or 1))


def _claim(counter, n: int) -> int | None:
    """The index of the next plan nobody has taken yet, or None when all are taken."""
    with counter.get_lock():
        i = counter.value
        if i >= n:
            return None
        counter.value = i + 1
        return i


def _setup_child(slot: int, jobs: int) -> None:
    """Split the CPU threads between the processes; put this slot on its GPU."""
    import torch

    from ..spec.threads import BUDGET_ENV, share

    os.environ[BUDGET_ENV] = str(share(jobs))  # each run's threads are chosen within its share of the cores
    torch.set_num_threads(max(1, torch.get_num_threads() // jobs))
    if torch.cuda.is_available() and torch.cuda.device_count() > 1:
        torch.cuda.set_device(slot % torch.cuda.device_count())


def _stop_with_parent(stop, q) -> None:
    """If the parent dies (killed, its terminal gone), stop: the runs end as interrupted, nothing waits on
    it; a process that has not ended ORPHAN_GRACE_S later (still loading its data, say) exits there."""
    import threading
    from multiprocessing import parent_process
    from multiprocessing.connection import wait

    parent = parent_process()
    if parent is None:
        return

    def watch() -> None:
        wait([parent.sentinel])
        q.cancel_join_thread()  # nobody reads the queue any more: exit without flushing it
        stop.set()
        time.sleep(ORPHAN_GRACE_S)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _child(
    plans: list[RunPlan],
    runs_dir: str,
    data_dir: str,
    counter,
    q,
    stop,
    pause,
    slot: int,
    jobs: int,
    log: str | None = None,
    batched: str = "off",
) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent owns Ctrl-C and sets `stop`
    if log:
        _log_to(Path(log))
    _stop_with_parent(stop, q)
    from ..store.folder import RunStore
    from ..train.control import Control
    from .batched import groups as make_groups
    from .batched import run_group

    control = Control(stop=stop, pause=pause)

    def on_signal(
        signum, frame
    ) -> None:  # SIGTERM, or SIGHUP from a dropped session: end the run as interrupted
        control.reason = f"interrupted by {signal.Signals(signum).name}"
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    error = ""
    try:
        _setup_child(slot, jobs)
        store = RunStore(runs_dir)
        # every process makes the same groups from the same plans; each claims the next group by its index
        groups = make_groups(plans, batched, say=lambda line: None, jobs=jobs)
        while not stop.is_set():
            i = _claim(counter, len(groups))
            if i is None:
                break
            run_group(groups[i], store, Path(data_dir), [_Batcher(q)], control)
    except BaseException as e:  # noqa: BLE001 - reported to the parent, which stays up
        error = f"{type(e).__name__}: {e}"
    q.put(ExecutorDone(error))


class Pool(EventQueue):
    """`jobs` training processes sharing `plans`; events from all of them on one queue. With `batched` auto,
    the plans that can train together as one batched model do (core/executors/batched.py's `groups`, made in
    each process: the lab's process never imports torch), each group taken by one process."""

    def __init__(
        self,
        plans: list[RunPlan],
        runs_dir: Path | str,
        data_dir: Path | str,
        jobs: int,
        log: Path | None = None,
        batched: str = "off",
    ):
        ctx = mp.get_context("spawn")
        self.jobs = max(1, min(jobs, len(plans)))
        super().__init__(ctx.Queue(), self.jobs)
        self.stop_event = ctx.Event()
        self.pause_event = ctx.Event()
        self.counter = counter = ctx.Value("i", 0)  # kept: the children open it by name
        self.processes = [
            ctx.Process(
                target=_child,
                args=(
                    plans,
                    str(runs_dir),
                    str(data_dir),
                    counter,
                    self.queue,
                    self.stop_event,
                    self.pause_event,
                    slot,
                    self.jobs,
                    str(log) if log else None,
                    batched,
                ),
                daemon=True,
            )
            for slot in range(self.jobs)
        ]
        self.crashed: set[int] = set()

    def start(self) -> Pool:
        for p in self.processes:
            p.start()
        return self

    def find_lost(self) -> None:
        """A process that died without saying so (killed, out of memory) counts as done, with an error."""
        for i, p in enumerate(self.processes):
            if i not in self.crashed and p.exitcode not in (None, 0):
                self.crashed.add(i)
                self.slot_done(f"a training process died (exit code {p.exitcode})")

    def stop(self, reason: str = "") -> None:
        """Stop every process at its next step (each child gives its own reason: "stopped by the user")."""
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
        for p in self.processes:
            p.join(timeout)
            if p.is_alive():
                p.terminate()
                p.join(TERMINATED_JOIN_S)
