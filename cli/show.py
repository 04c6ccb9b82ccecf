"""`dltui show RUN`: the run's curves drawn with plotext in the terminal, and its summary."""
from __future__ import annotations

import shutil
import sys

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .console import fmt, pct


def _size() -> tuple[int, int]:
    cols, rows = shutil.get_terminal_size((100, 30))
    return max(60, min(cols, 160)), max(15, min(rows - 8, 30))


def view_plots(run, log: bool = False) -> list[str]:
    """The run's plots as text: the views its preset names (loss, accuracy, learned function, gradient norms, ...),
    drawn by the same drawers as the lab's live plots."""
    import plotext as plt

    from .core import presets
    from .core.errors import BadInput
    from .tui.viewkit import VIEWS, ViewOptions, run_datas, views_for
    from .tui.views import load_all

    load_all()
    try:
        names = presets.load(run.status.get("preset", "")).views
    except BadInput:  # a user's own preset file, or one renamed since
        names = ("loss", "accuracy")
    names = views_for(names, run.config.get("probes"))
    if run.status.get("kind") == "lrfind":
        names = ("lrfind",)
    (data,) = run_datas([run])
    if not any(r.get("train_acc") is not None or r.get("test_acc") is not None for r in data.records):
        names = tuple(n for n in names if n != "accuracy")
    out = []
    for name in names:
        if name not in VIEWS:
            continue
        plt.clear_figure()
        plt.plotsize(*_size())
        plt.theme("clear")
        VIEWS[name][1](plt, [data], ViewOptions(log=log, selected=run.run_id))
        out.append(plt.build())
    return out


def summary_table(run) -> Table:
    s, st = run.summary, run.status
    t = Table(title=f"{run.run_id}", show_header=False)
    t.add_column("key", style="bold")
    t.add_column("value")
    t.add_row("status", run.state + (f" ({st.get('reason')})" if st.get("reason") else ""))
    t.add_row("preset / variant", f"{st.get('preset', '?')} / {st.get('variant', '?')}")
    card = {**{k: st[k] for k in ("device_name", "n_params") if k in st}, **s, "seed": run.config.get("seed")}
    if "torch" in s and not s.get("cuda"):
        card["cuda"] = "none (a CPU build of torch)"
    for key, label in (("epochs", "epochs"), ("steps", "steps"), ("duration_s", "duration (s)"), ("steps_per_s", "steps/s"),
                       ("seed", "seed"), ("device_name", "device"), ("torch", "torch"), ("cuda", "CUDA"), ("n_params", "parameters")):
        if card.get(key) is not None:
            v = card[key]
            t.add_row(label, f"{v:,.0f}" if key == "steps_per_s" else f"{v:.1f}" if key == "duration_s" else
                      fmt(v) if isinstance(v, float) else str(v))
    for k in ("train_loss", "test_loss", "val_loss"):
        if s.get(f"final_{k}") is not None:
            t.add_row(f"final {k.replace('_', ' ')}", fmt(s[f"final_{k}"]))
    for k in ("train_acc", "test_acc", "val_acc"):
        if s.get(f"final_{k}") is not None:
            t.add_row(f"final {k.replace('_', ' ')}", pct(s[f"final_{k}"]))
    if s.get("best_epoch") is not None:
        t.add_row("best epoch", f"{s['best_epoch']} ({s.get('best_metric')} {fmt(s.get('best_value'))})")
    for key, what in (("steepest_lr", "steepest descent at lr (a hint)"), ("min_loss_lr", "lowest loss at lr"),
                      ("diverged_lr", "diverged at lr")):
        if isinstance(s.get(key), float):
            t.add_row(what, f"{s[key]:.3g}")
    if "learned_coefficients" in s:
        t.add_row(escape("target  w·[x,x²,x³,x⁴] + b"), _poly(s["target_coefficients"], s["target_bias"]))
        t.add_row(escape("learned w·[x,x²,x³,x⁴] + b"), _poly(s["learned_coefficients"], s["learned_bias"]))
    cfg = run.config
    if cfg:
        t.add_row("config", escape(", ".join(f"{k}={v}" for k, v in cfg.items())))
    return t


def _poly(w: list[float], b: float) -> str:
    return "[" + ", ".join(f"{x:+.3f}" for x in w) + f"] + {b:.3f}"


def show_run(run, log: bool = False) -> None:
    out = sys.stdout
    plots = view_plots(run, log)
    if (run.path / "metrics.jsonl").exists() or (run.path / "snapshots.jsonl").exists():
        out.write("\n".join(plots) + "\n")
    else:
        out.write("no epochs recorded yet\n")
    out.flush()
    Console().print(summary_table(run))
