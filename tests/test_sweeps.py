"""Sweeps you can read: seeds of one experiment grouped and drawn as one band; many values in a few words."""

from __future__ import annotations

import plotext as plt
import pytest
from test_decimate import Recorder

from dltui.core.readout.sweeps import band, dim, draw_band, group_name, seed_groups, summarise
from dltui.tui.viewkit import VIEWS, RunData, ViewOptions, colour_runs, curve
from dltui.tui.views import load_all

load_all()


def _run(lr: float, seed: int, n: int = 3000) -> RunData:
    recs = [{"epoch": e, "train_loss": 1.0 / (1 + lr * e) + 0.01 * seed} for e in range(1, n + 1)]
    return RunData(
        f"r{lr}{seed}", f"lr={lr},seed={seed}", config={"lr": lr, "seed": seed, "hidden": [20]}, records=recs
    )


def test_variants_that_differ_only_in_seed_are_one_group():
    runs = [_run(lr, s, 5) for lr in (0.1, 0.01) for s in range(4)]
    groups = seed_groups(runs, lambda r: r.config)
    assert [[r.variant for r in g] for g in groups] == [
        [f"lr={lr},seed={s}" for s in range(4)] for lr in (0.1, 0.01)
    ]
    assert group_name([r.variant for r in groups[0]]) == "lr=0.1 (4 seeds)"
    twice = [
        _run(0.1, 0, 5),
        _run(0.1, 0, 5),
        RunData("a", "a"),
        RunData("b", "b"),
    ]  # repeats, configs without a seed
    assert [len(g) for g in seed_groups(twice, lambda r: r.config)] == [1, 1, 1, 1]


def test_the_band_is_the_mean_and_the_extremes_at_each_x():
    b = band([([1, 2, 3], [1.0, 2.0, 3.0]), ([1, 2, 3], [3.0, 4.0, 5.0]), ([1, 2], [2.0, 3.0])])
    assert (
        b.xs == [1, 2, 3]
        and b.mean == [2.0, 3.0, 4.0]
        and b.lo == [1.0, 2.0, 3.0]
        and b.hi == [3.0, 4.0, 5.0]
    )
    long = band([(list(range(10_000)), [float(i) for i in range(10_000)])] * 2, points=100)
    assert len(long.xs) == 100 and long.xs[-1] == 9999 and long.mean == long.lo == long.hi


def test_a_seed_group_is_drawn_as_one_band():
    """2 learning rates x 4 seeds: the loss view draws two means, each between its group's min and max
    edges."""
    runs = colour_runs([_run(lr, s) for lr in (0.1, 0.01) for s in range(4)])
    rec = Recorder()
    plt.clear_figure()
    plt.plotsize(100, 25)
    VIEWS["loss"][1](rec, runs, ViewOptions())
    assert len(rec.lines) == 6  # per group: its min edge, its max edge, its mean; not a line per run
    for (lo_x, lo), (hi_x, hi), (xs, mean), group in zip(
        rec.lines[0::3], rec.lines[1::3], rec.lines[2::3], (runs[:4], runs[4:])
    ):
        assert lo_x == hi_x == xs and len(xs) <= 200
        assert (
            all(a <= m <= b for a, m, b in zip(lo, mean, hi)) and hi[-1] - lo[-1] > 0.029
        )  # the seeds' spread
        last = [r.records[-1]["train_loss"] for r in group]
        assert mean[-1] == pytest.approx(sum(last) / 4) and (lo[-1], hi[-1]) == (min(last), max(last))
    assert rec.colours[2] != rec.colours[5]  # coloured by the swept lr, the seed left out
    assert "seeds: mean & band" in plt.build()


def test_a_band_is_drawn_as_its_mean_between_faint_edges():
    b = band([curve(_run(0.1, s), "train_loss", ViewOptions()) for s in range(4)])
    rec = Recorder()
    draw_band(rec, b, (51, 187, 238), "braille", label=group_name(["lr=0.1,seed=0"] * 4))
    assert [c for c in rec.colours] == [dim((51, 187, 238))] * 2 + [(51, 187, 238)]
    assert rec.lines[2] == (b.xs, b.mean)


def test_many_values_in_a_few_words():
    assert summarise([0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 0.002, 0.02, 0.2]) == "10 values 0.001…1"
    assert summarise([0.1, 0.01, 0.1]) == "0.1 | 0.01"
    assert summarise(["adam", "sgd", "adam", "rmsprop", "a", "b"]) == "5 values: adam, sgd, …"


def test_a_big_sweep_is_summarised_in_the_side_bar_and_the_form():
    from dltui.core.spec.presets import parse
    from dltui.tui.app import describe
    from dltui.tui.form import initial_values, variants_hint

    p = parse(
        'name = "big"\ntitle = "t"\nshows = "s"\ndescription = "d"\n[base]\n'
        'task = "polynomial"\nhidden = []\n'
        "[sweep]\nlr = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0]\nseed = [0, 1, 2, 3]\n",
        "big.toml",
    )
    assert "runs: 40 (lr: 10 values 0.001…1 × seed: 0 | 1 | 2 | 3)" in str(describe(p))
    assert initial_values(p, ["lr", "seed"]) == {"lr": ("", "10 values ↓"), "seed": ("", "4 values ↓")}
    assert (
        variants_hint(p, ["lr", "seed"]) == "lr: 10 values 0.001…1\nseed: 0 | 1 | 2 | 3"
    )  # listed under the form


async def test_the_variant_filter_narrows_the_plotted_runs():
    from test_tui_app import CPU, SIZE, drawn_text, wait_until
    from tui_fakes import curve_events, fake_worker, toy_preset

    from dltui.tui.app import LabApp

    worker = fake_worker(lambda plans: [ev for p in plans for ev in curve_events(p, 10)])
    app = LabApp(presets=[toy_preset()], executor_factory=worker, device_probe=lambda: CPU)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.sub_title == CPU)
        await pilot.press("r")
        await wait_until(pilot, lambda: app.batch is not None and app.batch.done)
        assert [r.variant for r in app.shown_runs()] == ["lr=0.1", "lr=0.01"]
        before = await drawn_text(pilot, "loss")
        await pilot.press("slash", *"0.01")
        await wait_until(pilot, lambda: [r.variant for r in app.shown_runs()] == ["lr=0.01"])
        await wait_until(pilot, lambda: plot_text_now(app) != before)  # the plot is drawn again, with one run
        await pilot.press("enter")
        assert app.focused is app.table and app.table.row_count == 2  # the table still lists every run


def plot_text_now(app) -> str:
    from test_tui_app import plot_text

    return plot_text(app, "loss")
