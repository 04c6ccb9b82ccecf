"""Reference loops: plain PyTorch written the way the course wrote it, the yardstick for the lab.

One set, shared by `dltui bench` (core/bench/cases.py), benchmarks/mnist_epoch.py and the tests that check the
lab's fast path gives the plain loop's numbers (tests/test_bench_engine.py). A loop takes its batches as
any iterable of (x, y): the course's `DataLoader(shuffle=True)`, the lab's own order (`ordered_batches`),
or contiguous slices (`sliced_batches`, the arithmetic with no shuffling).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from ..spec.device import timed
from .harness import best_of

MNIST_MLP = (784, 300, 10)


def course_mlp(sizes: tuple[int, ...], device) -> nn.Module:
    """Flatten, then Linear and ReLU layers (no ReLU after the last), as the course built their MLPs."""
    layers: list[nn.Module] = [nn.Flatten()]
    for a, b in zip(sizes, sizes[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers[:-1]).to(device)


def shuffled_batches(x, y, batch_size: int) -> DataLoader:
    """The seeds' batches: DataLoader(TensorDataset(x, y), shuffle=True)."""
    return DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=True)


def ordered_batches(x, y, batch_size: int, order=None) -> Iterable[tuple[Any, Any]]:
    """Batches in a given sample order (all of the data at once when batch_size covers it)."""
    n = len(y)
    if batch_size >= n:
        return [(x, y)]
    return ((x[idx], y[idx]) for idx in (order[s : s + batch_size] for s in range(0, n, batch_size)))


def sliced_batches(x, y, batch_size: int) -> Iterable[tuple[Any, Any]]:
    """Contiguous slices, no shuffling: the steps' arithmetic with nothing around it."""
    return ((x[s : s + batch_size], y[s : s + batch_size]) for s in range(0, len(y), batch_size))


def train_epoch(
    model, optimizer, criterion, batches, device, count_correct: bool = False
) -> tuple[float, int]:
    """One training epoch the course's way: each batch moved to the device, forward, loss, zero_grad,
    backward, step, and loss.item() every step. Returns (summed per-sample loss, correct predictions, 0 unless
    counted)."""
    model.train()
    loss_sum, correct = 0.0, torch.zeros((), dtype=torch.long, device=device)
    for xb, yb in batches:
        xb, yb = xb.to(device), yb.to(device)
        out = model(xb)
        loss = criterion(out, yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        loss_sum += loss.item() * len(yb)
        if count_correct:
            correct += (out.detach().argmax(1) == yb).sum()
    return loss_sum, int(correct)


def eval_pass(model, criterion, batches, device, classify: bool = True) -> tuple[float, int]:
    """(summed per-sample loss, correct predictions) over a set, without gradients."""
    model.eval()
    loss_sum, correct = 0.0, 0
    with torch.no_grad():
        for xb, yb in batches:
            xb, yb = xb.to(device), yb.to(device)
            out = model(xb)
            loss_sum += criterion(out, yb).item() * len(yb)
            if classify:
                correct += (out.argmax(1) == yb).sum().item()
    return loss_sum, correct


def mnist_epoch_s(tensors, device, batch_size: int, lr: float = 0.01) -> float:
    """Seconds of one epoch of the course's MNIST loop (shuffled DataLoader, loss.item() every step), then a
    test pass in batches of 1000; set-up excluded."""
    x, y, tx, ty = tensors
    model, criterion = course_mlp(MNIST_MLP, device), nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)

    def epoch() -> None:
        train_epoch(model, optimizer, criterion, shuffled_batches(x, y, batch_size), device)
        eval_pass(model, criterion, DataLoader(TensorDataset(tx, ty), batch_size=1000), device)

    return timed(epoch, device)


def full_batch_step_s(tensors, device, steps: int, lr: float = 0.5) -> float:
    """Seconds per step of the course's full-batch loop (all of the data in one forward), with its test pass
    (a DataLoader of one batch, as they wrote it): the best of `steps` steps."""
    x, y, tx, ty = (t.to(device) for t in tensors)
    model, criterion = course_mlp(MNIST_MLP, device), nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    test_loader = DataLoader(TensorDataset(tx, ty), batch_size=len(ty))

    def step() -> None:
        train_epoch(model, optimizer, criterion, [(x, y)], device)
        eval_pass(model, criterion, test_loader, device)

    return best_of(lambda: timed(step, device), steps)


def polynomial_steps_per_s(data, device, batch_size: int, lr: float, epochs: int) -> float:
    """Optimizer steps per second of seed 003's `fit` loop (a linear model, SmoothL1, shuffled DataLoader)."""
    model = nn.Sequential(nn.Linear(data.train_x.shape[1], 1)).to(device)
    criterion, optimizer = nn.SmoothL1Loss(), torch.optim.SGD(model.parameters(), lr=lr)
    loader = shuffled_batches(data.train_x, data.train_y, batch_size)
    t = time.perf_counter()
    for _ in range(epochs):
        train_epoch(model, optimizer, criterion, loader, device)
    return epochs * len(loader) / (time.perf_counter() - t)


def products_floor_s(device, sizes: tuple[int, ...], batch: int, n_train: int, n_test: int) -> float:
    """Seconds of an epoch's matrix products alone, at the shapes an MLP step has (forward, weight and input
    gradients of each layer, then the test forward), back to back with no other work: how fast this device
    multiplies matrices of these shapes, which for small batches is well below the large product's rate."""
    g = torch.Generator(device=device.type if device.type == "cuda" else "cpu").manual_seed(0)
    ws = [torch.randn(b, a, device=device, generator=g) for a, b in zip(sizes, sizes[1:])]
    acts = [torch.randn(batch, a, device=device, generator=g) for a in sizes]  # each layer's input
    grads = [
        torch.randn(b, batch, device=device, generator=g) for b in sizes[1:]
    ]  # each output's gradient, transposed
    steps, test_chunks = math.ceil(n_train / batch), math.ceil(n_test / batch)

    def epoch() -> None:
        for _ in range(steps):
            for i, w in enumerate(ws):  # in the layouts of the lab's CPU step (core/train/mlpstep.py)
                torch.mm(w, acts[i].t())  # forward
                torch.mm(grads[i], acts[i])  # weight gradient
                if i > 0:
                    torch.mm(w.t(), grads[i])  # input gradient
        for _ in range(test_chunks):
            for i, w in enumerate(ws):
                torch.mm(w, acts[i].t())

    epoch()  # warm-up: first calls, caches
    return timed(epoch, device)
