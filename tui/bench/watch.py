"""`dltui bench --scale`'s watching case: the lab following 40 live runs that another process writes.

A writer process makes the runs through the real run store (core/store/folder.py: status with heartbeat, a
metrics line an epoch, flushed) and appends `rate` epochs a second to each. The lab (this process) opens the
past-runs screen on them, as `dltui watch` does, in three cases:
- `idle`: the same screen, the runs' writer gone (the floor: the lab's own timers);
- `table`: the runs listed, their epochs and status updating live (no plot open): the goal's case;
- `overlay`: the runs also overlaid in the plots, their curves growing (plotting 40 runs: the same cost as
  the lab's own 40-run sweep).
Each case is measured twice in a row, on the same lab: first its CPU (every thread of this process: UI,
watcher, plot builder; seconds per wall second, as a share of one core), then its longest stall (a 20 ms
timer, tui/bench/lab.py's StallMeter), so that the meter's own 50 wake-ups a second are not counted as the
lab's. `rounds` > 1 repeats the cases in turns (idle table overlay idle table overlay ...): the spread is the
noise. The goal: under 5% of a core and under 50 ms, for the table.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...core.bench.harness import Case, judge, register
from ...core.rules.status import RunStatus
from .lab import SIZE, TICK_S, StallMeter, wait_for

CASES = ("idle", "table", "overlay")
WARM_UP_S = 2.0  # after the screen is up: the first whole reads are done
WRITER = """
import sys, time
from dltui.core.store.folder import RunStore
root, n, rate, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
store = RunStore(root)
writers = [store.create("polynomial", f"v{i}", {"epochs": 10**6}) for i in range(n)]
print("ready", flush=True)
t0, epoch = time.monotonic(), 0
while time.monotonic() - t0 < seconds:
    epoch += 1
    for i, w in enumerate(writers):
        loss = 10.0 / (1 + 0.01 * (i + 1) * epoch)
        w.append_metrics({"epoch": epoch, "step": 4 * epoch, "time": time.monotonic() - t0,
                          "train_loss": loss, "test_loss": loss * 1.1})
    time.sleep(max(0.0, t0 + epoch / rate - time.monotonic()))
for w in writers:
    w.set_status("finished")
    w.close()
"""


@dataclass(frozen=True)
class WatchScale:
    runs: int = 40
    rate: float = 20.0  # epochs a second written to each run
    seconds: float = 10.0  # each of the two measurements of a case (the bench's: its Sizes.watch_seconds)
    rounds: int = 1


async def measure_lab(root: Path, ids: list[str], overlay: bool, seconds: float) -> tuple[float, float]:
    """(CPU share of one core, longest stall in s) of the lab following `ids` on the past-runs screen."""
    from ..app import LabApp
    from ..pastruns.screen import PastRunsScreen

    app = LabApp(runs_dir=root, device_probe=lambda: "cpu", watch=ids if overlay else None)
    meter = StallMeter(app)
    async with app.run_test(size=SIZE) as pilot:
        if not overlay:
            await pilot.press("p")
        await wait_for(
            pilot,
            lambda: (
                isinstance(app.screen, PastRunsScreen)
                and app.screen.loaded
                and (not overlay or len(app.screen.shown) == len(ids))
            ),
            60,
            "the past-runs screen",
        )
        await pilot.pause(WARM_UP_S)
        cpu0, t0 = time.process_time(), time.perf_counter()
        await pilot.pause(seconds)
        share = (time.process_time() - cpu0) / (time.perf_counter() - t0)
        app.set_interval(TICK_S, meter.tick)
        t1 = time.perf_counter()
        await pilot.pause(seconds)
        t2 = time.perf_counter()
        live = sum(r.status == RunStatus.RUNNING for r in app.screen.shown) if overlay else None
    if overlay and not live:
        raise RuntimeError("the runs ended before the measurement did")
    return share, max(meter.stalls(t1, t2), default=0.0)


def measure_case(case: str, scale: WatchScale) -> tuple[float, float]:
    """One case, with its own writer process and runs dir."""
    with tempfile.TemporaryDirectory(prefix="dltui-watch-") as tmp:
        root = Path(tmp) / "runs"
        writer = subprocess.Popen(
            [
                sys.executable,
                "-c",
                WRITER,
                str(root),
                str(scale.runs),
                str(scale.rate),
                str(2 * scale.seconds + 60),
            ],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "OMP_NUM_THREADS": "1"},
        )
        try:
            if writer.stdout.readline().strip() != "ready":
                raise RuntimeError("the benchmark's writer process did not start")
            if case == "idle":
                writer.kill()
                writer.wait()
            ids = sorted(p.name for p in root.iterdir() if p.is_dir())
            return asyncio.run(measure_lab(root, ids, case == "overlay", scale.seconds))
        finally:
            writer.kill()
            writer.wait()


def measure_watch(scale: WatchScale) -> dict[str, Any]:
    """{case: {"cpu": [share per round], "stall_s": [...]}, "runs", "rate"} (see the module's docstring)."""
    out: dict[str, Any] = {"runs": scale.runs, "rate": scale.rate, "seconds": scale.seconds}
    for case in CASES:
        out[case] = {"cpu": [], "stall_s": []}
    for _ in range(scale.rounds):
        for case in CASES:
            cpu, stall = measure_case(case, scale)
            out[case]["cpu"].append(cpu)
            out[case]["stall_s"].append(stall)
    return out


def _spread(values: list[float], scale: float, unit: str) -> str:
    lo, hi = min(values) * scale, max(values) * scale
    digits = 1 if unit == "%" else 0
    return f"{lo:.{digits}f}{unit}" if len(values) == 1 else f"{lo:.{digits}f}-{hi:.{digits}f}{unit}"


WHAT = {
    "idle": "past runs, none live (the floor)",
    "table": "their rows updating",
    "overlay": "also overlaid, curves growing",
}


def watch_rows(r: dict[str, Any]) -> list[tuple[str, str, str, bool | None]]:
    """(case, figure, goal, met) for a table: the goal is the table case's; the others are for reference."""
    rows = []
    for case in CASES:
        f = r[case]
        what = f"watching {r['runs']} live runs ({r['rate']:g} epochs/s each): {WHAT[case]}"
        goal = case == "table"
        rows += [
            (
                f"{what}: lab CPU",
                _spread(f["cpu"], 100, "%") + " of a core",
                *(judge("watch_cpu", max(f["cpu"])) if goal else ("", None)),
            ),
            (
                f"{what}: longest UI stall",
                _spread(f["stall_s"], 1000, " ms"),
                *(judge("watch_stall", max(f["stall_s"])) if goal else ("", None)),
            ),
        ]
    return rows


register(
    Case(
        ("watch_cpu", "watch_stall"),
        "watching 40 live runs",
        lambda ctx: {"watch": measure_watch(WatchScale(seconds=ctx.sizes.watch_seconds))},
        lambda figures: watch_rows(figures["watch"]) if "watch" in figures else [],
    )
)
