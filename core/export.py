"""Export runs for a report: metrics as CSV or JSON, figures as PNG or SVG (matplotlib, headless).

Every file is written atomically (a temp file in the same folder, then a rename), so a reader never
sees half a file. Figures use matplotlib's `Figure` directly (Agg for PNG, the SVG backend for SVG),
never pyplot: no display is needed and no global state is touched. matplotlib is imported lazily.
No torch here. Files (see docs/export.md):

  <run_id>.csv            one row per epoch (csv; or metrics.csv for all runs with --tidy)
  <run_id>.json           the run's config, summary and metrics (json)
  <run_id>-loss.FMT       train vs test (and val) loss, linear and log scale side by side
  <run_id>-accuracy.FMT   train vs test (and val) accuracy, if the run records it
  <run_id>-function.FMT   the polynomial's learned vs target function at the recorded epochs
  compare-METRIC.FMT      one metric of all runs overlaid (when more than one run has data)
"""
from __future__ import annotations

import csv
import io
import json
import os
import threading
import warnings
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

from .errors import BadInput
from .smoothing import check_alpha, ema
from .store import clean

FORMATS = ("csv", "json", "png", "svg")
FIGURE_FORMATS = ("png", "svg")
DEFAULT_FORMATS = ("csv", "json", "png")
X_AXES = ("epoch", "step", "time")
X_LABELS = {"epoch": "epoch", "step": "update (optimizer step)", "time": "wall-clock seconds"}
FIRST_COLUMNS = ("epoch", "step", "time", "train_loss", "test_loss", "val_loss", "train_acc", "test_acc", "val_acc", "lr")
RUN_COLUMNS = ("run_id", "preset", "variant")
CURVES = (("train", "C0"), ("test", "C3"), ("val", "C2"))
RAW_ALPHA = 0.25


# -- arguments -------------------------------------------------------------------------------
def parse_formats(values: Optional[Iterable[str]]) -> tuple[str, ...]:
    """`--format csv --format png` or `--format csv,png` -> ("csv", "png"); none given -> the defaults."""
    out = [v.strip().lower() for item in values or () for v in item.split(",") if v.strip()]
    bad = [v for v in out if v not in FORMATS]
    if bad:
        raise BadInput(f"--format {bad[0]}: not a format dltui exports; use one or more of {', '.join(FORMATS)}")
    return tuple(dict.fromkeys(out)) or DEFAULT_FORMATS


def check_x(x: str) -> str:
    if x not in X_AXES:
        raise BadInput(f"--x {x}: the x-axis must be one of {', '.join(X_AXES)}")
    return x


def check_out_dir(out_dir: Path) -> Path:
    """Create `out_dir` and prove it is writable, else BadInput (before any file is written)."""
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / f".write-test-{os.getpid()}"
        probe.write_text("ok")
        probe.unlink()
    except OSError as e:
        raise BadInput(f"--to {out_dir}: cannot write there ({e.strerror or e}); pick a folder you can write to") from None
    return out_dir


def write_atomic(path: Path, data: str | bytes) -> Path:
    """Write `data` to a temp file beside `path`, fsync it, and rename it over `path`."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


# -- CSV and JSON ----------------------------------------------------------------------------
def flat(record: dict[str, Any]) -> dict[str, Any]:
    """A metrics record with each list value k spread over columns k_0, k_1, ...; non-finite -> None."""
    out: dict[str, Any] = {}
    for k, v in clean(record).items():
        if isinstance(v, list):
            out.update({f"{k}_{i}": x for i, x in enumerate(v)})
        elif not isinstance(v, dict):
            out[k] = v
    return out


def columns(rows: Sequence[dict[str, Any]], first: Sequence[str] = ()) -> list[str]:
    """`first`, epoch, step, time, the usual columns that occur, then the others by name (k_10 after k_9)."""
    seen = {k for r in rows for k in r}
    usual = [c for c in FIRST_COLUMNS if c in seen or c in ("epoch", "step", "time")]
    rest = sorted(seen - set(usual) - set(first), key=_column_order)
    return list(first) + usual + rest


def _column_order(name: str) -> tuple[str, int]:
    base, _, idx = name.rpartition("_")
    return (base, int(idx)) if idx.isdigit() else (name, -1)


def csv_text(rows: Sequence[dict[str, Any]], cols: Sequence[str]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(cols), extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: ("" if r.get(k) is None else r[k]) for k in cols})
    return buf.getvalue()


def _run_fields(run) -> dict[str, Any]:
    return {"run_id": run.run_id, "preset": run.status.get("preset", ""), "variant": run.status.get("variant", "")}


def write_csv(run, out_dir: Path) -> Path:
    rows = [flat(r) for r in run.metrics()]
    return write_atomic(out_dir / f"{run.run_id}.csv", csv_text(rows, columns(rows)))


def write_tidy_csv(runs: Sequence[Any], out_dir: Path) -> Path:
    """All runs in one metrics.csv: run_id, preset, variant, then the metric columns."""
    rows = [{**_run_fields(run), **flat(r)} for run in runs for r in run.metrics()]
    return write_atomic(out_dir / "metrics.csv", csv_text(rows, columns(rows, RUN_COLUMNS)))


def run_json(run) -> dict[str, Any]:
    return {**_run_fields(run), "status": run.state, "config": run.config, "summary": run.summary, "metrics": run.metrics()}


def write_json(run, out_dir: Path) -> Path:
    text = json.dumps(clean(run_json(run)), allow_nan=False, indent=1)
    return write_atomic(out_dir / f"{run.run_id}.json", text + "\n")


# -- figures ---------------------------------------------------------------------------------
def label(run) -> str:
    st = run.status
    return f"{st.get('preset', '')} {st.get('variant', '')}".strip() or run.run_id


def labels(runs: Sequence[Any]) -> dict[str, str]:
    """run_id -> a short label: the variant (with the preset if presets differ); ids added to tell twins apart."""
    presets = {r.status.get("preset") for r in runs}
    base = {r.run_id: (f"{r.status.get('preset', '?')} " if len(presets) > 1 else "") + r.status.get("variant", r.run_id) for r in runs}
    counts = {v: list(base.values()).count(v) for v in base.values()}
    return {rid: (f"{b} [{rid[-4:]}]" if counts[b] > 1 else b) for rid, b in base.items()}


def series(records: Sequence[dict[str, Any]], key: str, x: str = "epoch") -> tuple[list, list]:
    """(x, y) of a metric, skipping records where either is missing."""
    pts = [(r[x], r[key]) for r in records if r.get(x) is not None and isinstance(r.get(key), (int, float))]
    return [p[0] for p in pts], [p[1] for p in pts]


def plot_line(ax, xs: list, ys: list, colour: str, name: str, smooth: float) -> None:
    """A curve; with smoothing, the raw curve faint behind the smoothed one."""
    if smooth > 0:
        ax.plot(xs, ys, color=colour, alpha=RAW_ALPHA, linewidth=1)
        ys = ema(ys, smooth)
        name += f" (EMA {smooth:g})"
    ax.plot(xs, ys, color=colour, linewidth=1.6, label=name)


def _curves(records, kind: str, x: str) -> list[tuple[str, str, list, list]]:
    """train/test/val curves of `kind` (loss or acc); a test curve equal to train's is left out."""
    out, train_ys = [], None
    for split, colour in CURVES:
        xs, ys = series(records, f"{split}_{kind}", x)
        if not ys or (split != "train" and ys == train_ys):
            continue
        train_ys = ys if split == "train" else train_ys
        out.append((f"{split} {kind.replace('acc', 'accuracy')}", colour, xs, ys))
    return out


def _new_figure(ncols: int):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6 * ncols, 4.2), layout="constrained")
    return fig, fig.subplots(1, ncols, squeeze=False)[0]


def loss_figure(run, x: str = "epoch", smooth: float = 0.0):
    """Train vs test (and val) loss: linear scale left, log scale right. None without data."""
    curves = _curves(run.metrics(), "loss", x)
    if not curves:
        return None
    fig, axes = _new_figure(2)
    for ax, scale in zip(axes, ("linear", "log")):
        for name, colour, xs, ys in curves:
            plot_line(ax, xs, ys, colour, name, smooth)
        _decorate(ax, x, "loss", f"{scale} scale", scale)
    fig.suptitle(f"{label(run)}: loss")
    return fig


def accuracy_figure(run, x: str = "epoch", smooth: float = 0.0):
    """Train vs test (and val) accuracy, if the run records any. None otherwise."""
    curves = _curves(run.metrics(), "acc", x)
    if not curves:
        return None
    fig, (ax,) = _new_figure(1)
    for name, colour, xs, ys in curves:
        plot_line(ax, xs, [100 * y for y in ys], colour, name, smooth)
    _decorate(ax, x, "accuracy (%)", f"{label(run)}: accuracy", "linear")
    return fig


def function_figure(run):
    """The learned function at each recorded epoch against the target (snapshots kind "function")."""
    snaps = [s for s in run.snapshots() if s.get("kind") == "function"]
    if not snaps:
        return None
    from matplotlib import colormaps

    fig, (ax,) = _new_figure(1)
    cmap = colormaps["viridis"]
    for i, s in enumerate(snaps):
        ax.plot(s["x"], s["learned"], color=cmap(i / max(1, len(snaps) - 1)), linewidth=1.4, label=f"learned, epoch {s['epoch']}")
    ax.plot(snaps[0]["x"], snaps[0]["target"], color="black", linestyle="--", linewidth=2, label="target")
    _decorate(ax, None, "y", f"{label(run)}: learned vs target function", "linear")
    ax.set_xlabel("x")
    return fig


def compare_figure(runs: Sequence[Any], metric: str, x: str = "epoch", smooth: float = 0.0):
    """One metric of several runs overlaid, linear and log scale side by side. None unless two have data."""
    names = labels(runs)
    data = [(names[r.run_id], series(r.metrics(), metric, x)) for r in runs]
    data = [(name, xy) for name, xy in data if xy[1]]
    if len(data) < 2:
        return None
    fig, axes = _new_figure(2)
    for ax, scale in zip(axes, ("linear", "log")):
        for i, (name, (xs, ys)) in enumerate(data):
            plot_line(ax, xs, ys, f"C{i % 10}", name, smooth)
        _decorate(ax, x, metric.replace("_", " "), f"{scale} scale", scale)
    presets = {r.status.get("preset", "") for r in runs}
    fig.suptitle((f"{presets.pop()}: " if len(presets) == 1 else "") + f"{metric.replace('_', ' ')} of {len(data)} runs")
    return fig


def _decorate(ax, x: Optional[str], ylabel: str, title: str, scale: str) -> None:
    with warnings.catch_warnings():  # a log axis with no positive value left stays empty, quietly
        warnings.simplefilter("ignore", UserWarning)
        ax.set_yscale(scale, **({"nonpositive": "mask"} if scale == "log" else {}))
    if x is not None:
        ax.set_xlabel(X_LABELS[x])
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")


def save_figure(fig, path: Path, fmt: str) -> Path:
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=120, metadata={"Date": None} if fmt == "svg" else None)
    return write_atomic(path, buf.getvalue())


def run_figures(run, x: str = "epoch", smooth: float = 0.0) -> dict[str, Any]:
    """name -> figure for one run: loss, accuracy, function (those it has data for)."""
    figs = {"loss": loss_figure(run, x, smooth), "accuracy": accuracy_figure(run, x, smooth), "function": function_figure(run)}
    return {k: f for k, f in figs.items() if f is not None}


def compare_metric(runs: Sequence[Any]) -> str:
    """test_loss if any run records it, else train_loss."""
    return "test_loss" if any(series(r.metrics(), "test_loss")[1] for r in runs) else "train_loss"


# -- the whole export ------------------------------------------------------------------------
def export_runs(run_infos: Sequence[Any], out_dir: Path, formats: Iterable[str] = DEFAULT_FORMATS, *,
                tidy: bool = False, smooth: float = 0.0, x: str = "epoch") -> list[Path]:
    """Write the runs' files into `out_dir` (created if needed); return the paths written."""
    formats = parse_formats(formats)
    smooth, x = check_alpha(smooth), check_x(x)
    out_dir = check_out_dir(Path(out_dir))
    written: list[Path] = []
    if "csv" in formats:
        written += [write_tidy_csv(run_infos, out_dir)] if tidy else [write_csv(r, out_dir) for r in run_infos]
    if "json" in formats:
        written += [write_json(r, out_dir) for r in run_infos]
    for fmt in (f for f in formats if f in FIGURE_FORMATS):
        written += _write_figures(run_infos, out_dir, fmt, x, smooth)
    return written


def _write_figures(runs: Sequence[Any], out_dir: Path, fmt: str, x: str, smooth: float) -> list[Path]:
    written = []
    for run in runs:
        for name, fig in run_figures(run, x, smooth).items():
            written.append(save_figure(fig, out_dir / f"{run.run_id}-{name}.{fmt}", fmt))
    if len(runs) > 1:
        metric = compare_metric(runs)
        fig = compare_figure(runs, metric, x, smooth)
        if fig is not None:
            written.append(save_figure(fig, out_dir / f"compare-{metric}.{fmt}", fmt))
    return written
