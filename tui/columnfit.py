"""A table's columns fitted to its width by the one column policy (core/readout/columns.py): the lab's runs
table and the past-runs listing both, so that they narrow the same way."""

from __future__ import annotations

from typing import Any

from textual.widgets import DataTable

from ..core.readout.columns import TEXTUAL_PER_COLUMN, Column, fit


class FittedColumns:
    """Mixed into the keeper of a DataTable: `refit` keeps the columns its width leaves, and `rebuild` (the
    keeper's) remakes the table with them when they change."""

    table: DataTable
    columns: tuple[Column, ...]  # every column, in the order shown
    shown: list[Column]  # the columns the width leaves
    width: int  # the width they were fitted to (0: fit again)

    def fit_rows(self) -> list[list[Any]]:
        """The rows whose cells the columns must hold (every column's cells)."""
        raise NotImplementedError

    def rebuild(self, shown: list[Column]) -> None:
        """The table with these columns (`shown` set already), its rows anew."""
        raise NotImplementedError

    def add_columns(self) -> None:
        """Once the table is mounted (a column's width is measured on the app's console); from then on the
        columns are fitted again whenever the layout changes (a resize, the side bar narrowing)."""
        self.refit(force=True)
        self.table.screen.screen_layout_refresh_signal.subscribe(
            self.table, lambda _: self.table.call_later(self.refit)
        )

    def refit(self, force: bool = False) -> None:
        """The columns the table's width leaves; the table rebuilt only when they change."""
        width = self.table.size.width - 1  # the vertical scrollbar's cell
        if width <= 0:  # not laid out yet: every column, until the first layout fits them
            if not self.table.columns:
                self.shown = list(self.columns)
                self.rebuild(self.shown)
            return
        if width == self.width and not force:
            return
        self.width = width
        shown = [self.columns[i] for i in fit(self.columns, self.fit_rows(), width, TEXTUAL_PER_COLUMN, 0)]
        if shown == self.shown and self.table.columns and not force:
            return
        self.shown = shown
        self.rebuild(shown)
