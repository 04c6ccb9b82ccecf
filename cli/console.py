"""The headless face: a rich progress bar on a terminal, one plain line per epoch otherwise; and the one
console every command prints through (`out_console`), which takes strings literally: names, reasons and paths
come from files and users, so they are shown (control characters as `\x1b`, core/rules/outside.py), never
parsed as markup or obeyed by the terminal.
"""

from __future__ import annotations

import os
import re
import sys
from typing import Any

from rich.console import Console

from ..core.readout.safe import joined, markup
from ..core.rules.numbers import count, fmt, pct, per_second, seconds
from ..core.rules.outside import plot_visible, visible
from ..core.rules.polytext import function_lines
from ..core.rules.status import RunStatus
from ..core.train.events import EpochEnded, Progress, RunEnded, RunStarted, Snapshot


class ConsoleSink:
    """Shows runs as they go. Use as a context manager around the runs."""

    def __init__(self, preset: str, n_runs: int, console: Console | None = None, live: bool | None = None):
        self.console = console or out_console()
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
            line = visible(started_line(self.preset, event))
            if self.progress is not None:
                self.progress.console.print(line, style="dim", markup=False, highlight=False)
                self.tasks[event.run_id] = self.progress.add_task(
                    markup(event.variant), total=event.config["epochs"], loss=""
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
                    visible(f"{self.preset} {event.variant} epoch {r['epoch']}/{total} {loss}")
                    + f"  ({seconds(r.get('time'))})",
                    flush=True,
                )
        elif isinstance(event, Progress):
            if self.progress is not None and event.run_id in self.tasks:
                self.progress.update(self.tasks[event.run_id], completed=event.epoch - 1 + event.fraction)
        elif (
            isinstance(event, Snapshot) and event.kind == "function"
        ):  # the polynomial, printed as seed 003 did
            head = visible(f"{self.preset} {event.variant} epoch {event.epoch}")
            for line in function_lines(event.data):
                if self.progress is not None:
                    self.progress.console.print(f"{head} {line}", highlight=False, markup=False)
                else:
                    print(f"{head} {line}", flush=True)
                head = " " * len(head)
        elif isinstance(event, RunEnded):
            self.ended.append(event)
            if event.status == RunStatus.FAILED:  # one line on stderr, where errors go
                msg = visible(f"{self.preset} {event.variant}: failed ({event.reason})")
                print(msg, file=sys.stderr, flush=True)
            elif event.status != RunStatus.FINISHED or event.reason:
                msg = visible(
                    f"{self.preset} {event.variant}: {event.status}"
                    + (f" ({event.reason})" if event.reason else "")
                )
                if self.progress is not None:
                    self.progress.console.print(msg, markup=False, highlight=False)
                else:
                    print(msg)


def started_line(preset: str, event: RunStarted) -> str:
    """What a run is, as it starts: its size, its data, its batches, its device (and any notes)."""
    info = event.info
    line = (
        f"{preset} {event.variant}: {count(info.get('n_params'), 'parameter')}, "
        f"{count(info.get('n_train'), 'training sample')}, "
        f"batch {info.get('batch_size')}, {info.get('steps_per_epoch')} steps/epoch on "
        f"{info.get('device_name', event.device)}"
    )
    if info.get("notes"):  # e.g. amp or compile asked for where it does not apply
        line += "; " + "; ".join(str(n) for n in info["notes"])
    return line


def out_console(stderr: bool = False, width: int | None = None) -> Console:
    """The console every command prints on: strings are taken literally (no markup, no emoji codes, no
    highlighting); styled output is built as rich Text (core/readout/safe.py)."""
    return Console(stderr=stderr, markup=False, emoji=False, highlight=False, width=width)


SUMMARY_COLUMNS = (
    ("variant", "variant", "primary", False),
    ("status", "status", "primary", False),
    ("epochs", "epochs", "primary", True),
    ("train", "train loss", "secondary", True),
    ("test", "test loss", "primary", True),
    ("acc", "test acc", "primary", True),
    ("best", "best epoch", "secondary", True),
    ("time", "time", "secondary", True),
    ("speed", "steps/s", "secondary", True),
    ("run_id", "run id", "id", False),
)


def summary_table(ended: list, title: str = ""):
    """`dltui run`'s closing table, fitted to the terminal by the one column policy
    (core/readout/columns.py)."""
    from ..core.readout.colours import status_text
    from ..core.readout.columns import PRIORITY, Column, fitted

    columns = [Column(k, label, PRIORITY[p], numeric=n) for k, label, p, n in SUMMARY_COLUMNS]
    rows = []
    for e in ended:
        s = e.summary
        rows.append(
            (
                e.variant,
                status_text(e.status),
                str(s.get("epochs", "-")),
                fmt(s.get("final_train_loss")),
                fmt(s.get("final_test_loss")),
                pct(s.get("final_test_acc")),
                str(s.get("best_epoch", "-")),
                seconds(s.get("duration_s", 0)),
                per_second(s.get("steps_per_s")),
                e.run_id,
            )
        )
    return fitted(columns, rows, title=title or None)


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
    text = plot_visible(text)  # its legend and title name runs: any control but colour is shown, not obeyed
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
    """One clear line on stderr, no traceback; what the user typed (it is in `msg`) is shown, never obeyed."""
    Console(stderr=True, highlight=False, soft_wrap=True).print(
        joined(("error:", "bold red"), " ", visible(msg, newlines=True))
    )
    sys.stderr.flush()
