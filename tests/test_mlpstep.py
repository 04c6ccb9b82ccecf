"""The hand-written MLP step (core/train/mlpstep.py) gives autograd's losses and gradients, and the engine
takes it only where it applies."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from dltui.core.spec.config import RunConfig
from dltui.core.train.mlpstep import MLPStep
from dltui.core.train.models import MLP
from dltui.core.train.trainer import PlainSGD, Trainer


def autograd_step(model: nn.Module, x, y, weight: float):
    for p in model.parameters():
        p.grad = None
    out = model(x)
    loss = nn.functional.cross_entropy(out, y)
    (loss * weight).backward()
    return out.detach(), loss.detach(), [p.grad.clone() for p in model.parameters()]


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh", "identity"])
@pytest.mark.parametrize("hidden", [(), (16,), (15, 12)])
def test_losses_and_gradients_are_autograds(activation, hidden):
    torch.manual_seed(0)
    model = MLP(20, hidden, 5, activation)
    x, y = torch.randn(33, 1, 4, 5), torch.randint(0, 5, (33,))
    want_out, want_loss, want_grads = autograd_step(model, x, y, 0.25)
    for p in model.parameters():
        p.grad = None
    step = MLPStep.build(model, nn.CrossEntropyLoss())
    out, loss = step(x, y, 0.25)
    assert out.shape == want_out.shape == (33, 5)
    assert torch.allclose(out, want_out, atol=1e-6) and loss.item() == pytest.approx(
        want_loss.item(), rel=1e-6
    )
    for got, want in zip((p.grad for p in model.parameters()), want_grads, strict=True):
        assert got.shape == want.shape and torch.allclose(got, want, atol=1e-7, rtol=1e-5)


def test_gradients_add_up_over_chunks():
    """Two calls add to `.grad` (a step in chunks), as autograd's backward does."""
    torch.manual_seed(1)
    model = MLP(10, (8,), 3)
    x, y = torch.randn(40, 10), torch.randint(0, 3, (40,))
    *_, want = autograd_step(model, x, y, 1.0)
    for p in model.parameters():
        p.grad = None
    step = MLPStep.build(model, nn.CrossEntropyLoss())
    step(x[:25], y[:25], 25 / 40)
    step(x[25:], y[25:], 15 / 40)
    for p, w in zip(model.parameters(), want, strict=True):
        assert torch.allclose(p.grad, w, atol=1e-7, rtol=1e-5)


@pytest.mark.parametrize(
    "model, loss",
    [
        (MLP(10, (8,), 3, dropout=0.5), nn.CrossEntropyLoss()),
        (MLP(10, (8,), 3, activation="gelu"), nn.CrossEntropyLoss()),
        (MLP(10, (8,), 3), nn.MSELoss()),
        (MLP(10, (8,), 3), nn.CrossEntropyLoss(label_smoothing=0.1)),
        (nn.Sequential(nn.Flatten(), nn.Linear(10, 3)), nn.CrossEntropyLoss()),
    ],
)
def test_what_it_does_not_cover_goes_through_autograd(model, loss):
    assert MLPStep.build(model, loss) is None


def test_the_engine_takes_it_on_the_cpu_for_an_mlp_classifier(data_dir):
    cfg = RunConfig(task="digits", hidden=(20,), batch_size=64, epochs=1, device="cpu")
    t = Trainer(cfg, run_id="t", data_dir=data_dir)
    t.setup()
    assert (
        t.fast.step.mlp_step is not None
        and isinstance(t.optimizer, PlainSGD)
        and t.fast.update == t.optimizer.plain_step
    )
    poly = Trainer(
        RunConfig(task="polynomial", hidden=(), loss="smooth_l1", batch_size=50, epochs=1, device="cpu"),
        run_id="p",
        data_dir=data_dir,
    )
    poly.setup()
    assert poly.fast.step.mlp_step is None
    momentum = Trainer(cfg.with_overrides({"momentum": 0.9}), run_id="m", data_dir=data_dir)
    momentum.setup()
    # torch's own step where the update is not plain (without the wrapper that imports torch._dynamo,
    # unless something in this process has imported it)
    update = momentum.fast.update
    assert update == momentum.optimizer.step or update.__module__ == "dltui.core.spec.nodynamo"


def test_plain_sgd_steps_like_torchs():
    torch.manual_seed(2)
    a, b = MLP(6, (5,), 2), MLP(6, (5,), 2)
    b.load_state_dict(a.state_dict())
    x, y = torch.randn(9, 6), torch.randint(0, 2, (9,))
    opt_a, opt_b = PlainSGD(a.parameters(), lr=0.3), torch.optim.SGD(b.parameters(), lr=0.3)
    for model in (a, b):
        nn.functional.cross_entropy(model(x), y).backward()
    opt_a.plain_step()
    opt_b.step()
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)
