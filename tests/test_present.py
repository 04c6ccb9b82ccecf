"""One rule for each way the lab shows a thing: the CLI, the TUI and the trainer agree."""

from __future__ import annotations

import pytest

from dltui.cli.compare import best_of
from dltui.core.rules.bestepoch import best_epoch
from dltui.core.rules.numbers import fmt, pct
from dltui.core.spec.views import VIEW_NAMES
from dltui.tui.viewkit import VIEWS, view
from dltui.tui.views import load_all

RECORDS = [
    {"epoch": 1, "val_acc": 0.5, "test_loss": 2.0},
    {"epoch": 2, "val_acc": 0.8, "test_loss": 1.0},
    {"epoch": 3, "val_acc": 0.8, "test_loss": 1.0},
    {"epoch": 4, "val_acc": 0.7, "test_loss": 0.5},
]


def test_the_best_epoch_is_the_first_with_the_best_validation_accuracy_in_every_face():
    assert best_epoch(RECORDS, {}) == 2  # a tie keeps the earlier epoch, as the trainer does
    assert best_of(RECORDS, "val_acc") == (0.8, 2)
    assert best_of(RECORDS, "test_loss") == (0.5, 4)  # a loss: lowest is best


def test_the_summary_decides_the_best_epoch_once_a_run_has_ended():
    assert best_epoch(RECORDS, {"best_epoch": 4}) == 4


def test_numbers_read_the_same_in_every_face():
    assert (fmt(0.123456), fmt(1.5e-6), fmt(None), fmt(12)) == ("0.1235", "1.5e-06", "-", "12")
    assert (pct(0.98123), pct(None)) == ("98.1%", "-")


def test_every_view_a_preset_may_name_has_a_drawer():
    load_all()
    assert set(VIEW_NAMES) <= set(VIEWS)


def test_a_drawer_for_a_view_no_preset_may_name_is_refused():
    with pytest.raises(ValueError, match="VIEW_NAMES"):
        view("no_such_view")
