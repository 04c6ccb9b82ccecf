"""`dltui lrfind`: an exponential lr ramp over minibatch steps, stopped at divergence, saved as a run of kind
lrfind."""

from __future__ import annotations

import json
import math

import pytest

from dltui.core.probes.rangetest import Ramp, hints


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


def test_hints_mark_the_steepest_fall_and_the_divergence():
    ramp = Ramp(1e-5, 10.0, 200)
    lrs = [ramp.lr(k) for k in range(200)]
    records = [{"lr": lr, "train_loss": v} for lr, v in zip(lrs, curve(lrs))]
    h = hints(records)
    assert h["steepest_lr"] == pytest.approx(1e-2, rel=0.5)
    assert h["diverged_lr"] == pytest.approx(10.0)
    assert h["steepest_lr"] < h["min_loss_lr"] < h["diverged_lr"]


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
    assert "loss vs lr" in result.output and "steepest descent at lr" in result.output
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
    assert summary["steepest_lr"] < summary["diverged_lr"]


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
    from test_tui_app import CPU, wait_until

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
        await pilot.press("p")
        await wait_until(
            pilot,
            lambda: app.screen.query("#past-runs") and app.screen.query_one("#past-runs").row_count == 1,
        )
        await pilot.press("enter")
        await wait_until(pilot, lambda: [p.view_name for p in app.screen.query(ViewPlot)] == ["lrfind"])


def ended(runs_dir) -> bool:
    """True once a run in `runs_dir` has a status other than running."""
    for status in runs_dir.glob("*/status.json"):
        try:
            if json.loads(status.read_text())["status"] != "running":
                return True
        except (ValueError, KeyError):  # being replaced right now
            pass
    return False
