"""Advice a user can act on, from a run's hardware samples: each rule is one function of the records and
the time now, saying one line (what is wrong, the likely cause, a concrete change) or nothing.

A rule looks at the last WINDOW_S of the run's samples, and only once it has MIN_S of them, so a run's
first seconds (loading data, warming up) never trigger it.
"""

from __future__ import annotations

from collections.abc import Callable

from .record import Hardware, Sample
from .view import size

WINDOW_S = 60.0
MIN_S = 20.0  # seconds of samples a rule needs in its window
IDLE_PCT = 30.0  # a GPU busy less than this share of the window is mostly idle
FULL = 0.92  # memory this full is close to running out
LOOP_BOUND_CPU = 80.0  # the process keeps a core this busy: its Python loop is what the GPU waits on
CROWDED_HOST = 95.0  # the host's CPUs this busy ...
STARVED_CPU = 50.0  # ... while a one-thread run gets less than this of its core: neighbours hold the cores


def window(hw: Hardware, now: float, seconds: float = WINDOW_S) -> list[Sample]:
    """The samples of the last `seconds`, or none if they cover less than MIN_S."""
    recent = [s for s in hw.samples if now - seconds <= s.t <= now + 1.0]
    return recent if sum(s.n for s in recent) >= MIN_S else []


def _mean(values: list[tuple[float, int]]) -> float | None:
    n = sum(w for _, w in values)
    return sum(v * w for v, w in values) / n if n else None


def idle_gpu(hw: Hardware, now: float) -> str:
    """A GPU busy less than IDLE_PCT of the last minute while the run trains."""
    recent = window(hw, now)
    for index in sorted({g.index for s in recent for g in s.gpus}):
        util = _mean(
            [(g.util, s.n) for s in recent for g in s.gpus if g.index == index and g.util is not None]
        )
        if util is None or util >= IDLE_PCT:
            continue
        cpu = _mean([(s.cpu, s.n) for s in recent if s.cpu is not None]) or 0.0
        if cpu >= LOOP_BOUND_CPU:
            why = (
                f"its training loop keeps a CPU core {cpu:.0f}% busy: per-step overhead on a small model or "
                "batch; use a larger batch_size, or train the sweep's variants batched (--batched auto)"
            )
        else:
            why = (
                "it waits on something else: the data path on the CPU, or other processes "
                f"(host CPU {_mean([(s.hcpu, s.n) for s in recent if s.hcpu is not None]) or 0:.0f}%); "
                "keep the data on the GPU, or run fewer jobs beside it"
            )
        return f"GPU{index} was busy {util:.0f}% of the last minute: {why}"
    return ""


def gpu_memory_full(hw: Hardware, now: float) -> str:
    """A GPU's memory close to full in the last sample."""
    if not hw.samples or now - hw.samples[-1].t > WINDOW_S:
        return ""
    for g in hw.samples[-1].gpus:
        if g.mem and g.total and g.mem >= FULL * g.total:
            return (
                f"GPU{g.index} memory is {g.mem / g.total:.0%} full ({size(g.mem)} of {size(g.total)}): "
                "a larger batch or model will run out; use a smaller batch_size, "
                "or fewer runs on this GPU (--jobs)"
            )
    return ""


def host_memory_full(hw: Hardware, now: float) -> str:
    """The host's memory close to full in the last sample."""
    if not hw.samples or now - hw.samples[-1].t > WINDOW_S:
        return ""
    s = hw.samples[-1]
    if s.hmem and s.htotal and s.hmem >= FULL * s.htotal:
        return (
            f"host memory is {s.hmem / s.htotal:.0%} full ({size(s.hmem)} of {size(s.htotal)}; this run "
            f"{size(s.rss)}): run fewer jobs at once (--jobs), or a smaller train_size"
        )
    return ""


def crowded_cpu(hw: Hardware, now: float) -> str:
    """A CPU run that gets little of its core because other processes hold the host's cores."""
    recent = window(hw, now)
    if not recent or any(s.gpus for s in recent):
        return ""
    info = hw.info
    threads = info.threads if info and info.threads else 1
    host = _mean([(s.hcpu, s.n) for s in recent if s.hcpu is not None])
    cpu = _mean([(s.cpu, s.n) for s in recent if s.cpu is not None])
    if host is None or cpu is None or host < CROWDED_HOST or cpu >= STARVED_CPU * threads:
        return ""
    return (
        f"the host's CPUs were {host:.0f}% busy and this run got {cpu:.0f}% of a core: other processes hold "
        "the cores; run fewer jobs at once (--jobs), or --threads 1 if it uses more"
    )


RULES: tuple[Callable[[Hardware, float], str], ...] = (
    idle_gpu,
    gpu_memory_full,
    host_memory_full,
    crowded_cpu,
)


def advise(hw: Hardware, now: float) -> list[str]:
    """Every rule's line that has something to say."""
    return [line for rule in RULES if (line := rule(hw, now))]
