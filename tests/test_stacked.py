"""The batched step of core/sweep/stacked.py against each copy trained alone: its hand-written forward and
backward (the first layer as one product for a batch all copies share, or per copy), each loss and each
activation, the micro-batches' gradients summed, and the update (a few ops over all copies, or torch's fused
kernel once per copy) against torch's own optimizer on each copy."""

from __future__ import annotations

import pytest
import torch
from test_batched import DIGITS, alone_and_batched, assert_close, curve, plans_of
from torch import nn

from dltui.core.executors import batched
from dltui.core.sweep import stacked
from dltui.core.sweep.stacked import StackedMLP, StackedOptimizer
from dltui.core.train.models import MLP


def copies(n: int, sizes: tuple[int, ...], act: str) -> list[MLP]:
    torch.manual_seed(0)
    return [MLP(sizes[0], sizes[1:-1], sizes[-1], act, 0.0) for _ in range(n)]


def alone_loss(name: str, out: torch.Tensor, y: torch.Tensor, n_classes: int) -> torch.Tensor:
    """The loss a run alone takes (core/train/factories.py's module; mse on a classifier: one-hot)."""
    if name == "cross_entropy":
        return nn.CrossEntropyLoss()(out, y)
    if n_classes:
        y = nn.functional.one_hot(y, n_classes).to(out.dtype)
    return (nn.SmoothL1Loss() if name == "smooth_l1" else nn.MSELoss())(out, y)


CASES = [  # (loss, classifier, activation)
    ("cross_entropy", True, "relu"),
    ("cross_entropy", True, "sigmoid"),
    ("cross_entropy", True, "tanh"),
    ("cross_entropy", True, "identity"),
    ("cross_entropy", True, "gelu"),  # no hand-written backward: autograd, the same forward
    ("mse", True, "relu"),
    ("mse", False, "tanh"),
    ("smooth_l1", False, "relu"),
    ("smooth_l1", False, "leaky_relu"),
]


@pytest.mark.parametrize("shared", [True, False], ids=["one-batch-for-all", "a-batch-per-copy"])
@pytest.mark.parametrize("loss, classify, act", CASES, ids=[f"{c[0]}-{c[2]}" for c in CASES])
def test_the_step_gives_each_copy_the_loss_and_gradients_it_has_alone(loss, classify, act, shared):
    c, b, sizes = 3, 24, (7, 9, 5, 3 if classify else 2)
    models = copies(c, sizes, act)
    model = StackedMLP(models)
    torch.manual_seed(1)
    x = torch.randn(b, sizes[0]) * 3 if shared else torch.randn(c, b, sizes[0]) * 3
    y = (
        torch.randint(0, sizes[-1], (b,) if shared else (c, b))
        if classify
        else torch.randn(*x.shape[:-1], 2) * 3
    )
    n_classes = sizes[-1] if classify else 0
    # two micro-batches of a step of 24: the gradients add up, each weighted by its share
    outs, values = [], []
    for k, (lo, hi) in enumerate(((0, 16), (16, 24))):
        xs, ys = (x[lo:hi], y[lo:hi]) if shared else (x[:, lo:hi], y[:, lo:hi])
        out, value = model.train_step(xs, ys, loss, n_classes, (hi - lo) / b, shared, k == 0)
        outs.append(out)
        values.append(value)
    for i, m in enumerate(models):
        xi, yi = (x, y) if shared else (x[i], y[i])
        out = m(xi)
        want = alone_loss(loss, out, yi, n_classes)
        want.backward()
        got_loss = (values[0][i] * 16 + values[1][i] * 8) / b
        assert float(got_loss) == pytest.approx(want.item(), rel=1e-5)
        torch.testing.assert_close(torch.cat([o[i] for o in outs], 1).t(), out.detach(), rtol=1e-5, atol=1e-5)
        for p, g in zip(m.parameters(), model.grads):
            torch.testing.assert_close(g[i].view_as(p), p.grad, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("fused_from", [10**9, 0], ids=["flat", "fused-per-copy"])
@pytest.mark.parametrize(
    "kind, settings, ahead",
    [
        ("sgd", [dict(lr=0.1, momentum=0.9), dict(lr=0.03, momentum=0.0), dict(lr=0.01, momentum=0.5)], 0),
        ("sgd", [dict(lr=0.1, momentum=0.9, weight_decay=1e-2), dict(lr=0.05, momentum=0.9)], 0),
        ("adam", [dict(lr=1e-2), dict(lr=1e-3, weight_decay=1e-2), dict(lr=3e-3)], 0),
        ("adam", [dict(lr=1e-2), dict(lr=1e-3)], 2),
    ],
    ids=["sgd-momentum-mixed", "sgd-weight-decay", "adam", "adam-copies-at-other-steps"],
)
def test_the_update_is_torchs_for_each_copy(kind, settings, ahead, fused_from, monkeypatch):
    """`ahead`: the first copy took that many steps alone before (a resumed run): its own bias corrections."""
    monkeypatch.setattr(stacked, "FUSED_FROM", fused_from)
    models = copies(len(settings), (6, 8, 3), "relu")
    cls = torch.optim.Adam if kind == "adam" else torch.optim.SGD
    own = [cls(m.parameters(), **s) for m, s in zip(models, settings)]
    for _ in range(ahead):
        for p in models[0].parameters():
            p.grad = torch.randn(p.shape)
        own[0].step()
    model = StackedMLP(models)
    opt = StackedOptimizer(model, own, kind)
    assert opt.fused == (fused_from == 0)
    gen = torch.Generator().manual_seed(3)
    for _ in range(5):
        grads = [[torch.randn(p.shape, generator=gen) for p in m.parameters()] for m in models]
        for k, g in enumerate(model.grads):
            g.copy_(torch.stack([gs[k].view(g.shape[1:]) for gs in grads]))
        opt.step()
        for m, o, gs in zip(models, own, grads):
            for p, g in zip(m.parameters(), gs):
                p.grad = g
            o.step()
    for i, m in enumerate(models):
        for p, s in zip(m.parameters(), model.params):
            torch.testing.assert_close(s[i].detach().view_as(p), p.detach(), rtol=1e-5, atol=1e-6)
    # the state handed back is torch's own, as a run alone checkpoints it
    back = [cls(m.parameters(), **s) for m, s in zip(copies(len(settings), (6, 8, 3), "relu"), settings)]
    opt.to_optimizers(back, list(range(len(back))))
    for o, b in zip(own, back):
        for (_p, st), (_q, bt) in zip(o.state.items(), b.state.items()):
            assert st.keys() == bt.keys()
            for key in st:
                torch.testing.assert_close(bt[key].float(), st[key].float(), rtol=1e-5, atol=1e-6)


def test_copies_that_leave_take_their_weights_and_state_with_them():
    models = copies(4, (5, 6, 3), "tanh")
    own = [torch.optim.SGD(m.parameters(), lr=0.1 * (i + 1), momentum=0.9) for i, m in enumerate(models)]
    model = StackedMLP(models)
    opt = StackedOptimizer(model, own, "sgd")
    x, y = torch.randn(10, 5), torch.randint(0, 3, (10,))
    model.train_step(x, y, "cross_entropy", 3, 1.0, True, True)
    opt.step()
    before = [p.detach()[[0, 3]].clone() for p in model.params]
    model.select([0, 3])
    opt.select([0, 3])
    assert model.copies == 2 and opt.values["lr"] == pytest.approx([0.1, 0.4])
    for p, want in zip(model.params, before):
        assert torch.equal(p.detach(), want)
    out, _ = model.train_step(x, y, "cross_entropy", 3, 1.0, True, True)
    opt.step()
    assert out.shape == (2, 3, 10) and all(torch.isfinite(p).all() for p in model.params)


@pytest.mark.parametrize("fused_from", [10**9, 0], ids=["flat", "fused-per-copy"])
@pytest.mark.parametrize(
    "optimizer, rates",
    [(dict(optimizer="sgd", momentum=0.9), (1e-2, 3e-3, 1e-3)), (dict(optimizer="adam"), (3e-3, 1e-3, 3e-4))],
    ids=["sgd-momentum", "adam"],
)
def test_a_learning_rate_sweep_takes_one_batch_for_all_and_has_the_losses_alone(
    optimizer, rates, fused_from, data_dir, monkeypatch
):
    """Copies that differ only in lr share their data and order: the first layer is one product for all."""
    monkeypatch.setattr(stacked, "FUSED_FROM", fused_from)
    plans = plans_of(DIGITS, {f"lr={lr}": dict(**optimizer, lr=lr, epochs=50) for lr in rates})
    assert [len(g) for g in batched.groups(plans)] == [3]
    store, together, alone = alone_and_batched(plans, data_dir)
    for b, a in zip(together, alone):
        assert b.status == a.status == "finished"
        assert_close(curve(store, b.run_id), curve(store, a.run_id))
        assert_close(curve(store, b.run_id, "test_loss"), curve(store, a.run_id, "test_loss"))
        assert_close(curve(store, b.run_id, "train_acc"), curve(store, a.run_id, "train_acc"))
