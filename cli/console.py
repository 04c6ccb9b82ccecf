"""The headless face: a rich progress bar on a terminal, one plain line per epoch otherwise."""

from __future__ import annotations

import os
import re
import sys
from typing import Any

from rich.console import Console
from rich.table import Table

from ..core.rules.numbers import fmt, pct, per_second, seconds
from ..core.rules.polytext import function_lines
from ..core.rules.status import RunStatus
from ..core.train.events import EpochEnded, Progress, RunEnded, RunStarted, Snapshot


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
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
            from rich.progress import Progress as Bar

            self.progress = Bar(
                TextColumn("[bold]{task.description:<18}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[loss]}"),
                TimeElapsedColumn(),
                console=self.console,
                transient=False,
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
            line = (
                f"{self.preset} {event.variant}: {info.get('n_params', '?'):,} parameters, "
                f"{info.get('n_train', '?'):,} training samples, "
                f"batch {info.get('batch_size')}, {info.get('steps_per_epoch')} steps/epoch on "
                f"{info.get('device_name', event.device)}"
            )
            if info.get("notes"):  # e.g. amp or compile asked for where it does not apply
                line += "; " + "; ".join(info["notes"])
            if self.progress is not None:
                self.progress.console.print(f"[dim]{line}[/]")
                self.tasks[event.run_id] = self.progress.add_task(
                    event.variant, total=event.config["epochs"], loss=""
                )
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
                print(
                    f"{self.preset} {event.variant} epoch {r['epoch']}/{total} {loss}  ({r['time']:.1f}s)",
                    flush=True,
                )
        elif isinstance(event, Progress):
            if self.progress is not None and event.run_id in self.tasks:
                self.progress.update(self.tasks[event.run_id], completed=event.epoch - 1 + event.fraction)
        elif (
            isinstance(event, Snapshot) and event.kind == "function"
        ):  # the polynomial, printed as seed 003 did
            head = f"{self.preset} {event.variant} epoch {event.epoch}"
            for line in function_lines(event.data):
                if self.progress is not None:
                    self.progress.console.print(f"{head} {line}", highlight=False, markup=False)
                else:
                    print(f"{head} {line}", flush=True)
                head = " " * len(head)
        elif isinstance(event, RunEnded):
            self.ended.append(event)
            if event.status == RunStatus.FAILED:  # one line on stderr, where errors go
                print(f"{self.preset} {event.variant}: failed ({event.reason})", file=sys.stderr, flush=True)
            elif event.status != RunStatus.FINISHED or event.reason:
                msg = f"{self.preset} {event.variant}: {event.status}" + (
                    f" ({event.reason})" if event.reason else ""
                )
                (self.progress.console.print if self.progress is not None else print)(msg)


def summary_table(ended: list, title: str = "") -> Table:
    t = Table(title=title or None)
    for col in (
        "variant",
        "status",
        "epochs",
        "train loss",
        "test loss",
        "test acc",
        "best epoch",
        "time",
        "steps/s",
        "run id",
    ):
        t.add_column(col, justify="right" if col not in ("variant", "status", "run id") else "left")
    for e in ended:
        s = e.summary
        t.add_row(
            e.variant,
            e.status,
            str(s.get("epochs", "-")),
            fmt(s.get("final_train_loss")),
            fmt(s.get("final_test_loss")),
            pct(s.get("final_test_acc")),
            str(s.get("best_epoch", "-")),
            seconds(s.get("duration_s", 0)),
            per_second(s.get("steps_per_s")),
            e.run_id,
        )
    return t


MIN_COLUMNS = 80  # narrower (COLUMNS=0, 20) and tables and error lines fold to nothing: let the terminal wrap
ANSI = re.compile(r"\x1b\[[0-9;]*m")
BOX = str.maketrans({**{chr(c): "-" for c in range(0x2500, 0x2580)}, "│": "|", "┃": "|", "║": "|"})


def fix_std_streams() -> None:
    """Make printing safe whatever the shell gave: a closed stdout or stderr (`>&-`, `2>&-`) is pointed at
    /dev/null (so that no file opened later takes its number and catches the prints), an encoding that
    cannot show every character gets `?` rather than an error, and COLUMNS below MIN_COLUMNS is raised."""
    for fd, name in ((0, "stdin"), (1, "stdout"), (2, "stderr")):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
            setattr(sys, name, open(fd, "r" if fd == 0 else "w", closefd=False))
    for stream in (sys.stdout, sys.stderr):
        if not _utf(stream) and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
    cols = os.environ.get("COLUMNS", "")
    if cols and not (cols.isdigit() and int(cols) >= MIN_COLUMNS):
        os.environ["COLUMNS"] = str(MIN_COLUMNS)


def _utf(stream) -> bool:
    return (getattr(stream, "encoding", None) or "").lower().replace("-", "").startswith("utf")


def colour_wanted(stream=None) -> bool:
    """Colour only on a terminal that can show it, and never with NO_COLOR set (https://no-color.org)."""
    stream = stream or sys.stdout
    isatty = getattr(stream, "isatty", None)
    return not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb" and bool(isatty and isatty())


def for_terminal(text: str, stream=None) -> str:
    """A plot as the output can take it: no ANSI colour where colour is not wanted, and ASCII lines and
    markers where the encoding has no box-drawing or braille characters."""
    stream = stream or sys.stdout
    if not colour_wanted(stream):
        text = ANSI.sub("", text)
    if not _utf(stream):
        text = "".join(c if ord(c) < 128 else "*" for c in text.translate(BOX))
    return text


def stdout_failed() -> bool:
    """Whether stdout can no longer be written (a full disk, a closed pipe); if so, point it at /dev/null,
    so that Python's own flush at exit cannot fail a second time."""
    try:
        sys.stdout.flush()
        return False
    except (OSError, ValueError):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.close(null)
        return True


def print_error(msg: str) -> None:
    """One clear line on stderr, no traceback."""
    from rich.markup import escape

    Console(stderr=True, highlight=False, soft_wrap=True).print(
        f"[bold red]error:[/] {escape(msg)}", markup=True
    )
    sys.stderr.flush()
