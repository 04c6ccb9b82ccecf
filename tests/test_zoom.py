"""z maximises the focused panel: a cursor reads values off it, the legend hides and shows runs, l puts it on
a log axis, and z comes back to the lab as it was."""

from __future__ import annotations

from test_tui_snapshots import lab, settle

from dltui.tui.plots import ViewPlot
from dltui.tui.viewkit import uncoloured
from dltui.tui.zoom import ZoomScreen


def zoomed(app) -> ViewPlot:
    return app.screen.query_one(ViewPlot)


async def test_z_maximises_reads_values_hides_runs_and_comes_back():
    app = lab()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot, lambda a: a.batch is not None and a.batch.done)
        focused = app.work.panel.focused_plot().view_name
        await pilot.press("z")
        await settle(pilot, lambda a: isinstance(a.screen, ZoomScreen))
        plot = zoomed(app)
        assert (
            plot.view_name == focused and plot.size.width > 60 and plot.size.height > 20
        )  # the whole screen
        await pilot.press("left")  # the cursor starts at the last epoch
        await settle(pilot)
        readout = str(app.screen.query_one("#zoom-readout").render())
        assert "epoch 20" in readout and "lr=0.1: train_loss" in readout and "lr=0.01: train_loss" in readout
        await pilot.press("left", "left")
        await settle(pilot)
        assert "epoch 18" in str(app.screen.query_one("#zoom-readout").render())
        assert plot.opts.cursor == 18
        await pilot.press("space")  # the legend's first run: hidden
        await settle(pilot)
        assert [r.variant for r in plot.runs] == ["lr=0.01"]
        assert "lr=0.1:" not in str(app.screen.query_one("#zoom-readout").render())
        await pilot.press("a")
        await settle(pilot)
        assert len(plot.runs) == 2
        await pilot.press("l")
        await settle(pilot)
        if plot.view_name == "loss":
            assert "loss (log)" in uncoloured(plot.shown.plain)
        await pilot.press("z")
        await settle(pilot, lambda a: not isinstance(a.screen, ZoomScreen))
        assert app.work.panel.focused_plot().ylog is True  # l there is the panel's own log axis here too


async def test_l_logs_the_focused_panel_only_and_v_moves_the_focus():
    app = lab()
    async with app.run_test(size=(140, 45)) as pilot:
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot, lambda a: a.batch is not None and a.batch.done)
        panel = app.work.panel
        first = panel.focused_plot()
        await pilot.press("v")
        second = panel.focused_plot()
        assert second is not first and "◆" in second.note and "◆" not in first.note
        await pilot.press("l")
        await settle(pilot)
        assert second.ylog is True and first.ylog is None
