"""`dltui lrfind PRESET|FILE.toml`: the learning-rate range test, saved as a run of kind lrfind."""

from __future__ import annotations

from pathlib import Path

import typer

from ..core.rules.status import RunStatus
from . import options

Sets = options.sets(", e.g. batch_size=128")  # one variant's config: not "for every variant"


def lrfind_cmd(
    preset: str = options.preset(),
    set_: list[str] | None = Sets,
    lr_min: float = typer.Option(1e-5, "--min", help="the first step's lr"),
    lr_max: float = typer.Option(10.0, "--max", help="the last step's lr"),
    steps: int = typer.Option(200, "--steps", help="optimizer steps from --min to --max (exponentially)"),
    variant: str | None = options.variant("whose config to start from [default: the first variant]"),
    device: str | None = options.Device,
    runs_dir: Path | None = options.RunsDir,
    data_dir: Path | None = options.DataDir,
) -> None:
    """Raise the lr exponentially over minibatch steps from the preset's config; plot loss vs lr (log axis),
    stop at divergence, and suggest an lr.

    The suggested lr is where the loss, smoothed by a debiased EMA (factor 0.9, as fastai and
    torch-lr-finder smooth it, run forwards then backwards so that it does not lag), falls fastest per
    decade of lr, after the first 10 steps and before its lowest point (of a 9-step running median of the raw
    loss) (Smith 2017; torch-lr-finder).
    A starting point for the lr, not a verdict: it depends on the batch, the range and how many steps
    the ramp has (docs/reproduction.md compares it with the seeds' own findings)."""
    from ..core.executors import runner
    from ..core.probes import rangetest as lrfind
    from ..core.spec import presets
    from ..core.spec.config import parse_sets

    ramp = lrfind.Ramp(lr_min, lr_max, steps).check()
    p = presets.load(preset)
    plans = runner.plan(p, options.with_device(parse_sets(set_), device))
    if variant is not None:
        options.check_variants(p.name, plans, [variant])
    plan = plans[0] if variant is None else next(pl for pl in plans if pl.variant == variant)
    store, ddir = options.store(runs_dir), options.data_dir(data_dir)
    runner.preflight([plan], store, ddir)
    run_id, summary = lrfind.run(plan, ramp, store, ddir)
    from .show import show_run

    show_run(store.get(run_id))
    typer.echo(suggestion_line(summary))
    if summary["status"] == RunStatus.FAILED:
        raise typer.Exit(1)
    if summary["status"] == RunStatus.INTERRUPTED:
        raise typer.Exit(130)


def suggestion_line(summary: dict) -> str:
    """The range test's verdict in one line: the suggested lr (or why there is none) and where it diverged."""
    from ..core.rules.lrrange import lr_label

    lr = summary.get("suggested_lr")
    head = (
        f"suggested lr {lr_label(lr)} (the steepest fall of the smoothed loss; see dltui lrfind --help)"
        if lr is not None
        else "no suggested lr: the smoothed loss never fell; widen the range (--min, --max) or add --steps"
    )
    div = summary.get("diverged_lr")
    return head + (f"; diverged at lr {lr_label(div)}" if div is not None else "")
