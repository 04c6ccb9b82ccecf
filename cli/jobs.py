"""`dltui run PRESET --jobs N`: the variants in N processes, shown and summed up as when run one by one."""
from __future__ import annotations

from .core.errors import BadInput


def check_jobs(jobs: int | None) -> None:
    if jobs is not None and jobs < 1:
        raise BadInput(f"--jobs {jobs}: the number of runs at once must be a whole number >= 1; "
                       "use --jobs 1 to run the variants one by one")


def run_jobs(name: str, plans: list, store, ddir, jobs: int) -> int:
    """Run `plans` in `jobs` processes with the usual console, summary table and exit code."""
    from rich.console import Console

    from .console import ConsoleSink, summary_table
    from .core import runner
    from .core.engine import Control
    from .core.parallel import Pool
    from .signals import StopOnSignal, survive_lost_output

    console = Console()
    sink = ConsoleSink(name, len(plans), console)
    pool, started = Pool(plans, store.root, ddir, jobs), {}
    show = survive_lost_output(sink)
    # Ctrl-C, SIGTERM, SIGHUP: every process stops at its next step and ends its run as interrupted.
    with StopOnSignal(Control(stop=pool.stop_event)) as stopper, sink:
        console.print(f"[dim]{name}: {len(plans)} runs, {pool.jobs} at a time[/]")
        pool.start()
        try:
            error = _follow(pool, show, started)
        except KeyboardInterrupt:  # a second signal: stop waiting; the children see the parent gone and stop
            pool.join(2)
            return stopper.exit_code or 130
    pool.join(5)
    interrupted = bool(stopper.signum)
    ended = _in_plan_order(sink.ended + _lost(sink.ended, started, error), plans)
    console.print(summary_table(ended, f"{name}: interrupted" if interrupted else name))
    console.print(f"runs saved in {store.root}  (see them with `dltui runs`, `dltui show RUN`)")
    if error:
        console.print(f"[red]{error}[/]")
    statuses = [e.status for e in ended] + (["failed"] if error and not interrupted else [])
    return stopper.exit_code if interrupted else runner.exit_code(statuses)


def _follow(pool, show, started: dict[str, str]) -> str:
    """Pass the pool's events to the console until every process is done; returns the pool's error."""
    from .core.events import RunStarted
    from .core.worker import WorkerDone

    while True:
        for ev in pool.drain(timeout=0.2):
            if isinstance(ev, WorkerDone):
                return ev.error
            if isinstance(ev, RunStarted):
                started[ev.run_id] = ev.variant
            show(ev)


def _lost(ended: list, started: dict[str, str], error: str) -> list:
    """Runs that started in a process that died: failed, for the table and the exit code."""
    from .core.events import RunEnded

    done = {e.run_id for e in ended}
    why = error or "the training process died"
    return [RunEnded(rid, variant, "failed", why, {}) for rid, variant in started.items() if rid not in done]


def _in_plan_order(ended: list, plans: list) -> list:
    order = {pl.variant: i for i, pl in enumerate(plans)}
    return sorted(ended, key=lambda e: order.get(e.variant, len(plans)))
