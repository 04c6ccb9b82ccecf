"""`dltui bench --scale`: the lab pushed as a user pushes it, measured with tui/bench/lab.py's stall meter.

- one long run (the polynomial, 100,000 epochs; --quick 10,000) in the lab and headless: the longest UI
  stall, throughput with the lab attached vs without, and the lab's resident memory before and after;
- a 40-variant sweep (10 learning rates x 4 seeds), the same figures;
- `dltui runs` at 10,000 saved runs (--quick 2,000): the listing in-process, and the command's wall time
  beside `dltui --help`'s (the interpreter's start-up, which no listing can beat);
- `dltui show latest` there (it must not list every run);
- the past-runs screen (p) at those runs: the longest stall while it opens, is scrolled down and filtered;
- any other --scale case registered with core/bench/harness.py joins the same table: watching 40 live runs
  another process writes (tui/bench/watch.py) is one: the lab's CPU and longest stall.

Every goal of issue 16 is a line of core/bench/harness.py's TABLE, judged here by name. The full mode takes a
few minutes on a quiet 2-core machine: `dltui bench --scale --json scale.json`.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import time
from pathlib import Path
from typing import Any

from ...core.bench.harness import Case, Sizes, best_of, judge, python_s, register, wall_s
from ...core.spec.presets import parse
from ...core.store.folder import RunStore
from ...core.store.index import listing
from ..app import LabApp
from .lab import TICK_S, StallMeter, TuiScale, measure_tui, percentile, wait_for

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


Row = tuple[str, str, str, "bool | None"]  # case, figure, goal, met


def make_saved_runs(root: Path, n: int) -> None:
    """`n` ended runs of two presets, a minute apart, as the store writes them (without its fsyncs: speed)."""
    root.mkdir(parents=True, exist_ok=True)
    t0 = time.time() - 60 * n
    for i in range(n):
        t = t0 + 60 * i
        run_id = time.strftime("%Y%m%d-%H%M%S", time.localtime(t)) + f"-000-bench-lr={i % 7}-{i:04x}"
        d = root / run_id
        d.mkdir()
        status = {
            "run_id": run_id,
            "preset": ("polynomial", "mnist-batch")[i % 2],
            "variant": f"lr={i % 7}",
            "status": ("finished", "diverged", "interrupted")[i % 3],
            "pid": 1,
            "host": "bench",
            "started": t,
            "heartbeat": t + 5,
            "ended": t + 5,
            "epoch": 20,
        }
        summary = {
            "epochs": 20,
            "final_train_loss": 1.0 / (1 + i),
            "final_test_loss": 0.2,
            "final_test_acc": 0.9,
        }
        for name, obj in (("status", status), ("config", {"lr": 0.1, "epochs": 20}), ("summary", summary)):
            (d / f"{name}.json").write_text(json.dumps(obj))
        (d / "metrics.jsonl").write_text(
            json.dumps({"epoch": 20, "step": 80, "time": 1.0, "train_loss": 0.1}) + "\n"
        )


def best_wall_s(fn, repeats: int = 3) -> float:
    """The shortest of `repeats` wall times of fn() in seconds."""
    return best_of(lambda: wall_s(fn), repeats)


def cli_seconds(*args: str) -> float:
    """Best-of-3 wall time of `python -m dltui ARGS` (the interpreter's start-up included)."""
    return python_s(["-m", "dltui", *args], 3, columns=140)


def runs_figures(root: Path) -> dict[str, Any]:
    """`dltui runs` at the saved runs: in-process and as a command."""
    (root / ".index.json").unlink(missing_ok=True)
    cold = best_wall_s(lambda: listing(root, None, "polynomial", "finished"), 1)  # builds the index
    return {
        "saved_runs": sum(1 for _ in os.scandir(root)) - 1,
        "listing_screenful_s": best_wall_s(lambda: listing(root, 30)),
        "listing_filtered_cold_s": cold,
        "listing_filtered_s": best_wall_s(lambda: listing(root, None, "polynomial", "finished")),
        "cli_runs_s": cli_seconds("runs", "--runs-dir", str(root)),
        "cli_runs_filtered_s": cli_seconds(
            "runs", "--runs-dir", str(root), "--preset", "polynomial", "--status", "finished"
        ),
        "cli_help_s": cli_seconds("--help"),
        "show_latest_s": best_wall_s(lambda: RunStore(root).get("latest")),
        "cli_show_latest_s": cli_seconds("show", "latest", "--runs-dir", str(root)),
    }


async def past_runs_stalls(root: Path, n: int, timeout_s: float) -> dict[str, Any]:
    """Open the past-runs screen on `n` saved runs and use it: the UI's stalls from `p` until the first rows
    are in, then through ten jumps to the last row held (more rows come each time) and a filter typed and
    cleared."""
    from ..pastruns.screen import AHEAD, PastRunsScreen

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
    return {
        "past_max_stall_ms": 1000 * max(stalls, default=math.nan),
        "past_p99_stall_ms": 1000 * percentile(stalls, 0.99),
        "past_listed_s": listed - start,
        "past_first_rows_s": first - start,
    }


def measure_lab(size: Sizes, work: Path) -> dict[str, Any]:
    """The lab's own scale figures: the long run, the sweep, the saved runs (see the module's docstring)."""
    out: dict[str, Any] = {}
    timeout_s = size.scale_timeout_s
    out["long"] = measure_tui(
        "polynomial", scale=TuiScale(epochs=size.long_epochs, variants=1, repeats=1, timeout_s=timeout_s)
    )
    sweep = parse(SWEEP_TOML, "sweep-40.toml")
    out["sweep"] = measure_tui(
        sweep, scale=TuiScale(epochs=size.sweep_epochs, variants=40, repeats=1, timeout_s=timeout_s)
    )
    root = work / "runs"
    make_saved_runs(root, size.saved_runs)
    out["runs"] = runs_figures(root)
    out["past"] = asyncio.run(past_runs_stalls(root, size.saved_runs, timeout_s))
    return out


def _ms(s: float) -> str:
    return f"{1000 * s:.0f} ms"


def _live_rows(key: str, what: str, f: dict[str, Any]) -> list[Row]:
    return [
        (
            f"{what}: longest UI stall",
            f"{f['max_stall_ms']:.0f} ms (p99 {f['p99_stall_ms']:.0f})",
            *judge(f"{key}_stall", f["max_stall_ms"]),
        ),
        (
            f"{what}: throughput, lab / headless",
            f"{f['throughput_ratio']:.2f}x ({f['tui_steps_per_s']:,.0f} vs "
            f"{f['headless_steps_per_s']:,.0f} steps/s)",
            *judge(f"{key}_throughput", f["throughput_ratio"]),
        ),
    ]


def _memory_rows(f: dict[str, Any]) -> list[Row]:
    start, growth = f["rss_start_mb"], f["rss_end_mb"] - f["rss_start_mb"]
    return [
        ("lab resident memory at start", f"{start:.0f} MB", *judge("memory_start", start)),
        (
            f"lab resident memory: growth over the {f['epochs']:,}-epoch run",
            f"{growth:+.1f} MB ({1e6 * growth / f['epochs']:.0f} B an epoch)",
            *judge("memory_growth", growth),
        ),
    ]


def _runs_rows(runs: dict[str, Any], past: dict[str, Any]) -> list[Row]:
    n = runs["saved_runs"]
    return [
        (
            f"dltui runs at {n:,} runs (dltui --help alone: {_ms(runs['cli_help_s'])})",
            _ms(runs["cli_runs_s"]),
            *judge("cli_runs", runs["cli_runs_s"]),
        ),
        (f"dltui runs --preset --status at {n:,} runs", _ms(runs["cli_runs_filtered_s"]), "", None),
        (
            f"dltui runs in-process at {n:,} runs: a screenful; --preset --status (index cold / warm)",
            f"{_ms(runs['listing_screenful_s'])}; "
            f"{_ms(runs['listing_filtered_cold_s'])} / {_ms(runs['listing_filtered_s'])}",
            "",
            None,
        ),
        (
            f"dltui show latest at {n:,} runs: the command (finding the run in-process)",
            f"{_ms(runs['cli_show_latest_s'])} ({_ms(runs['show_latest_s'])})",
            *judge("show_latest", runs["cli_show_latest_s"]),
        ),
        (
            f"past runs (p) at {n:,} runs: longest UI stall (open, scroll, filter)",
            f"{past['past_max_stall_ms']:.0f} ms (p99 {past['past_p99_stall_ms']:.0f})",
            *judge("past_stall", past["past_max_stall_ms"]),
        ),
        (
            f"past runs (p) at {n:,} runs: listed / first rows in the table",
            f"{past['past_listed_s']:.2f} s / {past['past_first_rows_s']:.2f} s",
            "",
            None,
        ),
    ]


def lab_rows(r: dict[str, Any]) -> list[Row]:
    """(case, figure, goal, met) for the lab's own scale figures, each goal from the bench's table."""
    rows = _live_rows("long", f"{r['long']['epochs']:,}-epoch polynomial run", r["long"])
    rows += _live_rows("sweep", "40 variants live (10 lr x 4 seeds)", r["sweep"])
    return rows + _memory_rows(r["long"]) + _runs_rows(r["runs"], r["past"])


register(
    Case(
        ("long_stall", "long_throughput", "sweep_stall", "sweep_throughput", "memory_start", "memory_growth")
        + ("cli_runs", "show_latest", "past_stall"),
        "the lab at scale: a long run, a 40-variant sweep, the saved runs",
        lambda ctx: measure_lab(ctx.sizes, ctx.work),
        lab_rows,
    )
)
