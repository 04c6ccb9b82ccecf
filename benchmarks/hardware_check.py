"""The hardware sampler on a real device: one short run on the device asked for, then what its
hardware.jsonl holds (the GPU NVML matched to torch's CUDA device, utilisation, memory, power, temperature,
torch's peak per epoch) and the sampler's cost rows of `dltui bench`. What a GPU check (the `device` tool)
runs: python benchmarks/hardware_check.py --device cuda [--epochs 3]. Figures go in docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from dltui.core.bench import harness
from dltui.core.hardware import view
from dltui.core.hardware.record import read_hardware


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument(
        "--preset", default="mnist-batch", help="a preset whose first variant trains (default mnist-batch)"
    )
    ap.add_argument("--quick", action="store_true", help="the cost rows at --quick sizes")
    args = ap.parse_args()
    from dltui.core.executors.runner import plan, run_one
    from dltui.core.spec import presets
    from dltui.core.store.folder import RunStore

    with tempfile.TemporaryDirectory(prefix="dltui-hw-") as tmp:
        p = plan(presets.load(args.preset), {"epochs": args.epochs, "device": args.device})[0]
        ended = run_one(p, RunStore(Path(tmp)), Path(tmp))
        (folder,) = [f for f in Path(tmp).iterdir() if (f / "hardware.jsonl").exists()]
        hw = read_hardware(folder)
        print(
            f"run {ended.status} on {args.device}: {len(hw.samples)} samples, {len(hw.epochs)} epoch records"
        )
        print("info:", json.dumps(hw.info and {k: getattr(hw.info, k) for k in hw.info.__struct_fields__}))
        print("figures:", json.dumps(view.figures(hw)))
        for line in view.strip(hw, 140, tall=True).lines(True):
            print("strip:", line)
        first = (
            hw.samples[0].t - json.loads((folder / "status.json").read_text())["started"]
            if hw.samples
            else None
        )
        print(f"first sample {first:.2f} s after the run started" if first is not None else "no samples")
    from dltui.core.bench import machine  # noqa: F401 - registers the sampler's rows

    result = harness.run_bench(args.device, args.quick, only={"sampler_cost", "sampler_throughput"})
    for c in result["cases"]:
        print(
            f"{c['title']}: lab {c['lab']}, reference {c['reference']}, ratio {c['ratio']} "
            f"({c['goal']}: {c['met']})"
        )


if __name__ == "__main__":
    main()
