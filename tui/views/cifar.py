"""The course's CIFAR-10 picture (seed document 004): train vs validation accuracy of each variant, its best
epoch marked, side by side.

With dropout and without on one plot shows the comparison the course drew by hand: the run without
dropout pulls ahead on the training set while its validation accuracy stalls; the dropout run's
validation peak comes later and higher.
"""

from __future__ import annotations

from typing import Any

from ...core.rules.bestepoch import best_epoch_record
from ...core.spec.views import X_LABELS
from ..viewkit import RunData, ViewOptions, curve, view

BEST_MARKER = "◆"


def best_record(run: RunData) -> dict[str, Any] | None:
    """The record of the run's best epoch: the summary's `best_epoch` once ended, else the best so far."""
    return best_epoch_record(run.records, run.summary)


def _best_text(run: RunData, best: dict[str, Any]) -> str:
    """`dropout 79.0% @29 (test 76.8%)`: best validation accuracy, its epoch and the test accuracy of its
    weights."""
    val = best.get("val_acc", best.get("test_acc"))
    test = run.summary.get("best_weights_test_acc", best.get("test_acc"))
    text = (
        f"{run.variant} {100 * val:.1f}% @{best['epoch']}"
        if val is not None
        else f"{run.variant} @{best['epoch']}"
    )
    return text + (f" (test {100 * test:.1f}%)" if test is not None else "")


@view("best_epoch", "train vs validation, best epoch")
def draw_best_epoch(plt, runs: list[RunData], opts: ViewOptions) -> None:
    """Train (braille) and validation (dots) accuracy per run in its colour; a line and a ◆ at its best epoch,
    named in the key with its accuracy."""
    drawn = False
    for run in runs:
        for key, marker in (("train_acc", "braille"), ("val_acc", "dot")):
            xs, ys = curve(run, key, opts)
            if xs:
                plt.plot(
                    xs, [100 * y for y in ys], color=run.colour, marker=marker
                )  # the runs table is the key
                drawn = True
        best = best_record(run)
        if best is None or best.get(opts.x) is None:
            continue
        plt.vline(best[opts.x], run.colour)
        if best.get("val_acc") is not None:
            plt.scatter([best[opts.x]], [100 * best["val_acc"]], color=run.colour, marker=BEST_MARKER)
        plt.key(_best_text(run, best), run.colour, BEST_MARKER)
    if drawn:
        plt.title(
            "accuracy %: ⣿ train • validation, ◆ best validation epoch", "⣿ train • val accuracy %, ◆ best"
        )
    else:
        plt.title("train vs validation accuracy % (no epoch yet)")
    plt.ylim(0, 100)
    plt.xlabel(X_LABELS.get(opts.x, opts.x))
    plt.ylabel("accuracy %")
