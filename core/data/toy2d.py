"""Seed 002's toy 2-D data: a Gaussian mixture (5 classes), a swiss roll (2) and "peaks" (5).

Every point comes from a numpy generator seeded with the run's seed, so the same seed gives the
same points and another seed other points. A fixed share of the points is the test set.
"""

from __future__ import annotations

import numpy as np
import torch

from . import TaskData

TEST_FRACTION = 0.2
N_CLASSES = {"gmm": 5, "swiss_roll": 2, "peaks": 5}
GMM_RADIUS, GMM_STD = 3.0, 0.7  # 5 isotropic components on a pentagon: about 98% separable
ROLL_TURNS, ROLL_NOISE = 1.75, 0.1
PEAKS_RANGE = 3.0


def gmm(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Five Gaussian blobs with centres on a circle; the label is the blob."""
    y = rng.integers(0, 5, n)
    angle = 2 * np.pi * y / 5
    centres = GMM_RADIUS * np.stack([np.cos(angle), np.sin(angle)], 1)
    return centres + GMM_STD * rng.standard_normal((n, 2)), y


def swiss_roll(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved spiral arms in the plane (the 2-D swiss roll); the label is the arm."""
    y = rng.integers(0, 2, n)
    t = np.sqrt(rng.uniform(0.05, 1.0, n)) * ROLL_TURNS * 2 * np.pi
    r = t / (ROLL_TURNS * 2 * np.pi) * 3.0
    phase = t + np.pi * y
    x = np.stack([r * np.cos(phase), r * np.sin(phase)], 1)
    return x + ROLL_NOISE * rng.standard_normal((n, 2)), y


def peaks_height(x: np.ndarray) -> np.ndarray:
    """MATLAB's `peaks` surface at points (n, 2)."""
    u, v = x[:, 0], x[:, 1]
    return (
        3 * (1 - u) ** 2 * np.exp(-(u**2) - (v + 1) ** 2)
        - 10 * (u / 5 - u**3 - v**5) * np.exp(-(u**2) - v**2)
        - np.exp(-((u + 1) ** 2) - v**2) / 3
    )


def peaks(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Uniform points on [-3, 3]², labelled by which of 5 height bands of `peaks` they lie in."""
    x = rng.uniform(-PEAKS_RANGE, PEAKS_RANGE, (n, 2))
    bands = [-1.0, -0.1, 0.1, 1.0]  # valleys, lower slopes, the plain, upper slopes, peaks: each 12-32%
    return x, np.digitize(peaks_height(x), bands)


GENERATORS = {"gmm": gmm, "swiss_roll": swiss_roll, "peaks": peaks}


def make(dataset: str, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`n` points (float64, shape (n, 2)) and their labels, the same for the same seed."""
    return GENERATORS[dataset](n, np.random.default_rng(seed))


def build(cfg, device, data_dir) -> TaskData:
    x, y = make(cfg.dataset, cfg.n_samples, cfg.data_rng_seed)
    n_test = max(1, int(round(cfg.n_samples * TEST_FRACTION)))
    xt, yt = torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.long)
    from .common import finish_classification

    data = finish_classification(
        cfg,
        device,
        "toy2d",
        xt[n_test:],
        yt[n_test:],
        xt[:n_test],
        yt[:n_test],
        N_CLASSES[cfg.dataset],
        (2,),
        {"dataset": cfg.dataset},
    )
    data.probes = ("regions",)
    return data


def train_size(cfg, data_dir) -> int:
    return cfg.n_samples - max(1, int(round(cfg.n_samples * TEST_FRACTION)))
