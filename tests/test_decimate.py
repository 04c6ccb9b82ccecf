"""Curves of any length at about a plot's width: the min/max buckets, the running curve, the best epoch."""

from __future__ import annotations

import math
import random

import plotext as plt

from dltui.core.readout.liverecords import KEEP, LiveRecords
from dltui.core.readout.series import series
from dltui.core.readout.tracks import RunningBest, Tracks
from dltui.core.rules.bestepoch import best_epoch
from dltui.core.rules.decimate import Curve, MinMax, decimated
from dltui.tui.viewkit import VIEWS, RunData, ViewOptions
from dltui.tui.views import load_all

load_all()


def _noisy(n: int, seed: int = 1) -> list[dict]:
    rng = random.Random(seed)
    return [
        {
            "epoch": e,
            "step": 4 * e,
            "train_loss": math.exp(-e / (n / 5)) + 0.1 * rng.random(),
            "test_acc": min(1.0, e / n + 0.05 * rng.random()),
        }
        for e in range(1, n + 1)
    ]


def test_each_bucket_keeps_the_min_and_max_of_its_points():
    rng = random.Random(0)
    ys = [rng.gauss(0, 1) for _ in range(10_007)]
    buf = MinMax(buckets=50)
    for i, y in enumerate(ys):
        buf.add(i, y)
    assert 50 <= len(buf.buckets) < 100
    start = 0
    for b in buf.buckets:  # consecutive runs of points, in order
        part = ys[start : start + b.n]
        assert b.lo[2] == min(part) and b.hi[2] == max(part)
        assert ys[b.lo[0]] == b.lo[2] and start <= b.lo[0] < start + b.n
        start += b.n
    assert start == len(ys)


def test_the_thinned_curve_keeps_the_ends_and_extremes_and_stays_small():
    recs = _noisy(100_000)
    xs, ys = decimated(recs, "train_loss")
    full_x, full_y = series(recs, "train_loss")
    assert len(xs) <= 4 * 100 + 2
    assert xs == sorted(xs)
    assert (xs[0], xs[-1]) == (full_x[0], full_x[-1])
    assert (min(ys), max(ys)) == (min(full_y), max(full_y))


def test_a_short_curve_is_every_point():
    recs = _noisy(150)
    assert decimated(recs, "train_loss") == series(recs, "train_loss")


def test_fed_in_pieces_is_the_same_as_fed_at_once():
    recs = _noisy(5_000)
    curve = Curve("train_loss", "step", smooth=0.9)
    for end in range(0, len(recs) + 1, 333):
        curve.feed(recs[:end])
    curve.feed(recs)
    assert curve.points() == decimated(recs, "train_loss", "step", smooth=0.9)


def test_missing_non_finite_and_log_hidden_values_are_skipped():
    recs = [
        {"epoch": 1, "test_loss": None},
        {"epoch": 2, "test_loss": math.nan},
        {"epoch": 3, "test_loss": -1.0},
        {"epoch": 4, "test_loss": 0.5},
        {"epoch": None, "test_loss": 0.2},
    ]
    assert decimated(recs, "test_loss") == ([3, 4], [-1.0, 0.5])
    assert decimated(recs, "test_loss", log=True) == ([4], [0.5])


class Recorder:
    """plotext, with every plotted line kept aside."""

    def __init__(self):
        self.lines: list[tuple[list, list]] = []
        self.colours: list = []

    def plot(self, xs, ys, **kw):
        self.lines.append((list(xs), list(ys)))
        self.colours.append(kw.get("color"))
        return plt.plot(xs, ys, **kw)

    def __getattr__(self, name):
        return getattr(plt, name)


def test_a_long_runs_loss_plot_is_the_plot_of_its_decimated_series():
    recs = [{k: v for k, v in r.items() if k != "test_acc"} for r in _noisy(100_000)]
    run = RunData("r1", "long", records=recs)
    rec = Recorder()
    plt.clear_figure()
    plt.plotsize(100, 25)
    VIEWS["loss"][1](rec, [run], ViewOptions())
    assert rec.lines == [decimated(recs, "train_loss")]
    assert "100000" in plt.build().replace(",", "")  # drawn to the last epoch


def test_tracks_follow_a_growing_run():
    recs = []
    tracks = Tracks()
    for r in _noisy(3_000):
        recs.append({**r, "test_loss": r["train_loss"]})
        if r["epoch"] % 500 == 0:
            assert tracks.same(recs, "test_loss", "train_loss") and not tracks.has(recs, "val_loss")
    recs.append({"epoch": 3001, "train_loss": 0.1, "test_loss": 0.2, "val_loss": 0.3})
    assert not tracks.same(recs, "test_loss", "train_loss") and tracks.has(recs, "val_loss")
    assert tracks.curve(recs, "train_loss") == decimated(recs, "train_loss")


def test_the_running_best_epoch_is_the_rule_of_core_present():
    recs = _noisy(2_000, seed=3)
    recs[700]["val_loss"] = (
        0.01  # no accuracy on val: val_loss is not the score while test_acc... is after val_acc
    )
    best = RunningBest()
    for n, r in enumerate(recs, 1):
        best.add(r)
        if n % 250 == 0:
            assert best.epoch() == best_epoch(recs[:n], {})
    assert best.epoch({"best_epoch": 12}) == 12


def test_a_live_run_keeps_its_curves_whole_and_only_a_few_hundred_records():
    """100,000 records through the session's store: the curves asked for from the start are the decimated
    curves of every record; the records held stay ~2·KEEP (the first, last, best and a snapshot's epoch among
    them)."""
    recs = _noisy(100_000)
    recs[61_234]["test_acc"] = 1.5  # the best epoch, by test_acc
    live = LiveRecords(Tracks())
    assert live.tracks.curve(live, "train_loss") == ([], [])  # the loss view asks as soon as the run starts
    live.pin_epoch(40_000)  # a snapshot of an epoch to come
    for n, r in enumerate(recs, 1):
        live.append(r)
        if n == 700:
            live.pin_epoch(699)  # a snapshot of a recent epoch
    assert len(live) == 100_000 and KEEP <= len(live.kept()) <= 2 * KEEP + 3
    assert live.tracks.curve(live, "train_loss") == decimated(recs, "train_loss")
    kept = list(live)
    assert (
        kept[0] is recs[0]
        and kept[-1] is recs[-1]
        and [r["epoch"] for r in kept] == sorted(r["epoch"] for r in kept)
    )
    assert {61_235, 40_000, 699} <= {r["epoch"] for r in kept} and live.best.epoch() == 61_235
    log_curve = live.tracks.curve(live, "train_loss", log=True)  # asked mid-run: starts from the kept records
    assert log_curve == decimated(kept, "train_loss", log=True)


def test_a_live_run_sent_again_from_a_checkpoint_joins_there():
    live = LiveRecords(Tracks())
    for r in _noisy(1_000):
        live.append(r)
    live.rewind(600)
    for r in _noisy(1_000, seed=2)[599:]:
        live.append(r)
    epochs = [r["epoch"] for r in live]
    assert epochs == sorted(set(epochs)) and epochs[-1] == 1_000
    assert live.tracks.curve(live, "train_loss")[0][-1] == 1_000
