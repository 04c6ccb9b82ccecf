"""A run's clock starts after set-up and warm-up: the wall-clock axis compares training, not loading."""

from __future__ import annotations

import torch

from dltui.core.spec.config import build_config
from dltui.core.train import fastpath
from dltui.core.train.trainer import Trainer


def trainer(**kw) -> Trainer:
    cfg = build_config(
        [
            (
                "test",
                {
                    "task": "digits",
                    "device": "cpu",
                    "checkpoint": False,
                    "hidden": [16],
                    "dropout": 0.5,
                    "batch_size": 64,
                    "epochs": 1,
                    **kw,
                },
            )
        ]
    )
    return Trainer(cfg, run_id="t", data_dir=".")


def test_warm_up_changes_no_weight_no_gradient_and_no_random_draw():
    t = trainer()
    t.setup()
    before = {k: v.clone() for k, v in t.model.state_dict().items()}
    rng = torch.get_rng_state()
    fastpath.warm_up(t.model, t.data, t.batch_size, t.fast)
    assert all(torch.equal(before[k], v) for k, v in t.model.state_dict().items())
    assert all(p.grad is None for p in t.model.parameters())
    assert torch.equal(rng, torch.get_rng_state())  # eval mode: dropout drew no mask


def test_the_summary_records_set_up_apart_from_training_and_warm_up_keeps_runs_reproducible():
    a, b = trainer(), trainer()
    ended = a.run()
    b.setup()  # the same run without the warm-up: the same losses
    b.setup_s = 0.0
    b._train()
    assert ended.summary["setup_s"] >= 0 and "duration_s" in ended.summary
    # b trained without epoch 0's record (the evaluation at init draws nothing random either)
    assert [r["train_loss"] for r in a.history[1:]] == [r["train_loss"] for r in b.history]
