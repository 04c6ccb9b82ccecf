"""`dltui bench`: register every case with core/bench/harness.py (by importing the modules that hold them:
the harness imports none), run a suite, and show each figure beside its reference, bound and goal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from ..core.rules.errors import BadInput
from . import options


def fmt_value(v: float | None, unit: str) -> str:
    """A figure with its unit: seconds as s or ms, rates as whole numbers."""
    if v is None:
        return "-"
    if unit == "s":
        return f"{v:.3f} s" if v >= 1 else f"{1000 * v:.1f} ms"
    if unit == "steps/s":
        return f"{v:,.0f}/s"
    return f"{v:.2f}{unit}"


def fmt_ratio(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}x"


def fmt_met(v: bool | None) -> str:
    return {True: "[green]yes[/]", False: "[red]no[/]", None: "-"}[v]


def table(result: dict[str, Any]):
    from rich.table import Table

    m = result["machine"]
    t = Table(
        title=f"dltui bench on {m['device']} (torch {m['torch']}, {m['torch_threads']} threads, "
        f"matmul {m['matmul_gflops']} GFLOP/s{', quick' if m['quick'] else ''})"
    )
    for col in ("case", "lab", "reference", "lab/ref", "bound", "lab/bound", "goal", "met"):
        t.add_column(col, justify="left" if col in ("case", "goal") else "right", no_wrap=col != "goal")
    for c in result["cases"]:
        t.add_row(
            c["title"],
            fmt_value(c["lab"], c["unit"]),
            fmt_value(c["reference"], c["unit"]),
            fmt_ratio(c["ratio"]),
            fmt_value(c["bound"], c["unit"]),
            fmt_ratio(c["bound_ratio"]),
            c["goal"],
            fmt_met(c["met"]),
        )
    return t


def notes(result: dict[str, Any]) -> list[str]:
    """One line per case: what exactly was measured."""
    return [f"{c['title']}: {c['detail']}" + (f"; {c['note']}" if c["note"] else "") for c in result["cases"]]


def write_json(path: Path, result: dict[str, Any]) -> None:
    from ..core.store.folder import write_json_atomic

    try:
        write_json_atomic(path, result)
    except OSError as e:
        raise BadInput(
            f"--json {path}: cannot write there ({e.strerror or e}); give a path in a writable folder"
        ) from None


def load_cases() -> None:
    """Register every case with the harness: core's, then the TUI's (they import textual; core never)."""
    from ..core.bench import cases, instruments, machine  # noqa: F401
    from ..tui.bench import lab, scale, watch  # noqa: F401


def bench_cmd(
    json_path: Path | None = typer.Option(None, "--json", help="also write the figures to this file as JSON"),
    quick: bool = typer.Option(
        False, "--quick", help="small sizes, one repeat: seconds, for a first look (ratios are rougher)"
    ),
    device: str = options.device("auto"),
    scale: bool = typer.Option(
        False,
        "--scale",
        help="instead: the lab at scale (a 100,000-epoch run, a 40-variant sweep, 10,000 saved runs; "
        "minutes)",
    ),
) -> None:
    """Time the lab against plain PyTorch loops and the arithmetic bound; print a table (and JSON)."""
    from rich.console import Console

    if scale:
        return scale_cmd(json_path, quick)

    from ..core.spec.config import check_value

    check_value("device", device, "--device")
    if json_path is not None and not json_path.parent.is_dir():
        raise BadInput(
            f"--json {json_path}: the folder {json_path.parent} does not exist; "
            "create it or pick another path"
        )
    from ..core.bench.harness import run_bench
    from ..core.spec.device import resolve_device

    resolve_device(device)
    load_cases()
    console = Console()
    with console.status("benchmarking") as status:
        result = run_bench(device, quick, say=lambda s: status.update(f"benchmarking: {s}"))
    console.print(table(result))
    for line in notes(result):
        console.print(f"[dim]{line}[/]", highlight=False)
    if json_path is not None:
        write_json(json_path, result)
        console.print(f"figures written to {json_path}")


def scale_cmd(json_path: Path | None, quick: bool) -> None:
    """`dltui bench --scale`: the --scale suite (tui/bench/scale.py, watch.py) as a table and JSON."""
    from rich.console import Console
    from rich.table import Table

    from ..core.bench.harness import run_scale, scale_rows

    if json_path is not None and not json_path.parent.is_dir():
        raise BadInput(
            f"--json {json_path}: the folder {json_path.parent} does not exist; "
            "create it or pick another path"
        )
    load_cases()
    console = Console()
    with console.status("benchmarking the lab at scale (minutes)") as status:
        result = run_scale(
            quick, say=lambda s: status.update(f"benchmarking the lab at scale (minutes): {s}")
        )
    t = Table(title=f"dltui bench --scale{' --quick' if quick else ''}")
    for col in ("case", "figure", "goal", "met"):
        t.add_column(col)
    for case, figure, goal, met in scale_rows(result):
        t.add_row(case, figure, goal, fmt_met(met))
    console.print(t)
    if json_path is not None:
        write_json(json_path, result)
        console.print(f"figures written to {json_path}")
