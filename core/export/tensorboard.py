"""TensorBoard event files for runs: exported from the run store, or written live beside it.

One folder per run, named by its run id, holding one event file (a live run that was resumed gets
a second one, which starts with a restart marker at the resumed epoch: TensorBoard reads the files in
order and drops the first file's epochs from there on, which the resume does again):

- a scalar for every value in metrics.jsonl (core/export/tags.py names them: `test_loss`,
  `grad_norm/layer1`, `updates`), with the epoch as the step and the run's start plus the record's
  `time` as the wall time; TensorBoard keeps scalars as 32-bit floats;
- the config (plus `preset` and `variant`) as the HParams plugin's session start info, the end
  status as its session end info, and the summary's final and best figures as `summary/...`
  scalars at the last epoch, so the HParams view compares runs on their final metrics. No
  experiment summary is written: TensorBoard then builds one from all the runs it finds;
- the preset's snapshot figure (the polynomial's learned vs target function) as a PNG image.

The export and the live sink go through the same `RunEvents`, so they write the same events.
tensorboardX is an optional extra, imported only here and only when asked for; it is used for its
protobufs and its record writer (written synchronously: no thread, no queue). No torch here.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from ..rules.errors import BadInput
from ..rules.status import RunStatus
from ..train.events import EpochEnded, RunEnded, RunStarted
from . import tags

ENV = "DLTUI_TENSORBOARD_DIR"
INSTALL = "pip install 'dltui[tensorboard]'"
STATUS = {
    "finished": "STATUS_SUCCESS",
    "diverged": "STATUS_FAILURE",
    "failed": "STATUS_FAILURE",
    "interrupted": "STATUS_ABORTED",
    "crashed": "STATUS_ABORTED",
}
SUMMARY_KEYS = (
    "best_epoch",
    "n_params",
    "duration_s",
    "steps_per_s",
)  # besides every final_* and best_* number
FLUSH_S = 1.0  # a live file is flushed at most this often (and at the run's end): epochs can be milliseconds
FIGURE_TAG = "figures/function"


def tbx() -> SimpleNamespace:
    """tensorboardX's protobufs and record writer, or BadInput saying how to install it."""
    try:
        with _torch_hidden():
            from tensorboardX.proto import api_pb2, event_pb2, plugin_hparams_pb2, summary_pb2
            from tensorboardX.record_writer import RecordWriter
    except ImportError:
        raise BadInput(
            f"TensorBoard files need the tensorboardX package, which is not installed; "
            f"install it with `{INSTALL}` (or `pip install tensorboardX`)"
        ) from None
    return SimpleNamespace(
        api=api_pb2,
        event=event_pb2,
        hparams=plugin_hparams_pb2,
        summary=summary_pb2,
        RecordWriter=RecordWriter,
    )


@contextlib.contextmanager
def _torch_hidden():
    """tensorboardX's package imports torch, when installed, for its SummaryWriter (not used here): seconds
    that `dltui export` (torch-free) would spend for nothing. Unless torch is loaded already, it looks absent
    meanwhile."""
    if "torch" in sys.modules:
        yield
        return
    sys.modules["torch"] = None  # type: ignore[assignment]  # `import torch` raises ImportError
    try:
        yield
    finally:
        del sys.modules["torch"]


class EventFile:
    """One event file in `folder`, written record by record (TFRecord framing, by tensorboardX)."""

    def __init__(self, folder: Path, created: float):
        self.pb = tbx()
        folder.mkdir(parents=True, exist_ok=True)
        self.path = _new_name(folder, created)
        self.records = self.pb.RecordWriter(str(self.path))
        self.write(self.pb.event.Event(wall_time=created, file_version="brain.Event:2"))

    def write(self, event) -> None:
        self.records.write(event.SerializeToString())

    def summary(self, step: int, wall: float, values: list) -> None:
        self.write(
            self.pb.event.Event(wall_time=wall, step=step, summary=self.pb.summary.Summary(value=values))
        )

    def scalars(self, step: int, wall: float, values: dict[str, float]) -> None:
        Value = self.pb.summary.Summary.Value
        self.summary(step, wall, [Value(tag=k, simple_value=v) for k, v in values.items()])

    def png(self, step: int, wall: float, tag: str, data: bytes) -> None:
        width, height = (
            int.from_bytes(data[16:20], "big"),
            int.from_bytes(data[20:24], "big"),
        )  # the IHDR chunk
        image = self.pb.summary.Summary.Image(
            height=height, width=width, colorspace=4, encoded_image_string=data
        )
        self.summary(step, wall, [self.pb.summary.Summary.Value(tag=tag, image=image)])

    def hparams(self, wall: float, tag: str, data) -> None:
        """One HParams plugin record (session start or end info) under its tag."""
        content = self.pb.hparams.HParamsPluginData(version=0, **data).SerializeToString()
        meta = self.pb.summary.SummaryMetadata(
            plugin_data=self.pb.summary.SummaryMetadata.PluginData(plugin_name="hparams", content=content)
        )
        self.summary(0, wall, [self.pb.summary.Summary.Value(tag=tag, metadata=meta)])

    def flush(self) -> None:
        self.records.flush()

    def close(self) -> None:
        self.records.flush()
        self.records.close()


def _new_name(folder: Path, created: float) -> Path:
    """A file name no file in `folder` has yet, as TensorFlow names them: TensorBoard reads a folder's files
    in name order, so the creation time comes first (a resumed run's second file sorts last), then host,
    process, a count."""
    names = (
        folder / f"events.out.tfevents.{int(created):010d}.{socket.gethostname()}.{os.getpid()}.{n}.dltui"
        for n in itertools.count()
    )
    return next(p for p in names if not p.exists())


def hparam_values(config: dict[str, Any], preset: str, variant: str) -> dict[str, Any]:
    """The config as HParams values: numbers, strings and bools as they are, lists as JSON text, None left
    out."""
    out: dict[str, Any] = {"preset": preset, "variant": variant}
    for k, v in config.items():
        if isinstance(v, (list, dict)):
            out[str(k)] = json.dumps(v, separators=(", ", ": "))
        elif isinstance(v, (str, bool)) or tags.number(v) is not None:
            out[str(k)] = v
    return out


def summary_values(summary: dict[str, Any]) -> dict[str, float]:
    """summary/<key> -> value for the summary's final and best figures (what the HParams view compares)."""
    keys = [k for k in summary if k in SUMMARY_KEYS or k.startswith(("final_", "best_"))]
    return {f"summary/{k}": x for k in keys if (x := tags.number(summary[k])) is not None}


class RunEvents:
    """One run told to TensorBoard: started, each epoch, ended. The export replays a run through it."""

    def __init__(self, folder: Path, start: float, created: float | None = None):
        self.file = EventFile(folder, start if created is None else created)
        self.start = start
        self.last_epoch = 0
        self.flushed = time.monotonic()

    def started(self, config: dict[str, Any], preset: str, variant: str, first_epoch: int = 1) -> None:
        """The hparams; and a restart at `first_epoch`, so TensorBoard drops what an earlier file holds from
        there on."""
        pb = self.file.pb
        self.file.write(
            pb.event.Event(
                wall_time=self.start,
                step=first_epoch,
                session_log=pb.event.SessionLog(status=pb.event.SessionLog.START),
            )
        )
        info = pb.hparams.SessionStartInfo(
            start_time_secs=self.start
        )  # no group name: each run is its own group
        for k, v in hparam_values(config, preset, variant).items():
            field = (
                "string_value"
                if isinstance(v, str)
                else "bool_value"
                if isinstance(v, bool)
                else "number_value"
            )
            setattr(info.hparams[k], field, v)
        self.file.hparams(self.start, "_hparams_/session_start_info", {"session_start_info": info})

    def epoch(self, record: dict[str, Any], live: bool = False) -> None:
        epoch = tags.epoch_of(record)
        if epoch is None:
            return
        self.last_epoch = epoch
        self.file.scalars(epoch, tags.wall_time(self.start, record), tags.values(record))
        if live and time.monotonic() - self.flushed >= FLUSH_S:
            self.file.flush()
            self.flushed = time.monotonic()

    def ended(self, status: str, summary: dict[str, Any], end: float, images: dict[str, bytes]) -> None:
        finals = summary_values(summary)
        if finals:
            self.file.scalars(self.last_epoch, end, finals)
        for tag, data in images.items():
            self.file.png(self.last_epoch, end, tag, data)
        if status in STATUS:
            pb = self.file.pb
            info = pb.hparams.SessionEndInfo(status=pb.api.Status.Value(STATUS[status]), end_time_secs=end)
            self.file.hparams(end, "_hparams_/session_end_info", {"session_end_info": info})

    def close(self) -> None:
        self.file.close()


def snapshot_images(run) -> dict[str, bytes]:
    """The preset's snapshot figure as PNG (the polynomial's learned function), drawn as `dltui export` draws
    it."""
    from .figures import figure_bytes
    from .probefigures import function_figure

    fig = function_figure(run)
    return {} if fig is None else {FIGURE_TAG: figure_bytes(fig, "png")}


def end_time(run, start: float, records: Sequence[dict[str, Any]]) -> float:
    ended = tags.number(run.status.get("ended"))
    return ended if ended is not None else (tags.wall_time(start, records[-1]) if records else start)


# -- export ----------------------------------------------------------------------------------
def export_run(run, out_dir: Path) -> Path:
    """Write `run`'s event file into out_dir/<run_id>/ (its earlier event files there are replaced); return
    it."""
    tmp = out_dir / f".{run.run_id}.{os.getpid()}.tmp"
    start, records = tags.run_start(run), run.metrics()
    try:
        events = RunEvents(tmp, start)
        events.started(run.config, run.status.get("preset", ""), run.status.get("variant", ""))
        for r in records:
            events.epoch(r)
        if run.state != RunStatus.RUNNING:
            events.ended(run.state, run.summary, end_time(run, start, records), snapshot_images(run))
        events.close()
        return _replace_events(events.file.path, out_dir / run.run_id)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # this export's own temp folder


def _replace_events(new: Path, folder: Path) -> Path:
    """Move the finished file `new` into `folder` in place of the event files an earlier export left there."""
    folder.mkdir(exist_ok=True)
    for old in folder.glob("events.out.tfevents.*"):
        old.unlink()
    os.replace(new, folder / new.name)
    return folder / new.name


def export_runs(runs: Sequence[Any], out_dir: Path) -> list[Path]:
    tbx()  # missing: one line, before any file is written
    return [export_run(r, out_dir) for r in runs]


# -- live, beside the run store --------------------------------------------------------------
def live_dir(given: Path | None = None) -> Path | None:
    """Check `--tensorboard DIR` (or DLTUI_TENSORBOARD_DIR) before any run starts; return it, absolute, or
    None.

    Nothing is left behind by the check: the folder is made when the first run writes to it. The
    choice is put in the environment, which is how the training processes (spawned by --jobs and by
    the lab) learn it.
    """
    where = f"--tensorboard {given}" if given is not None else f"{ENV}={os.environ.get(ENV, '')}"
    folder = given if given is not None else (Path(os.environ[ENV]) if os.environ.get(ENV) else None)
    if folder is None:
        return None
    tbx()
    folder = folder.expanduser().absolute()
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".dltui-write-test-", dir=existing))
    except OSError as e:
        raise BadInput(
            f"{where}: cannot write there ({existing}: {e.strerror or e}); pick a folder you can write to"
        ) from None
    os.environ[ENV] = str(folder)
    return folder


class TensorBoardSink:
    """A listener beside the run store's: the same run's events as TensorBoard files in root/<run_id>/.

    It only sees epoch-level events (no host sync per step). A TensorBoard file that cannot be
    written never fails the run: the sink says so once on stderr and stops; the run store stays
    whole, and `dltui export --format tensorboard` writes the files again from it.
    """

    def __init__(self, root: Path, writer):
        self.root = root
        self.writer = writer  # the run store's writer: its run id, folder and start time
        self.events: RunEvents | None = None
        self.broken = False

    def __call__(self, event) -> None:
        if self.broken:
            return
        try:
            self._handle(event)
        except Exception as e:  # noqa: BLE001 - a mirror must never fail the run it mirrors
            self.broken = True
            print(f"warning: TensorBoard files for {self.writer.run_id} stopped: {e}", file=sys.stderr)
            self._close_quietly()

    def _close_quietly(self) -> None:
        try:
            if self.events is not None:
                self.events.close()
        except Exception:  # noqa: BLE001 - already broken and said so
            pass
        self.events = None

    def _handle(self, event) -> None:
        w = self.writer
        if isinstance(event, RunStarted):
            start = tags.number(w.status.get("started")) or time.time()
            self.events = RunEvents(self.root / w.run_id, start, created=time.time())
            resumed_after = (
                w.status.get("epoch") if isinstance(w.status.get("epoch"), int) else 0
            )  # the checkpoint's epoch
            self.events.started(event.config, event.preset, event.variant, first_epoch=resumed_after + 1)
        elif self.events is None:
            return
        elif isinstance(event, EpochEnded):
            self.events.epoch(event.record, live=True)
        elif isinstance(event, RunEnded):
            from ..store.folder import RunStore

            run = RunStore(w.path.parent).get(
                w.run_id
            )  # as the store holds it now: its end time, its snapshots
            self.events.ended(
                event.status, event.summary, end_time(run, self.events.start, []), snapshot_images(run)
            )
            self.events.close()
            self.events = None


def sinks(writer) -> list:
    """[a TensorBoardSink] when DLTUI_TENSORBOARD_DIR is set (by --tensorboard, or by the user for the lab),
    else []."""
    root = os.environ.get(ENV)
    return [TensorBoardSink(Path(root), writer)] if root else []
