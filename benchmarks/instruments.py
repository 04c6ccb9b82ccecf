"""The instruments' overhead alone: `dltui bench`'s instrument rows (core/bench/instruments.py: interleaved
runs with and without each probe on MNIST-shaped data, 784-300-10) without the rest of the bench. Run: python
benchmarks/instruments.py [--quick] [--device cpu] [--rounds N]. Figures go in docs/performance.md.
"""

from __future__ import annotations

import argparse
from dataclasses import replace

from dltui.core.bench import harness
from dltui.core.bench.instruments import CASE_NAMES


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--quick", action="store_true", help="2,000 samples and a few epochs: seconds, no verdict"
    )
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--rounds", type=int, default=None, help="interleaved A/B rounds (default: the bench's)")
    args = ap.parse_args()
    size = harness.sizes(args.quick)
    if args.rounds:
        size = replace(size, instrument_rounds=args.rounds)
    result = harness.run_bench(args.device, args.quick, only=set(CASE_NAMES), size=size)
    for c in result["cases"]:
        print(
            f"{c['title']}: {c['ratio']:.3f}x ({c['goal']}: "
            f"{'-' if c['met'] is None else 'met' if c['met'] else 'NOT met'}); "
            f"{c['reference']:.3f} s -> {c['lab']:.3f} s an epoch; {c['note']}",
            flush=True,
        )


if __name__ == "__main__":
    main()
