"""The status line under the plots (what is running, how the plots are drawn) and the device in the header."""
from __future__ import annotations

from typing import Callable

from rich.text import Text
from textual.app import App

from dltui.core.present import X_LABELS
from dltui.core.presets import Preset
from dltui.tui.runcontrol import RunControl
from dltui.tui.tasks import Tasks
from dltui.tui.viewkit import ViewOptions

FINDING_DEVICE = "finding the device…"  # the header until the helper process has named it


def status_line(control: RunControl, preset: Preset, opts: ViewOptions) -> Text:
    """One line: the batch's state (or how to start one of `preset`), then the x-axis, log y and smoothing."""
    t = Text()
    b = control.batch
    if control.starting:
        t.append(f"{preset.name}: checking and starting…", style="cyan")
    elif b is not None:
        ended = sum(r.status not in ("queued", "running") for r in b.list())
        state = "running" if b.live else "done"
        if b.live and control.paused:
            state = "paused"
        t.append(f"{b.preset}: {state}, {ended}/{len(b.runs)} runs ended", style="cyan" if b.live else "")
    else:
        t.append(f"{preset.name}: press r to run {len(preset.variants)} runs")
    # The y-axis is named only when l has made it log: views with their own log axes say so in their titles.
    t.append(f"   x: {X_LABELS[opts.x]}" + ("  y: log" if opts.log else ""), style="dim")
    if opts.smooth:
        t.append(f"  smoothed {opts.smooth:g}", style="dim")
    return t


class DeviceHeader:
    """The header names the device: first as the helper process finds it, then in the training process's own words."""

    def __init__(self, app: App, tasks: Tasks, probe: Callable[[], str]):
        self.app = app
        self.tasks = tasks
        self.probe = probe
        tasks.add("device", self.found, self.unknown)

    def start(self) -> None:
        self.app.sub_title = FINDING_DEVICE
        self.tasks.start("device", self.probe)

    def found(self, name: str) -> None:
        self.app.sub_title = name

    def unknown(self, err: BaseException) -> None:
        self.app.sub_title = "device unknown"
        self.app.notify(f"the device could not be found (torch did not load?): {err}", severity="error")
