"""The digits task: scikit-learn's bundled 8x8 digits, offline, with a fixed train/test split."""

from __future__ import annotations

import torch

from dltui.core import data as tasks
from dltui.core.data import digits
from dltui.core.executors.runner import train_size
from dltui.core.spec.config import build_config


def build(**kw):
    cfg = build_config([("test", {"task": "digits", "device": "cpu", **kw})])
    return cfg, tasks.build(cfg, torch.device("cpu"), ".")


def test_all_1797_images_split_into_train_and_test():
    cfg, d = build()
    assert d.n_train + len(d.test_y) == 1797
    assert d.n_train == digits.train_size(cfg, ".") == train_size(cfg, ".")
    assert d.input_shape == (1, 8, 8) and d.n_classes == 10
    assert 0.0 <= float(d.train_x.min()) and float(d.train_x.max()) <= 1.0
    assert set(d.test_y.tolist()) == set(range(10))


def test_the_test_set_is_the_same_whatever_the_seed():
    _, a = build(seed=0)
    _, b = build(seed=7)
    assert torch.equal(a.test_x, b.test_x) and torch.equal(a.test_y, b.test_y)


def test_runs_offline_from_the_cli(cli, runs_dir):
    result = cli("run", "mnist-zero-init", "--set", "task=digits", "--epochs", "1", "--variant", "default")
    assert result.exit_code == 0, result.output
    assert len(list(runs_dir.iterdir())) == 1


def test_the_images_are_sklearn_s_read_without_importing_it():
    """Read from the file sklearn bundles (its import costs about 0.8 s of a run's start): the very arrays
    `load_digits` gives, and sklearn is not imported."""
    import subprocess
    import sys

    import numpy as np
    from sklearn.datasets import load_digits

    pixels, labels = digits.load()
    want = load_digits()
    assert np.array_equal(pixels, want.data) and np.array_equal(labels, want.target)
    code = "import sys; from dltui.core.data import digits; digits.load(); print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "False", out.stderr[-2000:]
