"""The past-runs screen (the runs dir): open one run's curves, overlay several, follow the running ones.

The screen is the layout and the wiring; its keys are bound in tui/keys.py (l x m v i R e dispatched there).
Listing holds the table's rows, Following the watcher's news, stopping.py the stop of another process's run.
Its background reads are Tasks of its own (they end with the screen): each group's result to its handler.
"""

from __future__ import annotations

import gc
import time

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Header, Input, Static
from textual.worker import Worker as TaskWorker

from ...core.rules.status import RunStatus
from ...core.spec.presets import Preset
from ...core.store.batches import new_rows
from ...core.store.folder import RunStore
from ...core.store.index import Row
from ..keys import PAST_RUNS_KEYS, SharedKeys
from ..plots import PlotPanel
from ..tasks import Tasks
from ..viewkit import RunData, ViewOptions, run_datas
from .following import Following
from .listing import ADD_ROWS, AHEAD, Listing
from .livetable import LiveTable
from .stopping import StopConfirm, stop_run

__all__ = ["ADD_ROWS", "AHEAD", "PastRunsScreen", "StopConfirm"]  # the figures benches and tests size runs by

PAST_VIEWS = ("loss", "accuracy")
FILTER_S = 0.15  # the filter applies once typing pauses this long
ADD_S = 0.05
NEW_S = 2.0  # how often the runs dir is looked at for runs started since (a folder listing, in a thread)
LIVE_S = 0.25  # how often the watcher's news is taken (a small batch, read on its thread)


class PastRunsScreen(SharedKeys, Screen):
    """The runs dir as a table, newest first; enter opens the marked runs (or the one under the cursor) as
    curves.

    At thousands of runs nothing here blocks the UI: the rows are listed in a thread, added to the table a
    chunk a tick (Listing), narrowed by the filter box once typing pauses, and a run's curves are read in a
    thread.
    """

    BINDINGS = PAST_RUNS_KEYS

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
        self.opts = ViewOptions()
        self.shown: list[RunData] = []
        self.open_ids = list(open_ids or [])  # runs to open as soon as the listing is in (`dltui watch`)
        self.follow_preset = (
            follow_preset  # its runs that start from now on are opened too (`dltui watch PRESET`)
        )
        self.filter_timer: Timer | None = None  # narrows the table once typing in the filter box pauses
        self.listing = Listing(
            LiveTable(id="past-runs", cursor_type="row"),
            Static(f"runs in {store.root}: listing…", id="past-title"),
            store.root,
        )
        self.following = Following(store)  # follows the running runs (whoever writes them) in its own thread
        self.tasks = Tasks(self)
        self.tasks.add("past-list", self.listed, self.unreadable, exclusive=True)
        self.tasks.add("past-new", self.add_new, exclusive=True)
        self.tasks.add("past-open", self.show_runs, self.unreadable, exclusive=True)

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="past"):
            yield self.listing.title
            yield Input(placeholder="/ filter: part of a run id, preset, variant or status", id="past-filter")
            yield self.listing.table
            yield PlotPanel(id="past-plots")
        yield Footer()

    def on_mount(self) -> None:
        self.listing.add_columns()
        self.listing.table.focus()
        self.set_interval(ADD_S, self.listing.add_rows)
        self.set_interval(LIVE_S, self.apply_live)
        self.set_interval(NEW_S, self.look_for_new)
        # the app as it is: the listing's allocations would otherwise set off full passes over all of it
        gc.freeze()
        self.tasks.start("past-list", self.listing.read)

    def on_unmount(self) -> None:
        self.following.close()
        gc.unfreeze()  # what the listing froze is collectable again (a closed screen's cycles among it)

    @property
    def loaded(self) -> bool:
        """The runs dir has been listed."""
        return self.listing.loaded

    @property
    def added(self) -> int:
        """How many of the matching rows the table holds."""
        return self.listing.added

    # -- background reads: their ends come back to the handlers added in __init__ ---------------
    @on(TaskWorker.StateChanged)
    async def task_changed(self, event: TaskWorker.StateChanged) -> None:
        await self.tasks.changed(event.worker)

    def unreadable(self, err: BaseException) -> None:
        self.notify(f"{type(err).__name__}: {err}", title="cannot read the runs", severity="error")

    def listed(self, rows: list[Row]) -> None:
        """The runs dir listed: into the table; the running runs followed; the runs asked for opened."""
        self.listing.listed(rows)
        self.narrow(self.filter_text())
        self.following.follow_rows(rows)
        if self.open_ids:
            ids, self.open_ids = self.open_ids, []
            self.listing.marked = [i for i in ids if self.listing.row(i) is not None]
            self.read_runs(ids)

    def look_for_new(self) -> None:
        """Runs started since the listing, looked for in a thread (once inotify says the runs dir changed)."""
        if self.listing.loaded and self.following.watcher.runs_dir_changed():
            self.tasks.start("past-new", new_rows, self.store.root, set(self.listing.known))

    def add_new(self, rows: list[Row]) -> None:
        """Runs started since the listing: on top of the table, followed if running, opened if of
        follow_preset."""
        rows = self.listing.prepend(rows, self.filter_text())
        if not rows:
            return
        self.following.follow_rows(rows)
        marked = self.listing.marked
        joining = [r.run_id for r in rows if r.preset == self.follow_preset and r.run_id not in marked]
        if joining:
            marked += joining
            self.read_runs(list(marked))

    def read_runs(self, ids: list[str]) -> None:
        """These runs' curves, read in a thread, then shown."""
        self.tasks.start("past-open", self.read_datas, ids)

    def read_datas(self, ids: list[str]) -> list[RunData]:
        return run_datas([self.store.get(i) for i in ids])

    # -- the filter (/) ---------------------------------------------------------------------------
    def filter_text(self) -> str:
        return self.query_one("#past-filter", Input).value

    @on(Input.Changed, "#past-filter")
    def filter_changed(self, event: Input.Changed) -> None:
        """Narrow once typing pauses: each narrowing empties the table, which is work for the UI and the
        GC."""
        if self.filter_timer is not None:
            self.filter_timer.stop()
        self.filter_timer = self.set_timer(FILTER_S, lambda: self.narrow(event.value))

    @on(Input.Submitted, "#past-filter")
    def filter_done(self) -> None:
        self.listing.table.focus()

    def action_filter(self) -> None:
        self.query_one("#past-filter", Input).focus()

    def narrow(self, text: str) -> None:
        """Show only the runs whose id, preset, variant or status holds `text` (added from the next tick
        on)."""
        self.listing.narrow(text)

    # -- live news --------------------------------------------------------------------------------
    def apply_live(self) -> None:
        """The watcher's news into the table (at most every ROWS_S) and the shown curves (every PLOTS_S)."""
        self.shown = self.following.take(self.shown)
        now = time.monotonic()
        if self.following.rows_due(now):
            self.listing.refresh_rows(self.following.live_rows, self.following.rows_taken())
        elif self.following.plots_due(now):  # a plot whose runs grew is drawn anew (a build thread's work)
            self.replot()

    # -- the screen's own keys (SharedKeys has l x m v i R e) -------------------------------------
    def action_stop(self) -> None:
        """Stop the cursor's run: the lab's own at once; another process's after a y/n, by a stop request."""
        run_id = self.listing.cursor_run()
        row = self.listing.row(run_id)
        if row is None or row.state != RunStatus.RUNNING:
            self.notify("only a running run can be stopped", severity="warning")
            return
        stop_run(self.app, self.store, run_id)

    def action_mark(self) -> None:
        run_id = self.listing.cursor_run()
        if run_id is not None:
            self.listing.toggle_mark(run_id)

    def action_open(self) -> None:
        """Read the marked runs (or the cursor's run) in a thread, then show their curves overlaid; in the
        filter box, enter goes back to the table."""
        if self.focused is self.query_one("#past-filter", Input):
            self.filter_done()
            return
        ids = self.listing.chosen()
        if ids:
            self.read_runs(ids)

    async def show_runs(self, runs: list[RunData]) -> None:
        self.shown = runs
        self.listing.key_colours(runs)
        self.following.follow_shown(runs)
        views = self.views.get(self.preset_of(runs[0]), PAST_VIEWS)
        if runs[0].summary.get("kind") == "lrfind":  # an lr range test: loss against lr, whatever its preset
            views = ("lrfind",)
        await self.plot_panel().show(
            views if len(runs) == 1 else [v for v in views if v in PAST_VIEWS] or PAST_VIEWS
        )
        self.replot()

    def preset_of(self, run: RunData) -> str:
        """The preset a shown run was made by (its views are the ones to open)."""
        row = self.listing.row(run.run_id)
        return row.preset if row is not None else ""

    # -- what SharedKeys' l x m v i R e act on here -----------------------------------------------
    def plot_panel(self) -> PlotPanel:
        return self.query_one(PlotPanel)

    def replot(self) -> None:
        self.plot_panel().draw(self.shown, self.opts)

    def cursor_run(self) -> str | None:
        return self.listing.cursor_run()

    def export_ids(self) -> list[str]:
        """The marked runs (or the one under the cursor)."""
        return self.listing.chosen()

    def rerun(self, run_id: str) -> None:
        """Back to the lab, running the run again with its exact config."""
        self.app.pop_screen()
        self.app.rerun(run_id)
