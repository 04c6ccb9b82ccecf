"""normalize = true: per-feature standardisation from the training split, with a std floor at the data's scale
(core/data/common.py), so that a pixel constant in training but inked in a test image cannot blow the test
loss up."""

from __future__ import annotations

import json
from contextlib import nullcontext

import pytest
import torch

from dltui.core import data as tasks
from dltui.core.data import common, digits
from dltui.core.spec.config import build_config
from dltui.core.train.evaluation import Evaluator


def cfg(**kw):
    return build_config([("test", {"task": "digits", "device": "cpu", **kw})])


def test_a_constant_feature_is_scaled_like_the_rest_of_the_data_not_divided_by_zero():
    x = torch.rand(200, 5)
    x[:, 0] = 0.0  # never inked in training
    x[:, 1] = 3.0  # constant, but not zero
    mean, std = common.scaling(x)
    pooled = float(x.std())
    assert std[0] == pytest.approx(common.STD_FLOOR * pooled) and std[1] == pytest.approx(std[0])
    assert torch.allclose(std[2:], x[:, 2:].std(dim=0))  # the others: their own std
    inked = (torch.ones(1, 5) - mean) / std  # a test sample with ink everywhere
    assert float(inked.abs().max()) <= 3.0 / (common.STD_FLOOR * pooled)  # bounded, never 1e6


def test_data_constant_throughout_is_only_centred():
    mean, std = common.scaling(torch.full((10, 3), 7.0))
    assert torch.equal(mean, torch.full((3,), 7.0)) and torch.equal(std, torch.ones(3))


def test_the_same_samples_give_the_same_loss_through_the_train_validation_and_test_paths():
    """The digits training images passed as the test set too: the test set is then the train and validation
    splits together, so its summed loss (the trainer's Evaluator) is theirs added up, and each split's mean
    loss agrees with the others; a model fitted on the train split only."""
    d = digits.build(cfg(), torch.device("cpu"), None)  # unscaled 0..1 pixels: the source of the splits
    x, y = torch.cat([d.train_x, d.test_x]), torch.cat([d.train_y, d.test_y])
    split = common.finish_classification(
        cfg(normalize=True, val_fraction=0.3, seed=1), "cpu", "digits", x, y, x, y, 10, digits.SHAPE
    )
    torch.manual_seed(0)
    model = torch.nn.Linear(64, 10)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    for _ in range(100):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(split.train_x), split.train_y).backward()
        opt.step()
    evaluate = Evaluator(model, torch.nn.functional.cross_entropy, split, nullcontext, torch.device("cpu"))
    sums = {
        name: float(evaluate(getattr(split, f"{name}_x"), getattr(split, f"{name}_y"))[0])
        for name in ("train", "val", "test")
    }
    assert sums["test"] == pytest.approx(sums["train"] + sums["val"], rel=1e-4)
    means = {name: sums[name] / len(getattr(split, f"{name}_y")) for name in sums}
    assert means["train"] < 0.3
    assert means["val"] < 2 * means["train"] and means["test"] < 2 * means["train"], means


def test_digits_with_normalize_has_a_test_loss_beside_its_validation_loss(cli, runs_dir):
    """The case that blew up: cifar-dropout's settings on digits with an MLP. With the std clamped at 1e-6,
    pixels blank in every training image but inked in a test image gave a test loss of 10.4 beside a
    validation loss of 0.23 (test accuracy 94%)."""
    result = cli(
        "run",
        "cifar-dropout",
        "-v",
        "no-dropout",
        "--set",
        "task=digits",
        "--set",
        "model=mlp",
        "--epochs",
        "5",
    )
    assert result.exit_code == 0, result.output
    (run,) = list(runs_dir.iterdir())
    config = json.loads((run / "config.json").read_text())
    assert config["normalize"] is True
    s = json.loads((run / "summary.json").read_text())
    assert s["final_val_loss"] < 1.0 and s["final_test_acc"] > 0.8, s
    assert s["final_test_loss"] < 1.5 * s["final_val_loss"], s


def test_the_normalised_digits_inputs_stay_within_a_few_floors(data_dir):
    d = tasks.build(cfg(normalize=True), torch.device("cpu"), data_dir)
    assert abs(float(d.train_x.mean())) < 1e-4
    assert float(d.test_x.abs().max()) <= 1 / (common.STD_FLOOR * 0.3)  # pixels are 0..1, pooled std > 0.3
