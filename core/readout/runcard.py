"""A run's card: status, seed, device, versions, duration, final and best figures, and the resolved config.

`dltui show RUN` prints it and the lab shows it (i), so it lives here, where both faces can import it.
"""

from __future__ import annotations

from typing import Any

from rich.table import Table

from ..rules.numbers import fmt, lr, metric, metric_name, pct, per_second, seconds, whole
from ..rules.polytext import poly_line
from .safe import text

CARD_FORMATS = {
    "duration_s": seconds,
    "steps_per_s": per_second,
    "n_params": whole,
}


class Card:
    """The two columns of the card; every value is text from a run's files, shown and never obeyed."""

    def __init__(self, title: Any):
        self.table = Table(title=text(title), show_header=False)
        self.table.add_column("key", style="bold")
        self.table.add_column("value")

    def add_row(self, key: str, value: Any) -> None:
        self.table.add_row(text(key), text(value))


def _value(key: str, v: Any) -> str:
    if key in CARD_FORMATS:
        return CARD_FORMATS[key](v)
    return fmt(v) if isinstance(v, float) else str(v)


def run_card(run) -> Table:  # run: core.store.folder.RunInfo
    """The card of one run, as a two-column table."""
    s, st = run.summary, run.status
    t = Card(run.run_id)
    why = run.problem or st.get("reason")
    t.add_row("status", f"{run.state}" + (f" ({why})" if why else ""))
    t.add_row("preset / variant", f"{st.get('preset', '?')} / {st.get('variant', '?')}")
    card = {**{k: st[k] for k in ("device_name", "n_params") if k in st}, **s, "seed": run.config.get("seed")}
    device = str(st.get("device") or card.get("device_name") or "")
    if "torch" in s and not s.get("cuda"):
        card["cuda"] = "none (a CPU build of torch)"
    elif s.get("cuda") and device and not device.startswith("cuda"):  # a CUDA build of torch, run on the CPU
        card["cuda"] = f"not used ({device.split(',')[0]} run; torch built for CUDA {s['cuda']})"
    for key, label in (
        ("epochs", "epochs"),
        ("steps", "steps"),
        ("duration_s", "duration (s)"),
        ("steps_per_s", "steps/s"),
        ("seed", "seed"),
        ("device_name", "device"),
        ("torch", "torch"),
        ("cuda", "CUDA"),
        ("n_params", "parameters"),
    ):
        if card.get(key) is not None:
            t.add_row(label, _value(key, card[key]))
    _notes(t, s)
    for k in ("train_loss", "test_loss", "val_loss"):
        if s.get(f"final_{k}") is not None:
            t.add_row(f"final {k.replace('_', ' ')}", fmt(s[f"final_{k}"]))
    for k in ("train_acc", "test_acc", "val_acc"):
        if s.get(f"final_{k}") is not None:
            t.add_row(f"final {k.replace('_', ' ')}", pct(s[f"final_{k}"]))
    if s.get("best_epoch") is not None:
        name = str(s.get("best_metric") or "")
        t.add_row(
            "best epoch", f"{s['best_epoch']} ({metric_name(name)} {metric(name, s.get('best_value'))})"
        )
    for key, what in (
        ("suggested_lr", "suggested lr (steepest fall)"),
        ("steepest_lr", "steepest descent at lr (a hint)"),  # range tests made before suggested_lr
        ("min_loss_lr", "lowest loss at lr"),
        ("diverged_lr", "diverged at lr"),
    ):
        if isinstance(s.get(key), float):
            t.add_row(what, lr(s[key]))
    for label, line in function_rows(run):
        t.add_row(label, line)
    cfg = run.config
    if cfg:
        t.add_row("config", ", ".join(f"{k}={v}" for k, v in cfg.items()))
    return t.table


def _notes(t: Table, s: dict) -> None:
    """The run's notes, e.g. which variants trained batched with it."""
    if isinstance(s.get("notes"), list) and s["notes"]:
        t.add_row("notes", "; ".join(str(n) for n in s["notes"]))


def function_rows(run) -> list[tuple[str, str]]:
    """The polynomial's target, then its learned function at each recorded epoch (and at the end, if that
    was not recorded), printed as the course's seed document 003 did."""
    s = run.summary
    snaps = [r for r in run.snapshots() if isinstance(r, dict) and r.get("kind") == "function"]
    rows = [("target", poly_line(s, "target_coefficients", "target_bias"))]
    rows += [(f"learned, epoch {r.get('epoch')}", poly_line(r)) for r in snaps]
    end = poly_line(s, "learned_coefficients", "learned_bias")
    if not snaps or snaps[-1].get("epoch") != s.get("epochs"):
        rows.append((f"learned, epoch {s.get('epochs')}", end))
    return [(label, line) for label, line in rows if line is not None]
