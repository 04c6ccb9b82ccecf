"""The headless face: a rich progress bar on a terminal, one plain line per epoch otherwise."""
from __future__ import annotations

import sys
from typing import Any

from rich.console import Console
from rich.table import Table

from .core.events import EpochEnded, Progress, RunEnded, RunStarted, Snapshot
from .core.present import fmt, pct, per_second, seconds
from .core.poly_text import function_lines


class ConsoleSink:
    """Shows runs as they go. Use as a context manager around the runs."""

    def __init__(self, preset: str, n_runs: int, console: Console | None = None, live: bool | None = None):
        self.console = console or Console(stderr=False)
        self.live = self.console.is_terminal if live is None else live
        self.preset, self.n_runs = preset, n_runs
        self.progress = None
        self.tasks: dict[str, Any] = {}
        self.epochs: dict[str, int] = {}
        self.ended: list[Any] = []

    def __enter__(self):
        if self.live:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress as Bar, TextColumn, TimeElapsedColumn

            self.progress = Bar(
                TextColumn("[bold]{task.description:<18}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[loss]}"),
                TimeElapsedColumn(), console=self.console, transient=False,
            )
            self.progress.__enter__()
        return self

    def __exit__(self, *exc):
        if self.progress is not None:
            self.progress.__exit__(*exc)
        return False

    def __call__(self, event) -> None:
        if isinstance(event, RunStarted):
            self.epochs[event.run_id] = event.config["epochs"]
            info = event.info
            line = (f"{self.preset} {event.variant}: {info.get('n_params', '?'):,} parameters, {info.get('n_train', '?'):,} training samples, "
                    f"batch {info.get('batch_size')}, {info.get('steps_per_epoch')} steps/epoch on {info.get('device_name', event.device)}")
            if info.get("notes"):  # e.g. amp or compile asked for where it does not apply
                line += "; " + "; ".join(info["notes"])
            if self.progress is not None:
                self.progress.console.print(f"[dim]{line}[/]")
                self.tasks[event.run_id] = self.progress.add_task(event.variant, total=event.config["epochs"], loss="")
            else:
                print(line, flush=True)
        elif isinstance(event, EpochEnded):
            r = event.record
            loss = f"train {fmt(r['train_loss'])}  test {fmt(r['test_loss'])}"
            if r.get("test_acc") is not None:
                loss += f"  acc {pct(r['test_acc'])}"
            if self.progress is not None:
                self.progress.update(self.tasks[event.run_id], completed=r["epoch"], loss=loss)
            else:
                total = self.epochs.get(event.run_id, "?")
                print(f"{self.preset} {event.variant} epoch {r['epoch']}/{total} {loss}  ({r['time']:.1f}s)", flush=True)
        elif isinstance(event, Progress):
            if self.progress is not None and event.run_id in self.tasks:
                self.progress.update(self.tasks[event.run_id], completed=event.epoch - 1 + event.fraction)
        elif isinstance(event, Snapshot) and event.kind == "function":  # the polynomial, printed as seed 003 did
            head = f"{self.preset} {event.variant} epoch {event.epoch}"
            for line in function_lines(event.data):
                if self.progress is not None:
                    self.progress.console.print(f"{head} {line}", highlight=False, markup=False)
                else:
                    print(f"{head} {line}", flush=True)
                head = " " * len(head)
        elif isinstance(event, RunEnded):
            self.ended.append(event)
            if event.status != "finished" or event.reason:
                msg = f"{self.preset} {event.variant}: {event.status}" + (f" ({event.reason})" if event.reason else "")
                (self.progress.console.print if self.progress is not None else print)(msg)


def summary_table(ended: list, title: str = "") -> Table:
    t = Table(title=title or None)
    for col in ("variant", "status", "epochs", "train loss", "test loss", "test acc", "best epoch", "time", "steps/s", "run id"):
        t.add_column(col, justify="right" if col not in ("variant", "status", "run id") else "left")
    for e in ended:
        s = e.summary
        t.add_row(
            e.variant, e.status, str(s.get("epochs", "-")), fmt(s.get("final_train_loss")), fmt(s.get("final_test_loss")),
            pct(s.get("final_test_acc")), str(s.get("best_epoch", "-")), seconds(s.get("duration_s", 0)),
            per_second(s.get("steps_per_s")), e.run_id,
        )
    return t


def print_error(msg: str) -> None:
    """One clear line on stderr, no traceback."""
    from rich.markup import escape

    Console(stderr=True, highlight=False, soft_wrap=True).print(f"[bold red]error:[/] {escape(msg)}", markup=True)
    sys.stderr.flush()
