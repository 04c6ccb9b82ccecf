"""The plot panel gives no room to an instrument whose probe has measured nothing: a learner sees the lesson's
views, and the instrument's panel once it has data."""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual.app import App, ComposeResult

from dltui.tui import plots
from dltui.tui.plots import PlotPanel, ViewPlot
from dltui.tui.viewkit import RunData, ViewOptions


class PanelApp(App):
    CSS_PATH = str(Path(plots.__file__).with_name("app.tcss"))  # the lab's own rules for the panel's grid

    def compose(self) -> ComposeResult:
        yield PlotPanel(id="plots")


def run_with(records: list[dict]) -> RunData:
    return RunData("r1", "default", {"lr": 0.1}, "running", records)


def shown(panel: PlotPanel) -> list[str]:
    return [p.view_name for p in panel.query(ViewPlot) if p.display]  # as on screen


def spans(panel: PlotPanel) -> dict[str, int]:
    return {p.view_name: p.styles.column_span for p in panel.query(ViewPlot) if p.display}


def test_an_instrument_panel_appears_only_once_its_probe_has_data():
    async def scenario():
        app = PanelApp()
        async with app.run_test(size=(120, 40)) as pilot:
            panel = app.query_one(PlotPanel)
            await panel.show(["loss", "accuracy", "update_ratio", "dead_units"])
            panel.draw([run_with([{"epoch": 1, "train_loss": 2.0}])], ViewOptions())
            await pilot.pause()
            assert shown(panel) == ["loss", "accuracy"]  # no empty "none yet" panels
            assert panel.styles.grid_size_columns == 2  # two side by side
            panel.cycle()
            panel.cycle()
            assert panel.focused_plot().view_name == "loss"  # v skips the hidden ones
            records = [{"epoch": 1, "train_loss": 2.0, "update_ratio": [-2.5, -3.1]}]
            panel.draw([run_with(records)], ViewOptions())
            await pilot.pause()
            assert shown(panel) == ["loss", "accuracy", "update_ratio"]
            assert spans(panel)["loss"] == 2  # three panels: the lesson takes the whole first row

    asyncio.run(scenario())


def test_no_panel_is_shorter_than_the_floor_at_any_size_they_page_instead():
    """Six panels at 80x24, 140x45 and 200x60 (the panel's share of them): each shown one has at least
    PANEL_ROWS rows; those that do not fit are on later pages, which v reaches, each panel once."""

    async def scenario(size):
        app = PanelApp()
        async with app.run_test(size=size) as pilot:
            panel = app.query_one(PlotPanel)
            await panel.show(["loss", "accuracy", "lr_curve", "best_epoch", "gradcheck", "lrfind"])
            await pilot.pause()
            seen, sizes = [], []
            for _ in range(6):
                page = [p for p in panel.query(ViewPlot) if p.display]
                assert page and all(p.size.height >= plots.PANEL_ROWS for p in page), size
                assert all(p.size.width >= plots.PANEL_COLS for p in page), size
                seen.append(panel.focused_plot().view_name)
                sizes.append(len(page))
                panel.cycle()
                await pilot.pause()
            assert sorted(seen) == sorted(panel.names)  # every panel focused once, on its page
            return max(sizes)  # the most panels on one page

    assert asyncio.run(scenario((50, 16))) == 1  # the lab's plot area at 80x24
    assert asyncio.run(scenario((102, 33))) <= 4  # at 140x45
    assert asyncio.run(scenario((162, 48))) >= 3  # at 200x60


def test_grid_keeps_the_floor():
    for count in range(1, 9):
        for width, height in ((58, 16), (102, 33), (162, 48), (300, 100)):
            cols, rows = plots.grid_for(count, width, height)
            assert cols * rows >= 1 and width // cols >= plots.PANEL_COLS or cols == 1
            assert height // rows >= plots.PANEL_ROWS or rows == 1
