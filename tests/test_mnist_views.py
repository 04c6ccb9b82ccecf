"""The MNIST views draw what the presets record: lr curve, per-class accuracy, hidden-unit similarity."""

from __future__ import annotations

import plotext as plt
import pytest

from dltui.tui.viewkit import VIEWS, RunData, ViewOptions, picture, uncoloured
from dltui.tui.views import load_all
from dltui.tui.views.mnist import class_points, diverged, lr_points


def run(i, lr, opt, losses, status="finished", **extra):
    """A run's records from epoch 0 (at init) on, one per loss."""
    records = [
        {"epoch": e, "step": 10 * e, "time": 0.5 * e, "train_loss": v, **extra} for e, v in enumerate(losses)
    ]
    return RunData(f"r{i}", f"{opt},lr={lr}", {"lr": lr, "optimizer": opt}, status, records, index=i)


def draw(name, runs, **opts) -> str:
    """As the lab draws it (title and key above the plot), as text."""
    load_all()
    return picture(plt, VIEWS[name][1], runs, ViewOptions(**opts), 100, 30)


def test_lr_points_one_curve_per_optimizer_and_diverged_apart():
    runs = [
        run(0, 0.1, "sgd", [2.0, 0.5]),
        run(1, 0.01, "sgd", [2.0, 1.0]),
        run(2, 1.0, "sgd", [2.0, None], status="diverged"),
        run(3, 0.001, "adam", [1.0, 0.2]),
        run(4, 1.0, "adam", [2.3, 9.0]),  # ended well above (over twice) its loss at init
        run(5, 0.5, "adam", [2.3, 4.0]),  # above, but not well above: a point on the curve
    ]
    curves, bad = lr_points(runs)
    assert curves == {"sgd": [(0.01, 1.0), (0.1, 0.5)], "adam": [(0.001, 0.2), (0.5, 4.0)]}
    assert sorted(bad) == [("adam", 1.0), ("sgd", 1.0)]


def test_a_run_without_records_is_not_diverged():
    assert not diverged(run(0, 0.1, "sgd", []))


@pytest.mark.parametrize("log", [False, True])
def test_lr_curve_draws_on_a_log_axis_with_diverged_marked(log):
    out = draw(
        "lr_curve",
        [
            run(0, 0.1, "sgd", [2.0, 0.5]),
            run(1, 0.01, "sgd", [2.0, 1.0]),
            run(2, 8.0, "sgd", [2.0, None], status="diverged"),
        ],
        log=log,
    )
    assert "X diverged (1)" in uncoloured(out.splitlines()[1]) and "o sgd" in uncoloured(
        out.splitlines()[1]
    )  # the key
    assert "0.01" in out and "0.1" in out and "0.089" not in out  # ticks at powers of ten


def test_lr_curve_marks_running_runs_and_keeps_a_blown_up_loss_off_the_axis():
    runs = [
        run(0, 0.1, "sgd", [2.0, 0.5]),
        run(1, 0.01, "sgd", [2.0, 1.0]),
        run(2, 0.001, "sgd", [2.0, 1.9], status="running"),
        run(3, 1.0, "adam", [400.0]),
    ]
    out = draw("lr_curve", runs)
    assert "o running" in uncoloured(out) and "^ above 1.9" in uncoloured(out) and "400" not in out


def test_class_points_put_the_trace_before_each_epoch_end():
    trace = [{"epoch": 0.5, "step": 5, "time": 0.2, "acc": [1.0, 0.0]}]
    r = run(0, 0.1, "sgd", [2.3, 1.0], class_acc=[0.2, 0.9], class_acc_trace=trace)
    r.records[0].update(class_acc=[0.1, 0.1], class_acc_trace=[])  # at init: no step, no trace
    assert class_points(r, "epoch") == ([0, 0.5, 1], [[0.1, 0.1], [1.0, 0.0], [0.2, 0.9]])
    assert class_points(r, "step")[0] == [0, 5, 10]


def test_class_acc_draws_one_line_per_class_of_the_selected_run():
    trace = [{"epoch": 0.5, "step": 5, "time": 0.2, "acc": [0.1 * c for c in range(10)]}]
    runs = [run(i, 0.1, "sgd", [1.0, 0.8], class_acc=[0.5] * 10, class_acc_trace=trace) for i in range(2)]
    out = draw("class_acc", runs, selected="r0", x="step")
    assert "sgd,lr=0.1: accuracy per class" in out and "update" in out


def test_hidden_similarity_draws_each_run():
    runs = [
        run(0, 0.1, "sgd", [1.0, 0.8], hidden_similarity=1.0),
        run(1, 0.1, "adam", [1.0, 0.8], hidden_similarity=0.01),
    ]
    out = draw("hidden_similarity", runs)
    heading = uncoloured("\n".join(out.splitlines()[:2]))
    assert (
        "1 = all units identical" in heading
        and "⣿ sgd,lr=0.1 1.00" in heading
        and "⣿ adam,lr=0.1 0.01" in heading
    )


def test_views_draw_nothing_without_data():
    for name in ("lr_curve", "class_acc", "hidden_similarity"):
        draw(name, [])
