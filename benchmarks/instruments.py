"""The instruments' cost on MNIST-shaped data (random tensors, no download): each probe's overhead on an
epoch at its default cadence, and one sharpness measurement on 5,000 samples of 784-300-10, cold and
warm-started. Run: python benchmarks/instruments.py [--quick] [--device cpu|cuda]. Figures go in
docs/performance.md; they are machine-dependent, so nothing here asserts a time.
"""
from __future__ import annotations

import argparse
import time
from dataclasses import replace

import torch

from dltui.core.bench import lab_epoch_times, synthetic_config, synthetic_data

PROBES = ("sharpness", "update_ratio", "dead_units", "confusion")


def run_time(cfg, tensors, probes: tuple[str, ...]) -> tuple[float, list[float]]:
    """(total seconds of the epochs after the first, those epoch times) with `probes` on."""
    times = lab_epoch_times(replace(cfg, probes=probes), tensors)
    return sum(times[1:]), times


def overheads(cfg, tensors, repeats: int) -> dict[str, float]:
    """Each probe's extra time as a share of the run without it, best of `repeats` in turns."""
    best = {name: float("inf") for name in ("", *PROBES)}
    for _ in range(repeats):
        for name in best:
            best[name] = min(best[name], run_time(cfg, tensors, (name,) if name else ())[0])
    return {name: best[name] / best[""] - 1 for name in PROBES}


def sharpness_cost(tensors, device, n: int = 5000) -> tuple[float, float, int, int]:
    """(cold seconds, warm seconds, cold products, warm products) of one measurement on `n` samples of a
    784-300-10 sigmoid net after a few full-batch steps (so the warm start is from an older vector)."""
    from torch import nn

    from dltui.core.models import MLP
    from dltui.core.sharpness import sharpness

    torch.manual_seed(0)
    model = MLP(784, (300,), 10, "sigmoid").to(device)
    x, y = tensors[0][:n].to(device), tensors[1][:n].to(device)
    loss = nn.CrossEntropyLoss()
    t = time.perf_counter()
    _, vec, cold_k = sharpness(model, loss, x, y)
    cold = time.perf_counter() - t
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    for _ in range(4):  # the model moves on, as between two measurements
        opt.zero_grad()
        loss(model(x), y).backward()
        opt.step()
    t = time.perf_counter()
    _, _, warm_k = sharpness(model, loss, x, y, vec)
    return cold, time.perf_counter() - t, cold_k, warm_k


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="6,000 samples instead of 60,000")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    n_train, n_test = (6_000, 1_000) if args.quick else (60_000, 10_000)
    tensors = synthetic_data(n_train, n_test)
    device = torch.device(args.device)
    cold, warm, ck, wk = sharpness_cost(tensors, device)
    print(f"sharpness, 784-300-10 on 5,000 samples, {args.device}: cold {cold:.3f} s ({ck} products), "
          f"warm {warm:.3f} s ({wk} products)")
    for batch, epochs in (("full", 20), (64, 3)):
        cfg = synthetic_config(args.device, batch, epochs)
        cfg = replace(cfg, activation="sigmoid") if batch == "full" else cfg
        base, _ = run_time(cfg, tensors, ())
        shares = overheads(cfg, tensors, args.repeats)
        print(f"batch {batch}, {epochs} epochs on {n_train:,}: epoch {base / (epochs - 1):.3f} s; overhead "
              + ", ".join(f"{k} {100 * v:+.1f}%" for k, v in shares.items()))


if __name__ == "__main__":
    main()
