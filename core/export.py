"""Export runs for a report: metrics as CSV or JSON, figures as PNG or SVG (matplotlib, headless).

Every file is written atomically (a temp file in the same folder, then a rename), so a reader never
sees half a file. Figures come from core/figures.py (matplotlib's Agg for PNG, its SVG backend for
SVG; headless). No torch here. Files (see docs/export.md):

  <run_id>.csv            one row per epoch (csv; or metrics.csv for all runs with --tidy)
  <run_id>.json           the run's config, summary and metrics (json)
  <run_id>-loss.FMT       train vs test (and val) loss, linear and log scale side by side
  <run_id>-accuracy.FMT   train vs test (and val) accuracy, if the run records it
  <run_id>-function.FMT   the polynomial's learned vs target function at the recorded epochs
  <run_id>-sharpness.FMT  sharpness against 2/lr, if the run measured it (probe sharpness)
  <run_id>-confusion.FMT  the last confusion matrix, and <run_id>-confusion.csv (probe confusion)
  compare-METRIC.FMT      one metric of all runs overlaid (when more than one run has data)
"""
from __future__ import annotations

import csv
import io
import json
import os
import threading
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

from .errors import BadInput
from .figures import compare_figure, compare_metric, figure_bytes, run_figures
from .instruments import confusion_csv, confusion_of
from .smoothing import check_alpha
from .store import clean

FORMATS = ("csv", "json", "png", "svg")
FIGURE_FORMATS = ("png", "svg")
DEFAULT_FORMATS = ("csv", "json", "png")
X_AXES = ("epoch", "step", "time")
FIRST_COLUMNS = ("epoch", "step", "time", "train_loss", "test_loss", "val_loss", "train_acc", "test_acc", "val_acc", "lr")
RUN_COLUMNS = ("run_id", "preset", "variant")


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


def write_confusion_csv(run, out_dir: Path) -> Path:
    _, m = confusion_of(run.summary, run.snapshots())
    return write_atomic(out_dir / f"{run.run_id}-confusion.csv", confusion_csv(m))


def run_json(run) -> dict[str, Any]:
    return {**_run_fields(run), "status": run.state, "config": run.config, "summary": run.summary, "metrics": run.metrics()}


def write_json(run, out_dir: Path) -> Path:
    text = json.dumps(clean(run_json(run)), allow_nan=False, indent=1)
    return write_atomic(out_dir / f"{run.run_id}.json", text + "\n")


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
        written += [write_confusion_csv(r, out_dir) for r in run_infos if confusion_of(r.summary, r.snapshots())[1]]
    if "json" in formats:
        written += [write_json(r, out_dir) for r in run_infos]
    for fmt in (f for f in formats if f in FIGURE_FORMATS):
        written += _write_figures(run_infos, out_dir, fmt, x, smooth)
    return written


def _write_figures(runs: Sequence[Any], out_dir: Path, fmt: str, x: str, smooth: float) -> list[Path]:
    written = []
    for run in runs:
        for name, fig in run_figures(run, x, smooth).items():
            written.append(write_atomic(out_dir / f"{run.run_id}-{name}.{fmt}", figure_bytes(fig, fmt)))
    if len(runs) > 1:
        metric = compare_metric(runs)
        fig = compare_figure(runs, metric, x, smooth)
        if fig is not None:
            written.append(write_atomic(out_dir / f"compare-{metric}.{fmt}", figure_bytes(fig, fmt)))
    return written
