"""Vanishing gradients: per-layer gradient norms recorded each epoch, smaller early on for sigmoid than
ReLU."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from dltui.core.data import TaskData
from dltui.core.probes.gradients import LayerGradNorms
from dltui.core.spec.config import RunConfig
from dltui.core.store.folder import RunStore
from dltui.core.train.models import build_model, linear_layers


@pytest.mark.slow
def test_the_preset_records_eleven_layer_norms_per_epoch_and_sigmoid_vanishes(cli, runs_dir):
    result = cli("run", "vanishing-gradients", "--epochs", "2", "-v", "sigmoid", "-v", "relu")
    assert result.exit_code == 0, result.stdout
    norms = {}
    for run in RunStore(runs_dir).list():
        init, *records = run.metrics()
        assert init["epoch"] == 0 and "grad_norm" not in init  # at init: no step, no gradient yet
        assert [r["epoch"] for r in records] == [1, 2]
        assert all(len(r["grad_norm"]) == 11 and all(g > 0 for g in r["grad_norm"]) for r in records)
        norms[run.status["variant"]] = records[-1]["grad_norm"]
    sig, relu = norms["sigmoid"], norms["relu"]
    assert sig[0] < 1e-3 * sig[-1]  # the first layer's gradient has all but vanished
    assert sig[0] / sig[-1] < relu[0] / relu[-1]
    assert sig[0] < relu[0]


def test_layer_grad_norms_is_the_mean_over_the_epochs_steps():
    trainer = SimpleNamespace(model=nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)))
    probe = LayerGradNorms(trainer)
    layers = linear_layers(trainer.model)
    for k in (1.0, 2.0, 6.0):
        for m in layers:
            m.weight.grad = torch.full_like(m.weight, k)
        probe.after_step()
    got = probe.measure(1)["grad_norm"]
    want = [3.0 * math.sqrt(m.weight.numel()) for m in layers]  # mean of k * sqrt(n) over k = 1, 2, 6
    assert got == pytest.approx(want)
    assert probe.measure(2) == {}  # each epoch starts afresh


def test_kaiming_and_xavier_inits_scale_the_weights_and_zero_the_biases():
    data = TaskData(
        "t",
        "classification",
        torch.zeros(1, 400),
        torch.zeros(1),
        None,
        None,
        n_classes=10,
        input_shape=(400,),
    )
    for init, gain in (("kaiming", 2.0), ("xavier", None)):
        torch.manual_seed(0)
        model = build_model(RunConfig(hidden=(300,), init=init), data, torch.device("cpu"))
        first = linear_layers(model)[0]
        want = math.sqrt(gain / 400) if gain else math.sqrt(2 / (400 + 300))
        assert abs(first.weight.std().item() - want) < 0.05 * want
        assert all(m.bias.abs().max() == 0 for m in linear_layers(model))
