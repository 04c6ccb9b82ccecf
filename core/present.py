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

# 256-colour-safe colours, one per run (variant), in order.
PALETTE = ("cyan", "orange", "green", "magenta", "blue", "red", "yellow", "gray", 141, 208, 118, 39)
RAW_COLOUR = 245  # the raw curve behind a smoothed one: a mid grey, faint on dark and light terminals alike
STATUS_STYLE = {"finished": "green", "running": "cyan", "diverged": "yellow", "failed": "bold red", "crashed": "bold red",
                "interrupted": "magenta", "queued": "dim", "skipped": "dim",
                "damaged": "bold red"}

# Which epoch is best: validation over test, accuracy over loss (the first of these a run records).
SCORES = ("val_acc", "test_acc", "val_loss", "test_loss")


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
