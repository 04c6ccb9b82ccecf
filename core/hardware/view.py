"""What the faces show of a run's hardware, the same for each: the strip (a GPU utilisation sparkline, a
memory bar, CPU % and RSS; one line, or several where there is room), the figures of `show` and `compare`
(mean utilisation, peak memory), which runs share a GPU, and the panel of every node and GPU in use.

Pure functions of read records (core/hardware/record.py); plain text, styled by each face. Torch-free.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .record import Hardware, Sample

SPARK = "▁▂▃▄▅▆▇█"
LIVE_S = 10.0  # a run whose last sample is older than this is not using its GPU now


def size(n: float | None) -> str:
    """Bytes as a person reads them: 812M, 1.2G, 79.6G."""
    if n is None:
        return "-"
    for unit, scale in (("T", 1 << 40), ("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if n >= scale:
            v = n / scale
            return f"{v:.1f}{unit}" if v < 100 else f"{v:.0f}{unit}"
    return f"{int(n)}B"


def spark(values: list[float | None], width: int, top: float = 100.0) -> str:
    """The last `width` values (0..top) as block characters; a gap for a missing value."""
    out = []
    for v in values[-width:]:
        if v is None:
            out.append(" ")
        else:
            out.append(SPARK[min(len(SPARK) - 1, max(0, int(v / top * (len(SPARK) - 1) + 0.5)))])
    return "".join(out)


def bar(used: float | None, total: float | None, width: int) -> str:
    """A memory bar: filled to used/total."""
    if not used or not total:
        return "░" * width
    full = min(width, round(width * used / total))
    return "█" * full + "░" * (width - full)


@dataclass
class Strip:
    """A run's hardware as the faces draw it: `line` (always), `more` (where there is room), `note` (muted:
    why there are no GPU figures), `advice` (what to change, one line each)."""

    line: str = ""
    more: list[str] = field(default_factory=list)
    note: str = ""
    advice: list[str] = field(default_factory=list)

    def lines(self, tall: bool) -> list[str]:
        return [self.line, *(self.more if tall else [])]


def _gpu_text(hw: Hardware, index: int, spark_w: int, bar_w: int, tall: bool) -> str:
    series = [next((g for g in s.gpus if g.index == index), None) for s in hw.samples if s.gpus]
    last = next((g for g in reversed(series) if g is not None), None)
    if last is None:
        return ""
    utils = [g.util if g is not None else None for g in series]
    text = f"GPU{index} {spark(utils, spark_w)} {_pct(last.util)} mem {bar(last.mem, last.total, bar_w)} "
    text += f"{size(last.mem)}/{size(last.total)}"
    if tall:
        extra = [
            f"{last.watts:.0f}W" if last.watts is not None else "",
            f"{last.temp:.0f}°C" if last.temp is not None else "",
        ]
        text += "  " + " ".join(e for e in extra if e)
        text += f"  {last.name}" if last.name else ""
    return text


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v:.0f}%"


def strip(hw: Hardware, width: int = 80, tall: bool = False) -> Strip:
    """The strip for `width` columns: one line, and with `tall` a line per GPU and one for the host."""
    out = Strip(note=_note(hw))
    if not hw.samples:
        out.line = "hardware: no samples yet"
        return out
    last = hw.samples[-1]
    gpus = sorted({g.index for s in hw.samples for g in s.gpus})
    cpu = f"CPU {_pct(last.cpu)} RSS {size(last.rss)}"
    info = hw.info
    threads = f" · {info.threads} thread{'s' if info.threads != 1 else ''}" if info and info.threads else ""
    if not gpus:
        cpus = spark([s.cpu for s in hw.samples], max(4, min(30, width // 5)), top=_cpu_top(hw))
        out.line = f"CPU {cpus} {_pct(last.cpu)} · RSS {size(last.rss)} · host {_pct(last.hcpu)}{threads}"
        if tall:
            out.more = [_host_line(last, info)]
        return out
    spark_w, bar_w = (max(6, min(40, width // 5)), 10) if tall else (max(4, width // 12), 6)
    first = _gpu_text(hw, gpus[0], spark_w, bar_w, tall)
    out.line = first if tall else f"{first} · {cpu}"
    if tall:
        out.more = [_gpu_text(hw, i, spark_w, bar_w, tall) for i in gpus[1:]]
        out.more.append(f"{cpu} · " + _host_line(last, info))
    return out


def _cpu_top(hw: Hardware) -> float:
    """The scale of the CPU sparkline: 100% of one core per intra-op thread (at least one core)."""
    info = hw.info
    return 100.0 * max(1, info.threads or 1) if info else 100.0


def _host_line(last: Sample, info: Any) -> str:
    text = f"host {last.host or '?'}: CPU {_pct(last.hcpu)}, memory {size(last.hmem)}/{size(last.htotal)}"
    if info and info.threads:
        text += f" · {info.threads} intra-op thread{'s' if info.threads != 1 else ''} ({info.why})"
    return text


def _note(hw: Hardware) -> str:
    info = hw.info
    return info.note if info else ""


# -- the figures of `show` and `compare` ----------------------------------------------------------------


def figures(hw: Hardware) -> dict[str, Any]:
    """A run's hardware in a few numbers: mean GPU utilisation (weighted by what each record stands for),
    the most GPU memory used, torch's peak allocated, the most RSS, the mean process CPU %; None where
    nothing was measured."""
    util_w = [(g.util, s.n) for s in hw.samples for g in s.gpus if g.util is not None]
    cpu_w = [(s.cpu, s.n) for s in hw.samples if s.cpu is not None]
    peaks = [e.peak for e in hw.epochs if e.peak is not None]
    rss = [s.rss for s in hw.samples if s.rss is not None] + [e.rss for e in hw.epochs if e.rss is not None]
    mems = [g.mem for s in hw.samples for g in s.gpus if g.mem is not None]
    return {
        "gpu_util": _mean(util_w),
        "gpu_mem": max(mems) if mems else None,
        "torch_peak": max(peaks) if peaks else None,
        "rss_peak": max(rss) if rss else None,
        "cpu": _mean(cpu_w),
        "samples": sum(s.n for s in hw.samples),
        "hosts": sorted({s.host for s in hw.samples if s.host}),
        "note": _note(hw),
    }


def _mean(pairs: list[tuple[float, int]]) -> float | None:
    n = sum(w for _, w in pairs)
    return round(sum(v * w for v, w in pairs) / n, 1) if n else None


def peak_memory(fig: dict[str, Any]) -> int | None:
    """The one peak a face shows: torch's peak allocated on the GPU where there is one, else the RSS."""
    return fig["torch_peak"] if fig["torch_peak"] is not None else fig["rss_peak"]


# -- runs side by side: shared GPUs, the nodes in use ---------------------------------------------------


def gpu_keys(hw: Hardware, now: float) -> set[tuple[str, str]]:
    """(host, GPU) of the GPUs a run is using now (its last sample is fresh); the GPU by UUID, else index."""
    if not hw.samples or now - hw.samples[-1].t > LIVE_S:
        return set()
    last = hw.samples[-1]
    return {(last.host, g.uuid or f"#{g.index}") for g in last.gpus}


def sharing(runs: dict[str, Hardware], now: float) -> dict[str, list[str]]:
    """For each run using a GPU now, the other runs using the same one."""
    keys = {rid: gpu_keys(hw, now) for rid, hw in runs.items()}
    return {
        rid: sorted(o for o, ok in keys.items() if o != rid and ok & mine)
        for rid, mine in keys.items()
        if mine
    }


def nodes(runs: dict[str, Hardware], now: float) -> list[str]:
    """One line per node and GPU in use now, with how busy it is and how many runs use it: the one panel
    of a batch spread over a Ray cluster (or over one machine's GPUs)."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for hw in runs.values():
        if not hw.samples or now - hw.samples[-1].t > LIVE_S:
            continue
        last = hw.samples[-1]
        devices = [(g.uuid or f"#{g.index}", f"GPU{g.index} {g.name}".strip(), g) for g in last.gpus]
        for key, label, g in devices or [("cpu", "CPU", None)]:
            row = rows.setdefault((last.host, key), {"label": label, "runs": 0, "g": g, "s": last})
            row["runs"] += 1
    lines = []
    for (host, _), row in sorted(rows.items()):
        g, s = row["g"], row["s"]
        what = (
            f"{_pct(g.util)} busy, {size(g.mem)}/{size(g.total)}"
            if g is not None
            else f"host CPU {_pct(s.hcpu)}, memory {size(s.hmem)}/{size(s.htotal)}"
        )
        lines.append(f"{host} {row['label']}: {what} · {row['runs']} run{'s' if row['runs'] != 1 else ''}")
    return lines
