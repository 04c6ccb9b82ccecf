"""One epoch of 784-300-10 (batch 64) on 60,000 MNIST-shaped random samples: the lab's engine vs a plain loop.

The plain loop is what a course notebook does (core/bench/reference.py's, the loop `dltui bench` and the tests
use too): DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True), forward, cross-entropy, zero_grad,
backward, SGD step, loss.item() every step and the correct count, then the test set. The lab runs the same
work through its Trainer (task mnist, read from IDX files written to a temp dir). Also one full-batch step
(60,000 samples) each way. The "floor" column is the same loop on contiguous slices (no shuffling, no
DataLoader): close to the arithmetic alone, so floor/loop bounds the ratio a CPU can reach.
Both run in this process, alternately, several times; the table shows the median wall-clock seconds
and the median CPU seconds of this process (steadier than wall time on a shared machine).

    python benchmarks/mnist_epoch.py [--repeats 3] [--device auto] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import struct
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import torch
from torch import nn

from dltui.core.bench import reference
from dltui.core.bench.cases import mnist_config
from dltui.core.bench.harness import in_turns

N_TRAIN, N_TEST, BATCH, LR = 60000, 10000, 64, 0.1
HIDDEN = reference.MNIST_MLP[1]  # the bench's MNIST net, 784-300-10


def write_idx(path: Path, t: torch.Tensor) -> None:
    """A uint8 tensor as an IDX file (MNIST's format)."""
    path.write_bytes(
        struct.pack(">I", 0x800 + t.dim()) + struct.pack(f">{t.dim()}I", *t.shape) + t.numpy().tobytes()
    )


def make_data(root: Path) -> dict[str, torch.Tensor]:
    """Random MNIST-shaped images and labels, written as DATA/MNIST/raw/ for the lab; the tensors for the
    loop."""
    g = torch.Generator().manual_seed(0)
    t = {
        "train-images-idx3-ubyte": torch.randint(0, 256, (N_TRAIN, 28, 28), generator=g, dtype=torch.uint8),
        "train-labels-idx1-ubyte": torch.randint(0, 10, (N_TRAIN,), generator=g, dtype=torch.uint8),
        "t10k-images-idx3-ubyte": torch.randint(0, 256, (N_TEST, 28, 28), generator=g, dtype=torch.uint8),
        "t10k-labels-idx1-ubyte": torch.randint(0, 10, (N_TEST,), generator=g, dtype=torch.uint8),
    }
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name, tensor in t.items():
        write_idx(raw / name, tensor)
    return t


def clocks() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def lab_epoch(data_dir: Path, batch_size, device: str) -> tuple[float, float]:
    """(wall, CPU) seconds from the lab's RunStarted (data loaded, model built) to its first EpochEnded."""
    from dltui.core.train.events import EpochEnded, RunStarted
    from dltui.core.train.trainer import Trainer

    cfg = mnist_config(device, batch_size, epochs=1).with_overrides({"lr": LR}, "benchmark")
    marks: dict[str, tuple[float, float]] = {}

    def listen(event) -> None:
        if isinstance(event, (RunStarted, EpochEnded)):
            marks[type(event).__name__] = clocks()

    ended = Trainer(cfg, run_id="bench", data_dir=data_dir, listeners=[listen]).run()
    if ended.status != "finished":
        sys.exit(f"the lab's run {ended.status}: {ended.reason}")
    (w0, c0), (w1, c1) = marks["RunStarted"], marks["EpochEnded"]
    return w1 - w0, c1 - c0


def plain_setup(t: dict[str, torch.Tensor], device: torch.device):
    """The loop's data (train on the host, test on the device), model, optimizer and loss."""
    x = t["train-images-idx3-ubyte"].unsqueeze(1).float() / 255
    y = t["train-labels-idx1-ubyte"].long()
    xt = t["t10k-images-idx3-ubyte"].unsqueeze(1).float().div(255).to(device)
    yt = t["t10k-labels-idx1-ubyte"].long().to(device)
    model = reference.course_mlp(reference.MNIST_MLP, device)
    return x, y, xt, yt, model, torch.optim.SGD(model.parameters(), lr=LR), nn.CrossEntropyLoss()


def floor_epoch(t: dict[str, torch.Tensor], batch_size: int, device: torch.device) -> tuple[float, float]:
    """(wall, CPU) seconds for the arithmetic alone: the same steps on contiguous device slices, then the test
    set."""
    x, y, xt, yt, model, opt, loss_fn = plain_setup(t, device)
    x, y = x.to(device), y.to(device)
    w0, c0 = clocks()
    reference.train_epoch(model, opt, loss_fn, reference.sliced_batches(x, y, batch_size), device)
    reference.eval_pass(model, loss_fn, [(xt, yt)], device)
    w1, c1 = clocks()
    return w1 - w0, c1 - c0


def loop_epoch(t: dict[str, torch.Tensor], batch_size: int, device: torch.device) -> tuple[float, float]:
    """(wall, CPU) seconds for one epoch of the plain DataLoader loop plus its test-set evaluation."""
    x, y, xt, yt, model, opt, loss_fn = plain_setup(t, device)
    w0, c0 = clocks()
    reference.train_epoch(
        model, opt, loss_fn, reference.shuffled_batches(x, y, batch_size), device, count_correct=True
    )
    reference.eval_pass(model, loss_fn, [(xt, yt)], device)
    w1, c1 = clocks()
    return w1 - w0, c1 - c0


def measure(repeats: int, device_name: str) -> dict:
    from dltui.core.spec.device import resolve_device

    device = resolve_device(device_name)
    cases = {"epoch, batch 64": (BATCH, BATCH), "one full-batch step": ("full", N_TRAIN)}
    out: dict = {
        "device": str(device),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "repeats": repeats,
        "cases": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        t = make_data(Path(tmp))
        for name, (lab_bs, loop_bs) in cases.items():
            lab, loop, floor = in_turns(
                partial(lab_epoch, Path(tmp), lab_bs, device_name),
                partial(loop_epoch, t, loop_bs, device),
                partial(floor_epoch, t, loop_bs, device),
                repeats=repeats,
            )
            med = lambda runs, i: statistics.median(r[i] for r in runs)  # noqa: E731
            out["cases"][name] = {
                "lab_s": med(lab, 0),
                "loop_s": med(loop, 0),
                "ratio": med(lab, 0) / med(loop, 0),
                "lab_cpu_s": med(lab, 1),
                "loop_cpu_s": med(loop, 1),
                "cpu_ratio": med(lab, 1) / med(loop, 1),
                "floor_s": med(floor, 0),
                "floor_cpu_s": med(floor, 1),
                "lab_all": lab,
                "loop_all": loop,
                "floor_all": floor,
            }
    return out


def table(result: dict) -> str:
    lines = [
        f"784-{HIDDEN}-10, {N_TRAIN:,} train / {N_TEST:,} test samples, SGD lr {LR}, on {result['device']} "
        f"({result['threads']} threads, torch {result['torch']}), median of {result['repeats']}",
        f"{'':<22}{'wall-clock seconds':^37}{'CPU seconds':^37}",
        f"{'case':<22}" + f"{'lab':>8}{'loop':>8}{'floor':>8}{'lab/loop':>9}{'floor/loop':>11}" * 2,
    ]
    for name, c in result["cases"].items():
        row = f"{name:<22}"
        for sfx in ("s", "cpu_s"):
            lab, loop, floor = c[f"lab_{sfx}"], c[f"loop_{sfx}"], c[f"floor_{sfx}"]
            row += f"{lab:>8.3f}{loop:>8.3f}{floor:>8.3f}{lab / loop:>9.2f}{floor / loop:>11.2f}"
        lines.append(row)
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3, help="runs of each case (median shown)")
    ap.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    ap.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = ap.parse_args()
    os.environ["DLTUI_OFFLINE"] = "1"  # the files are written here; never download
    result = measure(args.repeats, args.device)
    print(table(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
