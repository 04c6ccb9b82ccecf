"""A panel of plotext plots, one per view a preset names; unknown views are skipped."""
from __future__ import annotations

from rich.text import Text
from textual.containers import Container
from textual_plotext import PlotextPlot

from .viewkit import VIEWS, RunData, ViewOptions
from .views import load_all

load_all()


def known_views(names: list[str] | tuple[str, ...]) -> list[str]:
    """The names that have a registered drawer, in order (others come with other helpers' modules)."""
    return [n for n in names if n in VIEWS]


class ViewPlot(PlotextPlot):
    """One view, drawn afresh from the run buffers at each render (plotext transforms the data it builds,
    so a figure is never built twice); `draw` only says what to draw and asks for a render."""

    def __init__(self, view_name: str, **kw):
        super().__init__(**kw)
        self.view_name = view_name
        self.runs: list[RunData] = []
        self.opts = ViewOptions()

    def draw(self, runs: list[RunData], opts: ViewOptions) -> None:
        self.runs, self.opts = runs, opts
        self.refresh()

    def render(self):
        """The plot, or a short note where plotext cannot draw it (a very small area, say)."""
        self.plt.clear_figure()
        VIEWS[self.view_name][1](self.plt, self.runs, self.opts)
        try:
            return super().render()
        except (IndexError, ValueError, ZeroDivisionError) as e:
            return Text(f"{self.view_name}: cannot draw here ({type(e).__name__})", style="dim")


class PlotPanel(Container):
    """The plots of the current preset; `show(names)` picks them, `draw()` redraws them all."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.names: list[str] = []

    async def show(self, names: list[str] | tuple[str, ...]) -> None:
        """Replace the plots with the known views among `names`."""
        names = known_views(names)
        if names == self.names:
            return
        self.names = names
        await self.remove_children()
        await self.mount_all([ViewPlot(n, classes="plot") for n in names])
        self.set_class(len(names) > 1, "-multi")

    def draw(self, runs: list[RunData], opts: ViewOptions) -> None:
        for plot in self.query(ViewPlot):
            plot.draw(runs, opts)
