"""The runs table under the plots: a row per run of the batch shown, coloured as its lines (the key to the
plots).

Its cursor row is the run the one-run views show (`selected`). Live news marks rows stale; they are rewritten
together, at most every TABLE_S, with fixed column widths, so that an update never re-lays out the screen.
"""

from __future__ import annotations

import time
from typing import Any

from textual.widgets import DataTable

from ...core.readout.colours import run_label, status_text
from .session import RunGroup

# (key, label, width), in the order a narrow table keeps them (None: fit the content)
COLUMNS = (
    ("variant", "variant", None),
    ("status", "status", 11),
    ("epoch", "epoch", 9),
    ("acc", "accuracy", 8),
    ("train", "train loss", 10),
    ("test", "test loss", 10),
    ("best", "best epoch", 10),
    ("note", "note", None),
)
ROW_FIELDS = (
    "variant",
    "status",
    "epoch",
    "train",
    "test",
    "acc",
    "best",
    "note",
)  # the order of RunGroup.row's cells
TABLE_S = 0.25  # the runs table is rewritten at most 4 times a second


class RunsTable:
    """The table widget, the batch it lists, and the rows with news not yet shown."""

    def __init__(self, table: DataTable):
        self.table = table
        self.batch: RunGroup | None = None
        self.stale: set[str] = set()  # rows with news not yet shown
        self.flushed_at = 0.0
        self.selected: str | None = None  # the cursor row's variant: the run one-run views show

    def add_columns(self) -> None:
        """Once the table is mounted (a column's width is measured on the app's console)."""
        for key, label, width in COLUMNS:
            self.table.add_column(label, key=key, width=width)

    def show(self, batch: RunGroup | None, focus: str) -> None:
        """List `batch`'s runs (none: an empty table), the cursor on the `focus` variant where it has one."""
        self.batch = batch
        self.table.clear()
        self.stale.clear()
        for run in batch.list() if batch else []:
            self.table.add_row(*self.cells(run.variant), key=run.variant)
        self.selected = None
        if batch is not None and focus in batch.runs:
            self.table.move_cursor(row=list(batch.runs).index(focus))  # its highlight selects it
            self.selected = focus

    def cells(self, variant: str) -> list[Any]:
        cell = dict(zip(ROW_FIELDS, self.batch.row(variant)))
        cell["variant"] = run_label(variant, self.batch.runs[variant].colour)
        cell["status"] = status_text(cell["status"])
        return [cell[key] for key, _, _ in COLUMNS]

    def mark(self, variants: set[str]) -> None:
        self.stale |= variants

    @property
    def due(self) -> bool:
        """Rows have news and the last rewrite is at least TABLE_S old."""
        return bool(self.stale) and time.monotonic() - self.flushed_at >= TABLE_S

    def flush(self) -> None:
        """Write the changed rows into the table."""
        for variant in self.stale:
            for (key, _, width), value in zip(COLUMNS, self.cells(variant)):
                self.table.update_cell(variant, key, value, update_width=width is None and bool(value))
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
