"""The cifar-dropout preset end to end on small CIFAR files: metrics, best epoch, best.pt round-trip."""

from __future__ import annotations

import json

import torch
from test_cifar_data import write_cifar

from dltui.core.data import build as build_task
from dltui.core.spec.config import from_dict
from dltui.core.spec.presets import load
from dltui.core.train.models import build_model

SMALL = ["--set", "batch_size=20", "--set", "hidden=[16]", "--set", "lr=0.05"]


def run_dirs(runs_dir):
    return sorted(p for p in runs_dir.iterdir() if p.is_dir())


def records(run):
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def test_accuracy(run, weights_file, data_dir) -> float:
    """Test accuracy of the weights in `weights_file`, rebuilt from the run's config and read with
    weights_only=True."""
    cfg = from_dict(json.loads((run / "config.json").read_text()))
    data = build_task(cfg, torch.device("cpu"), data_dir)
    model = build_model(cfg, data, torch.device("cpu"))
    model.load_state_dict(torch.load(run / weights_file, weights_only=True)["model"])
    model.eval()
    with torch.no_grad():
        pred = model(data.transform(data.test_x)).argmax(1)
    return (pred == data.test_y).sum().item() / len(data.test_y)


test_accuracy.__test__ = False  # a helper, not a test


def test_preset_is_the_seeds_cnn_with_and_without_dropout():
    p = load("cifar-dropout")
    cfgs = dict(p.configs())
    assert set(cfgs) == {"no-dropout", "dropout"} and "best_epoch" in p.views
    for cfg in cfgs.values():
        assert (cfg.task, cfg.model, cfg.optimizer, cfg.loss, cfg.val_fraction, cfg.normalize) == (
            "cifar10",
            "cnn",
            "sgd",
            "cross_entropy",
            0.1,
            True,
        )
        assert cfg.momentum > 0
    assert cfgs["no-dropout"].dropout == 0 and cfgs["dropout"].dropout > 0


def test_cnn_has_no_softmax_and_the_seeds_layers(data_dir):
    from torch import nn

    write_cifar(data_dir)
    cfg = load("cifar-dropout").configs()[1][1]
    data = build_task(cfg, torch.device("cpu"), data_dir)
    model = build_model(cfg, data, torch.device("cpu"))
    kinds = [type(m) for m in model.modules()]
    assert (
        kinds.count(nn.Conv2d) == 4
        and kinds.count(nn.MaxPool2d) == 2
        and sum(isinstance(m, nn.Linear) for m in model.modules()) == 2
    )
    assert kinds.count(nn.Dropout) == 3 and nn.Softmax not in kinds and nn.LogSoftmax not in kinds
    out = model(data.transform(data.test_x[:5]))
    assert out.shape == (5, 10) and not torch.allclose(out.exp().sum(1), torch.ones(5))


def test_best_epoch_bookkeeping_and_checkpoint_round_trip(cli, data_dir, runs_dir):
    write_cifar(data_dir)
    r = cli("run", "cifar-dropout", "--epochs", "4", *SMALL)
    assert r.exit_code == 0, r.output
    runs = run_dirs(runs_dir)
    assert len(runs) == 2
    for run in runs:
        init, *recs = records(run)  # epoch 0 (at init), then the trained epochs: the best is one of them
        summary = json.loads((run / "summary.json").read_text())
        assert init["epoch"] == 0 and [x["epoch"] for x in recs] == [1, 2, 3, 4]
        assert all(x[k] is not None for x in recs for k in ("train_loss", "train_acc", "val_loss", "val_acc"))
        vals = [x["val_acc"] for x in recs]
        best = recs[vals.index(max(vals))]  # the first epoch with the highest validation accuracy
        assert summary["best_epoch"] == best["epoch"] == summary["best_weights_epoch"]
        assert summary["best_val_acc"] == max(vals) and summary["best_test_acc"] == best["test_acc"]
        assert summary["best_weights_test_acc"] == best["test_acc"]
        assert test_accuracy(run, "best.pt", data_dir) == best["test_acc"]
        assert test_accuracy(run, "checkpoint.pt", data_dir) == recs[-1]["test_acc"]


def test_early_stopping_ends_after_patience_epochs_without_a_better_validation_score(cli, data_dir, runs_dir):
    write_cifar(data_dir)
    r = cli(
        "run",
        "cifar-dropout",
        "--variant",
        "no-dropout",
        "--epochs",
        "6",
        *SMALL,
        "--set",
        "lr=1e-12",
        "--set",
        "early_stop_patience=2",
    )
    assert r.exit_code == 0, r.output
    (run,) = run_dirs(runs_dir)
    summary = json.loads((run / "summary.json").read_text())
    assert summary["best_epoch"] == 1 and [x["epoch"] for x in records(run)] == [0, 1, 2, 3]
    assert "early stop" in summary["reason"]


def test_without_a_validation_split_there_is_no_best_pt(cli, data_dir, runs_dir):
    write_cifar(data_dir)
    r = cli(
        "run", "cifar-dropout", "--variant", "dropout", "--epochs", "1", *SMALL, "--set", "val_fraction=0"
    )
    assert r.exit_code == 0, r.output
    (run,) = run_dirs(runs_dir)
    summary = json.loads((run / "summary.json").read_text())
    assert not (run / "best.pt").exists() and "best_weights_test_acc" not in summary
    assert records(run)[0]["val_acc"] is None
