"""Seed 003: fit y = w·[x⁴, x³, x², x] + b with a linear model on the features.

Everything is made as the seed's notebook made it, which its table of learned functions pins down:
torch.manual_seed(seed), then W = randn(4,1)*5, b = randn(1)*5 and x = randn(n), with W's first entry
the coefficient of x⁴. Seed 2020 gives the target it printed, y = +6.19x⁴ -4.80x³ +7.71x² -2.04x +4.40
(positive everywhere, so at first every residual is positive and the bias grows by exactly lr per step).
The features are in that order too, so coefficients read from x⁴ down, as the seed printed them.

The notebook then built nn.Linear(4, 1) (drawing its default init before setting it to zero) and
shuffled with a DataLoader of its day (torch <= 1.6): each epoch drew one int64 for the loader's base
seed, then randperm(n), both from the same global generator. `LoaderOrder` replays that, so the lab
sees the notebook's batches and reproduces even the entries of its table that depend on the order.
"""

from __future__ import annotations

import torch

from . import TaskData

DEGREE = 4


def features(x: torch.Tensor) -> torch.Tensor:
    """[x⁴, x³, x², x] as columns: the highest power first, as the seed's notebook had them."""
    x = x.unsqueeze(1)
    return torch.cat([x**i for i in range(DEGREE, 0, -1)], 1)


class LoaderOrder:
    """Each epoch's sample order as the notebook's DataLoader(shuffle=True) drew it from `gen`."""

    def __init__(self, gen: torch.Generator):
        self.gen = gen

    def order(self, n: int) -> torch.Tensor:
        torch.empty((), dtype=torch.int64).random_(generator=self.gen)  # the loader's base seed, unused here
        return torch.randperm(n, generator=self.gen)


def build(cfg, device, data_dir) -> TaskData:
    g = torch.Generator().manual_seed(cfg.data_rng_seed)
    w = torch.randn(DEGREE, 1, generator=g) * 5
    b = torch.randn(1, generator=g) * 5
    x = torch.randn(cfg.n_samples, generator=g)
    # nn.Linear(4, 1)'s default init (weight, then bias) drawn as the notebook drew it, so the orders that
    # follow are its own
    torch.empty(1, DEGREE).uniform_(generator=g)
    torch.empty(1).uniform_(generator=g)
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
        shuffler=LoaderOrder(
            g if cfg.data_rng_seed == cfg.seed else torch.Generator().manual_seed(cfg.seed)
        ),  # order: seed's
        extras={
            "target_coefficients": w.view(-1).tolist(),
            "target_bias": float(b.item()),
            "x_range": [float(x.min()), float(x.max())],
        },
    )


def train_size(cfg, data_dir) -> int:
    return cfg.n_samples
