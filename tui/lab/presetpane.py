"""The side bar: the preset list, the chosen preset's parameter form and its description."""

from __future__ import annotations

from rich.text import Text
from textual.containers import Container, VerticalScroll
from textual.dom import DOMNode
from textual.widgets import Label, ListItem, ListView, Static

from ...core.readout.safe import text
from ...core.readout.sweeps import variants_text
from ...core.rules.outside import visible
from ...core.spec import presets as presets_mod
from ...core.spec.presets import Preset
from ..form import ParamForm


def describe(preset: Preset) -> Text:
    """The description panel: title, what it shows, the seed question, the variants."""
    t = Text()
    # a preset file is text from outside (a user's own .toml): every part shown, never obeyed
    t.append(visible(preset.title) + "\n", style="bold")
    t.append(visible(preset.shows) + "\n", style="italic")
    if preset.seeds:
        t.append(visible(f"answers: {preset.seeds}") + "\n", style="dim")
    t.append(
        visible(f"runs: {variants_text([v.name for v in preset.variants], preset.sweep)}") + "\n\n", "dim"
    )
    t.append(visible(" ".join(preset.description.split())))
    return t


def preset_list(preset: str | None, presets: list[Preset] | None) -> tuple[list[Preset], int]:
    """The presets the side bar lists (default: the bundled ones; a user's own preset file first) and the
    index of `preset` among them, the one shown first."""
    found = list(presets) if presets is not None else presets_mod.load_all()
    names = [p.name for p in found]
    if preset is not None and preset not in names:
        found.insert(0, presets_mod.load(preset))  # a user's own preset file
    return found, 0 if preset is None or preset not in names else names.index(preset)


class PresetPane:
    """Builds the side bar and shows a preset in it; `screen`: the lab's own screen (others may be on top)."""

    def __init__(self, presets: list[Preset], first: int):
        self.presets = presets
        self.first = first

    def widget(self) -> VerticalScroll:
        return VerticalScroll(
            ListView(
                *[ListItem(Label(text(p.name)), id=f"preset-{i}") for i, p in enumerate(self.presets)],
                id="presets",
                initial_index=self.first,
            ),
            Container(id="form-box"),
            Static(id="about"),
            id="sidebar",
        )

    def preset_of(self, item: ListItem) -> Preset:
        """The preset of a row of the list."""
        return self.presets[int(item.id.split("-")[1])]

    def holds(self, screen: DOMNode, preset: Preset) -> bool:
        """True when `preset`'s form is the one mounted."""
        forms = screen.query(ParamForm)
        return bool(forms) and forms.first().preset is preset

    async def show(self, screen: DOMNode, preset: Preset) -> None:
        """`preset`'s description, and a fresh form for it."""
        screen.query_one("#about", Static).update(describe(preset))
        box = screen.query_one("#form-box", Container)
        await box.remove_children()
        await box.mount(ParamForm(preset, id="form"))

    def focus_form(self, screen: DOMNode) -> None:
        """Into the form's first field (enter on the list)."""
        inputs = screen.query("#form-box Input")
        if inputs:
            inputs.first().focus()

    def focus_list(self, screen: DOMNode) -> None:
        screen.query_one("#presets", ListView).focus()
