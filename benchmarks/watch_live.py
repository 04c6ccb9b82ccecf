"""Watching 40 live runs that another process writes: the lab's CPU share and its longest UI stall.

A writer process makes 40 runs through the real run store (core/store.py: status with heartbeat, a metrics
line an epoch, flushed) and appends RATE epochs a second to each. The lab (this process) opens the
past-runs screen on them, as `dltui watch` does, in two cases:
- `table`: the 40 runs listed, their epochs and status updating live (no plot open);
- `overlay`: the 40 runs also overlaid in the plots, their curves growing.
Figures: this process's CPU seconds (every thread: watcher, plot builder, UI) per wall second, as a share of
one core, and the longest stall of a 20 ms timer (tui/bench.py's StallMeter). The goal: under 5% of a core
and under 50 ms. Run: python benchmarks/watch_live.py [--runs 40] [--rate 20] [--seconds 10].
"""
from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WRITER = """
import sys, time
from dltui.core.store import RunStore
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


async def measure(root: Path, ids: list[str], overlay: bool, seconds: float) -> tuple[float, float]:
    """(CPU share of one core, longest stall in s) of the lab following `ids` for `seconds`."""
    from dltui.tui.app import LabApp
    from dltui.tui.bench import TICK_S, StallMeter
    from dltui.tui.screens import PastRunsScreen

    app = LabApp(runs_dir=root, device_probe=lambda: "cpu", watch=ids if overlay else None)
    meter = StallMeter(app)
    async with app.run_test(size=(140, 45)) as pilot:
        if not overlay:
            await pilot.press("p")
        deadline = time.monotonic() + 60
        while not (isinstance(app.screen, PastRunsScreen) and app.screen.loaded
                   and (not overlay or len(app.screen.shown) == len(ids))):
            assert time.monotonic() < deadline, "the past-runs screen did not open"
            await pilot.pause(0.05)
        await pilot.pause(2.0)  # warm-up: the first whole reads are done
        app.set_interval(TICK_S, meter.tick)
        cpu0, t0 = time.process_time(), time.perf_counter()
        await pilot.pause(seconds)
        cpu, t1 = time.process_time() - cpu0, time.perf_counter()
        live = sum(r.status == "running" for r in app.screen.shown) if overlay else None
    stalls = meter.stalls(t0, t1)
    if overlay and not live:
        raise RuntimeError("the runs ended before the measurement did; raise --seconds of the writer")
    return cpu / (t1 - t0), max(stalls) if stalls else 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("--rate", type=float, default=20.0, help="epochs a second written to each run")
    ap.add_argument("--seconds", type=float, default=10.0, help="how long each case is measured")
    args = ap.parse_args()
    for case in ("idle", "table", "overlay"):  # idle: the lab on the past-runs screen, no run live (the floor)
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp) / "runs"
            writer = subprocess.Popen([sys.executable, "-c", WRITER, str(root), str(args.runs), str(args.rate),
                                       str(args.seconds + 40)], stdout=subprocess.PIPE, text=True,
                                      env={**os.environ, "OMP_NUM_THREADS": "1"})
            try:
                assert writer.stdout.readline().strip() == "ready"
                if case == "idle":
                    writer.kill()
                    writer.wait()
                ids = sorted(p.name for p in root.iterdir() if p.is_dir())
                share, stall = asyncio.run(measure(root, ids, case == "overlay", args.seconds))
            finally:
                writer.kill()
                writer.wait()
        print(f"{case:8s} {args.runs} live runs x {args.rate:g} epochs/s: lab CPU {100 * share:.1f}% of one core "
              f"(goal < 5%), longest stall {1000 * stall:.0f} ms (goal < 50 ms)", flush=True)


if __name__ == "__main__":
    main()
