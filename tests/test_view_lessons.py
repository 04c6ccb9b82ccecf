"""What each view must let a reader see at a glance: a log axis where a curve spans decades, at least three
plain ticks on every axis, a crowded panel thinned to what reads, the polynomial's fit where its data is, a
frozen run's update ratio said as such; and the lab's words (no command-line flags) in its messages."""

from __future__ import annotations

import re

import plotext as plt
import pytest
from test_tui_snapshots import CPU, settle
from tui_fakes import toy_preset

from dltui.tui.app import LabApp
from dltui.tui.form import lab_words
from dltui.tui.viewkit import (
    VIEWS,
    RunData,
    ViewOptions,
    log_ticks,
    nice_ticks,
    picture,
    tick_label,
    uncoloured,
)
from dltui.tui.views import load_all

TICK = re.compile(r"^\s*(\S+)\s*┤", re.M)  # a y tick's label, left of the axis


def draw(name, runs, width=70, height=24, **opts) -> str:
    load_all()
    return uncoloured(picture(plt, VIEWS[name][1], runs, ViewOptions(**opts), width, height))


def run(variant="a", index=0, config=None, **series) -> RunData:
    n = len(next(iter(series.values())))
    records = [
        {"epoch": e + 1, "step": e + 1, "time": e, **{k: v[e] for k, v in series.items()}} for e in range(n)
    ]
    return RunData(f"r-{variant}", variant, config or {"lr": 0.1}, "finished", records, index=index)


def test_a_loss_spanning_more_than_two_decades_starts_on_a_log_axis_and_l_turns_it_linear():
    falling = run(train_loss=[34 * 0.7**e for e in range(30)])  # 34 down to 0.001
    out = draw("loss", [falling])
    assert "loss (log)" in out
    ticks = TICK.findall(out)
    assert len(ticks) >= 3 and all(re.fullmatch(r"[0-9.e+-]+", t) for t in ticks), ticks
    assert "loss (log)" not in draw("loss", [falling], log=False)
    assert "loss (log)" not in draw("loss", [run(train_loss=[2.0, 1.0, 0.5])])  # under two decades: linear


@pytest.mark.parametrize("size", [(58, 16), (100, 20), (160, 40)])
def test_every_axis_has_three_plain_ticks_at_any_panel_size(size):
    """The lr curve of a sweep whose final losses sit close together (mnist-lr-sweep: no y ticks before) and
    of two optimizers within a decade (adam-vs-sgd: only "1" before)."""
    runs = [
        run(f"lr={lr}", i, {"lr": lr, "optimizer": opt}, train_loss=[2.3, final])
        for i, (lr, opt, final) in enumerate(
            [
                (0.001, "sgd", 2.2),
                (0.01, "sgd", 0.9),
                (0.1, "sgd", 0.4),
                (0.01, "adam", 0.5),
                (0.1, "adam", 1.7),
            ]
        )
    ]
    for log in (None, True):
        out = draw("lr_curve", runs, *size, log=log)
        ticks = TICK.findall(out)
        assert len(ticks) >= 3, (log, size, out)
        assert not any("e-0" in t or t.startswith("0.1e") for t in ticks)  # plain: 1e-4, 0.01, 0.5


def test_ticks_are_round_and_plain():
    assert nice_ticks(0.05, 0.0557, 6) == [0.05, 0.052, 0.054]
    assert log_ticks(0.005, 34, 6) == [0.01, 0.1, 1.0, 10.0]
    assert log_ticks(0.3, 2.4, 6) == [0.5, 1.0, 2.0]  # within a decade: 2 and 5 between
    assert [tick_label(v) for v in (1e-5, 0.00015, 0.25, 3000, 2e-9)] == [
        "1e-5",
        "0.00015",
        "0.25",
        "3000",
        "2e-9",
    ]


def test_a_panel_of_more_than_eight_curves_is_thinned_then_grouped():
    lrs = [1.0, 0.1, 0.01, 0.001, 0.0003, 0.0001]
    runs = [
        run(
            f"{opt},lr={lr}",
            i,
            {"lr": lr, "optimizer": opt},
            train_loss=[2.3, 1 + i / 10],
            test_loss=[2.4, 1.1],
        )
        for i, (opt, lr) in enumerate((o, lr) for o in ("sgd", "adam") for lr in lrs)
    ]
    out = draw("loss", runs, 100, 30)
    assert "optimizer=sgd (6 runs)" in out and "optimizer=adam (6 runs)" in out  # 24 curves: 2 lines, 2 bands
    assert "mean & range per group" in out
    ten = [
        run(f"lr={i}", i, {"lr": i}, train_loss=[2.3, 1 / (i + 1)], test_loss=[2.4, 1.1]) for i in range(6)
    ]
    assert "train only" in draw("loss", ten, 100, 30)  # 12 curves of one sweep: the 6 train ones


def test_train_and_test_of_a_run_never_share_a_colour():
    from dltui.tui.views.basic import _lines

    two = run(train_loss=[2.0, 1.0], test_loss=[2.2, 1.3])
    colours = [line.colour for line in _lines([two], ViewOptions(), "loss")]
    assert len(colours) == 2 and colours[0] != colours[1]


def test_the_polynomial_fit_is_drawn_where_the_data_is():
    xs = [i / 10 for i in range(-33, 29)]
    target = [6.19 * x**4 - 4.8 * x**3 + 7.71 * x**2 - 2.04 * x + 4.4 for x in xs]
    snap = {"epoch": 500, "kind": "function", "x": xs, "target": target, "learned": [t * 0.9 for t in target]}
    out = draw("function", [RunData("r", "lr=0.01", {}, "finished", [], [snap])], 100, 30)
    ticks = [float(t) for t in TICK.findall(out)]
    assert (
        max(ticks) < 250 and min(ticks) >= -50
    )  # the target within |x| <= 2 (about 200), not the x⁴ tail's 1000
    assert "lr=0.01: learned by epoch vs target" in out and "• target" in out and "⣿ 500" in out


def test_a_frozen_run_says_no_layer_moved_rather_than_no_measurement():
    zeros = RunData(
        "z", "zeros", {"lr": 0.1}, "finished", [{"epoch": e, "update_ratio": [None, None]} for e in (1, 2)]
    )
    out = draw("update_ratio", [zeros])
    assert "no layer moved" in out and "no measurement yet" not in out


def test_per_run_views_show_every_run_of_a_four_run_preset():
    runs = [
        run(v, i, {"lr": 0.1}, grad_norm=[[10.0 ** (-i * k) for k in range(3)]] * 3)
        for i, v in enumerate(["sigmoid", "sigmoid-xavier", "relu", "relu-kaiming"])
    ]
    out = draw("grad_norm", runs, 160, 24)
    assert all(v in out for v in ["sigmoid:", "sigmoid-xavier", "relu:", "relu-kaiming"])


def test_messages_in_the_lab_speak_of_the_form_not_of_flags():
    said = lab_words(
        "MNIST not found; or run offline on scikit-learn's digits with --set task=digits --set model=mlp"
    )
    assert "--set" not in said and "task = digits and model = mlp in the form" in said


async def test_a_bad_value_at_80x24_is_said_in_full_and_in_sight():
    app = LabApp(presets=[toy_preset()], device_probe=lambda: CPU)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.click("#field-batch_size")
        await pilot.press("ctrl+a", "backspace", "0")
        await settle(pilot)
        error = app.screen.query_one("#form-error")
        text = str(error.render())
        assert text.startswith("✗ batch_size") and "e.g." in text  # what is wrong and how to fix it
        assert error.region.height >= 2 and error.region.bottom <= 23  # wrapped, and above the footer


def test_escape_from_watching_a_preset_lands_on_that_preset(runs_dir):
    """`dltui watch mnist-stratified` opens past runs over the lab: the lab below shows that preset."""
    assert LabApp(watch=[], watch_preset="mnist-stratified", device_probe=lambda: CPU).preset.name == (
        "mnist-stratified"
    )


async def test_a_regression_run_gets_no_accuracy_panel():
    """The polynomial with an accuracy view asked for (a preset, or past runs' default views): no empty
    panel once its runs are known to be regression."""
    from dataclasses import replace as with_

    from tui_fakes import curve_events, fake_worker

    from dltui.tui.plots import ViewPlot

    app = LabApp(
        presets=[with_(toy_preset(), views=("loss", "accuracy", "function"))],
        executor_factory=fake_worker(lambda plans: curve_events(plans[0], 5)),
        device_probe=lambda: CPU,
    )
    async with app.run_test(size=(140, 45)) as pilot:
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot, lambda a: a.batch is not None and a.batch.done)
        shown = [p.view_name for p in app.query(ViewPlot) if p.display]
        assert shown == ["loss", "function"]
