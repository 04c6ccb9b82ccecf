"""Looking at results from the lab: `e` exports, `R` re-runs a run's exact config, `i` shows its card, `m`
smooths."""

from __future__ import annotations

import io
import json
from pathlib import Path

import plotext as plt
import plotext._core as plotext_core
from rich.console import Console
from test_tui_app import CPU, SIZE, notices, set_field, statuses, wait_until
from textual.widgets import DataTable, Static

from dltui.core.readout.colours import RAW_COLOUR
from dltui.tui.app import LabApp
from dltui.tui.modals import RunCardScreen
from dltui.tui.viewkit import VIEWS, RunData, ViewOptions

PNG = b"\x89PNG\r\n\x1a\n"


async def ran_polynomial(pilot, epochs: str = "5") -> None:
    """Run the polynomial preset's three learning rates for a few epochs, and wait until they end."""
    await set_field(pilot, "epochs", epochs)
    await pilot.press("escape", "r")
    await wait_until(pilot, lambda: statuses(pilot.app) == ["finished"] * 3)
    pilot.app.query_one("#runs", DataTable).focus()


def run_dirs(runs_dir: Path) -> list[Path]:
    return sorted(d for d in runs_dir.iterdir() if d.is_dir())


async def test_e_exports_the_runs_shown_and_a_failure_is_a_notice(runs_dir, data_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = LabApp("polynomial", runs_dir, data_dir, device_probe=lambda: CPU)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e")
        assert "no runs to export yet" in notices(app)
        await ran_polynomial(pilot)
        (tmp_path / "exports").write_text("in the way")  # ./exports is a file: the folder cannot be made
        await pilot.press("e")
        await wait_until(pilot, lambda: "cannot write there" in notices(app))
        assert app.is_running and statuses(app) == ["finished"] * 3
        app.clear_notifications()
        (tmp_path / "exports").unlink()
        await pilot.press("e")
        await wait_until(pilot, lambda: "files in" in notices(app))
        folder = next((tmp_path / "exports").iterdir())
        assert str(folder) in notices(app)
    ids = [d.name for d in run_dirs(runs_dir)]
    for run_id in ids:
        assert (folder / f"{run_id}-loss.png").read_bytes().startswith(PNG)
        header = (folder / f"{run_id}.csv").read_text().splitlines()[0]
        assert header.startswith("epoch,step,time,train_loss")
    assert f"{len(list(folder.iterdir()))} files in" in notices(app)


async def test_card_shows_the_seed_and_config_and_R_reruns_the_same_config(runs_dir, data_dir):
    app = LabApp("polynomial", runs_dir, data_dir, device_probe=lambda: CPU)
    async with app.run_test(size=SIZE) as pilot:
        await ran_polynomial(pilot)
        first = run_dirs(runs_dir)
        selected = app.batch.runs["lr=0.01"]  # the cursor starts on the preset's focus
        await pilot.press("i")
        await wait_until(pilot, lambda: isinstance(app.screen, RunCardScreen))
        console = Console(file=io.StringIO(), width=200)
        console.print(app.screen.card)
        text = console.file.getvalue()
        assert selected.run_id in text and "seed" in text and "2020" in text
        assert "config" in text and "lr=0.01" in text and "smooth_l1" in text
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, RunCardScreen))
        await pilot.press("R")
        await wait_until(pilot, lambda: len(run_dirs(runs_dir)) == 4 and statuses(app) == ["finished"])
    new = next(d for d in run_dirs(runs_dir) if d not in first)
    old = runs_dir / selected.run_id
    assert new.name != old.name
    assert json.loads((new / "config.json").read_text()) == json.loads((old / "config.json").read_text())
    status = [json.loads((d / "status.json").read_text()) for d in (old, new)]
    assert [(s["preset"], s["variant"]) for s in status] == [("polynomial", selected.variant)] * 2


async def test_m_cycles_smoothing_and_the_keys_screen_lists_the_new_keys(runs_dir, data_dir):
    app = LabApp("polynomial", runs_dir, data_dir, device_probe=lambda: CPU)
    async with app.run_test(size=SIZE) as pilot:
        seen = []
        for _ in range(4):
            await pilot.press("m")
            seen.append(app.opts.smooth)
        assert seen == [0.6, 0.9, 0.97, 0.0]
        await pilot.press("m")
        assert "smoothed 0.6" in str(app.query_one("#status", Static).render())
        await pilot.press("question_mark")
        help_text = str(app.screen.query_one("#help-text", Static).render())
        for key in ("smooth", "export", "re-run", "card"):
            assert key in help_text


def _runs() -> list[RunData]:
    noisy = [{"epoch": e, "train_loss": 1.0 / e + (0.3 if e % 2 else 0.0)} for e in range(1, 41)]
    return [RunData("a", "lr=0.1", records=noisy, index=0)]


def _drawn(view: str, smooth: float) -> tuple[list, list]:
    plt.clear_figure()
    plt.plotsize(80, 20)
    VIEWS[view][1](plt, _runs(), ViewOptions(smooth=smooth))
    plt.build()
    monitor = plotext_core._figure._active.monitor
    return monitor.y, [c[0] for c in monitor.color]


def test_smoothing_draws_the_raw_curve_faint_behind_the_smoothed_one():
    ys, colours = _drawn("loss", 0.0)
    assert len(ys) == 1 and colours[0] != RAW_COLOUR
    ys, colours = _drawn("loss", 0.9)
    assert len(ys) == 2 and colours[0] == RAW_COLOUR and colours[1] != RAW_COLOUR
    raw, smooth = ys
    assert smooth[0] == raw[0]  # debiased: starts where the data starts
    assert max(smooth[5:]) - min(smooth[5:]) < max(raw[5:]) - min(raw[5:])  # the zigzag is calmed


def test_smoothed_accuracy_also_keeps_the_raw_curve():
    runs = [RunData("a", "x", records=[{"epoch": e, "train_acc": 0.5 + 0.01 * e} for e in range(1, 11)])]
    plt.clear_figure()
    VIEWS["accuracy"][1](plt, runs, ViewOptions(smooth=0.6))
    plt.build()
    assert len(plotext_core._figure._active.monitor.y) == 2


def test_log_loss_view_with_no_records_yet_builds():
    """A run just started (no records) on a log axis: plotext cannot build an empty log axis, so it stays
    linear."""
    plt.clear_figure()
    plt.plotsize(60, 20)
    VIEWS["loss"][1](plt, [RunData("", "lr=0.1", status="queued")], ViewOptions(log=True, smooth=0.9))
    assert "loss (log)" in plt.build()
