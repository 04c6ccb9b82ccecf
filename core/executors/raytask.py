"""The Ray task: one variant trained on whichever node Ray picked, its events streamed back to the driver.

The trainer runs as it does locally, in a thread, with a scratch folder on the node as its run dir. Its
events go to the driver in batches (as the local pool batches them), the files it writes there
(checkpoint.pt, best.pt, traceback.txt) as bytes soon after each write; the driver's sinks write the run
store. A watcher thread mirrors the driver's stop and pause flags (a small actor; a stop may be for this
run alone: a stop request) into the trainer's Control, and stops the run when the driver is gone. No
shared filesystem is needed.
"""

from __future__ import annotations

import io
import os
import queue
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..train.events import RunEnded, RunStarted
from . import raywire
from .localpool import BATCH_S

POLL_S = 0.2  # how often a task asks the driver's flags (stop, pause) and looks for new files
FLAGS_TIMEOUT_S = 10.0  # a driver whose flags do not answer in this long is gone


class Outbox:
    """Items in batches for the driver: one object per batch, sent at least every BATCH_S (starts and ends at
    once)."""

    def __init__(self):
        self.queue: queue.Queue = queue.Queue()
        self.lock = threading.Lock()
        self.buf: list = []
        self.last = time.monotonic()

    def put(self, item: list, flush: bool = False) -> None:
        with self.lock:
            self.buf.append(item)
            if flush or time.monotonic() - self.last >= BATCH_S:
                self._flush()

    def flush(self) -> None:
        with self.lock:
            self._flush()

    def _flush(self) -> None:
        if self.buf:
            self.queue.put(self.buf)
        self.buf, self.last = [], time.monotonic()

    def close(self) -> None:
        self.flush()
        self.queue.put(None)


class FileWatch:
    """Sends each file of the scratch run dir again whenever it has changed (they are replaced whole, by
    rename)."""

    def __init__(self, folder: Path, outbox: Outbox):
        self.folder, self.outbox = folder, outbox
        self.seen: dict[str, tuple[int, int]] = {}
        self.lock = threading.Lock()

    def check(self) -> None:
        with self.lock:
            for name in raywire.FILES:
                key = self._key(name)
                if key is None or self.seen.get(name) == key:
                    continue
                try:
                    data = (self.folder / name).read_bytes()
                except OSError:
                    continue
                self.seen[name] = key
                self.outbox.put(raywire.file_item(name, data), flush=True)

    def mark(self) -> None:
        """Take the files there now as sent already (those the driver gave back for a resume)."""
        with self.lock:
            self.seen = {name: key for name in raywire.FILES if (key := self._key(name)) is not None}

    def _key(self, name: str) -> tuple[int, int] | None:
        try:
            st = (self.folder / name).stat()
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size


def node_info() -> dict[str, str]:
    import ray

    ctx = ray.get_runtime_context()
    return {
        "host": socket.gethostname(),
        "ip": ray.util.get_node_ip_address(),
        "id": ctx.get_node_id(),
        "pid": str(os.getpid()),
    }


def run_variant(
    plan, run_id: str, data_dir: str, flags, threads: int, resume: dict[str, Any] | None
) -> Iterator[list]:
    """The Ray task (a streaming generator): yields batches of items until the run has ended."""
    import ray

    stop, pause, _ = ray.get(flags.get.remote(run_id), timeout=FLAGS_TIMEOUT_S)
    if stop:  # stopped before it began: nothing to make
        return
    import torch

    torch.set_num_threads(max(1, threads))
    os.environ["DLTUI_THREAD_BUDGET"] = str(max(1, threads))  # the run's fractional CPUs are its share
    outbox, scratch = Outbox(), Path(tempfile.mkdtemp(prefix="dltui-ray-"))
    files = FileWatch(scratch, outbox)
    checkpoint, kept = _unpack(resume, scratch)
    files.mark()
    outbox.put(raywire.placed(node_info()), flush=True)
    from ..train.trainer import Control

    control, done = Control(stop=threading.Event(), pause=threading.Event()), threading.Event()
    if pause:  # a batch paused while this task waited for its node: it starts paused
        control.pause.set()
    failure: list[BaseException] = []
    trainer = threading.Thread(
        target=_train,
        args=(plan, run_id, scratch, data_dir, outbox, files, control, checkpoint, kept, failure),
        daemon=True,
    )
    watcher = threading.Thread(target=_watch, args=(flags, run_id, control, files, done), daemon=True)
    trainer.start()
    watcher.start()
    try:
        while (batch := outbox.queue.get()) is not None:
            yield batch
    finally:
        control.stop.set()
        done.set()
        trainer.join()
        shutil.rmtree(scratch, ignore_errors=True)
    if failure:
        raise failure[0]


def _unpack(resume: dict[str, Any] | None, scratch: Path) -> tuple[dict[str, Any] | None, list | None]:
    """The checkpoint (loaded with weights_only=True) and records a resumed run goes on from; best.pt into
    scratch."""
    if not resume:
        return None, None
    if resume.get("best"):
        (scratch / "best.pt").write_bytes(resume["best"])
    checkpoint = None
    if resume.get("checkpoint"):
        checkpoint = load_bytes(resume["checkpoint"])
        (scratch / "checkpoint.pt").write_bytes(resume["checkpoint"])
    return checkpoint, list(resume.get("kept") or [])


def load_bytes(data: bytes) -> Any:
    """A checkpoint sent as bytes, loaded with weights_only=True: tensors and plain values, never code."""
    import torch

    buf = io.BytesIO(data)
    return torch.load(buf, map_location="cpu", weights_only=True)


def _train(
    plan,
    run_id: str,
    scratch: Path,
    data_dir: str,
    outbox: Outbox,
    files: FileWatch,
    control,
    checkpoint,
    kept,
    failure: list,
) -> None:
    from ..data import default_data_dir
    from . import runner

    def send(event) -> None:
        if isinstance(event, RunEnded):
            files.check()  # the run's last checkpoint reaches the driver before its end
        outbox.put(raywire.encode(event), flush=isinstance(event, (RunStarted, RunEnded)))

    ddir = Path(data_dir) if data_dir and Path(data_dir).is_dir() else default_data_dir()
    try:
        runner.train(plan, run_id, scratch, ddir, [send], control, checkpoint, kept)
        files.check()  # a traceback is written after the end
    except BaseException as e:  # noqa: BLE001 - raised again in the task, where the driver sees it
        failure.append(e)
    finally:
        outbox.close()


def _watch(flags, run_id: str, control, files: FileWatch, done: threading.Event) -> None:
    """Mirror the driver's flags (the batch's, and a stop asked for this run alone) into the trainer's
    Control; stop the run when the driver no longer answers."""
    import ray

    while not done.wait(POLL_S):
        try:
            stop, pause, reason = ray.get(flags.get.remote(run_id), timeout=FLAGS_TIMEOUT_S)
        except Exception:  # noqa: BLE001 - the driver (and its flags actor) is gone: no run goes on unattended
            stop, pause, reason = True, False, "interrupted: the driver went away"
        if stop:
            control.reason = control.reason or reason
            control.stop.set()
        (control.pause.set if pause else control.pause.clear)()
        files.check()
