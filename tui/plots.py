"""A panel of plotext plots, one per view a preset names; unknown views are skipped.

A plotext build takes tens of ms of pure Python, so it never runs on the UI thread: a plot hands a copy
of its data, its size and theme to its panel's build thread and shows the last picture built meanwhile.
"""

from __future__ import annotations

import io
import math
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from functools import partial

from rich.console import Console
from rich.segment import Segment
from rich.text import Text
from textual import events
from textual.containers import Container
from textual.message import Message
from textual.strip import Strip
from textual_plotext import PlotextPlot
from textual_plotext.plot import Plot

from ..core.data import REGISTRY
from .viewkit import INSTRUMENT_VIEWS, VIEWS, Drawer, RunData, ViewOptions, measured, picture
from .views import load_all

load_all()
MIN_INTERVAL_S = 0.2  # each plot at most 5 times a second
REST = 2.0  # after a live build, the build thread rests twice as long as it took: it holds the GIL <= 1/3
INPUT_S = 0.3  # no live build starts this long after a key press or a click: its answer has the GIL alone
RECENT_RECORDS = 8  # a hidden instrument panel looks for its probe's value in each run's last records, a tick
DRAWING = Text("drawing…", style="dim")  # until a plot's first picture is built


def classifies(runs: list[RunData]) -> bool:
    """Whether an accuracy can be drawn: some run is of a classification task (or of a task not known here),
    or there is no run yet."""
    tasks = [REGISTRY.get(str(r.config.get("task"))) for r in runs]
    return not runs or any(t is None or t.kind == "classification" for t in tasks)


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
        self.running = 0  # builds asked for and not yet ended
        self.took = 0.0  # how long the last build took, and when it ended (time.monotonic)
        self.ended = -math.inf

    def submit(self, job: Callable[[], Text], done: Callable[[Text], None]) -> bool:
        """Run `job` on the build thread and hand its picture to `done` there; False once closed."""
        if self.closed:
            return False
        if self.pool is None:
            self.pool = ThreadPoolExecutor(1, thread_name_prefix="dltui-plots")
        self.running += 1
        self.pool.submit(self.timed, job).add_done_callback(lambda f: deliver(f, done))
        return True

    def timed(self, job: Callable[[], Text]) -> Text:
        start = time.monotonic()
        try:
            return job()
        finally:
            self.ended = time.monotonic()
            self.took, self.running = self.ended - start, self.running - 1

    def rested(self, now: float) -> bool:
        """Whether a live build may start: none is going, and the thread has rested REST times the last
        build's time. Python threads share one interpreter lock: a plot built without rest would slow the
        UI thread's every answer by as much as the build took, however short the frame."""
        return self.running <= 0 and now - self.ended >= REST * self.took

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
    note: str = "",
) -> tuple[Text, bool, list[Strip]]:
    """The view's picture at this size and plotext theme (on the build thread), whether its y-axis came out
    logarithmic, and the picture as the lines the screen shows (strips_of); or a short note where plotext
    cannot draw it (a very small area, say): a view's bug must not end the app."""
    drawn: dict = {}
    try:
        text, log = Text.from_ansi(picture(plot, drawer, runs, opts, *size, theme, note, drawn)), drawn["log"]
    except Exception as e:  # noqa: BLE001 - any error of any view becomes the note, on a thread nobody watches
        text, log = Text(f"{view_name}: cannot draw here ({type(e).__name__})", style="dim"), False
    return text, log, strips_of(text, size[0])


def strips_of(text: Text, width: int) -> list[Strip]:
    """A picture as the screen's lines, `width` cells each, runs of one style merged into one segment. Made
    on the build thread: turning thousands of coloured braille cells into segments is most of a frame's
    cost, so the UI thread (a key's answer, a screen opened over the plots) only copies these out."""
    console = Console(
        width=max(1, width),
        color_system="truecolor",
        force_terminal=True,
        file=io.StringIO(),
        legacy_windows=False,
    )
    text = text.copy()
    text.no_wrap, text.overflow = True, "crop"  # cropped, never wrapped
    options = console.options.update(width=max(1, width), no_wrap=True, overflow="crop")
    return [Strip(Segment.simplify(line), width) for line in console.render_lines(text, options, pad=True)]


def snapshot(runs: list[RunData]) -> list[RunData]:
    """Copies of the runs' lists (the UI thread appends to them while a build reads them)."""
    return [replace(r, records=list(r.records), snapshots=list(r.snapshots)) for r in runs]


class InputClock:
    """Mixed into an App before Textual's class: `input_at` is when the last key press or click came (live
    plot builds wait INPUT_S after it, PlotPanel.draw_next)."""

    input_at = -math.inf

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, (events.Key, events.MouseDown)):
            self.input_at = time.monotonic()
        await super().on_event(event)


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

        def __init__(self, key: tuple, text: Text, log: bool, strips: list[Strip]):
            super().__init__()
            self.key, self.text, self.log, self.strips = key, text, log, strips

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
        self.strips: list[Strip] = []  # the picture shown, as the screen's lines (strips_of)
        self.shown_key: tuple | None = None
        self.building: tuple | None = None  # the key of the build in progress
        self.note = ""  # on the title line, right: the focus mark, the page (PlotPanel.regrid)
        self.ylog: bool | None = None  # this panel's y-axis: log, linear, None: log where it spans decades
        self.drawn_log = False  # whether the picture shown has a log y-axis (l toggles from what is seen)

    def draw(self, runs: list[RunData], opts: ViewOptions) -> None:
        """Draw `runs` (in the background); skipped when nothing this view reads has changed."""
        self.stale, self.drawn_at = False, time.monotonic()
        if self.ylog is not None:
            opts = replace(opts, log=self.ylog)
        sig = signature(self.view_name, runs, opts)
        if sig == self.sig:
            return
        self.runs, self.opts, self.sig = snapshot(runs), replace(opts), sig
        self.request()

    def key(self) -> tuple:
        """What the picture depends on: the data, the size and the plotext theme."""
        theme = self._get_plotext_theme_name(self.app.theme)
        return self.sig, self.size.width, self.size.height, theme, self.note

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
        job = partial(build, self._plot, self.view_name, drawer, self.runs, self.opts, key[1:3], *key[3:])
        if self.builder.submit(job, partial(self.post_built, key)):
            self.building = key

    def post_built(self, key: tuple, built: tuple[Text, bool, list[Strip]]) -> None:
        """(On the build thread.) Send the picture to the UI thread; dropped once the plot is gone."""
        try:
            self.post_message(self.Built(key, *built))
        except RuntimeError:  # unmounted (no app), or the event loop has closed
            pass

    def on_view_plot_built(self, msg: Built) -> None:
        self.building = None
        self.shown, self.shown_key, self.drawn_log, self.strips = msg.text, msg.key, msg.log, msg.strips
        self.refresh()
        self.request()

    def on_click(self) -> None:
        """A click focuses the panel (z maximises it, l puts it on a log axis)."""
        panel = self.parent
        if isinstance(panel, PlotPanel) and self in panel.query(ViewPlot):
            panel.focus_on(list(panel.query(ViewPlot)).index(self))

    def render(self):
        """The last picture built (a new one is asked for if the size or theme changed)."""
        self.request()
        return self.shown if self.shown is not None else DRAWING

    def render_line(self, y: int) -> Strip:
        """Line `y` of the last picture built, as the build thread made it (a new one is asked for if the
        size or theme changed): no text is laid out here."""
        if y == 0:
            self.request()
        if self.shown is None:
            return strips_of(DRAWING, self.size.width)[0] if y == 0 else Strip.blank(self.size.width)
        if y >= len(self.strips):
            return Strip.blank(self.size.width)
        strip = self.strips[y]
        return strip.crop(0, self.size.width) if strip.cell_length > self.size.width else strip


def signature(view_name: str, runs: list[RunData], opts: ViewOptions) -> tuple:
    """What a view's picture depends on. A drawer marked `reads = "snapshots"` ignores new metric records."""
    snaps_only = getattr(VIEWS[view_name][1], "reads", "") == "snapshots"
    data = tuple((r.run_id, r.status, 0 if snaps_only else len(r.records), len(r.snapshots)) for r in runs)
    return data, opts.x, opts.log, opts.selected, opts.smooth, opts.cursor


def toggled_log(plot: ViewPlot) -> bool:
    """The y-axis `l` gives a panel: the other of what it shows."""
    return not plot.drawn_log


PLOT_ROWS = 8  # the floor: no panel has fewer plot rows than this; panels page rather than shrink below it
FRAME_ROWS = 7  # a panel's rows around its plot: title, two key lines, the frame (2), tick labels, axis label
PANEL_ROWS = PLOT_ROWS + FRAME_ROWS
PANEL_COLS = 40  # the narrowest panel: six ticks' width of plot beside the y tick labels


def grid_for(count: int, width: int, height: int, floor: int = PANEL_ROWS) -> tuple[int, int]:
    """(columns, rows) of the page of panels for `count` panels in `width` x `height`, none narrower than
    PANEL_COLS or shorter than `floor` rows: the grid that holds the most of them, and of those the one whose
    panels look the least thin (a cell is about twice as tall as it is wide)."""
    options = [
        (c, r)
        for c in range(1, max(1, count) + 1)
        for r in range(1, max(1, count) + 1)
        if (c == 1 or width // c >= PANEL_COLS)
        and (r == 1 or height // r >= floor)
        and (c - 1) * r < count
        and c * (r - 1) < count
    ]
    return max(
        options, key=lambda g: (min(count, g[0] * g[1]), min(width / g[0], CELL_ASPECT * height / g[1]))
    )


CELL_ASPECT = 2.2  # a terminal cell's height over its width


class PlotPanel(Container):
    """The plots of the current preset; `show(names)` picks them, `draw()` redraws them all.

    The panels shown are laid out on pages: as many as fit with PLOT_ROWS plot rows each at least; `v` moves
    the focus (the panel z maximises and l puts on a log axis) to the next panel, and to the next page after
    a page's last. The lesson (the first view) is on the first page, and takes the room a page leaves over.
    """

    DEFAULT_CSS = """
    PlotPanel {
        layout: grid;
        grid-size: 1 1;
    }
    """

    def __init__(self, **kw):
        super().__init__(**kw)
        self.names: list[str] = []
        self.current = 0  # the focused panel (its index among all the views, shown or not)
        self.runs: list[RunData] = []  # the runs last drawn (a maximised panel follows them)
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
        for plot in list(self.query(ViewPlot))[1:]:
            if plot.view_name == "accuracy":  # a regression run has no accuracy: no empty panel for it
                has = classifies(runs)
                changed |= has == absent(plot)
                plot.set_class(not has, "-absent")
        for plot in self.optional:
            if recent is not None and not absent(plot):
                continue
            has = measured(plot.view_name, runs, recent)
            changed |= has == absent(plot)
            plot.set_class(not has, "-absent")
        if changed:
            self.regrid()

    def on_resize(self) -> None:
        self.regrid()

    def shown(self) -> list[ViewPlot]:
        """The panels with something to show (instrument panels without data left out), in order."""
        return [p for p in self.query(ViewPlot) if not absent(p)]

    def page(self) -> tuple[list[ViewPlot], int, int]:
        """(the panels on the focused panel's page, its number, how many pages) at the panel's size."""
        shown = self.shown()
        if not shown:
            return [], 0, 0
        cols, rows = grid_for(len(shown), self.size.width, self.size.height, self.floor(shown))
        per = cols * rows
        lead = per - (cols - 1) if cols > 1 and rows > 1 else per  # the first page: the lesson a whole row
        focus = self.focused_plot()
        at = shown.index(focus) if focus in shown else 0
        pages = 1 + -(-max(0, len(shown) - lead) // per)
        if at < lead:
            return shown[:lead], 0, pages
        number = (at - lead) // per + 1
        start = lead + (number - 1) * per
        return shown[start : start + per], number, pages

    @staticmethod
    def floor(plots: list[ViewPlot]) -> int:
        """The fewest rows a panel among `plots` may have: PANEL_ROWS, or more for a view that needs more
        (a drawer's `rows`: the confusion matrix's ten classes)."""
        return max([PANEL_ROWS] + [getattr(VIEWS[p.view_name][1], "rows", 0) for p in plots])

    def focused_plot(self) -> ViewPlot | None:
        plots = list(self.query(ViewPlot))
        return plots[self.current] if 0 <= self.current < len(plots) else None

    def regrid(self) -> None:
        """Lay out the focused panel's page: a grid of the panels on it, the first (the lesson on the first
        page) spanning the cells the others leave over; every other panel out of sight."""
        plots = list(self.query(ViewPlot))
        if plots and absent(plots[min(self.current, len(plots) - 1)]):
            self.current = 0
        page, number, pages = self.page()
        if page:
            cols, rows = grid_for(len(page), self.size.width, self.size.height, self.floor(page))
            rows = -(-len(page) // cols)
            self.styles.grid_size_columns, self.styles.grid_size_rows = cols, rows
        for plot in plots:
            on = plot in page
            plot.styles.display = "block" if on else "none"
            plot.styles.column_span = (cols * rows - len(page) + 1) if on and plot is page[0] else 1
            note = ""
            if len(page) > 1 or pages > 1:
                note = ("◆ " if plot is self.focused_plot() else "") + (
                    f"v {number + 1}/{pages}" if pages > 1 and plot is page[-1] else ""
                )
            plot.note = note.strip()
            plot.set_class(plot is self.focused_plot(), "-current")
            if on:
                plot.refresh()

    def on_unmount(self) -> None:
        self.builder.close()

    @property
    def pending(self) -> bool:
        """True while a plot's picture is being built or waits to be (tests wait for this to settle)."""
        return any(p.pending for p in self.query(ViewPlot))

    def cycle(self) -> None:
        """Focus the next panel shown (the next page after a page's last), skipping hidden instrument
        panels."""
        plots = list(self.query(ViewPlot))
        for step in range(1, len(plots) + 1):
            i = (self.current + step) % len(plots)
            if not absent(plots[i]):
                self.focus_on(i)
                return

    def focus_on(self, index: int) -> None:
        self.current = index
        self.regrid()

    def draw(self, runs: list[RunData], opts: ViewOptions) -> None:
        """Redraw every plot now (after a key press or a new batch)."""
        self.runs = runs
        self.fit(runs)
        for plot in self.query(ViewPlot):
            plot.draw(runs, opts)

    def mark_stale(self) -> None:
        for plot in self.query(ViewPlot):
            plot.stale = True

    def draw_next(self, runs: list[RunData], opts: ViewOptions) -> None:
        """Redraw one stale plot, the one drawn longest ago, if that was at least MIN_INTERVAL_S ago.

        Each plot is redrawn at most 1 / MIN_INTERVAL_S times a second, only when new data arrived, and
        one a tick, so that the build thread (which takes tens of ms a plot) never falls far behind; none
        while the build thread rests (Builder.rested), while another screen covers the plots, or just after
        a key press (INPUT_S).
        """
        self.runs = runs
        now = time.monotonic()
        if not self.builder.rested(now) or self.app.screen is not self.screen:
            return  # the last build's rest, or a screen over the plots (the keys, a card): nothing to show
        if now - getattr(self.app, "input_at", -math.inf) < INPUT_S:
            return  # a key press is being answered
        stale = [p for p in self.query(ViewPlot) if p.stale and now - p.drawn_at >= MIN_INTERVAL_S]
        if stale:
            self.fit(runs, RECENT_RECORDS)
            min(stale, key=lambda p: p.drawn_at).draw(runs, opts)
