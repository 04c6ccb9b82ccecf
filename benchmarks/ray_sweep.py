"""A 40-variant polynomial sweep on one machine: the local process pool vs Ray, and what Ray's transport
costs.

Both run the same 40 plans (the polynomial preset, 40 learning rates, EPOCHS epochs each, on the CPU)
with as many at once as the machine has cores: `Pool(jobs=cores)` and a local Ray with `num_cpus=cores`,
one CPU per run. Each writes its runs dir the way `dltui run` does; the figures are wall-clock seconds
from start to the last run ended. Then Ray's overheads on their own: starting Ray, dispatching a task
(a no-op task's round trip, one at a time and 40 at once), and an event's round trip (a streaming task
that yields a batch the size of an epoch's events, read by the driver as the pool reads them).

    python benchmarks/ray_sweep.py [--epochs 20] [--variants 40] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import tempfile
import time
from pathlib import Path

POLY = """
name = "ray-sweep"
[base]
task = "polynomial"
hidden = []
loss = "smooth_l1"
optimizer = "sgd"
batch_size = 50
n_samples = 200
epochs = {epochs}
seed = 2020
device = "cpu"
[sweep]
lr = [{lrs}]
"""


def plans(root: Path, epochs: int, variants: int) -> list:
    from dltui.core.executors.runner import plan
    from dltui.core.spec import presets

    path = root / "ray-sweep.toml"
    path.write_text(
        POLY.format(epochs=epochs, lrs=", ".join(f"{0.001 * (i + 1):.3f}" for i in range(variants)))
    )
    return plan(presets.load(str(path)), {})


def run_to_end(executor) -> tuple[float, list]:
    """Seconds from start to the executor's ExecutorDone; the runs' statuses."""
    from dltui.core.executors.drive import Drive

    t0, drive = time.perf_counter(), Drive(executor)
    executor.start()
    while not drive.done:
        drive.turn(0.05)
    seconds = time.perf_counter() - t0
    executor.join(5)
    return seconds, [e.status for e in drive.outcome.ended]


def noop():
    return 0


def stream(n: int, size: int):
    batch = [
        [
            "epoch",
            {"run_id": "r", "variant": "v", "record": {"epoch": i, "train_loss": 0.5, "test_loss": 0.5}},
        ]
        for i in range(size)
    ]
    for _ in range(n):
        yield batch


def ray_overheads(ray, variants: int) -> dict[str, float]:
    """Task dispatch (one at a time; `variants` at once) and an event batch's round trip, in milliseconds."""
    task = ray.remote(noop)
    ray.get(task.remote())  # a worker up and warm
    one = []
    for _ in range(20):
        t = time.perf_counter()
        ray.get(task.remote())
        one.append(time.perf_counter() - t)
    t = time.perf_counter()
    ray.get([task.remote() for _ in range(variants)])
    many = time.perf_counter() - t
    gen_task, n = ray.remote(stream), 200
    gen = gen_task.options(num_returns="streaming").remote(n, 2)
    t = time.perf_counter()
    for ref in gen:
        ray.get(ref)
    events = time.perf_counter() - t
    return {
        "dispatch_one_ms": 1000 * statistics.median(one),
        "dispatch_each_of_many_ms": 1000 * many / variants,
        "event_batch_round_trip_ms": 1000 * events / n,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--variants", type=int, default=40)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    import ray

    from dltui.core.executors.localpool import Pool
    from dltui.core.executors.raypool import RayPool, Resources
    from dltui.core.executors.raysession import RaySession

    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        sweep = plans(root, args.epochs, args.variants)
        local_s, local = run_to_end(Pool(sweep, root / "local", root, jobs=cores))
        t = time.perf_counter()
        ray.init(num_cpus=cores, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
        session = RaySession(None)
        start_s = time.perf_counter() - t
        ray_s, remote = run_to_end(RayPool(sweep, root / "ray", root, session, Resources(cpus_per_run=1)))
        over = ray_overheads(ray, args.variants)
        ray.shutdown()
    out = {
        "variants": args.variants,
        "epochs": args.epochs,
        "cores": cores,
        "local_pool_s": local_s,
        "ray_s": ray_s,
        "ray_start_s": start_s,
        "ray_extra_per_variant_ms": 1000 * (ray_s - local_s) / args.variants,
        **over,
        "statuses_local": sorted(set(local)),
        "statuses_ray": sorted(set(remote)),
    }
    for key, value in out.items():
        print(f"{key:28} {value:.3f}" if isinstance(value, float) else f"{key:28} {value}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
