"""The fast path changes no result: the lab's loop against a plain loop written the way the engine was,
and the amp / compile flags harmless (ignored with a note) on the CPU."""

from __future__ import annotations

import json
import math

import pytest
import torch
from host_reads import count_host_reads

from dltui.core.bench import reference
from dltui.core.data import build as build_task
from dltui.core.spec.config import RunConfig
from dltui.core.train.models import build_model
from dltui.core.train.trainer import Trainer, make_loss


def plain_loop(cfg: RunConfig, data_dir) -> list[dict]:
    """The training loop as it was before the fast path (core/bench/reference.py's, in the lab's sample
    order): fancy indexing, a host sync per step, no_grad eval."""
    cpu = torch.device("cpu")
    torch.manual_seed(cfg.seed)
    d = build_task(cfg, cpu, data_dir)
    model = build_model(cfg, d, cpu)
    loss_fn = make_loss(cfg.loss)
    opt = (
        torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, foreach=True)
        if cfg.optimizer == "sgd"
        else torch.optim.Adam(model.parameters(), lr=cfg.lr, foreach=True)
    )
    gen = torch.Generator().manual_seed(cfg.seed)
    n, nt = d.n_train, len(d.test_y)
    bs = n if cfg.batch_size == "full" else cfg.batch_size
    classify = d.kind == "classification"
    records = []
    for _ in range(cfg.epochs):
        if cfg.order == "stratified":
            order = torch.argsort(d.train_y, stable=True)
        elif bs >= n:
            order = None
        else:  # a task that draws its own order (the polynomial replays its seed's DataLoader) is followed
            order = d.shuffler.order(n) if d.shuffler is not None else torch.randperm(n, generator=gen)
        batches = reference.ordered_batches(d.train_x, d.train_y, bs, order)
        loss_sum, correct = reference.train_epoch(model, opt, loss_fn, batches, cpu, count_correct=classify)
        test_sum, test_correct = reference.eval_pass(model, loss_fn, [(d.test_x, d.test_y)], cpu, classify)
        records.append(
            {
                "train_loss": loss_sum / n,
                "test_loss": test_sum / nt,
                "train_acc": correct / n if classify else None,
                "test_acc": test_correct / nt if classify else None,
            }
        )
    return records


CONFIGS = {
    "digits minibatch, last batch smaller": RunConfig(
        task="digits", hidden=(30,), batch_size=100, epochs=3, lr=0.1, seed=3, device="cpu"
    ),
    "digits adam, momentum-free": RunConfig(
        task="digits", hidden=(20, 20), batch_size=64, epochs=2, optimizer="adam", lr=0.01, device="cpu"
    ),
    "digits full batch": RunConfig(
        task="digits", hidden=(30,), batch_size="full", epochs=3, lr=0.5, device="cpu"
    ),
    "digits stratified, momentum": RunConfig(
        task="digits",
        hidden=(10,),
        batch_size=50,
        epochs=2,
        order="stratified",
        momentum=0.9,
        lr=0.01,
        device="cpu",
    ),
    "polynomial": RunConfig(
        task="polynomial", hidden=(), loss="smooth_l1", batch_size=50, epochs=5, seed=2020, device="cpu"
    ),
}


@pytest.mark.parametrize("name", list(CONFIGS))
def test_same_seed_same_metrics_as_the_plain_loop(name, data_dir):
    cfg = CONFIGS[name]
    trainer = Trainer(cfg, run_id="t", data_dir=data_dir)
    assert trainer.run().status == "finished"
    expected = plain_loop(cfg, data_dir)
    trained = trainer.history[1:]  # epoch 0 (at init) has no counterpart in the plain loop
    assert trainer.history[0]["epoch"] == 0 and len(trained) == len(expected)
    for got, want in zip(trained, expected):
        for key, value in want.items():
            if value is None:
                assert got[key] is None
            else:
                assert got[key] == pytest.approx(value, rel=1e-4, abs=1e-6), (name, got["epoch"], key)


@pytest.mark.parametrize(
    "name", ["digits full batch", "digits minibatch, last batch smaller", "digits stratified, momentum"]
)
def test_steps_in_chunks_give_the_same_metrics(name, monkeypatch, data_dir):
    """A step larger than the CPU's micro-batch goes in chunks whose gradients add up to the step's own."""
    from dltui.core.train import fastpath

    monkeypatch.setattr(
        fastpath, "MICRO_BATCH_CPU", 37
    )  # chunks of 37 (and a smaller last one) in every step
    cfg = CONFIGS[name]
    trainer = Trainer(cfg, run_id="t", data_dir=data_dir)
    assert trainer.run().status == "finished"
    assert trainer.fast.step.micro == 37 < trainer.batch_size
    for got, want in zip(trainer.history[1:], plain_loop(cfg, data_dir), strict=True):  # after epoch 0
        for key, value in want.items():
            assert got[key] == pytest.approx(value, rel=1e-4, abs=1e-6), (name, got["epoch"], key)


def test_the_cpu_linear_layer_is_nn_linear_up_to_rounding():
    """models.Linear's transposed product on the CPU: the outputs and gradients of nn.Linear."""
    from torch import nn

    from dltui.core.train.models import Linear

    torch.manual_seed(0)
    fast, plain = Linear(784, 300), nn.Linear(784, 300)
    plain.load_state_dict(fast.state_dict())
    x = torch.randn(64, 784)
    out_fast, out_plain = fast(x), plain(x)
    assert out_fast.shape == out_plain.shape == (64, 300)
    assert torch.allclose(out_fast, out_plain, rtol=1e-5, atol=1e-5)
    (out_fast.relu() ** 2).sum().backward()
    (out_plain.relu() ** 2).sum().backward()
    for a, b in zip(fast.parameters(), plain.parameters(), strict=True):
        assert torch.allclose(a.grad, b.grad, rtol=1e-4, atol=1e-4)
    assert list(fast.state_dict()) == ["weight", "bias"]


def test_amp_and_compile_are_harmless_on_the_cpu(data_dir):
    base = RunConfig(task="digits", hidden=(20,), batch_size=64, epochs=2, device="cpu", seed=1)
    fast = base.with_overrides({"amp": True, "compile": True})
    plain_t, fast_t = (
        Trainer(base, run_id="a", data_dir=data_dir),
        Trainer(fast, run_id="b", data_dir=data_dir),
    )
    plain_end, fast_end = plain_t.run(), fast_t.run()
    assert fast_end.status == plain_end.status == "finished"
    for a, b in zip(plain_t.history, fast_t.history):
        assert b["train_loss"] == pytest.approx(a["train_loss"], rel=1e-6)
        assert b["test_acc"] == a["test_acc"]
    notes = " ".join(fast_end.summary["notes"])
    assert "amp = true ignored on cpu" in notes and "compile = true ignored on cpu" in notes
    assert "notes" not in plain_end.summary


def test_cli_run_with_amp_says_it_is_ignored(cli, runs_dir):
    result = cli(
        "run",
        "polynomial",
        "--epochs",
        "2",
        "--set",
        "amp=true",
        "--set",
        "compile=true",
        "--variant",
        "lr=0.1",
    )
    assert result.exit_code == 0, result.output
    assert "amp = true ignored on cpu" in result.output
    (run,) = [p for p in runs_dir.iterdir() if p.is_dir()]
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "finished" and math.isfinite(summary["final_train_loss"])
    assert any("amp" in n for n in summary["notes"])


def test_the_loss_sum_weights_the_smaller_last_batch(data_dir):
    """The epoch's loss (and the running loss of progress events) is each step's mean times its batch size."""
    cfg = RunConfig(task="digits", hidden=(10,), batch_size=500, epochs=1, device="cpu")
    t = Trainer(cfg, run_id="t", data_dir=data_dir)
    t.setup()
    last = t.data.n_train - 1000
    assert 0 < last < 500
    losses = [torch.tensor(1.0), torch.tensor(2.0), torch.tensor(3.0)]
    assert t.sums.loss_sum(losses).item() == pytest.approx(1.0 * 500 + 2.0 * 500 + 3.0 * last)
    assert t.sums.loss_sum(losses[:2]).item() == pytest.approx(1500.0)


def test_no_host_sync_per_step(monkeypatch, data_dir):
    """What keeps a GPU busy: the loop reads values back once per epoch, never once per step."""
    from dltui.core.train import trainer as engine
    from dltui.core.train.events import EpochEnded, RunStarted

    monkeypatch.setattr(engine, "PROGRESS_EVERY_S", float("inf"))
    reads = count_host_reads(monkeypatch)

    def listen(ev):
        if isinstance(ev, RunStarted):
            reads["on"] = True
        elif isinstance(ev, EpochEnded) and ev.record["epoch"] == 2:
            reads["on"] = False

    cfg = RunConfig(task="digits", hidden=(20,), batch_size=16, epochs=2, device="cpu")
    t = Trainer(cfg, run_id="t", data_dir=data_dir, listeners=[listen])
    assert t.run().status == "finished"
    assert t.steps_per_epoch >= 80
    assert 0 < reads["n"] <= 2 * 3  # per epoch: the record, the gradient norms (and nothing per step)


def test_sums_of_part_of_an_epoch(data_dir):
    """The sums from a step on (what a run resumed mid-epoch adds to the part before it)."""
    cfg = RunConfig(task="digits", hidden=(10,), batch_size=500, epochs=1, device="cpu")
    t = Trainer(cfg, run_id="t", data_dir=data_dir)
    t.setup()
    last = t.data.n_train - 1000
    assert t.sums.loss_sum([torch.tensor(2.0), torch.tensor(3.0)], first=500).item() == pytest.approx(
        2.0 * 500 + 3.0 * last
    )
    t.sums.preds.copy_(t.data.train_y)
    t.sums.preds[:10] = (t.data.train_y[:10] + 1) % 10  # the first ten predicted wrong
    assert t.sums.correct(None, t.data.n_train).item() == t.data.n_train - 10
    assert t.sums.correct(None, t.data.n_train, first=5).item() == t.data.n_train - 10
    assert t.sums.correct(None, 600, first=500).item() == 100
