"""`dltui bench`: the lab's speed beside plain PyTorch loops written as the seeds wrote them, and beside
the arithmetic bound (FLOPs at this device's measured matmul rate). Every figure is measured in this
process (or in subprocesses for start-up times), best of a few repeats, so the ratios compare like
with like on whatever machine runs it.

The MNIST-shaped cases train on random tensors of MNIST's shapes (no download), handed to the lab's
Trainer as its data, under a validated config. The reference loops are core/bench/reference.py's (benchmarks/
and the tests use the same). Each case registers with core/bench/harness.py, whose table holds its goal.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from ..rules.status import RunStatus
from .harness import Case, Context, Row, in_turns, python_s, register, row


def mlp_flops(sizes: tuple[int, ...], n_train: int, n_test: int) -> tuple[float, float]:
    """(training, test) FLOPs of one epoch of an MLP: forward 2·W, weight gradients 2·W, input
    gradients 2·W for every layer but the first, per training sample; forward 2·W per test sample."""
    weights = [a * b for a, b in zip(sizes, sizes[1:])]
    per_train = 4 * sum(weights) + 2 * sum(weights[1:])
    return float(per_train * n_train), float(2 * sum(weights) * n_test)


# -- the synthetic task ------------------------------------------------------------------------
def synthetic_data(n_train: int, n_test: int, seed: int = 0):
    """MNIST-shaped random tensors on the CPU: (train_x, train_y, test_x, test_y)."""
    import torch

    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n_train + n_test, 1, 28, 28, generator=g)
    y = torch.randint(0, 10, (n_train + n_test,), generator=g)
    return x[:n_train], y[:n_train], x[n_train:], y[n_train:]


def synthetic_task(tensors, device):
    """The tensors as the Trainer's data, on `device`."""
    from ..data import TaskData

    x, y, tx, ty = tensors
    return TaskData(
        name="synthetic MNIST",
        kind="classification",
        train_x=x.to(device),
        train_y=y.to(device),
        test_x=tx.to(device),
        test_y=ty.to(device),
        n_classes=10,
        input_shape=(1, 28, 28),
    )


def mnist_config(device_name: str, batch_size, epochs: int):
    """The MNIST MLP's config, validated like any run's (the data itself is handed to the Trainer)."""
    from ..spec.config import build_config
    from .reference import MNIST_MLP

    return build_config(
        [
            (
                "dltui bench",
                {
                    "task": "mnist",
                    "hidden": list(MNIST_MLP[1:-1]),
                    "batch_size": batch_size,
                    "epochs": epochs,
                    "lr": 0.01,
                    "device": device_name,
                    "checkpoint": False,
                },
            )
        ]
    )


# -- the lab -----------------------------------------------------------------------------------
def lab_epoch_times(cfg, tensors) -> list[float]:
    """Seconds of each epoch of the lab's Trainer (training, test evaluation, probes), set-up excluded."""
    from ..spec.device import resolve_device
    from ..train.events import EpochEnded, RunStarted
    from ..train.trainer import Trainer

    marks: list[float] = []

    def listen(ev) -> None:
        if isinstance(ev, RunStarted) or (isinstance(ev, EpochEnded) and ev.record.get("epoch") == 0):
            marks[:] = [time.perf_counter()]  # epochs are timed from the end of set-up: epoch 0, at init
        elif isinstance(ev, EpochEnded):
            marks.append(time.perf_counter())

    data = synthetic_task(tensors, resolve_device(cfg.device))
    ended = Trainer(cfg, run_id="bench", preset="bench", listeners=[listen], data=data).run()
    if ended.status != RunStatus.FINISHED:
        raise RuntimeError(f"the bench run {ended.status}: {ended.reason}")
    return [b - a for a, b in zip(marks, marks[1:])]


# -- the cases ---------------------------------------------------------------------------------
def _subset(tensors, n: int):
    return tuple(t[:n] for t in tensors)


def case_mnist_epoch(ctx: Context) -> list[Row]:
    """MLP 784-300-10, batch 64, one epoch: the lab vs the seeds' DataLoader loop vs the FLOP bound."""
    from .reference import MNIST_MLP, mnist_epoch_s, products_floor_s

    device, size = ctx.device, ctx.sizes
    tensors = synthetic_data(size.n_train, size.n_test)
    cfg = mnist_config(device.type, 64, epochs=1)
    lab_epoch_times(cfg, _subset(tensors, 640))  # warm-up: first calls, caches
    mnist_epoch_s(_subset(tensors, 640), device, 64)
    labs, refs, rates, floors = in_turns(
        lambda: lab_epoch_times(cfg, tensors)[0],
        lambda: mnist_epoch_s(tensors, device, 64),
        ctx.rate,
        lambda: products_floor_s(device, MNIST_MLP, 64, size.n_train, size.n_test),
        repeats=size.repeats,
    )
    lab, ref, floor = min(labs), min(refs), min(floors)
    train_f, test_f = mlp_flops(MNIST_MLP, size.n_train, size.n_test)
    bound = (train_f + test_f) / max(rates)
    note = (
        f"{train_f / 1e9:.1f} GFLOP train + {test_f / 1e9:.1f} test at {max(rates) / 1e9:.0f} GFLOP/s; "
        f"the epoch's products alone at batch 64's shapes take {floor:.3f} s "
        f"({floor / bound:.2f}x the bound, "
        f"{(train_f + test_f) / floor / 1e9:.0f} GFLOP/s), the lab {lab / floor:.2f}x that"
    )
    detail = (
        f"784-300-10, batch 64, one epoch on {size.n_train:,} samples + "
        f"{size.n_test:,} test; loop: DataLoader(TensorDataset, shuffle=True)"
    )
    return [
        row(
            "mnist_mlp_epoch",
            detail=detail,
            lab=lab,
            reference=ref,
            bound=bound,
            ratio=lab / ref,
            bound_ratio=lab / bound,
            note=note,
            floor=floor,
        )
    ]


def case_full_batch(ctx: Context) -> list[Row]:
    """One full-batch gradient step on all the training data (with the epoch's test pass) vs the bound."""
    from .reference import MNIST_MLP, full_batch_step_s

    device, size = ctx.device, ctx.sizes
    tensors = synthetic_data(size.n_train, size.n_test)
    cfg = mnist_config(device.type, "full", epochs=size.full_batch_epochs)
    labs, refs, rates = in_turns(
        lambda: min(lab_epoch_times(cfg, tensors)[1:]),  # the first epoch pays for first calls
        lambda: full_batch_step_s(tensors, device, size.full_batch_epochs - 1),
        ctx.rate,
        repeats=size.repeats,
    )
    lab, ref = min(labs), min(refs)
    train_f, test_f = mlp_flops(MNIST_MLP, size.n_train, size.n_test)
    bound = (train_f + test_f) / max(rates)
    detail = (
        f"784-300-10 on {size.n_train:,} x 784 at once, with the epoch's "
        "test pass; loop: the seeds' net(inputs) on all the data"
    )
    return [
        row(
            "full_batch_step",
            detail=detail,
            lab=lab,
            reference=ref,
            bound=bound,
            ratio=lab / ref,
            bound_ratio=lab / bound,
            note=f"{(train_f + test_f) / 1e9:.1f} GFLOP per step",
        )
    ]


def polynomial_config(device_name: str, epochs: int):
    from ..spec import presets

    cfg = dict(presets.load("polynomial").configs({}))["lr=0.1"]
    return cfg.with_overrides({"epochs": epochs, "device": device_name}, "dltui bench")


def reference_polynomial(cfg, device, epochs: int) -> float:
    """Optimizer steps per second of seed 003's `fit` loop on the preset's data."""
    import torch

    from ..data.polynomial import build
    from .reference import polynomial_steps_per_s

    return polynomial_steps_per_s(
        build(cfg, torch.device("cpu"), None), device, cfg.batch_size, cfg.lr, epochs
    )


def lab_steps_per_s(cfg, runs_dir: Path) -> float:
    """Optimizer steps per second of one real run (run store, metrics, checkpoints), set-up excluded."""
    from ..executors.runner import RunPlan, run_one
    from ..store.folder import RunStore
    from ..train.events import RunEnded, RunStarted

    marks: dict[str, float] = {}

    def listen(ev) -> None:
        if isinstance(ev, (RunStarted, RunEnded)):
            marks[type(ev).__name__] = time.perf_counter()

    ended = run_one(RunPlan("bench", "polynomial", cfg), RunStore(runs_dir), runs_dir, [listen])
    return ended.summary["steps"] / (marks["RunEnded"] - marks["RunStarted"])


def case_polynomial(ctx: Context) -> list[Row]:
    """The polynomial preset (overhead-bound): optimizer steps per second, lab vs seed 003's loop."""
    device, epochs, work = ctx.device, ctx.sizes.poly_epochs, ctx.work
    cfg = polynomial_config(device.type, epochs)
    lab_steps_per_s(polynomial_config(device.type, 5), work)  # warm-up
    reference_polynomial(cfg, device, 5)
    labs, refs = in_turns(
        lambda: lab_steps_per_s(cfg, work),
        lambda: reference_polynomial(cfg, device, epochs),
        repeats=ctx.sizes.repeats,
    )
    lab, ref = max(labs), max(refs)
    return [
        row(
            "polynomial_steps",
            detail=f"preset polynomial, lr=0.1, {epochs} epochs of 4 steps; "
            "loop: seed 003's fit() with a DataLoader",
            lab=lab,
            reference=ref,
            ratio=lab / ref,
            note="lab: a real run (run store, metrics.jsonl, checkpoints); ratio = lab / loop speed",
        )
    ]


def case_help(ctx: Context) -> list[Row]:
    """`dltui --help` (never imports torch) vs `python -c "import torch"`."""
    lab = python_s(["-m", "dltui", "--help"], ctx.sizes.startup_repeats)
    ref = python_s(["-c", "import torch"], ctx.sizes.startup_repeats)
    detail = 'wall time of `dltui --help` vs `python -c "import torch"` (reference)'
    return [row("help_startup", detail=detail, lab=lab, reference=ref, ratio=lab / ref)]


JOBS_JOIN_S = 5.0  # how long its processes get to exit at the end


def case_jobs(ctx: Context) -> list[Row]:
    """The polynomial preset's three runs: `--jobs N` (N spawned processes) vs `--jobs 1` (one by one,
    here)."""
    from ..executors.drive import Drive
    from ..executors.localpool import Pool
    from ..executors.runner import plan, run_one
    from ..spec import presets
    from ..store.folder import RunStore

    work, epochs = ctx.work, ctx.sizes.jobs_epochs
    plans = plan(presets.load("polynomial"), {"epochs": epochs, "device": ctx.device.type})
    jobs = max(2, min(len(plans), os.cpu_count() or 1))
    t = time.perf_counter()
    for p in plans:
        run_one(p, RunStore(work / "jobs1"), work)
    one = time.perf_counter() - t
    t = time.perf_counter()
    pool = Pool(plans, work / f"jobs{jobs}", work, jobs)
    Drive(pool).run(JOBS_JOIN_S)
    if pool.errors:
        raise RuntimeError("; ".join(pool.errors))
    many = time.perf_counter() - t
    return [
        row(
            "jobs_speedup",
            title=f"--jobs {jobs} vs --jobs 1",
            detail=f"preset polynomial, {len(plans)} runs of {epochs} "
            "epochs, wall time; reference: one by one in this process",
            lab=many,
            reference=one,
            ratio=many / one,
            note=f"wall time; --jobs {jobs} includes starting {jobs} processes (each imports torch); "
            f"{os.cpu_count()} CPU cores",
        )
    ]


register(Case(("mnist_mlp_epoch",), "MNIST MLP epoch", case_mnist_epoch))
register(Case(("full_batch_step",), "full-batch step", case_full_batch))
register(Case(("polynomial_steps",), "polynomial steps/s", case_polynomial))
register(Case(("help_startup",), "dltui --help start-up", case_help))
register(Case(("jobs_speedup",), "--jobs speed-up", case_jobs))

from . import sweeps  # noqa: E402, F401 - its rows register with the harness too
