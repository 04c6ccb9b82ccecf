"""The TUI's pieces without a screen: views draw, the batch follows events, the form checks values."""

from __future__ import annotations

import plotext as plt
import pytest
from tui_fakes import curve_events, toy_preset

from dltui.core.executors import runner
from dltui.core.executors.trainingprocess import ExecutorDone
from dltui.core.rules.errors import BadInput
from dltui.tui.form import form_keys, initial_values, parse_field, variants_hint
from dltui.tui.lab.session import RunGroup
from dltui.tui.plots import known_views
from dltui.tui.viewkit import VIEWS, RunData, ViewOptions


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


def _rgb(colour) -> str:
    return "38;2;{};{};{}".format(*colour)


def test_loss_view_draws_every_run_in_its_colour_and_no_legend_on_the_lines():
    runs = _runs()
    out = _draw("loss", runs, ViewOptions())
    assert runs[0].colour != runs[1].colour and _rgb(runs[0].colour) in out and _rgb(runs[1].colour) in out
    assert "lr=0.1" not in out  # the runs table's coloured rows are the key
    assert "train" in out and "test" in out  # the title tells the markers apart


def test_loss_view_log_axis_and_x_axes():
    runs = _runs()
    assert "loss (log)" in _draw("loss", runs, ViewOptions(log=True))
    assert "wall-clock seconds" in _draw("loss", runs, ViewOptions(x="time"))
    assert "update" in _draw("loss", runs, ViewOptions(x="step"))


def test_accuracy_view_with_no_accuracy_draws_empty_axes():
    assert "accuracy" in _draw("accuracy", _runs(), ViewOptions())


def test_accuracy_view_draws_percentages():
    run = RunData(
        "r", "a", records=[{"epoch": e, "train_acc": 0.1 * e, "test_acc": 0.09 * e} for e in range(1, 6)]
    )
    out = _draw("accuracy", [run], ViewOptions(log=True))  # log is ignored for accuracy
    assert "50" in out and "a" in out


def test_function_view_shows_the_selected_run():
    runs = _runs()
    out = _draw("function", runs, ViewOptions(selected=runs[0].run_id))
    assert "lr=0.1: learned by epoch vs target" in out
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
    died.apply(curve_events(plans[0], 1)[:2] + [ExecutorDone("the training process died (exit code -9)")])
    assert [r.status for r in died.list()] == ["failed", "failed"] and died.done
    stopped = RunGroup("toy-poly", plans)
    stopped.apply(curve_events(plans[0], 1, "interrupted", "stopped by the user") + [ExecutorDone()])
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
    assert keys[:4] == ["task", "lr", "batch_size", "epochs"] and "hidden" in keys and "n_samples" in keys
    assert "activation" not in keys  # a linear model has nothing to activate
    init = initial_values(preset, keys)
    assert (
        init["epochs"] == ("20", "") and init["hidden"] == ("[]", "") and init["task"] == ("polynomial", "")
    )
    assert init["lr"] == ("", "2 values ↓") and variants_hint(preset, keys) == "lr: 0.1 | 0.01"


def test_form_lists_every_per_variant_value_in_full_and_hides_what_the_task_ignores():
    from dltui.core.spec.presets import load

    sweep = load("adam-vs-sgd")
    assert "lr: 1.0 | 0.1 | 0.01 | 0.001 | 0.0003 | 0.0001" in variants_hint(sweep, form_keys(sweep))
    keys = form_keys(load("gradcheck"))
    assert "lr" not in keys and "optimizer" not in keys and "momentum" not in keys and "seed" in keys


@pytest.mark.parametrize(
    "key,text,value",
    [
        ("lr", "0.5", 0.5),
        ("batch_size", "full", "full"),
        ("hidden", "[20,20]", [20, 20]),
        ("optimizer", "adam", "adam"),
    ],
)
def test_form_values_parse_like_set(key, text, value):
    assert parse_field(key, text) == value


@pytest.mark.parametrize(
    "key,text,why",
    [
        ("lr", "-1", "lr must be a number > 0"),
        ("batch_size", "0", '"full"'),
        ("optimizer", "adamw", "one of sgd, adam"),
        ("epochs", "1.5", "whole number"),
    ],
)
def test_form_bad_values_say_why(key, text, why):
    with pytest.raises(BadInput, match=why) as e:
        parse_field(key, text)
    assert not str(e.value).startswith("--set")


def test_runs_that_differ_in_one_number_are_coloured_along_a_sequential_scale():
    from dltui.core.readout.colours import PALETTE, run_colours, sequential

    sweep = [{"lr": lr, "epochs": 5} for lr in (0.1, 0.001, 0.01)]
    assert run_colours(sweep) == [sequential(1.0), sequential(0.0), sequential(0.5)]  # by value, not by order
    mixed = [
        {"lr": 0.1, "optimizer": "sgd"},
        {"lr": 0.01, "optimizer": "adam"},
        {"lr": 0.1, "optimizer": "adam"},
    ]
    assert run_colours(mixed) == list(PALETTE[:3])
    assert len(set(PALETTE)) == len(PALETTE)


def test_a_long_title_is_cut_with_an_ellipsis_not_dropped():
    from dltui.tui.viewkit import Fitted

    plt.clear_figure()
    fitted = Fitted(plt, 40, 10)
    fitted.plot([1, 2], [1, 2])
    fitted.title("the essential part first, then details nobody must lose the plot for")
    title = fitted.render().splitlines()[0]
    assert "the essential part first" in title and title.rstrip().endswith("…") and len(title.rstrip()) <= 40


def test_a_legend_goes_above_the_plot_and_a_long_one_ends_in_an_ellipsis():
    from dltui.tui.viewkit import MAX_KEY_LINES, Fitted, uncoloured

    plt.clear_figure()
    fitted = Fitted(plt, 40, 16)
    for i in range(12):
        fitted.plot(
            [1, 2], [i, i + 1], color=(40 * (i % 6), 100, 200), marker="braille", label=f"run number {i}"
        )
    lines = [uncoloured(line).rstrip() for line in fitted.render().splitlines()]
    key = lines[:MAX_KEY_LINES]
    assert key[0].startswith("⣿ run number 0  ⣿ run number 1") and key[-1].endswith("…")
    assert all(len(line) <= 40 for line in key) and "┌" in lines[MAX_KEY_LINES]  # then the plot's frame
    assert len(lines) == 16 and not any(
        "run number" in line for line in lines[MAX_KEY_LINES:]
    )  # none on the data


def test_one_run_that_blew_up_does_not_set_the_loss_axis():
    ok = [
        RunData(f"r{i}", f"v{i}", records=[{"epoch": e, "train_loss": 2.3 / e} for e in range(1, 6)])
        for i in range(3)
    ]
    bad = RunData("b", "bad", records=[{"epoch": e, "train_loss": 10.0**e} for e in range(1, 6)])
    out = _draw("loss", ok + [bad], ViewOptions())
    assert "^ above 2.3" in out and "100000" not in out


def test_a_preset_names_the_run_with_the_lesson_and_a_wrong_name_is_refused():
    from dltui.core.spec.presets import load, parse

    assert load("mnist-stratified").focus == "stratified"
    text = 'name = "p"\nfocus = "nope"\n[base]\ntask = "polynomial"\n[[variants]]\nname = "a"\n'
    with pytest.raises(BadInput, match='focus = "nope" is not a variant; use one of a'):
        parse(text, "p.toml")


def test_header_names_the_cores_the_runs_share_not_the_helpers_threads():
    from dltui.core.spec.threads import cores
    from dltui.tui.lab.status import runs_device

    n = cores()
    assert runs_device("cpu, 2 threads") == f"cpu, {n} core{'s' if n != 1 else ''}"
    assert runs_device("cpu, 1 thread") == f"cpu, {n} core{'s' if n != 1 else ''}"
    assert runs_device("cuda:0 NVIDIA H100 80GB HBM3") == "cuda:0 NVIDIA H100 80GB HBM3"  # a GPU as named
