"""The status line under the plots (what is running, how the plots are drawn) and the device in the header."""

from __future__ import annotations

import re
from collections.abc import Callable

from rich.text import Text
from textual.app import App
from textual.widgets import Static

from ...core.rules.outside import visible
from ...core.rules.status import RunStatus
from ...core.spec.presets import Preset
from ...core.spec.threads import cores
from ...core.spec.views import X_LABELS
from ..tasks import Tasks
from ..viewkit import ViewOptions
from .runcontrol import RunControl

FINDING_DEVICE = "finding the device…"  # the header until the helper process has named it


def status_line(control: RunControl, preset: Preset, opts: ViewOptions, short: bool = False) -> Text:
    """One line: the batch's state (or how to start one of `preset`), then the x-axis, log y and smoothing.
    `short`: the same in fewer words, for a narrow terminal (no preset name, the x-axis by its key)."""
    t = Text()
    said, style = state(control, preset, short)
    t.append(visible(said), style)  # a preset's name is text from a file: shown, never obeyed
    # The y-axis is named only when l has made it log: views with their own log axes say so in their titles.
    if short:
        smooth = f"  smooth {opts.smooth:g}" if opts.smooth else ""
        t.append(f"  x: {opts.x}" + ("  log" if opts.log else "") + smooth, style="dim")
        return t
    t.append(f"   x: {X_LABELS[opts.x]}" + ("  y: log" if opts.log else ""), style="dim")
    if opts.smooth:
        t.append(f"  smoothed {opts.smooth:g}", style="dim")
    return t


def state(control: RunControl, preset: Preset, short: bool) -> tuple[str, str]:
    """What the runs are doing, and its style (cyan while they start or run)."""
    b = control.batch
    if control.starting:
        return ("starting…" if short else f"{preset.name}: checking and starting…"), "cyan"
    if b is None:
        n = len(preset.variants)
        return (f"r: run {n}" if short else f"{preset.name}: press r to run {n} runs"), ""
    counts = b.counts()
    ended = sum(n for s, n in counts.items() if s not in (RunStatus.QUEUED, RunStatus.RUNNING, "paused"))
    doing = (
        "paused" if b.live and control.paused else "running" if b.live else "stopped" if b.stopped else "done"
    )
    pace = b.batch_pace() if b.live and not control.paused else None
    how = ", ".join(f"{n} {s}" for s, n in counts.items() if s in TOLD)
    if short:
        line = f"{doing} {ended}/{len(b.runs)}" + (f", ETA {pace.cell()}" if pace else "")
        return line + (f" ({how})" if how and not b.live else ""), "cyan" if b.live else ""
    line = f"{b.preset}: {doing}, {ended}/{len(b.runs)} runs ended" + (f", {pace.text()}" if pace else "")
    return line + (f" ({how})" if how else ""), "cyan" if b.live else ""


# The outcomes the status line counts out, so that "3/3 ended" never hides that 2 were skipped.
TOLD = ("finished", "diverged", "failed", "stopped", "interrupted", "skipped")


class LiteralNotices:
    """Mixed into the lab's App: every notice (the lab's, its screens', its collaborators') is shown as
    written, never parsed as markup, with control characters shown as `\\x1b` (core/rules/outside.py). A
    notice quotes names, reasons, paths and typed values, which come from outside; one place makes them all
    safe, so that no new notice can forget."""

    def notify(self, message: str, *, title: str = "", markup: bool = True, **kw) -> None:
        super().notify(visible(message, newlines=True), title=visible(title), markup=False, **kw)


class StatusBar(Static):
    """The status line's widget: the full line where it fits, else the short one (it is cut where neither
    fits)."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.full = Text()
        self.short = Text()

    def show(self, full: Text, short: Text) -> None:
        if (full, short) == (self.full, self.short):
            return  # no repaint for the same words
        self.full, self.short = full, short
        self.refresh()  # one fixed line: no layout

    def render(self) -> Text:
        return self.full if self.full.cell_len <= self.size.width else self.short


CPU_THREADS = re.compile(r"^cpu, \d+ threads?$")


def runs_device(name: str) -> str:
    """The device as the runs will have it, from the helper process's description: on the CPU, the cores
    the runs share, not the helper's own thread count (each run picks its threads by its work,
    core/spec/threads.py; a run's own count comes with its start, DeviceHeader.found)."""
    if CPU_THREADS.match(name):
        n = cores()
        return f"cpu, {n} core{'s' if n != 1 else ''}"
    return name


class DeviceHeader:
    """The header names the device: first as the helper process finds it, then in the training process's own
    words."""

    def __init__(self, app: App, tasks: Tasks, probe: Callable[[], str]):
        self.app = app
        self.tasks = tasks
        self.probe = probe
        tasks.add("device", self.found, self.unknown)

    def start(self) -> None:
        self.app.sub_title = FINDING_DEVICE
        self.tasks.start("device", self.probe)

    def found(self, name: str) -> None:
        self.app.sub_title = visible(name)  # the training process's words: shown, never obeyed

    def unknown(self, err: BaseException) -> None:
        self.app.sub_title = "device unknown"
        self.app.notify(f"the device could not be found (torch did not load?): {err}", severity="error")
