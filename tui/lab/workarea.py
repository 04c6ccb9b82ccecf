"""The lab's right side: the plots, the variant filter, the status line and the runs table, and the live loop
that feeds them.

A timer drains the training process's events into the run buffers (`drain`); another does one piece of
screen work a tick (`redraw`): the table's changed rows, or one plot with new data. `replot` redraws every
plot at once, when the axes or the runs shown change.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.app import App
from textual.dom import DOMNode
from textual.widgets import DataTable, Input

from ...core.rules.status import RunStatus
from ...core.spec.presets import Preset
from ..form import Field
from ..plots import PlotPanel
from ..tasks import NOTICE_S
from ..viewkit import RunData, ViewOptions, narrowed, views_for
from .hardware import HardwareStrip
from .runcontrol import RunControl
from .runstable import RunsTable
from .session import Applied, RunGroup
from .status import DeviceHeader, StatusBar, status_line


class WorkArea:
    """The widgets of the right side, how they are drawn (`opts`), and what the live loop puts in them."""

    def __init__(self, app: App, control: RunControl, device: DeviceHeader, preset: Callable[[], Preset]):
        self.app = app
        self.control = control
        self.device = device
        self.preset = preset  # the preset the side bar shows (the status line names it while none runs)
        self.opts = ViewOptions()
        self.panel = PlotPanel(id="plots")
        self.table = DataTable(id="runs", cursor_type="row")
        self.status_bar = StatusBar(id="status")
        self.runs_table = RunsTable(self.table)
        self.hardware = HardwareStrip(self.hardware_target, id="hardware")
        self.status_stale = False  # the status line has news not shown yet (redraw shows it)

    def widgets(self) -> list:
        """Top to bottom: the plots, the variant filter (hidden until /), the status line, the selected run's
        hardware strip (out of sight until it has samples), the runs table."""
        return [
            self.panel,
            Field(
                placeholder="show only the variants holding these words (enter: back)",
                id="variant-filter",
                compact=True,
            ),
            self.status_bar,
            self.hardware,
            self.table,
        ]

    def hardware_target(self):
        """(runs dir, the selected run's id, the live runs' ids) for the hardware strip."""
        batch = self.control.batch
        runs = batch.runs if batch else {}
        live = [r.run_id for r in runs.values() if r.run_id and r.status == RunStatus.RUNNING]
        cursor = runs.get(self.runs_table.selected)
        selected = cursor.run_id if cursor is not None and cursor.run_id else None
        # no cursor row, or it is on a run not started yet: the first live run
        return self.control.store.root, selected or next(iter(live), None), live

    def mounted(self, screen: DOMNode) -> None:
        self.runs_table.add_columns()
        self.filter_box(screen).display = False  # until / is pressed

    @property
    def closing(self) -> bool:
        """True once the app is taking its widgets down (timers may still fire then)."""
        return not self.table.is_attached

    async def show_batch(self, batch: RunGroup | None) -> None:
        """Point the plots and the table at a batch of runs (or an empty one for the side bar's preset)."""
        preset = (
            self.preset()
            if batch is None
            else next(p for p in self.control.presets if p.name == batch.preset)
        )
        await self.panel.show(views_for(preset.views, [p for _, c in preset.configs() for p in c.probes]))
        self.runs_table.show(batch, preset.focus)
        self.replot()

    # -- the live loop: events in, one piece of screen work a tick --------------------------------
    def drain(self) -> None:
        """Move the training process's events into the run buffers (no redraw here)."""
        if self.closing:
            return
        applied = self.control.drain()
        if applied is not None:
            self.took(applied)

    def took(self, applied: Applied) -> None:
        """What the events changed, to the header, the notices, the table and the plots."""
        if applied.device:
            self.device.found(applied.device)  # the training process's own word for its device
        for message, severity in applied.notices:
            self.app.notify(message, severity=severity, timeout=NOTICE_S)
        self.runs_table.mark(applied.rows)
        if applied.data:
            self.panel.mark_stale()
        if applied.done:
            self.runs_table.flush()
            self.replot()  # the final picture, every plot at once
        if applied.done or applied.notices or applied.device:
            self.update_status()
        else:
            self.status_stale = True  # the pace's news: shown with the table's next rows (redraw)

    def redraw(self) -> None:
        """One piece of screen work per tick, so that no frame is long: the table's changed rows and the
        status line (at most TABLE_S apart: one frame for both), or one plot with new data (see
        PlotPanel.draw_next)."""
        if self.closing:
            return
        if self.runs_table.due:
            self.runs_table.flush()
            if self.status_stale:
                self.update_status()
        else:
            self.panel.draw_next(self.shown_runs(), self.opts)

    def replot(self) -> None:
        """Redraw every plot now: the axes or the runs changed."""
        self.panel.draw(self.shown_runs(), self.opts)
        self.update_status()

    def shown_runs(self) -> list[RunData]:
        """The runs the plots show (those the variant filter lets through), with the runs table's cursor row
        as the selected run."""
        batch = self.control.batch
        runs = batch.runs if batch else {}
        selected = self.runs_table.selected
        self.opts.selected = (runs[selected].run_id or None) if selected in runs else None
        return narrowed(list(runs.values()), self.opts.only)

    def update_status(self) -> None:
        self.status_stale = False
        full, short = (status_line(self.control, self.preset(), self.opts, short=s) for s in (False, True))
        self.status_bar.show(full, short)

    def row_highlighted(self, variant: str) -> None:
        """The runs table's cursor moved: the one-run views show its run."""
        self.runs_table.selected = variant
        self.panel.mark_stale()

    # -- the variant filter (/) -------------------------------------------------------------------
    def filter_box(self, screen: DOMNode) -> Input:
        return screen.query_one("#variant-filter", Input)

    def open_filter(self, screen: DOMNode) -> None:
        """Show the variant filter and type in it."""
        box = self.filter_box(screen)
        box.display = True
        box.focus()

    def close_filter(self, screen: DOMNode) -> None:
        """Back to the runs table; an empty filter goes out of sight."""
        box = self.filter_box(screen)
        box.display = bool(box.value.strip())
        self.table.focus()
