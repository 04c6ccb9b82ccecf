"""loss = "mse" on a classifier trains against one-hot targets; a loss that cannot apply to a task is bad
input."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from dltui.core.spec.config import build_config
from dltui.core.train.losses import OneHotLoss
from dltui.core.train.trainer import Trainer


def test_mse_on_a_classifier_is_torchs_mse_against_one_hot_targets():
    out = torch.randn(7, 10)
    y = torch.randint(0, 10, (7,))
    loss = OneHotLoss(nn.MSELoss(), 10)(out, y)
    expected = ((out - torch.eye(10)[y]) ** 2).mean()  # mean over all 70 elements
    assert torch.allclose(loss, expected)


def test_mse_on_digits_trains_and_learns():
    cfg = build_config(
        [
            (
                "test",
                {
                    "task": "digits",
                    "loss": "mse",
                    "device": "cpu",
                    "checkpoint": False,
                    "batch_size": 32,
                    "lr": 0.5,
                    "epochs": 5,
                },
            )
        ]
    )
    t = Trainer(cfg, run_id="t", data_dir=".")
    ended = t.run()
    assert ended.status == "finished", ended.reason
    losses = [r["train_loss"] for r in t.history]
    # one-hot MSE starts near 0.1 at init (10 outputs near 0, targets 0 or 1), and falls from there
    assert losses[-1] < losses[1] < losses[0] == pytest.approx(0.1, rel=0.3)
    assert t.history[-1]["test_acc"] > 0.8


def test_a_loss_that_cannot_apply_is_bad_input_before_any_run_dir(cli, runs_dir):
    result = cli("run", "polynomial", "--set", "loss=cross_entropy")
    assert result.exit_code == 2
    assert "loss = cross_entropy does not apply to task polynomial" in result.output
    assert "Traceback" not in result.output
    assert not runs_dir.exists() or not any(runs_dir.iterdir())


def test_mse_classification_run_from_the_cli_writes_finite_losses(cli, runs_dir):
    result = cli(
        "run",
        "mnist-batch",
        "--set",
        "task=digits",
        "--set",
        "loss=mse",
        "--set",
        "batch_size=100",
        "--epochs",
        "2",
    )
    assert result.exit_code == 0, result.output
    for run in runs_dir.iterdir():
        records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
        assert all(r["train_loss"] is not None and r["train_loss"] < 0.2 for r in records)
