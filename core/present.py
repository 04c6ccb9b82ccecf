"""How the lab shows things, the same in every face: number formats, colours, axis labels, view names,
which epoch is best, and the points a curve is drawn from.

The CLI (`dltui runs`, `show`, `compare`), the TUI and the report figures all import these rules from
here, so that a loss, a status or an axis reads the same wherever it appears. Plain Python and rich
only: no textual, no torch.
"""
from __future__ import annotations

import shutil
from typing import Any, Optional, Sequence

from rich.text import Text

# The views a preset may name (`views = [...]`); tui/views/*.py registers one drawer for each.
VIEW_NAMES = (
    "loss", "accuracy", "function", "lr_curve", "class_acc", "hidden_similarity",
    "grad_norm", "regions", "gradcheck", "best_epoch",
    "sharpness", "update_ratio", "dead_units", "confusion", "lrfind",
)

X_LABELS = {"epoch": "epoch", "step": "update (optimizer step)", "time": "wall-clock seconds"}
X_AXES = tuple(X_LABELS)  # the x-axes a curve can be drawn against, in the order `x` cycles through them

# Colours are RGB, never names: a terminal theme remaps named colours (under the lab's theme red and magenta
# drew alike, and so did yellow and blue). Ten hues after Paul Tol's "vibrant" and "bright" schemes, chosen to
# be told apart on dark and light backgrounds and by most colour-blind readers; beyond ten, MARKERS tell apart
# the points of runs that share a hue.
PALETTE = ((51, 187, 238), (238, 119, 51), (0, 153, 136), (238, 51, 119), (204, 187, 68), (68, 119, 170),
           (187, 187, 187), (170, 68, 153), (153, 153, 51), (136, 204, 238))
# ASCII: a terminal draws ● ■ ▲ at one or two cells depending on its locale, which shifts the rest of the row.
MARKERS = ("o", "x", "+", "*", "#", "@", "%", "&", "=", "$")
# A sequential scale, blue to yellow, like viridis but without its darkest end (it vanishes on a dark
# background): for runs that differ in one number (a learning-rate sweep), epochs of one run, layers.
SEQUENTIAL = ((100, 120, 240), (40, 165, 210), (40, 190, 130), (150, 215, 70), (253, 231, 37))
TARGET_COLOUR = (238, 51, 119)  # what a curve should reach (the polynomial's target): no step of the sequential scale
RAW_COLOUR = 245  # the raw curve behind a smoothed one: a mid grey, faint on dark and light terminals alike
STATUS_STYLE = {"finished": "green", "running": "cyan", "diverged": "yellow", "failed": "bold red", "crashed": "bold red",
                "interrupted": "magenta", "queued": "dim", "skipped": "dim",
                "damaged": "bold red"}

# Which epoch is best: validation over test, accuracy over loss (the first of these a run records).
SCORES = ("val_acc", "test_acc", "val_loss", "test_loss")


def sequential(t: float) -> tuple[int, int, int]:
    """The colour at `t` in [0, 1] on the sequential scale (dark blue to yellow)."""
    t = min(1.0, max(0.0, t)) * (len(SEQUENTIAL) - 1)
    i = min(int(t), len(SEQUENTIAL) - 2)
    a, b, f = SEQUENTIAL[i], SEQUENTIAL[i + 1], t - i
    return tuple(round(x + (y - x) * f) for x, y in zip(a, b))


def run_label(name: str, colour: Any) -> Text:
    """A run's name after a block in its colour: the key to its lines, in the runs tables."""
    style = f"rgb({colour[0]},{colour[1]},{colour[2]})" if isinstance(colour, tuple) else f"color({colour})"
    return Text.assemble(("■ ", style), name)


def hex_colour(c: Sequence[int]) -> str:
    """An RGB colour as matplotlib and HTML write it."""
    return "#%02x%02x%02x" % tuple(c)


TRAINING_ONLY = ("seed",)  # keys whose values change the training, not the experiment (core/sweeps.py)


def swept_key(configs: Sequence[dict[str, Any]]) -> Optional[str]:
    """The one config key besides the seed whose value differs between the runs, if there is exactly one and it
    is a number for every run (a learning-rate sweep, with or without seeds); None otherwise."""
    keys = {k for c in configs for k in c} - set(TRAINING_ONLY)
    differ = [k for k in sorted(keys) if len({repr(c.get(k)) for c in configs}) > 1]
    if len(configs) < 3 or len(differ) != 1 or not all(_number(c.get(differ[0])) for c in configs):
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


def fmt(v: Any) -> str:
    """A loss or any other measured number: 4 significant digits; '-' when missing."""
    if v is None:
        return "-"
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def pct(v: Any) -> str:
    """An accuracy (a share in [0, 1]) as a percentage with one decimal; '-' when missing."""
    return "-" if v is None else f"{100 * v:.1f}%"


def seconds(v: Any) -> str:
    """A duration: seconds with one decimal; '-' when missing."""
    return "-" if v is None else f"{v:.1f}s"


def per_second(v: Any) -> str:
    """A rate (steps/s): whole units with thousands separators; '-' when missing or zero."""
    return f"{v:,.0f}" if v else "-"


PLOT_COLUMNS = (60, 160)  # a plot printed in the terminal: at least, at most this many columns
PLOT_ROWS = (15, 30)  # and rows
TEXT_ROWS = 8  # rows left for the lines printed around a plot


def terminal_plot_size() -> tuple[int, int]:
    """(width, height) of a plot printed in this terminal: its size, less room for the text around it, within bounds."""
    cols, rows = shutil.get_terminal_size((100, 30))
    return max(PLOT_COLUMNS[0], min(cols, PLOT_COLUMNS[1])), max(PLOT_ROWS[0], min(rows - TEXT_ROWS, PLOT_ROWS[1]))


def status_text(state: str) -> Text:
    """A run's status in its colour."""
    return Text(state, style=STATUS_STYLE.get(state, ""))


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def series(records: Sequence[dict[str, Any]], key: str, x: str = "epoch", log: bool = False) -> tuple[list, list]:
    """(x, y) of a metric over a run's records, skipping records where either is missing (and y <= 0 on a
    log axis, which cannot show it)."""
    pts = [(r[x], r[key]) for r in records if r.get(x) is not None and _number(r.get(key)) and not (log and r[key] <= 0)]
    return [p[0] for p in pts], [p[1] for p in pts]


def higher_is_better(metric: str) -> bool:
    return "acc" in metric


def score_metric(classify: bool, has_val: bool) -> str:
    """The metric that picks a run's best epoch: accuracy for a classifier, else loss; on the validation set if
    there is one, else the test set."""
    return f"{'val' if has_val else 'test'}_{'acc' if classify else 'loss'}"


def better(value: float, best: Optional[float], metric: str) -> bool:
    """True if `value` beats the best so far (none yet: it does). A tie keeps the earlier epoch."""
    return best is None or (value > best if higher_is_better(metric) else value < best)


def best_record(records: Sequence[dict[str, Any]], metric: str) -> Optional[dict[str, Any]]:
    """The first record with the best value of `metric` (None if no record has it)."""
    best = None
    for r in records:
        if _number(r.get(metric)) and better(r[metric], best[metric] if best else None, metric):
            best = r
    return best


def best_epoch(records: Sequence[dict[str, Any]], summary: dict[str, Any]) -> Optional[int]:
    """A run's best epoch: the summary's once the run has ended, else the best so far by the first of SCORES
    that its records have."""
    if summary.get("best_epoch") is not None:
        return summary["best_epoch"]
    metric = next((k for k in SCORES if any(_number(r.get(k)) for r in records)), None)
    best = best_record(records, metric) if metric else None
    return best.get("epoch") if best else None


def best_epoch_record(records: Sequence[dict[str, Any]], summary: dict[str, Any]) -> Optional[dict[str, Any]]:
    """The record of a run's best epoch (see best_epoch), if the records hold it."""
    epoch = best_epoch(records, summary)
    return None if epoch is None else next((r for r in records if r.get("epoch") == epoch), None)
