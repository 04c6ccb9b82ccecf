"""The Textual lab: pick a preset, tune it, watch it learn live, compare runs.

Training runs in a separate process (core/worker.py); a timer drains its events into the run
buffers, and another redraws the plots at most ~5 times a second when new data has arrived.
The lab never imports torch: a helper process (core/checker.py) names the device and checks a run's
values before it starts, and the training process reports the device it trains on.
"""
from __future__ import annotations

import asyncio
import gc
import json
import subprocess
import sys
import time
from datetime import datetime
from multiprocessing import resource_tracker
from pathlib import Path
from typing import Any, Callable

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Container, Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Footer, Header, Input, Label, ListItem, ListView, Static
from textual.worker import Worker as TaskWorker, WorkerState

from dltui.core import presets as presets_mod
from dltui.core import checker, runner
from dltui.core.config import from_dict
from dltui.core.data import default_data_dir
from dltui.core.errors import BadInput
from dltui.core.export import export_runs
from dltui.core.present import X_AXES, X_LABELS, run_label, status_text
from dltui.core.presets import Preset
from dltui.core.store import RunStore
from dltui.core.sweeps import variants_text
from dltui.core.worker import TrainingProcess
from dltui.tui.form import ParamForm
from dltui.tui.plots import PlotPanel
from dltui.tui.screens import SMOOTHING, HelpScreen, PastRunsScreen, RunCardScreen
from dltui.tui.session import RunGroup
from dltui.tui.viewkit import ViewOptions, narrowed, views_for

EXPORT_FORMATS = ("png", "csv")
# (key, label, width), in the order a narrow table keeps them: fixed widths, so that live updates never
# re-lay out the screen (None: fit the content)
COLUMNS = (("variant", "variant", None), ("status", "status", 11), ("epoch", "epoch", 9), ("acc", "accuracy", 8),
           ("train", "train loss", 10), ("test", "test loss", 10), ("best", "best epoch", 10), ("note", "note", None))
ROW_FIELDS = ("variant", "status", "epoch", "train", "test", "acc", "best", "note")  # the order of RunGroup.row's cells
NARROW = 110  # columns below which the layout stacks the plots and shrinks the side bar
SHORT = 32  # rows below which one plot is shown at a time
QUIT_WAIT_S = 1.5
FINDING_DEVICE = "finding the device…"  # the header until the helper process has named it
TABLE_S = 0.25  # the runs table is rewritten at most 4 times a second
NOTICE_S = 10  # how long a notice about a run or an export stays up


def probe_device() -> str:
    """The device `auto` picks here, described; asked of the helper process (the lab never imports torch)."""
    return checker.device_name("auto")


class LabApp(App):
    """Presets on the left, their parameters and description; live plots and the runs table on the right."""

    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses elsewhere find it too
    TITLE = "dltui"
    ENABLE_COMMAND_PALETTE = False
    # The footer shows the keys a first look needs, in short labels that fit 80 columns; ? lists them all.
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
    DRAIN_S = 0.1
    REDRAW_S = 0.1  # a tick redraws at most one plot (see PlotPanel.draw_next)

    def __init__(self, preset: str | None = None, runs_dir: Path | None = None, data_dir: Path | None = None, *,
                 presets: list[Preset] | None = None, worker_factory: Callable[..., Any] = TrainingProcess,
                 device_probe: Callable[[], str] = probe_device, watch: list[str] | None = None,
                 watch_preset: str | None = None):
        super().__init__()
        self.watch = list(watch or [])  # runs to open at once, followed live, in the past-runs screen (`dltui watch`)
        self.watch_preset = watch_preset  # and that preset's runs as they start
        # Training processes need multiprocessing's resource tracker, which must start while sys.stderr is
        # still the real one (inside the app it is Textual's capture, which has no file descriptor).
        resource_tracker.ensure_running()
        self.presets = list(presets) if presets is not None else presets_mod.load_all()
        names = [p.name for p in self.presets]
        if preset is not None and preset not in names:
            self.presets.insert(0, presets_mod.load(preset))  # a user's own preset file
        self.first = 0 if preset is None or preset not in names else names.index(preset)
        self.store = RunStore(runs_dir)
        self.data_dir = Path(data_dir) if data_dir else default_data_dir()
        self.worker_factory = worker_factory
        self.device_probe = device_probe
        self.preset: Preset = self.presets[self.first]
        self.batch: RunGroup | None = None  # the runs the last r started
        self.worker: Any = None
        self.opts = ViewOptions()
        self.starting = False
        self.panel: PlotPanel | None = None  # set on mount, with the runs table and the status line
        self.stale_rows: set[str] = set()  # table rows with news not yet shown
        self.rows_at = 0.0
        self.selected_variant: str | None = None  # the runs table's cursor row: the run one-run views show

    # -- layout -------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="main"):
            with VerticalScroll(id="sidebar"):
                yield ListView(*[ListItem(Label(p.name), id=f"preset-{i}") for i, p in enumerate(self.presets)],
                               id="presets", initial_index=self.first)
                yield Container(id="form-box")
                yield Static(id="about")
            with Vertical(id="work"):
                yield PlotPanel(id="plots")
                yield Input(placeholder="show only the variants holding these words (enter: back)", id="variant-filter",
                            compact=True)
                yield Static(id="status")
                yield DataTable(id="runs", cursor_type="row")
        yield Footer(compact=True)

    async def on_mount(self) -> None:
        self.sub_title = FINDING_DEVICE
        # The main screen's widgets, held so that timers and keys reach them while another screen is on top.
        self.panel = self.main.query_one(PlotPanel)
        self.table = self.main.query_one("#runs", DataTable)
        self.status_bar = self.main.query_one("#status", Static)
        for key, label, width in COLUMNS:
            self.table.add_column(label, key=key, width=width)
        self.main.query_one("#variant-filter", Input).display = False  # until / is pressed
        self.set_interval(self.DRAIN_S, self.drain)
        self.set_interval(self.REDRAW_S, self.redraw)
        self.load_device()
        await self.select_preset(self.preset)
        self.main.query_one("#presets", ListView).focus()
        self.fit(self.size)
        if self.watch:
            self.push_screen(PastRunsScreen(self.store, self.presets, open_ids=self.watch, follow_preset=self.watch_preset))

    def on_resize(self, event) -> None:
        self.fit(event.size)

    def fit(self, size) -> None:
        """Narrow: plots stacked, a slimmer side bar. Short: one plot at a time (v shows the next)."""
        self.set_class(size.width < NARROW, "-narrow")
        self.set_class(size.height < SHORT, "-short")

    @work(thread=True, exit_on_error=False, group="device")
    def load_device(self) -> str:
        """Ask for the device in the background and put it in the header."""
        return self.device_probe()

    # -- presets and the form -------------------------------------------------------------------
    @on(ListView.Highlighted, "#presets")
    async def preset_highlighted(self, event: ListView.Highlighted) -> None:
        if event.item is not None and self.panel is not None:
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
            await self.show_batch(None)

    def is_mounted_form(self, preset: Preset) -> bool:
        forms = self.main.query(ParamForm)
        return bool(forms) and forms.first().preset is preset

    @on(Input.Changed, "#form-box Input")
    def field_changed(self) -> None:
        self.main.query_one(ParamForm).show_errors()

    @on(Input.Submitted, "#form-box Input")
    def field_submitted(self) -> None:
        """Enter in a field runs; the runs table takes the focus, so that the one-letter keys work again."""
        self.action_run()
        if self.starting:
            self.table.focus()

    async def show_batch(self, batch: RunGroup | None) -> None:
        """Point the plots and the table at a batch of runs (or an empty one for the selected preset)."""
        self.batch = batch
        preset = self.preset if batch is None else next(p for p in self.presets if p.name == batch.preset)
        await self.panel.show(views_for(preset.views, [p for _, c in preset.configs() for p in c.probes]))
        table = self.table
        table.clear()
        self.stale_rows.clear()
        for run in batch.list() if batch else []:
            table.add_row(*self.cells(run.variant), key=run.variant)
        self.selected_variant = None
        if batch is not None and preset.focus in batch.runs:
            table.move_cursor(row=list(batch.runs).index(preset.focus))  # its highlight selects it
            self.selected_variant = preset.focus
        self.replot()

    # -- running ----------------------------------------------------------------------------------
    def action_run(self) -> None:
        """Run every variant of the selected preset with the form's values."""
        if self.starting or (self.batch is not None and self.batch.live):
            self.notify("a run is already going; press s to stop it first", severity="warning")
            return
        form = self.main.query_one(ParamForm)
        form.show_errors()
        errors = form.errors()
        if errors:
            self.notify("\n".join(errors.values()), title="cannot run: fix the marked field", severity="error")
            return
        try:
            plans = runner.plan(form.preset, form.overrides())
        except BadInput as e:
            self.notify(str(e), title="cannot run", severity="error")
            return
        self.starting = True
        self.update_status()
        self.start_runs(form.preset, plans)

    @work(thread=True, exclusive=True, exit_on_error=False, group="start")
    def start_runs(self, preset: Preset, plans: list[runner.RunPlan]) -> tuple[RunGroup, Any]:
        """Check everything a user could get wrong, then start the training process."""
        checker.preflight(plans, self.store.root, self.data_dir)
        return RunGroup(preset.name, plans), self.worker_factory(plans, self.store.root, self.data_dir).start()

    @on(TaskWorker.StateChanged)
    async def task_changed(self, event: TaskWorker.StateChanged) -> None:
        """The one place that handles the background tasks' results and failures."""
        w = event.worker
        if w.group == "device" and w.state == WorkerState.SUCCESS:
            self.sub_title = w.result
        elif w.group == "device" and w.state == WorkerState.ERROR:
            self.sub_title = "device unknown"
            self.notify(f"the device could not be found (torch did not load?): {w.error}", severity="error")
        elif w.group == "start" and w.state == WorkerState.SUCCESS:
            self.starting = False
            batch, self.worker = w.result
            await self.show_batch(batch)
            # What the app holds while it trains goes out of the collector's full passes (each one a stall
            # of the UI, docs/performance.md). The young generations' garbage goes first (a short pass; a full
            # one now would be the stall); garbage cycles already old stay until the app exits.
            gc.collect(1)
            gc.freeze()
        elif w.group == "export" and w.state == WorkerState.SUCCESS:
            out_dir, n = w.result
            self.notify(f"{n} files in {out_dir}", title="exported", timeout=NOTICE_S)
        elif w.group == "export" and w.state == WorkerState.ERROR:
            err = w.error
            self.notify(str(err) if isinstance(err, BadInput) else f"{type(err).__name__}: {err}",
                        title="export failed", severity="error", timeout=NOTICE_S)
        elif w.group == "lrfind" and w.state == WorkerState.SUCCESS:
            code, last = w.result
            self.notify("lr range test saved: open it in past runs (p)" if code == 0 else f"lr range test: {last}",
                        severity="information" if code == 0 else "error", timeout=NOTICE_S)
        elif w.group == "start" and w.state == WorkerState.ERROR:
            self.starting = False
            err = w.error
            self.notify(str(err) if isinstance(err, BadInput) else f"{type(err).__name__}: {err}",
                        title="cannot run", severity="error", timeout=NOTICE_S)
            self.update_status()

    @property
    def main(self):
        """The lab's own screen (the keys and past-runs screens go on top of it)."""
        return self.screen_stack[0]

    @property
    def closing(self) -> bool:
        """True once the app is taking its widgets down (timers may still fire then)."""
        return not self.table.is_attached

    def drain(self) -> None:
        """Move the worker's events into the run buffers (no redraw here)."""
        if self.worker is None or self.batch is None or self.closing:
            return
        events = self.worker.drain()
        if not events:
            return
        applied = self.batch.apply(events)
        if applied.device:
            self.sub_title = applied.device  # the training process's own word for its device
        for message, severity in applied.notices:
            self.notify(message, severity=severity, timeout=NOTICE_S)
        self.stale_rows |= applied.rows
        if applied.data:
            self.panel.mark_stale()
        if applied.done:
            self.reap(self.worker)
            self.worker = None
            self.flush_rows()
            self.replot()  # the final picture, every plot at once
        self.update_status()

    @work(thread=True, group="reap")
    def reap(self, worker: Any) -> None:
        """Wait for a finished training process to exit, off the UI thread."""
        worker.join(5)

    def cells(self, variant: str) -> list[Any]:
        cell = dict(zip(ROW_FIELDS, self.batch.row(variant)))
        cell["variant"] = run_label(variant, self.batch.runs[variant].colour)
        cell["status"] = status_text(cell["status"])
        return [cell[key] for key, _, _ in COLUMNS]

    def shown_runs(self) -> list:
        """The runs the plots show (those the variant filter lets through), with the runs table's cursor row as
        the selected run."""
        runs = self.batch.runs if self.batch else {}
        self.opts.selected = (runs[self.selected_variant].run_id or None) if self.selected_variant in runs else None
        return narrowed(list(runs.values()), self.opts.only)

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
    def filter_done(self, event: Input.Submitted) -> None:
        """Back to the runs table; an empty filter goes out of sight."""
        event.input.display = bool(event.value.strip())
        self.table.focus()

    def redraw(self) -> None:
        """One piece of screen work per tick, so that no frame is long: the table's changed rows (at most
        TABLE_S apart), or one plot with new data (see PlotPanel.draw_next)."""
        if self.closing:
            return
        if self.stale_rows and time.monotonic() - self.rows_at >= TABLE_S:
            self.flush_rows()
        else:
            self.panel.draw_next(self.shown_runs(), self.opts)

    def flush_rows(self) -> None:
        """Write the changed rows into the runs table."""
        table = self.table
        for variant in self.stale_rows:
            for (key, _, width), value in zip(COLUMNS, self.cells(variant)):
                table.update_cell(variant, key, value, update_width=width is None and bool(value))
        self.stale_rows.clear()
        self.rows_at = time.monotonic()

    def update_status(self) -> None:
        self.status_bar.update(status_line(self), layout=False)  # one fixed line

    # -- keys -------------------------------------------------------------------------------------
    def action_stop(self) -> None:
        if self.worker is None:
            self.notify("nothing is running", severity="warning")
            return
        self.worker.stop()
        self.notify("stopping: the running run ends as interrupted")

    def action_pause(self) -> None:
        if self.worker is None:
            self.notify("nothing is running", severity="warning")
            return
        self.worker.toggle_pause()
        self.update_status()

    def action_smooth(self) -> None:
        """Cycle the curves' smoothing: off, 0.6, 0.9, 0.97."""
        self.opts.smooth = SMOOTHING[(SMOOTHING.index(self.opts.smooth) + 1) % len(SMOOTHING)]
        self.replot()

    def cursor_run(self) -> str | None:
        """The run id of the runs table's cursor row, if that run has started."""
        if self.batch is None or not self.table.row_count:
            return None
        variant = self.table.coordinate_to_cell_key(self.table.cursor_coordinate).row_key.value
        return self.batch.runs[variant].run_id or None

    def action_export(self) -> None:
        """Export the runs in the table (those that have started) as PNG and CSV."""
        self.export([r.run_id for r in self.batch.list() if r.run_id] if self.batch else [])

    def export(self, run_ids: list[str], opts: ViewOptions | None = None) -> None:
        """Export these runs to ./exports/<time>/ in a thread, smoothed and on the x-axis of `opts` (the
        calling screen's); a notice says where, or what went wrong."""
        if not run_ids:
            self.notify("no runs to export yet: press r (or mark runs in past runs, p)", severity="warning")
            return
        out_dir = Path.cwd() / "exports" / datetime.now().strftime("%Y%m%d-%H%M%S")
        self.notify(f"exporting {len(run_ids)} runs to {out_dir}…")
        opts = opts or self.opts
        self.export_in_thread(run_ids, out_dir, opts.smooth, opts.x)

    @work(thread=True, exit_on_error=False, group="export")
    def export_in_thread(self, run_ids: list[str], out_dir: Path, smooth: float, x: str) -> tuple[Path, int]:
        """matplotlib is slow: never on the UI thread."""
        infos = [self.store.get(r) for r in run_ids]
        return out_dir, len(export_runs(infos, out_dir, EXPORT_FORMATS, smooth=smooth, x=x))

    def action_rerun(self) -> None:
        run_id = self.cursor_run()
        if run_id is None:
            self.notify("no run selected: press r first, then pick a row in the runs table", severity="warning")
            return
        self.rerun(run_id)

    def rerun(self, run_id: str) -> None:
        """Run `run_id` again with its exact config (from its config.json): a new run id, the same names."""
        if self.starting or (self.batch is not None and self.batch.live):
            self.notify("a run is already going; press s to stop it first", severity="warning")
            return
        try:
            info = self.store.get(run_id)
            preset = next((p for p in self.presets if p.name == info.status.get("preset")), None)
            if preset is None:
                raise BadInput(f"run {run_id}: its preset '{info.status.get('preset')}' is not loaded; "
                               f"use `dltui run` with its config instead")
            plans = [runner.RunPlan(preset.name, info.status.get("variant", "run"), from_dict(info.config))]
        except BadInput as e:
            self.notify(str(e), title="cannot re-run", severity="error")
            return
        self.starting = True
        self.update_status()
        self.start_runs(preset, plans)

    @on(DataTable.RowSelected, "#runs")
    def action_card(self) -> None:
        """The selected run's card: seed, device, versions, config, duration, status."""
        run_id = self.cursor_run()
        if run_id is None:
            self.notify("no run selected: press r first, then pick a row in the runs table", severity="warning")
            return
        try:
            self.push_screen(RunCardScreen(self.store.get(run_id)))
        except BadInput as e:
            self.notify(str(e), title="no run card", severity="error")

    def action_log(self) -> None:
        self.opts.log = not self.opts.log
        self.replot()

    def action_xaxis(self) -> None:
        self.opts.x = X_AXES[(X_AXES.index(self.opts.x) + 1) % len(X_AXES)]
        self.replot()

    def replot(self) -> None:
        """Redraw every plot now: the axes or the runs changed."""
        self.panel.draw(self.shown_runs(), self.opts)
        self.update_status()

    @on(DataTable.RowHighlighted, "#runs")
    def run_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.selected_variant = event.row_key.value
        self.panel.mark_stale()

    def action_next_run(self) -> None:
        """The next run in the runs table: the one the one-run views (learned function, gradient norms,
        regions, per-class accuracy) show."""
        if not self.table.row_count:
            self.notify("no runs yet: press r", severity="warning")
            return
        self.table.move_cursor(row=(self.table.cursor_row + 1) % self.table.row_count)

    def action_next_view(self) -> None:
        self.panel.cycle()
        self.replot()

    def action_leave_field(self) -> None:
        """Back from a form field to the preset list, where the one-letter keys work."""
        self.main.query_one("#presets", ListView).focus()

    def action_help(self) -> None:
        self.push_screen(HelpScreen([b for b in self.BINDINGS if not b.priority and b.key != "escape"]))

    def action_past(self) -> None:
        self.push_screen(PastRunsScreen(self.store, self.presets))

    def action_lrfind(self) -> None:
        """The lr range test of the selected variant, with the form's values: `dltui lrfind` in a process of its
        own (the lab never trains in its own process), saved as a run; its curve is in past runs (p)."""
        form = self.main.query_one(ParamForm)
        errors = form.errors()
        if errors:
            self.notify("\n".join(errors.values()), title="cannot run: fix the marked field", severity="error")
            return
        preset, variant = form.preset, self.selected_variant or form.preset.variants[0].name
        self.notify(f"lr range test of {preset.name} / {variant} started; p shows it when it is done", timeout=NOTICE_S)
        self.range_test(lrfind_command(preset, variant, form.overrides(), self.store.root, self.data_dir))

    @work(thread=True, exclusive=True, exit_on_error=False, group="lrfind")
    def range_test(self, command: list[str]) -> tuple[int, str]:
        done = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        lines = [line for line in (done.stderr or done.stdout).splitlines() if line.strip()]
        return done.returncode, lines[-1] if lines else ""

    async def action_quit(self) -> None:
        """Stop the runs cleanly (their status `interrupted`), then leave."""
        await self.wind_down()
        self.exit(0)

    async def wind_down(self) -> None:
        """Ask the training process to stop and wait briefly for its last events."""
        if self.worker is None:
            return
        self.worker.stop()
        deadline = time.monotonic() + QUIT_WAIT_S
        while self.worker is not None and time.monotonic() < deadline:
            self.drain()
            await asyncio.sleep(0.05)
        if self.worker is not None:
            self.worker.join(0.2)

    async def on_unmount(self) -> None:
        if self.worker is not None:
            self.worker.stop()
            self.worker.join(1)


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


def status_line(app: LabApp) -> Text:
    """One line under the plots: what is running, and how the plots are drawn."""
    t = Text()
    b = app.batch
    if app.starting:
        t.append(f"{app.preset.name}: checking and starting…", style="cyan")
    elif b is not None:
        ended = sum(r.status not in ("queued", "running") for r in b.list())
        state = "running" if b.live else "done"
        if b.live and app.worker is not None and app.worker.paused:
            state = "paused"
        t.append(f"{b.preset}: {state}, {ended}/{len(b.runs)} runs ended", style="cyan" if b.live else "")
    else:
        t.append(f"{app.preset.name}: press r to run {len(app.preset.variants)} runs")
    # The y-axis is named only when l has made it log: views with their own log axes say so in their titles.
    t.append(f"   x: {X_LABELS[app.opts.x]}" + ("  y: log" if app.opts.log else ""), style="dim")
    if app.opts.smooth:
        t.append(f"  smoothed {app.opts.smooth:g}", style="dim")
    return t


def run_app(preset: str | None = None, runs_dir: Path | None = None, data_dir: Path | None = None,
            executors: Callable[..., Any] | None = None, watch: list[str] | None = None,
            watch_preset: str | None = None) -> int:
    """Open the lab; returns the exit code. `executors` makes where a batch runs (default: a TrainingProcess);
    `watch`: runs to open at once in the past-runs screen, followed live (with `watch_preset`'s runs as they start)."""
    app = LabApp(preset, runs_dir, data_dir, worker_factory=executors or TrainingProcess, watch=watch,
                 watch_preset=watch_preset)
    app.run()
    return app.return_code or 0


def lrfind_command(preset: Preset, variant: str, overrides: dict[str, Any], runs_dir: Path, data_dir: Path) -> list[str]:
    """`dltui lrfind` for one variant of `preset` with the form's overrides (as --set KEY=VALUE, JSON being TOML)."""
    source = preset.name if preset.name in presets_mod.preset_names() else str(Path(preset.source).resolve())
    sets = [arg for k, v in overrides.items() for arg in ("--set", f"{k}={json.dumps(v)}")]
    return [sys.executable, "-m", "dltui", "lrfind", source, "--variant", variant, *sets,
            "--runs-dir", str(runs_dir), "--data-dir", str(data_dir)]
