"""The instruments' cost on MNIST-shaped data (random tensors, no download): each probe's overhead on a
run at its default cadence, and one sharpness measurement on 5,000 samples of 784-300-10, cold and
warm-started. Times are this process's CPU seconds on one thread (time.process_time), which a machine
shared with other jobs disturbs far less than wall-clock time; on a GPU they would mean nothing, so this
is for the CPU. Run: python benchmarks/instruments.py [--quick]. Figures go in docs/performance.md.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace

import torch

from dltui.core.bench import mnist_config, synthetic_data, synthetic_task

PROBES = ("sharpness", "update_ratio", "dead_units", "confusion")


def cpu_seconds(cfg, tensors) -> float:
    """CPU seconds of a whole lab run of `cfg` on the synthetic task (set-up included: it is small)."""
    from dltui.core.engine import Trainer

    data = synthetic_task(tensors, torch.device("cpu"))
    t0 = time.process_time()
    ended = Trainer(cfg, run_id="bench", preset="bench", data_dir=tempfile.gettempdir(), data=data).run()
    spent = time.process_time() - t0
    if ended.status != "finished":
        raise RuntimeError(f"the bench run {ended.status}: {ended.reason}")
    return spent


def overheads(cfg, tensors, repeats: int) -> tuple[float, dict[str, float]]:
    """(seconds of the run without probes, each probe's extra time as a share of it), best of `repeats`."""
    best = {name: float("inf") for name in ("", *PROBES)}
    for _ in range(repeats):
        for name in best:
            best[name] = min(best[name], cpu_seconds(replace(cfg, probes=(name,) if name else ()), tensors))
    return best[""], {name: best[name] / best[""] - 1 for name in PROBES}


def sharpness_cost(tensors, n: int = 5000) -> tuple[float, float, int, int]:
    """(cold seconds, warm seconds, cold products, warm products) of one measurement on `n` samples of a
    784-300-10 sigmoid net; the warm one after a few full-batch steps, as between two measurements."""
    from torch import nn

    from dltui.core.models import MLP
    from dltui.core.sharpness import sharpness

    torch.manual_seed(0)
    model = MLP(784, (300,), 10, "sigmoid")
    x, y = tensors[0][:n], tensors[1][:n]
    loss = nn.CrossEntropyLoss()
    t = time.process_time()
    _, vec, cold_k = sharpness(model, loss, x, y)
    cold = time.process_time() - t
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    for _ in range(4):
        opt.zero_grad()
        loss(model(x), y).backward()
        opt.step()
    t = time.process_time()
    _, _, warm_k = sharpness(model, loss, x, y, vec)
    return cold, time.process_time() - t, cold_k, warm_k


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="6,000 samples instead of 60,000, fewer epochs")
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(1)
    n_train, n_test = (6_000, 1_000) if args.quick else (60_000, 10_000)
    tensors = synthetic_data(n_train, n_test)
    cold, warm, ck, wk = sharpness_cost(tensors)
    print(f"sharpness, 784-300-10 sigmoid on 5,000 samples: cold {cold:.3f} s ({ck} products), warm {warm:.3f} s ({wk} products)")
    # full batch as in mnist-lr-sweep (200 epochs: sharpness every 4); batch 64 as in mnist-stratified
    for batch, epochs, act in (("full", 8 if args.quick else 40, "sigmoid"), (64, 2, "relu")):
        cfg = replace(mnist_config("cpu", batch, epochs), activation=act)
        base, shares = overheads(cfg, tensors, args.repeats)
        print(f"batch {batch}, {epochs} epochs on {n_train:,} ({act}): {base / epochs:.3f} s an epoch; overhead "
              + ", ".join(f"{k} {100 * v:+.1f}%" for k, v in shares.items()), flush=True)


if __name__ == "__main__":
    main()
