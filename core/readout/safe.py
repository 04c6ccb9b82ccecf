"""The one way text from outside reaches a console or a widget: as a rich `Text` (never parsed as markup), or,
where an API takes markup (a Textual notice, a rich title), escaped for it; control characters shown as their
escapes first (core/rules/outside.py).

Every face builds what it shows of a run, a preset, a path or a user's typing through these: the CLI's tables
and lines, the run card, the lab's tables, notices and panels.
"""

from __future__ import annotations

import re
from typing import Any

from rich.text import Text

from ..rules.outside import visible

BRACKET = re.compile(r"(\\*)\[")


def text(value: Any, style: str = "", newlines: bool = False) -> Text:
    """`value` as a Text: shown literally (`[/]`, `[bold red]` and `[link=...]` are characters, not markup),
    control characters as escapes."""
    if isinstance(value, Text):  # built here already, or from our own parts
        return value
    return Text(visible(value, newlines), style=style)


def markup(value: Any, newlines: bool = False) -> str:
    """`value` for a place that parses markup (rich's or Textual's): control characters as escapes, then every
    `[` escaped (rich.markup.escape leaves `[2J` alone, which Textual reads as the start of a tag). A
    backslash typed before a `[` shows doubled in Textual: the one price of one escape for both."""
    return BRACKET.sub(lambda m: m.group(1) * 2 + "\\[", visible(value, newlines))


def joined(*parts: Any, style: str = "") -> Text:
    """Several pieces in one Text: a (string, style) pair keeps its style, a Text its own, anything else is
    text from outside."""
    out = Text(style=style)
    for part in parts:
        if isinstance(part, tuple):
            out.append_text(text(part[0], part[1]))
        else:
            out.append_text(text(part))
    return out
