"""Ctrl-C, SIGTERM and SIGHUP during `dltui run`: stop the run in flight cleanly, then exit 128+signal.

The first signal sets the trainer's stop flag: the loop stops at its next step, writes the epoch in
flight's checkpoint and an `interrupted` status, and no further run starts. A second signal does not
wait: it raises KeyboardInterrupt where the program is (every file is written by temp file + rename,
so what is on disk stays readable). SIGHUP (the SSH session dropped) also points stdout and stderr at
/dev/null, since writing to a terminal that is gone would fail; so does a display listener's failed write.
"""

from __future__ import annotations

import os
import signal
import threading

NAMES = {
    signal.SIGINT: "Ctrl-C (SIGINT)",
    signal.SIGTERM: "SIGTERM",
    signal.SIGHUP: "SIGHUP (the terminal went away)",
}


class StopOnSignal:
    """While active (a context manager), SIGINT, SIGTERM and SIGHUP stop training instead of killing it."""

    def __init__(self, control) -> None:
        self.control = control
        if control.stop is None:
            control.stop = threading.Event()
        self.signum = 0
        self._old: dict[int, object] = {}

    def __enter__(self) -> StopOnSignal:
        for sig in NAMES:
            self._old[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> bool:
        for sig, handler in self._old.items():
            signal.signal(sig, handler)
        return False

    @property
    def exit_code(self) -> int:
        """128 + the signal's number (130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP), or 0."""
        return 128 + self.signum if self.signum else 0

    def stopped(self, statuses: list[str], planned: int) -> bool:
        """Whether a signal stopped a run or kept one from starting; one that came after the last run
        ended changed nothing, so the exit code is then the runs' own."""
        return bool(self.signum) and (len(statuses) < planned or "interrupted" in statuses)

    def _handle(self, signum: int, frame) -> None:
        if signum == signal.SIGHUP:
            _detach_terminal()
        if self.signum:  # the second signal: stop now; a third gets the default (immediate) behaviour
            for sig in NAMES:
                signal.signal(sig, signal.SIG_DFL)
            # The run's reason says which signals they were, not a Ctrl-C that never came.
            raise KeyboardInterrupt(
                f"interrupted at once by a second signal ({NAMES[signum]} after {NAMES[self.signum]})"
            )
        self.signum = signum
        self.control.reason = f"interrupted by {NAMES[signum]}"
        self.control.stop.set()


def survive_lost_output(listener):
    """Wrap a display listener so that a closed pipe or a vanished terminal never stops training."""

    def call(event) -> None:
        try:
            listener(event)
        except OSError:  # BrokenPipeError (`dltui run ... | head`), EIO after a hangup
            _detach_terminal()

    return call


def _detach_terminal() -> None:
    """Point stdout and stderr at /dev/null so that printing cannot fail once the terminal is gone."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for fd in (1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
