"""The runs table under the plots: a row per run of the batch shown, coloured as its lines (the key to the
plots).

Its cursor row is the run the one-run views show (`selected`). Live news marks rows stale; they are rewritten
together, at most every TABLE_S (the table's own columns widen; the screen is never re-laid out).
Which columns show is the one column policy's (core/readout/columns.py): as the table narrows, the notes,
then the train loss and best epoch, then the ETA go; the variant, status, epoch, accuracy and test loss stay.
Every cell is text (core/readout/safe.py): a variant or a reason from outside is shown, never obeyed.
"""

from __future__ import annotations

import time
from typing import Any

from textual.widgets import DataTable

from ...core.readout.colours import run_label, status_text
from ...core.readout.columns import PRIORITY, Column
from ...core.readout.safe import text
from ..columnfit import FittedColumns
from .session import RunGroup

# In the order shown, each as wide as its content: the table is fitted again when a cell outgrows its column.
COLUMNS = (
    Column("variant", "variant"),
    Column("status", "status", width=len("interrupted")),  # its longest word: never cut, never re-laid out
    Column("epoch", "epoch", numeric=True),
    Column("acc", "acc", numeric=True),
    Column("test", "test loss", numeric=True),
    Column("eta", "ETA, steps/s", PRIORITY["note"]),
    Column("train", "train loss", PRIORITY["secondary"], numeric=True),
    Column("best", "best epoch", PRIORITY["secondary"], numeric=True),
    Column("note", "note", PRIORITY["note"]),
)
ROW_FIELDS = (
    "variant",
    "status",
    "epoch",
    "train",
    "test",
    "acc",
    "best",
    "eta",
    "note",
)  # the order of RunGroup.row's cells
TABLE_S = 0.25  # the runs table is rewritten at most 4 times a second


class RunsTable(FittedColumns):
    """The table widget, the batch it lists, and the rows with news not yet shown."""

    def __init__(self, table: DataTable):
        self.table = table
        self.columns = COLUMNS
        self.batch: RunGroup | None = None
        self.stale: set[str] = set()  # rows with news not yet shown
        self.flushed_at = 0.0
        self.chosen: str | None = None  # the cursor row's variant (see `selected`)
        self.shown: list[Column] = list(COLUMNS)  # the columns the width leaves (see `refit`)
        self.width = 0  # the width they were fitted to
        self.paused = False  # the batch's pause as the rows last showed it
        self.written: dict[tuple[str, str], Any] = {}  # (variant, column) -> the cell in the table

    @property
    def selected(self) -> str | None:
        """The cursor row's variant: the run one-run views show; kept with its batch, so that a preset shown
        again opens on the run it was left on."""
        return self.chosen

    @selected.setter
    def selected(self, variant: str | None) -> None:
        self.chosen = variant
        if self.batch is not None and variant is not None:
            self.batch.selected = variant

    def fit_rows(self) -> list[list[Any]]:
        return [self.cells(v, COLUMNS) for v in self.batch.runs] if self.batch else []

    def rebuild(self, shown: list[Column]) -> None:
        """The table with these columns, its rows anew."""
        self.table.clear(columns=True)
        for c in shown:
            self.table.add_column(text(c.label), key=c.key, width=c.width)
        self.fill(self.selected)

    def show(self, batch: RunGroup | None, focus: str) -> None:
        """List `batch`'s runs (none: an empty table), the cursor on the run it was left on, else on the
        `focus` variant where it has one."""
        self.batch = batch
        focus = (batch.selected if batch is not None else None) or focus
        self.paused = bool(batch and batch.paused)
        self.width = 0  # the new rows may want other columns
        self.refit()
        self.fill(focus)

    def fill(self, focus: str | None) -> None:
        """The batch's rows anew, the cursor on `focus` where the batch has it."""
        batch = self.batch
        self.table.clear()
        self.stale.clear()
        self.written.clear()
        for run in batch.list() if batch else []:
            cells = self.cells(run.variant)
            self.written.update(((run.variant, c.key), v) for c, v in zip(self.shown, cells))
            self.table.add_row(*cells, key=run.variant)
        self.selected = None
        if batch is not None and focus in batch.runs:
            self.table.move_cursor(row=list(batch.runs).index(focus))  # its highlight selects it
            self.selected = focus

    def cells(self, variant: str, columns: tuple[Column, ...] | list[Column] | None = None) -> list[Any]:
        """The row's cells for `columns` (default: those shown), each as text."""
        cell = dict(zip(ROW_FIELDS, self.batch.row(variant)))
        cell["variant"] = run_label(variant, self.batch.runs[variant].colour)
        cell["status"] = status_text(cell["status"])
        return [text(cell[c.key]) for c in (self.shown if columns is None else columns)]

    def mark(self, variants: set[str]) -> None:
        self.stale |= variants

    @property
    def due(self) -> bool:
        """Rows have news (or the batch was paused or resumed), and the last rewrite is TABLE_S old."""
        if self.batch is not None and self.batch.paused != self.paused:
            self.paused = self.batch.paused
            self.stale |= set(self.batch.runs)
        return bool(self.stale) and time.monotonic() - self.flushed_at >= TABLE_S

    def flush(self) -> None:
        """Write the changed rows into the table."""
        for variant in self.stale:
            if variant not in self.table.rows:
                continue
            for c, value in zip(self.shown, self.cells(variant)):
                if self.written.get((variant, c.key)) == value:
                    continue  # unchanged: no repaint, and no width to measure again
                self.written[(variant, c.key)] = value
                self.table.update_cell(
                    variant, c.key, value, update_width=c.width is None and bool(value.plain)
                )
        self.stale.clear()
        self.flushed_at = time.monotonic()

    def cursor_run(self) -> str | None:
        """The run id of the cursor row, if that run has started."""
        if self.batch is None or not self.table.row_count:
            return None
        variant = self.table.coordinate_to_cell_key(self.table.cursor_coordinate).row_key.value
        return self.batch.runs[variant].run_id or None

    def next_run(self) -> bool:
        """The cursor to the next row, round (False: the table is empty)."""
        if not self.table.row_count:
            return False
        self.table.move_cursor(row=(self.table.cursor_row + 1) % self.table.row_count)
        return True
