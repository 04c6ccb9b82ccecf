"""The runs of one press of `r`: a RunData per variant, fed by the training process's events. No textual here.

A run's records are kept thinned (core/readout/liverecords.py): its curves, best epoch and the records views
read stay the same size however long it runs; metrics.jsonl on disk holds them all.

The app drains the training process on a timer and hands the events to `RunGroup.apply`, which updates the
buffers and says what changed; plots and the table are redrawn from the buffers on their own timer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...core.executors.runner import RunPlan
from ...core.executors.trainingprocess import ExecutorDone
from ...core.readout.liverecords import LiveRecords
from ...core.readout.pace import Pace, batch_pace, run_pace
from ...core.rules.numbers import fmt, pct
from ...core.rules.status import RunStatus
from ...core.train.events import EpochEnded, Progress, RunEnded, RunStarted, Snapshot
from ..viewkit import RunData, colour_runs

LIVE = ("queued", "starting", "running")


@dataclass
class Applied:
    """What a drain's events changed: new data to plot, rows to refresh, notices to show."""

    data: bool = False
    rows: set[str] = field(default_factory=set)
    notices: list[tuple[str, str]] = field(default_factory=list)  # (message, severity)
    done: bool = False
    device: str = ""  # the device a run started on, as its training process describes it


class RunGroup:
    """The variants of one preset run together, in order, by one training process."""

    def __init__(self, preset: str, plans: list[RunPlan]):
        self.preset = preset
        self.runs: dict[str, RunData] = {
            p.variant: RunData(
                run_id="", variant=p.variant, config=p.config.to_dict(), status="queued", index=i
            )
            for i, p in enumerate(plans)
        }
        for run in self.runs.values():
            run.records = LiveRecords(
                run.tracks
            )  # thinned as they come: the lab's memory stays the same size
        colour_runs(self.list())
        self.progress: dict[str, Progress] = {}
        self.reasons: dict[str, str] = {}
        self.done = False
        self.paused = False  # the training process is paused (space): its running run reads `paused`
        # s was pressed: the run it interrupted reads `stopped`, the queued ones `skipped`
        self.stopped = False
        self.selected: str | None = None  # the variant the runs table's cursor was left on

    def list(self) -> list[RunData]:
        return list(self.runs.values())

    @property
    def live(self) -> bool:
        return not self.done

    def apply(self, events: list[Any]) -> Applied:
        """Update the buffers from the training process's events."""
        out = Applied()
        for ev in events:
            self._apply_one(ev, out)
        return out

    def _apply_one(self, ev: Any, out: Applied) -> None:
        if isinstance(ev, ExecutorDone):
            self._finish(ev.error, out)
            return
        run = self.runs.get(getattr(ev, "variant", ""))
        if run is None:
            return
        out.rows.add(run.variant)
        if isinstance(ev, RunStarted):
            run.run_id, run.config, run.status = ev.run_id, ev.config, "running"
            out.device = ev.info.get("device_name") or out.device
        elif isinstance(ev, EpochEnded):
            if run.records and run.records[-1].get("epoch", 0) >= ev.record.get("epoch", 0):
                run.records.rewind(
                    ev.record.get("epoch", 0)
                )  # sent again from an earlier checkpoint (Ray): the curve joins there
            run.records.append(ev.record)
            self.progress.pop(run.variant, None)
            out.data = True
        elif isinstance(ev, Progress):
            self.progress[run.variant] = ev
        elif isinstance(ev, Snapshot):
            run.snapshots.append({"epoch": ev.epoch, "kind": ev.kind, **ev.data})
            run.records.pin_epoch(ev.epoch)  # views read the record of a snapshot's epoch
            out.data = True
        elif isinstance(ev, RunEnded):
            self._ended(run, ev, out)

    def _ended(self, run: RunData, ev: RunEnded, out: Applied) -> None:
        run.run_id = run.run_id or ev.run_id
        run.status, run.summary = ev.status, ev.summary
        self.progress.pop(run.variant, None)
        if ev.reason:
            self.reasons[run.variant] = ev.reason
        # notices are shown as written (tui/lab/status.py LiteralNotices): names and reasons stay as they are
        if ev.status == RunStatus.FAILED:
            out.notices.append((f"{self.preset} {run.variant} failed: {ev.reason}", "error"))
        elif ev.status == RunStatus.DIVERGED:
            out.notices.append((f"{self.preset} {run.variant} diverged: {ev.reason}", "warning"))
        out.data = True

    def _finish(self, error: str, out: Applied) -> None:
        """The training process is gone: runs it never ended are failed (on an error) or skipped (on a
        stop)."""
        self.done = out.done = True
        for run in self.runs.values():
            if run.status in LIVE:
                out.rows.add(run.variant)
                if error or run.status != RunStatus.QUEUED:
                    run.status = "failed"
                    self.reasons[run.variant] = error or "the training process ended before this run did"
                else:
                    run.status = "skipped"
        if error:
            out.notices.append((f"{self.preset}: training stopped: {error}", "error"))

    def shown_status(self, variant: str) -> str:
        """A run's status as a person reads it: a running run of a paused batch is `paused`; the run a stop
        interrupted is `stopped`; runs a stop never started are `skipped`."""
        status = str(self.runs[variant].status)
        if status == RunStatus.RUNNING and self.paused and not self.done:
            return "paused"
        if status == RunStatus.INTERRUPTED and self.stopped:
            return "stopped"
        return status

    def pace(self, variant: str) -> Pace | None:
        """A running run's ETA and steps/s (None while it has no measure yet, or once it has ended)."""
        run = self.runs[variant]
        if run.status != RunStatus.RUNNING:
            return None
        return run_pace(run.records[-1] if run.records else None, self.progress.get(variant), run.config)

    def batch_pace(self) -> Pace | None:
        """The whole batch's ETA (the runs still to go at the running runs' pace) and its steps/s."""
        if self.done:
            return None
        paces = [p for p in (self.pace(v) for v in self.runs) if p is not None]
        queued = [r.config.get("epochs") for r in self.runs.values() if r.status == RunStatus.QUEUED]
        return batch_pace(paces, queued)

    def counts(self) -> dict[str, int]:
        """How many runs read each shown status (queued, running, paused, finished, stopped, skipped, ...)."""
        out: dict[str, int] = {}
        for variant in self.runs:
            status = self.shown_status(variant)
            out[status] = out.get(status, 0) + 1
        return out

    def row(self, variant: str) -> tuple[str, ...]:
        """A variant's cells: variant, status, epoch, losses, accuracy, best epoch, ETA and steps/s, note."""
        run = self.runs[variant]
        last = run.records[-1] if run.records else {}
        epochs = run.config.get("epochs", "?")
        prog = self.progress.get(variant)
        epoch = f"{last.get('epoch', 0)}/{epochs}"
        if prog is not None and run.status == RunStatus.RUNNING:
            epoch = f"{prog.epoch - 1 + prog.fraction:.1f}/{epochs}"
        acc = last.get("val_acc") if last.get("val_acc") is not None else last.get("test_acc")
        pace = self.pace(variant)
        return (
            variant,
            self.shown_status(variant),
            epoch,
            fmt(last.get("train_loss")),
            fmt(last.get("test_loss")),
            pct(acc),
            str(run.records.best.epoch(run.summary) or "-"),
            pace.cell() if pace is not None else "",
            self.reasons.get(variant, ""),
        )
