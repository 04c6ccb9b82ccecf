"""The best_epoch view: train vs validation accuracy per variant, the best epoch marked, dropout vs none."""

from __future__ import annotations

import plotext as plt

from dltui.tui.viewkit import VIEWS, RunData, ViewOptions, picture
from dltui.tui.views import load_all
from dltui.tui.views.cifar import best_record

VAL = {"no-dropout": [0.50, 0.62, 0.60, 0.58], "dropout": [0.40, 0.55, 0.66, 0.66]}


def run(variant: str, index: int, ended: bool = True) -> RunData:
    recs = [
        {
            "epoch": e,
            "step": 100 * e,
            "time": 2.0 * e,
            "train_acc": 0.5 + 0.1 * e,
            "val_acc": v,
            "test_acc": v - 0.01,
        }
        for e, v in enumerate(VAL[variant], 1)
    ]
    best = max(recs, key=lambda r: r["val_acc"])
    summary = {"best_epoch": best["epoch"], "best_weights_test_acc": 0.655} if ended else {}
    return RunData(
        f"id-{variant}",
        variant,
        {"dropout": 0.25 if variant == "dropout" else 0.0},
        "finished" if ended else "running",
        recs,
        [],
        summary,
        index,
    )


def draw(runs, **opts) -> str:
    """As the lab draws it (title and key above the plot), as text."""
    load_all()
    return picture(plt, VIEWS["best_epoch"][1], runs, ViewOptions(**opts), 120, 30)


def test_best_record_is_the_first_epoch_with_the_highest_validation_accuracy_while_running():
    assert best_record(run("dropout", 1, ended=False))["epoch"] == 3
    assert best_record(run("no-dropout", 0, ended=False))["epoch"] == 2


def test_best_record_follows_the_summary_once_ended():
    r = run("no-dropout", 0)
    r.summary["best_epoch"] = 4
    assert best_record(r)["epoch"] == 4


def test_draws_both_variants_with_their_best_epochs_in_the_key():
    out = draw([run("no-dropout", 0), run("dropout", 1)])
    assert "no-dropout 62.0% @2 (test 65.5%)" in out and "dropout 66.0% @3" in out
    assert "⣿ train • validation" in out.splitlines()[0] and "◆" in out


def test_draws_by_update_and_with_no_records_yet():
    assert "@2" in draw([run("no-dropout", 0)], x="step")
    assert "no epoch yet" in draw([RunData("id", "dropout")])
