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


def loss_plot(metrics: list[dict], title: str, log: bool = False) -> str:
    import plotext as plt

    plt.clear_figure()
    plt.plotsize(*_size())
    epochs = [m["epoch"] for m in metrics]
    for key, colour in (("train_loss", "blue"), ("test_loss", "red"), ("val_loss", "green")):
        pts = [(e, m.get(key)) for e, m in zip(epochs, metrics) if m.get(key) is not None and (not log or m[key] > 0)]
        if pts and not (key == "test_loss" and metrics[0].get("test_loss") == metrics[0].get("train_loss")
                        and all(m.get("test_loss") == m.get("train_loss") for m in metrics)):
            xs, ys = zip(*pts)
            plt.plot(list(xs), list(ys), label=key.replace("_", " "), color=colour, marker="braille")
    if log:
        plt.yscale("log")
    plt.title(title)
    plt.xlabel("epoch")
    plt.ylabel("loss")
    plt.theme("clear")
    return plt.build()


def function_plot(snaps: list[dict]) -> str:
    import plotext as plt

    plt.clear_figure()
    plt.plotsize(*_size())
    colours = ["cyan", "magenta", "yellow", "green", "blue", "orange"]
    funcs = [s for s in snaps if s.get("kind") == "function"]
    if not funcs:
        return ""
    plt.plot(funcs[0]["x"], funcs[0]["target"], label="target", color="red", marker="braille")
    for i, s in enumerate(funcs):
        plt.plot(s["x"], s["learned"], label=f"epoch {s['epoch']}", color=colours[i % len(colours)], marker="braille")
    plt.title("learned vs target function")
    plt.theme("clear")
    return plt.build()


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
            t.add_row(label, fmt(card[key]) if isinstance(card[key], float) else str(card[key]))
    for k in ("train_loss", "test_loss", "val_loss"):
        if s.get(f"final_{k}") is not None:
            t.add_row(f"final {k.replace('_', ' ')}", fmt(s[f"final_{k}"]))
    for k in ("train_acc", "test_acc", "val_acc"):
        if s.get(f"final_{k}") is not None:
            t.add_row(f"final {k.replace('_', ' ')}", pct(s[f"final_{k}"]))
    if s.get("best_epoch") is not None:
        t.add_row("best epoch", f"{s['best_epoch']} ({s.get('best_metric')} {fmt(s.get('best_value'))})")
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
    metrics = run.metrics()
    out = sys.stdout
    if metrics:
        out.write(loss_plot(metrics, f"{run.status.get('preset', '')} {run.status.get('variant', '')}: loss", log) + "\n")
        snaps = run.snapshots()
        fp = function_plot(snaps)
        if fp:
            out.write(fp + "\n")
    else:
        out.write("no epochs recorded yet\n")
    out.flush()
    Console().print(summary_table(run))
