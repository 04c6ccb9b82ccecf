"""Export runs for a report: metrics as CSV or JSON, figures as PNG or SVG (matplotlib, headless).

Every file is written atomically (a temp file in the same folder, then a rename), so a reader never
sees half a file. Figures come from core/export/figures.py (matplotlib's Agg for PNG, its SVG backend for
SVG; headless). No torch here. Files (see docs/export.md):

  <run_id>.csv            one row per epoch (csv)
  metrics.csv             with --tidy: all runs in one long table, for pandas and trackio (csv)
  <run_id>.json           the run's config, summary and metrics (json)
  <run_id>-loss.FMT       train vs test (and val) loss, linear and log scale side by side
  <run_id>-accuracy.FMT   train vs test (and val) accuracy, if the run records it
  <run_id>-function.FMT   the polynomial's learned vs target function at the recorded epochs
  <run_id>-sharpness.FMT  sharpness against 2/lr, if the run measured it (probe sharpness)
  <run_id>-confusion.FMT  the last confusion matrix, and <run_id>-confusion.csv (probe confusion)
  compare-METRIC.FMT      one metric of all runs overlaid (when more than one run has data)
  <run_id>/events.out.tfevents.*   TensorBoard event files (tensorboard; core/export/tensorboard.py)
"""

from __future__ import annotations

import csv
import importlib
import io
import json
import os
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..readout.confusion import confusion_of
from ..rules.errors import BadInput
from ..rules.smoothing import check_alpha
from ..spec.probes import PROBES
from ..spec.views import X_AXES
from ..store.atomic import write_atomic
from ..store.folder import clean
from . import tags
from .figures import accuracy_figure, compare_figure, compare_metric, figure_bytes, loss_figure
from .lrfigure import lrfind_figure
from .probefigures import confusion_csv

FORMATS = ("csv", "json", "png", "svg", "tensorboard")
FIGURE_FORMATS = ("png", "svg")
DEFAULT_FORMATS = ("csv", "json", "png")
FIRST_COLUMNS = (
    "epoch",
    "step",
    "time",
    "train_loss",
    "test_loss",
    "val_loss",
    "train_acc",
    "test_acc",
    "val_acc",
    "lr",
)
TIDY_FIRST = (
    "step",
    "timestamp",
    "run",
    "preset",
    "variant",
)  # then the swept config keys, time, updates, the metrics
SWEPT_PREFIX = "config/"  # a swept key's column: config/lr is the setting, lr the rate a run records


# -- arguments -------------------------------------------------------------------------------
def parse_formats(values: Iterable[str] | None) -> tuple[str, ...]:
    """`--format csv --format png` or `--format csv,png` -> ("csv", "png"); none given -> the defaults."""
    out = [v.strip().lower() for item in values or () for v in item.split(",") if v.strip()]
    bad = [v for v in out if v not in FORMATS]
    if bad:
        raise BadInput(
            f"--format {bad[0]}: not a format dltui exports; use one or more of {', '.join(FORMATS)}"
        )
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
        raise BadInput(
            f"--to {out_dir}: cannot write there ({e.strerror or e}); pick a folder you can write to"
        ) from None
    return out_dir


# -- CSV and JSON ----------------------------------------------------------------------------
def flat(record: dict[str, Any]) -> dict[str, Any]:
    """A metrics record with each list value k spread over columns k_0, k_1, ...; non-finite -> None.

    Lists of lists or dicts (a trace inside the epoch, such as class_acc_trace) are left out: no one cell
    holds them."""
    out: dict[str, Any] = {}
    for k, v in clean(record).items():
        if isinstance(v, list):
            if not any(isinstance(x, (list, dict)) for x in v):
                out.update({f"{k}_{i}": x for i, x in enumerate(v)})
        elif not isinstance(v, dict):
            out[k] = v
    return out


def columns(rows: Sequence[dict[str, Any]]) -> list[str]:
    """epoch, step, time, the usual columns that occur, then the others by name (k_10 after k_9)."""
    seen = {k for r in rows for k in r}
    usual = [c for c in FIRST_COLUMNS if c in seen or c in ("epoch", "step", "time")]
    return usual + sorted(seen - set(usual), key=tags.order)


def csv_text(rows: Sequence[dict[str, Any]], cols: Sequence[str]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(cols), extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: ("" if r.get(k) is None else r[k]) for k in cols})
    return buf.getvalue()


def _run_fields(run) -> dict[str, Any]:
    return {
        "run_id": run.run_id,
        "preset": run.status.get("preset", ""),
        "variant": run.status.get("variant", ""),
    }


def write_csv(run, out_dir: Path) -> Path:
    rows = [flat(r) for r in run.metrics()]
    return write_atomic(out_dir / f"{run.run_id}.csv", csv_text(rows, columns(rows)))


def write_tidy_csv(runs: Sequence[Any], out_dir: Path) -> Path:
    """All runs in one metrics.csv, one row per run and epoch, as pandas and trackio's CSV import read it."""
    swept = swept_keys(runs)
    rows = [row for run in runs for row in tidy_rows(run, swept)]
    head = [*TIDY_FIRST, *(SWEPT_PREFIX + k for k in swept), "time", "updates"]
    values = {k for row in rows for k in row} - set(head)
    usual = [c for c in FIRST_COLUMNS if c in values]
    return write_atomic(
        out_dir / "metrics.csv", csv_text(rows, head + usual + sorted(values - set(usual), key=tags.order))
    )


def tidy_rows(run, swept: Sequence[str]) -> list[dict[str, Any]]:
    """step = the epoch (as in TensorBoard), timestamp = its end in ISO 8601 UTC, time = seconds since the run
    began."""
    start, out = tags.run_start(run), []
    fixed = {
        "run": run.run_id,
        "preset": run.status.get("preset", ""),
        "variant": run.status.get("variant", ""),
        **{SWEPT_PREFIX + k: cell(run.config.get(k)) for k in swept},
    }
    for record in run.metrics():
        if tags.epoch_of(record) is None:
            continue
        stamp = datetime.fromtimestamp(tags.wall_time(start, record), timezone.utc).isoformat(
            timespec="milliseconds"
        )
        out.append(
            {
                "step": tags.epoch_of(record),
                "timestamp": stamp,
                **fixed,
                "time": tags.elapsed(record),
                **tags.values(record),
            }
        )
    return out


def swept_keys(runs: Sequence[Any]) -> list[str]:
    """The config keys whose values differ between `runs`, in config order."""
    keys = list(dict.fromkeys(k for run in runs for k in run.config))
    return [k for k in keys if len({json.dumps(run.config.get(k), sort_keys=True) for run in runs}) > 1]


def cell(value: Any) -> Any:
    """A config value for a CSV cell: lists and dicts as JSON text."""
    return json.dumps(value) if isinstance(value, (list, dict)) else value


def write_confusion_csv(run, out_dir: Path) -> Path:
    _, m = confusion_of(run.summary, run.snapshots())
    return write_atomic(out_dir / f"{run.run_id}-confusion.csv", confusion_csv(m))


def run_json(run) -> dict[str, Any]:
    return {
        **_run_fields(run),
        "status": run.state,
        "config": run.config,
        "summary": run.summary,
        "metrics": run.metrics(),
    }


def write_json(run, out_dir: Path) -> Path:
    text = json.dumps(clean(run_json(run)), allow_nan=False, indent=1)
    return write_atomic(out_dir / f"{run.run_id}.json", text + "\n")


# -- the whole export ------------------------------------------------------------------------
def export_runs(
    run_infos: Sequence[Any],
    out_dir: Path,
    formats: Iterable[str] = DEFAULT_FORMATS,
    *,
    tidy: bool = False,
    smooth: float = 0.0,
    x: str = "epoch",
) -> list[Path]:
    """Write the runs' files into `out_dir` (created if needed); return the paths written."""
    formats = parse_formats(formats)
    smooth, x = check_alpha(smooth), check_x(x)
    if "tensorboard" in formats:
        from .tensorboard import tbx

        tbx()  # not installed: one line, before anything is written
    out_dir = check_out_dir(Path(out_dir))
    written: list[Path] = []
    if "csv" in formats:
        written += (
            [write_tidy_csv(run_infos, out_dir)] if tidy else [write_csv(r, out_dir) for r in run_infos]
        )
        written += [
            write_confusion_csv(r, out_dir) for r in run_infos if confusion_of(r.summary, r.snapshots())[1]
        ]
    if "json" in formats:
        written += [write_json(r, out_dir) for r in run_infos]
    for fmt in (f for f in formats if f in FIGURE_FORMATS):
        written += _write_figures(run_infos, out_dir, fmt, x, smooth)
    if "tensorboard" in formats:
        from .tensorboard import export_runs as export_events

        written += export_events(run_infos, out_dir)
    return written


def run_figures(run, x: str = "epoch", smooth: float = 0.0) -> dict[str, Any]:
    """name -> figure for one run (those it has data for): loss, accuracy, then each probe's figure named by
    core.spec.probes (function, sharpness, confusion), under its view's name."""
    if run.status.get("kind") == "lrfind":  # a range test: loss against lr, not against epochs
        fig = lrfind_figure(run)
        return {"lrfind": fig} if fig is not None else {}
    figs = {"loss": loss_figure(run, x, smooth), "accuracy": accuracy_figure(run, x, smooth)}
    for probe in PROBES.values():
        if probe.figure and probe.view not in figs:
            mod, fn = probe.figure.split(":")
            figs[probe.view] = getattr(importlib.import_module(mod), fn)(run, x)
    return {k: f for k, f in figs.items() if f is not None}


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
