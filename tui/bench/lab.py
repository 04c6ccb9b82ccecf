"""The TUI's benchmark: training throughput with the lab attached vs headless, and the longest UI stall.

The real LabApp runs headless (Textual's `run_test`, a 140x45 screen that is composed and rendered but written
nowhere), shows the preset, takes the form's values and starts the runs with the `r` key, as a user does.
While they train, a timer installed from outside ticks every TICK_S and each tick posts a callback through the
app's message queue (the path a key press takes): the gap between two handled callbacks, less TICK_S, is how
long the UI could not answer. Then the same plans run headless in a spawned `TrainingProcess`, the process the
TUI trains in, drained by a plain loop: like with like, so the ratio is what the UI costs training. Throughput
is read from each run's summary.json (set-up excluded).
"""

from __future__ import annotations

import asyncio
import math
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ...core.bench.harness import Case, Row, Sizes, goals, judged, register, row, sizes, unmeasured
from ...core.data import default_data_dir
from ...core.executors import runner
from ...core.executors.drive import Drive
from ...core.executors.trainingprocess import TrainingProcess
from ...core.rules.errors import BadInput
from ...core.rules.status import RunStatus
from ...core.spec import presets as presets_mod
from ...core.spec.presets import Preset
from ...core.store.folder import RunStore
from ..app import FINDING_DEVICE, LabApp
from ..form import form_keys, show_value

SIZE = (140, 45)
TICK_S = 0.02
POLL_S = 0.1


@dataclass(frozen=True)
class TuiScale:
    """How long the runs are (the bench's size classes give them: `of`)."""

    epochs: int
    variants: int = 2
    repeats: int = 2  # TUI and headless in turns, best of each
    timeout_s: float = 600.0

    @classmethod
    def of(cls, size: Sizes) -> TuiScale:
        return cls(size.tui_epochs, repeats=size.tui_repeats, timeout_s=size.tui_timeout_s)


class StallMeter:
    """Ticks from the app's timer, each handled through the app's message queue; the gaps are the stalls."""

    def __init__(self, app: LabApp):
        self.app = app
        self.handled: list[float] = []

    def tick(self) -> None:
        self.app.call_later(self.mark)

    def mark(self) -> None:
        self.handled.append(time.perf_counter())

    def stalls(self, start: float, end: float) -> list[float]:
        """Seconds each tick came late (gap to the previous one less TICK_S) between `start` and `end`."""
        t = [x for x in self.handled if start <= x <= end]
        return [max(0.0, b - a - TICK_S) for a, b in zip(t, t[1:])]


def trimmed(preset: Preset, variants: int) -> Preset:
    """The preset with its first `variants` variants only."""
    return replace(preset, variants=preset.variants[:variants])


def check_overrides(preset: Preset, overrides: dict[str, Any]) -> None:
    """BadInput for an override the TUI's form has no field for (a user could not type it either)."""
    keys = form_keys(preset)
    for k in overrides:
        if k not in keys:
            raise BadInput(
                f"override {k}: the TUI's form for {preset.name} has no such field; "
                f"use one of {', '.join(keys)}"
            )


def set_fields(app: LabApp, overrides: dict[str, Any]) -> None:
    """Type the overrides into the form's fields (what `r` reads)."""
    from textual.widgets import Input

    for k, v in overrides.items():
        app.main.query_one(f"#field-{k}", Input).value = show_value(v)


async def wait_for(pilot, cond, timeout_s: float, what: str) -> None:
    """Let the app work until `cond()` holds; RuntimeError after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > deadline:
            raise RuntimeError(f"the TUI bench timed out waiting for {what} ({timeout_s:.0f} s)")
        await pilot.pause(POLL_S)


@dataclass
class Watched:
    """What one drive of the lab saw while its runs trained."""

    stalls: list[float]  # seconds each tick came late
    wall_s: float  # from the first run starting to the last ending
    cpu_s: float  # CPU seconds the UI's process used meanwhile (the training process is another)
    rss_mb: tuple[float, float] = (
        math.nan,
        math.nan,
    )  # the lab's resident memory before the runs and after them


async def drive_tui(
    preset: Preset, overrides: dict[str, Any], runs_dir: Path, data_dir: Path, timeout_s: float
) -> Watched:
    """Run the preset in the lab as a user does; what the UI did while it trained."""
    app = LabApp(preset.name, runs_dir, data_dir, presets=[preset])
    meter = StallMeter(app)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.sub_title != FINDING_DEVICE, timeout_s, "the device to be named")
        set_fields(app, overrides)
        await pilot.pause()
        rss_start = rss_mb()
        app.set_interval(TICK_S, meter.tick)
        await pilot.press("r")
        await wait_for(pilot, lambda: app.batch is not None, timeout_s, "the runs to start")
        await wait_for(
            pilot,
            lambda: not app.batch.live or any(r.status != RunStatus.QUEUED for r in app.batch.list()),
            timeout_s,
            "the first run",
        )
        start, cpu = time.perf_counter(), time.process_time()
        await wait_for(pilot, lambda: not app.batch.live, timeout_s, "every run to end")
        end, cpu = time.perf_counter(), time.process_time() - cpu
        rss_end = rss_mb()
        await pilot.press("q")
    return Watched(meter.stalls(start, end), end - start, cpu, (rss_start, rss_end))


def rss_mb() -> float:
    """This process's resident memory in MB (Linux; NaN elsewhere)."""
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024
    except (OSError, StopIteration, ValueError):
        return math.nan


def run_headless(plans: list[runner.RunPlan], runs_dir: Path, data_dir: Path, timeout_s: float) -> None:
    """The same plans in a spawned TrainingProcess, drained by a plain loop (no UI)."""
    worker = TrainingProcess(plans, runs_dir, data_dir).start()
    drive, deadline = Drive(worker), time.monotonic() + timeout_s
    while not drive.done:
        drive.turn(POLL_S)
        if time.monotonic() > deadline:
            worker.stop()
            worker.join(5)
            raise RuntimeError(f"the headless bench runs timed out ({timeout_s:.0f} s)")
    worker.join(5)
    if worker.errors:
        raise RuntimeError("; ".join(worker.errors))


def summaries(runs_dir: Path) -> list[dict[str, Any]]:
    """Each run's summary.json (or its status, if it wrote none)."""
    return [r.summary or {"status": r.state} for r in RunStore(runs_dir).list()]


def steps_per_s(runs: list[dict[str, Any]]) -> float:
    """All the runs' optimizer steps over their summed training time (each run's set-up excluded)."""
    steps = sum(s.get("steps", 0) for s in runs)
    dur = sum(s.get("duration_s") or 0.0 for s in runs)
    return steps / dur if dur > 0 else math.nan


def percentile(xs: list[float], q: float) -> float:
    """The q-quantile (0..1) of xs by the nearest rank; NaN if empty."""
    if not xs:
        return math.nan
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, math.ceil(q * len(s)) - 1))]


def measure_tui(
    preset: str | Preset = "polynomial",
    overrides: dict[str, Any] | None = None,
    runs_dir: Path | None = None,
    data_dir: Path | None = None,
    quick: bool = False,
    scale: TuiScale | None = None,
) -> dict[str, Any]:
    """Train `preset` with the lab attached and headless, in turns; the throughput ratio, UI stalls, the lab's
    memory."""
    scale = scale or TuiScale.of(sizes(quick))
    p = trimmed(presets_mod.load(preset) if isinstance(preset, str) else preset, scale.variants)
    overrides = {"epochs": scale.epochs, **(overrides or {})}
    check_overrides(p, overrides)
    plans = runner.plan(p, overrides)
    with tempfile.TemporaryDirectory(prefix="dltui-tuibench-") as tmp:
        root = Path(runs_dir) if runs_dir is not None else Path(tmp)
        data = Path(data_dir) if data_dir is not None else default_data_dir()
        tui_rates, head_rates, stalls, statuses, wall, cpu, rss = (
            [],
            [],
            [],
            [],
            0.0,
            0.0,
            (math.nan, math.nan),
        )
        for i in range(scale.repeats):
            head_dir, tui_dir = root / f"headless-{i}", root / f"tui-{i}"
            run_headless(plans, head_dir, data, scale.timeout_s)
            seen = asyncio.run(drive_tui(p, overrides, tui_dir, data, scale.timeout_s))
            stalls, wall, cpu, rss = stalls + seen.stalls, wall + seen.wall_s, cpu + seen.cpu_s, seen.rss_mb
            head, tui = summaries(head_dir), summaries(tui_dir)
            statuses += [s["status"] for s in head + tui]
            head_rates.append(steps_per_s(head))
            tui_rates.append(steps_per_s(tui))
    if set(statuses) != {"finished"}:
        raise RuntimeError(f"the TUI bench runs did not all finish: {', '.join(statuses)}")
    tui_rate, head_rate = max(tui_rates), max(head_rates)
    return {
        "preset": p.name,
        "variants": [v.name for v in p.variants],
        "epochs": overrides["epochs"],
        "repeats": scale.repeats,
        "tui_steps_per_s": tui_rate,
        "headless_steps_per_s": head_rate,
        "throughput_ratio": tui_rate / head_rate,
        "max_stall_ms": 1000 * max(stalls, default=math.nan),
        "p99_stall_ms": 1000 * percentile(stalls, 0.99),
        "n_ticks": len(stalls),
        "ui_cpu_pct": 100 * cpu / wall if wall > 0 else math.nan,
        "statuses": statuses,
        "headless": "spawned TrainingProcess (the TUI's training process), no UI",
        "rss_start_mb": rss[0],
        "rss_end_mb": rss[1],
    }


def tui_cases(figures: dict[str, Any] | None) -> list[Row]:
    """The bench's two TUI rows from `measure_tui`'s figures, judged; their empty places if None."""
    table = goals("cpu")  # the TUI's goals are the same on any device
    if figures is None:
        return [judged(unmeasured(n), table[n]) for n in ("tui_throughput", "tui_stall")]
    f = figures
    runs = f"preset {f['preset']}, {len(f['variants'])} runs of {f['epochs']} epochs, best of {f['repeats']}"
    thr = row(
        "tui_throughput",
        lab=f["tui_steps_per_s"],
        reference=f["headless_steps_per_s"],
        ratio=f["throughput_ratio"],
        note="steps/s from summary.json; ratio = TUI / headless",
    )
    stall = row(
        "tui_stall",
        lab=f["max_stall_ms"] / 1000,
        note=f"p99 {f['p99_stall_ms']:.1f} ms over {f['n_ticks']} ticks; the UI used {f['ui_cpu_pct']:.0f}% "
        "of a core meanwhile; the real LabApp, headless, 140x45",
    )
    return [judged(replace(r, detail=f"{r.detail}; {runs}"), table[r.name]) for r in (thr, stall)]


register(
    Case(
        ("tui_throughput", "tui_stall"),
        "TUI throughput and stalls",
        lambda ctx: tui_cases(measure_tui(scale=TuiScale.of(ctx.sizes))),
    )
)
