"""The options that several commands take, each declared once, and the helpers that turn them into what the
commands work with (the run store, the data folder, a preset's plans).

Typer reads a parameter's flags, default and help from the `typer.Option` it defaults to, so one object serves
every command that takes the option. Where a command's help must say one thing of its own (the loss or
the y-axis, one run or several), a small function makes the option with that word; the flags stay written
here once.
Torch-free: `dltui --help` imports this module.
"""

from __future__ import annotations

import os
import sys
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


# How many intra-op threads a run uses (`run` and `tui`).
Threads = typer.Option(
    None,
    "--threads",
    help="intra-op threads per run [default: auto, chosen by the run's work: 1 for small ops, more for large "
    "ones, within its share of the cores]",
)


def set_threads(raw: str | None) -> None:
    """--threads N checked (BadInput if it is not a whole number >= 1 or auto) and handed to every run this
    command starts, the training processes included (DLTUI_THREADS)."""
    if raw is None or raw.strip() == "auto":
        return
    import os

    from ..core.spec.threads import THREADS_ENV, parse

    os.environ[THREADS_ENV] = str(parse(raw.strip()))


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


def use_runs_dir(runs_dir: Path) -> None:
    """`dltui --runs-dir DIR` (before the command): DIR for every command, and for the processes it starts."""
    os.environ["DLTUI_RUNS_DIR"] = str(runs_dir)


def need_terminal(face: str) -> None:
    """BadInput unless stdin and stdout are both a terminal: a full-screen face cannot draw into a pipe or
    read keys from one (it would wait forever)."""
    missing = [name for name, f in (("stdin", sys.stdin), ("stdout", sys.stdout)) if not _is_tty(f)]
    if missing:
        raise BadInput(
            f"{face} needs a terminal, and {' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} "
            "not one here; run it in a terminal, or use the headless commands "
            "(`dltui runs`, `dltui show RUN --follow`, `dltui run PRESET`)"
        )


def _is_tty(f) -> bool:
    try:
        return f is not None and f.isatty()
    except (ValueError, OSError):  # closed
        return False


def data_dir(given: Path | None) -> Path:
    """--data-dir, else $DLTUI_DATA_DIR, else the user cache dir."""
    from ..core.data import default_data_dir

    return given or default_data_dir()


NAMES_HELP = (
    "run ids (or unique prefixes), PRESET (its newest sweep), PRESET:VARIANT,... "
    "or `latest` (the newest sweep)"
)


def runs_named(store, names: list[str]) -> list:
    """The runs `names` name, each once, in the order first named: a run id or a unique prefix; a preset's
    name (its newest sweep, core/store/batches.py); PRESET:WORDS (those of its variants named, or holding
    one of the comma-separated WORDS); `latest` (the newest sweep of any preset)."""
    infos = [info for name in names for info in _named(store, name, several=True)]
    return list({info.run_id: info for info in infos}.values())


def run_named(store, name: str):
    """The one run `name` names: a run id or prefix, `latest` (the newest run), or PRESET[:VARIANT] (the
    newest run of its newest sweep, of that variant)."""
    return _named(store, name, several=False)[-1]


def _named(store, name: str, several: bool) -> list:
    from ..core.store.batches import latest_batch
    from ..core.store.folder import latest

    if name in ("latest", "last"):
        newest = latest(store.root)
        if not several or newest is None:
            return [store.get(name)]  # one run, or the store's own line for an empty runs dir
        name = store.get(newest).status.get("preset") or newest
    preset, _, words = name.partition(":")
    ids = latest_batch(store, preset) if preset and "/" not in preset else []
    if not ids:
        if words:
            raise BadInput(f"{name}: no runs of a preset '{preset}' in {store.root}; see `dltui runs`")
        try:
            return [store.get(name)]
        except BadInput as e:
            if not str(e).startswith(f"no run '{name}'"):  # ambiguous, not a valid id, a link out: as said
                raise
            raise BadInput(
                f"no run '{name}' in {store.root}, and no preset of that name has runs there; name runs "
                "by id or a unique prefix (see `dltui runs`), PRESET (its newest sweep), PRESET:VARIANT, "
                "or `latest`"
            ) from None
    infos = [store.get(i) for i in ids]
    if not words:
        return infos
    wanted = [w.strip() for w in words.split(",") if w.strip()]
    exact = [i for i in infos if i.status.get("variant") in wanted]
    picked = exact or [i for i in infos if any(w in str(i.status.get("variant", "")) for w in wanted)]
    if not picked:
        raise BadInput(
            f"{name}: no variant of {preset}'s newest sweep matches '{words}'; its variants: "
            + ", ".join(str(i.status.get("variant", "?")) for i in infos)
        )
    return picked


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
