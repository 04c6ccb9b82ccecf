"""Seed 002's views draw: per-layer gradient norms, decision regions, and the gradient tests' log-log
lines."""

from __future__ import annotations

import os
import subprocess
import sys

import plotext as plt

from dltui.tui.viewkit import VIEWS, RunData, ViewOptions, picture, uncoloured
from dltui.tui.views import load_all
from dltui.tui.views.gradients import layer_series


def draw(name: str, runs, **opts) -> str:
    """As the lab draws it (title and key above the plot), as text."""
    return draw_at(name, runs, 110, 30, **opts)


def draw_at(name: str, runs, width: int, height: int, **opts) -> str:
    load_all()
    return picture(plt, VIEWS[name][1], runs, ViewOptions(**opts), width, height)


def grad_run() -> RunData:
    recs = [
        {"epoch": e, "step": 10 * e, "time": 0.5 * e, "grad_norm": [1e-9 * e, 1e-5, 0.3]} for e in range(1, 6)
    ]
    return RunData("id-sigmoid", "sigmoid", records=recs)


def test_grad_norm_draws_one_line_per_layer_on_a_log_axis():
    out = draw("grad_norm", [grad_run()])
    assert "sigmoid: layer 1/3 = 2e-08" in out
    assert "1e-8" in out and "0.01" in out  # decades on the y axis
    assert "layer 1 (input) … 3 (output)" in out  # the key: the layers' colour scale


def test_grad_norm_shows_the_first_run_and_the_selected_one_side_by_side_on_one_scale():
    relu = RunData(
        "id-relu", "relu-kaiming", records=[{"epoch": e, "grad_norm": [0.5, 0.4, 0.3]} for e in range(1, 6)]
    )
    out = draw("grad_norm", [grad_run(), RunData("id-x", "sigmoid-xavier"), relu], selected="id-relu")
    assert "sigmoid: layer 1/3 = 2e-08" in out and "relu-kaiming: layer 1/3 = 2" in out
    assert "sigmoid-xavier" not in out
    assert out.count("1e-8") == 2  # both panels span the same decades


def test_grad_norm_panels_keep_their_run_and_ratio_in_the_title_at_80_columns():
    """At 80x24 the view is about 49x16: each panel's title is shortened to its run and ratio, not dropped."""
    relu = RunData(
        "id-relu", "relu-kaiming", records=[{"epoch": e, "grad_norm": [0.5, 0.4, 0.3]} for e in range(1, 6)]
    )
    title, key = draw_at("grad_norm", [grad_run(), relu], 49, 16, selected="id-relu").splitlines()[:2]
    assert "sigmoid: 1/3 = 2e-08" in title and "relu-kaiming: 1/3 = 2" in title
    assert "layer 1 (input)" in uncoloured(key)


def test_each_decade_tick_gets_a_row_of_its_own():
    """Twelve decades on a short plot: fewer ticks, each with its own label (two on one row overwrite each
    other)."""
    recs = [{"epoch": e, "grad_norm": [1e-10, 1.0, 10.0]} for e in range(1, 4)]
    out = uncoloured(draw_at("grad_norm", [RunData("id", "deep", records=recs)], 49, 16))
    labels = [line.split("┤")[0].strip() for line in out.splitlines() if "┤" in line]
    assert labels == ["1", "1e-3", "1e-6", "1e-9"]


def test_the_same_data_draws_the_same_picture_in_every_process():
    """plotext drops repeated ticks through a set, whose order follows the string hash: where two ticks met on
    one row, the label shown changed with PYTHONHASHSEED (the flaky snapshot). Two hash seeds, one picture."""
    code = (
        "import plotext as plt; from dltui.tui.views import load_all; "
        "from dltui.tui.viewkit import picture, VIEWS;"
        "load_all(); print(picture(plt, lambda p, r, o: (p.plot([0, 11], [0, 11]), p.yticks(list(range(12)),"
        " [f't{i}' for i in range(12)])), [], None, 30, 10))"
    )
    outs = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in (1, 2, 3, 4)
    }
    assert len(outs) == 1


def test_grad_norm_series_by_step_skips_zeros_and_waits_for_data():
    run = grad_run()
    run.records[0]["grad_norm"] = [0.0, 1e-5, 0.3]
    layers = layer_series(run, ViewOptions(x="step"))
    assert layers[0][0] == [20, 30, 40, 50] and layers[2][0] == [10, 20, 30, 40, 50]
    assert "no epoch yet" in draw("grad_norm", [RunData("id", "relu")])


def regions_run() -> RunData:
    xs = [i / 4 for i in range(-4, 5)]
    classes = [[0 if x < 0 else 1 for x in xs] for _ in xs]
    snap = {
        "epoch": 20,
        "kind": "regions",
        "xs": xs,
        "ys": xs,
        "classes": classes,
        "n_classes": 2,
        "points": {"x": [-0.5, 0.5, 0.6], "y": [0.1, -0.2, 0.3], "label": [0, 1, 0]},
    }
    return RunData(
        "id-gmm", "gmm", records=[{"epoch": 20, "test_acc": 0.9}], snapshots=[{**snap, "epoch": 10}, snap]
    )


def test_regions_draws_the_latest_grid_and_the_points():
    out = draw("regions", [regions_run()])
    assert "gmm epoch 20, test 90.0%" in out.splitlines()[0]
    assert (
        uncoloured(out.splitlines()[1]) == "█ class 0  █ class 1  · predicted region  ● test point"
    )  # the key
    assert "●" in out and "·" in out
    assert "no snapshot yet" in draw("regions", [RunData("id", "gmm")])


def test_gradcheck_draws_both_errors_with_their_slopes():
    eps = [0.5 * 2.0**-k for k in range(8)]
    snap = {
        "epoch": 1,
        "kind": "gradcheck",
        "name": "softmax",
        "eps": eps,
        "first": [e for e in eps],
        "second": [e * e for e in eps],
        "slope_first": 1.0,
        "slope_second": 2.0,
    }
    out = draw("gradcheck", [RunData("id", "default", snapshots=[snap])])
    title, key, top = out.splitlines()[:3]
    assert "⣿ |f(x+εd)-f(x)| 1.00 (~ε)" in title and "2.00 (~ε²)" in title  # the measured slopes
    assert uncoloured(key) == "█ softmax" and "┌" in top  # the key is above the plot, not on the data
    assert "1e-4" in out and "eps" in out
    assert "no result yet" in draw("gradcheck", [RunData("id", "default")])
