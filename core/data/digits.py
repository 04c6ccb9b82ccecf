"""scikit-learn's bundled 8x8 handwritten digits (1,797 images): MNIST's offline stand-in."""

from __future__ import annotations

import torch

from . import TaskData

N_IMAGES = 1797  # scikit-learn's bundled digits
SHAPE = (1, 8, 8)  # one channel of 8x8 pixels
N_CLASSES = 10
MAX_PIXEL = 16.0  # pixels are 0..16
TEST_FRACTION = 0.2
SPLIT_SEED = 0  # a fixed split: the same test set whatever the run's seed


def build(cfg, device, data_dir) -> TaskData:
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.tensor(d.data, dtype=torch.float32) / MAX_PIXEL
    y = torch.tensor(d.target, dtype=torch.long)
    perm = torch.randperm(len(y), generator=torch.Generator().manual_seed(SPLIT_SEED))
    n_test = int(len(y) * TEST_FRACTION)
    test, train = perm[:n_test], perm[n_test:]
    from .common import finish_classification

    return finish_classification(
        cfg, device, "digits", x[train], y[train], x[test], y[test], N_CLASSES, SHAPE
    )


def train_size(cfg, data_dir) -> int:
    return N_IMAGES - int(N_IMAGES * TEST_FRACTION)
