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


def test_an_instrument_panel_appears_only_once_its_probe_has_data():
    async def scenario():
        app = PanelApp()
        async with app.run_test(size=(120, 40)) as pilot:
            panel = app.query_one(PlotPanel)
            await panel.show(["loss", "accuracy", "update_ratio", "dead_units"])
            panel.draw([run_with([{"epoch": 1, "train_loss": 2.0}])], ViewOptions())
            await pilot.pause()
            assert shown(panel) == ["loss", "accuracy"]  # no empty "none yet" panels
            assert panel.has_class("-multi") and not panel.has_class("-lead")  # two side by side
            panel.cycle()
            panel.cycle()
            assert shown(panel)[panel.current] == "loss"  # v on a short terminal skips the hidden ones
            records = [{"epoch": 1, "train_loss": 2.0, "update_ratio": [-2.5, -3.1]}]
            panel.draw([run_with(records)], ViewOptions())
            await pilot.pause()
            assert shown(panel) == ["loss", "accuracy", "update_ratio"]
            assert panel.has_class("-lead")  # three panels: the lesson takes the whole first row
            records[0]["dead_units"] = [0.1]
            panel.draw([run_with(records)], ViewOptions())
            await pilot.pause()
            wide = [p.view_name for p in panel.query(ViewPlot) if p.has_class("-wide")]
            assert wide == ["dead_units"]  # four: the lesson, two beside each other, the last a whole row

    asyncio.run(scenario())
