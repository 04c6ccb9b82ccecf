"""`dltui runs`: the saved runs, newest first, a screenful unless --all; filters; --json for scripts.

Fast at thousands of runs: the order comes from the folder names and each row from core/store/index.py's
cache, so a screenful reads only the runs it shows.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import typer

from ..core.rules.errors import BadInput
from . import options

TABLE_LINES = 9  # the table's title, header, rules, caption and footer: the terminal lines that are not rows
MIN_ROWS = 5  # rows shown however short the terminal
FALLBACK_TERMINAL = (100, 30)  # columns, lines when the output is not a terminal


def screenful() -> int:
    """The rows that fit in this terminal under the table's title, header and footer lines."""
    return max(MIN_ROWS, shutil.get_terminal_size(FALLBACK_TERMINAL).lines - TABLE_LINES)


def runs_cmd(
    limit: int | None = typer.Option(
        None, "--limit", "-n", help="show the newest N runs [default: a screenful]"
    ),
    all_: bool = typer.Option(False, "--all", "-a", help="show every run"),
    preset: str | None = typer.Option(None, "--preset", "-p", help="only the runs of this preset"),
    status: str | None = typer.Option(
        None,
        "--status",
        help="only runs in this state: running, finished, diverged, failed, interrupted, crashed, damaged",
    ),
    as_json: bool = typer.Option(
        False, "--json", help="print the rows as JSON (one list, newest first) for scripts"
    ),
    runs_dir: Path | None = options.RunsDir,
) -> None:
    """The runs in the runs dir, newest first: status, preset, variant, epochs, final losses."""
    from ..core.store.index import listing

    if limit is not None and limit < 1:
        raise BadInput(f"--limit {limit}: must be at least 1; or use --all for every run")
    if limit is not None and all_:
        raise BadInput("--limit and --all say different things; give one of them")
    root = options.store(runs_dir).root
    rows, total = listing(root, None if all_ else (limit or screenful()), preset, status)
    if as_json:
        sys.stdout.write(json.dumps([r.to_dict() for r in rows], indent=1) + "\n")
        return
    _print_table(root, rows, total, preset, status)


def columns():
    """`dltui runs`'s columns, by the one column policy (core/readout/columns.py): at 80 columns the id goes
    first, then the start time, then the preset and the train loss; variant, status and the test figures
    stay."""
    from ..core.readout.columns import PRIORITY, Column

    return (
        Column("run_id", "run id", PRIORITY["id"]),
        Column("started", "started", PRIORITY["started"]),
        Column("status", "status"),
        Column("preset", "preset", PRIORITY["secondary"]),
        Column("variant", "variant"),
        Column("epochs", "epochs", numeric=True),
        Column("train_loss", "train loss", PRIORITY["secondary"], numeric=True),
        Column("test_loss", "test loss", numeric=True),
        Column("test_acc", "test acc", numeric=True),
    )


def cells(r) -> tuple:
    """A listing row's cells, in `columns()`'s order (text from run files shown, never obeyed)."""
    from ..core.readout.colours import status_text
    from ..core.readout.safe import joined
    from ..core.rules.numbers import clock, fmt, pct

    return (
        r.run_id,
        clock(r.started),
        joined(status_text(r.state), f" ({r.problem})" if r.problem else ""),
        r.preset,
        r.variant if r.variant not in (None, "", "?") else r.run_id,  # a damaged row is named by its folder
        "-" if r.epochs is None else str(r.epochs),
        fmt(r.train_loss),
        fmt(r.test_loss),
        pct(r.test_acc),
    )


def _print_table(root: Path, rows: list, total: int, preset: str | None, status: str | None) -> None:
    from ..core.readout.columns import fitted
    from ..core.readout.safe import text
    from .console import out_console

    console = out_console()
    which = " ".join(f for f in (f"of preset {preset}" if preset else "", f"{status}" if status else "") if f)
    if not rows:
        console.print(
            text(
                f"no runs {which + ' ' if which else ''}in {root} yet; start one with `dltui run polynomial`"
            )
        )
        return
    shown = f"newest {len(rows)} of {total}" if len(rows) < total else f"all {total}"
    title = f"runs in {root}: {shown}{' ' + which if which else ''}" + (
        " (--all for every one)" if len(rows) < total else ""
    )
    console.print(fitted(columns(), [cells(r) for r in rows], title=title))
