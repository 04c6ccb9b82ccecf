"""`dltui bench`'s instrument rows: each probe's overhead at its default cadence on the MNIST presets' net
(784-300-10, MNIST-shaped random data), against issue 20's goal of 5% of the run.

Interleaved A/B: a round runs the lab without the probe and with it (and the other probes of the same
setting), back to back, the order reversed every other round, so that a change in the machine's speed
hits both sides; the figure is the median of the rounds' ratios, and the note gives their spread. On the
CPU a run's time is this process's CPU seconds on one thread (time.process_time), which other jobs on a
shared machine disturb far less than wall-clock time; elsewhere it is wall-clock time (a GPU's work is not
CPU time).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, replace
from typing import Any

from ..rules.status import RunStatus
from .cases import mnist_config, synthetic_data, synthetic_task
from .harness import Case, Context, Row, register, row


@dataclass(frozen=True)
class Setting:
    """Where a probe is on by default: the MNIST presets' batch size and activation for it."""

    batch_size: Any
    activation: str
    presets: str


FULL_BATCH = Setting("full", "sigmoid", "mnist-lr-sweep, mnist-architectures, mnist-batch's full batch")
MINIBATCH = Setting(64, "relu", "mnist-zero-init, mnist-stratified")
PROBES = {"sharpness": FULL_BATCH, "update_ratio": MINIBATCH, "dead_units": MINIBATCH, "confusion": MINIBATCH}
CASE_NAMES = tuple(f"{p}_overhead" for p in PROBES)


def run_seconds(cfg, tensors, device) -> tuple[float, Any]:
    """(seconds of one whole lab run of `cfg` on the synthetic task, set-up included, the Trainer after
    it)."""
    from ..train.trainer import Trainer

    data = synthetic_task(tensors, device)
    clock = time.process_time if device.type == "cpu" else time.perf_counter
    t = clock()
    trainer = Trainer(cfg, run_id="bench", preset="bench", data=data)
    ended = trainer.run()
    spent = clock() - t
    if ended.status != RunStatus.FINISHED:
        raise RuntimeError(f"the bench run {ended.status}: {ended.reason}")
    return spent, trainer


def interleaved(
    cfg, probes: tuple[str, ...], tensors, device, rounds: int
) -> tuple[dict[str, list[tuple[float, float]]], dict[str, Any]]:
    """(for each probe, its rounds' (seconds without any probe, seconds with it); its last run's Trainer):
    the runs of a round back to back, in reversed order every other round."""
    pairs: dict[str, list[tuple[float, float]]] = {p: [] for p in probes}
    trainers: dict[str, Any] = {}
    for r in range(max(1, rounds)):
        times = {}
        for name in ("", *probes)[:: -1 if r % 2 else 1]:
            times[name], trainers[name] = run_seconds(
                replace(cfg, probes=(name,) if name else ()), tensors, device
            )
        for p in probes:
            pairs[p].append((times[""], times[p]))
    return pairs, trainers


def probe_case(
    name: str, setting: Setting, pairs: list[tuple[float, float]], epochs: int, n_train: int, extra: str = ""
) -> Row:
    """The table's row for one probe, from its rounds."""
    shares = sorted(b / a - 1 for a, b in pairs)
    ratio = 1 + statistics.median(shares)
    base = statistics.median(a for a, _ in pairs) / epochs
    batch = "full batch" if setting.batch_size == "full" else f"batch {setting.batch_size}"
    spread = f"{100 * shares[0]:+.1f}% .. {100 * shares[-1]:+.1f}%"
    return row(
        f"{name}_overhead",
        detail=f'the lab with probes = ["{name}"] vs without, 784-300-10 '
        f"{setting.activation}, {batch}, {epochs} epochs on {n_train:,} (as in {setting.presets}); "
        "one thread on the CPU",
        lab=base * ratio,
        reference=base,
        ratio=ratio,
        note=f"seconds an epoch (without it: the rounds' median; with it: that "
        f"times the ratio); ratio: median of {len(pairs)} interleaved A/B rounds ({spread}){extra}",
    )


def sharpness_account(trainer) -> str:
    """What the sharpness probe says it spent, from a run's trainer."""
    probe = next(p for p in trainer.probes if type(p).__name__ == "Sharpness")
    measured = sum(r.get("sharpness") is not None for r in trainer.history)
    spent, total = probe.spent_s, trainer.clock.elapsed()
    return f"; its own account: {measured} measurements, {spent:.2f} s of {total:.1f} s"


def measurement_cost(tensors, device, n: int = 5000) -> str:
    """One sharpness measurement on `n` samples of a 784-300-10 sigmoid net: from a random vector, and
    warm-started after a few full-batch steps, as between two measurements (issue 20 asks for this figure)."""
    import torch
    from torch import nn

    from ..probes.sharpness import sharpness
    from ..spec.device import timed
    from ..train.models import MLP

    torch.manual_seed(0)
    model = MLP(784, (300,), 10, "sigmoid").to(device)
    x, y = tensors[0][:n].to(device), tensors[1][:n].to(device)
    loss = nn.CrossEntropyLoss()
    found: list[Any] = []
    cold = timed(lambda: found.extend(sharpness(model, loss, x, y)), device)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    for _ in range(4):
        opt.zero_grad()
        loss(model(x), y).backward()
        opt.step()
    warm = timed(lambda: found.extend(sharpness(model, loss, x, y, found[1])), device)
    return (
        f"; one measurement on {len(x):,} samples: {cold:.2f} s from a random vector ({found[2]} products), "
        f"{warm:.2f} s warm-started ({found[5]} products)"
    )


def instrument_cases(ctx: Context) -> list[Row]:
    """The instrument rows: each probe's run against the same run without it, on the MNIST presets' net.
    On one CPU thread: with two, a thread that waits for the other spins, and on a machine shared with
    other jobs that waiting swamped the CPU seconds (10x their quiet figure, at random)."""
    import torch

    threads = torch.get_num_threads()
    if ctx.device.type == "cpu":
        torch.set_num_threads(1)
    try:
        return _instrument_cases(ctx.device, ctx.sizes)
    finally:
        torch.set_num_threads(threads)


def _instrument_cases(device, scale) -> list[Row]:
    tensors = synthetic_data(scale.n_train, scale.n_test)
    cases = []
    for setting, epochs in ((FULL_BATCH, scale.sharpness_epochs), (MINIBATCH, scale.instrument_epochs)):
        probes = tuple(p for p, s in PROBES.items() if s == setting)
        cfg = replace(mnist_config(device.type, setting.batch_size, epochs), activation=setting.activation)
        run_seconds(replace(cfg, epochs=1, probes=probes), tensors, device)  # warm-up: first calls, caches
        pairs, trainers = interleaved(cfg, probes, tensors, device, scale.instrument_rounds)
        for p in probes:
            extra = (
                sharpness_account(trainers[p]) + measurement_cost(tensors, device) if p == "sharpness" else ""
            )
            cases.append(probe_case(p, setting, pairs[p], epochs, scale.n_train, extra))
    return cases


register(
    Case(
        CASE_NAMES,
        "the instruments' overhead (interleaved runs with and without each probe)",
        instrument_cases,
    )
)
