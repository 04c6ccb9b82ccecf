"""Past runs followed live: the running runs' rows, and the shown runs' curves, as a watcher's news arrives
(whoever writes the runs: the lab, `dltui run` in another terminal, a Ray pool)."""

from __future__ import annotations

import time

from ...core.rules.status import RunStatus
from ...core.store.folder import RunStore
from ...core.store.index import Row
from ...core.store.runtail import Update
from ...core.store.watcher import Watcher
from ..live import grown, live_row
from ..viewkit import RunData

PLOTS_S = (
    1.0  # growing curves of runs another process writes are redrawn once a second (plotting is the cost)
)
ROWS_S = 1.0  # the table takes the followed runs' news once a second: rendering its rows is what costs


class Following:
    """The watcher (its own thread) and what its news changed, not yet shown."""

    def __init__(self, store: RunStore):
        self.watcher = Watcher(store)
        self.live_rows: dict[str, Row] = {}  # the rows of the runs followed, as their news arrives
        self.stale_rows: set[str] = set()  # those of them with news not yet in the table
        self.rows_at = 0.0  # when the table last took the news (at most every ROWS_S)
        self.plots_at = 0.0  # when the shown runs' plots were last handed their news (at most every PLOTS_S)

    def close(self) -> None:
        self.watcher.close()

    def follow_rows(self, rows: list[Row]) -> None:
        """Follow the running ones of these rows, for their rows: the last record and the status."""
        running = {r.run_id: r for r in rows if r.state == RunStatus.RUNNING}
        self.live_rows.update(running)
        self.watcher.follow(list(running), full=False)

    def follow_shown(self, runs: list[RunData]) -> None:
        """Follow the running ones of the shown runs whole: their first news is the whole run."""
        self.watcher.follow([r.run_id for r in runs if r.status == RunStatus.RUNNING], anew=True)

    def take(self, shown: list[RunData]) -> list[RunData]:
        """The watcher's news (a small batch, read on its thread) into the followed rows; the shown runs,
        grown."""
        news: dict[str, Update] = {u.run_id: u for u in self.watcher.take()}
        for run_id, update in news.items():
            if run_id in self.live_rows:
                self.live_rows[run_id] = live_row(self.live_rows[run_id], update)
                self.stale_rows.add(run_id)
        if any(r.run_id in news for r in shown):
            return [grown(r, news[r.run_id]) if r.run_id in news else r for r in shown]
        return shown

    def rows_due(self, now: float) -> bool:
        return bool(self.stale_rows) and now - self.rows_at >= ROWS_S

    def plots_due(self, now: float) -> bool:
        if now - self.plots_at < PLOTS_S:
            return False
        self.plots_at = now
        return True

    def rows_taken(self) -> set[str]:
        """The rows with news, handed to the table now."""
        stale, self.stale_rows = self.stale_rows, set()
        self.rows_at = time.monotonic()
        return stale
