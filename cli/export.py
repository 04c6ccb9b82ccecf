"""`dltui export RUN... --to DIR`: metrics as CSV/JSON, figures as PNG/SVG, TensorBoard event files."""

from __future__ import annotations

from pathlib import Path

import typer

from . import options

HELP = (
    """Write runs' metrics and figures into DIR (made if missing), for a report or another tool.

\b
Files (FMT = png or svg):
  <run_id>.csv           one row per epoch (--format csv)
  metrics.csv            with --tidy: all runs in one long table for pandas and trackio: step (the
                         epoch), timestamp (ISO 8601, UTC), run, preset, variant, config/KEY for each
                         config key that differs between the runs, time, updates, then the metrics
  <run_id>.json          {run_id, preset, variant, status, config, summary, metrics} (--format json)
  <run_id>-loss.FMT      train vs test (and val) loss, linear and log scale side by side
  <run_id>-accuracy.FMT  train vs test (and val) accuracy, if the run records accuracy
  <run_id>-function.FMT  the polynomial's learned vs target function at the recorded epochs
  <run_id>-sharpness.FMT sharpness against 2/lr, if the run measured it (probe sharpness)
  <run_id>-confusion.FMT the last confusion matrix; <run_id>-confusion.csv its counts (probe confusion)
  <run_id>-lrfind.FMT    an lr range test: loss vs lr, smoothed, the suggested lr marked (instead
                         of loss and accuracy)
  compare-METRIC.FMT     test loss of the runs overlaid, when two or more have data
"""
    "  <run_id>/events.out.tfevents.*  TensorBoard (--format tensorboard; "
    "needs `pip install 'dltui[tensorboard]'`):\n"
    """\
                         every metric by epoch, the config as hparams, the learned function as an image;
                         view with `tensorboard --logdir DIR`

\b
<run_id>.csv columns: epoch, step (optimizer updates so far), time (seconds since the run began),
train_loss, test_loss, val_loss, train_acc, test_acc, val_acc (fractions 0..1), lr, then any other
value the run records, by name; a list value such as grad_norm (one per layer) or class_acc (one
per class) becomes grad_norm_0, grad_norm_1, ... An empty cell is a value not recorded that epoch
(or not finite: JSON and CSV never hold NaN). The tidy metrics.csv and TensorBoard name values
alike: updates (optimizer updates so far), grad_norm/layer1 (layer 1 nearest the input),
class_acc/class0. See docs/export.md.
"""
)


def export_cmd(
    runs: list[str] = typer.Argument(..., help=options.NAMES_HELP),
    to: Path = typer.Option(..., "--to", help="the folder to write into (made if missing)"),
    fmt: list[str] | None = typer.Option(
        None,
        "--format",
        "-f",
        help="csv, json, png, svg, tensorboard; repeat or comma-separate [default: csv,json,png]",
    ),
    tidy: bool = typer.Option(
        False,
        "--tidy",
        help="one long metrics.csv for all runs (pandas, trackio): step, timestamp, run, "
        "swept config keys, metrics",
    ),
    smooth: float = options.smooth(" for the figures"),
    x: str = options.X,
    runs_dir: Path | None = options.RunsDir,
) -> None:
    """Export runs' metrics and figures (the full help is HELP)."""
    from ..core.export.writer import export_runs, parse_formats
    from .console import out_console

    formats = parse_formats(fmt)
    infos = options.runs_named(options.store(runs_dir), runs)
    written = export_runs(infos, to, formats, tidy=tidy, smooth=smooth, x=x)
    console = out_console()  # paths shown literally: a folder named `[/]` is a folder, not markup
    for path in written:
        console.print(str(path), soft_wrap=True)
    console.print(f"{len(written)} files from {len(infos)} run(s) written to {to}", soft_wrap=True)
