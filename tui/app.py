"""The Textual lab: pick a preset, tune it, watch it learn live, compare runs.

Training runs in a separate process (core/executors/trainingprocess.py); a timer drains its events into the run
buffers, and another redraws the plots at most ~5 times a second when new data has arrived.
The lab never imports torch: a helper process (core/executors/checker.py) names the device and checks a run's
values before it starts, and the training process reports the device it trains on.

LabApp is the layout, the keys and the wiring; the work is done by its collaborators: RunControl (start,
stop, pause, drain the training process), RunsTable, Exporter, RangeTest, the status line, and Tasks (every
background thread's result comes back to the collaborator that started it).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from multiprocessing import resource_tracker
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Container, Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Footer, Header, Input, Label, ListItem, ListView, Static
from textual.worker import Worker as TaskWorker

from ..core.data import default_data_dir
from ..core.executors import checker
from ..core.executors.trainingprocess import TrainingProcess
from ..core.readout.sweeps import variants_text
from ..core.rules.errors import BadInput
from ..core.spec import presets as presets_mod
from ..core.spec.presets import Preset
from ..core.store.folder import RunStore
from .form import Field, ParamForm
from .lab.exporter import Exporter
from .lab.rangetest import RangeTest
from .lab.runcontrol import RunControl
from .lab.runstable import RunsTable
from .lab.session import Applied, RunGroup
from .lab.status import FINDING_DEVICE, DeviceHeader, StatusBar, status_line
from .pastruns.screen import HelpScreen, PastRunsScreen, RunCardScreen
from .plotkeys import next_smoothing, next_x, toggle_log
from .plots import PlotPanel
from .tasks import NOTICE_S, Tasks
from .viewkit import ViewOptions, narrowed, views_for

__all__ = [
    "FINDING_DEVICE",
    "LabApp",
    "describe",
    "run_app",
]  # FINDING_DEVICE: benches wait for the header to leave it

NARROW = 110  # columns below which the layout stacks the plots and shrinks the side bar
SHORT = 32  # rows below which one plot is shown at a time
NO_RUN = "no run selected: press r first, then pick a row in the runs table"


def probe_device() -> str:
    """The device `auto` picks here, described; asked of the helper process (the lab never imports torch)."""
    return checker.device_name("auto")


class LabApp(App):
    """Presets on the left, their parameters and description; live plots and the runs table on the right."""

    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses elsewhere find it too
    TITLE = "dltui"
    ENABLE_COMMAND_PALETTE = False
    # The footer shows the keys a first look needs, in short labels that fit 80 columns; ? lists them all.
    # In a text field letters are typed: the field's own keys (form.FIELD_KEYS) act there, and the footer shows them.
    BINDINGS = [
        Binding("r", "run", "run"),
        Binding("s", "stop", "stop"),
        Binding("space", "pause", "pause", show=False),
        Binding("v", "next_view", "view"),
        Binding("n", "next_run", "run▸"),
        Binding("l", "log", "log y"),
        Binding("x", "xaxis", "x axis"),
        Binding("m", "smooth", "smooth", show=False),
        Binding("e", "export", "export", show=False),
        Binding("R", "rerun", "re-run", show=False),
        Binding("i", "card", "card", show=False),
        Binding("p", "past", "past runs", show=False),
        Binding("slash", "filter", "filter", key_display="/", show=False),
        Binding("L", "lrfind", "lr range test", show=False),  # in the keys screen's MORE_KEYS
        Binding("question_mark", "help", "keys", key_display="?"),
        Binding("q", "quit", "quit"),
        Binding("ctrl+q", "quit", "quit", show=False, priority=True),
        Binding("ctrl+c", "quit", "quit", show=False, priority=True),  # what a terminal user reaches for
        Binding("escape", "leave_field", "leave the form", show=False),
    ]
    LAB_ONLY = {b.action for b in BINDINGS} - {
        "help",
        "quit",
    }  # the keys that act on the lab's own screen only
    DRAIN_S = 0.1
    REDRAW_S = 0.1  # a tick redraws at most one plot (see PlotPanel.draw_next)

    def __init__(
        self,
        preset: str | None = None,
        runs_dir: Path | None = None,
        data_dir: Path | None = None,
        *,
        presets: list[Preset] | None = None,
        worker_factory: Callable[..., Any] = TrainingProcess,
        device_probe: Callable[[], str] = probe_device,
        watch: list[str] | None = None,
        watch_preset: str | None = None,
    ):
        super().__init__()
        # runs to open at once, followed live, in the past-runs screen (`dltui watch`; not `self.watch`: a method)
        self.watch_ids = list(watch or [])
        self.watch_preset = watch_preset  # and that preset's runs as they start
        # Training processes need multiprocessing's resource tracker, which must start while sys.stderr is
        # still the real one (inside the app it is Textual's capture, which has no file descriptor).
        resource_tracker.ensure_running()
        self.presets = list(presets) if presets is not None else presets_mod.load_all()
        names = [p.name for p in self.presets]
        if preset is not None and preset not in names:
            self.presets.insert(0, presets_mod.load(preset))  # a user's own preset file
        self.first = 0 if preset is None or preset not in names else names.index(preset)
        self.preset: Preset = self.presets[self.first]
        self.store = RunStore(runs_dir)
        self.data_dir = Path(data_dir) if data_dir else default_data_dir()
        self.opts = ViewOptions()
        self.mounted = False  # the preset list's first highlight may come before on_mount: it waits for it
        # The main screen's widgets, held so that timers and keys reach them while another screen is on top.
        self.panel = PlotPanel(id="plots")
        self.table = DataTable(id="runs", cursor_type="row")
        self.status_bar = StatusBar(id="status")
        self.tasks = Tasks(self)
        self.device = DeviceHeader(self, self.tasks, device_probe)
        self.runs_table = RunsTable(self.table)
        self.control = RunControl(
            self,
            self.tasks,
            self.store,
            self.data_dir,
            self.presets,
            worker_factory,
            on_batch=self.show_batch,
            on_change=self.update_status,
        )
        self.exporter = Exporter(self, self.tasks, self.store)
        self.range_test = RangeTest(self, self.tasks, self.store.root, self.data_dir)

    # -- layout -------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="main"):
            with VerticalScroll(id="sidebar"):
                yield ListView(
                    *[ListItem(Label(p.name), id=f"preset-{i}") for i, p in enumerate(self.presets)],
                    id="presets",
                    initial_index=self.first,
                )
                yield Container(id="form-box")
                yield Static(id="about")
            with Vertical(id="work"):
                yield self.panel
                yield Field(
                    placeholder="show only the variants holding these words (enter: back)",
                    id="variant-filter",
                    compact=True,
                )
                yield self.status_bar
                yield self.table
        yield Footer(compact=True)

    async def on_mount(self) -> None:
        self.mounted = True
        self.runs_table.add_columns()
        self.main.query_one("#variant-filter", Input).display = False  # until / is pressed
        self.set_interval(self.DRAIN_S, self.drain)
        self.set_interval(self.REDRAW_S, self.redraw)
        self.device.start()
        await self.select_preset(self.preset)
        self.main.query_one("#presets", ListView).focus()
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

    @property
    def closing(self) -> bool:
        """True once the app is taking its widgets down (timers may still fire then)."""
        return not self.table.is_attached

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool:
        """The lab's keys act on the lab's screen; over another screen (past runs) only ? and quit do, so that its
        footer shows its own keys and `r` there does not start the lab's preset out of sight."""
        return len(self.screen_stack) <= 1 or action not in self.LAB_ONLY

    @on(TaskWorker.StateChanged)
    async def task_changed(self, event: TaskWorker.StateChanged) -> None:
        """The one place background tasks end: each goes to the handler of the collaborator that started it."""
        await self.tasks.changed(event.worker)

    # -- presets and the form -------------------------------------------------------------------
    @on(ListView.Highlighted, "#presets")
    async def preset_highlighted(self, event: ListView.Highlighted) -> None:
        if event.item is not None and self.mounted:
            await self.select_preset(self.presets[int(event.item.id.split("-")[1])])

    @on(ListView.Selected, "#presets")
    def preset_chosen(self) -> None:
        inputs = self.main.query("#form-box Input")
        if inputs:
            inputs.first().focus()

    async def select_preset(self, preset: Preset) -> None:
        """Show a preset's description and form; its plots too, unless a run of another is live."""
        if self.is_mounted_form(preset):
            return
        self.preset = preset
        self.main.query_one("#about", Static).update(describe(preset))
        box = self.main.query_one("#form-box", Container)
        await box.remove_children()
        await box.mount(ParamForm(preset, id="form"))
        if self.batch is None or not self.batch.live:
            self.control.forget()
            await self.show_batch(None)

    def is_mounted_form(self, preset: Preset) -> bool:
        forms = self.main.query(ParamForm)
        return bool(forms) and forms.first().preset is preset

    @on(Input.Submitted, "#form-box Input")
    def field_submitted(self) -> None:
        self.action_run_from_field()

    async def show_batch(self, batch: RunGroup | None) -> None:
        """Point the plots and the table at a batch of runs (or an empty one for the selected preset)."""
        preset = self.preset if batch is None else next(p for p in self.presets if p.name == batch.preset)
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
            self.notify(message, severity=severity, timeout=NOTICE_S)
        self.runs_table.mark(applied.rows)
        if applied.data:
            self.panel.mark_stale()
        if applied.done:
            self.runs_table.flush()
            self.replot()  # the final picture, every plot at once
        self.update_status()

    def redraw(self) -> None:
        """One piece of screen work per tick, so that no frame is long: the table's changed rows (at most
        TABLE_S apart), or one plot with new data (see PlotPanel.draw_next)."""
        if self.closing:
            return
        if self.runs_table.due:
            self.runs_table.flush()
        else:
            self.panel.draw_next(self.shown_runs(), self.opts)

    def replot(self) -> None:
        """Redraw every plot now: the axes or the runs changed."""
        self.panel.draw(self.shown_runs(), self.opts)
        self.update_status()

    def shown_runs(self) -> list:
        """The runs the plots show (those the variant filter lets through), with the runs table's cursor row as
        the selected run."""
        runs = self.batch.runs if self.batch else {}
        selected = self.selected_variant
        self.opts.selected = (runs[selected].run_id or None) if selected in runs else None
        return narrowed(list(runs.values()), self.opts.only)

    def update_status(self) -> None:
        line = partial(status_line, self.control, self.preset, self.opts)
        self.status_bar.show(line(), line(short=True))

    @on(DataTable.RowHighlighted, "#runs")
    def run_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.runs_table.selected = event.row_key.value
        self.panel.mark_stale()

    # -- the variant filter (/) -------------------------------------------------------------------
    def action_filter(self) -> None:
        """Show the variant filter and type in it."""
        box = self.main.query_one("#variant-filter", Input)
        box.display = True
        box.focus()

    @on(Input.Changed, "#variant-filter")
    def filter_changed(self, event: Input.Changed) -> None:
        self.opts.only = event.value
        self.replot()

    @on(Input.Submitted, "#variant-filter")
    def filter_done(self) -> None:
        """Back to the runs table; an empty filter goes out of sight."""
        box = self.main.query_one("#variant-filter", Input)
        box.display = bool(box.value.strip())
        self.table.focus()

    # -- keys -------------------------------------------------------------------------------------
    def action_run(self) -> None:
        """Run every variant of the selected preset with the form's values."""
        self.control.run(self.main.query_one(ParamForm))

    def action_run_from_field(self) -> None:
        """Enter or ctrl+r in a field runs; the runs table takes the focus, so that the one-letter keys work again."""
        self.action_run()
        if self.starting:
            self.table.focus()

    def action_stop(self) -> None:
        self.control.stop()

    def action_pause(self) -> None:
        self.control.toggle_pause()

    def action_rerun(self) -> None:
        run_id = self.runs_table.cursor_run()
        if run_id is None:
            self.notify(NO_RUN, severity="warning")
            return
        self.rerun(run_id)

    def rerun(self, run_id: str) -> None:
        """Run `run_id` again with its exact config (past runs' R comes here too)."""
        self.control.rerun(run_id)

    def action_export(self) -> None:
        """Export the runs in the table (those that have started) as PNG and CSV."""
        self.export([r.run_id for r in self.batch.list() if r.run_id] if self.batch else [])

    def export(self, run_ids: list[str], opts: ViewOptions | None = None) -> None:
        """Export these runs on the x-axis and smoothing of `opts` (the calling screen's; default the lab's)."""
        self.exporter.export(run_ids, opts or self.opts)

    def action_lrfind(self) -> None:
        self.range_test.start(self.main.query_one(ParamForm), self.selected_variant)

    @on(DataTable.RowSelected, "#runs")
    def action_card(self) -> None:
        """The selected run's card: seed, device, versions, config, duration, status."""
        run_id = self.runs_table.cursor_run()
        if run_id is None:
            self.notify(NO_RUN, severity="warning")
            return
        try:
            self.push_screen(RunCardScreen(self.store.get(run_id)))
        except BadInput as e:
            self.notify(str(e), title="no run card", severity="error")

    def action_log(self) -> None:
        toggle_log(self.opts)
        self.replot()

    def action_xaxis(self) -> None:
        next_x(self.opts)
        self.replot()

    def action_smooth(self) -> None:
        """Cycle the curves' smoothing: off, 0.6, 0.9, 0.97."""
        next_smoothing(self.opts)
        self.replot()

    def action_next_view(self) -> None:
        self.panel.cycle()
        self.replot()

    def action_next_run(self) -> None:
        """The next run in the runs table: the one the one-run views (learned function, gradient norms,
        regions, per-class accuracy) show."""
        if not self.runs_table.next_run():
            self.notify("no runs yet: press r", severity="warning")

    def action_leave_field(self) -> None:
        """Out of a text field to where the one-letter keys work: from the variant filter to the runs table,
        from a form field (or the table) to the preset list."""
        if self.focused is self.main.query_one("#variant-filter", Input):
            self.filter_done()
        else:
            self.main.query_one("#presets", ListView).focus()

    def action_help(self) -> None:
        self.push_screen(HelpScreen([b for b in self.BINDINGS if not b.priority and b.key != "escape"]))

    def action_past(self) -> None:
        self.push_screen(PastRunsScreen(self.store, self.presets))

    async def action_quit(self) -> None:
        """Stop the runs cleanly (their status `interrupted`), then leave."""
        await self.control.wind_down(self.drain)
        self.exit(0)

    async def on_unmount(self) -> None:
        self.control.close()

    # -- what tests and the other screens read ----------------------------------------------------
    @property
    def batch(self) -> RunGroup | None:
        """The runs the last r started (or None once another preset is shown)."""
        return self.control.batch

    @property
    def worker(self) -> Any:
        return self.control.worker

    @property
    def starting(self) -> bool:
        return self.control.starting

    @property
    def selected_variant(self) -> str | None:
        """The runs table's cursor row: the run one-run views show."""
        return self.runs_table.selected


def describe(preset: Preset) -> Text:
    """The description panel: title, what it shows, the seed question, the variants."""
    t = Text()
    t.append(preset.title + "\n", style="bold")
    t.append(preset.shows + "\n", style="italic")
    if preset.seeds:
        t.append(f"answers: {preset.seeds}\n", style="dim")
    t.append(f"runs: {variants_text([v.name for v in preset.variants], preset.sweep)}\n\n", style="dim")
    t.append(" ".join(preset.description.split()))
    return t


def run_app(
    preset: str | None = None,
    runs_dir: Path | None = None,
    data_dir: Path | None = None,
    executors: Callable[..., Any] | None = None,
    watch: list[str] | None = None,
    watch_preset: str | None = None,
) -> int:
    """Open the lab; returns the exit code. `executors` makes where a batch runs (default: a TrainingProcess);
    `watch`: runs to open at once in the past-runs screen, followed live (with `watch_preset`'s runs as they start)."""
    app = LabApp(
        preset,
        runs_dir,
        data_dir,
        worker_factory=executors or TrainingProcess,
        watch=watch,
        watch_preset=watch_preset,
    )
    app.run()
    return app.return_code or 0
