"""`dltui lrfind PRESET|FILE.toml`: the learning-rate range test, saved as a run of kind lrfind."""

from __future__ import annotations

from pathlib import Path

import typer

from ..core.rules.errors import BadInput


def lrfind_cmd(
    preset: str = typer.Argument(..., help="a preset name (see `dltui list`) or a path to your own .toml"),
    set_: list[str] | None = typer.Option(None, "--set", "-s", help="KEY=VALUE, e.g. batch_size=128"),
    lr_min: float = typer.Option(1e-5, "--min", help="the first step's lr"),
    lr_max: float = typer.Option(10.0, "--max", help="the last step's lr"),
    steps: int = typer.Option(200, "--steps", help="optimizer steps from --min to --max (exponentially)"),
    variant: str | None = typer.Option(
        None, "--variant", "-v", help="whose config to start from [default: the first variant]"
    ),
    device: str | None = typer.Option(None, "--device", help="auto|cpu|cuda|mps"),
    runs_dir: Path | None = typer.Option(
        None, "--runs-dir", help="where runs are saved [env DLTUI_RUNS_DIR, default ./runs]"
    ),
    data_dir: Path | None = typer.Option(None, "--data-dir", help="where datasets live [env DLTUI_DATA_DIR]"),
) -> None:
    """Raise the lr exponentially over minibatch steps from the preset's config; plot loss vs lr (log axis),
    stop at divergence, mark the steepest descent and the divergence point: hints, not a verdict."""
    from ..core.data import default_data_dir
    from ..core.executors import runner
    from ..core.probes import rangetest as lrfind
    from ..core.spec import presets
    from ..core.spec.config import check_value, parse_sets
    from ..core.store.folder import RunStore

    ramp = lrfind.Ramp(lr_min, lr_max, steps).check()
    p = presets.load(preset)
    overrides = parse_sets(set_)
    if device is not None:
        overrides["device"] = check_value("device", device, "--device")
    plans = runner.plan(p, overrides)
    plan = plans[0] if variant is None else next((pl for pl in plans if pl.variant == variant), None)
    if plan is None:
        raise BadInput(
            f"--variant {variant}: preset {p.name} has no such variant; its variants: {', '.join(pl.variant for pl in plans)}"
        )
    store, ddir = RunStore(runs_dir), data_dir or default_data_dir()
    runner.preflight([plan], store, ddir)
    run_id, summary = lrfind.run(plan, ramp, store, ddir)
    from .show import show_run

    show_run(store.get(run_id))
    if summary["status"] == "failed":
        raise typer.Exit(1)
    if summary["status"] == "interrupted":
        raise typer.Exit(130)
