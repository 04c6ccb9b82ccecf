"""Tables that fit the width: one column policy for every table of runs (the lab's runs table, past runs,
`dltui runs`, `run`'s summary, `compare`).

Each column carries a priority. When the table's natural width (each column as wide as its widest cell)
is more than the width there is, the columns go in order: the run id first (PRIORITY["id"]), then the start
time, then the secondary metrics, then notes; the variant, the status and the primary numbers
(PRIORITY["primary"]) are never dropped and never cut. A column dropped is said in the table's caption, so
that a user knows to widen the terminal (or use --json).

Every cell and title goes through core/readout/safe.py: text from run files is shown, never obeyed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rich.cells import cell_len
from rich.table import Table
from rich.text import Text

from .safe import text

# Lower numbers stay longer; 0 is never dropped.
PRIORITY = {"primary": 0, "note": 1, "secondary": 2, "started": 3, "id": 4}
RICH_EDGE = 1  # a rich table's left border; each column adds its padding (2) and a border (1)
RICH_PER_COLUMN = 3
TEXTUAL_PER_COLUMN = 2  # a DataTable column's padding, one cell each side


@dataclass(frozen=True)
class Column:
    """One column of a table of runs: its key, its header, its priority and how its cells align."""

    key: str
    label: str
    priority: int = PRIORITY["primary"]
    numeric: bool = False
    width: int | None = None  # fixed (a live table's column that must not re-lay out), else fit the content

    @property
    def kept(self) -> bool:
        """Never dropped (and never cut): the variant, the status and the primary numbers."""
        return self.priority == PRIORITY["primary"]


def natural_widths(columns: Sequence[Column], rows: Sequence[Sequence[Any]]) -> list[int]:
    """Each column's width to show its header and every cell whole (or its fixed width)."""
    widths = [c.width or cell_len(c.label) for c in columns]
    for row in rows:
        for i, (c, cell) in enumerate(zip(columns, row)):
            if c.width is None:
                widths[i] = max(widths[i], _cell_len(cell))
    return widths


def fit(
    columns: Sequence[Column],
    rows: Sequence[Sequence[Any]],
    width: int,
    per_column: int = RICH_PER_COLUMN,
    edge: int = RICH_EDGE,
) -> list[int]:
    """The indices of the columns to show within `width` cells: the whole table if it fits, else without
    the columns of highest priority number (the rightmost first among equals) until it fits or only the
    kept ones are left."""
    widths = natural_widths(columns, rows)
    shown = list(range(len(columns)))
    drop_order = sorted(
        (i for i, c in enumerate(columns) if not c.kept), key=lambda i: (-columns[i].priority, -i)
    )
    for i in drop_order:
        if sum(widths[j] + per_column for j in shown) + edge <= width:
            break
        shown.remove(i)
    return shown


def dropped_note(columns: Sequence[Column], shown: Sequence[int]) -> str:
    """What the caption says of the columns that did not fit ('' when all did)."""
    gone = [c.label for i, c in enumerate(columns) if i not in shown]
    return f"not shown at this width: {', '.join(gone)}" if gone else ""


class Fitted:
    """A table of runs that fits itself to the width of whatever console prints it (see `table`)."""

    def __init__(self, columns: Sequence[Column], rows: Sequence[Sequence[Any]], title: Any, caption: Any):
        self.columns, self.rows, self.title, self.caption = columns, rows, title, caption

    def __rich_console__(self, console, options):
        yield table(self.columns, self.rows, options.max_width, self.title, self.caption)


def fitted(columns: Sequence[Column], rows: Sequence[Sequence[Any]], title: Any = None, caption: Any = None):
    """`table`, fitted when printed: to the console's width (a terminal's, COLUMNS, or a test's Console)."""
    return Fitted(columns, rows, title, caption)


def table(
    columns: Sequence[Column],
    rows: Sequence[Sequence[Any]],
    width: int,
    title: Any = None,
    caption: Any = None,
) -> Table:
    """A rich table of `rows` fitted to `width` (see `fit`); every cell and the title shown as text, never as
    markup. The primary numbers keep their whole width; a name too long for what is left folds onto more
    lines (nothing of it lost); other columns are cut with an ellipsis only if even the kept ones crowd
    them."""
    shown = fit(columns, rows, width)
    note = dropped_note(columns, shown)
    captions = [text(c) for c in (caption, note) if c]
    t = Table(
        title=text(title) if title else None,
        caption=Text("; ").join(captions) if captions else None,
        caption_justify="left",
    )
    for i in shown:
        c = columns[i]
        whole = c.kept and c.numeric  # a primary number keeps its width; a long kept name folds, never cut
        t.add_column(
            text(c.label),
            justify="right" if c.numeric else "left",
            no_wrap=not (c.kept and not c.numeric),
            overflow="fold" if c.kept else "ellipsis",
            min_width=natural_widths([c], [[r[i]] for r in rows])[0] if whole else None,
        )
    for row in rows:
        t.add_row(*(text(row[i]) for i in shown))
    return t


def _cell_len(cell: Any) -> int:
    return cell.cell_len if isinstance(cell, Text) else cell_len(text(cell).plain)
