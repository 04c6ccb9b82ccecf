"""A panel of plotext plots, one per view a preset names; unknown views are skipped."""
from __future__ import annotations

import math
import time

from rich.text import Text
from textual.containers import Container
from textual_plotext import PlotextPlot

from .viewkit import VIEWS, RunData, ViewOptions
from .views import load_all

load_all()
MIN_INTERVAL_S = 0.2  # each plot at most 5 times a second


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
        self.stale = False
        self.drawn_at = -math.inf
        self.drawn_key: tuple = ()

    def draw(self, runs: list[RunData], opts: ViewOptions) -> None:
        """Draw `runs` at the next render; skipped when nothing this view reads has changed."""
        self.stale, self.drawn_at = False, time.monotonic()
        key = signature(self.view_name, runs, opts)
        if key == self.drawn_key:
            return
        self.runs, self.opts, self.drawn_key = runs, opts, key
        self.refresh()

    def render(self):
        """The plot, or a short note where plotext cannot draw it (a very small area, say)."""
        self.plt.clear_figure()
        VIEWS[self.view_name][1](self.plt, self.runs, self.opts)
        try:
            return super().render()
        except (IndexError, TypeError, ValueError, ZeroDivisionError) as e:  # a view's bug must not end the app
            return Text(f"{self.view_name}: cannot draw here ({type(e).__name__})", style="dim")


def signature(view_name: str, runs: list[RunData], opts: ViewOptions) -> tuple:
    """What a view's picture depends on. A drawer marked `reads = "snapshots"` ignores new metric records."""
    snaps_only = getattr(VIEWS[view_name][1], "reads", "") == "snapshots"
    data = tuple((r.run_id, r.status, 0 if snaps_only else len(r.records), len(r.snapshots)) for r in runs)
    return data, opts.x, opts.log, opts.selected, opts.smooth


class PlotPanel(Container):
    """The plots of the current preset; `show(names)` picks them, `draw()` redraws them all."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.names: list[str] = []
        self.current = 0  # the one view shown on a short terminal

    async def show(self, names: list[str] | tuple[str, ...]) -> None:
        """Replace the plots with the known views among `names`."""
        names = known_views(names)
        if names == self.names:
            return
        self.names = names
        await self.remove_children()
        await self.mount_all([ViewPlot(n, classes="plot") for n in names])
        self.set_class(len(names) > 1, "-multi")
        self.current = 0
        self.mark_current()

    def cycle(self) -> None:
        """Show the next view where only one fits (a short terminal)."""
        if self.names:
            self.current = (self.current + 1) % len(self.names)
            self.mark_current()

    def mark_current(self) -> None:
        for i, plot in enumerate(self.query(ViewPlot)):
            plot.set_class(i == self.current, "-current")

    def draw(self, runs: list[RunData], opts: ViewOptions) -> None:
        """Redraw every plot now (after a key press or a new batch)."""
        for plot in self.query(ViewPlot):
            plot.draw(runs, opts)

    def mark_stale(self) -> None:
        for plot in self.query(ViewPlot):
            plot.stale = True

    def draw_next(self, runs: list[RunData], opts: ViewOptions) -> None:
        """Redraw one stale plot, the one drawn longest ago, if that was at least MIN_INTERVAL_S ago.

        One plot per frame keeps each frame short (a plotext build takes tens of ms), and each plot is
        redrawn at most 1 / MIN_INTERVAL_S times a second, only when new data arrived.
        """
        now = time.monotonic()
        stale = [p for p in self.query(ViewPlot) if p.stale and now - p.drawn_at >= MIN_INTERVAL_S]
        if stale:
            min(stale, key=lambda p: p.drawn_at).draw(runs, opts)
