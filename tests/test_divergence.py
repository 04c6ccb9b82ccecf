"""The divergence rule (core/rules/divergence.py), judged against the loss at initialisation (epoch 0), and
the epoch-0 record every run starts with."""

from __future__ import annotations

import json

from dltui.core.rules import divergence
from dltui.core.rules.bestepoch import best_epoch
from dltui.core.rules.status import RunStatus
from dltui.core.spec.config import build_config
from dltui.core.train.trainer import Trainer, judged


def rec(epoch: int, loss) -> dict:
    return {"epoch": epoch, "train_loss": loss}


def test_a_final_loss_well_above_the_init_loss_or_non_finite_is_diverged():
    assert divergence.verdict(2.3, 45_000.0) is not None  # digits at lr 1e5: 45,000 against 2.3 at init
    assert divergence.verdict(2.3, None) is not None  # a non-finite loss is written as null
    assert divergence.verdict(2.3, float("nan")) is not None
    assert divergence.verdict(2.3, 0.05) is None
    assert divergence.verdict(2.3, 2.3 * divergence.WELL_ABOVE) is None  # at the line: not yet above it
    assert divergence.verdict(2.3, 2.3 * divergence.WELL_ABOVE * 1.01) is not None
    assert divergence.verdict(None, 45_000.0) is None  # no init loss: only a non-finite loss says diverged


def test_the_init_loss_is_epoch_0s_only():
    assert divergence.init_loss([rec(0, 2.3), rec(1, 8.6e22)]) == 2.3
    assert divergence.init_loss([rec(1, 8.6e22), rec(2, 4.5e4)]) is None  # an old run: no epoch 0


def test_a_running_run_reads_diverged_only_while_its_loss_is_non_finite():
    climbing = [rec(0, 2.3), rec(1, 50.0)]  # far above init, mid-run: it may still come down
    assert not divergence.run_diverged(climbing, RunStatus.RUNNING)
    assert divergence.run_diverged([*climbing, rec(2, None)], RunStatus.RUNNING)
    assert divergence.run_diverged(climbing, RunStatus.FINISHED)  # ended there: it diverged
    assert not divergence.run_diverged(climbing, RunStatus.INTERRUPTED)  # stopped on its way: no verdict
    assert divergence.run_diverged([rec(0, 2.3)], RunStatus.DIVERGED)


def test_the_trainer_turns_a_finished_run_above_its_init_loss_into_diverged():
    assert judged("finished", "", [rec(0, 2.3), rec(1, 0.1)]) == ("finished", "")
    status, reason = judged("finished", "early stop: x", [rec(0, 2.3), rec(1, 4.5e4)])
    assert status == "diverged" and "2.3 at initialisation" in reason and "early stop" in reason
    assert judged("interrupted", "stopped", [rec(0, 2.3), rec(1, 4.5e4)]) == ("interrupted", "stopped")


def digits(**values) -> Trainer:
    base = {"task": "digits", "device": "cpu", "checkpoint": False, "epochs": 3, "seed": 0}
    return Trainer(build_config([("test", {**base, **values})]), run_id="t", data_dir=".")


def test_digits_at_lr_1e5_ends_diverged_against_its_init_loss():
    """The case that used to end `finished`: the loss blows up within epoch 1 (8.6e22), then sits at tens of
    thousands with chance accuracy. Against epoch 1's loss it looked fine; against init it is not."""
    t = digits(lr=1e5)
    ended = t.run()
    assert ended.status == "diverged", ended.reason
    init, last = t.history[0], t.history[-1]
    assert init["epoch"] == 0 and 2.0 < init["train_loss"] < 2.6  # ln 10 ≈ 2.3: ten classes, untrained
    assert last["test_acc"] < 0.2 and "at initialisation" in ended.reason


def test_every_run_starts_at_epoch_0_before_any_step_and_it_is_never_the_best():
    t = digits(lr=0.1, val_fraction=0.2)
    assert t.run().status == "finished"
    epochs = [r["epoch"] for r in t.history]
    assert epochs == [0, 1, 2, 3]
    init = t.history[0]
    assert (init["step"], init["time"]) == (0, 0.0)
    for key in ("train_loss", "test_loss", "val_loss", "train_acc", "test_acc", "val_acc"):
        assert init[key] is not None, key
    assert init["test_acc"] < 0.3 < t.history[-1]["test_acc"]  # untrained, then learned
    assert t.summary("finished", "")["best_epoch"] >= 1
    # readers pick the best epoch by the same rule, even where epoch 0 scores best (a run that got worse)
    worse = [{**init, "val_acc": 0.9}, *({**r, "val_acc": 0.1} for r in t.history[1:])]
    assert best_epoch(worse, {}) == 1


def test_the_epoch_0_record_is_in_metrics_jsonl_and_a_resume_does_not_write_it_twice(cli, runs_dir, tmp_path):
    preset = tmp_path / "p.toml"
    preset.write_text('name = "p"\n[base]\ntask = "digits"\nepochs = 2\nbatch_size = "full"\n')
    assert cli("run", str(preset)).exit_code == 0
    [run] = list(runs_dir.iterdir())
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records] == [0, 1, 2]
    t = digits(lr=0.1, batch_size="full", epochs=4)  # the same run, two epochs further
    assert t.resume_from(run / "checkpoint.pt", history=records) == 2
    assert t.run().status == "finished"
    assert [r["epoch"] for r in t.history] == [0, 1, 2, 3, 4]


def test_the_lr_view_marks_no_run_diverged_mid_sweep():
    """The lab's lr view once read "X diverged (1)" mid-sweep, every run ending finished: a run above its
    first loss on its way is not diverged."""
    from dltui.tui.viewkit import RunData
    from dltui.tui.views.mnist import lr_points

    going = RunData("r", "lr=5", {"lr": 5.0}, RunStatus.RUNNING, [rec(0, 2.3), rec(1, 9.0)])
    _, bad = lr_points([going])
    assert bad == []
    going.status = RunStatus.FINISHED
    _, bad = lr_points([going])
    assert bad == [("sgd", 5.0)]
