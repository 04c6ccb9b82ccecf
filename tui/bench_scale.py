"""`dltui bench --scale`: the lab pushed as a user pushes it, measured with tui/bench.py's stall meter.

- one long run (the polynomial, 100,000 epochs; --quick 10,000) in the lab and headless: the longest UI
  stall, throughput with the lab attached vs without, and the lab's resident memory before and after;
- a 40-variant sweep (10 learning rates x 4 seeds), the same figures;
- `dltui runs` at 10,000 saved runs (--quick 2,000): the listing in-process, and the command's wall time
  beside `dltui --help`'s (the interpreter's start-up, which no listing can beat);
- the past-runs screen (p) at those runs: the longest stall while it lists and fills its table.
"""
from __future__ import annotations

import asyncio
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dltui.core.presets import parse
from dltui.core.runindex import listing
from dltui.tui.app import LabApp
from dltui.tui.bench import StallMeter, TICK_S, TuiScale, measure_tui, percentile, wait_for

SIZE = (140, 45)
SWEEP_TOML = """
name = "sweep-40"
title = "40 variants"
shows = "10 learning rates x 4 seeds of the polynomial"
views = ["loss", "function"]
description = "The scale benchmark's sweep."

[base]
task = "polynomial"
hidden = []
loss = "smooth_l1"
batch_size = 50
n_samples = 200
init = "zeros"
data_seed = 2020

[sweep]
lr = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0]
seed = [0, 1, 2, 3]
"""


@dataclass(frozen=True)
class ScaleSizes:
    long_epochs: int = 100_000
    sweep_epochs: int = 200
    saved_runs: int = 10_000
    timeout_s: float = 1200.0


FULL = ScaleSizes()
QUICK = ScaleSizes(long_epochs=10_000, sweep_epochs=20, saved_runs=2_000, timeout_s=600.0)


def make_saved_runs(root: Path, n: int) -> None:
    """`n` ended runs of two presets, a minute apart, as the store writes them (without its fsyncs: speed)."""
    root.mkdir(parents=True, exist_ok=True)
    t0 = time.time() - 60 * n
    for i in range(n):
        t = t0 + 60 * i
        run_id = time.strftime("%Y%m%d-%H%M%S", time.localtime(t)) + f"-000-bench-lr={i % 7}-{i:04x}"
        d = root / run_id
        d.mkdir()
        status = {"run_id": run_id, "preset": ("polynomial", "mnist-batch")[i % 2], "variant": f"lr={i % 7}",
                  "status": ("finished", "diverged", "interrupted")[i % 3], "pid": 1, "host": "bench", "started": t,
                  "heartbeat": t + 5, "ended": t + 5, "epoch": 20}
        summary = {"epochs": 20, "final_train_loss": 1.0 / (1 + i), "final_test_loss": 0.2, "final_test_acc": 0.9}
        for name, obj in (("status", status), ("config", {"lr": 0.1, "epochs": 20}), ("summary", summary)):
            (d / f"{name}.json").write_text(json.dumps(obj))
        (d / "metrics.jsonl").write_text(json.dumps({"epoch": 20, "step": 80, "time": 1.0, "train_loss": 0.1}) + "\n")


def best_of(fn, repeats: int = 3) -> float:
    """The shortest of `repeats` wall times of fn() in seconds."""
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def cli_seconds(*args: str) -> float:
    """Best-of-3 wall time of `python -m dltui ARGS` (the interpreter's start-up included)."""
    cmd = [sys.executable, "-m", "dltui", *args]
    return best_of(lambda: subprocess.run(cmd, capture_output=True, check=True, env={**os.environ, "COLUMNS": "140"}))


def runs_figures(root: Path) -> dict[str, Any]:
    """`dltui runs` at the saved runs: in-process and as a command."""
    (root / ".index.json").unlink(missing_ok=True)
    cold = best_of(lambda: listing(root, None, "polynomial", "finished"), 1)  # builds the index
    return {
        "saved_runs": sum(1 for _ in os.scandir(root)) - 1,
        "listing_screenful_s": best_of(lambda: listing(root, 30)),
        "listing_filtered_cold_s": cold,
        "listing_filtered_s": best_of(lambda: listing(root, None, "polynomial", "finished")),
        "cli_runs_s": cli_seconds("runs", "--runs-dir", str(root)),
        "cli_runs_filtered_s": cli_seconds("runs", "--runs-dir", str(root), "--preset", "polynomial", "--status", "finished"),
        "cli_help_s": cli_seconds("--help"),
    }


async def past_runs_stalls(root: Path, n: int, timeout_s: float) -> dict[str, Any]:
    """Open the past-runs screen on `n` saved runs and use it: the UI's stalls from `p` until the first rows are in,
    then through ten jumps to the last row held (more rows come each time) and a filter typed and cleared."""
    from dltui.tui.screens import AHEAD, PastRunsScreen

    app = LabApp(presets=[parse(SWEEP_TOML, "sweep-40.toml")], runs_dir=root, device_probe=lambda: "bench")
    meter = StallMeter(app)
    async with app.run_test(size=SIZE) as pilot:
        app.set_interval(TICK_S, meter.tick)
        await pilot.pause(0.5)
        start = time.perf_counter()
        await pilot.press("p")
        screen = app.screen
        assert isinstance(screen, PastRunsScreen)
        await wait_for(pilot, lambda: screen.loaded, timeout_s, "the runs to be listed")
        listed = time.perf_counter()
        await wait_for(pilot, lambda: screen.added >= min(n, AHEAD), timeout_s, "the first rows")
        first = time.perf_counter()
        for _ in range(10):
            await pilot.press("ctrl+end")
            await pilot.pause(0.3)
        await pilot.press("slash", *"polynomial fin")
        await pilot.pause(0.5)
        await pilot.press(*["backspace"] * len("polynomial fin"))
        await pilot.pause(0.5)
        end = time.perf_counter()
        await pilot.press("escape", "q")
    stalls = meter.stalls(start, end)
    return {"past_max_stall_ms": 1000 * max(stalls, default=math.nan), "past_p99_stall_ms": 1000 * percentile(stalls, 0.99),
            "past_listed_s": listed - start, "past_first_rows_s": first - start}


def measure_scale(quick: bool = False) -> dict[str, Any]:
    """Every scale figure (see the module's docstring)."""
    sizes = QUICK if quick else FULL
    out: dict[str, Any] = {"quick": quick}
    long_run = measure_tui("polynomial", scale=TuiScale(epochs=sizes.long_epochs, variants=1, repeats=1, timeout_s=sizes.timeout_s))
    out["long"] = long_run
    sweep = parse(SWEEP_TOML, "sweep-40.toml")
    out["sweep"] = measure_tui(sweep, scale=TuiScale(epochs=sizes.sweep_epochs, variants=40, repeats=1, timeout_s=sizes.timeout_s))
    with tempfile.TemporaryDirectory(prefix="dltui-scale-") as tmp:
        root = Path(tmp) / "runs"
        make_saved_runs(root, sizes.saved_runs)
        out["runs"] = runs_figures(root)
        out["past"] = asyncio.run(past_runs_stalls(root, sizes.saved_runs, sizes.timeout_s))
    return out


def _ms(s: float) -> str:
    return f"{1000 * s:.0f} ms"


def scale_rows(r: dict[str, Any]) -> list[tuple[str, str, str, bool | None]]:
    """(case, figure, goal, met) for each scale figure, for a table."""
    rows = []
    for key, what in (("long", f"{r['long']['epochs']:,}-epoch polynomial run"), ("sweep", "40-variant sweep (10 lr x 4 seeds)")):
        f = r[key]
        rows += [
            (f"{what}: longest UI stall", f"{f['max_stall_ms']:.0f} ms (p99 {f['p99_stall_ms']:.0f})", "< 50 ms", f["max_stall_ms"] < 50),
            (f"{what}: throughput, lab / headless", f"{f['throughput_ratio']:.2f}x ({f['tui_steps_per_s']:,.0f} vs "
             f"{f['headless_steps_per_s']:,.0f} steps/s)", ">= 0.9x", f["throughput_ratio"] >= 0.9),
            (f"{what}: lab resident memory", f"{f['rss_start_mb']:.0f} MB before, {f['rss_end_mb']:.0f} MB after", "< 200 MB at start",
             f["rss_start_mb"] < 200),
        ]
    n, runs, past = r["runs"]["saved_runs"], r["runs"], r["past"]
    rows += [
        (f"dltui runs at {n:,} runs: listing a screenful", _ms(runs["listing_screenful_s"]), "", None),
        (f"dltui runs at {n:,} runs: --preset --status (index cold / warm)",
         f"{_ms(runs['listing_filtered_cold_s'])} / {_ms(runs['listing_filtered_s'])}", "", None),
        (f"dltui runs at {n:,} runs: the command (dltui --help: {_ms(runs['cli_help_s'])})", _ms(runs["cli_runs_s"]), "< 0.5 s",
         runs["cli_runs_s"] < 0.5),
        (f"dltui runs --preset --status at {n:,} runs: the command", _ms(runs["cli_runs_filtered_s"]), "", None),
        (f"past runs (p) at {n:,} runs: longest UI stall", f"{past['past_max_stall_ms']:.0f} ms (p99 {past['past_p99_stall_ms']:.0f})",
         "< 50 ms", past["past_max_stall_ms"] < 50),
        (f"past runs (p) at {n:,} runs: listed / first rows in the table", f"{past['past_listed_s']:.2f} s / {past['past_first_rows_s']:.2f} s",
         "", None),
    ]
    return rows
