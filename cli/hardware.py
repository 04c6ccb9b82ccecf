"""The hardware beside a run, as the CLI prints it: `dltui show`'s figures (mean utilisation, peak memory),
`show --follow`'s strip, `compare`'s throughput and peak memory. The words and numbers are
core/hardware/view.py's (the lab draws the same strip); this module only styles them for a terminal."""

from __future__ import annotations

import time
from typing import Any

from rich.text import Text

from ..core.hardware import advice, view
from ..core.hardware.record import read_hardware
from ..core.readout.safe import joined, text


def show_lines(run) -> list[Text]:
    """`dltui show`: one line of the run's hardware figures, its note (muted) and its advice, if any."""
    if run.status.get("kind") == "lrfind":
        return []  # a range test takes a second or less: no sampler runs beside it
    hw = read_hardware(run.path)
    if not hw.samples:
        return [
            text("hardware: no samples (a run from before the sampler, or one that never started)", "dim")
        ]
    fig = view.figures(hw)
    parts = []
    if fig["gpu_util"] is not None:
        parts.append(f"GPU mean {fig['gpu_util']:.0f}% busy, memory peak {view.size(fig['gpu_mem'])}")
    if fig["torch_peak"] is not None:
        parts.append(f"torch peak allocated {view.size(fig['torch_peak'])}")
    if fig["cpu"] is not None:
        parts.append(f"CPU mean {fig['cpu']:.0f}% of a core")
    parts.append(f"RSS peak {view.size(fig['rss_peak'])}")
    hosts = ", ".join(fig["hosts"])
    lines = [joined(f"hardware ({hosts}, {fig['samples']} s sampled): ", " · ".join(parts))]
    if fig["note"]:
        lines.append(text(fig["note"], "dim"))
    return lines


def strip_lines(run_path, width: int, tall: bool, running: bool) -> list[Text]:
    """The strip (`show --follow`), as the lab draws it: its lines, the note muted, advice while it runs."""
    hw = read_hardware(run_path)
    st = view.strip(hw, width, tall)
    lines = [text(line) for line in st.lines(tall)]
    if st.note:
        lines.append(text(st.note, "dim"))
    if running:
        lines += [text(a, "yellow") for a in advice.advise(hw, time.time())]
    return lines


def throughput(summary: dict[str, Any]) -> float | None:
    """Training samples a second over the run's training time (set-up excluded)."""
    n, epochs, dur = summary.get("n_train"), summary.get("epochs"), summary.get("duration_s")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (n, epochs, dur)) or dur <= 0:
        return None
    return n * epochs / dur


def compare_cells(info) -> tuple[str, str]:
    """(samples/s, peak memory) of a run for `compare`'s table."""
    rate = throughput(info.summary or {})
    peak = view.peak_memory(view.figures(read_hardware(info.path)))
    return ("-" if rate is None else f"{rate:,.0f}", view.size(peak))
