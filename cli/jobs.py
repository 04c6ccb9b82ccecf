"""The headless driver of `dltui run`: one loop for every way runs can go, with the start strategy passed in.

A strategy runs the plans and hands back how they ended: one by one in this process (`in_order`), or on an
executor (`on_executor`: local processes, core/executors/localpool.py's Pool, or a Ray cluster,
core/executors/raypool.py's RayPool). The driver shows their events, handles Ctrl-C, SIGTERM and SIGHUP, a
closed output pipe, and prints the same summary and exit code for all of them.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..core.executors.drive import Drive, Outcome
from ..core.rules.errors import BadInput

ENGINES = ("local", "ray")


@dataclass
class RayChoice:
    """`--engine ray` and its options, checked."""

    address: str | None
    resources: Any


Strategy = Callable[[Callable, Any], Outcome]  # (show: a listener, control: the stop flag) -> Outcome


def check_jobs(jobs: int | None) -> None:
    if jobs is not None and jobs < 1:
        raise BadInput(
            f"--jobs {jobs}: the number of runs at once must be a whole number >= 1; "
            "use --jobs 1 to run the variants one by one"
        )


def engine_choice(
    engine: str, address: str | None, gpus: float | None, cpus: float | None, jobs: int | None = None
) -> RayChoice | None:
    """None for the local engine; the Ray options for `--engine ray`; BadInput for a mix that means
    nothing."""
    if engine not in ENGINES:
        raise BadInput(f"--engine {engine}: not an engine; use local (the default) or ray")
    ray_only = [
        flag
        for flag, v in (("--address", address), ("--gpus-per-run", gpus), ("--cpus-per-run", cpus))
        if v is not None
    ]
    if engine == "local":
        if ray_only:
            raise BadInput(f"{ray_only[0]} goes with --engine ray; add --engine ray, or drop {ray_only[0]}")
        return None
    if jobs is not None:
        raise BadInput(
            "--jobs is for the local engine; on Ray every run is a task, placed by --cpus-per-run and "
            "--gpus-per-run; drop --jobs"
        )
    from ..core.executors.raypool import Resources, check_resources

    res = Resources(gpus_per_run=gpus, cpus_per_run=cpus)
    check_resources(res)
    return RayChoice(address, res)


@contextlib.contextmanager
def ray_session(choice: RayChoice):
    """Connected to Ray (BadInput if it is missing or nobody answers); a Ray started here is shut down
    after."""
    from ..core.executors.raysession import RaySession

    session = RaySession(choice.address)
    try:
        yield session
    finally:
        session.close()


def ray_executors(session, choice: RayChoice) -> Callable:
    """What the lab makes an executor with: (plans, runs_dir, data_dir) -> a RayPool on `session`."""
    from ..core.executors.raypool import RayPool

    return functools.partial(RayPool, session=session, res=choice.resources)


def run_on_ray(name: str, plans: list, store, ddir, choice: RayChoice, resume=None) -> int:
    """The plans as Ray tasks, with the usual console, summary and exit code (or one stored run, resumed)."""
    from ..core.executors.raypool import RayPool

    with ray_session(choice) as session:
        pool = RayPool(plans, store.root, ddir, session, choice.resources, resume)
        return drive(
            name, plans, store, on_executor(pool), f"{name}: {len(plans)} runs on {session.describe()}"
        )


def drive(name: str, plans: list, store, strategy: Strategy, intro: str = "") -> int:
    """Run `plans` by `strategy` under signal handling, with the console and summary table; the exit code."""
    from ..core.readout.safe import text
    from ..core.train.control import Control
    from .console import ConsoleSink, out_console, summary_table
    from .signals import StopOnSignal, survive_lost_output

    console = out_console()  # names, reasons and paths from outside: shown literally (core/readout/safe.py)
    sink = ConsoleSink(name, len(plans), console)
    with StopOnSignal(Control()) as stopper:
        try:
            with sink:
                if intro:
                    _say(console, text(intro, "dim"))
                outcome = strategy(survive_lost_output(sink), stopper.control)
        except (
            KeyboardInterrupt
        ):  # a second signal: the runs in flight were ended as interrupted on the way out
            _say(
                console,
                summary_table(_in_plan_order(sink.ended, plans), f"{name}: interrupted"),
                text(f"runs saved in {store.root}"),
            )
            return stopper.exit_code or 130
        return _close(
            console, name, store, _in_plan_order(outcome.ended, plans), outcome.error, stopper, len(plans)
        )


def _close(console, name: str, store, ended: list, error: str, stopper, planned: int) -> int:
    """The summary table and the closing lines; the exit code."""
    from ..core.executors import runner
    from ..core.readout.safe import text
    from .console import summary_table

    if stopper.stopped([e.status for e in ended], planned):
        _say(console, summary_table(ended, f"{name}: interrupted"))
        _say(console, text(f"runs saved in {store.root}; {how_to_go_on(ended)}"), soft_wrap=True)
        return stopper.exit_code
    _say(
        console,
        summary_table(ended, name),
        text(f"runs saved in {store.root}  (see them with `dltui runs`, `dltui show RUN`)"),
    )
    if error:
        _say(console, text(error, "red"))
    return runner.exit_code([e.status for e in ended] + (["failed"] if error else []))


def how_to_go_on(ended: list) -> str:
    """The command that resumes the runs a stop interrupted: several at once, so that those of a batched sweep
    train together again (printed soft-wrapped: no line break inside it, so a copy of it pastes whole)."""
    ids = [e.run_id for e in ended if e.status == "interrupted"]
    if len(ids) < 2:
        return "continue one with `dltui run --resume RUN`"
    return "continue them with `dltui run " + " ".join(f"--resume {r}" for r in ids) + "`"


def in_order(plans: list, store, ddir, start_one=None) -> Strategy:
    """The plans one after another in this process; `start_one` is core.executors.runner's run_one (or a
    resume)."""
    from ..core.executors import runner

    start_one = start_one or runner.run_one

    def run(show, control) -> Outcome:
        ended = []
        for pl in plans:
            if control.stop.is_set():
                break
            ended.append(start_one(pl, store, ddir, [show], control))
        return Outcome(ended)

    return run


def on_executor(executor) -> Strategy:
    """The plans on an executor (local processes or Ray): started, followed to the end
    (core/executors/drive.py's Drive: a stop is forwarded once, runs it lost are failed), joined."""
    return lambda show, control: Drive(executor, [show], control).run()


def _in_plan_order(ended: list, plans: list) -> list:
    order = {pl.variant: i for i, pl in enumerate(plans)}
    return sorted(ended, key=lambda e: order.get(e.variant, len(plans)))


def _say(console, *things, soft_wrap: bool = False) -> None:
    """Print the closing lines; a terminal that is gone (SIGHUP, closed pipe) must not turn into a
    traceback."""
    try:
        for thing in things:
            console.print(thing, soft_wrap=soft_wrap)
    except OSError:
        pass
