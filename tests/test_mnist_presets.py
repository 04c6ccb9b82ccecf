"""The MNIST presets: parameter counts against torch, sorted order, zero init, per-class accuracy, all
runnable on digits."""

from __future__ import annotations

import json

import pytest
import torch

from dltui.core.data import TaskData
from dltui.core.spec import presets
from dltui.core.spec.config import build_config
from dltui.core.train import trainer as engine
from dltui.core.train.models import build_model, count_params
from dltui.core.train.trainer import Trainer

MNIST_PRESETS = (
    "mnist-architectures",
    "mnist-lr-sweep",
    "mnist-batch",
    "mnist-zero-init",
    "mnist-stratified",
    "adam-vs-sgd",
)


def hand_count(widths: list[int]) -> int:
    """Weights plus biases of a fully connected net with these layer widths (seed 001, Q3)."""
    return sum(a * b + b for a, b in zip(widths, widths[1:]))


def test_architecture_parameter_counts_match_torch_and_the_seed():
    shape = TaskData("mnist", "classification", None, None, None, None, n_classes=10, input_shape=(1, 28, 28))
    counts = {}
    for name, cfg in presets.load("mnist-architectures").configs():
        torch_count = count_params(build_model(cfg, shape, torch.device("cpu")))
        assert torch_count == hand_count([784, *cfg.hidden, 10])
        counts[name] = torch_count
    assert counts == {"784-10-10-10": 8070, "784-20-20-10": 16330, "784-300-10": 238510}


def test_lr_sweep_has_the_seed_learning_rates():
    lrs = [cfg.lr for _, cfg in presets.load("mnist-lr-sweep").configs()]
    assert lrs == [0.001, 0.1, 0.3, 0.5, 0.7, 0.9, 1.2, 2.0, 5.0, 8.0]
    assert all(
        cfg.batch_size == "full" and cfg.hidden == (300,)
        for _, cfg in presets.load("mnist-lr-sweep").configs()
    )


@pytest.mark.parametrize("name", MNIST_PRESETS)
def test_every_mnist_preset_runs_offline_on_digits(cli, runs_dir, name):
    result = cli("run", name, "--set", "task=digits", "--epochs", "1")
    assert result.exit_code == 0, result.output
    n = len(presets.load(name).variants)
    statuses = [json.loads((r / "status.json").read_text())["status"] for r in runs_dir.iterdir()]
    assert len(statuses) == n and set(statuses) <= {"finished", "diverged"}


def digits_trainer(**kw) -> Trainer:
    cfg = build_config([("test", {"task": "digits", "device": "cpu", "checkpoint": False, **kw})])
    return Trainer(cfg, run_id="t", data_dir=".")


def batch_labels(monkeypatch, **kw) -> tuple[Trainer, list[torch.Tensor]]:
    """Train on digits while recording the labels of every batch, in order."""
    seen: list[torch.Tensor] = []
    real = engine.make_loss

    def recording(name):
        loss = real(name)

        def record(out, y):
            if torch.is_grad_enabled():  # a training step, not the evaluation
                seen.append(y.clone())
            return loss(out, y)

        return record

    monkeypatch.setattr(engine, "make_loss", recording)
    t = digits_trainer(**kw)
    assert t.run().status == "finished"
    return t, seen


def test_stratified_order_sorts_every_epoch_by_label(monkeypatch):
    t, seen = batch_labels(monkeypatch, order="stratified", batch_size=50, epochs=2)
    per_epoch = t.steps_per_epoch
    for e in range(2):
        labels = torch.cat(seen[e * per_epoch : (e + 1) * per_epoch])
        assert len(labels) == t.data.n_train
        assert bool((labels[1:] >= labels[:-1]).all())
        assert torch.equal(labels.bincount(), t.data.train_y.bincount())


def test_shuffled_order_is_not_sorted(monkeypatch):
    t, seen = batch_labels(monkeypatch, order="shuffled", batch_size=50, epochs=1)
    labels = torch.cat(seen)
    assert not bool((labels[1:] >= labels[:-1]).all())


def hidden_rows(t: Trainer) -> torch.Tensor:
    first = t.model.net[1]
    return torch.cat([first.weight, first.bias.unsqueeze(1)], 1).detach()


@pytest.mark.parametrize("activation", ["relu", "sigmoid"])
def test_zero_init_keeps_every_hidden_unit_identical(activation):
    t = digits_trainer(
        init="zeros",
        activation=activation,
        hidden=[30],
        batch_size=32,
        lr=0.5,
        epochs=2,
        probes=["hidden_similarity"],
    )
    assert t.run().status == "finished"
    rows = hidden_rows(t)
    assert torch.allclose(rows, rows[0].expand_as(rows), atol=1e-6)
    assert all(abs(r["hidden_similarity"] - 1.0) < 1e-4 for r in t.history)
    if activation == "relu":  # relu(0) = 0: no gradient reaches the hidden layer at all
        assert not rows.any()
    else:  # sigmoid(0) = 1/2: the units move, but all alike
        assert rows.abs().sum() > 0


def test_default_init_units_differ():
    t = digits_trainer(hidden=[30], batch_size=32, epochs=1, probes=["hidden_similarity"])
    t.run()
    assert t.history[-1]["hidden_similarity"] < 0.2


def test_zero_init_relu_stays_at_chance_while_default_learns():
    accs = {}
    for init in ("zeros", "default"):
        t = digits_trainer(init=init, hidden=[30], batch_size=32, lr=0.1, epochs=3)
        t.run()
        accs[init] = t.history[-1]["test_acc"]
    majority = float(t.data.test_y.bincount().max()) / len(t.data.test_y)
    assert accs["zeros"] <= majority + 1e-9
    assert accs["default"] > 0.8


def test_class_acc_records_each_class_inside_and_at_the_end_of_epochs():
    t = digits_trainer(hidden=[30], batch_size=32, epochs=2, probes=["class_acc"])
    t.run()
    assert t.history[0]["epoch"] == 0 and t.history[0]["class_acc_trace"] == []  # at init: no step inside
    for rec in t.history:
        acc = rec["class_acc"]
        assert len(acc) == 10 and all(0 <= a <= 1 for a in acc)
        counts = t.data.test_y.bincount().tolist()
        assert abs(sum(a * c for a, c in zip(acc, counts)) / sum(counts) - rec["test_acc"]) < 1e-6
        trace = rec["class_acc_trace"]
        if rec["epoch"] == 0:
            continue
        assert len(trace) == 9
        assert [p["step"] for p in trace] == sorted(p["step"] for p in trace)
        assert rec["epoch"] - 1 < trace[0]["epoch"] < trace[-1]["epoch"] < rec["epoch"]


def test_stratified_order_forgets_the_early_classes():
    final = {}
    for order in ("stratified", "shuffled"):
        t = digits_trainer(order=order, hidden=[30], batch_size=16, lr=0.05, epochs=3, probes=["class_acc"])
        t.run()
        final[order] = t.history[-1]
    strat = final["stratified"]["class_acc"]
    assert strat[9] > 0.9 and sum(strat[:5]) / 5 < 0.3
    assert final["stratified"]["test_acc"] < final["shuffled"]["test_acc"] - 0.3
