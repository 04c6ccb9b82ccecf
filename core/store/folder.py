"""The run store: every run gets `runs/<id>/` with config.json, metrics.jsonl, status.json, summary.json.

config/status/summary are written atomically (core/store/atomic.py); metrics.jsonl is appended and
flushed once per epoch. Everything is read back through core/store/files.py as untrusted input: a damaged
run is listed as `damaged` and never hides the others. One process owns a run (core/store/lock.py). All
JSON is strict: a non-finite number is written as null. No torch here.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import re
import secrets
import shutil
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..rules.errors import BadInput
from ..rules.numbers import is_whole
from ..rules.status import ENDED, RESUMABLE, RunStatus
from . import lock as runlock
from .atomic import overwrite, write_atomic
from .files import Damaged, read_config, read_records, read_status, read_summary
from .safeopen import kind_problem, limit_of

ID_MAX = 150  # the longest id the lab makes (a path's last part may have 255 bytes)
PRESET_MIN = 24  # a cut preset keeps this much of its name at least
RUN_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.=,+-]{0,150}$")
DISK_FULL = (errno.ENOSPC, errno.EDQUOT)
NO_SPACE = "no space left on device"  # a run failed for this can be resumed once there is room
# Another host's run counts as alive while its heartbeat (written every second or so) is younger than this.
FOREIGN_HEARTBEAT_S = 120


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


def record_line(record: dict[str, Any]) -> str:
    """`dumps` of a metrics record (its keys are names): as one json call where every number is finite (the
    common case, about twice as fast), else through `clean`."""
    try:
        return json.dumps(record, allow_nan=False, separators=(",", ":"))
    except (ValueError, TypeError):
        return dumps(record)


def write_json_atomic(path: Path, value: Any) -> None:
    write_atomic(path, json.dumps(clean(value), allow_nan=False, indent=1))


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """Every complete, well-formed record of a JSONL file (see files.read_records)."""
    return read_records(path)


def truncate_jsonl(path: Path, epoch: int) -> list[dict[str, Any]]:
    """Keep only the complete lines with `epoch` <= the given one (atomically); returns them. The whole file
    is read, past its kind's bound for a listing too: a resume drops no line it keeps."""
    kept = [r for r in read_records(path, (1 << 62, limit_of(path)[1]), None) if r["epoch"] <= epoch]
    if path.exists():
        write_atomic(path, "".join(dumps(r) + "\n" for r in kept))
    return kept


def check_resumable(run: RunInfo) -> None:
    """Raise BadInput unless the run is interrupted or crashed (a running one is still going)."""
    state = run.state
    if state in RESUMABLE or state == RunStatus.FAILED and run.status.get("resumable") is True:
        return
    if state == RunStatus.DAMAGED:
        raise BadInput(
            f"run {run.run_id} is damaged ({run.problem}), so it cannot be resumed; "
            f"start it again with `dltui run PRESET`"
        )
    if state == RunStatus.RUNNING:
        raise BadInput(
            f"run {run.run_id} is still running (pid {run.status.get('pid')} on {run.status.get('host')}); "
            f"stop it first (Ctrl-C in its terminal) or wait for it"
        )
    raise BadInput(
        f"run {run.run_id} is {state}, so there is nothing to resume: "
        "only interrupted or crashed runs can be resumed; "
        f"start a new one with `dltui run {run.status.get('preset') or 'PRESET'}`"
    )


def _inside(path: Path, root: Path) -> bool:
    """Whether `path` is a run folder of `root` itself: not a link (in or out), not elsewhere."""
    return not path.is_symlink() and path.resolve().parent == root.resolve()


def disk_full(e: BaseException) -> bool:
    return isinstance(e, OSError) and e.errno in DISK_FULL


def safe_part(text: str) -> str:
    """A piece of a run id: only letters, digits and -_.=,+ survive."""
    return re.sub(r"[^A-Za-z0-9_.=,+-]+", "_", text).strip("._-") or "run"


def id_parts(preset: str, variant: str, room: int) -> tuple[str, str]:
    """The preset's and the variant's parts of an id cut to `room` characters together: the preset is cut
    first, to PRESET_MIN, then the variant (each cut one loses its trailing separators)."""
    if len(preset) + len(variant) <= room:
        return preset, variant
    preset = preset[: max(PRESET_MIN, room - len(variant))]
    variant = variant[: room - len(preset)]
    return preset.rstrip("._-") or "run", variant.rstrip("._-") or "run"


def validate_run_id(run_id: str) -> str:
    if not RUN_ID_RE.match(run_id) or ".." in run_id:
        raise BadInput(
            f"run id '{run_id}' is not valid: ids are made by the lab "
            "(letters, digits, -_.=,+; no '/' or '..'); see `dltui runs`"
        )
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
    """The boot and start time of process `pid` (Linux), to tell it from a later process given the same
    pid."""
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
    problem: str = ""  # what is wrong with its files, if anything: then its state is `damaged`

    @property
    def state(self) -> RunStatus:
        """The status, with a `running` run whose process is gone read as `crashed`, a damaged one (or one
        whose status is none the lab writes) as `damaged`."""
        s = RunStatus.of(self.status.get("status"))
        if self.problem or s is None:
            return RunStatus.DAMAGED
        if s == RunStatus.RUNNING and not self._alive():
            return RunStatus.CRASHED
        return s

    def _alive(self) -> bool:
        pid, host = self.status.get("pid"), self.status.get("host")
        if host and host != socket.gethostname():
            # Another machine's run: trust a recent heartbeat only.
            beat = self.status.get("heartbeat") or 0
            return time.time() - beat < FOREIGN_HEARTBEAT_S
        if not (is_whole(pid) and pid_alive(pid)):
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
                f"runs dir {self.root}: cannot write there ({e.strerror or e}); "
                "pick another with --runs-dir DIR or DLTUI_RUNS_DIR"
            ) from None

    def new_id(self, preset: str, variant: str) -> str:
        """`STAMP-PRESET-VARIANT-RAND`, at most ID_MAX characters: long names are cut (the preset's first),
        never the stamp, the variant's start or the random suffix."""
        now = (
            time.time()
        )  # to the millisecond: ids sort by time, so a listing needs no reads (core/store/index.py)
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now)) + f"-{int(now * 1000) % 1000:03d}"
        preset, variant = id_parts(safe_part(preset), safe_part(variant), ID_MAX - len(stamp) - 7)
        return f"{stamp}-{preset}-{variant}-{secrets.token_hex(2)}"

    def create(
        self, preset: str, variant: str, config: dict[str, Any], run_id: str | None = None
    ) -> RunWriter:
        run_id = validate_run_id(run_id or self.new_id(preset, variant))
        path = self.root / run_id
        path.mkdir(parents=True, exist_ok=False)
        writer = None
        try:
            writer = RunWriter(path, run_id, preset, variant, runlock.acquire(path, run_id))
            write_json_atomic(path / "config.json", config)
            writer.set_status(RunStatus.RUNNING)
        except BaseException:  # a full disk, say: leave no half-made run behind
            if writer is not None:
                writer.close()
            shutil.rmtree(path, ignore_errors=True)
            raise
        return writer

    def claim(self, run_id: str) -> RunInfo:
        """Lock a run for this process (to resume it), then read its state, which nobody else can change
        now."""
        run = self.get(run_id)
        runlock.acquire(run.path, run.run_id, "resumed")
        return self._info(run.path)

    def path_of(self, run_id: str) -> Path:
        """The folder of a run, resolved inside the runs dir (never outside it)."""
        validate_run_id(run_id)
        path = self.root / run_id
        if not _inside(path, self.root):
            raise BadInput(
                f"run '{run_id}' in {self.root} is a link out of the runs dir, which the lab never follows"
            )
        return path.resolve()

    def get(self, run_id: str) -> RunInfo:
        """A run by id, by unique prefix, or `latest`."""
        if run_id in ("latest", "last"):
            run_id = latest(self.root) or ""
            if not run_id:
                raise BadInput(f"no runs in {self.root}; start one with `dltui run polynomial`")
        path = self.path_of(run_id)
        if not path.is_dir():
            matches = [self._info(self.root / r) for r in run_ids(self.root) if r.startswith(run_id)]
            if len(matches) == 1:
                return matches[0]
            if len(matches) > 1:
                raise BadInput(
                    f"run '{run_id}' is ambiguous: {len(matches)} runs start with it; "
                    "give more of the id (see `dltui runs`)"
                )
            raise BadInput(
                f"no run '{run_id}' in {self.root}; see `dltui runs` for the ids (or pass --runs-dir)"
            )
        return self._info(path)

    def _info(self, path: Path) -> RunInfo:
        """A run's files through the typed reader; a damaged one says what is wrong instead of raising."""
        found: dict[str, dict[str, Any]] = {}
        problem = ""
        for name, read in (("status", read_status), ("config", read_config), ("summary", read_summary)):
            try:
                found[name] = read(path / f"{name}.json") or {}
            except Damaged as e:
                found[name], problem = {}, problem or str(e)
        if not found["status"] and not problem:
            problem = "status.json is missing"
        for name in ("metrics.jsonl", "snapshots.jsonl"):  # a FIFO or a link there is refused by every reader
            problem = problem or kind_problem(path / name)
        return RunInfo(path.name, path, found["status"], found["config"], found["summary"], problem)

    def list(self) -> list[RunInfo]:
        """All runs, oldest first (damaged ones too, as `damaged`); links out of the runs dir are never
        followed."""
        if not self.root.is_dir():
            return []
        out = [
            self._info(p)
            for p in self.root.iterdir()
            if RUN_ID_RE.match(p.name)
            and _inside(p, self.root)
            and p.is_dir()
            and (p / "status.json").exists()
        ]
        return sorted(out, key=lambda r: (r.status.get("started") or 0, r.run_id))

    def __iter__(self) -> Iterator[RunInfo]:
        return iter(self.list())

    def reopen(self, run: RunInfo, epoch: int) -> tuple[RunWriter, list[dict[str, Any]]]:
        """Take an interrupted or crashed run up again from `epoch`: drop later lines, mark it running.

        Returns the writer and the metrics records kept (epochs 1..epoch).
        """
        lock = runlock.acquire(run.path, run.run_id, "resumed")  # already held if the run was claimed
        check_resumable(run)
        kept = truncate_jsonl(run.path / "metrics.jsonl", epoch)
        truncate_jsonl(run.path / "snapshots.jsonl", epoch)
        writer = RunWriter(
            run.path, run.run_id, run.status.get("preset", ""), run.status.get("variant", ""), lock
        )
        writer.status.update(
            started=run.status.get("started", writer.status["started"]),
            epoch=epoch,
            resumed=int(run.status.get("resumed", 0)) + 1,
        )
        writer.set_status(RunStatus.RUNNING)
        return writer, kept


class RunWriter:
    """Writes one run's files as it goes. Ended statuses are never overwritten."""

    HEARTBEAT_S = 1.0

    def __init__(
        self, path: Path, run_id: str, preset: str, variant: str, lock: runlock.RunLock | None = None
    ):
        self.path = path
        self.lock = lock  # released when the run's files are closed
        self.unsaved = ""  # what a full disk kept from being written (then the run cannot end as finished)
        self.run_id = run_id
        self.status: dict[str, Any] = {
            "run_id": run_id,
            "preset": preset,
            "variant": variant,
            "status": RunStatus.RUNNING.value,
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

    def set_status(self, status: RunStatus | str, reason: str = "", **extra: Any) -> None:
        if self.ended:
            return
        status = str(status)  # a member's text: status.json and the dict read back hold plain text
        if status in ENDED and self.unsaved and status != RunStatus.FAILED:
            status, reason = RunStatus.FAILED.value, self.unsaved
        if status == RunStatus.FAILED and reason.startswith(NO_SPACE):
            extra["resumable"] = True
        new = {**self.status, "status": status, "heartbeat": time.time(), **extra}
        if reason:
            new["reason"] = reason
        if status in ENDED:
            new["ended"] = time.time()
        self._write_status(new)
        self.status = new  # only once it is on disk: a write cut short by a second Ctrl-C is done again
        self._last_beat = time.time()  # every status write is a heartbeat: the next is due HEARTBEAT_S on

    def _write_status(self, new: dict[str, Any]) -> None:
        path = self.path / "status.json"
        try:
            write_json_atomic(path, new)
        except OSError as e:
            if not (disk_full(e) and new["status"] in ENDED):
                raise
            overwrite(path, dumps(new))  # no room for a new file: the old status's own blocks take the ending

    def append_metrics(self, record: dict[str, Any]) -> None:
        if self._metrics is None:
            self._metrics = open(self.path / "metrics.jsonl", "a", encoding="utf-8")
        self._metrics.write(record_line(record) + "\n")
        self._metrics.flush()
        self.status["epoch"] = record.get("epoch", self.status["epoch"])
        self.beat()

    def beat(self) -> None:
        """Refresh the heartbeat in status.json, at most once every HEARTBEAT_S."""
        now = time.time()
        if now - self._last_beat >= self.HEARTBEAT_S:
            self._last_beat = now
            self.set_status(RunStatus.RUNNING)

    def append_snapshot(self, record: dict[str, Any]) -> None:
        if self._snapshots is None:
            self._snapshots = open(self.path / "snapshots.jsonl", "a", encoding="utf-8")
        self._snapshots.write(dumps(record) + "\n")
        self._snapshots.flush()

    def write_summary(self, summary: dict[str, Any]) -> None:
        """Write summary.json; on a full disk, note it (the status then says so) rather than lose the
        ending."""
        try:
            write_json_atomic(self.path / "summary.json", summary)
        except OSError as e:
            if not disk_full(e):
                raise
            self.unsaved = (
                f"{NO_SPACE} (summary.json not written); "
                f"free some space, then `dltui run --resume {self.run_id}`"
            )

    def close(self) -> None:
        for f in (self._metrics, self._snapshots):
            if f is not None:
                with contextlib.suppress(OSError):  # a line a full disk kept back: readers skip the torn end
                    f.close()
        self._metrics = self._snapshots = None
        if self.lock is not None:
            self.lock.release()


def run_ids(root: Path) -> list[str]:
    """The names of the run folders in `root`, newest first (no file is read)."""
    try:
        with os.scandir(root) as it:
            names = [e.name for e in it if RUN_ID_RE.match(e.name) and e.is_dir(follow_symlinks=False)]
    except OSError:
        return []
    return sorted(names, reverse=True)


def status_stamp(run_dir: str) -> list[int] | None:
    """status.json's [mtime in ns, size]: what tells a cached row from a changed run (None: no status yet)."""
    try:
        st = os.stat(os.path.join(run_dir, "status.json"))
    except OSError:
        return None
    return [st.st_mtime_ns, st.st_size]


def latest(root: Path | str) -> str | None:
    """The newest run's id (by its name: ids begin with their time), or None when there is none."""
    root = Path(root)
    return next((r for r in run_ids(root) if status_stamp(os.path.join(root, r)) is not None), None)
