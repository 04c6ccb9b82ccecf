"""The run store: every run gets `runs/<id>/` with config.json, metrics.jsonl, status.json, summary.json.

config/status/summary are written atomically (temp file + rename); metrics.jsonl is appended and
flushed once per epoch, and readers skip a cut-off last line. All JSON is strict: a non-finite
number is written as null. No torch here.
"""
from __future__ import annotations

import json
import math
import os
import re
import secrets
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from .errors import BadInput

ENDED = ("finished", "diverged", "failed", "interrupted")
RESUMABLE = ("interrupted", "crashed")
RUN_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.=,+-]{0,150}$")


def default_runs_dir() -> Path:
    return Path(os.environ.get("DLTUI_RUNS_DIR") or "runs")


def clean(value: Any) -> Any:
    """Make a value strict-JSON-safe: non-finite floats become None, tuples lists."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    return value


def dumps(value: Any) -> str:
    return json.dumps(clean(value), allow_nan=False, separators=(",", ":"))


def write_json_atomic(path: Path, value: Any) -> None:
    """Write JSON to a temp file in the same folder, fsync it, and rename it over `path`."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(json.dumps(clean(value), allow_nan=False, indent=1))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Every complete line of a JSONL file; a cut-off or garbled line (from a crash) is skipped."""
    out = []
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if not line.endswith("\n"):
                    break
                try:
                    out.append(json.loads(line))
                except ValueError:
                    continue
    except OSError:
        pass
    return out


def truncate_jsonl(path: Path, epoch: int) -> list[dict[str, Any]]:
    """Keep only the complete lines with `epoch` <= the given one (atomically); returns them."""
    kept = [r for r in read_jsonl(path) if isinstance(r.get("epoch"), int) and r["epoch"] <= epoch]
    if path.exists():
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            f.writelines(dumps(r) + "\n" for r in kept)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    return kept


def check_resumable(run: "RunInfo") -> None:
    """Raise BadInput unless the run is interrupted or crashed (a running one is still going)."""
    state = run.state
    if state in RESUMABLE:
        return
    if state == "running":
        raise BadInput(f"run {run.run_id} is still running (pid {run.status.get('pid')} on {run.status.get('host')}); "
                       f"stop it first (Ctrl-C in its terminal) or wait for it")
    raise BadInput(f"run {run.run_id} is {state}, so there is nothing to resume: only interrupted or crashed runs can be "
                   f"resumed; start a new one with `dltui run {run.status.get('preset') or 'PRESET'}`")


def safe_part(text: str) -> str:
    """A piece of a run id: only letters, digits and -_.=,+ survive."""
    return re.sub(r"[^A-Za-z0-9_.=,+-]+", "_", text).strip("._-") or "run"


def validate_run_id(run_id: str) -> str:
    if not RUN_ID_RE.match(run_id) or ".." in run_id:
        raise BadInput(f"run id '{run_id}' is not valid: ids are made by the lab (letters, digits, -_.=,+; no '/' or '..'); see `dltui runs`")
    return run_id


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def process_stamp(pid: int) -> str | None:
    """The boot and start time of process `pid` (Linux), to tell it from a later process given the same pid."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        start = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None
    return f"{boot}:{start}"


@dataclass
class RunInfo:
    """What `dltui runs` and the past-runs screen show of one run."""

    run_id: str
    path: Path
    status: dict[str, Any]
    config: dict[str, Any]
    summary: dict[str, Any]

    @property
    def state(self) -> str:
        """The status, with a `running` run whose process is gone read as `crashed`."""
        s = self.status.get("status", "unknown")
        if s == "running" and not self._alive():
            return "crashed"
        return s

    def _alive(self) -> bool:
        pid, host = self.status.get("pid"), self.status.get("host")
        if host and host != socket.gethostname():
            # Another machine's run: trust a recent heartbeat only.
            beat = self.status.get("heartbeat") or 0
            return time.time() - beat < 120
        if not (isinstance(pid, int) and pid_alive(pid)):
            return False
        stamp = self.status.get("proc")  # after a reboot or pid reuse, the pid is someone else's
        return stamp is None or process_stamp(pid) in (None, stamp)

    def metrics(self) -> list[dict[str, Any]]:
        return read_jsonl(self.path / "metrics.jsonl")

    def snapshots(self) -> list[dict[str, Any]]:
        return read_jsonl(self.path / "snapshots.jsonl")


class RunStore:
    """A folder of runs."""

    def __init__(self, root: Path | str | None = None):
        self.root = Path(root) if root is not None else default_runs_dir()

    def check_writable(self) -> None:
        """Raise BadInput (before any run starts) if runs cannot be written here."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe = self.root / f".write-test-{os.getpid()}"
            probe.write_text("ok")
            probe.unlink()
        except OSError as e:
            raise BadInput(
                f"runs dir {self.root}: cannot write there ({e.strerror or e}); pick another with --runs-dir DIR or DLTUI_RUNS_DIR"
            ) from None

    def new_id(self, preset: str, variant: str) -> str:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        return f"{stamp}-{safe_part(preset)}-{safe_part(variant)}-{secrets.token_hex(2)}"[:150]

    def create(self, preset: str, variant: str, config: dict[str, Any], run_id: str | None = None) -> "RunWriter":
        run_id = validate_run_id(run_id or self.new_id(preset, variant))
        path = self.root / run_id
        path.mkdir(parents=True, exist_ok=False)
        writer = RunWriter(path, run_id, preset, variant)
        write_json_atomic(path / "config.json", config)
        writer.set_status("running")
        return writer

    def path_of(self, run_id: str) -> Path:
        """The folder of a run, resolved inside the runs dir (never outside it)."""
        validate_run_id(run_id)
        path = (self.root / run_id).resolve()
        if path.parent != self.root.resolve():
            raise BadInput(f"run id '{run_id}' is not inside {self.root}")
        return path

    def get(self, run_id: str) -> RunInfo:
        """A run by id, by unique prefix, or `latest`."""
        if run_id in ("latest", "last"):
            runs = self.list()
            if not runs:
                raise BadInput(f"no runs in {self.root}; start one with `dltui run polynomial`")
            return runs[-1]
        path = self.path_of(run_id)
        if not (path / "status.json").exists() and not (path / "config.json").exists():
            matches = [r for r in self.list() if r.run_id.startswith(run_id)]
            if len(matches) == 1:
                return matches[0]
            if len(matches) > 1:
                raise BadInput(f"run '{run_id}' is ambiguous: {len(matches)} runs start with it; give more of the id (see `dltui runs`)")
            raise BadInput(f"no run '{run_id}' in {self.root}; see `dltui runs` for the ids (or pass --runs-dir)")
        return self._info(path)

    def _info(self, path: Path) -> RunInfo:
        return RunInfo(
            path.name,
            path,
            read_json(path / "status.json") or {},
            read_json(path / "config.json") or {},
            read_json(path / "summary.json") or {},
        )

    def list(self) -> list[RunInfo]:
        """All runs, oldest first."""
        if not self.root.is_dir():
            return []
        out = [self._info(p) for p in self.root.iterdir() if p.is_dir() and RUN_ID_RE.match(p.name) and (p / "status.json").exists()]
        return sorted(out, key=lambda r: (r.status.get("started") or 0, r.run_id))

    def __iter__(self) -> Iterator[RunInfo]:
        return iter(self.list())

    def reopen(self, run: RunInfo, epoch: int) -> tuple["RunWriter", list[dict[str, Any]]]:
        """Take an interrupted or crashed run up again from `epoch`: drop later lines, mark it running.

        Returns the writer and the metrics records kept (epochs 1..epoch).
        """
        check_resumable(run)
        kept = truncate_jsonl(run.path / "metrics.jsonl", epoch)
        truncate_jsonl(run.path / "snapshots.jsonl", epoch)
        writer = RunWriter(run.path, run.run_id, run.status.get("preset", ""), run.status.get("variant", ""))
        writer.status.update(started=run.status.get("started", writer.status["started"]), epoch=epoch,
                             resumed=int(run.status.get("resumed", 0)) + 1)
        writer.set_status("running")
        return writer, kept


class RunWriter:
    """Writes one run's files as it goes. Ended statuses are never overwritten."""

    HEARTBEAT_S = 1.0

    def __init__(self, path: Path, run_id: str, preset: str, variant: str):
        self.path = path
        self.run_id = run_id
        self.status: dict[str, Any] = {
            "run_id": run_id,
            "preset": preset,
            "variant": variant,
            "status": "running",
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "proc": process_stamp(os.getpid()),
            "started": time.time(),
            "heartbeat": time.time(),
            "epoch": 0,
        }
        self._metrics = None
        self._snapshots = None
        self._last_beat = 0.0

    @property
    def ended(self) -> bool:
        return self.status["status"] in ENDED

    def set_status(self, status: str, reason: str = "", **extra: Any) -> None:
        if self.ended:
            return
        new = {**self.status, "status": status, "heartbeat": time.time(), **extra}
        if reason:
            new["reason"] = reason
        if status in ENDED:
            new["ended"] = time.time()
        write_json_atomic(self.path / "status.json", new)
        self.status = new  # only once it is on disk: a write cut short by a second Ctrl-C is done again

    def append_metrics(self, record: dict[str, Any]) -> None:
        if self._metrics is None:
            self._metrics = open(self.path / "metrics.jsonl", "a", encoding="utf-8")
        self._metrics.write(dumps(record) + "\n")
        self._metrics.flush()
        self.status["epoch"] = record.get("epoch", self.status["epoch"])
        self.beat()

    def beat(self) -> None:
        """Refresh the heartbeat in status.json, at most once every HEARTBEAT_S."""
        now = time.time()
        if now - self._last_beat >= self.HEARTBEAT_S:
            self._last_beat = now
            self.set_status("running")

    def append_snapshot(self, record: dict[str, Any]) -> None:
        if self._snapshots is None:
            self._snapshots = open(self.path / "snapshots.jsonl", "a", encoding="utf-8")
        self._snapshots.write(dumps(record) + "\n")
        self._snapshots.flush()

    def write_summary(self, summary: dict[str, Any]) -> None:
        write_json_atomic(self.path / "summary.json", summary)

    def close(self) -> None:
        for f in (self._metrics, self._snapshots):
            if f is not None:
                f.close()
        self._metrics = self._snapshots = None
