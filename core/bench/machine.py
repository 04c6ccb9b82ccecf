"""The bench's rows for the machine beside a run: what the hardware sampler costs (its CPU, and the
training throughput with it on vs off), and training beside busy neighbours (one busy-loop process per core,
started here) vs alone, measured in turns in the same run.

Each run is a real one (core/bench/cases.py's lab_steps_per_s: run store, metrics, checkpoints), its
threads chosen by its work as any run's are.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from .harness import Case, Context, Row, in_turns, register, row

BUSY_LOOP = "while True: pass"
SETTLE_S = 0.5  # the busy loops are spinning by then


def paired(a: list[float], b: list[float]) -> float:
    """The median of each round's a/b: the two were measured back to back, so a change in the machine's speed
    between rounds (this machine is shared) cancels out of each ratio."""
    import statistics

    return statistics.median(x / y for x, y in zip(a, b))


def neighbour_configs(device_name: str, quick: bool) -> dict[str, object]:
    """The three small-model runs #30 measured: toy2d (gmm), the polynomial (lr=0.1), the digits MLP
    (vanishing-gradients' relu-kaiming: 10x100 on 8x8 digits, batch 64), short enough for a bench."""
    from ..spec import presets

    def one(preset: str, variant: str, epochs: int, **more):
        cfg = dict(presets.load(preset).configs({}))[variant]
        return cfg.with_overrides({"epochs": epochs, "device": device_name, **more}, "dltui bench")

    return {
        "toy2d": one("toy2d", "gmm", 3 if quick else 20),
        "polynomial": one("polynomial", "lr=0.1", 40 if quick else 500),
        "digits": one("vanishing-gradients", "relu-kaiming", 2 if quick else 15, probes=[]),
    }


class BusyNeighbours:
    """One busy-loop process per core while inside `with`; each ended (by its own handle) on the way out."""

    def __enter__(self) -> BusyNeighbours:
        self.procs = [
            # each in a session of its own, as another user's job is: with the kernel's autogroups, loops in
            # the bench's own session would share its group's slice of the CPU three ways
            subprocess.Popen(
                [sys.executable, "-c", BUSY_LOOP], stdin=subprocess.DEVNULL, start_new_session=True
            )
            for _ in range(os.cpu_count() or 1)
        ]
        time.sleep(SETTLE_S)
        return self

    def __exit__(self, *exc) -> None:
        for p in self.procs:
            p.kill()
        for p in self.procs:
            p.wait()


def beside_neighbours(cfg, work: Path) -> float:
    from .cases import lab_steps_per_s

    with BusyNeighbours():
        return lab_steps_per_s(cfg, work)


def case_neighbours(ctx: Context) -> list[Row]:
    """Steps/s of each small run beside busy neighbours vs alone, in turns."""
    from .cases import lab_steps_per_s

    rows = []
    for name, cfg in neighbour_configs(ctx.device.type, ctx.sizes.quick).items():
        lab_steps_per_s(cfg.with_overrides({"epochs": 1}, "warm-up"), ctx.work)
        alone, busy = in_turns(
            lambda cfg=cfg: lab_steps_per_s(cfg, ctx.work),
            lambda cfg=cfg: beside_neighbours(cfg, ctx.work),
            repeats=ctx.sizes.repeats,
        )
        rows.append(
            row(
                f"neighbours_{name}",
                detail=f"{cfg.task}, {cfg.epochs} epochs, batch {cfg.batch_size}: steps/s beside "
                f"{os.cpu_count()} busy-loop processes (one per core) vs alone, in turns; the median of each "
                "round's ratio",
                lab=max(busy),
                reference=max(alone),
                ratio=paired(busy, alone),
                note=f"threads chosen by the work ({_threads(ctx.work)}); load {os.getloadavg()[0]:.1f}",
            )
        )
    return rows


def _threads(work: Path) -> str:
    """The threads the last run chose, as its hardware.jsonl says."""
    from ..hardware.record import read_hardware

    folders = sorted((p for p in work.iterdir() if (p / "hardware.jsonl").exists()), key=os.path.getmtime)
    info = read_hardware(folders[-1]).info if folders else None
    return f"{info.threads}: {info.why}" if info and info.threads else "?"


def case_sampler(ctx: Context) -> list[Row]:
    """The sampler's CPU share of one core (a Sampler at 1 Hz beside a run), and the polynomial's steps/s
    with the sampler on vs off (DLTUI_HARDWARE=0), in turns."""
    from ..hardware.sampler import Sampler
    from .cases import lab_steps_per_s, polynomial_config

    cfg = polynomial_config(ctx.device.type, ctx.sizes.poly_epochs * 4)
    lab_steps_per_s(polynomial_config(ctx.device.type, 5), ctx.work)  # warm-up

    def with_sampler(on: bool) -> float:
        old = os.environ.get("DLTUI_HARDWARE")
        os.environ["DLTUI_HARDWARE"] = "" if on else "0"
        try:
            return lab_steps_per_s(cfg, ctx.work)
        finally:
            os.environ.pop("DLTUI_HARDWARE") if old is None else os.environ.update(DLTUI_HARDWARE=old)

    def cost() -> float:
        """Share of one core: the sampler thread's CPU time over the wall time of a run beside it."""
        folder = ctx.work / "sampler-cost"
        folder.mkdir(exist_ok=True)
        s = Sampler(folder).start()
        s.use("cpu", [], "", threads=1, why="bench")
        t = time.monotonic()
        with_sampler(False)
        while time.monotonic() - t < 3.0:  # at least a few samples
            with_sampler(False)
        s.stop()
        return s.busy_s / (time.monotonic() - t)

    on, off, shares = in_turns(  # more rounds than other rows: a 2% goal is within one round's noise here
        lambda: with_sampler(True), lambda: with_sampler(False), cost, repeats=1 if ctx.sizes.quick else 5
    )
    share = min(shares)
    return [
        row(
            "sampler_cost",
            lab=100 * share,
            note=f"its thread's CPU time over the wall time beside a run; {1000 * share:.2f} ms a second",
        ),
        row(
            "sampler_throughput",
            detail=f"preset polynomial, lr=0.1, {cfg.epochs} epochs: steps/s with the sampler on vs off, "
            "the median of each round's ratio",
            lab=max(on),
            reference=max(off),
            ratio=paired(on, off),
            note=f"load {os.getloadavg()[0]:.1f}",
        ),
    ]


register(Case(("sampler_cost", "sampler_throughput"), "hardware sampler: its cost", case_sampler))
register(
    Case(
        ("neighbours_toy2d", "neighbours_polynomial", "neighbours_digits"),
        "beside busy neighbours vs alone",
        case_neighbours,
    )
)
