"""`dltui show RUN`: the run's curves drawn with plotext in the terminal, and its summary."""

from __future__ import annotations

import sys

from ..core.readout.runcard import run_card
from ..core.readout.series import terminal_plot_size
from .console import for_terminal, out_console


def view_plots(run, log: bool = False, data=None) -> list[str]:
    """The run's plots as text: the views its preset names (loss, accuracy, learned function, gradient norms,
    ...), drawn by the same drawers as the lab's live plots (from `data`, its buffers, when given:
    `--follow`)."""
    import plotext as plt

    from ..core.rules.errors import BadInput
    from ..core.spec import presets
    from ..tui.viewkit import INSTRUMENT_VIEWS, VIEWS, ViewOptions, measured, picture, run_datas, views_for
    from ..tui.views import load_all

    load_all()
    try:
        names = presets.load(run.status.get("preset", "")).views
    except BadInput:  # a user's own preset file, or one renamed since
        names = ("loss", "accuracy")
    names = views_for(names, run.config.get("probes"))
    if run.status.get("kind") == "lrfind":
        names = ("lrfind",)
    (data,) = [data] if data is not None else run_datas([run])
    if not any(r.get("train_acc") is not None or r.get("test_acc") is not None for r in data.records):
        names = tuple(n for n in names if n != "accuracy")
    names = tuple(
        n for n in names if n not in INSTRUMENT_VIEWS or measured(n, [data])
    )  # as the lab: no empty panels
    out = []
    for name in names:
        if name not in VIEWS:
            continue
        out.append(
            picture(
                plt,
                VIEWS[name][1],
                [data],
                ViewOptions(log=log, selected=run.run_id),
                *terminal_plot_size(),
                "clear",
            )
        )
    return out


def show_run(run, log: bool = False) -> None:
    out = sys.stdout
    plots = view_plots(run, log)
    if (run.path / "metrics.jsonl").exists() or (run.path / "snapshots.jsonl").exists():
        out.write(for_terminal("\n".join(plots)) + "\n")
    else:
        out.write("no epochs recorded yet\n")
    out.flush()
    out_console().print(run_card(run))
    show_hardware(run)


def show_hardware(run) -> None:
    """The run's mean utilisation and peak memory (cli/hardware.py), under its card."""
    from .hardware import show_lines

    console = out_console()
    for line in show_lines(run):
        console.print(line)
