"""The keys of the lab, of past runs and of a text field, in one place; and the actions the two screens share.

A key both screens bind (l x m v e i R s /) is written once in SHARED; each screen's list picks it, saying
only whether its footer shows it. SharedKeys is the one dispatch of l x m v (the plots), i R (the run under
the cursor) and e (export): a screen mixes it in and says what they act on. s and / act on what each screen
holds (the lab's training process, its variant filter; any run, the listing's filter): each has its own.
The dialogs (keys, run card, stop y/n) keep their own close keys.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, TypeVar

from textual.binding import Binding

from ..core.rules.errors import BadInput
from ..core.spec.views import X_AXES
from .modals import RunCardScreen
from .plots import PlotPanel, toggled_log
from .viewkit import ViewOptions

if TYPE_CHECKING:
    from textual.app import App

    from ..core.store.folder import RunStore

SMOOTHING = (0.0, 0.6, 0.9, 0.97)  # m cycles through these
T = TypeVar("T")

SHARED = {
    b.action: b
    for b in (
        Binding("s", "stop", "stop"),
        Binding("v", "next_view", "view"),
        Binding("l", "log", "log y"),
        Binding("z", "zoom", "zoom"),
        Binding("x", "xaxis", "x axis"),
        Binding("m", "smooth", "smooth"),
        Binding("e", "export", "export"),
        Binding("R", "rerun", "re-run"),
        Binding("i", "card", "card"),
        Binding("slash", "filter", "filter", key_display="/"),
    )
}


def shared(action: str, show: bool) -> Binding:
    """The key both screens bind for `action`, shown in this screen's footer or not."""
    return replace(SHARED[action], show=show)


# The lab's footer shows the keys a first look needs, in short labels that fit 80 columns; ? lists them all.
# In a text field letters are typed: FIELD_KEYS act there, and the footer shows them.
LAB_KEYS = [
    Binding("r", "run", "run"),
    shared("stop", True),
    Binding("space", "pause", "pause", show=False),
    shared("next_view", True),
    Binding("n", "next_run", "run▸"),
    shared("log", True),
    shared("zoom", True),
    shared("xaxis", False),
    shared("smooth", False),
    shared("export", False),
    shared("rerun", False),
    shared("card", False),
    Binding("p", "past", "past runs", show=False),
    shared("filter", False),
    Binding("L", "lrfind", "lr range test", show=False),  # in the keys screen's MORE_KEYS
    Binding("question_mark", "help", "keys", key_display="?"),
    Binding("q", "quit", "quit"),
    Binding("ctrl+q", "quit", "quit", show=False, priority=True),
    Binding("ctrl+c", "quit", "quit", show=False, priority=True),  # what a terminal user reaches for
    Binding("escape", "leave_field", "leave the form", show=False),
]

# Past runs' footer fits 80 columns with the lab's ? and q; l x m i R s act as in the lab (? lists them).
PAST_RUNS_KEYS = [
    Binding("space", "mark", "mark"),
    Binding("enter", "open", "open", priority=True),
    shared("filter", True),
    shared("log", False),
    shared("zoom", False),
    shared("xaxis", False),
    shared("next_view", True),
    shared("smooth", False),
    shared("export", True),
    shared("card", False),
    shared("rerun", False),
    shared("stop", False),
    Binding("escape,p", "app.pop_screen", "back"),
    Binding("q", "app.quit", "quit"),
]

# While a field has the focus, letters are typed into it and the footer hides the one-letter keys: these keys
# still act there, and the footer shows them instead (enter runs too).
FIELD_KEYS = [
    Binding("escape", "app.leave_field", "leave"),
    Binding("ctrl+r", "app.run_from_field", "run"),
    Binding("f1", "app.help", "keys"),
    Binding(
        "ctrl+q", "app.quit", "quit", priority=True
    ),  # priority, as the app's own: so the footer shows it
]

MORE_KEYS = (
    ("enter, ctrl+r", "in a form field: run with these values"),
    ("f1", "these keys, from a form field too"),
    ("escape", "leave a form field / close a screen"),
    ("/", "filter: the variants plotted (lab), the runs listed (past runs)"),
    ("tab", "next widget (presets, form, runs table)"),
    ("ctrl+c, ctrl+q", "quit from anywhere (running runs end interrupted)"),
)
HELP = {
    "next_run": "next run: the one that one-run views show",
    "lrfind": "lr range test of the selected variant (a run; p draws it)",
    "past": "past runs: open, overlay, export saved runs",
    "log": "log / linear y-axis of the focused panel (◆); log by default where a curve spans 2 decades",
    "next_view": "focus the next panel (◆), and the next page of panels where they do not all fit",
    "zoom": "maximise the focused panel (z again: back): ←/→ read values, space hides a run",
    "xaxis": "x-axis: epoch, update (step), wall-clock seconds",
}


def help_lines() -> list[tuple[str, str]]:
    """The keys screen's lines: the lab's keys (those a user presses, not the quit and escape aliases) in the
    order they are bound, each with its longer help where it has one, then the keys bound elsewhere."""
    keys = [b for b in LAB_KEYS if not b.priority and b.key != "escape"]
    return [(b.key_display or b.key, HELP.get(b.action, b.description)) for b in keys] + list(MORE_KEYS)


def following(values: Sequence[T], current: T) -> T:
    """The value after `current`, round."""
    return values[(values.index(current) + 1) % len(values)]


def next_x(opts: ViewOptions) -> None:
    opts.x = following(X_AXES, opts.x)


def next_smoothing(opts: ViewOptions) -> None:
    opts.smooth = following(SMOOTHING, opts.smooth)


class SharedKeys:
    """The actions of l x m v i R e, for the screen (or app) that mixes this in before Textual's class.

    The screen holds `opts` (how its plots are drawn) and `store`, and says what the keys act on: its plots
    (`plot_panel`, `replot`), the run under its cursor (`cursor_run`), the runs e exports (`export_ids`) and
    how R runs one again (`rerun`).
    """

    NO_RUN: str | None = None  # said when i or R finds no run under the cursor (None: they do nothing)
    opts: ViewOptions
    store: RunStore
    app: App

    def plot_panel(self) -> PlotPanel:
        raise NotImplementedError

    def replot(self) -> None:
        raise NotImplementedError

    def cursor_run(self) -> str | None:
        raise NotImplementedError

    def export_ids(self) -> list[str]:
        raise NotImplementedError

    def rerun(self, run_id: str) -> None:
        raise NotImplementedError

    def action_log(self) -> None:
        """Log or linear y on the focused panel (the one v moved to, marked ◆)."""
        plot = self.plot_panel().focused_plot()
        if plot is not None:
            plot.ylog = toggled_log(plot)
            self.replot()

    def action_zoom(self) -> None:
        """The focused panel over the whole screen (z or escape there comes back)."""
        from .zoom import ZoomScreen  # its widgets are needed only once z is pressed

        plot = self.plot_panel().focused_plot()
        if plot is not None and plot.display:
            panel = self.plot_panel()
            self.app.push_screen(ZoomScreen(plot, lambda: panel.runs, self.opts))

    def action_xaxis(self) -> None:
        next_x(self.opts)
        self.replot()

    def action_smooth(self) -> None:
        """Cycle the curves' smoothing: off, 0.6, 0.9, 0.97."""
        next_smoothing(self.opts)
        self.replot()

    def action_next_view(self) -> None:
        """The next plot, where one is shown at a time (a short terminal)."""
        self.plot_panel().cycle()
        self.replot()

    def action_card(self) -> None:
        """The cursor's run's card: seed, device, versions, config, duration, status."""
        run_id = self.key_run()
        if run_id:
            try:
                self.app.push_screen(RunCardScreen(self.store.get(run_id)))
            except BadInput as e:  # deleted meanwhile
                self.app.notify(str(e), title="no run card", severity="error")

    def action_rerun(self) -> None:
        """Run the cursor's run again with its exact config."""
        run_id = self.key_run()
        if run_id:
            self.rerun(run_id)

    def action_export(self) -> None:
        """Export the runs the screen names as PNG and CSV, on its x-axis and smoothing."""
        self.app.export(self.export_ids(), self.opts)

    def key_run(self) -> str | None:
        """The run under the cursor, for i and R (none: NO_RUN says so, where the screen has it)."""
        run_id = self.cursor_run()
        if run_id is None and self.NO_RUN:
            self.app.notify(self.NO_RUN, severity="warning")
        return run_id
