"""The small screens the keys open over the lab or past runs: the keys screen (?, f1) and a run's card (i)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ..core.readout.runcard import run_card  # the same card as `dltui show`'s
from ..core.store.folder import RunInfo
from .views.instruments import HELP as INSTRUMENT_HELP

KEYS_PROSE = (
    "\nx cycles the x-axis: epoch, update (step), wall-clock seconds: the fair axes\n"
    "to compare full-batch with minibatch runs. Space pauses and resumes training.\n"
    "m: smoothing off/0.6/0.9/0.97 (causal, debiased; the raw curve stays in grey).\n"
    "e: PNG+CSV of the runs to ./exports/<time>/. R: same config again. i: run card.\n"
    "In past runs: space marks, enter overlays, e exports the marked runs;\n"
    "l x m v i R s act there as here.\n"
    "The form's batched field: auto trains the variants that differ only in lr, momentum,\n"
    "weight decay or seed as one batched model (each still its own run); off: one by one."
)


class HelpScreen(ModalScreen):
    """The keys, and what they do (keys.help_lines)."""

    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "close")]

    def __init__(self, lines: list[tuple[str, str]]):
        super().__init__()
        self.keys = lines

    def compose(self) -> ComposeResult:
        t = Text()
        t.append("keys\n\n", style="bold")
        for key, what in self.keys:
            t.append(f"{key:>8}  ", style="bold cyan")
            t.append(what + "\n")
        t.append(KEYS_PROSE, style="dim")
        t.append("\n\ninstruments (probes)\n", style="bold")
        t.append("\n".join(INSTRUMENT_HELP), style="dim")
        with VerticalScroll(id="help-scroll"):  # a short terminal scrolls the help (arrow keys, wheel)
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
