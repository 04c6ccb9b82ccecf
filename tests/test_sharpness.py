"""Sharpness: the top Hessian eigenvalue matches the closed form, and full-batch GD settles at 2/lr."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from dltui.core.probes import instruments as probes_instruments
from dltui.core.probes.sharpness import sharpness
from dltui.core.spec.config import build_config
from dltui.core.train.hooks import ProbeContext
from dltui.core.train.trainer import Trainer


def test_linear_model_under_mse_matches_the_closed_form_hessian():
    gen = torch.Generator().manual_seed(0)
    n, d = 400, 12
    x = torch.randn(n, d, generator=gen) * torch.linspace(0.3, 3.0, d)
    y = torch.randn(n, 1, generator=gen)
    model = nn.Linear(d, 1)
    value, vector, _ = sharpness(model, nn.MSELoss(), x, y)
    xb = torch.cat([x, torch.ones(n, 1)], 1).double()  # the bias is a weight on a constant input
    expected = torch.linalg.eigvalsh(2 / n * xb.T @ xb)[-1].item()
    assert value == pytest.approx(expected, rel=1e-3)
    assert vector.norm().item() == pytest.approx(1.0, rel=1e-5)


def test_warm_start_from_the_last_eigenvector_needs_fewer_products():
    gen = torch.Generator().manual_seed(1)
    model = nn.Sequential(nn.Linear(20, 30), nn.Tanh(), nn.Linear(30, 5))
    x, y = torch.randn(300, 20, generator=gen), torch.randint(0, 5, (300,), generator=gen)
    cold, vec, cold_products = sharpness(model, nn.CrossEntropyLoss(), x, y)
    warm, _, warm_products = sharpness(model, nn.CrossEntropyLoss(), x, y, vec)
    assert warm == pytest.approx(cold, rel=1e-2)
    assert warm_products < cold_products


def digits_gd(lr: float, epochs: int) -> Trainer:
    cfg = build_config(
        [
            (
                "test",
                {
                    "task": "digits",
                    "device": "cpu",
                    "checkpoint": False,
                    "batch_size": "full",
                    "hidden": [64],
                    "activation": "tanh",
                    "loss": "mse",
                    "lr": lr,
                    "epochs": epochs,
                    "probes": ["sharpness"],
                },
            )
        ]
    )
    return Trainer(cfg, run_id="t", data_dir=".")


@pytest.mark.parametrize("lr", [0.8, 1.0])
def test_full_batch_gd_on_digits_settles_at_the_edge_of_stability(lr, monkeypatch):
    monkeypatch.setattr(
        probes_instruments.Sharpness, "BUDGET", float("inf")
    )  # the regular cadence, whatever the machine
    t = digits_gd(lr, 800)
    assert t.run().status == "finished"
    measured = [(r["epoch"], r["sharpness"]) for r in t.history if r.get("sharpness") is not None]
    assert len(measured) == 51 and measured[0][0] == 0  # at init, then about 50 a run
    assert measured[0][1] < 2 / lr  # it starts below the threshold and rises to it
    late = [s for e, s in measured if e > 600]
    settled = sum(late) / len(late)
    assert settled == pytest.approx(2 / lr, rel=0.15)


def test_sharpness_reaches_metrics_and_summary_from_the_cli(cli, runs_dir, monkeypatch):
    monkeypatch.setattr(
        probes_instruments.Sharpness, "BUDGET", float("inf")
    )  # measured from the first epoch, whatever the machine
    result = cli(
        "run",
        "mnist-batch",
        "--set",
        "task=digits",
        "--set",
        "batch_size=full",
        "--set",
        'probes=["sharpness"]',
        "--epochs",
        "3",
    )
    assert result.exit_code == 0, result.output
    for run in runs_dir.iterdir():
        first = json.loads((run / "metrics.jsonl").read_text().splitlines()[0])
        assert first["sharpness"] > 0
        assert json.loads((run / "summary.json").read_text())["final_sharpness"] > 0


def test_an_unknown_probe_is_bad_input_before_any_run_dir(cli, runs_dir):
    result = cli("run", "mnist-batch", "--set", "task=digits", "--set", 'probes=["sharpnes"]')
    assert result.exit_code == 2
    assert "unknown probe 'sharpnes'" in result.output
    assert not runs_dir.exists() or not any(runs_dir.iterdir())


def test_a_measurement_waits_until_its_expected_cost_fits_the_budget():
    t = digits_gd(0.5, 100)
    t.setup()
    now = [0.0]
    ctx = ProbeContext(t.model, t.data, t.cfg, t.device, t.optimizer, t.loss_fn, lambda: now[0])
    p = probes_instruments.Sharpness(ctx)
    p.GRACE_S = 0.0
    assert p.cadence_every == 2  # 100 epochs: every other one at most
    assert not p.due(1)  # before any training time, even the first does not fit
    assert (
        p.product_s > 0 and p.spent_s > 0
    )  # foreseen from timed builds of the gradient's graph, counted as spent
    p.spent_s, p.product_s = 0.0, 0.01  # as if a product took 10 ms: 11 of them from a random vector
    now[0] = 2.0
    assert not p.due(1)  # 0.11 s is over 4% of 2 s
    now[0] = 3.0
    assert p.due(1)
    p.measure(1)
    p.spent_s, p.product_s, p.products = 1.0, 0.01, 4  # as if it took a second; a warm one takes 5 products
    now[0] = 26.0
    assert not p.due(3)  # 1.05 s is over 4% of 26 s
    now[0] = 27.0
    assert p.due(3) and not p.due(2)  # within budget, and never more often than the cadence


def test_a_short_run_on_small_data_is_measured_at_once_within_the_grace():
    t = digits_gd(0.5, 100)
    t.setup()
    ctx = ProbeContext(t.model, t.data, t.cfg, t.device, t.optimizer, t.loss_fn, lambda: 0.0)
    p = probes_instruments.Sharpness(ctx)
    p.product_s = p.GRACE_S / 20  # a cold measurement fits in the grace, two do not
    assert p.due(1) and p.measure(1)["sharpness"] > 0
    p.spent_s = p.GRACE_S
    assert not p.due(3)
