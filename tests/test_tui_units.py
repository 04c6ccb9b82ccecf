"""The TUI's pieces without a screen: views draw, the batch follows events, the form checks values."""
from __future__ import annotations

import plotext as plt
import pytest

from dltui.core import runner
from dltui.core.errors import BadInput
from dltui.core.worker import WorkerDone
from dltui.tui.form import form_keys, initial_values, parse_field
from dltui.tui.plots import known_views
from dltui.tui.session import RunGroup
from dltui.tui.viewkit import VIEWS, RunData, ViewOptions
from tui_fakes import curve_events, toy_preset


def _runs() -> list[RunData]:
    plans = runner.plan(toy_preset())
    batch = RunGroup("toy-poly", plans)
    batch.apply([ev for p in plans for ev in curve_events(p, 12)])
    return batch.list()


def _draw(name: str, runs: list[RunData], opts: ViewOptions) -> str:
    plt.clear_figure()
    plt.plotsize(80, 20)
    VIEWS[name][1](plt, runs, opts)
    return plt.build()


def test_basic_views_are_registered_and_unknown_ones_skipped():
    assert known_views(["loss", "no_such_view", "function", "accuracy"]) == ["loss", "function", "accuracy"]


def test_loss_view_draws_every_run_with_a_legend():
    out = _draw("loss", _runs(), ViewOptions())
    assert "lr=0.1" in out and "lr=0.01" in out
    assert "train" in out and "test" in out  # the title tells the markers apart


def test_loss_view_log_axis_and_x_axes():
    runs = _runs()
    assert "loss (log)" in _draw("loss", runs, ViewOptions(log=True))
    assert "wall-clock seconds" in _draw("loss", runs, ViewOptions(x="time"))
    assert "update" in _draw("loss", runs, ViewOptions(x="step"))


def test_accuracy_view_with_no_accuracy_draws_empty_axes():
    assert "accuracy" in _draw("accuracy", _runs(), ViewOptions())


def test_accuracy_view_draws_percentages():
    run = RunData("r", "a", records=[{"epoch": e, "train_acc": 0.1 * e, "test_acc": 0.09 * e} for e in range(1, 6)])
    out = _draw("accuracy", [run], ViewOptions(log=True))  # log is ignored for accuracy
    assert "50" in out and "a" in out


def test_function_view_shows_the_selected_run():
    runs = _runs()
    out = _draw("function", runs, ViewOptions(selected=runs[0].run_id))
    assert "lr=0.1: learned vs target" in out and "epoch 12" in out and "target" in out
    assert "no snapshot yet" in _draw("function", [RunData("r", "a")], ViewOptions())


def test_batch_follows_events_and_fills_rows():
    runs = {r.variant: r for r in _runs()}
    assert runs["lr=0.1"].status == "finished" and len(runs["lr=0.1"].records) == 12
    assert runs["lr=0.01"].snapshots[0]["kind"] == "function"


def test_batch_failed_run_gives_a_notice_and_a_reason():
    plans = runner.plan(toy_preset())
    batch = RunGroup("toy-poly", plans)
    applied = batch.apply(curve_events(plans[0], 2, "failed", "RuntimeError: CUDA out of memory"))
    assert ("toy-poly lr=0.1 failed: RuntimeError: CUDA out of memory", "error") in applied.notices
    assert batch.row("lr=0.1")[1] == "failed" and "out of memory" in batch.row("lr=0.1")[-1]


def test_batch_worker_death_fails_live_runs_and_stop_skips_queued():
    plans = runner.plan(toy_preset())
    died = RunGroup("toy-poly", plans)
    died.apply(curve_events(plans[0], 1)[:2] + [WorkerDone("the training process died (exit code -9)")])
    assert [r.status for r in died.list()] == ["failed", "failed"] and died.done
    stopped = RunGroup("toy-poly", plans)
    stopped.apply(curve_events(plans[0], 1, "interrupted", "stopped by the user") + [WorkerDone()])
    assert [r.status for r in stopped.list()] == ["interrupted", "skipped"]


def test_a_run_sent_again_from_a_checkpoint_joins_its_curve():
    """On Ray a run whose node died starts again from epoch 3: its curve in the lab has each epoch once."""
    plans = runner.plan(toy_preset())
    batch = RunGroup("toy-poly", plans)
    first, again = curve_events(plans[0], 5), curve_events(plans[0], 8)
    batch.apply(first[:6] + [again[0]] + again[4:])  # epochs 1-5, then RunStarted and epochs 4-8 again
    assert [r["epoch"] for r in batch.runs["lr=0.1"].records] == list(range(1, 9))


def test_form_shows_the_knobs_and_the_shared_values():
    preset = toy_preset()
    keys = form_keys(preset)
    assert keys[:3] == ["lr", "batch_size", "epochs"] and "hidden" in keys and "n_samples" in keys
    init = initial_values(preset, keys)
    assert init["epochs"] == ("20", "") and init["hidden"] == ("[]", "")
    assert init["lr"] == ("", "per variant: 0.1 | 0.01")


@pytest.mark.parametrize("key,text,value", [("lr", "0.5", 0.5), ("batch_size", "full", "full"),
                                            ("hidden", "[20,20]", [20, 20]), ("optimizer", "adam", "adam")])
def test_form_values_parse_like_set(key, text, value):
    assert parse_field(key, text) == value


@pytest.mark.parametrize("key,text,why", [("lr", "-1", "lr must be a number > 0"), ("batch_size", "0", '"full"'),
                                          ("optimizer", "adamw", "one of sgd, adam"), ("epochs", "1.5", "whole number")])
def test_form_bad_values_say_why(key, text, why):
    with pytest.raises(BadInput, match=why) as e:
        parse_field(key, text)
    assert not str(e.value).startswith("--set")
