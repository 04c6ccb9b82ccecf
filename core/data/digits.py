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


def load() -> tuple:
    """(pixels [N, 64] float64, labels [N] int), as sklearn's `load_digits` gives them: read from the file it
    bundles (digits.csv.gz, parsed as it parses it) without importing sklearn, whose import (scipy.stats and
    more) costs about 0.8 s of every digits run's start; through `load_digits` if the file is not there."""
    import gzip
    import importlib.util
    from pathlib import Path

    import numpy as np

    spec = importlib.util.find_spec("sklearn")  # finds the package without running it
    for root in (spec.submodule_search_locations or []) if spec else []:
        path = Path(root) / "datasets" / "data" / "digits.csv.gz"
        if path.is_file():
            with gzip.open(path, "rt", encoding="utf-8") as f:
                data = np.loadtxt(f, delimiter=",")
            if data.shape == (N_IMAGES, 65):
                return data[:, :-1], data[:, -1].astype(int, copy=False)
    from sklearn.datasets import load_digits

    d = load_digits()
    return d.data, d.target


def build(cfg, device, data_dir) -> TaskData:
    pixels, labels = load()
    x = torch.tensor(pixels, dtype=torch.float32) / MAX_PIXEL
    y = torch.tensor(labels, dtype=torch.long)
    perm = torch.randperm(len(y), generator=torch.Generator().manual_seed(SPLIT_SEED))
    n_test = int(len(y) * TEST_FRACTION)
    test, train = perm[:n_test], perm[n_test:]
    from .common import finish_classification

    return finish_classification(
        cfg, device, "digits", x[train], y[train], x[test], y[test], N_CLASSES, SHAPE
    )


def train_size(cfg, data_dir) -> int:
    return N_IMAGES - int(N_IMAGES * TEST_FRACTION)
