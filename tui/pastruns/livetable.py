"""The past-runs table, whose rows change in place as the runs followed go (tui/live.py's rows).

`DataTable.update_cell` repaints every row on screen, whatever changed: a screenful of 9-column rows takes
tens of ms of rich rendering, so 40 live runs updated once a second stalled the lab by 40-100 ms. Here a
row's new cells are queued (`change`) and written every PAINT_S, repainting only the rows written, at most
ROWS_A_FRAME of those on screen in one frame (the longest-waiting first); rows off screen cost no painting.
The timer runs only while changes wait.
"""

from __future__ import annotations

from typing import Any

from textual.widgets import DataTable

ROWS_A_FRAME = 2  # rows on screen repainted in one frame: a row of 9 cells takes 2-4 ms to render
PAINT_S = 0.1  # so up to 20 changed rows on screen are repainted a second


class LiveTable(DataTable):
    """A DataTable with `change(row, cells)` queued and `paint()` applied a few rows at a time."""

    def __init__(self, **kw):
        self.pending: dict[Any, dict[str, Any]] = {}  # row key -> column key -> new value, oldest row first
        self.hushed = False  # while set, update_cell's repaint of the whole table is skipped
        self.painter = None  # the timer that paints, paused while nothing waits
        super().__init__(**kw)

    def on_mount(self) -> None:
        self.painter = self.set_interval(PAINT_S, self.paint, pause=True)

    def change(self, row_key, cells: dict[str, Any]) -> None:
        """New values for some of the row's cells, written by the next `paint`s."""
        if cells:
            self.pending.setdefault(row_key, {}).update(cells)
            if self.painter is not None:
                self.painter.resume()

    def paint(self, most: int = ROWS_A_FRAME) -> None:
        """Write the queued cells of every row off screen, and of at most `most` rows on screen."""
        top = self.scroll_offset.y
        bottom = top + self.size.height
        painted = 0
        for key in list(self.pending):
            if key not in self.rows:  # gone meanwhile (the table was filled anew)
                del self.pending[key]
                continue
            index = self.get_row_index(key)
            on_screen = top <= index < bottom
            if on_screen and painted >= most:
                continue
            self.hushed = True
            try:
                for column, value in self.pending.pop(key).items():
                    self.update_cell(key, column, value)
            finally:
                self.hushed = False
            if on_screen:
                self.refresh_row(index)  # this row's lines only; the others keep their rendered lines
                painted += 1
        if not self.pending and self.painter is not None:
            self.painter.pause()

    def clear(self, columns: bool = False):
        self.pending.clear()
        return super().clear(columns)

    def refresh(self, *regions, **kw):
        if self.hushed:
            return self
        return super().refresh(*regions, **kw)
