"""Refuse a run the machine cannot hold, before any of it is allocated.

`estimate(cfg)` is pure: from the config alone (no data loaded, nothing built) it says how many bytes the
run's data and its model take at their peak, generously, so that a run it passes does not then exhaust the
machine, and every shipped preset passes on a 4 GB machine.
- The data: the generated tasks (polynomial, toy2d) take BYTES_PER_SAMPLE per sample of n_samples (the
  points as they are drawn, their tensors, each epoch's order and gathered labels); the data sets on disk
  (mnist, digits, cifar10) their rows (train_size cuts the training part) times the values of a row times
  the copies loading makes (bytes, floats, normalized floats).
- The model: the MLP's weights and biases between the task's input, the hidden widths and the outputs, kept
  as weights, gradients and the optimizer's state (Adam two tensors, momentum one), with two more copies
  (the initializer's temporaries, the checkpoint as it is written), plus one step's hidden activations and
  their gradients for the rows it takes at once; four bytes each.
A run fits if what it needs is at most USABLE of what is available.

`check` compares that with what there is (pure too); `check_fits` asks the machine: the memory available
now (psutil), and on CUDA the device's free memory. The data is built on the host first, so it counts there
on every device; the model counts where it trains.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..data import REGISTRY
from ..rules.errors import BadInput
from ..rules.numbers import is_whole

# Input features and outputs of each task's MLP (a CNN's head sees at least one feature).
FEATURES = {
    "mnist": (784, 10),
    "digits": (64, 10),
    "cifar10": (3072, 10),
    "polynomial": (4, 1),
    "toy2d": (2, 2),
}
BYTES = 4
ROWS_AT_ONCE = (
    4096  # the most rows a step or an evaluation takes at once (the trainer's chunks are this or more)
)
# Peak bytes per generated sample, about twice what was measured (docs/architecture.md, "Resources").
BYTES_PER_SAMPLE = {"polynomial": 80, "toy2d": 100}
# Data sets on disk: (training rows, test rows, values per row, bytes per value over the copies loading
# makes).
ON_DISK = {
    "mnist": (60_000, 10_000, 784, 9),
    "digits": (1_438, 359, 64, 9),
    "cifar10": (50_000, 10_000, 3072, 5),
}
EXTRA_COPIES = 2
USABLE = (
    0.9  # a run may take at most this share of what is available: the rest is the process's own, and others'
)
GB = 1e9
NOTABLE = 0.05  # a refusal names the data or the model only if it is at least this share of the total


@dataclass(frozen=True)
class Need:
    """What a run takes at its peak, in bytes: its data (on the host, and on the device it trains on) and its
    model (weights, gradients, optimizer state, one step's activations)."""

    data: int
    model: int
    params: int


def estimate(cfg) -> Need:
    """The bytes `cfg`'s data and model take at their peak (generous; see the module's docstring)."""
    n = min_params(cfg)
    return Need(data=data_bytes(cfg), model=n * BYTES * copies(cfg) + activation_bytes(cfg), params=n)


def data_bytes(cfg) -> int:
    if cfg.task in BYTES_PER_SAMPLE:
        return cfg.n_samples * BYTES_PER_SAMPLE[cfg.task]
    if cfg.task in ON_DISK:
        train, test, values, copies_ = ON_DISK[cfg.task]
        if cfg.train_size:
            train = min(train, cfg.train_size)
        return (train + test) * values * copies_
    return 0  # the gradient check: a few small tensors


def min_params(cfg) -> int:
    """At least how many parameters the config's model has."""
    n_in, n_out = FEATURES.get(cfg.task, (1, 1))
    if cfg.model != "mlp":
        n_in = 1
    widths = [n_in, *cfg.hidden, n_out]
    return sum((a + 1) * b for a, b in zip(widths, widths[1:]))


def copies(cfg) -> int:
    """Tensors the size of the model that training holds at its peak: weights, gradients, optimizer state,
    and EXTRA_COPIES (the initializer's temporaries, the checkpoint's copy as it is written)."""
    state = 2 if cfg.optimizer == "adam" else 1 if cfg.momentum else 0
    return 2 + state + EXTRA_COPIES


def activation_bytes(cfg) -> int:
    """At least the memory of one step's hidden activations and their gradients."""
    rows = cfg.batch_size if is_whole(cfg.batch_size) else ROWS_AT_ONCE
    if REGISTRY[cfg.task].in_memory:
        rows = min(rows, cfg.n_samples)
    return min(rows, ROWS_AT_ONCE) * sum(cfg.hidden) * BYTES * 2


def check(cfg, variant: str, host_available: int | None, device: str = "cpu", device_free: int | None = None):
    """BadInput (one line: what, how much, what there is, what to change) if `cfg`'s run cannot fit in
    `host_available` bytes of memory, or its model and data in `device_free` bytes of the `device`'s."""
    need, model_on_host = estimate(cfg), device != "cuda"  # the CPU's memory, or MPS's (the host's, shared)
    on_host = need.data + (need.model if model_on_host else 0)
    if host_available is not None and on_host > USABLE * host_available:
        raise BadInput(
            f"variant '{variant}': {_needs(cfg, need, model_on_host)}; this machine has "
            f"{host_available / GB:,.1f} GB of memory available; {_fix(cfg, need, host_available)}"
        )
    if device == "cuda" and device_free is not None and need.data + need.model > USABLE * device_free:
        raise BadInput(
            f"variant '{variant}': {_needs(cfg, need, True)}; the {device} device has "
            f"{device_free / GB:,.1f} GB free; {_fix(cfg, need, device_free)} (or set device=cpu)"
        )


def check_fits(cfg, device, variant: str) -> None:
    """`check` against this machine now: its available memory, and a CUDA device's free memory."""
    check(cfg, variant, host_available(), device.type, device_free(device))


def host_available() -> int | None:
    """The memory that can be had now without swapping (psutil), if it can be told."""
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except Exception:  # noqa: BLE001 - no psutil, or no /proc: no check rather than a wrong one
        return None


def device_free(device) -> int | None:
    """A CUDA device's free memory; None on other devices (their memory is the host's, or cannot be told)."""
    if device.type != "cuda":
        return None
    import torch

    return int(torch.cuda.mem_get_info(device)[0])


def _needs(cfg, need: Need, with_model: bool) -> str:
    """'the data (...) needs about X GB', 'the model (...) needs about Y GB', or both, the larger first; the
    smaller only if it is at least NOTABLE of the total."""
    if cfg.task in BYTES_PER_SAMPLE:
        data = f"the data (n_samples = {cfg.n_samples:,} of {cfg.task}) needs about {need.data / GB:,.1f} GB"
    else:
        cut = f", train_size = {cfg.train_size:,}" if cfg.train_size else ""
        data = f"the data ({cfg.task}{cut}) needs about {need.data / GB:,.1f} GB"
    if not with_model:
        return data
    model = (
        f"the model ({need.params:,} parameters, hidden = {list(cfg.hidden)}, batch_size = {cfg.batch_size}) "
        f"needs about {need.model / GB:,.1f} GB with its gradients, optimizer state and activations"
    )
    parts = sorted([(need.data, data), (need.model, model)], reverse=True)
    total = need.data + need.model
    return " and ".join(text for size, text in parts if size >= NOTABLE * total)


def _fix(cfg, need: Need, have: int) -> str:
    """What to change: fewer samples (with the most that fit) when the data is the most of it, else a smaller
    model."""
    if cfg.task in BYTES_PER_SAMPLE and need.data >= need.model:
        most = max(1, int((USABLE * have - need.model) // BYTES_PER_SAMPLE[cfg.task]))
        return f"use fewer samples (n_samples = {most:,} at most fits now)"
    if need.data >= need.model and cfg.task in ON_DISK:
        return "use fewer training samples (train_size)"
    return f"use smaller hidden layers (hidden = {list(cfg.hidden)}) or a smaller batch_size"
