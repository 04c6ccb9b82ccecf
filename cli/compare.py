"""`dltui compare RUN RUN...`: one metric of several runs overlaid in the terminal, and a table."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from ..core.rules.numbers import is_number
from . import options


def compare_cmd(
    runs: list[str] = typer.Argument(..., help=f"the runs to compare: {options.NAMES_HELP}"),
    metric: str = typer.Option(
        "test_loss",
        "--metric",
        "-m",
        help="the record key to compare: train_loss, test_loss, val_loss, test_acc, ...",
    ),
    x: str = options.X,
    log: bool = options.log_scale("the y-axis"),
    smooth: float = options.smooth(),
    runs_dir: Path | None = options.RunsDir,
    follow: bool = options.follow(several=True),
) -> None:
    """One metric of several runs overlaid in the terminal, and their final and best figures."""
    from ..core.export.writer import check_x
    from ..core.rules.smoothing import check_alpha
    from .console import for_terminal, out_console

    check_x(x)
    check_alpha(smooth)
    store = options.store(runs_dir)
    infos = options.runs_named(store, runs)
    records = {r.run_id: r.metrics() for r in infos}
    _check_metric(metric, records)
    names = run_names(infos)
    if follow:
        raise typer.Exit(follow_compare(store, infos, names, metric, x, log, smooth))
    sys.stdout.write(for_terminal(compare_plot(infos, records, names, metric, x, log, smooth)) + "\n")
    sys.stdout.flush()
    out_console().print(compare_table(infos, records, names, metric))


def run_names(infos) -> dict[str, str]:
    """run_id -> the name a run goes by in the legend and the table (core.export.figures.labels), with any
    control character in it shown, never obeyed (a variant is text from a run file)."""
    from ..core.export.figures import labels
    from ..core.rules.outside import visible

    return {k: visible(v) for k, v in labels(infos).items()}


def _check_metric(metric: str, records: dict[str, list[dict[str, Any]]]) -> None:
    from ..core.rules.errors import BadInput

    keys = {k for recs in records.values() for r in recs for k, v in r.items() if is_number(v)}
    if metric not in keys:
        known = ", ".join(sorted(keys - {"epoch", "step", "time"})) or "none yet"
        raise BadInput(f"--metric {metric}: these runs do not record it; they record: {known}")


def compare_plot(infos, records, names, metric: str, x: str, log: bool, smooth: float) -> str:
    """The runs' curves as the lab draws them (core.readout.sweeps.overlay): thinned, in the lab's colours,
    seeds of one experiment as one band, named as in the runs table; smoothed curves over their raw ones in
    grey."""
    import plotext as plt

    from ..core.readout.colours import RAW_COLOUR, colour_key
    from ..core.readout.series import terminal_plot_size
    from ..core.readout.sweeps import draw_band, overlay
    from ..core.spec.views import X_LABELS

    plt.clear_figure()
    plt.plotsize(*terminal_plot_size())
    args = (
        [records[i.run_id] for i in infos],
        [i.config for i in infos],
        [names[i.run_id] for i in infos],
        metric,
        x,
        log,
    )
    if smooth > 0:  # every raw curve first, so that no raw curve hides a smoothed one
        for entry in overlay(*args):
            plt.plot(entry.xs, entry.ys, color=RAW_COLOUR, marker="braille")
    for entry in overlay(*args, smooth=smooth):
        if entry.band is not None:
            draw_band(plt, entry.band, entry.colour, "braille", label=entry.label)
        else:
            plt.plot(entry.xs, entry.ys, label=entry.label, color=entry.colour, marker="braille")
    if log:
        plt.yscale("log")
    key = colour_key([i.config for i in infos])
    plt.title(
        f"{metric.replace('_', ' ')}"
        + (f" (EMA {smooth:g}; raw in grey behind)" if smooth > 0 else "")
        + (f"; {key}" if key else "")
    )
    plt.xlabel(X_LABELS[x])
    plt.theme("clear")
    return plt.build()


def best_of(recs: list[dict[str, Any]], metric: str) -> tuple[float | None, int | None]:
    """The best value of `metric` (highest for accuracies, lowest otherwise) and its epoch."""
    from ..core.rules.bestepoch import best_record

    best = best_record(recs, metric)
    return (best[metric], best.get("epoch")) if best else (None, None)


def compare_table(infos, records, names, metric: str):
    """The runs' final and best figures, fitted to the width by the one column policy
    (core/readout/columns.py): the run id goes first, then the time and the best epoch."""
    from ..core.readout.colours import status_text
    from ..core.readout.columns import PRIORITY, Column, fitted
    from ..core.rules.numbers import metric as shown
    from ..core.rules.numbers import metric_name, seconds
    from .hardware import compare_cells

    name = metric_name(metric)
    columns = (
        Column("run", "run"),
        Column("status", "status"),
        Column("epochs", "epochs", numeric=True),
        Column("final", f"final {name}", numeric=True),
        Column("best", f"best {name}", numeric=True),
        Column("at", "at epoch", PRIORITY["secondary"], numeric=True),
        Column("time", "time", PRIORITY["secondary"], numeric=True),
        Column("rate", "samples/s", PRIORITY["secondary"], numeric=True),
        Column("peak", "peak mem", PRIORITY["secondary"], numeric=True),
        Column("run_id", "run id", PRIORITY["id"]),
    )
    rows = []
    for info in infos:
        recs = records[info.run_id]
        last = next((r[metric] for r in reversed(recs) if is_number(r.get(metric))), None)
        best, at = best_of(recs, metric)
        dur = info.summary.get("duration_s") or (recs[-1].get("time") if recs else None)
        rows.append(
            (
                names[info.run_id],
                status_text(info.state),
                str(recs[-1].get("epoch", "-") if recs else 0),
                shown(metric, last),
                shown(metric, best),
                str(at if at is not None else "-"),
                seconds(dur),
                *compare_cells(info),
                info.run_id,
            )
        )
    return fitted(columns, rows, title=f"{name}: final and best")


def follow_compare(
    store, infos: list, names: dict[str, str], metric: str, x: str, log: bool, smooth: float
) -> int:
    """`dltui compare RUN... --follow`."""
    from .console import for_terminal, out_console
    from .watch import CLEAR, follow_runs

    def draw(datas: dict) -> None:
        records = {k: d.records for k, d in datas.items()}
        for info in infos:
            info.status = {**info.status, "status": datas[info.run_id].status}
            info.summary = datas[info.run_id].summary
        sys.stdout.write(
            CLEAR + for_terminal(compare_plot(infos, records, names, metric, x, log, smooth)) + "\n"
        )
        sys.stdout.flush()
        out_console().print(compare_table(infos, records, names, metric))

    return follow_runs(store, infos, names, draw)
