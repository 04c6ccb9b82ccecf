"""The points a curve is drawn from (every one; core.rules.decimate thins them), and the size of a plot
printed in the terminal."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from typing import Any

from ..rules.decimate import point

PLOT_COLUMNS = (60, 160)  # a plot printed in the terminal: at least, at most this many columns
PLOT_ROWS = (15, 30)  # and rows
TEXT_ROWS = 8  # rows left for the lines printed around a plot


def terminal_plot_size() -> tuple[int, int]:
    """(width, height) of a plot printed in this terminal: its size, less room for the text around it, within
    bounds."""
    cols, rows = shutil.get_terminal_size((100, 30))
    return max(PLOT_COLUMNS[0], min(cols, PLOT_COLUMNS[1])), max(
        PLOT_ROWS[0], min(rows - TEXT_ROWS, PLOT_ROWS[1])
    )


def series(
    records: Sequence[dict[str, Any]], key: str, x: str = "epoch", log: bool = False
) -> tuple[list, list]:
    """(x, y) of a metric over all of a run's records, unthinned: each record's `point` (core.rules.decimate),
    the rule the thinned curves (decimated, the lab's Tracks) count records by."""
    pts = [p for p in (point(r, key, x, log) for r in records) if p is not None]
    return [p[0] for p in pts], [p[1] for p in pts]
