"""How many intra-op threads a run uses, chosen by its work: a run whose ops are small takes one thread (on
a busy machine, more threads wait on cores others hold), a large one more, never more than its share of
the cores.

The work is FLOPs per step, from the model's size (its parameters, counted once it is built) and the
batch: a fully connected layer does 2 FLOPs per weight and sample forward and about 4 backward; a
convolution reuses each weight at every position of its input (CONV_REUSE). The share of the cores is the
machine's (the CPUs this process may run on) divided between the runs started together: the local pool
and Ray say so in DLTUI_THREAD_BUDGET. `--threads N` (DLTUI_THREADS) overrides the choice. Torch-free.
"""

from __future__ import annotations

import os

from ..rules.errors import BadInput

FLOPS_PER_THREAD = 5e7  # below this much work per step per thread, another thread costs more than it gives
CONV_REUSE = 100  # positions a CNN's weights are used at, roughly, on the presets' 28x28 and 32x32 images
THREADS_ENV = "DLTUI_THREADS"
BUDGET_ENV = "DLTUI_THREAD_BUDGET"


def flops_per_step(n_params: int, batch: int, model: str = "mlp") -> float:
    """About how many FLOPs one training step takes (forward and backward)."""
    return 6.0 * n_params * max(1, batch) * (CONV_REUSE if model == "cnn" else 1)


def cores() -> int:
    """The CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def budget(env: dict[str, str] | None = None) -> int:
    """This run's share of the cores: DLTUI_THREAD_BUDGET where the runs started together set it, else all."""
    env = os.environ if env is None else env
    raw = env.get(BUDGET_ENV, "")
    return max(1, int(raw)) if raw.isdigit() else cores()


def share(jobs: int, total: int | None = None) -> int:
    """The cores each of `jobs` runs started together gets."""
    return max(1, (total or cores()) // max(1, jobs))


def choose(flops: float, limit: int, asked: int | None = None) -> tuple[int, str]:
    """(threads, why in a phrase) for a run of `flops` per step with `limit` cores its own; `asked`: the
    user's --threads, which wins."""
    if asked:
        return asked, "--threads"
    n = max(1, min(limit, int(flops // FLOPS_PER_THREAD)))
    size = f"{flops / 1e6:,.1f} MFLOP/step"
    if n == 1:
        return 1, f"small ops ({size})"
    return n, f"{size}, {limit} cores its own" if n == limit else f"{size}"


def asked(env: dict[str, str] | None = None) -> int | None:
    """The user's --threads (DLTUI_THREADS), or None; BadInput if it is not a whole number >= 1."""
    env = os.environ if env is None else env
    raw = env.get(THREADS_ENV, "").strip()
    if not raw or raw == "auto":
        return None
    return parse(raw)


def parse(raw: str) -> int:
    """--threads' value: a whole number >= 1; BadInput otherwise."""
    if not raw.isdigit() or int(raw) < 1:
        raise BadInput(
            f"--threads {raw}: not a whole number of threads >= 1; use e.g. --threads 1, or leave it out"
        )
    return int(raw)
