"""Background tasks (threads) and the one place their results and failures come back.

A collaborator registers what to do when its group of tasks ends (`add`), then starts them (`start`); the
owner (the app; the past-runs screen for its own reads, which end with it) hands every worker's state change
to `changed`, which looks the handler up in one table: the handlers live with the collaborator that started
the task, not in a chain of if/elif.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from textual.dom import DOMNode
from textual.worker import Worker as TaskWorker
from textual.worker import WorkerState

from ..core.rules.errors import BadInput

NOTICE_S = 10  # how long a notice about a task's end (a run, an export, a range test) stays up

Handler = Callable[[Any], Awaitable[None] | None]  # takes the task's result (done) or its exception (failed)


def failure_text(err: BaseException) -> str:
    """A task's failure for a notice: bad input says itself; anything else is named by its type."""
    return str(err) if isinstance(err, BadInput) else f"{type(err).__name__}: {err}"


@dataclass(frozen=True)
class Handlers:
    done: Handler
    failed: Handler | None = (
        None  # None: a failure is dropped (the task's own cleanup, e.g. reaping a process)
    )
    exclusive: bool = False  # a new task of the group cancels the one still going (its result is dropped)


class Tasks:
    """group -> handlers; every task runs in a thread and never ends the app when it fails."""

    def __init__(self, owner: DOMNode):
        self.owner = owner  # the app, or a screen whose tasks end with it
        self.handlers: dict[str, Handlers] = {}

    def add(
        self, group: str, done: Handler, failed: Handler | None = None, *, exclusive: bool = False
    ) -> None:
        self.handlers[group] = Handlers(done, failed, exclusive)

    def start(self, group: str, fn: Callable[..., Any], *args: Any) -> None:
        """Run `fn(*args)` in a thread; its result goes to the group's `done`, an exception to its `failed` (a
        group with no handlers: its end is not looked at)."""
        exclusive = group in self.handlers and self.handlers[group].exclusive
        self.owner.run_worker(
            partial(fn, *args),
            name=getattr(fn, "__name__", group),
            group=group,
            thread=True,
            exclusive=exclusive,
            exit_on_error=False,
        )

    async def changed(self, worker: TaskWorker) -> None:
        """Call the handler of `worker`'s group for the state it reached (other states and groups:
        nothing)."""
        handlers = self.handlers.get(worker.group)
        if handlers is None:
            return
        if worker.state == WorkerState.SUCCESS:
            handler, value = handlers.done, worker.result
        elif worker.state == WorkerState.ERROR and handlers.failed is not None:
            handler, value = handlers.failed, worker.error
        else:
            return
        outcome = handler(value)
        if inspect.isawaitable(outcome):
            await outcome
