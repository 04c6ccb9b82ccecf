"""The options that several commands take, each declared once, and the helpers that turn them into what the
commands work with (the run store, the data folder, a preset's plans).

Typer reads a parameter's flags, default and help from the `typer.Option` it defaults to, so one object serves
every command that takes the option. Where a command's help must say one thing of its own (the loss or
the y-axis, one run or several), a small function makes the option with that word; the flags stay written
here once.
Torch-free: `dltui --help` imports this module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from ..core.rules.errors import BadInput

# Where things are kept.
RunsDir = typer.Option(None, "--runs-dir", help="where runs are saved [env DLTUI_RUNS_DIR, default ./runs]")
DataDir = typer.Option(
    None, "--data-dir", help="where datasets live [env DLTUI_DATA_DIR, default the user cache dir]"
)

# What a run is made of.
DEVICES = "auto|cpu|cuda|mps"
Device = typer.Option(None, "--device", help=DEVICES)

# How curves are drawn.
X = typer.Option("epoch", "--x", help="x-axis: epoch, step (optimizer updates) or time (seconds)")

# Where runs execute (`run` and `tui`).
Engine = typer.Option(
    "local",
    "--engine",
    help="where runs execute: local (processes on this machine) or ray "
    "(a Ray cluster; needs pip install -e '.[ray]')",
)
Address = typer.Option(
    None,
    "--address",
    help="with --engine ray: auto, HOST:PORT or ray://HOST:10001 "
    "[env DLTUI_RAY_ADDRESS; default: a local Ray, started for the run]",
)
GpusPerRun = typer.Option(
    None,
    "--gpus-per-run",
    help="with --engine ray on a CUDA cluster: the GPU share of one run [default 0.25 for MLPs, 1 for CNNs]",
)
Batched = typer.Option(
    "auto",
    "--batched",
    help="auto: variants that differ only in lr, momentum, weight decay or seed train together as one "
    "batched model, each still its own run; off: every variant trains alone",
)
CpusPerRun = typer.Option(
    None, "--cpus-per-run", help="with --engine ray: the CPUs one run asks for [default 1]"
)


def preset(default: Any = ...) -> Any:
    """The PRESET argument: required unless `default` is given."""
    return typer.Argument(default, help="a preset name (see `dltui list`) or a path to your own .toml")


def device(default: str | None = None) -> Any:
    """--device with another default than none (none: the preset's own)."""
    return typer.Option(default, "--device", help=DEVICES)


def sets(example: str) -> Any:
    """--set KEY=VALUE, repeatable; `example` follows `KEY=VALUE` in the help."""
    return typer.Option(None, "--set", "-s", help=f"KEY=VALUE{example}")


def variant(help: str) -> Any:
    """--variant: which of the preset's variants; `help` says what the command does with it."""
    return typer.Option(None, "--variant", "-v", help=help)


def log_scale(axis: str) -> Any:
    """--log: a log scale for `axis` (the loss, the y-axis)."""
    return typer.Option(False, "--log", help=f"log scale for {axis}")


def smooth(where: str = "") -> Any:
    """--smooth: the EMA factor; `where` names what is smoothed, if the command draws more than one thing."""
    return typer.Option(
        0.0, "--smooth", help=f"EMA factor in [0, 1){where}: smoothed line on top, raw faint behind"
    )


def follow(several: bool) -> Any:
    """--follow: redraw as one run (or several) grows."""
    grows, ends, goes = (
        ("runs grow", "they end", "runs go") if several else ("run grows", "it ends", "run goes")
    )
    return typer.Option(
        False,
        "--follow",
        "-f",
        help=f"redraw as the {grows}, until {ends} (no terminal: a line an epoch); "
        f"Ctrl-C exits 130, the {goes} on",
    )


def store(runs_dir: Path | None):
    """The run store at --runs-dir (else $DLTUI_RUNS_DIR, else ./runs)."""
    from ..core.store.folder import RunStore

    return RunStore(runs_dir)


def data_dir(given: Path | None) -> Path:
    """--data-dir, else $DLTUI_DATA_DIR, else the user cache dir."""
    from ..core.data import default_data_dir

    return given or default_data_dir()


def runs_named(store, ids: list[str]) -> list:
    """The runs `ids` name (ids, unique prefixes, `latest`), each once, in the order first named."""
    return list({info.run_id: info for info in (store.get(r) for r in ids)}.values())


def with_device(overrides: dict[str, Any], device: str | None) -> dict[str, Any]:
    """`overrides` with --device checked and added, when it was given."""
    if device is not None:
        from ..core.spec.config import check_value

        overrides["device"] = check_value("device", device, "--device")
    return overrides


def check_variants(preset_name: str, plans: list, wanted: list[str]) -> None:
    """BadInput naming the first of `wanted` that is no variant of the plans, and the variants there are."""
    names = [pl.variant for pl in plans]
    unknown = [v for v in wanted if v not in names]
    if unknown:
        raise BadInput(
            f"--variant {unknown[0]}: preset {preset_name} has no such variant; "
            f"its variants: {', '.join(names)}"
        )
