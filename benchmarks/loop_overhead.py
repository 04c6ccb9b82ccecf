"""The training loop's own cost per step on the CPU: CPU microseconds of this process per optimizer step, one
torch thread, for runs whose steps are small enough that the loop's Python shows (the polynomial preset's
model, 4 steps an epoch; a digits MLP at batch 64, 23 steps an epoch, with its per-epoch evaluation).

Run it on two trees to compare them (the figure a change to core/train/trainer.py must not make worse); under
load, compare the minimum of several runs, alternating the trees (A B A B):

    python benchmarks/loop_overhead.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from functools import partial

import torch

from dltui.core.bench.harness import in_turns
from dltui.core.spec.config import RunConfig
from dltui.core.train.events import RunEnded, RunStarted
from dltui.core.train.trainer import Trainer

CASES = {
    "polynomial, batch 50 (4 steps an epoch)": RunConfig(
        task="polynomial",
        hidden=(),
        loss="smooth_l1",
        batch_size=50,
        epochs=1000,
        device="cpu",
        checkpoint=False,
    ),
    "digits 64-100-10, batch 64 (23 steps an epoch)": RunConfig(
        task="digits", hidden=(100,), batch_size=64, epochs=40, device="cpu", checkpoint=False
    ),
}


def cpu_us_per_step(cfg: RunConfig, data_dir: str) -> float:
    """CPU µs per step from RunStarted to RunEnded (data loading and set-up left out)."""
    marks: dict[str, float] = {}

    def listen(event) -> None:
        if isinstance(event, (RunStarted, RunEnded)):
            marks[type(event).__name__] = time.process_time()

    ended = Trainer(cfg, run_id="bench", data_dir=data_dir, listeners=[listen]).run()
    return (marks["RunEnded"] - marks["RunStarted"]) / ended.summary["steps"] * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as data_dir:
        for name, cfg in CASES.items():
            (runs,) = in_turns(partial(cpu_us_per_step, cfg, data_dir), repeats=args.repeats)
            print(
                f"{name}: min {min(runs):.1f} µs, median {statistics.median(runs):.1f} µs CPU per step "
                f"({args.repeats} runs)"
            )


if __name__ == "__main__":
    main()
