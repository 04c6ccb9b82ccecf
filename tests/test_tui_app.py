"""The lab as a user drives it (Textual's Pilot): pick, tune, run, watch, stop, quit; bad input; failures."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace

from textual.widgets import DataTable, Input, ListView, Static
from tui_fakes import curve_events, fake_worker, toy_preset

from dltui.core.spec.presets import load
from dltui.tui.app import LabApp
from dltui.tui.modals import HelpScreen
from dltui.tui.pastruns.screen import PastRunsScreen
from dltui.tui.plots import ViewPlot
from dltui.tui.viewkit import VIEWS

SIZE = (120, 40)
CPU = "cpu, 2 threads"


async def wait_until(pilot, cond, timeout: float = 60.0) -> None:
    """Let the app work until `cond()` holds (bounded: fails after `timeout` seconds)."""
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out waiting for the app"
        await pilot.pause(0.05)


def statuses(app) -> list[str]:
    table = app.query_one("#runs", DataTable)
    return [str(table.get_cell(row, "status")) for row in table.rows]


def notices(app) -> str:
    return "\n".join(str(n.message) for n in app._notifications)


def plot_text(app, view: str) -> str:
    """The picture the view shows now (maybe one a build in the background is about to replace)."""
    plot = next(p for p in app.screen.query(ViewPlot) if p.view_name == view)
    return plot.render().plain


async def drawn_text(pilot, view: str) -> str:
    """The view's picture once no plot on the screen waits for a build (plots are built in a thread)."""
    await wait_until(pilot, lambda: not any(p.pending for p in pilot.app.screen.query(ViewPlot)))
    return plot_text(pilot.app, view)


async def set_field(pilot, key: str, text: str) -> None:
    """Click a form field, replace its text the way a user types it."""
    await pilot.click(f"#field-{key}")
    field = pilot.app.query_one(f"#field-{key}", Input)
    field.value = ""
    await pilot.press(*text)


def saved_statuses(runs_dir) -> list[str]:
    return sorted(
        json.loads((d / "status.json").read_text())["status"] for d in runs_dir.iterdir() if d.is_dir()
    )


async def test_select_tune_run_watch_quit(runs_dir, data_dir):
    app = LabApp("polynomial", runs_dir, data_dir, device_probe=lambda: CPU)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.sub_title == CPU)
        assert "Polynomial approximation" in str(app.query_one("#about", Static).render())
        await set_field(pilot, "epochs", "30")
        await pilot.press("escape", "r")
        await wait_until(pilot, lambda: statuses(app) == ["finished"] * 3)
        table = app.query_one("#runs", DataTable)
        assert [str(table.get_cell(r, "epoch")) for r in table.rows] == ["30/30"] * 3
        loss = await drawn_text(pilot, "loss")
        assert any(ch in loss for ch in "⠁⠂⠄⡀⢀⣀⠉⠒⠤")  # braille points: the curves
        assert "lr=0.01: learned by epoch vs target" in await drawn_text(pilot, "function")  # the focus run
        await pilot.press("q")
    assert app.return_code == 0
    assert saved_statuses(runs_dir) == ["finished"] * 3
    configs = [json.loads((d / "config.json").read_text()) for d in runs_dir.iterdir()]
    assert {c["epochs"] for c in configs} == {30} and {c["lr"] for c in configs} == {0.1, 0.01, 0.001}


async def test_stop_then_quit_while_running_leaves_runs_interrupted(runs_dir, data_dir):
    app = LabApp("polynomial", runs_dir, data_dir, device_probe=lambda: CPU)
    async with app.run_test(size=SIZE) as pilot:
        await set_field(pilot, "epochs", "1000000")
        await pilot.press("enter")  # enter in a field runs
        await wait_until(pilot, lambda: app.batch is not None and len(app.batch.list()[0].records) >= 3)
        await pilot.press("escape", "space")
        assert "paused" in str(app.query_one("#status", Static).render())
        await pilot.press("space", "s")
        await wait_until(pilot, lambda: app.batch.done)
        assert statuses(app) == [
            "stopped",
            "skipped",
            "skipped",
        ]  # the lab says stopped; the file says interrupted
        stopped = app.batch
        await pilot.press("r")
        await wait_until(pilot, lambda: app.batch is not stopped and len(app.batch.list()[0].records) >= 1)
        started = time.monotonic()
        await pilot.press("q")
    assert time.monotonic() - started < 5  # generous for a shared test machine; by hand it is < 2 s
    assert saved_statuses(runs_dir) == ["interrupted", "interrupted"]


async def test_ctrl_c_mid_run_stops_it_and_leaves(runs_dir, data_dir):
    app = LabApp("polynomial", runs_dir, data_dir, device_probe=lambda: CPU)
    async with app.run_test(size=SIZE) as pilot:
        await set_field(pilot, "epochs", "1000000")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.batch is not None and len(app.batch.list()[0].records) >= 3)
        await pilot.press("ctrl+c")
    assert app.return_code == 0
    assert saved_statuses(runs_dir) == ["interrupted"]


async def test_bad_value_is_marked_and_blocks_the_run(runs_dir, data_dir):
    app = LabApp("polynomial", runs_dir, data_dir, device_probe=lambda: CPU)
    async with app.run_test(size=SIZE) as pilot:
        await set_field(pilot, "lr", "-0.5")
        field = app.query_one("#field-lr", Input)
        assert field.has_class("-invalid")
        reason = str(app.query_one("#form-error", Static).render())
        assert "lr must be a number > 0" in reason and app.query_one("#form-error").display
        await pilot.press("enter")
        await pilot.press("escape", "r")
        await pilot.pause()
        assert app.batch is None and app.executor is None
        assert "lr must be a number > 0" in notices(app)
        await set_field(pilot, "batch_size", "ful")
        assert "full" in str(app.query_one("#form-error", Static).render())
    assert not runs_dir.exists() or not any(runs_dir.iterdir())


async def test_missing_data_is_a_notice_and_leaves_nothing(runs_dir, data_dir, tmp_path):
    preset_file = tmp_path / "mnist-mine.toml"
    preset_file.write_text('name = "mnist-mine"\n[base]\ntask = "mnist"\nepochs = 1\n')
    app = LabApp(str(preset_file), runs_dir, data_dir, device_probe=lambda: CPU)
    async with app.run_test(size=SIZE) as pilot:
        assert app.preset.name == "mnist-mine"
        await pilot.press("r")
        await wait_until(pilot, lambda: not app.starting)
        assert "mnist" in notices(app).lower() and app.batch is None
        assert "press r" in str(app.query_one("#status", Static).render())
    assert not runs_dir.exists() or not any(runs_dir.iterdir())


async def test_failing_run_is_a_notice_and_the_app_stays_up(runs_dir, data_dir):
    def script(plans):
        return curve_events(
            plans[0], 3, "failed", "RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB"
        ) + curve_events(plans[1], 3)

    app = LabApp(presets=[toy_preset()], executor_factory=fake_worker(script), device_probe=lambda: CPU)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("r")
        await wait_until(pilot, lambda: app.batch is not None and app.batch.done)
        assert statuses(app) == ["failed", "finished"]
        table = app.query_one("#runs", DataTable)
        assert "CUDA out of memory" in str(table.get_cell("lr=0.1", "note"))
        assert "toy-poly lr=0.1 failed: RuntimeError: CUDA out of memory" in notices(app)
        await pilot.press("r")  # still up: it runs again
        await wait_until(pilot, lambda: app.batch.done and statuses(app) == ["failed", "finished"])


async def test_dead_training_process_fails_its_runs(runs_dir, data_dir):
    from dltui.core.executors.trainingprocess import ExecutorDone

    def script(plans):
        return curve_events(plans[0], 2)[:3] + [ExecutorDone("the training process died (exit code -9)")]

    app = LabApp(presets=[toy_preset()], executor_factory=fake_worker(script), device_probe=lambda: CPU)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("r")
        await wait_until(pilot, lambda: app.batch is not None and app.batch.done)
        assert statuses(app) == ["failed", "failed"]
        assert "exit code -9" in notices(app)


async def test_keys_axes_and_unknown_views(runs_dir, data_dir):
    preset = replace(toy_preset(), views=("loss", "lr_curve_not_yet_here", "function"))
    app = LabApp(
        presets=[preset],
        executor_factory=fake_worker(lambda plans: curve_events(plans[0], 5)),
        device_probe=lambda: CPU,
    )
    async with app.run_test(size=SIZE) as pilot:
        assert [p.view_name for p in app.query(ViewPlot)] == ["loss", "function"]
        await pilot.press("r")
        await wait_until(pilot, lambda: app.batch is not None and app.batch.done)
        await pilot.press("x")
        assert "update" in await drawn_text(pilot, "loss")
        await pilot.press("x", "l")
        loss = await drawn_text(pilot, "loss")
        assert "wall-clock seconds" in loss and "loss (log)" in loss
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_preset_list_by_keyboard_updates_description_and_form(runs_dir, data_dir):
    other = replace(
        toy_preset(), name="other", title="Another one", base={**toy_preset().base, "optimizer": "adam"}
    )
    app = LabApp(presets=[toy_preset(), other], device_probe=lambda: CPU)
    async with app.run_test(size=SIZE) as pilot:
        assert app.focused is app.query_one("#presets", ListView)
        await pilot.press("down")
        await wait_until(pilot, lambda: app.preset.name == "other")
        assert "Another one" in str(app.query_one("#about", Static).render())
        await wait_until(pilot, lambda: app.query_one("#field-optimizer", Input).value == "adam")
        await pilot.press("enter")
        assert isinstance(app.focused, Input)


async def test_past_runs_screen_lists_and_overlays(runs_dir, data_dir, cli):
    assert (
        cli("run", "polynomial", "--set", "epochs=5", "--variant", "lr=0.1", "--variant", "lr=0.01").exit_code
        == 0
    )
    app = LabApp("polynomial", runs_dir, data_dir, device_probe=lambda: CPU)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("p")
        assert isinstance(app.screen, PastRunsScreen)
        table = app.screen.query_one("#past-runs", DataTable)
        await wait_until(pilot, lambda: table.row_count == 2)  # listed in a thread
        await pilot.press("space", "down", "space", "enter")
        loss = await drawn_text(pilot, "loss")
        assert any(ch in loss for ch in "⠁⠂⠄⡀⢀⣀⠉⠒⠤")
        marks = [table.get_cell(r, "mark") for r in table.rows]
        assert all(str(m).startswith("■") for m in marks)  # each overlaid run's colour: the key to its line
        await pilot.press("escape")
        assert not isinstance(app.screen, PastRunsScreen)


def test_named_preset_loads():
    assert load("polynomial").views == ("function", "loss")  # the lesson first: a short terminal shows it


async def test_small_terminal_shows_one_plot_and_v_cycles(runs_dir, data_dir):
    app = LabApp(presets=[toy_preset()], device_probe=lambda: CPU)
    async with app.run_test(size=(80, 24)) as pilot:
        shown = lambda: [p.view_name for p in app.query(ViewPlot) if p.display and p.styles.display != "none"]  # noqa: E731
        assert app.has_class("-short", "-narrow") and shown() == ["loss"]
        await pilot.press("v")
        assert shown() == ["function"]
        await pilot.resize_terminal(140, 45)
        await pilot.pause()
        assert not app.has_class("-short") and shown() == ["loss", "function"]


def lab_with_views(*views: str) -> LabApp:
    """The lab on the toy preset showing `views`, its runs scripted (five epochs of the first plan)."""
    return LabApp(
        presets=[replace(toy_preset(), views=views)],
        executor_factory=fake_worker(lambda plans: curve_events(plans[0], 5)),
        device_probe=lambda: CPU,
    )


async def run_to_the_end(pilot) -> None:
    await pilot.press("r")
    await wait_until(pilot, lambda: pilot.app.batch is not None and pilot.app.batch.done)


async def test_plots_are_built_off_the_ui_thread(monkeypatch):
    threads = []

    def probe(plt, runs, opts):
        threads.append(threading.current_thread())
        plt.plot([0, 1, 2], [1, 0, 2], label=f"{len(runs)} runs")

    monkeypatch.setitem(VIEWS, "thread_probe", ("thread probe", probe))
    app = lab_with_views("thread_probe")
    async with app.run_test(size=SIZE) as pilot:
        await run_to_the_end(pilot)
        assert "2 runs" in await drawn_text(pilot, "thread_probe")
    assert threads and threading.main_thread() not in threads
    for t in threads:
        t.join(5)  # and the build thread ends with the app
    assert not any(t.is_alive() for t in threads)


async def test_a_failing_view_is_a_note_and_the_app_stays_up(monkeypatch):
    def broken(plt, runs, opts):
        if runs:
            raise KeyError("train_loss")

    monkeypatch.setitem(VIEWS, "broken", ("broken", broken))
    app = lab_with_views("broken", "loss")
    async with app.run_test(size=SIZE) as pilot:
        await run_to_the_end(pilot)
        assert "broken: cannot draw here (KeyError)" in await drawn_text(pilot, "broken")
        assert "loss: ⣿ train" in await drawn_text(pilot, "loss")
        await pilot.press("q")
    assert app.return_code == 0
