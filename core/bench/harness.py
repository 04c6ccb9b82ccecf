"""The bench's harness: the size classes, the one repeat helper, the table of every case with its goal, the
registry the cases join, and the runner that measures the selected ones into rows.

The bottom of the bench: it imports no case. A module that measures something registers a `Case` here when
imported (core/bench/cases.py and instruments.py; the TUI's in tui/bench/, which import textual); the CLI
imports them (cli/bench.py), then runs a suite: "bench" (`dltui bench`) or "scale" (`dltui bench --scale`).
Every goal is written once, in `TABLE`.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

# -- the size classes --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sizes:
    """How big every case is: the full bench, or --quick (seconds, for tests and a first look)."""

    quick: bool = False
    n_train: int = 60_000
    n_test: int = 10_000
    repeats: int = 3
    full_batch_epochs: int = 3
    poly_epochs: int = 500
    jobs_epochs: int = 5000  # long enough that starting the processes does not decide the comparison
    mm_size: int = 2048
    startup_repeats: int = 3
    sharpness_epochs: int = 30  # full batch: long enough for its budget to decide, as in a preset's hundreds
    instrument_epochs: int = 3  # batch 64
    instrument_rounds: int = 3  # interleaved A/B rounds of the instrument rows
    tui_epochs: int = 2000  # the TUI's runs: long enough for a stable figure
    tui_repeats: int = 2  # TUI and headless in turns, best of each
    tui_timeout_s: float = 600.0
    long_epochs: int = 100_000  # --scale: the long run
    sweep_epochs: int = 200  # --scale: each of the sweep's 40 runs
    saved_runs: int = 10_000  # --scale: `dltui runs` and the past-runs screen at this many runs
    scale_timeout_s: float = 1200.0
    watch_seconds: float = 10.0  # --scale: each of a watching case's two measurements
    sweep_poly_epochs: int = 500  # the sweep rows (core/bench/sweeps.py): each run's epochs (the presets')
    sweep_digits_epochs: int = 100
    sweep_mnist_epochs: int = 1
    sweep_full_epochs: int = 5


FULL = Sizes()
QUICK = Sizes(
    quick=True,
    n_train=2_000,
    n_test=500,
    repeats=1,
    full_batch_epochs=2,
    poly_epochs=40,
    jobs_epochs=40,
    mm_size=512,
    startup_repeats=1,
    sharpness_epochs=4,
    instrument_epochs=2,
    instrument_rounds=1,
    tui_epochs=300,
    tui_repeats=1,
    tui_timeout_s=180.0,
    long_epochs=10_000,
    sweep_epochs=20,
    saved_runs=2_000,
    scale_timeout_s=600.0,
    watch_seconds=5.0,
    sweep_poly_epochs=20,
    sweep_digits_epochs=2,
    sweep_mnist_epochs=1,
    sweep_full_epochs=1,
)


def sizes(quick: bool) -> Sizes:
    return QUICK if quick else FULL


# -- repeats -----------------------------------------------------------------------------------------------


def in_turns(*fns: Callable[[], float], repeats: int) -> list[list[float]]:
    """Each measurement's `repeats` results, the measurements taken in turns, so that a change in the
    machine's speed hits all of them: on a shared or virtual machine it moves more than the ratios asked."""
    rounds = [[f() for f in fns] for _ in range(max(1, repeats))]
    return [list(col) for col in zip(*rounds)]


def best_of(fn: Callable[[], float], repeats: int) -> float:
    """The smallest of `repeats` measurements (each call returns seconds): the least disturbed one."""
    return min(in_turns(fn, repeats=repeats)[0])


def wall_s(fn: Callable[[], Any]) -> float:
    """Wall seconds of one call of fn()."""
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def python_s(args: list[str], repeats: int, columns: int = 100) -> float:
    """Wall seconds of a fresh Python subprocess running `args` (its start-up included), best of `repeats`."""
    env = {**os.environ, "COLUMNS": str(columns)}
    run = [sys.executable, *args]
    return best_of(
        lambda: wall_s(lambda: subprocess.run(run, env=env, capture_output=True, check=True)), repeats
    )


def matmul_rate(device, n: int, repeats: int = 3) -> float:
    """FLOP/s of one large float32 torch.mm on `device` (2·n³ per product)."""
    import torch

    from ..spec.device import timed

    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    torch.mm(a, b)  # warm-up
    return 2 * n**3 / best_of(lambda: timed(lambda: torch.mm(a, b), device), repeats)


# -- rows and goals ----------------------------------------------------------------------------------------


@dataclass
class Row:
    """One row of `dltui bench`'s table (and its JSON): the lab's figure beside its reference and bound."""

    name: str
    title: str  # short, for the table
    detail: str  # what exactly was measured
    unit: str
    lab: float | None = None
    reference: float | None = None
    bound: float | None = None
    goal: str = ""
    ratio: float | None = None  # lab / reference for times, reference-relative speed for rates
    bound_ratio: float | None = None  # lab / bound
    met: bool | None = None
    note: str = ""
    floor: float | None = None  # the work's matrix products alone at its own shapes (seconds), where measured


@dataclass(frozen=True)
class Goal:
    """A goal: its words for the table, and its test of the measured row or figure (None: no verdict)."""

    text: str
    met: Callable[[Any], bool | None]


@dataclass(frozen=True)
class Entry:
    """One line of the table: a case (or one figure of a --scale case), what it measures, and its goal on a
    device type ("cpu", "cuda", "mps") at a size class (quick or not)."""

    name: str
    suite: str  # "bench" (`dltui bench`) or "scale" (`dltui bench --scale`)
    title: str
    unit: str  # the bench's rows: "s" or "steps/s"
    measures: str
    goal: Callable[[str, bool], Goal]


def _always(text: str, met: Callable[[Any], bool | None]) -> Callable[[str, bool], Goal]:
    """A goal that is the same on every device and at every size."""
    return lambda device_type, quick: Goal(text, met)


def _loop(device_type: str) -> float:
    return 0.2 if device_type == "cuda" else 0.7  # on a GPU the loop's per-step overhead weighs more


PROBE_GOAL = 1.05  # issue 20: a probe at its default cadence costs at most 5% of the run's time on the CPU
RSS_GROWTH_MB = 20.0  # the lab's growth over the long run: its decimated buffers are well under 1 MB


def _probe(name: str) -> Entry:
    # issue 20's goal is for the CPU, at the presets' sizes (--quick's runs are too short for a budget)
    return Entry(
        f"{name}_overhead",
        "bench",
        f"{name} overhead",
        "s",
        f'the lab with probes = ["{name}"] vs without, on the MNIST presets\' net',
        lambda d, quick: Goal(
            f"<= {PROBE_GOAL}x without it",
            lambda c: c.ratio <= PROBE_GOAL if d == "cpu" and not quick else None,
        ),
    )


def _sweep(name: str, title: str, speed_up: float | None) -> Entry:
    """A sweep trained batched vs each variant alone with --jobs 2 (issue 30's goals are for the CPU, at
    the full sizes; a goal of None is a figure to report: full-batch MNIST is bound by arithmetic)."""
    text = f">= {speed_up}x faster (CPU)" if speed_up else "report (about 1x on a CPU)"
    return Entry(
        name,
        "bench",
        f"sweep: {title}",
        "s",
        "the sweep batched vs alone with --jobs 2",
        lambda d, quick: Goal(
            text, lambda c: c.ratio >= speed_up if speed_up and d == "cpu" and not quick else None
        ),
    )


STALL = _always("< 50 ms", lambda ms: ms < 50)  # --scale's figures are in ms, the bench's rows in s
THROUGHPUT = _always(">= 0.9x", lambda ratio: ratio >= 0.9)
UNDER_HALF_S = _always("< 0.5 s", lambda s: s < 0.5)


def _scale(name: str, title: str, unit: str, goal: Callable[[str, bool], Goal]) -> Entry:
    """A --scale figure's line: its title says what it measures."""
    return Entry(name, "scale", title, unit, title, goal)


TABLE: tuple[Entry, ...] = (
    Entry(
        "mnist_mlp_epoch",
        "bench",
        "MNIST MLP epoch",
        "s",
        "784-300-10, batch 64, one epoch: lab, loop, bound",
        lambda d, q: Goal(
            f"lab <= {_loop(d)}x loop, <= 2x bound", lambda c: c.ratio <= _loop(d) and c.bound_ratio <= 2
        ),
    ),
    Entry(
        "full_batch_step",
        "bench",
        "full-batch GD step",
        "s",
        "one step on all the training data, vs the bound",
        _always("<= 1.5x bound", lambda c: c.bound_ratio <= 1.5),
    ),
    Entry(
        "polynomial_steps",
        "bench",
        "polynomial steps/s",
        "steps/s",
        "the polynomial preset's steps a second",
        lambda d, q: Goal(">= 2500 steps/s on the CPU", lambda c: c.lab >= 2500 if d == "cpu" else None),
    ),
    Entry(
        "help_startup",
        "bench",
        "dltui --help",
        "s",
        '`dltui --help` vs `python -c "import torch"`',
        _always("<= 0.3x import torch", lambda c: c.ratio <= 0.3),
    ),
    Entry(
        "jobs_speedup",
        "bench",
        "--jobs N vs --jobs 1",
        "s",
        "the polynomial's runs at once vs one by one",
        _always("< 1x when the device has room", lambda c: None),  # a figure to read, not a promise
    ),
    *(
        _sweep(name, title, goal)
        for name, title, goal in (
            ("sweep_polynomial", "polynomial 3 lr x 10 seeds", 5.0),
            ("sweep_digits", "digits MLP batch 64, 8 lr", 3.0),
            ("sweep_mnist_minibatch", "MNIST 784-300-10 batch 64, 10 lr", 1.5),
            ("sweep_mnist_full", "MNIST 784-300-10 full batch, 10 lr", None),
        )
    ),
    *(_probe(p) for p in ("sharpness", "update_ratio", "dead_units", "confusion")),
    Entry(
        "sampler_cost",
        "bench",
        "hardware sampler CPU",
        "%",
        "the hardware sampler's CPU at 1 Hz, as a share of one core",
        _always("< 1% of a core", lambda c: c.lab < 1.0),
    ),
    Entry(
        "sampler_throughput",
        "bench",
        "sampler on vs off",
        "steps/s",
        "training steps/s with the hardware sampler on vs off",
        _always(">= 0.98x off", lambda c: c.ratio >= 0.98),
    ),
    *(
        Entry(
            f"neighbours_{name}",
            "bench",
            f"{name}: busy neighbours",
            "steps/s",
            f"{name}'s steps/s beside one busy-loop process per core vs alone",
            _always(">= 0.5x alone", lambda c: c.ratio >= 0.5),
        )
        for name in ("toy2d", "polynomial", "digits")
    ),
    Entry(
        "tui_throughput",
        "bench",
        "TUI throughput",
        "steps/s",
        "training with the TUI attached vs headless (the same spawned training process, no UI)",
        _always(">= 0.9x headless", lambda c: c.ratio >= 0.9),
    ),
    Entry(
        "tui_stall",
        "bench",
        "TUI stall",
        "s",
        "longest gap in the UI's message queue while training (a 20 ms tick from an outside timer)",
        _always("< 50 ms", lambda c: c.lab < 0.05),
    ),
    _scale("long_stall", "the long run: longest UI stall", "ms", STALL),
    _scale("long_throughput", "the long run: lab / headless", "steps/s ratio", THROUGHPUT),
    _scale("sweep_stall", "40 variants live: longest UI stall", "ms", STALL),
    _scale("sweep_throughput", "40 variants live: lab / headless", "steps/s ratio", THROUGHPUT),
    _scale(
        "memory_start", "the lab's resident memory at start", "MB", _always("< 200 MB", lambda mb: mb < 200)
    ),
    _scale(
        "memory_growth",
        "the lab's resident memory: growth over the long run",
        "MB",
        _always(f"< {RSS_GROWTH_MB:.0f} MB (decimated buffers only)", lambda mb: mb < RSS_GROWTH_MB),
    ),
    _scale("cli_runs", "`dltui runs` at the saved runs", "s", UNDER_HALF_S),
    _scale("show_latest", "`dltui show latest` at the saved runs", "s", UNDER_HALF_S),
    _scale("past_stall", "past runs (p): longest UI stall", "ms", STALL),
    _scale(
        "watch_cpu",
        "watching 40 live runs: the lab's CPU",
        "share of a core",
        _always("< 5%", lambda share: share < 0.05),
    ),
    _scale(
        "watch_stall", "watching 40 live runs: longest UI stall", "s", _always("< 50 ms", lambda s: s < 0.05)
    ),
)
ENTRIES = {e.name: e for e in TABLE}


def goals(device_type: str, quick: bool = False, suite: str = "bench") -> dict[str, Goal]:
    """Each case's goal on this device type and size, in the table's order."""
    return {e.name: e.goal(device_type, quick) for e in TABLE if e.suite == suite}


CASES = tuple(goals("cpu"))  # the bench's rows, in order


def judged(row: Row, goal: Goal) -> Row:
    """The row with its goal's words, and whether it met it (no verdict when it was not measured)."""
    return replace(row, goal=goal.text, met=goal.met(row) if row.lab is not None else None)


def judge(name: str, figure: float) -> tuple[str, bool | None]:
    """(the goal's words, whether `figure` meets it) for a --scale figure."""
    goal = ENTRIES[name].goal("", False)
    return goal.text, goal.met(figure)


def row(name: str, **fields: Any) -> Row:
    """A row of the bench's table, its title and unit from the table unless given."""
    e = ENTRIES[name]
    return Row(**{"name": name, "title": e.title, "unit": e.unit, "detail": e.measures, **fields})


def unmeasured(name: str) -> Row:
    """The place a case keeps in the table when it was not measured."""
    return row(name, note="not measured")


# -- the registry ------------------------------------------------------------------------------------------


@dataclass
class Context:
    """What a case is given: the device, the sizes, a scratch folder, the device's matmul rate on demand."""

    device: Any  # a torch.device; None for --scale (the lab's cases, no device of their own)
    sizes: Sizes
    work: Path
    rates: list[float] = field(default_factory=list)

    @property
    def mm(self) -> int:
        """The product's side: a GPU needs a bigger product to reach its rate."""
        return self.sizes.mm_size * (4 if self.device.type == "cuda" else 1)

    def rate(self) -> float:
        """The rate now (cases measure it in turns with their runs); the machine's is the best seen."""
        self.rates.append(matmul_rate(self.device, self.mm))
        return self.rates[-1]


@dataclass(frozen=True)
class Case:
    """A measurement that fills the table's lines `names`: `measure(ctx)` gives the bench's rows, or for
    --scale a dict of JSON-able figures; `rows(figures)` turns --scale's figures into the table's rows."""

    names: tuple[str, ...]
    say: str  # what the status line says while it runs
    measure: Callable[[Context], Any]
    rows: Callable[[dict[str, Any]], list[tuple[str, str, str, bool | None]]] | None = None

    @property
    def suite(self) -> str:
        return ENTRIES[self.names[0]].suite


REGISTRY: dict[str, Case] = {}  # by its first line's name; filled by the cases' modules when imported


def register(case: Case) -> Case:
    """Add `case` to its suite (again: replaced). Its lines must be in the table: that is where goals live."""
    missing = [n for n in case.names if n not in ENTRIES]
    if missing:
        raise ValueError(f"bench case {', '.join(missing)}: not in core/bench/harness.py's TABLE")
    REGISTRY[case.names[0]] = case
    return case


def registered(suite: str, only: set[str] | None = None) -> list[Case]:
    """The suite's registered cases in the table's order; with `only`, those that fill one of those lines."""
    order = {e.name: i for i, e in enumerate(TABLE)}
    cases = [c for c in REGISTRY.values() if c.suite == suite and (only is None or only & set(c.names))]
    return sorted(cases, key=lambda c: order[c.names[0]])


# -- the runner --------------------------------------------------------------------------------------------


def run_bench(
    device_name: str = "auto",
    quick: bool = False,
    say: Callable[[str], None] = lambda _: None,
    only: set[str] | None = None,
    size: Sizes | None = None,
) -> dict[str, Any]:
    """Measure the registered bench cases (those filling `only`'s lines, if given) into {"machine": ...,
    "cases": [...]}, strict-JSON-ready; a line no registered case fills keeps its place, empty."""
    from ..spec.device import resolve_device

    device, size = resolve_device(device_name), size or sizes(quick)
    rows: dict[str, Row] = {}
    with tempfile.TemporaryDirectory(prefix="dltui-bench-") as tmp:
        ctx = Context(device, size, Path(tmp))
        say(f"matmul rate on {device} ({ctx.mm}x{ctx.mm} torch.mm)")
        ctx.rate()
        for case in registered("bench", only):
            say(case.say)
            rows.update((r.name, r) for r in case.measure(ctx))
    table = goals(device.type, size.quick)
    lines = [n for n in table if only is None or n in only]
    return {
        "machine": machine(device, max(ctx.rates), size.quick),
        "cases": [asdict(judged(rows.get(n) or unmeasured(n), table[n])) for n in lines],
    }


def run_scale(quick: bool = False, say: Callable[[str], None] = lambda _: None, size: Sizes | None = None):
    """Measure the registered --scale cases: {"quick": ..., each case's figures}."""
    size = size or sizes(quick)
    out: dict[str, Any] = {"quick": quick}
    with tempfile.TemporaryDirectory(prefix="dltui-scale-") as tmp:
        for case in registered("scale"):
            say(case.say)
            out.update(case.measure(Context(None, size, Path(tmp))))
    return out


def scale_rows(figures: dict[str, Any]) -> list[tuple[str, str, str, bool | None]]:
    """(case, figure, goal, met) of every registered --scale case whose figures are in `figures`."""
    return [r for case in registered("scale") if case.rows is not None for r in case.rows(figures)]


def machine(device, rate: float, quick: bool) -> dict[str, Any]:
    import torch

    from ..spec.device import describe

    return {
        "device": describe(device),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "python": platform.python_version(),
        "cpu_cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "platform": platform.platform(),
        "matmul_gflops": round(rate / 1e9, 1),
        "quick": quick,
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }
