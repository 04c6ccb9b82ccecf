"""The keys screen, the run card, and the past-runs screen (the runs dir: open one run's curves, overlay several)."""

from __future__ import annotations

import gc
import time

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Header, Input, Static
from textual.worker import Worker as TaskWorker
from textual.worker import WorkerState

from ...core.readout.colours import run_label
from ...core.readout.runcard import run_card  # the same card as `dltui show`'s
from ...core.rules.errors import BadInput
from ...core.rules.numbers import fmt, pct
from ...core.spec.presets import Preset
from ...core.store import stoprequest
from ...core.store.batches import new_rows
from ...core.store.folder import RunInfo, RunStore
from ...core.store.index import Row, listing
from ...core.store.watcher import Watcher
from ..live import grown, live_row
from ..livetable import LiveTable
from ..plotkeys import next_smoothing, next_x, toggle_log
from ..plots import PlotPanel
from ..viewkit import RunData, ViewOptions, run_datas
from ..views.instruments import HELP as INSTRUMENT_HELP

MORE_KEYS = (
    ("enter, ctrl+r", "in a form field: run with these values"),
    ("f1", "these keys, from a form field too"),
    ("escape", "leave a form field / close a screen"),
    ("/", "filter: the variants plotted (lab), the runs listed (past runs)"),
    ("tab", "next widget (presets, form, runs table)"),
    ("ctrl+c, ctrl+q", "quit from anywhere (running runs end interrupted)"),
)
HELP = {
    "next_run": "next run: the one that one-run views show",
    "lrfind": "lr range test of the selected variant (a run; p draws it)",
    "past": "past runs: open, overlay, export saved runs",
    "log": "log / linear y-axis",
    "next_view": "next view",
}
PAST_VIEWS = ("loss", "accuracy")


class HelpScreen(ModalScreen):
    """The keys, and what they do."""

    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "close")]

    def __init__(self, bindings: list[Binding]):
        super().__init__()
        self.keys = [(b.key_display or b.key, HELP.get(b.action, b.description)) for b in bindings]

    def compose(self) -> ComposeResult:
        t = Text()
        t.append("keys\n\n", style="bold")
        for key, what in [*self.keys, *MORE_KEYS]:
            t.append(f"{key:>8}  ", style="bold cyan")
            t.append(what + "\n")
        t.append(
            "\nx cycles the x-axis: epoch, update (step), wall-clock seconds: the fair axes\n"
            "to compare full-batch with minibatch runs. Space pauses and resumes training.\n"
            "m: smoothing off/0.6/0.9/0.97 (causal, debiased; the raw curve stays in grey).\n"
            "e: PNG+CSV of the runs to ./exports/<time>/. R: same config again. i: run card.\n"
            "In past runs: space marks, enter overlays, e exports the marked runs;\n"
            "l x m v i R s act there as here.",
            style="dim",
        )
        t.append("\n\ninstruments (probes)\n", style="bold")
        t.append("\n".join(INSTRUMENT_HELP), style="dim")
        with VerticalScroll(id="help-scroll"):  # a short terminal scrolls the help (arrow keys, wheel)
            yield Static(t, id="help-text")


class RunCardScreen(ModalScreen):
    """One run's card: seed, device, torch and CUDA, duration, status and reason, the resolved config."""

    BINDINGS = [Binding("escape,i,q", "dismiss", "close")]

    def __init__(self, info: RunInfo):
        super().__init__()
        self.card = run_card(info)

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="card"):
            yield Static(self.card, id="card-text")


class PastRunsScreen(Screen):
    """The runs dir as a table, newest first; enter opens the marked runs (or the one under the cursor) as curves.

    At thousands of runs nothing here blocks the UI: the rows are listed in a thread (core/store/index.py),
    added to the table a chunk a tick as far as the cursor goes (a DataTable's every update costs more with
    each row it holds), narrowed by the filter box, and a run's curves are read in a thread.
    """

    # The footer fits 80 columns with the lab's ? and q; l x m i R s act as they do in the lab (? lists them).
    BINDINGS = [
        Binding("space", "mark", "mark"),
        Binding("enter", "open", "open", priority=True),
        Binding("slash", "filter", "filter", key_display="/"),
        Binding("l", "log", "log y", show=False),
        Binding("x", "xaxis", "x-axis", show=False),
        Binding("v", "next_view", "view"),
        Binding("m", "smooth", "smooth", show=False),
        Binding("e", "export", "export"),
        Binding("i", "card", "card", show=False),
        Binding("R", "rerun", "re-run", show=False),
        Binding("s", "stop", "stop", show=False),
        Binding("escape,p", "app.pop_screen", "back"),
        Binding("q", "app.quit", "quit"),
    ]

    def __init__(
        self,
        store: RunStore,
        presets: list[Preset],
        open_ids: list[str] | None = None,
        follow_preset: str | None = None,
    ):
        super().__init__()
        self.store = store
        self.views = {p.name: p.views for p in presets}
        self.rows: list[Row] = []  # every run, newest first, once listed
        self.matching: list[Row] = []  # those the filter lets through, added to the table ADD_ROWS a tick
        self.added = 0
        self.loaded = False
        self.marked: list[str] = []
        self.opts = ViewOptions()
        self.shown: list[RunData] = []
        self.keyed: list[str] = []  # the rows whose mark cell shows their run's colour
        self.open_ids = list(open_ids or [])  # runs to open as soon as the listing is in (`dltui watch`)
        self.watcher = Watcher(store)  # follows the running runs (whoever writes them) in its own thread
        self.known: set[str] = set()  # the ids listed so far: a run folder not among them is a new run
        self.follow_preset = (
            follow_preset  # its runs that start from now on are opened too (`dltui watch PRESET`)
        )
        self.live_rows: dict[str, Row] = {}  # the rows of the runs followed, as their news arrives
        self.stale_rows: set[str] = set()  # those of them with news not yet in the table
        self.rows_at = 0.0  # when the table last took the news (at most every ROWS_S)
        self.plots_at = 0.0  # when the shown runs' plots were last handed their news (at most every PLOTS_S)
        self.filter_timer: Timer | None = None  # narrows the table once typing in the filter box pauses
        self.search: dict[
            str, str
        ] = {}  # run id -> the text the filter looks in (a row's whose state changed: anew)

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="past"):
            yield Static(f"runs in {self.store.root}: listing…", id="past-title")
            yield Input(placeholder="/ filter: part of a run id, preset, variant or status", id="past-filter")
            yield LiveTable(id="past-runs", cursor_type="row")
            yield PlotPanel(id="past-plots")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#past-runs", DataTable)
        for key in PAST_COLUMNS:
            table.add_column(key, key=key, width=LIVE_WIDTHS.get(key))
        table.focus()
        self.set_interval(ADD_S, self.add_rows)
        self.set_interval(LIVE_S, self.apply_live)
        self.set_interval(NEW_S, self.look_for_new)
        gc.freeze()  # the app as it is: the listing's allocations would otherwise set off full passes over all of it
        self.list_runs()

    def on_unmount(self) -> None:
        self.watcher.close()
        gc.unfreeze()  # what the listing froze is collectable again (a closed screen's cycles among it)

    @work(thread=True, exclusive=True, exit_on_error=False, group="past-list")
    def list_runs(self) -> list[Row]:
        rows = listing(self.store.root)[0]
        self.search = {
            r.run_id: search_text(r) for r in rows
        }  # here, off the UI thread: the filter only looks them up
        return rows

    @work(thread=True, exclusive=True, exit_on_error=False, group="past-new")
    def find_new(self, known: set[str]) -> list[Row]:
        return new_rows(self.store.root, known)

    def look_for_new(self) -> None:
        if (
            self.loaded and self.watcher.runs_dir_changed()
        ):  # inotify on the runs dir: no listing while nothing is added
            self.find_new(set(self.known))

    @work(thread=True, exclusive=True, exit_on_error=False, group="past-open")
    def read_runs(self, ids: list[str]) -> list[RunData]:
        return run_datas([self.store.get(i) for i in ids])

    @on(TaskWorker.StateChanged)
    async def task_changed(self, event: TaskWorker.StateChanged) -> None:
        w = event.worker
        if w.state == WorkerState.ERROR and w.group in ("past-list", "past-open"):
            self.notify(
                f"{type(w.error).__name__}: {w.error}", title="cannot read the runs", severity="error"
            )
        elif w.state == WorkerState.SUCCESS and w.group == "past-list":
            self.rows, self.loaded = w.result, True
            gc.freeze()  # the listing lives as long as the screen: out of the GC's full passes (each would walk it) until unmount
            self.known = {r.run_id for r in self.rows}
            self.narrow(self.query_one("#past-filter", Input).value)
            self.follow_rows(self.rows)
            if self.open_ids:
                self.marked, ids, self.open_ids = (
                    [i for i in self.open_ids if any(r.run_id == i for r in self.rows)],
                    self.open_ids,
                    [],
                )
                self.read_runs(ids)
        elif w.state == WorkerState.SUCCESS and w.group == "past-new" and w.result:
            self.add_new(w.result)
        elif w.state == WorkerState.SUCCESS and w.group == "past-open":
            await self.show_runs(w.result)

    @on(Input.Changed, "#past-filter")
    def filter_changed(self, event: Input.Changed) -> None:
        """Narrow once typing pauses: each narrowing empties the table, which is work for the UI and the GC."""
        if self.filter_timer is not None:
            self.filter_timer.stop()
        self.filter_timer = self.set_timer(FILTER_S, lambda: self.narrow(event.value))

    @on(Input.Submitted, "#past-filter")
    def filter_done(self) -> None:
        self.query_one("#past-runs", DataTable).focus()

    def action_filter(self) -> None:
        self.query_one("#past-filter", Input).focus()

    def narrow(self, text: str) -> None:
        """Show only the runs whose id, preset, variant or status holds `text` (added from the next tick on)."""
        words, texts = text.lower().split(), self.search
        self.matching = [
            r for r in self.rows if all(w in (texts.get(r.run_id) or search_text(r)) for w in words)
        ]
        self.query_one("#past-runs", DataTable).clear()
        self.added = 0
        self.add_rows()
        self.query_one("#past-title", Static).update(self.title_text())

    def follow_rows(self, rows: list[Row]) -> None:
        running = {r.run_id: r for r in rows if r.state == "running"}
        self.live_rows.update(running)
        self.watcher.follow(list(running), full=False)  # for their rows: the last record and the status

    def add_new(self, rows: list[Row]) -> None:
        """Runs started since the listing: on top of the table (the cursor stays on its run), followed if running."""
        rows = [r for r in rows if r.run_id not in self.known]
        if not rows:
            return
        self.known.update(r.run_id for r in rows)
        self.rows = rows + self.rows
        cursor = self.cursor_run()
        self.narrow(self.query_one("#past-filter", Input).value)
        at = next((i for i, r in enumerate(self.matching[: self.added]) if r.run_id == cursor), None)
        if at is not None:
            self.query_one("#past-runs", DataTable).move_cursor(row=at)
        self.follow_rows(rows)
        joining = [r.run_id for r in rows if r.preset == self.follow_preset and r.run_id not in self.marked]
        if joining:
            self.marked += joining
            self.read_runs(list(self.marked))

    def apply_live(self) -> None:
        """The watcher's news (a small batch, read on its thread) into the table and the shown curves."""
        news = {u.run_id: u for u in self.watcher.take()}
        for run_id, update in news.items():
            if run_id in self.live_rows:
                self.live_rows[run_id] = live_row(self.live_rows[run_id], update)
                self.stale_rows.add(run_id)
        if any(r.run_id in news for r in self.shown):
            self.shown = [grown(r, news[r.run_id]) if r.run_id in news else r for r in self.shown]
        now = time.monotonic()
        if self.stale_rows and now - self.rows_at >= ROWS_S:
            self.flush_rows()
        elif now - self.plots_at >= PLOTS_S:  # a plot whose runs grew is drawn anew (a build thread's work)
            self.plots_at = now
            self.query_one(PlotPanel).draw(self.shown, self.opts)

    def flush_rows(self) -> None:
        """The followed runs' changed rows into the listing, and their changed cells queued for the table."""
        stale, fresh = self.stale_rows, self.live_rows
        self.rows = [fresh[r.run_id] if r.run_id in stale else r for r in self.rows]
        for run_id in stale:
            self.search.pop(run_id, None)
        table = self.query_one("#past-runs", LiveTable)
        for i, row in enumerate(self.matching):
            if row.run_id in stale:
                self.matching[i] = new = fresh[row.run_id]
                if i < self.added:
                    table.change(
                        row.run_id,
                        {
                            key: value
                            for key, old, value in zip(PAST_COLUMNS[2:], cells(row)[2:], cells(new)[2:])
                            if value != old
                        },
                    )
        self.stale_rows = set()
        self.rows_at = time.monotonic()

    def action_stop(self) -> None:
        """Stop the cursor's run: the lab's own at once; another process's after a y/n, by a stop request."""
        run_id = self.cursor_run()
        row = next((r for r in self.rows if r.run_id == run_id), None)
        if row is None or row.state != "running":
            self.notify("only a running run can be stopped", severity="warning")
            return
        batch = self.app.batch
        if batch is not None and batch.live and any(r.run_id == run_id for r in batch.list()):
            self.app.action_stop()
            return
        owner = self.store.get(run_id).status
        self.app.push_screen(
            StopConfirm(run_id, f"pid {owner.get('pid')} on {owner.get('host')}"),
            lambda yes: self.request_stop(run_id) if yes else None,
        )

    def request_stop(self, run_id: str) -> None:
        try:
            stoprequest.request(self.store.path_of(run_id))
        except (OSError, BadInput) as e:
            self.notify(f"cannot ask it to stop: {e}", title=run_id, severity="error")
            return
        self.notify("asked its owner to stop it: it ends interrupted at its next step", title=run_id)

    def title_text(self) -> str:
        root, n, m = self.store.root, len(self.rows), len(self.matching)
        if not self.loaded:
            return f"runs in {root}: listing…"
        if not n:
            return f"no runs in {root} yet: press escape, then r"
        return f"runs in {root}: {m} of {n} shown; space marks, enter opens or overlays, / filters"

    def add_rows(self) -> None:
        """The next chunk of matching rows into the table while it holds fewer than AHEAD rows past the cursor:
        a few ms a tick, and only as far as the user scrolls (each row a table holds makes its updates dearer)."""
        table = self.query_one("#past-runs", DataTable)
        wanted = min(len(self.matching), table.cursor_row + AHEAD)
        if self.added >= wanted:
            return
        for row in self.matching[self.added : self.added + ADD_ROWS]:
            table.add_row(*cells(row, row.run_id in self.marked), key=row.run_id)
        self.added = min(len(self.matching), self.added + ADD_ROWS)
        gc.freeze()  # the rows the table holds live as long as the screen: out of the full passes, as the listing

    def cursor_run(self) -> str | None:
        table = self.query_one("#past-runs", DataTable)
        return (
            table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value if table.row_count else None
        )

    def action_mark(self) -> None:
        run_id = self.cursor_run()
        if run_id is None:
            return
        if run_id in self.marked:
            self.marked.remove(run_id)
        else:
            self.marked.append(run_id)
        self.query_one("#past-runs", DataTable).update_cell(
            run_id, "mark", "✓" if run_id in self.marked else ""
        )

    def action_export(self) -> None:
        """Export the marked runs (or the one under the cursor)."""
        ids = self.marked or [r for r in [self.cursor_run()] if r]
        self.app.export(ids, self.opts)

    def action_card(self) -> None:
        run_id = self.cursor_run()
        if run_id:
            try:
                self.app.push_screen(RunCardScreen(self.store.get(run_id)))
            except BadInput as e:  # deleted meanwhile
                self.notify(str(e), title="no run card", severity="error")

    def action_rerun(self) -> None:
        """Back to the lab, running the cursor's run again with its exact config."""
        run_id = self.cursor_run()
        if run_id:
            self.app.pop_screen()
            self.app.rerun(run_id)

    def action_smooth(self) -> None:
        next_smoothing(self.opts)
        self.redraw()

    def action_open(self) -> None:
        """Read the marked runs (or the cursor's run) in a thread, then show their curves overlaid; in the filter
        box, enter goes back to the table."""
        if self.focused is self.query_one("#past-filter", Input):
            self.filter_done()
            return
        ids = self.marked or [r for r in [self.cursor_run()] if r]
        if ids:
            self.read_runs(ids)

    async def show_runs(self, runs: list[RunData]) -> None:
        self.shown = runs
        table = self.query_one("#past-runs", DataTable)
        for run_id in self.keyed:  # the colour of each run shown, in its row: the key to the lines
            if run_id in table.rows:
                table.update_cell(run_id, "mark", "✓" if run_id in self.marked else "")
        for run in runs:
            if run.run_id in table.rows:
                table.update_cell(
                    run.run_id, "mark", run_label("✓" if run.run_id in self.marked else "", run.colour)
                )
        self.keyed = [run.run_id for run in runs]
        self.watcher.follow(
            [r.run_id for r in runs if r.status == "running"], anew=True
        )  # its first news: the whole run
        views = self.views.get(self.preset_of(runs[0]), PAST_VIEWS)
        if runs[0].summary.get("kind") == "lrfind":  # an lr range test: loss against lr, whatever its preset
            views = ("lrfind",)
        await self.query_one(PlotPanel).show(
            views if len(runs) == 1 else [v for v in views if v in PAST_VIEWS] or PAST_VIEWS
        )
        self.redraw()

    def preset_of(self, run: RunData) -> str:
        """The preset a shown run was made by (its views are the ones to open)."""
        return next((r.preset for r in self.rows if r.run_id == run.run_id), "")

    def action_log(self) -> None:
        toggle_log(self.opts)
        self.redraw()

    def action_next_view(self) -> None:
        """The next plot, where one is shown at a time (a short terminal)."""
        self.query_one(PlotPanel).cycle()
        self.redraw()

    def action_xaxis(self) -> None:
        next_x(self.opts)
        self.redraw()

    def redraw(self) -> None:
        self.query_one(PlotPanel).draw(self.shown, self.opts)


class StopConfirm(ModalScreen[bool]):
    """y/n before asking another process's run to stop (it ends interrupted, as Ctrl-C would end it)."""

    BINDINGS = [
        Binding("y", "answer(True)", "stop it"),
        Binding("n,escape", "answer(False)", "keep it running"),
    ]

    def __init__(self, run_id: str, owner: str):
        super().__init__()
        self.run_id = run_id
        self.owner = owner

    def compose(self) -> ComposeResult:
        with Vertical(id="stop-confirm"):
            yield Static(
                f"Stop run {self.run_id}?\nThe lab did not start it ({self.owner}). It will end interrupted, "
                f"its epochs kept, as Ctrl-C in its terminal would end it.\n\ny: stop it   n: keep it running",
                id="stop-confirm-text",
            )

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


PAST_COLUMNS = (
    "mark",
    "run id",
    "status",
    "preset",
    "variant",
    "epochs",
    "train loss",
    "test loss",
    "accuracy",
)
# The columns a live run changes have fixed widths: a width to fit would measure the whole column at each change.
LIVE_WIDTHS = {"status": 11, "epochs": 8, "train loss": 10, "test loss": 10, "accuracy": 8}
ADD_ROWS = 25  # table rows added a tick: DataTable measures every cell of a new row
AHEAD = 100  # rows the table holds past its cursor; more come as the cursor goes down
FILTER_S = 0.15  # the filter applies once typing pauses this long
ADD_S = 0.05
NEW_S = 2.0  # how often the runs dir is looked at for runs started since (a folder listing, in a thread)
PLOTS_S = (
    1.0  # growing curves of runs another process writes are redrawn once a second (plotting is the cost)
)
ROWS_S = 1.0  # the table takes the followed runs' news once a second: rendering its rows is what costs
LIVE_S = 0.25  # how often the watcher's news is taken (a small batch, read on its thread)


def search_text(row: Row) -> str:
    """What the filter box matches a row against: its id, preset, variant and state, in lower case."""
    return f"{row.run_id} {row.preset} {row.variant} {row.state}".lower()


def cells(row: Row, marked: bool = False) -> tuple[str, ...]:
    """A past run's table cells (core/store/index.py's row: from its summary, or its last metrics line)."""
    return (
        "✓" if marked else "",
        row.run_id,
        row.state,
        row.preset,
        row.variant,
        "-" if row.epochs is None else str(row.epochs),
        fmt(row.train_loss),
        fmt(row.test_loss),
        pct(row.accuracy),
    )
