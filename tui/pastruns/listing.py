"""The past-runs table's rows: every run in the runs dir (newest first), those the filter lets through, and
how many of those the table holds.

At thousands of runs nothing here blocks the UI: the rows are listed in a thread (core/store/index.py), added
to the table a chunk a tick as far as the cursor goes (a DataTable's every update costs more with each row it
holds), and narrowed by the filter box, which looks up each row's text made in the listing's thread.
Its columns are the one column policy's (core/readout/columns.py): as the screen narrows, the run id goes
first, then the preset and the train loss; every cell is text (core/readout/safe.py), shown, never obeyed.
"""

from __future__ import annotations

import gc
from pathlib import Path

from rich.text import Text
from textual.widgets import Static

from ...core.readout.colours import run_label, status_text
from ...core.readout.columns import PRIORITY, Column
from ...core.readout.safe import text
from ...core.rules.numbers import fmt, pct
from ...core.store.index import Row, listing
from ..columnfit import FittedColumns
from ..viewkit import RunData
from .livetable import LiveTable

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
# The columns a live run changes have fixed widths: a width to fit would measure the whole column at each
# change.
LIVE_WIDTHS = {"status": 11, "epochs": 8, "train loss": 10, "test loss": 10, "accuracy": 8}
SECONDARY = {"run id": PRIORITY["id"], "preset": PRIORITY["secondary"], "train loss": PRIORITY["secondary"]}
NUMERIC = ("epochs", "train loss", "test loss", "accuracy")
COLUMNS = tuple(
    Column(key, key, SECONDARY.get(key, PRIORITY["primary"]), key in NUMERIC, LIVE_WIDTHS.get(key))
    for key in PAST_COLUMNS
)
FIT_ROWS = 200  # the rows the columns are fitted to: the first screenfuls, not thousands
ADD_ROWS = 25  # table rows added a tick: DataTable measures every cell of a new row
AHEAD = 100  # rows the table holds past its cursor; more come as the cursor goes down


def search_text(row: Row) -> str:
    """What the filter box matches a row against: its id, preset, variant and state, in lower case."""
    return f"{row.run_id} {row.preset} {row.variant} {row.state}".lower()


def cells(row: Row, marked: bool = False) -> tuple[str, ...]:
    """A past run's table cells (core/store/index.py's row: from its summary, or its last metrics line); the
    names are text from run files, shown as text."""
    return (
        "✓" if marked else "",
        text(row.run_id),
        status_text(row.state),
        text(row.preset),
        text(row.variant),
        "-" if row.epochs is None else str(row.epochs),
        fmt(row.train_loss),
        fmt(row.test_loss),
        pct(row.accuracy),
    )


class Listing(FittedColumns):
    """The runs listed, the marked ones, the table that shows them and the title over it."""

    def __init__(self, table: LiveTable, title: Static, root: Path):
        self.table = table
        self.columns = COLUMNS
        self.title = title
        self.root = root
        self.rows: list[Row] = []  # every run, newest first, once listed
        self.matching: list[Row] = []  # those the filter lets through, added to the table ADD_ROWS a tick
        self.added = 0
        self.loaded = False
        self.marked: list[str] = []
        self.keyed: list[str] = []  # the rows whose mark cell shows their run's colour
        self.known: set[str] = set()  # the ids listed so far: a run folder not among them is a new run
        self.search: dict[
            str, str
        ] = {}  # run id -> the text the filter looks in (a row's whose state changed: anew)
        self.shown: list[Column] = list(COLUMNS)  # the columns the width leaves (see `refit`)
        self.width = 0
        title.update(self.title_text())  # the runs dir's path is text from outside: shown as text

    def fit_rows(self) -> list[list]:
        return [cells(r) for r in (self.matching or self.rows)[:FIT_ROWS]]

    def rebuild(self, shown: list[Column]) -> None:
        """The table with these columns, its rows added anew (a chunk a tick, as always)."""
        self.table.clear(columns=True)
        for c in shown:
            self.table.add_column(c.label, key=c.key, width=c.width)
        self.added = 0
        self.add_rows()

    def row_cells(self, row: Row) -> list:
        """The cells of the columns shown."""
        keep = {c.key for c in self.shown}
        return [v for key, v in zip(PAST_COLUMNS, cells(row, row.run_id in self.marked)) if key in keep]

    def read(self) -> list[Row]:
        """In a thread: every run's row, and the text the filter looks in (made here, off the UI thread)."""
        rows = listing(self.root)[0]
        self.search = {r.run_id: search_text(r) for r in rows}
        return rows

    def listed(self, rows: list[Row]) -> None:
        self.rows, self.loaded = rows, True
        self.width = 0  # fitted again to the rows now known (the next layout, or the first narrow)
        # the listing lives as long as the screen: out of the GC's full passes (each would walk it) until
        # unmount
        gc.freeze()
        self.known = {r.run_id for r in self.rows}

    def narrow(self, text: str) -> None:
        """Show only the runs whose id, preset, variant or status holds `text` (added from the next tick
        on)."""
        words, texts = text.lower().split(), self.search
        self.matching = [
            r for r in self.rows if all(w in (texts.get(r.run_id) or search_text(r)) for w in words)
        ]
        if not self.width:  # the rows are in: the columns fitted to them first
            self.refit()
        self.table.clear()
        self.added = 0
        self.add_rows()
        self.title.update(self.title_text())

    def add_rows(self) -> None:
        """The next chunk of matching rows into the table while it holds fewer than AHEAD rows past the
        cursor: a few ms a tick, and only as far as the user scrolls (each row a table holds makes its updates
        dearer)."""
        wanted = min(len(self.matching), self.table.cursor_row + AHEAD)
        if self.added >= wanted:
            return
        for row in self.matching[self.added : self.added + ADD_ROWS]:
            self.table.add_row(*self.row_cells(row), key=row.run_id)
        self.added = min(len(self.matching), self.added + ADD_ROWS)
        # the rows the table holds live as long as the screen: out of the full passes, as the listing
        gc.freeze()

    def title_text(self) -> Text:
        root, n, m = self.root, len(self.rows), len(self.matching)
        if not self.loaded:
            return text(f"runs in {root}: listing…")
        if not n:
            return text(f"no runs in {root} yet: press escape, then r")
        return text(f"runs in {root}: {m} of {n} shown; space marks, enter opens or overlays, / filters")

    def cursor_run(self) -> str | None:
        table = self.table
        return (
            table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value if table.row_count else None
        )

    def chosen(self) -> list[str]:
        """The marked runs, or else the cursor's."""
        return self.marked or [r for r in [self.cursor_run()] if r]

    def row(self, run_id: str | None) -> Row | None:
        return next((r for r in self.rows if r.run_id == run_id), None)

    def toggle_mark(self, run_id: str) -> None:
        if run_id in self.marked:
            self.marked.remove(run_id)
        else:
            self.marked.append(run_id)
        self.table.update_cell(run_id, "mark", "✓" if run_id in self.marked else "")

    def prepend(self, rows: list[Row], filter_text: str) -> list[Row]:
        """Runs started since the listing (those not known yet) on top of the table; the cursor stays on its
        run."""
        rows = [r for r in rows if r.run_id not in self.known]
        if not rows:
            return rows
        self.known.update(r.run_id for r in rows)
        self.rows = rows + self.rows
        cursor = self.cursor_run()
        self.narrow(filter_text)
        at = next((i for i, r in enumerate(self.matching[: self.added]) if r.run_id == cursor), None)
        if at is not None:
            self.table.move_cursor(row=at)
        return rows

    def refresh_rows(self, fresh: dict[str, Row], stale: set[str]) -> None:
        """The followed runs' changed rows into the listing, and their changed cells queued for the table."""
        self.rows = [fresh[r.run_id] if r.run_id in stale else r for r in self.rows]
        for run_id in stale:
            self.search.pop(run_id, None)
        for i, row in enumerate(self.matching):
            if row.run_id in stale:
                self.matching[i] = new = fresh[row.run_id]
                if i < self.added:
                    self.table.change(
                        row.run_id,
                        {
                            key: value
                            for key, old, value in zip(PAST_COLUMNS[2:], cells(row)[2:], cells(new)[2:])
                            if value != old and key in self.table.columns
                        },
                    )

    def key_colours(self, runs: list[RunData]) -> None:
        """The colour of each run shown in its row's mark cell: the key to the lines (the others' back to
        ✓)."""
        for run_id in self.keyed:
            if run_id in self.table.rows:
                self.table.update_cell(run_id, "mark", "✓" if run_id in self.marked else "")
        for run in runs:
            if run.run_id in self.table.rows:
                self.table.update_cell(
                    run.run_id, "mark", run_label("✓" if run.run_id in self.marked else "", run.colour)
                )
        self.keyed = [run.run_id for run in runs]
