"""Runs written by other processes, followed: a watcher's news (core/store/watcher.py) applied to a past-runs
row and to a shown run's buffers, in O(new records). No textual: `dltui show --follow` uses it too."""

from __future__ import annotations

from dataclasses import replace

from ..core.readout.tracks import Tracks
from ..core.rules.numbers import is_number
from ..core.store.index import Row, row_of
from ..core.store.runtail import Update
from .viewkit import RunData

FIGURES = ("train_loss", "test_loss", "test_acc", "val_acc")


def live_row(row: Row, update: Update) -> Row:
    """The row with the update's state and last epoch (its summary's figures once it has one)."""
    info = update.info
    if info is not None and info.summary:
        return row_of(info)  # an ended run: the figures its summary gives (no file is read)
    last = update.records[-1] if update.records else None
    changes = {} if last is None else {"epochs": last.get("epoch"), **{k: _num(last.get(k)) for k in FIGURES}}
    if info is not None:
        changes["state"] = update.state
    return replace(row, **changes)


def _num(v):
    return v if is_number(v) else None


def grown(run: RunData, update: Update) -> RunData:
    """The shown run with the update's news: the same buffers, grown, or new ones if its files were replaced.
    A row's news (its last record) changes only its status: the curve is the whole run's, read when it was
    opened."""
    if update.rows_only:
        if update.info is not None:
            run.status, run.summary = update.state, update.info.summary
        return run
    if update.reset:
        run = replace(run, records=[], snapshots=[], tracks=Tracks())
    run.records.extend(update.records)
    run.snapshots.extend(update.snapshots)
    if update.info is not None:
        run.status, run.summary = update.state, update.info.summary
    return run
