"""`dltui bench`'s sweep rows: a sweep trained as one batched model (core/sweep/) beside today's path, every
variant alone with `--jobs 2`, measured in one run on this machine, with each side's peak memory.

Each side runs in a fresh Python process (`side`), which drives a local Pool of two training processes
(core/executors/localpool.py) with `batched` auto or off, and reports its wall time (the processes' start
included, on both sides), its training processes' CPU time (steadier than the wall time on a busy machine)
and the largest resident set of any of its training processes. The MNIST rows
train on MNIST-shaped random digits written as IDX files into the bench's scratch folder (no download).
"""

from __future__ import annotations

import json
import os
import resource
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from .harness import Case, Context, Row, register, row

JOBS = 2
MNIST = dict(task="mnist", hidden=[300], activation="relu", optimizer="sgd", loss="cross_entropy")
# row -> (base config, the swept values, which Sizes field holds its epochs)
SWEEPS: dict[str, tuple[dict[str, Any], dict[str, list], str]] = {
    "sweep_polynomial": (
        dict(task="polynomial", hidden=[], loss="smooth_l1", batch_size=50, n_samples=200, init="zeros"),
        {"lr": [0.1, 0.01, 0.001], "seed": list(range(10))},
        "sweep_poly_epochs",
    ),
    "sweep_digits": (
        dict(task="digits", hidden=[64], batch_size=64, optimizer="sgd", momentum=0.9),
        {"lr": [0.3, 0.1, 0.03, 0.01, 0.003, 0.001, 0.0003, 0.0001]},
        "sweep_digits_epochs",
    ),
    "sweep_mnist_minibatch": (
        dict(MNIST, batch_size=64),
        {"lr": [1.0, 0.5, 0.3, 0.1, 0.05, 0.03, 0.01, 0.005, 0.003, 0.001]},
        "sweep_mnist_epochs",
    ),
    "sweep_mnist_full": (
        dict(MNIST, activation="sigmoid", batch_size="full"),
        {"lr": [0.001, 0.1, 0.3, 0.5, 0.7, 0.9, 1.2, 2.0, 5.0, 8.0]},
        "sweep_full_epochs",
    ),
}


def plans(name: str, epochs: int, device: str) -> list:
    """The row's sweep as run plans: every combination of its swept values."""
    import itertools

    from ..executors.runner import RunPlan
    from ..spec.config import build_config

    base, swept, _ = SWEEPS[name]
    keys = list(swept)
    out = []
    for values in itertools.product(*(swept[k] for k in keys)):
        v = dict(zip(keys, values))
        cfg = build_config([("base", {**base, "epochs": epochs, "device": device}), ("variant", v)])
        out.append(RunPlan(name, ",".join(f"{k}={x}" for k, x in v.items()), cfg))
    return out


def side(args: str) -> None:
    """In a fresh process: one side of a row (`mode` auto: batched; off: alone), printed as JSON."""
    from ..executors.drive import Drive
    from ..executors.localpool import Pool

    a = json.loads(args)
    ps = plans(a["name"], a["epochs"], a["device"])
    t = time.perf_counter()
    pool = Pool(ps, Path(a["work"]) / f"{a['name']}-{a['mode']}", a["data"], JOBS, batched=a["mode"])
    ended = Drive(pool).run(5.0).ended
    s = time.perf_counter() - t
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak_mb = children.ru_maxrss / 1024  # KiB on Linux
    cpu = children.ru_utime + children.ru_stime  # the training processes' CPU seconds: steadier under load
    bad = [e.status for e in ended if e.status != "finished"]
    out = {"s": s, "cpu_s": cpu, "peak_mb": peak_mb, "runs": len(ended), "errors": pool.errors + bad}
    print(json.dumps(out))


def _measure(ctx: Context, name: str, mode: str, epochs: int) -> dict[str, Any]:
    a = dict(
        name=name, mode=mode, epochs=epochs, device=ctx.device.type, work=str(ctx.work), data=str(ctx.work)
    )
    code = f"from dltui.core.bench.sweeps import side; side({json.dumps(json.dumps(a))})"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode != 0 or not lines:
        raise RuntimeError(f"{name} ({mode}): {out.stderr.strip().splitlines()[-1:] or out.returncode}")
    return json.loads(lines[-1])


def write_mnist(data_dir: Path, n_train: int, n_test: int) -> None:
    """MNIST-shaped random digits as the four IDX files, where core/data/mnist.py looks: plain, not .gz,
    so that the pool's processes do not both decompress them at once."""
    import numpy as np

    raw = data_dir / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(
            struct.pack(">iiii", 2051, n, 28, 28) + images.tobytes()
        )
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(struct.pack(">ii", 2049, n) + labels.tobytes())


def case_sweeps(ctx: Context) -> list[Row]:
    """Each sweep batched, then alone with --jobs 2, in turns; the speed-up and both peaks."""
    write_mnist(ctx.work, ctx.sizes.n_train, ctx.sizes.n_test)
    rows = []
    load = os.getloadavg()[0]
    for name, (_, swept, field) in SWEEPS.items():
        epochs = getattr(ctx.sizes, field)
        together = _measure(ctx, name, "auto", epochs)
        alone = _measure(ctx, name, "off", epochs)
        for r in (together, alone):
            if r["errors"]:
                raise RuntimeError(f"{name}: {r['errors']}")
        n, grid = together["runs"], " x ".join(f"{len(v)} {k}" for k, v in swept.items())
        rows.append(
            row(
                name,
                detail=f"{n} runs of {epochs} epochs ({grid}): "
                f"batched (lab) vs each alone with --jobs {JOBS} (reference), wall time",
                lab=together["s"],
                reference=alone["s"],
                ratio=alone["s"] / together["s"],
                note=f"ratio = speed-up; peak memory of a training process: batched "
                f"{together['peak_mb']:.0f} MB, alone {alone['peak_mb']:.0f} MB; CPU time of the training "
                f"processes: batched {together['cpu_s']:.1f} s, alone {alone['cpu_s']:.1f} s; "
                f"load {load:.1f} on {os.cpu_count()} cores",
            )
        )
    return rows


register(Case(tuple(SWEEPS), "sweeps batched vs alone", case_sweeps))
