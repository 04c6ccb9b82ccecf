"""The `dltui` command line (typer). Imports torch only in commands that train."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import typer

from ..core.rules.errors import BadInput
from . import options

# Every command module is torch-free at import: each imports what it needs inside its command.
from .bench import bench_cmd
from .compare import compare_cmd
from .export import HELP as EXPORT_HELP
from .export import export_cmd
from .lrfind import lrfind_cmd
from .run import run_cmd
from .runs import runs_cmd
from .watch import watch_cmd

app = typer.Typer(
    add_completion=False,
    no_args_is_help=False,
    invoke_without_command=True,
    help="dltui: a terminal learning-dynamics lab. Run `dltui` for the app, `dltui list` for the presets.",
    rich_markup_mode=None,
)


def guarded(fn):
    """Bad input becomes one line on stderr and exit 2; never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except BadInput as e:
            from .console import print_error

            print_error(str(e))
            raise typer.Exit(2) from None
        except KeyboardInterrupt:  # Ctrl-C outside training (while loading, say): no run is running yet
            from .console import print_error

            print_error("interrupted by Ctrl-C")
            raise typer.Exit(130) from None
        except OSError as e:  # the machine's fault (a full disk, an output that is gone): one line, exit 1
            from .console import print_error, stdout_failed

            where = "the output" if stdout_failed() or not e.filename else e.filename
            print_error(f"cannot write {where}: {(e.strerror or str(e)).lower()}")
            raise typer.Exit(1) from None

    return wrapper


def main(ctx: typer.Context, runs_dir: Path | None = options.RunsDir) -> None:
    """Open the lab (the TUI) when no command is given. `dltui --runs-dir DIR CMD` is
    `DLTUI_RUNS_DIR=DIR dltui CMD`: the command's own --runs-dir, if given too, wins."""
    if runs_dir is not None:
        options.use_runs_dir(runs_dir)
    if ctx.invoked_subcommand is None:
        _open_tui(None, None, None)


def tui_cmd(
    preset: str | None = typer.Argument(None, help="preset to select"),
    runs_dir: Path | None = options.RunsDir,
    data_dir: Path | None = options.DataDir,
    engine: str = options.Engine,
    address: str | None = options.Address,
    gpus_per_run: float | None = options.GpusPerRun,
    cpus_per_run: float | None = options.CpusPerRun,
    threads: str | None = options.Threads,
) -> None:
    """Open the lab with PRESET selected."""
    from . import jobs as jobs_mod

    options.set_threads(threads)

    choice = jobs_mod.engine_choice(engine, address, gpus_per_run, cpus_per_run)
    if choice is None:
        _open_tui(preset, runs_dir, data_dir)  # raises typer.Exit
    with jobs_mod.ray_session(choice) as session:
        _open_tui(preset, runs_dir, data_dir, jobs_mod.ray_executors(session, choice))


def _open_tui(preset, runs_dir, data_dir, executors=None) -> None:
    try:
        from ..tui.app import run_app
    except ImportError as e:  # pragma: no cover - the TUI is part of the package
        raise BadInput(
            f"the TUI could not load ({e}); run presets headless with `dltui run PRESET`"
        ) from None
    if preset is not None:
        from ..core.spec import presets

        presets.load(preset)  # unknown preset: one line, exit 2, before the screen opens
    from ..core.export.tensorboard import live_dir

    live_dir()  # DLTUI_TENSORBOARD_DIR, if set: checked before the screen opens; the lab's runs write there
    options.need_terminal("the lab (`dltui`, `dltui tui`)")
    code = run_app(preset=preset, runs_dir=runs_dir, data_dir=data_dir, executors=executors)
    raise typer.Exit(code or 0)


def list_cmd() -> None:
    """The presets: name, title, what each shows."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from ..core.spec import presets

    t = Table(title="dltui presets", expand=False)
    t.add_column("name", style="bold", no_wrap=True)
    t.add_column("title")
    t.add_column("what it shows")
    t.add_column("runs", justify="right")
    t.add_column("seed")
    for p in presets.load_all():
        t.add_row(p.name, escape(p.title), escape(p.shows), str(len(p.variants)), escape(p.seeds))
    Console().print(t)


def show_cmd(
    run: str = typer.Argument(
        "latest", help="a run id (or a unique prefix), `latest`, or PRESET[:VARIANT] (its newest such run)"
    ),
    log: bool = options.log_scale("the loss"),
    follow: bool = options.follow(several=False),
    runs_dir: Path | None = options.RunsDir,
) -> None:
    """A run's curves as a plot in the terminal, and its summary."""
    from .show import show_run

    store = options.store(runs_dir)
    if follow:
        from .watch import follow_show

        raise typer.Exit(follow_show(store, options.run_named(store, run), log))
    show_run(options.run_named(store, run), log=log)


# The commands in the order `dltui --help` lists them; the callback (no command: the lab) is guarded too.
app.callback()(guarded(main))
app.command("tui")(guarded(tui_cmd))
app.command("list")(guarded(list_cmd))
app.command("run")(guarded(run_cmd))
app.command("show")(guarded(show_cmd))
app.command("bench")(guarded(bench_cmd))
app.command("compare")(guarded(compare_cmd))
app.command("export", help=EXPORT_HELP)(guarded(export_cmd))
app.command("lrfind")(guarded(lrfind_cmd))
app.command("runs")(guarded(runs_cmd))
app.command("watch")(guarded(watch_cmd))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
