"""The training side of hardware sampling and thread choice: a listener that every run's runner puts first.

It starts the run's Sampler (core/hardware/sampler.py) before the run builds anything, so the first
sample comes within a second of the start. At RunStarted, when the model is built, it chooses the run's
intra-op threads by its work (core/spec/threads.py) and sets them, tells the sampler the run's device and
the CUDA devices' identities (what torch knows: the sampler never imports torch), and says the threads in
the run's device name. At each EpochEnded it hands over torch's peak allocated memory of the epoch (CUDA
only). DLTUI_HARDWARE=0 turns sampling off (the benchmark's "off" figure); the thread choice stays.

A batched group (core/executors/batched.py) has one sink for all its copies, as a run alone has one: one
sampler thread, each of its records written to every copy's hardware.jsonl (`GroupFiles`), the threads and
the device told once, one epoch record per epoch; a copy that ends leaves the group's files (its last epoch
record written first), and the rest get the final sample at the group's end.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from ..hardware.gpus import cuda_devices
from ..hardware.record import HardwareFile
from ..hardware.sampler import INTERVAL_S, Sampler
from ..spec import threads as threads_mod
from ..train.events import EpochEnded, RunEnded, RunStarted

ENV = "DLTUI_HARDWARE"  # "0": no sampler; a number of seconds: its interval


class GroupFiles:
    """A batched group's hardware.jsonl files as one (the sampler's `file`): each record goes to every copy
    still in the group; `leave` closes a copy's file."""

    def __init__(self, run_dirs: list[Path]):
        self.files = {Path(d).name: HardwareFile(Path(d)) for d in run_dirs}  # by run id (its folder's name)
        self.lock = threading.Lock()

    def add(self, rec: Any) -> None:
        with self.lock:
            for f in self.files.values():
                try:
                    f.add(rec)
                except Exception:  # noqa: BLE001 - one copy's file (a full disk) never keeps the others'
                    pass

    def leave(self, run_id: str) -> None:
        with self.lock:
            f = self.files.pop(run_id, None)
        if f is not None:
            f.close()

    def close(self) -> None:
        with self.lock:
            files, self.files = list(self.files.values()), {}
        for f in files:
            f.close()


class GroupSampler(Sampler):
    """One sampler for a group's copies: a copy's leaving is queued behind its last epoch record."""

    def __init__(self, run_dirs: list[Path], interval: float):
        self.group = GroupFiles(run_dirs)
        super().__init__(Path(run_dirs[0]), interval, file=self.group)

    def leave(self, run_id: str) -> None:
        self.queue.append(("leave", run_id))

    def _drain(self, probe: bool = True) -> None:
        while self.queue:
            kind, args = self.queue[0]
            if kind != "leave":
                super()._drain_one(probe)
                continue
            self.queue.popleft()
            self.group.leave(args)


class HardwareSink:
    """A run's sampler and thread choice, as a listener (first of the run's listeners); given several run
    dirs, a batched group's (see the module's docstring), listening to every copy."""

    def __init__(self, cfg: Any, run_dir: Path | list[Path]):
        self.cfg = cfg
        self.device: Any = None
        self.threads_before: int | None = None  # torch's threads before this run set them: back at close
        self.sampler: Sampler | None = None
        dirs = run_dir if isinstance(run_dir, list) else [run_dir]
        self.group, self.copies = len(dirs) > 1, len(dirs)
        self.chosen: tuple[int, str, str] | None = None  # a group's threads, why, device name: told once
        self.last_epoch: int | None = None  # a group's last epoch record (one per epoch, not one per copy)
        raw = os.environ.get(ENV, "")
        if raw != "0":
            try:
                interval = float(raw) if raw else INTERVAL_S
            except ValueError:
                interval = INTERVAL_S
            try:
                every = max(0.05, interval)
                self.sampler = (GroupSampler(dirs, every) if self.group else Sampler(dirs[0], every)).start()
            except Exception:  # noqa: BLE001 - no sampler (a run folder it cannot write): training goes on
                self.sampler = None

    def __call__(self, event: Any) -> None:
        try:
            if isinstance(event, RunStarted):
                if self.chosen is None:
                    self._started(event)
                else:  # a group's next copy: the same model, device and threads
                    info = event.info
                    info["threads"], info["threads_why"], info["device_name"] = self.chosen
            elif isinstance(event, EpochEnded) and self.sampler is not None:
                epoch = int(event.record.get("epoch", 0))
                if not self.group or epoch != self.last_epoch:
                    self.last_epoch = epoch
                    self.sampler.epoch(epoch, self._peak())
            elif isinstance(event, RunEnded) and self.group and self.sampler is not None:
                self.sampler.leave(event.run_id)
        except Exception:  # noqa: BLE001 - what the machine beside a run reads never fails the run
            pass

    def _started(self, event: RunStarted) -> None:
        import torch

        from ..spec.device import describe

        info = event.info
        batch = int(info.get("batch_size") or 1)
        # a group's step is all its copies' work (10 MNIST copies take 2 threads, one copy takes 1)
        flops = self.copies * threads_mod.flops_per_step(
            int(info.get("n_params") or 0), batch, self.cfg.model
        )
        limit = threads_mod.budget()
        n, why = threads_mod.choose(flops, limit, threads_mod.asked())
        if self.threads_before is None:
            self.threads_before = torch.get_num_threads()
        torch.set_num_threads(n)
        self.device = torch.device(event.device)
        info["threads"], info["threads_why"] = n, why
        info["device_name"] = describe(self.device)
        if self.group:
            self.chosen = (n, why, info["device_name"])
        if self.sampler is None:
            return
        cuda, note = [], ""
        if self.device.type == "cuda":
            if getattr(torch.version, "hip", None):
                note = "an AMD GPU: NVML does not see it (CPU figures only)"
            else:
                index = self.device.index if self.device.index is not None else torch.cuda.current_device()
                cuda = cuda_devices(torch, [index])
                torch.cuda.reset_peak_memory_stats(index)
        elif self.device.type == "mps":
            note = "Apple MPS: no GPU figures from NVML (CPU figures only)"
        self.sampler.use(str(self.device), cuda, note, threads=n, why=why, cores=limit)

    def _peak(self) -> int | None:
        """torch's peak allocated bytes on the run's CUDA device since the last epoch (then reset)."""
        if self.device is None or self.device.type != "cuda":
            return None
        import torch

        peak = int(torch.cuda.max_memory_allocated(self.device))
        torch.cuda.reset_peak_memory_stats(self.device)
        return peak

    def close(self) -> None:
        if (
            self.threads_before is not None
        ):  # the process goes on (the bench, a test, the next group) as it was
            import torch

            torch.set_num_threads(self.threads_before)
        if self.sampler is not None:
            try:
                self.sampler.stop()
            except Exception:  # noqa: BLE001 - its last records unwritten (a full disk): the run has ended
                pass
