"""Runs on a Ray cluster: each variant is one Ray task; its events come back here, where the run store is
written.

`RayPool` is an Executor (core/executors/drive.py), as the local Pool is: its events come out of drive.py's
`EventQueue`, and every driver follows it with drive.py's `Drive`. A pump thread submits the tasks, waits on
their streams, checks every item on arrival (core/executors/raywire.py), writes each run's files through the
same StoreSink a local run uses, and hands the events on. A run is made on disk when its task reports where it
runs; a task whose node or worker dies is sent again from the last checkpoint held here (its curves join as
--resume's do), at most `retries` times. Ray is imported only here and in core/executors/raytask.py, and only
when `--engine ray` is asked for.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..export.tensorboard import sinks as tensorboard_sinks
from ..rules.errors import BadInput
from ..rules.status import RunStatus
from ..store import stoprequest
from ..store.atomic import write_atomic
from ..store.folder import RunInfo, RunStore, RunWriter, truncate_jsonl
from ..train.events import RunEnded
from .drive import EventQueue, ExecutorDone
from .raywire import BadMessage, decode
from .runner import RunPlan, StoreSink

RETRIES = 2  # times a run lost with its node or worker is sent again from its last checkpoint
POLL_S = 0.2
STOP_GRACE_S = 15.0  # after a stop, how long running tasks have to end their runs before they are cancelled
BEST_KEYS = frozenset({"model", "epoch"})


@dataclass
class Resources:
    """What one run asks Ray for: None means the default for its model (GPU) or 1 (CPU)."""

    gpus_per_run: float | None = None
    cpus_per_run: float | None = None
    retries: int = RETRIES


@dataclass
class Job:
    """One variant on its way through the cluster."""

    plan: RunPlan
    run_id: str
    options: dict[str, Any]
    reopen: RunInfo | None = None  # a stored run resumed (`dltui run --resume RUN --engine ray`)
    resume: dict[str, Any] | None = None  # checkpoint bytes, best.pt bytes, kept records for the next start
    writer: RunWriter | None = None
    sink: Any = None  # the driver's listeners for this run: the run store, and TensorBoard files if asked for
    gen: Any = None  # the task's stream of batches while it runs
    node: str = ""
    attempts: int = 0
    ended: bool = False
    stopping: bool = False  # a stop request for this run alone was passed on to its task


class Flags:
    """The driver's stop and pause flags, as a small Ray actor every task of the batch polls; and the runs
    asked to stop alone (a stop-request file in their folder on the driver's host)."""

    def __init__(self):
        self.state = (False, False, "")
        self.stopped: dict[str, str] = {}  # run id -> the reason it stops with

    def set(self, stop: bool, pause: bool, reason: str) -> None:
        self.state = (stop, pause, reason)

    def stop_run(self, run_id: str, reason: str) -> None:
        self.stopped[run_id] = reason

    def get(self, run_id: str = "") -> tuple[bool, bool, str]:
        """(stop, pause, reason) for the task of `run_id`."""
        if not self.state[0] and run_id in self.stopped:
            return True, False, self.stopped[run_id]
        return self.state


class RayPool(EventQueue):
    """The plans as Ray tasks on `session`'s cluster; their runs written under `runs_dir` here."""

    def __init__(
        self,
        plans: list[RunPlan],
        runs_dir: Path | str,
        data_dir: Path | str,
        session,
        res: Resources | None = None,
        resume: RunInfo | None = None,
    ):
        self.session, self.res = session, res or Resources()
        self.store, self.data_dir = RunStore(runs_dir), str(data_dir)
        self.jobs = [
            Job(
                p,
                resume.run_id if resume else self.store.new_id(p.preset, p.variant),
                session.options(p, self.res),
                reopen=resume,
                resume=resume_payload(resume.path) if resume else None,
            )
            for p in plans
        ]
        super().__init__(queue.Queue(), slots=1)  # one slot: the pump thread
        self.flags: Any = None
        self._paused = False
        self._stop_reason: str | None = None
        self._stopped_at = 0.0
        self._abort = threading.Event()
        self._thread = threading.Thread(target=self._pump, name="dltui-ray-pump", daemon=True)

    # -- the Executor interface (any thread) ----------------------------------------------------
    def start(self) -> RayPool:
        self.flags = self.session.flags()
        self._thread.start()
        return self

    def stop(self, reason: str = "") -> None:
        if self._stop_reason is not None or self.flags is None:
            return
        self._stop_reason = reason or "stopped by the user"
        self._stopped_at = time.monotonic()
        self._paused = False
        self.flags.set.remote(True, False, self._stop_reason)

    @property
    def paused(self) -> bool:
        return self._paused

    def toggle_pause(self) -> bool:
        if self._stop_reason is None and self.flags is not None:
            self._paused = not self._paused
            self.flags.set.remote(False, self._paused, "")
        return self._paused

    def join(self, timeout: float | None = None) -> None:
        """Wait for the pump; past `timeout`, cancel what still runs and end those runs as interrupted."""
        if not self._thread.is_alive():
            return
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._abort.set()
            self._thread.join(30)

    # -- the pump thread ------------------------------------------------------------------------
    def _pump(self) -> None:
        error = ""
        try:
            for job in self.jobs:
                self._submit(job)
            while any(j.gen is not None for j in self.jobs) and not self._abort.is_set():
                self._follow_stop()
                self._pass_stop_requests()
                for job in self._ready():
                    self._pull(job)
        except Exception as e:  # noqa: BLE001 - reported as the executor's error; the runs end below
            error = f"{type(e).__name__}: {e}"
        finally:
            self._abandon("failed" if error else "interrupted", error)
            self.session.drop(self.flags)
            self.queue.put(ExecutorDone(error))

    def _submit(self, job: Job) -> None:
        threads = int(job.options.get("num_cpus") or 1)
        job.gen = self.session.task.options(num_returns="streaming", max_retries=0, **job.options).remote(
            job.plan, job.run_id, self.data_dir, self.flags, threads, job.resume
        )

    def _ready(self) -> list[Job]:
        ray = self.session.ray
        live = {id(j.gen): j for j in self.jobs if j.gen is not None}
        gens = [j.gen for j in live.values()]
        ready, _ = ray.wait(gens, num_returns=1, timeout=POLL_S)
        if ready:
            ready, _ = ray.wait(gens, num_returns=len(gens), timeout=0)
        return [live[id(g)] for g in ready]

    def _pull(self, job: Job) -> None:
        """Take the next batch of `job`'s stream, or learn that its task is over (done, failed or lost)."""
        ray = self.session.ray
        try:
            batch = ray.get(next(job.gen))
        except StopIteration:
            job.gen = None
            self._end(job, "failed", f"its Ray task on {job.node} ended without ending the run")
            return
        except ray.exceptions.TaskCancelledError:
            job.gen = None
            self._end(job, "interrupted", self._stop_reason or "its Ray task was cancelled")
            return
        except ray.exceptions.RayTaskError as e:  # the task raised: a bug or a broken install on that node
            job.gen = None
            self._end(job, "failed", f"on {job.node or 'its node'}: {str(e).strip().splitlines()[-1][:300]}")
            return
        except ray.exceptions.RayError as e:  # its worker or node died, or the object went with it
            job.gen = None
            self._lost(job, e)
            return
        try:
            self._apply(job, batch)
        except BadMessage as e:
            ray.cancel(job.gen, force=True)
            job.gen = None
            self._end(
                job, "failed", f"{job.node or 'its node'} sent something that is not a dltui event ({e})"
            )

    def _apply(self, job: Job, batch: Any) -> None:
        if not isinstance(batch, list):
            raise BadMessage("a batch that is not a list")
        out = []
        for item in batch:
            kind, payload = decode(item, job.run_id)
            if kind == "placed":
                self._placed(job, payload)
            elif kind == "file":
                save_file(job, *payload)
            else:
                if job.sink is None:
                    raise BadMessage(f"{kind} before the run was placed")
                if isinstance(payload, RunEnded):
                    payload.summary["node"] = job.node
                    job.ended = True
                job.sink(payload)
                out.append(payload)
        if out:
            self.queue.put(out)

    def _placed(self, job: Job, node: dict[str, str]) -> None:
        """The task runs on `node`: make the run on disk (or take it up again), and say where it runs."""
        job.node = f"{node.get('host', '?')} ({node.get('ip', '?')})"
        extra = {"node": job.node, "node_pid": node.get("pid", "")}
        if job.writer is None:
            self._open(job)
        if job.attempts:
            extra["retries"] = job.attempts
        job.writer.set_status("running", **extra)

    def _open(self, job: Job) -> None:
        """Make the run's folder (or take a stored run up again from its checkpoint's epoch)."""
        if job.reopen is not None:
            epoch = int(job.resume["epoch"]) if job.resume else 0
            job.writer, _ = self.store.reopen(job.reopen, epoch)
        else:
            job.writer = self.store.create(
                job.plan.preset, job.plan.variant, job.plan.config.to_dict(), run_id=job.run_id
            )
        job.sink = _fan_out([StoreSink(job.writer), *tensorboard_sinks(job.writer)])

    def _lost(self, job: Job, error: Exception) -> None:
        """The task's worker or node died: send it again from the last checkpoint held, or fail it."""
        if job.ended:  # it died after its run had ended: nothing is lost
            return
        where = job.node or "a node that had not started it yet"
        if self._stop_reason is not None or self._abort.is_set() or job.stopping:
            self._end(
                job,
                "interrupted",
                self._stop_reason or (stoprequest.REASON if job.stopping else "interrupted"),
            )
            return
        if job.attempts >= self.res.retries:
            self._end(
                job, "failed", f"node lost ({where}): {type(error).__name__}, after {job.attempts} retries"
            )
            return
        job.attempts += 1
        if job.writer is not None:
            job.resume = rewind(job)
        self._submit(job)

    def _follow_stop(self) -> None:
        """After a stop: tasks not started yet are cancelled; past the grace time, the rest too."""
        if self._stop_reason is None:
            return
        ray = self.session.ray
        for job in self.jobs:
            if job.gen is not None and job.writer is None:
                ray.cancel(job.gen)
                job.gen = None
        if time.monotonic() - self._stopped_at > STOP_GRACE_S:
            self._abort.set()

    def _pass_stop_requests(self) -> None:
        """A run's `stop-request` file (core/store/stoprequest.py) is here, where the driver writes the run:
        tell its task, which ends that run alone `interrupted` as Ctrl-C would (its task polls the flags every
        0.2 s)."""
        for job in self.jobs:
            if (
                job.gen is not None
                and job.writer is not None
                and not (job.ended or job.stopping)
                and stoprequest.asked(job.writer.path)
            ):
                job.stopping = True
                self.flags.stop_run.remote(job.run_id, stoprequest.REASON)

    def _abandon(self, status: str, reason: str) -> None:
        """Cancel the tasks still running and end their runs (their last checkpoint is kept for --resume)."""
        ray = self.session.ray
        why = (
            reason
            or f"{self._stop_reason or 'interrupted'}; "
            "its node did not answer in time, its last checkpoint is kept"
        )
        for job in self.jobs:
            if job.gen is not None:
                ray.cancel(job.gen, force=True)
                job.gen = None
            self._end(job, status, why)

    def _end(self, job: Job, status: str, reason: str) -> None:
        """End a run the driver had to end itself (its task is gone): status and a RunEnded for the faces.
        One that ended on its node keeps that end; one never placed is made to fail, and skipped otherwise."""
        if job.ended or (job.writer is None and status != RunStatus.FAILED):
            return
        job.ended = True
        if job.writer is None:
            self._open(job)
        job.writer.set_status(status, reason, node=job.node)
        job.writer.close()
        self.queue.put([RunEnded(job.run_id, job.plan.variant, status, reason, {"node": job.node})])


def rewind(job: Job) -> dict[str, Any] | None:
    """Cut the run's files back to its last checkpoint held here; what the next task starts from."""
    payload = resume_payload(job.writer.path)
    epoch = int(payload["epoch"]) if payload else 0
    job.writer.close()  # the metrics files are replaced by the cut ones: reopen them on the next write
    truncate_jsonl(job.writer.path / "metrics.jsonl", epoch)
    truncate_jsonl(job.writer.path / "snapshots.jsonl", epoch)
    job.writer.status["epoch"] = epoch
    return payload


def save_file(job: Job, name: str, data: bytes) -> None:
    """A file the task sent (checkpoint.pt, best.pt, traceback.txt) into the run's folder; a checkpoint only
    if it loads safely."""
    if job.writer is None:
        raise BadMessage(f"{name} before the run was placed")
    if name.endswith(".pt"):
        check_checkpoint(data, name)
    write_atomic(job.writer.path / name, data)


def _fan_out(listeners: list) -> Any:
    def tell(event) -> None:
        for listener in listeners:
            listener(event)

    return tell


def resume_payload(run_dir: Path) -> dict[str, Any] | None:
    """What a task needs to go on with a run from its checkpoint here: its bytes, best.pt, the records
    kept."""
    from ..store.files import Damaged, read_bytes
    from ..store.folder import read_jsonl
    from ..train.checkpoint import load_checkpoint

    path = run_dir / "checkpoint.pt"
    if not path.exists():
        return None
    epoch = int(load_checkpoint(path)["epoch"])
    best = run_dir / "best.pt"
    try:  # through the one safe opener: a regular file, never through a link (load_checkpoint's read too)
        checkpoint, best_bytes = read_bytes(path), read_bytes(best)
    except Damaged as e:
        raise BadInput(f"{e}; this run cannot be resumed, start it again with `dltui run`") from None
    kept = [
        r
        for r in read_jsonl(run_dir / "metrics.jsonl")
        if isinstance(r.get("epoch"), int) and r["epoch"] <= epoch
    ]
    return {
        "epoch": epoch,
        "checkpoint": checkpoint,
        "best": best_bytes,
        "kept": kept,
    }


def check_checkpoint(data: bytes, name: str) -> None:
    """Raise BadMessage unless `data` loads with weights_only=True (no code runs) as a dltui checkpoint."""
    from ..train.checkpoint import CHECKPOINT_KEYS
    from .raytask import load_bytes

    try:
        s = load_bytes(data)
    except Exception as e:  # noqa: BLE001 - whatever is wrong with it, refuse it
        raise BadMessage(f"{name} does not load safely ({type(e).__name__})") from None
    need = CHECKPOINT_KEYS if name == "checkpoint.pt" else BEST_KEYS
    if not isinstance(s, dict) or not need <= s.keys():
        raise BadMessage(f"{name} is not a dltui checkpoint")


def check_resources(res: Resources) -> None:
    for flag, value in (("--gpus-per-run", res.gpus_per_run), ("--cpus-per-run", res.cpus_per_run)):
        if value is not None and not value > 0:
            raise BadInput(
                f"{flag} {value}: a run needs a share above 0 (e.g. 0.25 of a GPU, 1 CPU); "
                "drop the flag for the default"
            )
