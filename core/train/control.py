"""What a run obeys while it trains: the stop and pause flags, a watcher's stop request, and the clock.

The trainer polls `Control` before every step (core/train/trainer.py); `Clock` counts seconds of training,
pauses left out. No torch here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..store import stoprequest

PAUSE_POLL_S = 0.05  # while paused, how often the stop and pause flags are looked at


class Stopped(Exception):
    """Raised inside the loop when the run is asked to stop; its message is the reason when the flags do not
    say."""


class Clock:
    """Seconds of training since `start()` (or since a resumed run's checkpoint), pauses left out."""

    def __init__(self):
        self.t0 = time.perf_counter()
        self.paused_s = 0.0

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0 - self.paused_s

    def start(self) -> float:
        """Start at zero now; returns now (perf_counter)."""
        self.t0, self.paused_s = time.perf_counter(), 0.0
        return self.t0

    def go_on_from(self, seconds: float) -> None:
        """Set the clock to a saved time (a resumed run's clock goes on from its checkpoint's)."""
        self.t0, self.paused_s = time.perf_counter() - seconds, 0.0

    def start_training(self, began: float, warm_up_s: float, resumed: bool) -> float:
        """After set-up and the warm-up (core/train/fastpath.py): start the clock, or for a resumed run leave
        the warm-up out; returns the set-up seconds since `began`. Data loading and the first step's one-off
        costs are set-up, not training, or the first run of a batch would carry them on the wall-clock axis
        alone."""
        now = time.perf_counter()
        if resumed:
            self.leave_out(warm_up_s)
        else:
            self.t0, self.paused_s = now, 0.0
        return now - began

    def leave_out(self, seconds: float) -> None:
        """Seconds that were not training (a pause, a resumed run's warm-up)."""
        self.paused_s += seconds


@dataclass
class Control:
    """Flags the trainer polls: `stop` ends the run as interrupted, `pause` holds it while set.

    Anything with `is_set()` works: threading.Event, multiprocessing.Event.
    """

    stop: Any = None
    pause: Any = None
    reason: str = ""  # why `stop` was set (e.g. "SIGTERM"); the interrupted run's reason

    def poll(self, run_dir: Path | None, clock: Clock) -> None:
        """Hold while paused (the clock leaves it out); raise Stopped when asked to stop, by a flag or by a
        watcher's `<run>/stop-request` (core/store/stoprequest.py: this run's reason only, `self` may be
        shared)."""
        if self.pause is not None and self.pause.is_set():
            t = time.perf_counter()
            while self.pause.is_set() and not (self.stop is not None and self.stop.is_set()):
                time.sleep(PAUSE_POLL_S)
            clock.leave_out(time.perf_counter() - t)
        if self.stop is not None and self.stop.is_set():
            raise Stopped()
        if stoprequest.asked(run_dir):
            raise Stopped(stoprequest.REASON)


class KeyboardInterruptAfterEnd(KeyboardInterrupt):
    """A Ctrl-C that arrived mid-run, after the run was ended as interrupted and its files written."""

    def __init__(self, ended: Any):
        super().__init__()
        self.ended = ended  # the RunEnded event the run emitted
