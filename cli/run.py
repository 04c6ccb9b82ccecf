"""`dltui run PRESET|FILE.toml`: every variant headless, each run saved, a summary; or `--resume RUN`.

The steps, in the order their errors are found: the TensorBoard folder and the engine's options, then the
preset and its overrides, then the store and the data (preflight), and only then a run starts.
"""

from __future__ import annotations

from pathlib import Path

import typer

from ..core.rules.errors import BadInput
from . import options

# The options as `run` says them, and those only `run` takes.
Sets = options.sets(" for every variant, e.g. lr=0.5, batch_size=full, hidden=[20,20]")
Variants = options.variant("run only these variants")
Epochs = typer.Option(None, "--epochs", "-e", help="short for --set epochs=N")
Resume = typer.Option(
    None,
    "--resume",
    help="continue an interrupted or crashed RUN from its last checkpoint (repeatable: runs of one sweep "
    "that stand at the same epoch and step train batched together again)",
)
Jobs = typer.Option(
    None,
    "--jobs",
    "-j",
    help="runs at once, each in its own process [default: 1 on the CPU, a few per GPU on CUDA]",
)
Yes = typer.Option(
    False, "--yes", help="run a sweep however many runs it makes (without it, a very large sweep is refused)"
)
Tensorboard = typer.Option(
    None,
    "--tensorboard",
    help="also write TensorBoard event files live, into DIR/<run id>/ [env DLTUI_TENSORBOARD_DIR]",
)


def run_cmd(
    preset: str | None = options.preset(None),
    set_: list[str] | None = Sets,
    epochs: int | None = Epochs,
    device: str | None = options.Device,
    variant: list[str] | None = Variants,
    resume: list[str] | None = Resume,
    runs_dir: Path | None = options.RunsDir,
    data_dir: Path | None = options.DataDir,
    jobs: int | None = Jobs,
    yes: bool = Yes,
    tensorboard: Path | None = Tensorboard,
    engine: str = options.Engine,
    address: str | None = options.Address,
    gpus_per_run: float | None = options.GpusPerRun,
    cpus_per_run: float | None = options.CpusPerRun,
    threads: str | None = options.Threads,
    batched: str = options.Batched,
) -> None:
    """Run every variant of PRESET headless, save each run, and print a summary (or go on with --resume
    RUN)."""
    from ..core.executors import runner
    from ..core.export.tensorboard import live_dir
    from ..core.sweep.grouping import check_mode
    from . import jobs as jobs_mod

    options.set_threads(threads)
    live_dir(tensorboard)  # checked before any run; the training processes find it in the environment
    check_mode(batched)
    choice = jobs_mod.engine_choice(engine, address, gpus_per_run, cpus_per_run, jobs)
    if resume:
        given = preset is not None or set_ or epochs is not None or device is not None or variant
        _check_resume_alone(resume, bool(given), choice is not None)
        store, ddir = options.store(runs_dir), options.data_dir(data_dir)
        raise typer.Exit(resume_runs(resume, store, ddir, choice, batched))
    name, plans = _plans(preset, set_, epochs, device, variant, yes)
    store, ddir = options.store(runs_dir), options.data_dir(data_dir)
    runner.preflight(plans, store, ddir)
    raise typer.Exit(_start(name, plans, store, ddir, choice, jobs, batched))


def _check_resume_alone(resume: list[str], others: bool, on_ray: bool = False) -> None:
    """--resume takes no preset, --set, --epochs, --device or --variant: the run keeps its own; on Ray, one
    run at a time."""
    ids = " ".join(f"--resume {r}" for r in resume)
    if others:
        raise BadInput(
            f"{ids}: a resumed run keeps its own preset and config; drop the other arguments "
            f"(run `dltui run {ids}` alone)"
        )
    if on_ray and len(resume) > 1:
        raise BadInput(
            f"{ids}: --engine ray resumes one run at a time; give one --resume RUN, "
            "or drop --engine ray to resume them together here"
        )


def _plans(preset, set_, epochs, device, variant, yes) -> tuple[str, list]:
    """The preset's name and its plans: --set, --epochs and --device applied, only --variant's when given."""
    from ..core.executors import runner
    from ..core.spec import presets
    from ..core.spec.config import parse_sets

    if preset is None:
        raise BadInput(
            "dltui run: no preset given; name one (see `dltui list`), give a .toml file, or --resume RUN"
        )
    p = presets.load(preset, max_runs=None if yes else presets.MAX_RUNS)
    plans = runner.plan(p, options.with_device(parse_sets(set_, epochs), device))
    if variant:
        options.check_variants(p.name, plans, variant)
        plans = [pl for pl in plans if pl.variant in variant]
    return p.name, plans


def _start(name: str, plans: list, store, ddir: Path, choice, jobs: int | None, batched: str = "auto") -> int:
    """The plans on Ray (--engine ray: each alone), on local processes (jobs > 1), or one group after another
    here, variants batched together where they can be (--batched auto); the exit code."""
    from . import jobs as jobs_mod

    if choice is not None:
        return jobs_mod.run_on_ray(name, plans, store, ddir, choice)
    from ..core.executors.batched import groups as make_groups
    from ..core.executors.localpool import Pool, default_jobs

    jobs_mod.check_jobs(jobs)
    n_jobs = jobs if jobs is not None else default_jobs(plans)
    # the pool's processes make these very groups (core/executors/localpool.py)
    groups = make_groups(plans, batched, lambda line: print(line, flush=True), min(n_jobs, len(plans)))
    together = "".join(f"; {describe(g)}" for g in groups if len(g) > 1)
    if n_jobs > 1:
        pool = Pool(plans, store.root, ddir, n_jobs, batched=batched)
        intro = f"{name}: {len(plans)} runs, {pool.jobs} at a time{together}"
        return jobs_mod.drive(name, plans, store, jobs_mod.on_executor(pool), intro)
    return jobs_mod.drive(name, plans, store, _in_groups(groups, store, ddir), together.lstrip("; "))


def describe(group: list) -> str:
    from ..core.sweep.grouping import describe as words

    return words(group)


def _in_groups(groups: list, store, ddir: Path):
    """The groups one after another in this process (a group of one: as `jobs.in_order` runs a plan)."""
    from ..core.executors.batched import run_groups
    from ..core.executors.drive import Outcome

    return lambda show, control: Outcome(run_groups(groups, store, ddir, [show], control))


def resume_runs(run_ids: list[str], store, ddir, choice=None, batched: str = "auto") -> int:
    """`dltui run --resume RUN [--resume RUN ...]`: check every run (each claimed, its checkpoint loaded and
    fitted) before any goes on; then each from its last checkpoint, in this process, those that stand at the
    same epoch and step and could train batched (core/sweep/grouping.py) together again."""
    import dataclasses

    from ..core.executors import runner
    from ..core.executors.batched import groups as make_groups
    from . import jobs as jobs_mod

    todo, seen = [], set()
    for run_id in run_ids:
        run = store.claim(run_id)  # locked before its state is read: one process owns a run
        if run.run_id in seen:
            continue
        seen.add(run.run_id)
        plan, ckpt = runner.prepare_resume(run, store, ddir)
        p = runner.ResumePlan(plan, run, ckpt)
        todo.append(dataclasses.replace(p, alone=not p.adoptable or _alone(plan.preset)))
    for p in todo:
        print(f"resuming {p.run.run_id} ({p.run.state}) from {p.where()}", flush=True)
    plans = [p.plan for p in todo]
    if choice is not None:
        return jobs_mod.run_on_ray(plans[0].preset, plans, store, ddir, choice, resume=todo[0].run)
    groups = make_groups(todo, batched, lambda line: print(line, flush=True))
    together = "; ".join(describe(g) for g in groups if len(g) > 1)
    name = plans[0].preset if len({p.preset for p in plans}) == 1 else "resumed"
    return jobs_mod.drive(name, plans, store, _in_groups(groups, store, ddir), together)


def _alone(preset: str) -> bool:
    """Whether a resumed run's preset says batched = "off" (a preset not found, a file: it may batch)."""
    from ..core.spec import presets

    try:
        return presets.load(preset).batched == "off"
    except (BadInput, OSError, ValueError):
        return False
