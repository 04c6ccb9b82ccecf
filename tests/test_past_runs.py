"""The past-runs screen at many runs: listed in a thread, added a chunk at a time as far as the cursor goes,
narrowed by the filter."""

from __future__ import annotations

from test_runindex import make_runs
from test_tui_app import CPU, SIZE, wait_until
from textual.widgets import DataTable, Input
from tui_fakes import toy_preset

from dltui.tui.app import LabApp
from dltui.tui.pastruns.screen import ADD_ROWS, AHEAD, PastRunsScreen


async def test_many_runs_arrive_in_chunks_and_the_filter_narrows_them(tmp_path):
    root = tmp_path / "store"
    n = AHEAD + 2 * ADD_ROWS + 30
    make_runs(root, [("poly" if i % 3 else "mnist", f"v{i}", "finished", float(i)) for i in range(n)])
    app = LabApp(presets=[toy_preset()], runs_dir=root, device_probe=lambda: CPU)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("p")
        screen = app.screen
        assert isinstance(screen, PastRunsScreen)
        table = screen.query_one("#past-runs", DataTable)
        await wait_until(pilot, lambda: screen.loaded)
        await wait_until(pilot, lambda: table.row_count == AHEAD)  # a screenful and more, not every run
        assert str(table.get_row_at(0)[4]) == f"v{n - 1}"  # newest first
        for _ in range(3):
            await pilot.press("ctrl+end")  # the cursor to the last row the table holds: the next ones come
            await pilot.pause(0.2)
        await wait_until(pilot, lambda: table.row_count == n)
        assert [str(table.get_row_at(r)[4]) for r in range(n)] == [f"v{i}" for i in range(n - 1, -1, -1)]
        await pilot.press("slash", *"mnist v1")
        assert isinstance(app.focused, Input)
        want = [f"v{i}" for i in range(n - 1, -1, -1) if i % 3 == 0 and str(i).startswith("1")]
        await wait_until(pilot, lambda: table.row_count == len(want))
        assert [str(table.get_row_at(r)[4]) for r in range(table.row_count)] == want
        assert f"{len(want)} of {n} shown" in str(screen.query_one("#past-title").render())
        await pilot.press("enter")  # back to the table
        assert app.focused is table
