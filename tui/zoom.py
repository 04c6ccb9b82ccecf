"""One panel maximised to the whole screen (z, and z again to go back): a cursor to read values off it, a
legend whose runs can be hidden and shown, and its own log y-axis (l).

The screen draws the same view as the panel it came from, on what the screen below shows (live runs grow
here too: a timer asks for the runs each REDRAW_S, and a picture is built only when they changed).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import replace

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, SelectionList, Static

from ..core.rules.numbers import fmt, is_number
from ..core.spec.probes import PROBES
from ..core.spec.views import X_LABELS
from .plots import Builder, ViewPlot, toggled_log
from .viewkit import RunData, ViewOptions, paint

REDRAW_S = 0.25
STEP_FAR = 10  # shift+arrow moves the cursor this many records
ONE_RUN_VIEWS = frozenset(("function", "regions", "class_acc", "dead_units", "confusion", "gradcheck"))
# the views drawn against the run's x-axis (epoch, step, time): those a cursor reads along
OVER_TIME = frozenset(
    ("loss", "accuracy", "sharpness", "update_ratio", "dead_units", "hidden_similarity", "grad_norm")
)


def view_keys(view_name: str) -> tuple[str, ...]:
    """The record keys a view draws, whose values the cursor reads out."""
    if view_name == "loss":
        return ("train_loss", "val_loss", "test_loss")
    if view_name == "accuracy":
        return ("train_acc", "val_acc", "test_acc")
    spec = next((p for p in PROBES.values() if p.view == view_name), None)
    return tuple(spec.records) if spec is not None else ()


def at_cursor(run: RunData, x_key: str, x: float) -> dict | None:
    """The run's record at x (the last one at or before it), None before its first."""
    xs = [r.get(x_key) for r in run.records]
    if not xs or not all(is_number(v) for v in xs):
        return None
    i = bisect.bisect_right(xs, x) - 1
    return run.records[i] if i >= 0 else None


def reading(value) -> str:
    """A value as the readout shows it: a number, or a list's first and last (per-layer values)."""
    if isinstance(value, list) and value:
        return f"{fmt(value[0])}…{fmt(value[-1])}" if len(value) > 1 else fmt(value[0])
    return fmt(value)


def readout(view_name: str, runs: list[RunData], opts: ViewOptions) -> Text:
    """A line per run: its name in its colour, then each series' value at the cursor."""
    t = Text()
    if opts.cursor is None:
        t.append(
            "←/→: a cursor on the plot, to read each run's values; space: hide or show a run", style="dim"
        )
        return t
    t.append(f"{X_LABELS.get(opts.x, opts.x)} {fmt(opts.cursor)}", style="bold")
    t.append("   ←/→ move (shift: ×10), space: hide or show the highlighted run, a: all\n", style="dim")
    keys = view_keys(view_name)
    for run in runs:
        rec = at_cursor(run, opts.x, opts.cursor)
        values = [(k, rec.get(k)) for k in keys if rec is not None and rec.get(k) is not None]
        t.append_text(Text.from_ansi(paint("■", run.colour)))
        t.append(f" {run.variant}: ")
        t.append("  ".join(f"{k} {reading(v)}" for k, v in values) or "no value here", style="")
        t.append("\n")
    return t


class ZoomScreen(Screen):
    """The focused panel's view over the whole screen, a legend to thin it, a cursor to read it."""

    BINDINGS = [
        Binding("z,escape", "app.pop_screen", "back"),
        Binding("left", "cursor(-1)", "◂", show=False),
        Binding("right", "cursor(1)", "▸", show=False),
        Binding("shift+left", f"cursor(-{STEP_FAR})", "◂◂", show=False),
        Binding("shift+right", f"cursor({STEP_FAR})", "▸▸", show=False),
        Binding("l", "log", "log y"),
        Binding("a", "all", "all runs"),
    ]
    DEFAULT_CSS = """
    ZoomScreen #zoom-legend { width: 30%; max-width: 32; min-width: 18; height: 1fr; }
    ZoomScreen Vertical { width: 1fr; }
    ZoomScreen #zoom-readout { height: auto; max-height: 8; padding: 0 1; background: $panel; }
    ZoomScreen ViewPlot { height: 1fr; }
    """

    def __init__(self, source: ViewPlot, runs: Callable[[], list[RunData]], opts: ViewOptions):
        super().__init__()
        self.source = source
        self.runs = runs
        self.opts = replace(opts, cursor=None)
        self.builder = Builder()
        self.plot = ViewPlot(source.view_name, self.builder)
        self.plot.ylog = source.ylog
        self.plot.drawn_log = source.drawn_log
        self.hidden: set[str] = set()
        self.one_run = source.view_name in ONE_RUN_VIEWS
        self.said: tuple | None = None  # what the readout was last written for

    def compose(self) -> ComposeResult:
        with Horizontal():
            with Vertical():
                yield self.plot
                yield Static(id="zoom-readout")
            yield SelectionList(id="zoom-legend")
        yield Footer()

    def on_mount(self) -> None:
        legend = self.query_one(SelectionList)
        legend.border_title = "runs (space: show/hide)"
        for run in self.runs():
            legend.add_option((Text.from_ansi(paint("■", run.colour) + " " + run.variant), run.run_id, True))
        if legend.option_count:
            legend.highlighted = 0
        legend.focus()
        self.redraw()
        self.set_interval(REDRAW_S, self.redraw)

    def on_unmount(self) -> None:
        self.builder.close()

    def visible(self) -> list[RunData]:
        """The runs the legend leaves checked (a one-run view draws the legend's highlighted one)."""
        return [r for r in self.runs() if r.run_id not in self.hidden]

    def redraw(self) -> None:
        runs = self.visible()
        opts = self.opts
        if self.one_run:
            legend = self.query_one(SelectionList)
            at = legend.highlighted
            if at is not None:
                opts = replace(opts, selected=legend.get_option_at_index(at).value)
        self.plot.draw(runs, opts)
        said = (opts.cursor, opts.x, tuple((r.run_id, len(r.records)) for r in runs))
        if said != self.said:  # the readout looks records up: only when the cursor or the runs moved
            self.said = said
            self.query_one("#zoom-readout", Static).update(readout(self.plot.view_name, runs, opts))

    def on_selection_list_selected_changed(self, event: SelectionList.SelectedChanged) -> None:
        chosen = set(event.selection_list.selected)
        self.hidden = {r.run_id for r in self.runs()} - chosen
        self.redraw()

    def on_selection_list_selection_highlighted(self) -> None:
        if self.one_run:
            self.redraw()

    def xs(self) -> list[float]:
        """Every x the visible runs have a record at, in order."""
        return sorted({r[self.opts.x] for run in self.visible() for r in run.records if self.opts.x in r})

    def action_cursor(self, steps: int) -> None:
        """Move the cursor `steps` records along the x-axis (it starts at the last); only on a view drawn
        against the x-axis."""
        if self.plot.view_name not in OVER_TIME:
            self.notify("this view is not drawn over the epochs: no cursor on it", severity="warning")
            return
        xs = self.xs()
        if not xs:
            return
        if self.opts.cursor is None:
            i = len(xs) - 1 if steps < 0 else 0
        else:
            i = bisect.bisect_left(xs, self.opts.cursor) + steps
        self.opts.cursor = xs[max(0, min(len(xs) - 1, i))]
        self.redraw()

    def action_log(self) -> None:
        """Log or linear y on this panel (and on the panel it came from)."""
        self.plot.ylog = self.source.ylog = toggled_log(self.plot)
        self.redraw()
        self.source.stale = True

    def action_all(self) -> None:
        self.query_one(SelectionList).select_all()
