"""A panel of plotext plots, one per view a preset names; unknown views are skipped.

A plotext build takes tens of ms of pure Python, so it never runs on the UI thread: a plot hands a copy
of its data, its size and theme to its panel's build thread and shows the last picture built meanwhile.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from functools import partial

from rich.text import Text
from textual.containers import Container
from textual.message import Message
from textual_plotext import PlotextPlot
from textual_plotext.plot import Plot

from .viewkit import INSTRUMENT_VIEWS, VIEWS, Drawer, RunData, ViewOptions, measured, picture
from .views import load_all

load_all()
MIN_INTERVAL_S = 0.2  # each plot at most 5 times a second
RECENT_RECORDS = 8  # a hidden instrument panel looks for its probe's value in each run's last records, a tick
DRAWING = Text("drawing…", style="dim")  # until a plot's first picture is built


def known_views(names: list[str] | tuple[str, ...]) -> list[str]:
    """The names that have a registered drawer, in order (others come with other helpers' modules)."""
    return [n for n in names if n in VIEWS]


def absent(plot: ViewPlot) -> bool:
    """An instrument panel hidden for want of data (a class, not `display`: a short terminal hides the panels
    that are not current through CSS, and those are still there to cycle to)."""
    return plot.has_class("-absent")


class Builder:
    """One background thread that builds pictures one at a time, in the order asked."""

    def __init__(self):
        self.pool: ThreadPoolExecutor | None = None
        self.closed = False

    def submit(self, job: Callable[[], Text], done: Callable[[Text], None]) -> bool:
        """Run `job` on the build thread and hand its picture to `done` there; False once closed."""
        if self.closed:
            return False
        if self.pool is None:
            self.pool = ThreadPoolExecutor(1, thread_name_prefix="dltui-plots")
        self.pool.submit(job).add_done_callback(lambda f: deliver(f, done))
        return True

    def close(self) -> None:
        """Drop the builds not started; one in progress ends on its own (its picture goes nowhere)."""
        self.closed = True
        if self.pool is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)


def deliver(future: Future, done: Callable[[Text], None]) -> None:
    """Hand a finished build to `done` (cancelled ones are dropped)."""
    if not future.cancelled():
        done(future.result())


def build(
    plot: Plot,
    view_name: str,
    drawer: Drawer,
    runs: list[RunData],
    opts: ViewOptions,
    size: tuple[int, int],
    theme: str,
) -> Text:
    """The view's picture at this size and plotext theme (on the build thread), or a short note where
    plotext cannot draw it (a very small area, say): a view's bug must not end the app."""
    try:
        return Text.from_ansi(picture(plot, drawer, runs, opts, *size, theme))
    except Exception as e:  # noqa: BLE001 - any error of any view becomes the note, on a thread nobody watches
        return Text(f"{view_name}: cannot draw here ({type(e).__name__})", style="dim")


def snapshot(runs: list[RunData]) -> list[RunData]:
    """Copies of the runs' lists (the UI thread appends to them while a build reads them)."""
    return [replace(r, records=list(r.records), snapshots=list(r.snapshots)) for r in runs]


class ViewPlot(PlotextPlot):
    """One view: `draw` hands the data to the build thread when what the view reads has changed; render
    shows the last picture built, and asks for a new one when the size or theme has changed too."""

    # After a resize the old picture is shown until the new one is built: cropped, not wrapped.
    DEFAULT_CSS = """
    ViewPlot {
        text-wrap: nowrap;
        text-overflow: clip;
    }
    """

    class Built(Message, bubble=False):
        """A picture is ready for `key` (signature, width, height, theme)."""

        def __init__(self, key: tuple, text: Text):
            super().__init__()
            self.key, self.text = key, text

    def __init__(self, view_name: str, builder: Builder, **kw):
        super().__init__(**kw)
        self.view_name = view_name
        self.builder = builder
        self.runs: list[RunData] = []
        self.opts = ViewOptions()
        self.sig = signature(view_name, self.runs, self.opts)
        self.stale = False
        self.drawn_at = -math.inf
        self.shown: Text | None = None
        self.shown_key: tuple | None = None
        self.building: tuple | None = None  # the key of the build in progress

    def draw(self, runs: list[RunData], opts: ViewOptions) -> None:
        """Draw `runs` (in the background); skipped when nothing this view reads has changed."""
        self.stale, self.drawn_at = False, time.monotonic()
        sig = signature(self.view_name, runs, opts)
        if sig == self.sig:
            return
        self.runs, self.opts, self.sig = snapshot(runs), replace(opts), sig
        self.request()

    def key(self) -> tuple:
        """What the picture depends on: the data, the size and the plotext theme."""
        return self.sig, self.size.width, self.size.height, self._get_plotext_theme_name(self.app.theme)

    @property
    def pending(self) -> bool:
        """True while the picture on screen is not the one for the current data, size and theme (new data
        waiting for its turn to be drawn included)."""
        return self.building is not None or self.stale or (self.display and self.key() != self.shown_key)

    def request(self) -> None:
        """Build the picture for the current key, unless it is shown already or a build is going (its end
        asks again, so data that came meanwhile is drawn next, once)."""
        key = self.key()
        if self.building is not None or key == self.shown_key or not self.size.area:
            return
        drawer = VIEWS[self.view_name][1]
        job = partial(build, self._plot, self.view_name, drawer, self.runs, self.opts, key[1:3], key[3])
        if self.builder.submit(job, partial(self.post_built, key)):
            self.building = key

    def post_built(self, key: tuple, text: Text) -> None:
        """(On the build thread.) Send the picture to the UI thread; dropped once the plot is gone."""
        try:
            self.post_message(self.Built(key, text))
        except RuntimeError:  # unmounted (no app), or the event loop has closed
            pass

    def on_view_plot_built(self, msg: Built) -> None:
        self.building = None
        self.shown, self.shown_key = msg.text, msg.key
        self.refresh()
        self.request()

    def render(self):
        """The last picture built (a new one is asked for if the size or theme changed)."""
        self.request()
        return self.shown if self.shown is not None else DRAWING


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
        self.builder = Builder()  # the panel's plots are built on one thread, one at a time

    async def show(self, names: list[str] | tuple[str, ...]) -> None:
        """Replace the plots with the known views among `names`."""
        names = known_views(names)
        if names == self.names:
            return
        self.names = names
        await self.remove_children()
        await self.mount_all([ViewPlot(n, self.builder, classes="plot") for n in names])
        for plot in self.optional:
            plot.add_class("-absent")  # no room until its probe has measured something (see fit)
        self.current = 0
        self.regrid()

    @property
    def optional(self) -> list[ViewPlot]:
        """The instrument panels after the main view: shown only once a run has their probe's data, so that a
        probe that is off or has not measured yet takes no room from the lesson."""
        return [p for p in list(self.query(ViewPlot))[1:] if p.view_name in INSTRUMENT_VIEWS]

    def fit(self, runs: list[RunData], recent: int | None = None) -> None:
        """Show the instrument panels that have data and hide the others (`recent`: a live tick's cheap look,
        at hidden panels only, in each run's last records)."""
        changed = False
        for plot in self.optional:
            if recent is not None and not absent(plot):
                continue
            has = measured(plot.view_name, runs, recent)
            changed |= has == absent(plot)
            plot.set_class(not has, "-absent")
        if changed:
            self.regrid()

    def regrid(self) -> None:
        """The grid for the panels shown: two columns when more than one; from three on, the first (the
        lesson) takes a whole row, and so does the last when it would stand alone; the one shown on a short
        terminal stays one of them."""
        plots = list(self.query(ViewPlot))
        shown = [p for p in plots if not absent(p)]
        n = len(shown)
        self.set_class(n > 1, "-multi")
        self.set_class(n >= 3, "-lead")
        for plot in plots:
            plot.set_class(n >= 3 and n % 2 == 0 and plot is shown[-1], "-wide")
        if plots and absent(plots[min(self.current, len(plots) - 1)]):
            self.current = 0
        self.mark_current()

    def on_unmount(self) -> None:
        self.builder.close()

    @property
    def pending(self) -> bool:
        """True while a plot's picture is being built or waits to be (tests wait for this to settle)."""
        return any(p.pending for p in self.query(ViewPlot))

    def cycle(self) -> None:
        """Show the next view where only one fits (a short terminal), skipping hidden instrument panels."""
        plots = list(self.query(ViewPlot))
        for step in range(1, len(plots) + 1):
            i = (self.current + step) % len(plots)
            if not absent(plots[i]):
                self.current = i
                self.mark_current()
                return

    def mark_current(self) -> None:
        for i, plot in enumerate(self.query(ViewPlot)):
            plot.set_class(i == self.current, "-current")

    def draw(self, runs: list[RunData], opts: ViewOptions) -> None:
        """Redraw every plot now (after a key press or a new batch)."""
        self.fit(runs)
        for plot in self.query(ViewPlot):
            plot.draw(runs, opts)

    def mark_stale(self) -> None:
        for plot in self.query(ViewPlot):
            plot.stale = True

    def draw_next(self, runs: list[RunData], opts: ViewOptions) -> None:
        """Redraw one stale plot, the one drawn longest ago, if that was at least MIN_INTERVAL_S ago.

        Each plot is redrawn at most 1 / MIN_INTERVAL_S times a second, only when new data arrived, and
        one a tick, so that the build thread (which takes tens of ms a plot) never falls far behind.
        """
        now = time.monotonic()
        stale = [p for p in self.query(ViewPlot) if p.stale and now - p.drawn_at >= MIN_INTERVAL_S]
        if stale:
            self.fit(runs, RECENT_RECORDS)
            min(stale, key=lambda p: p.drawn_at).draw(runs, opts)
