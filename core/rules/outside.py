"""Text from outside (run files, preset files, paths, what a user types) made safe to show on a terminal.

A control character reaching a terminal is an instruction to it: ESC begins a sequence that can set the
window's title (OSC), clear the screen or move the cursor (CSI); C1 codes (0x80-0x9f) do the same on some
terminals; bidi overrides turn text around. `visible` writes each such character as its escape (`\\x1b`,
`\\u202e`), so that nothing is hidden and nothing is obeyed. Markup is a second, separate matter: the faces
escape it (core/readout/safe.py) after this.

Only the standard library.
"""

from __future__ import annotations

import re
from typing import Any

# C0 (but for the newline, which callers choose), DEL, C1, and the invisible format characters that reorder
# or hide text (zero-width, bidi embeddings, overrides and isolates).
_CONTROL = "\x00-\x09\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff"
CONTROL = re.compile(f"[{_CONTROL}\n]")
CONTROL_BUT_NEWLINE = re.compile(f"[{_CONTROL}]")
# What a plot drawn here holds legitimately: a colour (SGR) sequence. Any other control is from outside.
SGR_OR_CONTROL = re.compile(r"\x1b\[[0-9;]*m|" + f"[{_CONTROL}]")


def _shown(m: re.Match) -> str:
    c = m.group()
    return f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}"


def visible(value: Any, newlines: bool = False) -> str:
    """`value` as text with every control character written as its escape (ESC as `\\x1b`); `newlines`
    keeps line breaks (a description), else they are shown too (a name, which is one line)."""
    s = value if isinstance(value, str) else str(value)
    return (CONTROL_BUT_NEWLINE if newlines else CONTROL).sub(_shown, s)


def plot_visible(text: str) -> str:
    """A drawn plot with its colour sequences and line breaks kept and every other control shown: the names in
    its legend and title come from run files."""
    return SGR_OR_CONTROL.sub(lambda m: m.group() if len(m.group()) > 1 else _shown(m), text)
