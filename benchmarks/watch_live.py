"""Watching 40 live runs that another process writes: the lab's CPU share and its longest UI stall.

The case alone, out of `dltui bench --scale` (tui/bench/watch.py holds it; its docstring says how it
measures). Run: python benchmarks/watch_live.py [--runs 40] [--rate 20] [--seconds 10] [--rounds 3]
"""

from __future__ import annotations

import argparse

from dltui.tui.bench.watch import WatchScale, measure_watch, watch_rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("--rate", type=float, default=20.0, help="epochs a second written to each run")
    ap.add_argument(
        "--seconds", type=float, default=10.0, help="how long each case's CPU and its stalls are measured"
    )
    ap.add_argument(
        "--rounds", type=int, default=1, help="the cases in turns this many times: the spread is the noise"
    )
    args = ap.parse_args()
    result = measure_watch(scale=WatchScale(args.runs, args.rate, args.seconds, args.rounds))
    for case, figure, goal, met in watch_rows(result):
        verdict = "" if met is None else ("  met" if met else "  NOT met")
        print(f"{case}: {figure}" + (f" (goal {goal}){verdict}" if goal else ""), flush=True)


if __name__ == "__main__":
    main()
