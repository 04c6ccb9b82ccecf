"""The lab's batched field (issue 30's `--batched auto|off`, in the lab): the choice reaches the runs."""

from __future__ import annotations

import time

from rich.console import Console
from textual.widgets import DataTable, Input

from dltui.core.spec.presets import parse
from dltui.core.store.folder import RunStore
from dltui.tui.app import LabApp
from dltui.tui.modals import HelpScreen, RunCardScreen

CPU = "cpu, 2 threads"
BATCHED_NOTE = "trained batched, one model of 2 copies"

DIGITS_TOML = """
name = "digits-lrs"
title = "Two learning rates on the digits"
shows = "a small sweep that can train as one batched model"
seeds = "test"
views = ["loss"]
description = "Two rates of a small MLP on the bundled digits."

[base]
task = "digits"
hidden = [16]
batch_size = 64
epochs = 2
seed = 0

[[variants]]
name = "lr=0.1"
lr = 0.1

[[variants]]
name = "lr=0.05"
lr = 0.05
"""


async def wait_until(pilot, cond, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out waiting for the app"
        await pilot.pause(0.05)


def ended(app) -> bool:
    return app.batch is not None and not app.batch.live


def card_text(app) -> str:
    console = Console(width=200, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(app.screen.card)
    return console.export_text()


async def run_with(pilot, app, mode: str) -> list[str]:
    """Type `mode` into the batched field, run, wait for the end; the new runs' notes (one string a run)."""
    field = app.query_one("#field-batched", Input)
    await pilot.click("#field-batched")
    field.value = ""
    await pilot.press(*mode, "escape", "r")
    await wait_until(pilot, lambda: app.batch is not None)
    await wait_until(pilot, lambda: ended(app))
    ids = [r.run_id for r in app.batch.list()]
    infos = {i.run_id: i for i in RunStore(app.store.root).list()}
    return ["; ".join(infos[i].summary.get("notes") or []) for i in ids]


async def test_batched_field_reaches_the_runs(runs_dir, data_dir):
    preset = parse(DIGITS_TOML, "digits-lrs.toml")
    app = LabApp("digits-lrs", runs_dir, data_dir, presets=[preset], device_probe=lambda: CPU)
    async with app.run_test(size=(140, 45)) as pilot:
        await wait_until(pilot, lambda: app.sub_title == CPU)
        assert app.query_one("#field-batched", Input).value == "auto"  # the preset says nothing: auto

        notes = await run_with(pilot, app, "auto")
        assert all(BATCHED_NOTE in n for n in notes), notes
        table = app.query_one("#runs", DataTable)
        table.focus()
        await pilot.press("i")  # the run card says so too
        await wait_until(pilot, lambda: isinstance(app.screen, RunCardScreen))
        assert BATCHED_NOTE in card_text(app)
        await pilot.press("escape")

        notes = await run_with(pilot, app, "off")
        assert notes and not any("trained batched" in n for n in notes), notes
        await pilot.press("q")


async def test_bad_mode_is_marked_and_blocks_the_run(runs_dir, data_dir):
    preset = parse(DIGITS_TOML, "digits-lrs.toml")
    app = LabApp("digits-lrs", runs_dir, data_dir, presets=[preset], device_probe=lambda: CPU)
    async with app.run_test(size=(140, 45)) as pilot:
        await wait_until(pilot, lambda: app.sub_title == CPU)
        await pilot.click("#field-batched")
        app.query_one("#field-batched", Input).value = ""
        await pilot.press(*"sometimes", "escape", "r")
        await pilot.pause(0.3)
        assert app.query_one("#field-batched", Input).has_class("-invalid")
        assert app.batch is None and not (runs_dir.exists() and list(runs_dir.iterdir()))  # nothing written
        assert "batched = sometimes is not a mode; use auto" in "\n".join(
            str(n.message) for n in app._notifications
        )
        await pilot.press("question_mark")  # the keys screen tells what the field does
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen))
        assert "The form's batched field: auto trains" in str(app.screen.query_one("#help-text").render())
        await pilot.press("q")


async def test_a_preset_that_says_off_starts_off(runs_dir, data_dir):
    preset = parse(DIGITS_TOML.replace('seeds = "test"', 'seeds = "test"\nbatched = "off"'), "d.toml")
    app = LabApp("digits-lrs", runs_dir, data_dir, presets=[preset], device_probe=lambda: CPU)
    async with app.run_test(size=(140, 45)) as pilot:
        await wait_until(pilot, lambda: app.sub_title == CPU)
        assert app.query_one("#field-batched", Input).value == "off"
        await pilot.press("q")
