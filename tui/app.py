"""The Textual lab: pick a preset, tune it, watch it learn live, compare runs.

Training runs in a separate process (core/executors/trainingprocess.py); a timer drains its events into the
run buffers, and another redraws the plots at most ~5 times a second when new data has arrived. The lab never
imports torch: a helper process (core/executors/checker.py) names the device and checks a run's values before
it starts, and the training process reports the device it trains on.

LabApp is the layout and the wiring; its keys are bound in keys.py (l x m v i R e dispatched there too). The
work is done by its collaborators (tui/lab/): PresetPane (the side bar), WorkArea (plots, status line, runs
table and the live loop), RunControl (start, stop, pause, drain the training process), Exporter, RangeTest,
the device header, and Tasks (every background thread's result comes back to the collaborator that started
it).
"""

from __future__ import annotations

from collections.abc import Callable
from multiprocessing import resource_tracker
from pathlib import Path
from typing import Any

from textual import on
from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Footer, Header, Input, ListView
from textual.worker import Worker as TaskWorker

from ..core.data import default_data_dir
from ..core.executors import checker
from ..core.executors.trainingprocess import TrainingProcess
from ..core.spec.presets import Preset
from ..core.store.folder import RunStore
from .form import ParamForm
from .keys import LAB_KEYS, SharedKeys, help_lines
from .lab import ending
from .lab.exporter import Exporter
from .lab.presetpane import PresetPane, describe, preset_list
from .lab.rangetest import RangeTest
from .lab.runcontrol import RunControl
from .lab.session import RunGroup
from .lab.status import FINDING_DEVICE, DeviceHeader, LiteralNotices, runs_device
from .lab.workarea import WorkArea
from .modals import HelpScreen
from .pastruns.screen import PastRunsScreen
from .plots import InputClock, PlotPanel
from .tasks import Tasks
from .viewkit import RunData, ViewOptions

__all__ = [
    "FINDING_DEVICE",
    "LabApp",
    "describe",
    "run_app",
]  # FINDING_DEVICE: benches wait for the header to leave it

NARROW = 110  # columns below which the layout stacks the plots and shrinks the side bar
SHORT = 32  # rows below which one plot is shown at a time


def probe_device() -> str:
    """The device `auto` picks here, described; asked of the helper process (the lab never imports torch)."""
    return runs_device(checker.device_name("auto"))


class LabApp(InputClock, LiteralNotices, SharedKeys, App):
    """Presets on the left, their parameters and description; live plots and the runs table on the right."""

    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses elsewhere find it too
    TITLE = "dltui"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = LAB_KEYS
    LAB_ONLY = {b.action for b in BINDINGS} - {
        "help",
        "quit",
    }  # the keys that act on the lab's own screen only
    NO_RUN = "no run selected: press r first, then pick a row in the runs table"
    DRAIN_S = 0.1
    REDRAW_S = 0.1  # a tick redraws at most one plot (see PlotPanel.draw_next)

    def __init__(
        self,
        preset: str | None = None,
        runs_dir: Path | None = None,
        data_dir: Path | None = None,
        *,
        presets: list[Preset] | None = None,
        executor_factory: Callable[..., Any] = TrainingProcess,
        device_probe: Callable[[], str] = probe_device,
        watch: list[str] | None = None,
        watch_preset: str | None = None,
    ):
        super().__init__()
        # runs to open at once, followed live, in the past-runs screen (`dltui watch`; not `self.watch`: a
        # method)
        self.watch_ids = list(watch or [])
        self.watch_preset = watch_preset  # and that preset's runs as they start
        # Training processes need multiprocessing's resource tracker, which must start while sys.stderr is
        # still the real one (inside the app it is Textual's capture, which has no file descriptor).
        resource_tracker.ensure_running()
        self.presets, first = preset_list(preset or watch_preset, presets)  # Esc from watch: its preset
        self.preset: Preset = self.presets[first]
        self.store = RunStore(runs_dir)
        self.data_dir = Path(data_dir) if data_dir else default_data_dir()
        self.mounted = False  # the preset list's first highlight may come before on_mount: it waits for it
        # The collaborators hold the main screen's widgets, so that timers and keys reach them while another
        # screen is on top.
        self.tasks = Tasks(self)
        self.device = DeviceHeader(self, self.tasks, device_probe)
        self.control = RunControl(
            self,
            self.tasks,
            self.store,
            self.data_dir,
            self.presets,
            executor_factory,
            on_batch=lambda batch: self.work.show_batch(batch),
            on_change=lambda: self.work.update_status(),
        )
        self.work = WorkArea(self, self.control, self.device, lambda: self.preset)
        self.pane = PresetPane(self.presets, first)
        self.exporter = Exporter(self, self.tasks, self.store)
        self.range_test = RangeTest(self, self.tasks, self.store.root, self.data_dir)

    # -- layout -------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="main"):
            yield self.pane.widget()
            yield Vertical(*self.work.widgets(), id="work")
        yield Footer(compact=True)

    async def on_mount(self) -> None:
        self.mounted = True
        self.work.mounted(self.main)
        self.set_interval(self.DRAIN_S, self.work.drain)
        self.set_interval(self.REDRAW_S, self.work.redraw)
        self.device.start()
        await self.select_preset(self.preset)
        self.pane.focus_list(self.main)
        self.fit(self.size)
        if self.watch_ids:
            self.push_screen(
                PastRunsScreen(
                    self.store, self.presets, open_ids=self.watch_ids, follow_preset=self.watch_preset
                )
            )

    def on_resize(self, event) -> None:
        self.fit(event.size)

    def fit(self, size) -> None:
        """Narrow: plots stacked, a slimmer side bar. Short: one plot at a time (v shows the next)."""
        self.set_class(size.width < NARROW, "-narrow")
        self.set_class(size.height < SHORT, "-short")

    @property
    def main(self):
        """The lab's own screen (the keys and past-runs screens go on top of it)."""
        return self.screen_stack[0]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool:
        """The lab's keys act on the lab's screen; over another screen (past runs) only ? and quit do, so that
        its footer shows its own keys and `r` there does not start the lab's preset out of sight."""
        return len(self.screen_stack) <= 1 or action not in self.LAB_ONLY

    @on(TaskWorker.StateChanged)
    async def task_changed(self, event: TaskWorker.StateChanged) -> None:
        """The one place background tasks end: each goes to the handler of the collaborator that started
        it."""
        await self.tasks.changed(event.worker)

    # -- presets and the form -------------------------------------------------------------------
    @on(ListView.Highlighted, "#presets")
    async def preset_highlighted(self, event: ListView.Highlighted) -> None:
        if event.item is not None and self.mounted:
            await self.select_preset(self.pane.preset_of(event.item))

    @on(ListView.Selected, "#presets")
    def preset_chosen(self) -> None:
        self.pane.focus_form(self.main)

    async def select_preset(self, preset: Preset) -> None:
        """Show a preset's description and form; its plots too, unless a run of another is live."""
        if self.pane.holds(self.main, preset):
            return
        self.preset = preset
        await self.pane.show(self.main, preset)
        if self.batch is None or not self.batch.live:
            self.control.forget()
            await self.work.show_batch(self.control.batch)  # the preset's own last runs, if it has any

    @on(Input.Submitted, "#form-box Input")
    def field_submitted(self) -> None:
        self.action_run_from_field()

    @on(DataTable.RowHighlighted, "#runs")
    def run_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.work.row_highlighted(event.row_key.value)

    @on(DataTable.RowSelected, "#runs")
    def run_selected(self) -> None:
        """Enter on a row: its run's card."""
        self.action_card()

    # -- the variant filter (/) -------------------------------------------------------------------
    def action_filter(self) -> None:
        self.work.open_filter(self.main)

    @on(Input.Changed, "#variant-filter")
    def filter_changed(self, event: Input.Changed) -> None:
        self.opts.only = event.value
        self.replot()

    @on(Input.Submitted, "#variant-filter")
    def filter_done(self) -> None:
        self.work.close_filter(self.main)

    # -- the lab's own keys (SharedKeys has l x m v i R e) ----------------------------------------
    def action_run(self) -> None:
        """Run every variant of the selected preset with the form's values."""
        self.control.run(self.main.query_one(ParamForm))

    def action_run_from_field(self) -> None:
        """Enter or ctrl+r in a field runs; the runs table takes the focus, so that the one-letter keys work
        again."""
        self.action_run()
        if self.starting:
            self.table.focus()

    def action_stop(self) -> None:
        self.control.stop()

    def action_pause(self) -> None:
        self.control.toggle_pause()

    def action_lrfind(self) -> None:
        self.range_test.start(self.main.query_one(ParamForm), self.work.runs_table.selected)

    def action_next_run(self) -> None:
        """The next run in the runs table: the one the one-run views (learned function, gradient norms,
        regions, per-class accuracy) show."""
        if not self.work.runs_table.next_run():
            self.notify("no runs yet: press r", severity="warning")

    def action_leave_field(self) -> None:
        """Out of a text field to where the one-letter keys work: from the variant filter to the runs table,
        from a form field (or the table) to the preset list."""
        if self.focused is self.work.filter_box(self.main):
            self.filter_done()
        else:
            self.pane.focus_list(self.main)

    def action_help(self) -> None:
        self.push_screen(HelpScreen(help_lines()))

    def action_past(self) -> None:
        self.push_screen(PastRunsScreen(self.store, self.presets))

    async def action_quit(self) -> None:
        """Stop the runs cleanly (their status `interrupted`), then leave."""
        await self.control.wind_down(self.work.drain)
        self.exit(0)

    async def on_unmount(self) -> None:
        self.control.close()

    # -- what SharedKeys' l x m v i R e act on in the lab -----------------------------------------
    def plot_panel(self) -> PlotPanel:
        return self.work.panel

    def replot(self) -> None:
        self.work.replot()

    def cursor_run(self) -> str | None:
        return self.work.runs_table.cursor_run()

    def export_ids(self) -> list[str]:
        """The runs in the table that have started."""
        return [r.run_id for r in self.batch.list() if r.run_id] if self.batch else []

    def rerun(self, run_id: str) -> None:
        """Run `run_id` again with its exact config (past runs' R comes here too)."""
        self.control.rerun(run_id)

    def export(self, run_ids: list[str], opts: ViewOptions) -> None:
        """Export these runs on the x-axis and smoothing of `opts` (the calling screen's)."""
        self.exporter.export(run_ids, opts)

    # -- what tests and the other screens read ----------------------------------------------------
    @property
    def opts(self) -> ViewOptions:
        """How the lab's plots are drawn: x-axis, log y, smoothing, the variant filter."""
        return self.work.opts

    @property
    def table(self) -> DataTable:
        return self.work.table

    @property
    def batch(self) -> RunGroup | None:
        """The runs the last r started (or None once another preset is shown)."""
        return self.control.batch

    @property
    def executor(self) -> Any:
        """The batch's training process (or pool), until it has said it is done."""
        return self.control.executor

    @property
    def starting(self) -> bool:
        return self.control.starting

    def shown_runs(self) -> list[RunData]:
        return self.work.shown_runs()


def run_app(
    preset: str | None = None,
    runs_dir: Path | None = None,
    data_dir: Path | None = None,
    executors: Callable[..., Any] | None = None,
    watch: list[str] | None = None,
    watch_preset: str | None = None,
) -> int:
    """Open the lab; returns the exit code. `executors` makes where a batch runs (default: a TrainingProcess);
    `watch`: runs to open at once in the past-runs screen, followed live (with `watch_preset`'s runs as they
    start)."""
    ending.start_tracker()
    app = LabApp(
        preset,
        runs_dir,
        data_dir,
        executor_factory=executors or TrainingProcess,
        watch=watch,
        watch_preset=watch_preset,
    )
    return ending.run(app)  # SIGTERM and SIGHUP end it as q does, the terminal restored
