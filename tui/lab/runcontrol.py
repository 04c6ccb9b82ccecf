"""Run control: the training process behind the lab, started after the checks, stopped, paused, drained,
reaped.

`batch` is the runs the last start made (their buffers), `executor` their training process (or pool) while
it lives. The lab is told through two callbacks: `on_batch` when a new batch has started, `on_change` when
what the status line says has changed.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from textual.app import App

from ...core.executors import checker, runner
from ...core.executors.drive import Drive
from ...core.rules.errors import BadInput
from ...core.spec.config import from_dict
from ...core.spec.presets import Preset
from ...core.store.folder import RunStore
from ..form import ParamForm, lab_words
from ..tasks import NOTICE_S, Tasks, failure_text
from .session import Applied, RunGroup

QUIT_WAIT_S = 1.5
DRAIN_POLL_S = 0.05  # while quitting, how often the last events are looked for


class RunControl:
    """Start (r, enter, R), stop (s), pause (space), and the training process's events into the batch."""

    def __init__(
        self,
        app: App,
        tasks: Tasks,
        store: RunStore,
        data_dir: Path,
        presets: list[Preset],
        executor_factory: Callable[..., Any],
        on_batch: Callable[[RunGroup], Awaitable[None]],
        on_change: Callable[[], None],
    ):
        self.app = app
        self.tasks = tasks
        self.store = store
        self.data_dir = data_dir
        self.presets = presets
        self.executor_factory = executor_factory
        self.on_batch = on_batch
        self.on_change = on_change
        self.batch: RunGroup | None = None  # the runs the last start made
        self.executor: Any = None  # their training process (or pool), until it has said it is done
        self.drive: Drive | None = None  # the loop that follows it, a turn per tick
        self.starting = False  # checking the values and starting the process, in a thread
        self.kept: dict[str, RunGroup] = {}  # preset name -> the last batch it showed
        self.filters: dict[str, str] = {}  # preset name -> the variant filter it had
        self.showing: str | None = None  # the preset whose batch and filter the screen holds
        tasks.add("start", self.started, self.start_failed, exclusive=True)

    @property
    def busy(self) -> bool:
        return self.starting or (self.batch is not None and self.batch.live)

    @property
    def paused(self) -> bool:
        return self.executor is not None and self.executor.paused

    def run(self, form: ParamForm) -> None:
        """Run every variant of the form's preset with the form's values."""
        if self.refused():
            return
        form.show_errors()
        errors = form.errors()
        if errors:
            self.app.notify(
                "\n".join(errors.values()),
                title="cannot run: fix the marked field",
                severity="error",
            )
            return
        try:
            plans = runner.plan(form.preset, form.overrides())
        except BadInput as e:
            self.app.notify(lab_words(str(e)), title="cannot run", severity="error")
            return
        self.start(form.preset, plans, form.batched())

    def rerun(self, run_id: str) -> None:
        """Run `run_id` again with its exact config (from its config.json): a new run id, the same names."""
        if self.refused():
            return
        try:
            info = self.store.get(run_id)
            preset = next((p for p in self.presets if p.name == info.status.get("preset")), None)
            if preset is None:
                raise BadInput(
                    f"run {run_id}: its preset '{info.status.get('preset')}' is not loaded; "
                    f"use `dltui run` with its config instead"
                )
            plans = [runner.RunPlan(preset.name, info.status.get("variant", "run"), from_dict(info.config))]
        except BadInput as e:
            self.app.notify(str(e), title="cannot re-run", severity="error")
            return
        self.start(preset, plans)

    def refused(self) -> bool:
        """One batch at a time: True (and a notice) while one is starting or running."""
        if self.busy:
            self.app.notify("a run is already going; press s to stop it first", severity="warning")
        return self.busy

    def forget(self) -> None:
        """Another preset is shown (the app's `preset` already names it): what the last one showed (its
        batch, its variant filter) is kept for it, and the new one's own come back; nothing leaks across."""
        new = self.app.preset.name
        if self.batch is not None:
            self.kept[self.batch.preset] = self.batch
        if self.showing is not None:
            self.filters[self.showing] = self.app.opts.only
        self.batch = self.kept.get(new)
        self.showing = new
        self.set_filter(self.filters.get(new, ""))

    def set_filter(self, words: str) -> None:
        """The variant filter (/) as a preset left it: its box shows it while it holds words."""
        boxes = self.app.screen_stack[0].query("#variant-filter") if self.app.screen_stack else []
        if boxes:
            box = boxes.first()
            box.value, box.display = words, bool(words)
        self.app.opts.only = words

    async def leave(self) -> None:
        """The batch ended while the side bar showed another preset: the screen goes to that preset's own."""
        self.forget()
        await self.on_batch(self.batch)

    def start(self, preset: Preset, plans: list[runner.RunPlan], batched: str | None = None) -> None:
        """Check and start `plans` in a thread; `batched` (auto, off: the form's field) goes to a training
        process that takes it (a Ray pool trains every run alone)."""
        self.starting = True
        self.on_change()
        self.tasks.start("start", self.check_and_start, preset, plans, batched)

    def check_and_start(
        self, preset: Preset, plans: list[runner.RunPlan], batched: str | None = None
    ) -> tuple[RunGroup, Any]:
        """In a thread: check everything a user could get wrong, then start the training process."""
        checker.preflight(plans, self.store.root, self.data_dir)
        extra = {"batched": batched} if batched is not None and takes_batched(self.executor_factory) else {}
        return RunGroup(preset.name, plans), self.executor_factory(
            plans, self.store.root, self.data_dir, **extra
        ).start()

    async def started(self, result: tuple[RunGroup, Any]) -> None:
        self.starting = False
        self.batch, self.executor = result
        self.drive = Drive(self.executor)
        await self.on_batch(self.batch)
        # What the app holds while it trains goes out of the collector's full passes (each one a stall
        # of the UI, docs/performance.md). The young generations' garbage goes first (a short pass; a full
        # one now would be the stall); garbage cycles already old stay until the app exits.
        gc.collect(1)
        gc.freeze()

    def start_failed(self, err: BaseException) -> None:
        self.starting = False
        self.app.notify(lab_words(failure_text(err)), title="cannot run", severity="error", timeout=NOTICE_S)
        self.on_change()

    def stop(self) -> None:
        if self.executor is None:
            self.app.notify("nothing is running", severity="warning")
            return
        self.executor.stop()
        if self.batch is not None:
            self.batch.stopped = True  # its interrupted run reads `stopped`, the queued ones `skipped`
        self.app.notify("stopping: the running run ends as stopped (interrupted), the rest are skipped")

    def toggle_pause(self) -> None:
        if self.executor is None:
            self.app.notify("nothing is running", severity="warning")
            return
        self.executor.toggle_pause()
        if self.batch is not None:
            self.batch.paused = self.executor.paused  # its running run reads `paused`
        self.on_change()

    def drain(self) -> Applied | None:
        """The training process's events into the batch's buffers (None: no news); once it says it is done, it
        is waited for in a thread."""
        if self.executor is None or self.batch is None or self.drive is None:
            return None
        events = self.drive.turn()
        if not events:
            return None
        applied = self.batch.apply(events)
        if applied.done:
            self.tasks.start("reap", self.executor.join, 5)  # a finished process exits, off the UI thread
            self.executor = self.drive = None
            if self.batch.preset != self.app.preset.name:  # the side bar moved on while it ran
                self.app.call_later(self.leave)
        return applied

    async def wind_down(self, drain: Callable[[], None]) -> None:
        """Ask the training process to stop and wait briefly for its last events (`drain` takes them in)."""
        if self.executor is None:
            return
        self.executor.stop()
        deadline = time.monotonic() + QUIT_WAIT_S
        while self.executor is not None and time.monotonic() < deadline:
            drain()
            await asyncio.sleep(DRAIN_POLL_S)
        if self.executor is not None:
            self.executor.join(0.2)

    def close(self) -> None:
        """The app is going away: the process stops, and is given a second to exit."""
        if self.executor is not None:
            self.executor.stop()
            self.executor.join(1)


def takes_batched(factory: Callable[..., Any]) -> bool:
    """Whether an executor factory takes `batched` (a TrainingProcess does; a Ray pool trains runs alone)."""
    try:
        return "batched" in inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return False
