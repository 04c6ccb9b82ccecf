"""Tables that fit the width (one column policy), progress a person can plan with, and runs named without
ids."""

from __future__ import annotations

import io
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from rich.console import Console
from textual.widgets import DataTable
from tui_fakes import curve_events, fake_worker, toy_preset
from typer.testing import CliRunner

from dltui.cli.compare import compare_table
from dltui.cli.console import summary_table
from dltui.cli.main import app
from dltui.core.executors import runner
from dltui.core.executors.trainingprocess import ExecutorDone
from dltui.core.readout.columns import PRIORITY, Column, fit
from dltui.core.readout.pace import batch_pace, run_pace
from dltui.core.store.folder import RunStore
from dltui.core.train.events import Progress
from dltui.tui.app import LabApp
from dltui.tui.lab.session import RunGroup

ANSI = re.compile(r"\x1b\[[0-9;]*m")
RUN_ID = "20261206-223331-989-mnist-batch-batch=1000-cde8"


def invoke(*args, columns: int = 160):
    return CliRunner(env={"COLUMNS": str(columns)}).invoke(
        app, [str(a) for a in args], catch_exceptions=False
    )


def rendered(thing, width: int) -> list[str]:
    out = io.StringIO()
    Console(file=out, width=width, color_system=None, force_terminal=False).print(thing)
    return out.getvalue().splitlines()


def ended(variant: str, acc: float) -> SimpleNamespace:
    summary = {"epochs": 10, "final_train_loss": 0.123, "final_test_loss": 0.4567, "final_test_acc": acc}
    summary.update(best_epoch=9, duration_s=61.2, steps_per_s=812.0)
    return SimpleNamespace(variant=variant, status="finished", summary=summary, run_id=RUN_ID)


def test_fit_drops_the_id_then_the_start_then_secondary_and_never_a_kept_column():
    cols = [
        Column("variant", "variant"),
        Column("id", "run id", PRIORITY["id"]),
        Column("started", "started", PRIORITY["started"]),
        Column("train", "train loss", PRIORITY["secondary"]),
        Column("test", "test loss"),
    ]
    rows = [["batch=1000", RUN_ID, "12-06 22:31", "0.1234", "0.4567"]]
    assert fit(cols, rows, 200) == [0, 1, 2, 3, 4]
    widths = [[0, 1, 2, 3, 4], [0, 2, 3, 4], [0, 3, 4], [0, 4]]
    seen = [fit(cols, rows, w) for w in range(120, 10, -1)]
    assert [s for i, s in enumerate(seen) if i == 0 or s != seen[i - 1]] == widths  # in that order, none kept


@pytest.mark.parametrize("width", [80, 140])
def test_run_summary_fits_the_width_with_variants_and_numbers_whole(width):
    lines = rendered(
        summary_table([ended("batch=1000", 0.9585), ended("batch=32", 0.97)], "mnist-batch"), width
    )
    assert all(len(line) <= width for line in lines)
    body = "\n".join(lines)
    assert "batch=1000" in body and "batch=32" in body and "95.9%" in body and "0.4567" in body
    assert RUN_ID not in body and "run id" in lines[-1]  # the id goes first: it needs 48 columns here
    assert ("best epoch" in lines[2]) == (width == 140)  # then the secondary figures, at 80


@pytest.mark.parametrize("width", [80, 140, 200])
def test_compare_table_fits_the_width_and_never_folds_a_variant(width):
    infos = [
        SimpleNamespace(
            run_id=f"{RUN_ID}{i}", state="finished", summary={"duration_s": 3.0}, path=Path("/nonexistent")
        )
        for i in range(3)
    ]
    records = {i.run_id: [{"epoch": e, "test_loss": 1.0 / e} for e in range(1, 6)] for i in infos}
    names = {i.run_id: f"batch={n}" for i, n in zip(infos, (10, 100, 1000))}
    lines = rendered(compare_table(infos, records, names, "test_loss"), width)
    assert all(len(line) <= width for line in lines)
    assert sum("batch=1000 " in line for line in lines) == 1 and not any(
        "batch=10 " in ln for ln in lines[-3:]
    )
    assert any(RUN_ID in line for line in lines) == (width == 200)  # the id goes first
    assert ("samples/s" in lines[2]) == (width > 80)  # then the secondary figures (header row)


@pytest.mark.parametrize("width", [80, 140, 160])
def test_dltui_runs_keeps_each_run_on_one_line(poly, width):
    r = invoke("runs", "--runs-dir", poly, columns=width)
    assert r.exit_code == 0, r.stdout
    rows = [line for line in r.stdout.splitlines() if "lr=0." in line]
    assert len(rows) == 3 and all(len(line) <= width for line in r.stdout.splitlines())
    assert all("finished" in row and re.search(r"\d\.\d+", row) for row in rows)
    ids = [x.run_id for x in RunStore(poly).list()]
    assert all(i in r.stdout for i in ids) == (width == 160)  # the id needs 44 columns of its own
    assert ("┃ started" in r.stdout) == (width > 80)


# -- the lab's table at 80x24 and 140x45 -----------------------------------------------------------------


@pytest.mark.parametrize("size", [(80, 24), (140, 45)])
async def test_lab_runs_table_fits_and_keeps_the_numbers_whole(runs_dir, data_dir, size):
    def script(plans):
        return [ev for p in plans for ev in curve_events(p, 12)] + [ExecutorDone()]

    lab = LabApp(presets=[toy_preset()], executor_factory=fake_worker(script), device_probe=lambda: "cpu")
    async with lab.run_test(size=size) as pilot:
        await pilot.press("r")
        for _ in range(200):
            if lab.batch is not None and lab.batch.done:
                break
            await pilot.pause(0.05)
        await pilot.pause(0.3)
        table = lab.query_one("#runs", DataTable)
        keys = [str(c.key.value) for c in table.columns.values()]
        assert keys[:5] == ["variant", "status", "epoch", "acc", "test"]
        used = sum(c.get_render_width(table) for c in table.columns.values())
        assert used <= table.size.width
        row = [str(table.get_cell("lr=0.1", k)) for k in ("variant", "status", "epoch", "test")]
        assert row[0].endswith("lr=0.1") and row[1] == "finished" and row[2] == "12/20"
        assert row[3] == lab.batch.row("lr=0.1")[4]  # the test loss as the formatter writes it, whole
        assert ("train" in keys) == (size[0] == 140)


# -- progress: paused, stopped, skipped, ETA -------------------------------------------------------------


def test_pace_gives_an_eta_and_steps_per_second():
    pace = run_pace({"epoch": 10, "step": 400, "time": 5.0}, None, {"epochs": 30})
    assert pace.eta_s == pytest.approx(10.0) and pace.steps_per_s == pytest.approx(80.0)
    assert pace.text() == "ETA 10s, 80 steps/s"
    inside = run_pace(None, Progress("r", "v", 3, 120, 0.5, 0.1, 5.0), {"epochs": 5})
    assert inside.eta_s == pytest.approx(5.0)  # 2.5 epochs in 5 s, 2.5 to go
    whole = batch_pace([pace], [30, 30])  # a run going (20 epochs left at 2 a second), two of 30 queued
    assert whole.eta_s == pytest.approx(40.0)
    assert run_pace(None, None, {"epochs": 5}) is None


def test_paused_stopped_and_skipped_read_as_such():
    plans = runner.plan(toy_preset())
    batch = RunGroup("toy-poly", plans)
    batch.apply(curve_events(plans[0], 3)[:-2])  # lr=0.1 started, 3 epochs, still running
    batch.paused = True
    assert batch.row("lr=0.1")[1] == "paused" and batch.row("lr=0.01")[1] == "queued"
    assert re.fullmatch(r"\d+s [\d.,]+/s", batch.row("lr=0.1")[7])  # its ETA and steps/s
    batch.paused, batch.stopped = False, True
    first = plans[0]
    batch.apply([*(ev for ev in curve_events(first, 3, "interrupted", "stopped by the user")[-1:])])
    batch.apply([ExecutorDone()])
    assert batch.row("lr=0.1")[1] == "stopped" and batch.row("lr=0.01")[1] == "skipped"
    assert batch.counts() == {"stopped": 1, "skipped": 1}


# -- runs named without ids ------------------------------------------------------------------------------


def test_compare_show_and_export_take_a_preset_and_a_variant_filter(poly, tmp_path):
    r = invoke("compare", "polynomial", "--runs-dir", poly)
    assert r.exit_code == 0, r.stdout
    assert all(v in r.stdout for v in ("lr=0.1", "lr=0.01", "lr=0.001"))
    r = invoke("compare", "polynomial:lr=0.1,lr=0.01", "--runs-dir", poly)
    table = ANSI.sub("", r.stdout).split("final and best")[1]
    assert r.exit_code == 0 and "lr=0.1 " in table and "lr=0.01 " in table and "lr=0.001" not in table
    r = invoke("show", "polynomial:lr=0.01", "--runs-dir", poly)
    assert r.exit_code == 0 and "polynomial / lr=0.01" in r.stdout
    r = invoke("export", "latest", "--to", tmp_path / "out", "--format", "csv", "--runs-dir", poly)
    assert r.exit_code == 0 and len(list((tmp_path / "out").glob("*.csv"))) == 3


@pytest.mark.parametrize(
    "name, says",
    [
        ("mnist-batch", "no run 'mnist-batch'"),
        ("polynomial:lr=9", "no variant of polynomial's newest sweep matches 'lr=9'; its variants:"),
        ("nosuch:x", "no runs of a preset 'nosuch'"),
    ],
)
def test_unknown_names_get_one_line_and_exit_2(poly, name, says):
    for command in (["compare", name], ["show", name], ["export", name, "--to", Path("/tmp/unused")]):
        r = invoke(*command, "--runs-dir", poly)
        err = r.stderr.strip()
        assert r.exit_code == 2 and says in err and len(err.splitlines()) == 1, (command, err)


# -- each preset keeps its own runs, filter and selection ------------------------------------------------


def two_presets():
    from dataclasses import replace

    first = toy_preset()
    return [first, replace(first, name="toy-other", title="Another")]


async def settle(pilot, cond, timeout: float = 30.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out waiting for the lab"
        await pilot.pause(0.05)


async def test_each_preset_keeps_its_runs_filter_and_selection(runs_dir, data_dir):
    from textual.widgets import Input

    presets = two_presets()
    script = fake_worker(lambda plans: [ev for p in plans for ev in curve_events(p, 5)])
    lab = LabApp(presets=presets, executor_factory=script, device_probe=lambda: "cpu")
    async with lab.run_test(size=(140, 45)) as pilot:
        await pilot.press("r")
        await settle(pilot, lambda: lab.batch is not None and lab.batch.done)
        first = lab.batch
        lab.table.focus()
        await pilot.press("down")  # the second run
        await pilot.press("slash", "0", ".", "0", "1", "enter")
        assert lab.opts.only == "0.01" and lab.work.runs_table.selected == "lr=0.01"
        await lab.select_preset(presets[1])
        await pilot.pause()
        box = lab.query_one("#variant-filter", Input)
        assert lab.batch is None and lab.table.row_count == 0  # nothing of the first preset's runs
        assert lab.opts.only == "" and not box.display and box.value == ""  # nor its filter
        await lab.select_preset(presets[0])
        await pilot.pause()
        assert lab.batch is first and lab.table.row_count == 2  # its own runs come back
        assert lab.opts.only == "0.01" and box.value == "0.01" and lab.work.runs_table.selected == "lr=0.01"


async def test_a_batch_that_ends_under_another_preset_leaves_the_screen_to_it(runs_dir, data_dir):
    gate = []

    def script(plans):
        return [ev for p in plans for ev in curve_events(p, 5)]

    class Slow(fake_worker(script)):  # sends nothing until the gate opens
        def drain(self, limit: int = 10_000, timeout: float = 0.0):
            return super().drain(limit, timeout) if gate else []

    presets = two_presets()
    lab = LabApp(presets=presets, executor_factory=Slow, device_probe=lambda: "cpu")
    async with lab.run_test(size=(140, 45)) as pilot:
        await pilot.press("r")
        await settle(pilot, lambda: lab.batch is not None)
        await lab.select_preset(presets[1])  # while the first preset's batch is live
        assert lab.batch is not None and lab.batch.preset == "toy-poly"  # a live batch stays in sight
        gate.append(True)
        await settle(pilot, lambda: lab.batch is None and lab.table.row_count == 0)
        assert "toy-other" in str(lab.work.status_bar.full)
