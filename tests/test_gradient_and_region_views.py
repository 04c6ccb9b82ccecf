"""Seed 002's views draw: per-layer gradient norms, decision regions, and the gradient tests' log-log lines."""
from __future__ import annotations

import plotext as plt

from dltui.tui.viewkit import VIEWS, Fitted, RunData, ViewOptions
from dltui.tui.views import load_all
from dltui.tui.views.gradients import layer_series


def draw(name: str, runs, **opts) -> str:
    """As the lab draws: titles fitted to the width, the size set after the drawer (it may make panels)."""
    load_all()
    plt.clear_figure()
    VIEWS[name][1](Fitted(plt, 110, 30), runs, ViewOptions(**opts))
    plt.plotsize(110, 30)
    return plt.build()


def grad_run() -> RunData:
    recs = [{"epoch": e, "step": 10 * e, "time": 0.5 * e, "grad_norm": [1e-9 * e, 1e-5, 0.3]} for e in range(1, 6)]
    return RunData("id-sigmoid", "sigmoid", records=recs)


def test_grad_norm_draws_one_line_per_layer_on_a_log_axis():
    out = draw("grad_norm", [grad_run()])
    assert "sigmoid layer 1/3 = 2e-08" in out
    assert "1e-09" in out and "0.1" in out  # decades on the y axis


def test_grad_norm_shows_the_first_run_and_the_selected_one_side_by_side_on_one_scale():
    relu = RunData("id-relu", "relu-kaiming", records=[{"epoch": e, "grad_norm": [0.5, 0.4, 0.3]} for e in range(1, 6)])
    out = draw("grad_norm", [grad_run(), RunData("id-x", "sigmoid-xavier"), relu], selected="id-relu")
    assert "sigmoid layer 1/3 = 2e-08" in out and "relu-kaiming layer 1/3 = 2e+00" in out
    assert "sigmoid-xavier" not in out
    assert out.count("1e-09") == 2  # both panels span the same decades


def test_grad_norm_series_by_step_skips_zeros_and_waits_for_data():
    run = grad_run()
    run.records[0]["grad_norm"] = [0.0, 1e-5, 0.3]
    layers = layer_series(run, ViewOptions(x="step"))
    assert layers[0][0] == [20, 30, 40, 50] and layers[2][0] == [10, 20, 30, 40, 50]
    assert "no epoch yet" in draw("grad_norm", [RunData("id", "relu")])


def regions_run() -> RunData:
    xs = [i / 4 for i in range(-4, 5)]
    classes = [[0 if x < 0 else 1 for x in xs] for _ in xs]
    snap = {"epoch": 20, "kind": "regions", "xs": xs, "ys": xs, "classes": classes, "n_classes": 2,
            "points": {"x": [-0.5, 0.5, 0.6], "y": [0.1, -0.2, 0.3], "label": [0, 1, 0]}}
    return RunData("id-gmm", "gmm", records=[{"epoch": 20, "test_acc": 0.9}], snapshots=[{**snap, "epoch": 10}, snap])


def test_regions_draws_the_latest_grid_and_the_points():
    out = draw("regions", [regions_run()])
    assert "gmm epoch 20 test 90.0%" in out
    assert "●" in out and "·" in out
    assert "no snapshot yet" in draw("regions", [RunData("id", "gmm")])


def test_gradcheck_draws_both_errors_with_their_slopes():
    eps = [0.5 * 2.0**-k for k in range(8)]
    snap = {"epoch": 1, "kind": "gradcheck", "name": "softmax", "eps": eps, "first": [e for e in eps],
            "second": [e * e for e in eps], "slope_first": 1.0, "slope_second": 2.0}
    out = draw("gradcheck", [RunData("id", "default", snapshots=[snap])])
    assert "softmax: slopes 1.00, 2.00" in out
    assert "1e-04" in out and "eps" in out
    assert "no result yet" in draw("gradcheck", [RunData("id", "default")])
