"""`dltui watch [RUN|latest|PRESET]`, and `--follow` for `dltui show` and `dltui compare`: runs that another
process writes (a headless `dltui run`, another user, a Ray driver), followed as they grow.

Following never writes to a run (core/store/watcher.py). In a terminal, `--follow` redraws in place until
every run followed has ended; into a pipe or a file it prints one line per new epoch. Ctrl-C stops following
only: the run goes on, and the command exits 130.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import typer

from ..core.rules.errors import BadInput
from ..core.rules.numbers import is_number
from ..core.rules.status import RunStatus
from . import options

REDRAW_S = 0.5  # a terminal is redrawn at most twice a second
INTERRUPTED = 130
CLEAR = "\x1b[H\x1b[2J"


def watch_cmd(
    target: str = typer.Argument(
        "latest", help="a run id (or unique prefix), `latest`, or a preset: its latest batch of runs"
    ),
    runs_dir: Path | None = options.RunsDir,
) -> None:
    """Open the lab on runs as they go, whoever started them: one run, or a preset's latest batch (and its
    runs that start later)."""
    from ..core.spec.presets import preset_names
    from ..tui.app import run_app

    store = options.store(runs_dir)
    ids = watched(store, target)
    options.need_terminal("`dltui watch`")
    code = run_app(
        runs_dir=store.root,
        watch=ids,
        watch_preset=target if target in preset_names() else None,
    )
    raise typer.Exit(code or 0)


def watched(store, target: str) -> list[str]:
    """The ids `target` names: a preset's latest batch, else the one run (id, prefix or `latest`)."""
    from ..core.spec.presets import preset_names
    from ..core.store.batches import latest_batch

    if target in preset_names():
        ids = latest_batch(store, target)
        if not ids:
            raise BadInput(
                f"no runs of preset {target} in {store.root}; start some with `dltui run {target}`"
            )
        return ids
    return [store.get(target).run_id]


def epoch_line(name: str, rec: dict) -> str:
    """One epoch as a line: its losses and accuracies."""
    from ..core.rules.numbers import fmt, pct

    parts = [f"{name}  epoch {rec.get('epoch')}"]
    for key in ("train_loss", "test_loss", "val_loss", "train_acc", "test_acc", "val_acc"):
        if is_number(rec.get(key)):
            parts.append(f"{key} {(pct if key.endswith('acc') else fmt)(rec[key])}")
    return "  ".join(parts)


def follow_runs(store, infos: list, names: dict[str, str], draw: Callable[[dict], None]) -> int:
    """Follow `infos` until each has ended: `draw(datas)` in a terminal (at most every REDRAW_S), else lines.
    Returns 0, or 130 after Ctrl-C (the runs are left as they are)."""
    from ..core.store.watcher import follow
    from ..tui.live import grown
    from ..tui.viewkit import RunData

    datas = {
        i.run_id: RunData(i.run_id, names[i.run_id], i.config, i.state, summary=i.summary, index=n)
        for n, i in enumerate(infos)
    }
    tty, drawn_at, dirty = sys.stdout.isatty(), 0.0, False
    try:
        for news in follow(store, list(datas)):
            for u in news:
                old = datas[u.run_id]
                if not tty:
                    _print_news(old, u)
                datas[u.run_id] = grown(old, u)
            dirty = True
            if tty and time.monotonic() - drawn_at >= REDRAW_S:
                draw(datas)
                drawn_at, dirty = time.monotonic(), False
        if tty and dirty:
            draw(datas)
    except KeyboardInterrupt:
        print(f"stopped following; the run{'s go' if len(infos) > 1 else ' goes'} on", file=sys.stderr)
        return INTERRUPTED
    return 0


def _print_news(run, update) -> None:
    """Lines for one update: each new epoch (of a first look, only the latest), and a change of state."""
    recs = update.records[-1:] if update.reset and not run.records else update.records
    lines = [epoch_line(run.variant, r) for r in recs]
    if update.info is not None and update.state != run.status or update.reset and not run.records:
        reason = update.info.status.get("reason") if update.info is not None else None
        state = update.state if update.info is not None else run.status
        lines.append(
            f"{run.variant}  {state}" + (f" ({reason})" if reason and state != RunStatus.RUNNING else "")
        )
    if lines:
        from ..core.rules.outside import visible

        sys.stdout.write("\n".join(visible(line) for line in lines) + "\n")  # names and reasons: shown
        sys.stdout.flush()


def follow_show(store, info, log: bool) -> int:
    """`dltui show RUN --follow`."""
    from rich.console import Console

    from ..core.rules.outside import visible
    from .console import for_terminal
    from .show import view_plots

    def draw(datas: dict) -> None:
        (data,) = datas.values()
        sys.stdout.write(CLEAR + for_terminal("\n".join(view_plots(info, log, data))) + "\n")
        Console().print(
            visible(
                f"{info.run_id}: {data.status}, epoch {data.records[-1]['epoch'] if data.records else 0}"
                f"{'   (Ctrl-C: stop following; the run goes on)' if data.status == 'running' else ''}"
            ),
            highlight=False,
            markup=False,
        )
        follow_strip(info, data.status)
        sys.stdout.flush()

    return follow_runs(store, [info], {info.run_id: info.status.get("variant", info.run_id)}, draw)


def follow_strip(info, status: str) -> None:
    """The run's hardware strip under `show --follow`'s plots: one line in a small terminal, more in a big
    one (as the lab)."""
    import shutil

    from .console import out_console
    from .hardware import strip_lines

    cols, rows = shutil.get_terminal_size()
    console = out_console()
    for line in strip_lines(info.path, cols, rows >= 40 and cols >= 120, status == RunStatus.RUNNING):
        console.print(line)
