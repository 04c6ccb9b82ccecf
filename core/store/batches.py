"""Which runs to follow: the runs started since a listing, and a preset's latest batch (a sweep's runs).

Both read through the listing's index (core/store/index.py). No torch, no textual.
"""

from __future__ import annotations

import time
from pathlib import Path

from ..rules.status import RunStatus
from .folder import RunStore, run_ids
from .index import Row, RunIndex, listing

BATCH_GAP_S = 10.0  # a run that ended at most this long before the next one started belongs to its batch


def new_rows(root: Path, known: set[str]) -> list[Row]:
    """The listing rows of the runs in `root` not in `known`, newest first: runs started since."""
    index = RunIndex(root, use_cache=False)
    return [row for row in index.rows([r for r in run_ids(index.root) if r not in known])]


def latest_batch(store: RunStore, preset: str) -> list[str]:
    """The run ids of the preset's latest batch, oldest first: its newest run, and the runs before it that
    were still going (or had just ended) when a later one of the batch started. A sweep's runs, run in
    parallel or one after another, are one batch; the same preset started again an hour later is another."""
    rows = [r for r in listing(store.root, preset=preset)[0] if r.started is not None]
    if not rows:
        return []
    batch, earliest = [rows[0].run_id], rows[0].started
    for row in rows[1:]:
        status = store._info(store.root / row.run_id).status
        end = (
            time.time()
            if row.state == RunStatus.RUNNING
            else status.get("ended") or status.get("heartbeat") or row.started
        )
        if end < earliest - BATCH_GAP_S:
            break
        batch.append(row.run_id)
        earliest = min(earliest, row.started)
    return batch[::-1]
