"""The keys screen, the run card, and the past-runs screen (the runs dir: open one run's curves, overlay several)."""
from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Footer, Header, Static

from ..core.present import X_AXES, fmt, pct, run_label
from ..core.presets import Preset
from ..core.runcard import run_card  # the same card as `dltui show`'s
from ..core.store import RunInfo, RunStore
from .plots import PlotPanel
from .viewkit import RunData, ViewOptions, run_datas

MORE_KEYS = (
    ("enter", "in a form field: run with these values"),
    ("escape", "leave a form field / close a screen"),
    ("tab", "next widget (presets, form, runs table)"),
    ("ctrl+c, ctrl+q", "quit from anywhere (running runs end interrupted)"),
)
HELP = {"next_run": "next run: the one that one-run views show",
        "past": "past runs: open, overlay, export saved runs", "log": "log / linear y-axis", "next_view": "next view"}
SMOOTHING = (0.0, 0.6, 0.9, 0.97)  # m cycles through these
PAST_VIEWS = ("loss", "accuracy")


class HelpScreen(ModalScreen):
    """The keys, and what they do."""

    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "close")]

    def __init__(self, bindings: list[Binding]):
        super().__init__()
        self.keys = [(b.key_display or b.key, HELP.get(b.action, b.description)) for b in bindings]

    def compose(self) -> ComposeResult:
        t = Text()
        t.append("keys\n\n", style="bold")
        for key, what in [*self.keys, *MORE_KEYS]:
            t.append(f"{key:>8}  ", style="bold cyan")
            t.append(what + "\n")
        t.append("\nx cycles the x-axis: epoch, update (step), wall-clock seconds: the fair axes\n"
                 "to compare full-batch with minibatch runs. Space pauses and resumes training.\n"
                 "m: smoothing off/0.6/0.9/0.97 (causal, debiased; the raw curve stays in grey).\n"
                 "e: PNG+CSV of the runs to ./exports/<time>/. R: same config again. i: run card.\n"
                 "In past runs: space marks, enter overlays, e exports the marked runs.",
                 style="dim")
        with VerticalScroll(id="help-box"):
            yield Static(t, id="help-text")


class RunCardScreen(ModalScreen):
    """One run's card: seed, device, torch and CUDA, duration, status and reason, the resolved config."""

    BINDINGS = [Binding("escape,i,q", "dismiss", "close")]

    def __init__(self, info: RunInfo):
        super().__init__()
        self.card = run_card(info)

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="card"):
            yield Static(self.card, id="card-text")


class PastRunsScreen(Screen):
    """The runs dir as a table; enter opens the marked runs (or the one under the cursor) as curves."""

    BINDINGS = [
        Binding("space", "mark", "mark"),
        Binding("enter", "open", "open/overlay", priority=True),
        Binding("l", "log", "log y"),
        Binding("x", "xaxis", "x-axis"),
        Binding("v", "next_view", "view"),
        Binding("m", "smooth", "smooth"),
        Binding("e", "export", "export"),
        Binding("i", "card", "card"),
        Binding("R", "rerun", "re-run"),
        Binding("escape,p", "app.pop_screen", "back"),
        Binding("q", "app.quit", "quit"),
    ]

    def __init__(self, store: RunStore, presets: list[Preset]):
        super().__init__()
        self.store = store
        self.views = {p.name: p.views for p in presets}
        self.infos: dict[str, RunInfo] = {}
        self.marked: list[str] = []
        self.opts = ViewOptions()
        self.shown: list[RunData] = []
        self.keyed: list[str] = []  # the rows whose mark cell shows their run's colour

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="past"):
            yield Static(f"runs in {self.store.root}: space marks, enter opens or overlays", id="past-title")
            yield DataTable(id="past-runs", cursor_type="row")
            yield PlotPanel(id="past-plots")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#past-runs", DataTable)
        for key in ("mark", "run id", "status", "preset", "variant", "epochs", "train loss", "test loss", "accuracy"):
            table.add_column(key, key=key)
        for info in reversed(self.store.list()):  # newest first
            self.infos[info.run_id] = info
            table.add_row(*row_of(info), key=info.run_id)
        if not self.infos:
            self.query_one("#past-title", Static).update(f"no runs in {self.store.root} yet: press escape, then r")
        table.focus()

    def action_mark(self) -> None:
        table = self.query_one("#past-runs", DataTable)
        if not self.infos:
            return
        run_id = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        if run_id in self.marked:
            self.marked.remove(run_id)
        else:
            self.marked.append(run_id)
        table.update_cell(run_id, "mark", "✓" if run_id in self.marked else "")

    def cursor_run(self) -> str | None:
        table = self.query_one("#past-runs", DataTable)
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value if self.infos else None

    def action_export(self) -> None:
        """Export the marked runs (or the one under the cursor)."""
        ids = self.marked or [r for r in [self.cursor_run()] if r]
        self.app.export(ids, self.opts)

    def action_card(self) -> None:
        if self.cursor_run():
            self.app.push_screen(RunCardScreen(self.infos[self.cursor_run()]))

    def action_rerun(self) -> None:
        """Back to the lab, running the cursor's run again with its exact config."""
        run_id = self.cursor_run()
        if run_id:
            self.app.pop_screen()
            self.app.rerun(run_id)

    def action_smooth(self) -> None:
        self.opts.smooth = SMOOTHING[(SMOOTHING.index(self.opts.smooth) + 1) % len(SMOOTHING)]
        self.redraw()

    async def action_open(self) -> None:
        """Show the marked runs' curves overlaid (or the cursor's run)."""
        table = self.query_one("#past-runs", DataTable)
        if not self.infos:
            return
        ids = self.marked or [table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value]
        self.shown = run_datas([self.infos[i] for i in ids])
        for run_id in self.keyed:  # the colour of each run shown, in its row: the key to the lines
            table.update_cell(run_id, "mark", "✓" if run_id in self.marked else "")
        for run_id, run in zip(ids, self.shown):
            table.update_cell(run_id, "mark", run_label("✓" if run_id in self.marked else "", run.colour))
        self.keyed = list(ids)
        first = self.infos[ids[0]].status.get("preset", "")
        views = self.views.get(first, PAST_VIEWS)
        await self.query_one(PlotPanel).show(views if len(ids) == 1 else [v for v in views if v in PAST_VIEWS] or PAST_VIEWS)
        self.redraw()

    def action_log(self) -> None:
        self.opts.log = not self.opts.log
        self.redraw()

    def action_next_view(self) -> None:
        """The next plot, where one is shown at a time (a short terminal)."""
        self.query_one(PlotPanel).cycle()
        self.redraw()

    def action_xaxis(self) -> None:
        self.opts.x = X_AXES[(X_AXES.index(self.opts.x) + 1) % len(X_AXES)]
        self.redraw()

    def redraw(self) -> None:
        self.query_one(PlotPanel).draw(self.shown, self.opts)


def row_of(info: RunInfo) -> tuple[str, ...]:
    """A past run's table cells (from its summary, or its last metrics line if it has none)."""
    s = info.summary
    last = {} if s else (info.metrics() or [{}])[-1]

    def get(k):
        return s.get(f"final_{k}") if s else last.get(k)

    acc = get("val_acc") if get("val_acc") is not None else get("test_acc")
    epochs = s.get("epochs") if s else last.get("epoch", 0)
    return ("", info.run_id, info.state, info.status.get("preset", "?"), info.status.get("variant", "?"),
            str(epochs), fmt(get("train_loss")), fmt(get("test_loss")), pct(acc))
