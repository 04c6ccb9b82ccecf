"""Colours and markers: one per run, by the swept value where runs differ in one number, and a status's
colour.

Shared by both faces and the report figures, so that a run has the same colour in the lab, `compare` and an
exported figure. Plain Python and rich only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.text import Text

from ..rules.numbers import fmt, is_number
from .safe import text

# Colours are RGB, never names: a terminal theme remaps named colours (under the lab's theme red and magenta
# drew alike, and so did yellow and blue). Ten hues after Paul Tol's "vibrant" and "bright" schemes, chosen to
# be told apart on dark and light backgrounds and by most colour-blind readers; beyond ten, MARKERS tell apart
# the points of runs that share a hue.
PALETTE = (
    (51, 187, 238),
    (238, 119, 51),
    (0, 153, 136),
    (238, 51, 119),
    (204, 187, 68),
    (68, 119, 170),
    (187, 187, 187),
    (170, 68, 153),
    (153, 153, 51),
    (136, 204, 238),
)
# ASCII: a terminal draws ● ■ ▲ at one or two cells depending on its locale, which shifts the rest of the row.
MARKERS = ("o", "x", "+", "*", "#", "@", "%", "&", "=", "$")
# A sequential scale, blue to yellow, like viridis but without its darkest end (it vanishes on a dark
# background): for runs that differ in one number (a learning-rate sweep), epochs of one run, layers.
SEQUENTIAL = ((100, 120, 240), (40, 165, 210), (40, 190, 130), (150, 215, 70), (253, 231, 37))
TARGET_COLOUR = (
    238,
    51,
    119,
)  # what a curve should reach (the polynomial's target): no step of the sequential scale
RAW_COLOUR = 245  # the raw curve behind a smoothed one: a mid grey, faint on dark and light terminals alike
STATUS_STYLE = {
    "finished": "green",
    "running": "cyan",
    "diverged": "yellow",
    "failed": "bold red",
    "crashed": "bold red",
    "interrupted": "magenta",
    "queued": "dim",
    "skipped": "dim",
    "damaged": "bold red",
}


def sequential(t: float) -> tuple[int, int, int]:
    """The colour at `t` in [0, 1] on the sequential scale (dark blue to yellow)."""
    t = min(1.0, max(0.0, t)) * (len(SEQUENTIAL) - 1)
    i = min(int(t), len(SEQUENTIAL) - 2)
    a, b, f = SEQUENTIAL[i], SEQUENTIAL[i + 1], t - i
    return tuple(round(x + (y - x) * f) for x, y in zip(a, b))


def run_label(name: str, colour: Any) -> Text:
    """A run's name after a block in its colour: the key to its lines, in the runs tables."""
    style = f"rgb({colour[0]},{colour[1]},{colour[2]})" if isinstance(colour, tuple) else f"color({colour})"
    return Text.assemble(("■ ", style), text(name))  # a name from a run file: shown, never obeyed


def hex_colour(c: Sequence[int]) -> str:
    """An RGB colour as matplotlib and HTML write it."""
    return "#{:02x}{:02x}{:02x}".format(*c)


TRAINING_ONLY = (
    "seed",
)  # keys whose values change the training, not the experiment (core/readout/sweeps.py)


def swept_key(configs: Sequence[dict[str, Any]]) -> str | None:
    """The one config key besides the seed whose value differs between the runs, if there is exactly one and
    it is a number for every run (a learning-rate sweep, with or without seeds); None otherwise."""
    keys = {k for c in configs for k in c} - set(TRAINING_ONLY)
    differ = [k for k in sorted(keys) if len({repr(c.get(k)) for c in configs}) > 1]
    if len(configs) < 3 or len(differ) != 1 or not all(is_number(c.get(differ[0])) for c in configs):
        return None
    return differ[0]


def run_colours(configs: Sequence[dict[str, Any]]) -> list:
    """One colour per run: by the swept value on the sequential scale (its order, small to large) where the
    runs differ in one number, else the palette in order."""
    key = swept_key(configs)
    if key is None:
        return [PALETTE[i % len(PALETTE)] for i in range(len(configs))]
    values = sorted({c[key] for c in configs})
    return [sequential(values.index(c[key]) / (len(values) - 1)) for c in configs]


def colour_key(configs: Sequence[dict[str, Any]]) -> str:
    """The key to run_colours' scale in words, where runs are coloured by a swept value ("" otherwise)."""
    key = swept_key(configs)
    if key is None:
        return ""
    values = sorted({c[key] for c in configs})
    return f"colour: {key} {fmt(values[0])} (blue) → {fmt(values[-1])} (yellow)"


def status_text(state: str) -> Text:
    """A run's status in its colour."""
    return text(state, STATUS_STYLE.get(state, ""))
