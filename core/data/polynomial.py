"""Seed 003: fit y = w·[x, x², x³, x⁴] + b with a linear model on the features.

The target and the points are made exactly as the seed's notebook did (manual_seed, then
W = randn(4,1)*5, b = randn(1)*5, x = randn(n)), so seed 2020 gives its target
y = -2.04x⁴ + 7.71x³ - 4.80x² + 6.19x + 4.40 (the notebook printed the powers in reverse).
"""
from __future__ import annotations

import torch

from . import TaskData

DEGREE = 4


def features(x: torch.Tensor) -> torch.Tensor:
    """[x, x², x³, x⁴] as columns."""
    x = x.unsqueeze(1)
    return torch.cat([x**i for i in range(1, DEGREE + 1)], 1)


def build(cfg, device, data_dir) -> TaskData:
    g = torch.Generator().manual_seed(cfg.seed)
    w = torch.randn(DEGREE, 1, generator=g) * 5
    b = torch.randn(1, generator=g) * 5
    x = torch.randn(cfg.n_samples, generator=g)
    feats = features(x)
    y = feats @ w + b.item()
    feats, y = feats.to(device), y.to(device)
    # The seed has no held-out set: the "test" loss is the loss on the same points after the epoch.
    return TaskData(
        name="polynomial",
        kind="regression",
        train_x=feats,
        train_y=y,
        test_x=feats,
        test_y=y,
        input_shape=(DEGREE,),
        probes=("poly_function",),
        extras={"target_coefficients": w.view(-1).tolist(), "target_bias": float(b.item()), "x_range": [float(x.min()), float(x.max())]},
    )


def train_size(cfg, data_dir) -> int:
    return cfg.n_samples
