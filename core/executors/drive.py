"""The one loop that follows a batch of runs on an executor to their end, and the queue both executors fill.

An executor (core/executors/localpool.py's `Pool`, core/executors/raypool.py's `RayPool`) puts its runs'
events on a queue in batches, and an `ExecutorDone` as each of its slots (a process, the Ray pump) ends;
`EventQueue` is that half, shared: `drain` hands back the events, then one `ExecutorDone` once every slot is
done. `Drive` is the loop every driver uses (`dltui run --jobs` and `--engine ray`, the lab, the benchmarks):
a `turn` forwards a stop (once), takes what has arrived, hands it to the sinks and keeps which runs started
and ended; `run` starts the executor, turns until it is done and joins it, and a Ctrl-C (a second signal)
stops the waiting. Its `outcome` is how the runs ended: a run the executor lost (a process died) is failed. No
torch here.
"""

from __future__ import annotations

import queue as queue_mod
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..train.events import RunEnded, RunStarted

POLL_S = 0.2  # how long a turn waits on the executor's events before it looks at the stop flag again
JOIN_S = 5.0  # at the end, how long the executor's processes get to exit before they are terminated
JOIN_AFTER_SECOND_SIGNAL_S = 2.0  # the same after a second Ctrl-C: the user wants out now


@dataclass
class ExecutorDone:
    """An executor has run its plans (or was stopped); `error` is set if it broke."""

    error: str = ""


@dataclass
class Outcome:
    """How a batch's runs ended (a RunEnded each), and the error that stopped it early, if any."""

    ended: list = field(default_factory=list)
    error: str = ""


class Executor(Protocol):
    """Where a batch of runs executes. `drain` returns their events (ExecutorDone last, once); stop ends the
    running runs as interrupted and starts no more; pause holds them; join waits, then ends what is left."""

    done: bool
    errors: list[str]

    def start(self) -> Executor: ...

    def drain(self, limit: int = 10_000, timeout: float = 0.0) -> list[Any]: ...

    def stop(self, reason: str = "") -> None: ...

    @property
    def paused(self) -> bool: ...

    def toggle_pause(self) -> bool: ...

    def join(self, timeout: float | None = None) -> None: ...


class EventQueue:
    """The half of an executor its driver reads: batches of events on `queue`, an ExecutorDone from each of
    its `slots` as it ends; `done` once all have. `find_lost` is where an executor notices a slot that ended
    without saying so (the local pool: a process that died)."""

    def __init__(self, q: Any, slots: int):
        self.queue = q
        self.slots = slots
        self.n_done = 0  # slots whose ExecutorDone arrived, or that were found lost
        self.errors: list[str] = []
        self.done = False

    def drain(self, limit: int = 10_000, timeout: float = 0.0) -> list[Any]:
        """Events that have arrived (waiting up to `timeout` for the first); one ExecutorDone once all are
        done."""
        out: list[Any] = []
        for k in range(limit):
            try:
                item = self.queue.get(timeout=timeout) if k == 0 and timeout > 0 else self.queue.get_nowait()
            except queue_mod.Empty:
                break
            if isinstance(item, ExecutorDone):
                self.slot_done(item.error)
            else:
                out.extend(item)  # a batch
        if not out:
            self.find_lost()
        if not self.done and self.n_done >= self.slots:
            self.done = True
            out.append(ExecutorDone("; ".join(self.errors)))
        return out

    def slot_done(self, error: str) -> None:
        self.n_done += 1
        if error:
            self.errors.append(error)

    def find_lost(self) -> None:
        """Count a slot that ended without its ExecutorDone as done (slot_done, with an error); none by
        default."""


class Drive:
    """Follows `executor`'s runs: each `turn` hands their events to `sinks`; a stop set on `control` (the
    CLI's signal handler sets it) is passed on to the executor once, with its reason."""

    def __init__(self, executor: Any, sinks: Iterable[Callable[[Any], None]] = (), control: Any = None):
        self.executor, self.sinks, self.control = executor, list(sinks), control
        self.started: dict[str, str] = {}  # run id -> variant, of every run that started
        self.ended: list[RunEnded] = []
        self.outcome: Outcome | None = None  # set by the turn that sees the ExecutorDone
        self.stop_sent = False

    @property
    def done(self) -> bool:
        return self.outcome is not None

    def turn(self, timeout: float = 0.0) -> list[Any]:
        """Pass a stop on, take what has arrived (waiting up to `timeout` for it) and hand it to the sinks;
        returns it, ExecutorDone last once the executor is done."""
        control = self.control
        if control is not None and control.stop.is_set() and not self.stop_sent:
            self.stop_sent = True
            self.executor.stop(control.reason)
        events = self.executor.drain(timeout=timeout)
        for ev in events:
            if isinstance(ev, ExecutorDone):
                self.outcome = Outcome(self.ended + self._lost(ev.error), ev.error)
                continue
            if isinstance(ev, RunStarted):
                self.started[ev.run_id] = ev.variant
            elif isinstance(ev, RunEnded):
                self.ended.append(ev)
            for sink in self.sinks:
                sink(ev)
        return events

    def run(self, join_s: float = JOIN_S) -> Outcome:
        """Start the executor, turn until it is done, join it; how its runs ended. A Ctrl-C (a second
        signal) stops the waiting: the executor gets a moment to end what still runs as interrupted, and it
        goes on."""
        self.executor.start()
        try:
            while self.outcome is None:
                self.turn(POLL_S)
        except KeyboardInterrupt:
            self.executor.join(JOIN_AFTER_SECOND_SIGNAL_S)
            raise
        self.executor.join(join_s)
        return self.outcome

    def _lost(self, error: str) -> list[RunEnded]:
        """Runs that started where the executor lost them (a process died): failed, for the table and exit
        code."""
        done = {e.run_id for e in self.ended}
        why = error or "the training process died"
        return [
            RunEnded(rid, variant, "failed", why, {})
            for rid, variant in self.started.items()
            if rid not in done
        ]
