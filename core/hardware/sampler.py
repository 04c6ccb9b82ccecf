"""The sampler: a daemon thread in the process that trains, writing a hardware sample about once a second
(the first within FIRST_S of the start) to the run's hardware.jsonl.

psutil gives the process's CPU % and RSS and the host's CPU % and memory; NVML (core/hardware/gpus.py)
each GPU the run uses, once the training side has said which (`use`). Nothing the sampler does can stall
or fail training: it runs on its own thread, every error is caught there (a GPU source that fails is
dropped, with its reason as the note), what the trainer hands it is queued without waiting, and `stop`
waits at most STOP_S for a thread stuck in a call (a hung NVML call, say), then leaves it behind.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

from .gpus import CudaDevice, NoGpu, Nvml
from .record import Epoch, Gpu, HardwareFile, Info, Sample

INTERVAL_S = 1.0
FIRST_S = 0.5  # the first sample comes this soon after the start (never later than INTERVAL_S)
STOP_S = 0.5  # the longest `stop` waits for the sampler's thread


class Sampler:
    """Samples the process, the host and the run's GPUs into `run_dir`'s hardware.jsonl until `stop`."""

    def __init__(self, run_dir: Path, interval: float = INTERVAL_S, gpu_source: Any = None, file: Any = None):
        self.file = file if file is not None else HardwareFile(run_dir)  # or any `add`/`close` (a group's)
        self.interval = interval
        self.gpus = gpu_source if gpu_source is not None else Nvml()
        self.host, self.pid = socket.gethostname(), os.getpid()
        self.stopping = threading.Event()
        self.queue: deque = deque()  # what the training side hands in: ("use", ...), ("epoch", ...), ...
        self.note = ""  # why there are no GPU figures, once known
        self.open = False
        self.info: dict[str, Any] | None = None
        self.rss_peak: int | None = None
        self.rss: int | None = None  # the last sample's
        self.samples = 0
        self.busy_s = 0.0  # CPU time the sampler's thread has used (its cost)
        self.thread = threading.Thread(target=self._loop, name="dltui-hardware", daemon=True)

    def start(self) -> Sampler:
        """Take the first sample now, on the caller's thread (psutil only: /proc reads that cannot hang; the
        process's CPU % over its life so far), then sample on the thread. Torch's import holds the GIL for a
        second or more while loading its libraries, so a first sample left to the thread could come late."""
        self.started = time.monotonic()
        try:
            import psutil

            proc = psutil.Process()
            s = self._sample(psutil, proc)
            t = proc.cpu_times()
            s.cpu = round(100 * (t.user + t.system) / max(1e-3, time.time() - proc.create_time()), 1)
            s.hcpu = None  # the host's has no count started yet
            self.file.add(s)
            self.samples += 1
        except Exception:  # noqa: BLE001 - no first sample (psutil missing): the thread's come later
            pass
        self.thread.start()
        return self

    # -- what the training side hands in (never waits) --------------------------------------------------
    def use(self, device: str, cuda: list[CudaDevice], note: str = "", **info: Any) -> None:
        """The run's device (`cuda:0`, `cpu`, `mps`), its CUDA devices (none off CUDA), a note of the
        training side's own (an AMD or Apple GPU), and what else the Info record says (threads, why)."""
        self.queue.append(("use", (device, cuda, note, info)))

    def epoch(self, epoch: int, peak: int | None) -> None:
        """An epoch has ended; `peak`: torch's peak allocated bytes on the device in it (None off CUDA)."""
        self.queue.append(("epoch", (epoch, peak, time.time())))

    def stop(self) -> None:
        """Stop sampling; wait at most STOP_S for the thread, then write what is queued if it can."""
        self.stopping.set()
        self.thread.join(STOP_S)
        if not self.thread.is_alive():
            self._drain(probe=False)  # on the caller's thread: never a call that could hang (NVML)
            self.file.close()

    # -- the thread ---------------------------------------------------------------------------------------
    def _loop(self) -> None:
        t0 = time.thread_time()
        try:
            import psutil

            proc = psutil.Process()
            proc.cpu_percent(None)  # the first call starts the count
            psutil.cpu_percent(None)
        except Exception:  # noqa: BLE001 - psutil missing or refused: GPU figures may still come
            psutil = proc = None
        wait = min(FIRST_S, self.interval)
        self.busy_s += time.thread_time() - t0
        while True:
            stopping = self.stopping.wait(wait)
            t0, began = time.thread_time(), time.monotonic()
            try:
                self._drain()
                self.file.add(self._sample(psutil, proc))  # at a stop too: a short run's last state
                self.samples += 1
            except Exception:  # noqa: BLE001 - a sample that fails is skipped; training never sees it
                pass
            self.busy_s += time.thread_time() - t0
            if stopping:
                return
            wait = max(0.0, self.interval - (time.monotonic() - began))

    def _drain(self, probe: bool = True) -> None:
        while self.queue:
            self._drain_one(probe)

    def _drain_one(self, probe: bool) -> None:
        kind, args = self.queue.popleft()
        if kind == "use":
            self._use(*args, probe=probe)
        elif kind == "epoch":
            epoch, peak, t = args
            self.file.add(Epoch(t, epoch, self.host, self.pid, peak, self.rss_peak))
            self.rss_peak = self.rss  # the next epoch's peak starts from where the memory is now

    def _use(self, device: str, cuda: list[CudaDevice], note: str, info: dict[str, Any], probe: bool) -> None:
        if not probe:
            self.note = note or "the run ended before its GPU was sampled"
        elif cuda:
            self._open_gpus(cuda)
        elif note:
            self.note = note
        else:
            self.note = self._why_no_gpu(device)
        self.info = {"device": device, **info}
        self.file.add(Info(time.time(), self.host, self.pid, note=self.note, **self.info))

    def _why_no_gpu(self, device: str) -> str:
        try:
            self.gpus.start()
        except NoGpu as e:
            return str(e)
        except Exception as e:  # noqa: BLE001 - whatever NVML does, the run goes on without GPU figures
            return f"no GPU figures ({type(e).__name__}); CPU figures only"
        return f"the run trains on the {device.split(':')[0].upper()} (CPU figures only)"

    def _open_gpus(self, cuda: list[CudaDevice]) -> None:
        try:
            self.gpus.start()
            missing = self.gpus.open(cuda)
            self.open = True
            self.note = missing
        except NoGpu as e:
            self.note = str(e)
        except Exception as e:  # noqa: BLE001
            self.note = f"no GPU figures ({type(e).__name__}: {e})"[:120]

    def _sample(self, psutil: Any, proc: Any) -> Sample:
        s = Sample(time.time(), self.host, self.pid)
        if proc is not None:
            s.cpu = round(proc.cpu_percent(None), 1)
            s.rss = int(proc.memory_info().rss)
            s.hcpu = round(psutil.cpu_percent(None), 1)
            vm = psutil.virtual_memory()
            s.hmem, s.htotal = int(vm.total - vm.available), int(vm.total)
            self.rss, self.rss_peak = s.rss, max(self.rss_peak or 0, s.rss)
        if self.open:
            try:
                s.gpus = [Gpu(**g) for g in self.gpus.read()]
            except Exception as e:  # noqa: BLE001 - a GPU source that fails is dropped, with why
                self.open, self.note = False, f"GPU figures stopped ({type(e).__name__}); CPU figures only"
                self.file.add(Info(time.time(), self.host, self.pid, note=self.note, **(self.info or {})))
        return s
