"""Refuse a model the machine cannot hold, before any of it is allocated.

The count is a lower bound worked out from the config alone (no data loaded, nothing built): the MLP's
weights and biases between the task's input, the hidden widths and the outputs. Training needs the
weights, their gradients and the optimizer's state (Adam two tensors, momentum one), and each step's
hidden activations and their gradients for the rows it takes at once; four bytes each.
"""

from __future__ import annotations

import os

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


def min_params(cfg) -> int:
    """At least how many parameters the config's model has."""
    n_in, n_out = FEATURES.get(cfg.task, (1, 1))
    if cfg.model != "mlp":
        n_in = 1
    widths = [n_in, *cfg.hidden, n_out]
    return sum((a + 1) * b for a, b in zip(widths, widths[1:]))


def copies(cfg) -> int:
    """Tensors the size of the model that training keeps: weights, gradients, optimizer state."""
    state = 2 if cfg.optimizer == "adam" else 1 if cfg.momentum else 0
    return 2 + state


def activation_bytes(cfg) -> int:
    """At least the memory of one step's hidden activations and their gradients."""
    rows = cfg.batch_size if is_whole(cfg.batch_size) else ROWS_AT_ONCE
    if REGISTRY[cfg.task].in_memory:
        rows = min(rows, cfg.n_samples)
    return min(rows, ROWS_AT_ONCE) * sum(cfg.hidden) * BYTES * 2


def machine_bytes(device) -> int | None:
    """The memory of the device training runs on (the GPU's, or the machine's RAM), if it can be told."""
    if device.type == "cuda":
        import torch

        return torch.cuda.get_device_properties(device).total_memory
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def check_fits(cfg, device, variant: str) -> None:
    """BadInput if the model cannot fit in the device's memory, with its parameter count and what it needs."""
    n = min_params(cfg)
    need, have = n * BYTES * copies(cfg) + activation_bytes(cfg), machine_bytes(device)
    if have is not None and need > have:
        raise BadInput(
            f"variant '{variant}': the model has at least {n:,} parameters "
            f"and needs at least {need / 1e9:,.1f} GB "
            "for its weights, gradients, optimizer state and activations; "
            f"{device.type} memory here is {have / 1e9:,.1f} GB; "
            f"use smaller hidden layers (hidden = {list(cfg.hidden)})"
        )
