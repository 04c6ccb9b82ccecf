"""`dltui lrfind`: an exponential lr ramp over minibatch steps, stopped at divergence, saved as a run of kind
lrfind."""

from __future__ import annotations

import json
import math

import pytest

from dltui.core.probes.rangetest import Ramp, hints
from dltui.core.rules.lrrange import lr_label


def test_the_ramp_is_exponential_from_min_to_max():
    ramp = Ramp(1e-4, 1.0, 5)
    assert [ramp.lr(k) for k in range(5)] == pytest.approx([1e-4, 1e-3, 1e-2, 1e-1, 1.0])


def curve(lrs):
    """Flat at 2.3, a drop of 2 centred on lr 1e-2, then a blow-up from lr 1."""
    out = []
    for lr in lrs:
        x = math.log10(lr)
        drop = 2.0 / (1 + math.exp(-3 * (x + 2)))
        out.append(2.3 - drop + (50 * (lr - 1) if lr > 1 else 0))
    return out


def test_hints_suggest_the_steepest_fall_and_mark_the_divergence():
    ramp = Ramp(1e-5, 10.0, 200)
    lrs = [ramp.lr(k) for k in range(200)]
    records = [{"lr": lr, "train_loss": v} for lr, v in zip(lrs, curve(lrs))]
    h = hints(records)
    assert h["suggested_lr"] == pytest.approx(1e-2, rel=0.2)
    assert h["diverged_lr"] == pytest.approx(10.0)
    assert h["suggested_lr"] < h["min_loss_lr"] < h["diverged_lr"]


def test_the_suggestion_is_read_through_noise_and_without_the_lag_of_a_one_way_ema():
    """Each step's loss off by up to ±60% (the polynomial's batches range from 20 to 60): the smoothed
    curve's steepest fall is still within a factor 1.5 of the true one, where a forwards-only EMA of the same
    factor would put it past it."""
    import random

    from dltui.core.rules import lrrange
    from dltui.core.rules.smoothing import ema

    rng = random.Random(0)
    ramp = Ramp(1e-5, 10.0, 200)
    lrs = [ramp.lr(k) for k in range(200)]
    noisy = [v * (1 + rng.uniform(-0.6, 0.6)) for v in curve(lrs)]
    suggested = hints([{"lr": lr, "train_loss": v} for lr, v in zip(lrs, noisy)])["suggested_lr"]
    assert 1e-2 / 1.5 < suggested < 1e-2 * 1.5
    one_way = ema(curve(lrs), lrrange.SMOOTHING)  # no noise at all: the lag alone
    steepest = min(range(11, 150), key=lambda i: one_way[i + 1] - one_way[i - 1])
    assert lrs[steepest] > 1.5e-2  # the lag a forwards-only EMA has, which the two-way smoothing avoids


def test_a_loss_that_never_falls_has_no_suggestion_and_the_cli_says_why():
    from dltui.cli.lrfind import suggestion_line

    ramp = Ramp(1e-5, 1e-3, 50)
    records = [{"lr": ramp.lr(k), "train_loss": 2.3 + 0.001 * k} for k in range(50)]
    h = hints(records)
    assert h["suggested_lr"] is None and h["diverged_lr"] is None
    assert suggestion_line(h).startswith("no suggested lr: the smoothed loss never fell; widen the range")


def test_lr_ticks_read_as_plain_powers_of_ten():
    from dltui.core.rules.lrrange import lr_label, lr_ticks

    ticks, labels = lr_ticks(-5, 1, 7)
    assert ticks == [-5, -4, -3, -2, -1, 0, 1]
    assert labels == ["1e-05", "1e-04", "1e-03", "0.01", "0.1", "1", "10"]
    ticks, labels = lr_ticks(math.log10(1e-5), math.log10(5.0), 4)  # fewer room: every second decade
    assert labels == ["1e-04", "0.01", "1"]
    assert lr_ticks(math.log10(0.02), math.log10(0.05), 6)[1] == ["0.02", "0.05"]  # inside one decade
    assert [lr_label(v) for v in (0.1023, 2.7e-4, 1.6446, 300.0, 2e4)] == [
        "0.1",
        "2.7e-04",
        "1.6",
        "300",
        "2e+04",
    ]


def test_a_curve_that_never_diverges_has_no_divergence_point():
    ramp = Ramp(1e-5, 1e-3, 50)
    records = [{"lr": ramp.lr(k), "train_loss": 2.0 - 0.01 * k} for k in range(50)]
    assert hints(records)["diverged_lr"] is None


def test_lrfind_on_digits_saves_a_run_of_kind_lrfind_and_draws_it(cli, runs_dir):
    result = cli(
        "lrfind",
        "mnist-batch",
        "--set",
        "task=digits",
        "--variant",
        "batch=100",
        "--steps",
        "150",
        "--max",
        "100",
    )
    assert result.exit_code == 0, result.output
    assert "loss vs lr" in result.output and "suggested lr" in result.output
    assert "1e-04" in result.output and "0.01" in result.output and "0.00027" not in result.output  # ticks
    (run,) = list(runs_dir.iterdir())
    status = json.loads((run / "status.json").read_text())
    assert status["kind"] == "lrfind" and status["status"] == "finished"
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    lrs = [r["lr"] for r in records]
    assert lrs == sorted(lrs) and lrs[0] == pytest.approx(1e-5)
    summary = json.loads((run / "summary.json").read_text())
    assert (
        summary["diverged_lr"] is not None and len(records) < 150
    )  # digits blows up long before lr 100: it stopped early
    assert summary["suggested_lr"] < summary["diverged_lr"]
    assert f"suggested {lr_label(summary['suggested_lr'])}" in result.output  # marked on the curve
    assert "hardware:" not in result.output  # no sampler beside a range test: no line saying it is missing


def test_the_exported_figure_of_a_range_test_is_loss_against_lr_with_the_suggestion_marked(
    cli, runs_dir, tmp_path
):
    from dltui.core.export.lrfigure import lrfind_figure
    from dltui.core.store.folder import RunStore

    assert cli("lrfind", "polynomial", "--steps", "60", "--min", "1e-4", "--max", "3").exit_code == 0
    (run,) = list(runs_dir.iterdir())
    result = cli("export", run.name, "--to", tmp_path / "out", "--format", "png")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [f"{run.name}-lrfind.png"]
    suggested = json.loads((run / "summary.json").read_text())["suggested_lr"]
    ax = lrfind_figure(RunStore(runs_dir).get(run.name)).axes[0]
    verticals = {
        line.get_label(): line.get_xdata()[0] for line in ax.lines if len(set(line.get_xdata())) == 1
    }
    assert verticals[f"suggested {lr_label(suggested)}"] == pytest.approx(suggested)
    assert ax.get_xscale() == "log"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1e-04", "1e-03", "0.01", "0.1", "1"]


@pytest.mark.parametrize(
    "args, says",
    [
        (["--min", "0"], "0 < min < max"),
        (["--min", "1", "--max", "0.1"], "0 < min < max"),
        (["--steps", "5"], "--steps 5"),
        (["--variant", "nope"], "no such variant"),
        (["--set", "loss=smooth_l1"], "does not apply"),
    ],
)
def test_bad_input_is_one_line_and_leaves_no_run(cli, runs_dir, args, says):
    result = cli("lrfind", "mnist-batch", "--set", "task=digits", *args)
    assert result.exit_code == 2
    assert says in result.output and "Traceback" not in result.output
    assert not runs_dir.exists() or not any(runs_dir.iterdir())


async def test_the_labs_L_key_runs_the_range_test_and_past_runs_draws_it(runs_dir, data_dir):
    """L in the lab: the selected variant's range test in a process of its own, saved as a run of kind
    lrfind; opened in past runs it is drawn as loss against lr."""
    from test_tui_app import CPU, drawn_text, notices, wait_until

    from dltui.tui.app import LabApp
    from dltui.tui.plots import ViewPlot

    app = LabApp("polynomial", runs_dir, data_dir, device_probe=lambda: CPU)
    async with app.run_test(size=(140, 45)) as pilot:
        await wait_until(pilot, lambda: app.sub_title == CPU)
        await pilot.press("L")
        await wait_until(pilot, lambda: ended(runs_dir), timeout=180)
        (run,) = [p for p in runs_dir.iterdir() if p.is_dir()]
        status = json.loads((run / "status.json").read_text())
        assert (
            status["kind"] == "lrfind"
            and status["status"] == "finished"
            and status["variant"] == "lrfind-lr=0.1"
        )
        summary = json.loads((run / "summary.json").read_text())
        await wait_until(pilot, lambda: f"suggested lr {lr_label(summary['suggested_lr'])}" in notices(app))
        await pilot.press("p")
        await wait_until(
            pilot,
            lambda: app.screen.query("#past-runs") and app.screen.query_one("#past-runs").row_count == 1,
        )
        await pilot.press("enter")
        await wait_until(pilot, lambda: [p.view_name for p in app.screen.query(ViewPlot)] == ["lrfind"])
        text = await drawn_text(pilot, "lrfind")
        assert f"suggested {lr_label(summary['suggested_lr'])}" in text  # the marker's key entry
        assert "1e-05" in text and "0.01" in text and "0.00027" not in text  # ticks at powers of ten


def ended(runs_dir) -> bool:
    """True once a run in `runs_dir` has a status other than running."""
    for status in runs_dir.glob("*/status.json"):
        try:
            if json.loads(status.read_text())["status"] != "running":
                return True
        except (ValueError, KeyError):  # being replaced right now
            pass
    return False


@pytest.mark.parametrize(
    "preset, args, seeds_best",
    [
        # seed 003: of lr 0.1, 0.01 and 0.001, 0.1 gets close within a few dozen epochs (before: 0.0003)
        ("polynomial", [], 0.1),
        # seed 001 A1 Q6: full-batch GD on a sigmoid 784-300-10, rates 0.001 to 8: 2 converges fastest (here
        # the 8x8 digits, 64-300-10: the bundled stand-in for MNIST)
        ("mnist-lr-sweep", ["--set", "task=digits", "--variant", "lr=2.0"], 2.0),
        # seed 001 A2 ex4: Adam is best from 1e-2 to 1e-3 (their middle, 3e-3), batch 64, ReLU 784-300-10
        ("adam-vs-sgd", ["--set", "task=digits", "--variant", "adam,lr=0.001"], 3e-3),
    ],
)
def test_the_suggestion_lands_within_a_factor_3_of_the_seeds_best_rate(
    cli, runs_dir, preset, args, seeds_best
):
    result = cli("lrfind", preset, *args)
    assert result.exit_code == 0, result.output
    (run,) = list(runs_dir.iterdir())
    suggested = json.loads((run / "summary.json").read_text())["suggested_lr"]
    assert seeds_best / 3 <= suggested <= seeds_best * 3, suggested
    assert f"suggested lr {lr_label(suggested)}" in result.output


@pytest.mark.parametrize("tail", [2.37, 2.28])
def test_a_catapult_spike_does_not_move_the_suggestion(tail):
    """Full-batch digits catapult at lr ~1 (loss 2 -> 10 -> 1.7) and end noisy near where they began: the
    lowest point, read on the running median, stays in the trough after the spike whether the last steps end
    a little above or below the start (it used to flip between 0.03 and 10 with the float path)."""
    from dltui.core.rules import lrrange

    lrs = [10 ** (-5 + 6 * i / 199) for i in range(200)]

    def loss(lr: float) -> float:
        if lr < 0.85:
            return 2.33 - 0.3 * lr
        if lr < 1.6:
            return 10.0
        if lr < 3.0:
            return 1.75
        return 2.1 + (0.3 if int(lr * 10) % 2 else -0.3)

    losses = [loss(lr) for lr in lrs]
    losses[-3:] = [tail] * 3
    got = lrrange.read(lrs, losses)
    assert 1.6 <= got["min_loss_lr"] < 3.0
    assert 2 / 3 <= got["suggested_lr"] <= 6
