"""The checks that need torch (the device, the data, a batch against the training set), answered by a
helper process, so that the lab's own process never imports torch and stays small.

One spawned process per lab, started on the first question and kept for the next ones (it has torch
loaded by then); its output goes nowhere (never over a UI), and it ends when the lab's process ends, however
that ends (a kill -9 too): it watches the pipe its parent holds open, which closes only with the parent.
A BadInput it raises comes back as the same BadInput. No textual here.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

_LOCK = threading.Lock()
_POOL: list[ProcessPoolExecutor] = []  # the helper, once started


def _quiet() -> None:
    """In the helper: Ctrl-C is the lab's, nothing is printed over its screen, and it ends with the lab."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    fd = os.open(os.devnull, os.O_WRONLY)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    end_with_parent()


def end_with_parent() -> None:
    """In a spawned process: exit at once when the parent process has gone (its end of the spawn pipe is
    closed by the kernel, whatever killed it), so that no orphan stays (nor multiprocessing's resource
    tracker, which lasts while any process holds its pipe)."""
    from multiprocessing.connection import wait

    parent = mp.parent_process()
    if parent is None:
        return

    def watch() -> None:
        wait([parent.sentinel])
        os._exit(0)

    threading.Thread(target=watch, daemon=True, name="end-with-parent").start()


def _ask(fn: Callable, *args: Any) -> Any:
    """`fn(*args)` in the helper process; its exception re-raised here."""
    with _LOCK:
        if not _POOL:
            _POOL.append(ProcessPoolExecutor(1, mp_context=mp.get_context("spawn"), initializer=_quiet))
        pool = _POOL[0]
    try:
        return pool.submit(fn, *args).result()
    except BrokenProcessPool:
        with _LOCK:
            if _POOL and _POOL[0] is pool:
                _POOL.clear()  # the next question starts a new helper
        raise RuntimeError("the helper process that checks devices and data died; try again") from None


def _describe(name: str) -> str:
    from ..spec.device import describe, resolve_device

    return describe(resolve_device(name))


def _preflight(plans: list, runs_dir: str, data_dir: str) -> None:
    from ..store.folder import RunStore
    from .runner import preflight

    preflight(plans, RunStore(runs_dir), Path(data_dir))


def device_name(name: str = "auto") -> str:
    """What `device = name` resolves to here, described (`cpu, 2 threads`, `cuda:0 NVIDIA H100 ...`)."""
    return _ask(_describe, name)


def preflight(plans: list, runs_dir: Path, data_dir: Path) -> None:
    """core.executors.runner.preflight in the helper: BadInput for anything that would stop a run before its
    first step."""
    _ask(_preflight, plans, str(runs_dir), str(data_dir))


def close() -> None:
    """Stop the helper (the next question starts a new one)."""
    with _LOCK:
        pools = list(_POOL)
        _POOL.clear()
    for pool in pools:
        pool.shutdown(wait=False, cancel_futures=True)
