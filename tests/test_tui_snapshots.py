"""Snapshots of the lab's main screens (pytest-textual-snapshot), on a fixed preset and scripted runs.

Update them after a deliberate change with `pytest tests/test_tui_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest
from tui_fakes import curve_events, fake_worker, toy_preset

from dltui.core.store.folder import write_json_atomic
from dltui.tui.app import LabApp
from dltui.tui.plots import ViewPlot

CPU = "cpu, 2 threads"


def plots_pending(app) -> bool:
    return any(p.pending for p in app.screen.query(ViewPlot))


async def settle(pilot, cond=lambda app: True, timeout: float = 30.0) -> None:
    """Wait (bounded) until the device is shown, `cond(app)` holds and no plot on the screen waits for its
    picture (they are built in a thread), then let the screen catch up."""
    deadline = time.monotonic() + timeout
    while not (pilot.app.sub_title == CPU and cond(pilot.app) and not plots_pending(pilot.app)):
        assert time.monotonic() < deadline, "timed out waiting for the app"
        await pilot.pause(0.05)
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()


def lab(script=None) -> LabApp:
    both = script or (lambda plans: [ev for p in plans for ev in curve_events(p, 20)])
    return LabApp(presets=[toy_preset()], executor_factory=fake_worker(both), device_probe=lambda: CPU)


async def ran(pilot) -> None:
    await settle(pilot)
    await pilot.press("r")
    await settle(pilot, lambda app: app.batch is not None and app.batch.done)


def test_main_screen(snap_compare):
    assert snap_compare(lab(), terminal_size=(120, 40), run_before=settle)


def test_main_screen_after_runs(snap_compare):
    assert snap_compare(lab(), terminal_size=(120, 40), run_before=ran)


def test_small_terminal_after_runs(snap_compare):
    assert snap_compare(lab(), terminal_size=(80, 24), run_before=ran)


def test_bad_value_marked(snap_compare):
    async def bad(pilot):
        await settle(pilot)
        await pilot.click("#field-batch_size")
        await pilot.press("backspace", "backspace", "0")
        await settle(pilot)

    assert snap_compare(lab(), terminal_size=(120, 40), run_before=bad)


def test_keys_screen(snap_compare):
    async def keys(pilot):
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)

    assert snap_compare(lab(), terminal_size=(100, 30), run_before=keys)


def _fake_run(root: Path, run_id: str, variant: str, lr: float, status: str, started: float) -> None:
    d = root / run_id
    d.mkdir(parents=True)
    write_json_atomic(d / "config.json", {"task": "polynomial", "lr": lr, "epochs": 20})
    write_json_atomic(
        d / "status.json",
        {
            "run_id": run_id,
            "preset": "toy-poly",
            "variant": variant,
            "status": status,
            "pid": 2**22 + 1,
            "host": socket.gethostname(),
            "started": started,
        },
    )
    lines = [
        json.dumps(
            {
                "epoch": e,
                "step": 4 * e,
                "time": 0.01 * e,
                "train_loss": 10 / (1 + lr * 10 * e),
                "test_loss": 9 / (1 + lr * 10 * e),
            }
        )
        for e in range(1, 21)
    ]
    (d / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    if status != "running":
        write_json_atomic(
            d / "summary.json",
            {"epochs": 20, "final_train_loss": 10 / (1 + lr * 200), "final_test_loss": 9 / (1 + lr * 200)},
        )


@pytest.fixture
def past_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DLTUI_RUNS_DIR", "runs")
    _fake_run(tmp_path / "runs", "20250101-120000-toy-poly-lr=0.1-aaaa", "lr=0.1", 0.1, "finished", 1.0)
    _fake_run(tmp_path / "runs", "20250101-120100-toy-poly-lr=0.01-bbbb", "lr=0.01", 0.01, "finished", 2.0)
    _fake_run(
        tmp_path / "runs", "20250101-120200-toy-poly-lr=0.5-cccc", "lr=0.5", 0.5, "running", 3.0
    )  # its process is gone


def test_past_runs_overlay(snap_compare, past_runs):
    async def overlay(pilot):
        await settle(pilot)
        await pilot.press("p")
        await pilot.press("down", "space", "down", "space", "enter")
        await settle(pilot)

    assert snap_compare(lab(), terminal_size=(120, 40), run_before=overlay)
