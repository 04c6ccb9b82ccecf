"""The `dltui` command line (typer). Imports torch only in commands that train."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import typer

from ..core.rules.errors import BadInput

app = typer.Typer(
    add_completion=False,
    no_args_is_help=False,
    invoke_without_command=True,
    help="dltui: a terminal learning-dynamics lab. Run `dltui` for the app, `dltui list` for the presets.",
    rich_markup_mode=None,
)

RunsDir = typer.Option(None, "--runs-dir", help="where runs are saved [env DLTUI_RUNS_DIR, default ./runs]")
DataDir = typer.Option(
    None, "--data-dir", help="where datasets live [env DLTUI_DATA_DIR, default the user cache dir]"
)

from .jobs import AddressOpt, CpusOpt, EngineOpt, GpusOpt  # noqa: E402  (typer options only; no torch, no ray)


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


def _store(runs_dir: Path | None):
    from ..core.store.folder import RunStore

    return RunStore(runs_dir)


def _data_dir(data_dir: Path | None) -> Path:
    from ..core.data import default_data_dir

    return data_dir or default_data_dir()


@app.callback()
def main(ctx: typer.Context) -> None:
    """Open the lab (the TUI) when no command is given."""
    if ctx.invoked_subcommand is None:
        _open_tui(None, None, None)


@app.command("tui")
@guarded
def tui_cmd(
    preset: str | None = typer.Argument(None, help="preset to select"),
    runs_dir: Path | None = RunsDir,
    data_dir: Path | None = DataDir,
    engine: str = EngineOpt,
    address: str | None = AddressOpt,
    gpus_per_run: float | None = GpusOpt,
    cpus_per_run: float | None = CpusOpt,
) -> None:
    """Open the lab with PRESET selected."""
    from . import jobs as jobs_mod

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
    code = run_app(preset=preset, runs_dir=runs_dir, data_dir=data_dir, executors=executors)
    raise typer.Exit(code or 0)


@app.command("list")
@guarded
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


@app.command("run")
@guarded
def run_cmd(
    preset: str | None = typer.Argument(
        None, help="a preset name (see `dltui list`) or a path to your own .toml"
    ),
    set_: list[str] | None = typer.Option(
        None, "--set", "-s", help="KEY=VALUE for every variant, e.g. lr=0.5, batch_size=full, hidden=[20,20]"
    ),
    epochs: int | None = typer.Option(None, "--epochs", "-e", help="short for --set epochs=N"),
    device: str | None = typer.Option(None, "--device", help="auto|cpu|cuda|mps"),
    variant: list[str] | None = typer.Option(None, "--variant", "-v", help="run only these variants"),
    resume: str | None = typer.Option(
        None, "--resume", help="continue an interrupted or crashed RUN from its last checkpoint"
    ),
    runs_dir: Path | None = RunsDir,
    data_dir: Path | None = DataDir,
    jobs: int | None = typer.Option(
        None,
        "--jobs",
        "-j",
        help="runs at once, each in its own process [default: 1 on the CPU, a few per GPU on CUDA]",
    ),
    yes: bool = typer.Option(
        False,
        "--yes",
        help="run a sweep however many runs it makes (without it, a very large sweep is refused)",
    ),
    tensorboard: Path | None = typer.Option(
        None,
        "--tensorboard",
        help="also write TensorBoard event files live, into DIR/<run id>/ [env DLTUI_TENSORBOARD_DIR]",
    ),
    engine: str = EngineOpt,
    address: str | None = AddressOpt,
    gpus_per_run: float | None = GpusOpt,
    cpus_per_run: float | None = CpusOpt,
) -> None:
    """Run every variant of PRESET headless, save each run, and print a summary (or go on with --resume RUN)."""
    from ..core.executors import runner
    from ..core.export.tensorboard import live_dir
    from ..core.spec import presets
    from ..core.spec.config import parse_sets
    from . import jobs as jobs_mod

    live_dir(tensorboard)  # checked before any run; the training processes find it in the environment

    choice = jobs_mod.engine_choice(engine, address, gpus_per_run, cpus_per_run, jobs)
    if resume is not None:
        if preset is not None or set_ or epochs is not None or device is not None or variant:
            raise BadInput(
                f"--resume {resume}: a resumed run keeps its own preset and config; drop the other arguments "
                f"(run `dltui run --resume {resume}` alone)"
            )
        raise typer.Exit(_resume_run(resume, _store(runs_dir), _data_dir(data_dir), choice))
    if preset is None:
        raise BadInput(
            "dltui run: no preset given; name one (see `dltui list`), give a .toml file, or --resume RUN"
        )
    p = presets.load(preset, max_runs=None if yes else presets.MAX_RUNS)
    overrides = parse_sets(set_, epochs)
    if device is not None:
        from ..core.spec.config import check_value

        overrides["device"] = check_value("device", device, "--device")
    plans = runner.plan(p, overrides)
    if variant:
        names = [pl.variant for pl in plans]
        unknown = [v for v in variant if v not in names]
        if unknown:
            raise BadInput(
                f"--variant {unknown[0]}: preset {p.name} has no such variant; its variants: {', '.join(names)}"
            )
        plans = [pl for pl in plans if pl.variant in variant]
    store, ddir = _store(runs_dir), _data_dir(data_dir)
    runner.preflight(plans, store, ddir)
    if choice is not None:
        raise typer.Exit(jobs_mod.run_on_ray(p.name, plans, store, ddir, choice))
    from ..core.executors.localpool import Pool, default_jobs

    jobs_mod.check_jobs(jobs)
    n_jobs = jobs if jobs is not None else default_jobs(plans)
    if n_jobs > 1:
        pool = Pool(plans, store.root, ddir, n_jobs)
        intro = f"{p.name}: {len(plans)} runs, {pool.jobs} at a time"
        raise typer.Exit(jobs_mod.drive(p.name, plans, store, jobs_mod.on_executor(pool), intro))
    raise typer.Exit(jobs_mod.drive(p.name, plans, store, jobs_mod.in_order(plans, store, ddir)))


def _resume_run(run_id: str, store, ddir, choice=None) -> int:
    """`dltui run --resume RUN`: check everything, then go on from the run's last checkpoint."""
    from ..core.executors import runner
    from . import jobs as jobs_mod

    run = store.claim(run_id)  # locked before its state is read: one process owns a run
    plan, ckpt = runner.prepare_resume(run, store, ddir)
    where = f"epoch {ckpt['epoch']}, step {ckpt['step']}" if ckpt else "the start (it had no checkpoint yet)"
    print(f"resuming {run.run_id} ({run.state}) from {where}", flush=True)
    if choice is not None:
        return jobs_mod.run_on_ray(plan.preset, [plan], store, ddir, choice, resume=run)

    def start(pl, store, ddir, listeners, control):
        return runner.resume_one(run, pl, ckpt, store, ddir, listeners, control)

    return jobs_mod.drive(plan.preset, [plan], store, jobs_mod.in_order([plan], store, ddir, start))


@app.command("show")
@guarded
def show_cmd(
    run: str = typer.Argument("latest", help="a run id (or a unique prefix, or `latest`)"),
    log: bool = typer.Option(False, "--log", help="log scale for the loss"),
    follow: bool = typer.Option(
        False,
        "--follow",
        "-f",
        help="redraw as the run grows, until it ends (no terminal: a line an epoch); Ctrl-C exits 130, the run goes on",
    ),
    runs_dir: Path | None = RunsDir,
) -> None:
    """A run's curves as a plot in the terminal, and its summary."""
    from .show import show_run

    if follow:
        from .watch import follow_show

        raise typer.Exit(follow_show(_store(runs_dir), _store(runs_dir).get(run), log))
    show_run(_store(runs_dir).get(run), log=log)


from .bench import bench_cmd  # noqa: E402  (torch-free: imports inside the command)
from .compare import compare_cmd  # noqa: E402  (torch-free: imports inside the commands)
from .export import HELP as EXPORT_HELP  # noqa: E402
from .export import export_cmd
from .lrfind import lrfind_cmd  # noqa: E402  (torch-free: imports inside the command)
from .runs import runs_cmd  # noqa: E402  (torch-free)
from .watch import watch_cmd  # noqa: E402  (torch-free: imports inside the command)

app.command("bench")(guarded(bench_cmd))
app.command("compare")(guarded(compare_cmd))
app.command("export", help=EXPORT_HELP)(guarded(export_cmd))
app.command("lrfind")(guarded(lrfind_cmd))
app.command("runs")(guarded(runs_cmd))
app.command("watch")(guarded(watch_cmd))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
