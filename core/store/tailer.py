"""Following runs that another process writes: new metrics and snapshot lines, and status changes.

A `RunTail` reads a run folder's metrics.jsonl and snapshots.jsonl from the byte offset it reached last
time (nothing is read twice), keeps a cut-off last line until its newline arrives (a line being written
is waited for, not dropped), and looks at status.json every STATUS_S: read again when it changed (then
its config is kept; a running run that has just written it is alive), else, while the run is `running`,
its writer is looked for, so that one that died (kill -9) shows as `crashed` by the store's own rule
(core/store/folder.py's RunInfo.state). A file replaced under it (a resume truncates the metrics atomically)
starts it over from byte 0, and the update says so (`reset`). A run followed for its row only (`full`
off: the past-runs table) costs less: of its new lines only the last is parsed, and snapshots are not read.

A `Watcher` follows many runs in one thread and hands the news over in batches (`take`), so that a UI
thread only ever applies small, ready-made updates. It wakes on inotify events where the kernel has them
(Linux, through ctypes: no new dependency) and otherwise, or besides (NFS shows no remote writes to
inotify), looks every POLL_S. It also watches the runs dir itself, so that a caller looking for runs
started since (a listing of the whole folder) can skip the look while nothing was added there
(`runs_dir_changed`); on a network filesystem, where other machines' new runs make no event, it never skips.

Watching never writes: no lock is taken, no file in a run folder is created or changed. No torch, no textual.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import select
import stat
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .files import Damaged, parse_record, read_status, read_summary
from .folder import RunInfo, RunStore

POLL_S = 0.25  # without inotify (or on NFS): 4 looks a second
MIN_GAP_S = 0.25  # inotify wakes at once, but busy writers are read at most 4 times a second
STATUS_S = 1.0  # a run's status is looked at this often (its writer's heartbeat is written once a second)
CHUNK = 4 << 20  # the most bytes read from one file in one look (a long backlog comes in pieces)
TAIL_BYTES = (
    64 << 10
)  # where only the last line is wanted, a longer backlog is skipped to its last this many bytes
ADDED_RECENTLY_S = 5.0  # the runs dir counts as changed this long after an event there (a new run's files come after its folder)
NETWORK_FS = frozenset(
    {"nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "ceph", "glusterfs", "lustre", "gpfs", "afs", "beegfs"}
)


@dataclass
class Update:
    """What is new in one run since the last look."""

    run_id: str
    records: list[dict[str, Any]] = field(default_factory=list)
    snapshots: list[dict[str, Any]] = field(default_factory=list)
    info: RunInfo | None = None  # set when its status (or summary) changed
    state: str = (
        ""  # then, info.state as the watcher found it (the property looks at /proc: not on a UI thread)
    )
    reset: bool = (
        False  # `records` and `snapshots` start from the files' top (a first look, or files replaced)
    )
    rows_only: bool = (
        False  # from a run followed for its table row: `records` is its last record, not its curve
    )

    def merge(self, later: Update) -> None:
        if later.reset:
            self.records, self.snapshots, self.reset = [], [], True
            self.rows_only = later.rows_only
        else:
            self.rows_only = self.rows_only or later.rows_only
        self.records += later.records
        self.snapshots += later.snapshots
        if later.info is not None:
            self.info, self.state = later.info, later.state

    @property
    def empty(self) -> bool:
        return not (self.records or self.snapshots or self.info or self.reset)


class LineTail:
    """The complete, well-formed new lines of one JSONL file, from where the last read ended."""

    def __init__(self, path: Path):
        self.path = path
        self.file = os.fspath(path)
        self.offset = 0
        self.ident: tuple[int, int] | None = None  # (device, inode) of the file read so far
        self.partial = b""  # a last line without its newline yet
        self.first = True  # the first read's records are the file from its top

    def read(self, last_only: bool = False) -> tuple[list[dict[str, Any]], bool]:
        """(new records, whether they start from the file's top: the first read, or the file was replaced or cut).
        `last_only`: of the new records, the last one only (a long backlog is skipped, not read)."""
        first, self.first = self.first, False
        try:
            fd = os.open(self.file, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            return [], first
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                return [], first
            replaced = self.ident is not None and (
                (st.st_dev, st.st_ino) != self.ident or st.st_size < self.offset
            )
            reset = first or replaced
            if replaced:
                self.offset, self.partial = 0, b""
            self.ident = (st.st_dev, st.st_ino)
            if (
                last_only and st.st_size - self.offset > TAIL_BYTES
            ):  # from the middle of a line: it is cut off below
                self.offset, self.partial = st.st_size - TAIL_BYTES, b"\0"
            if st.st_size <= self.offset:
                return [], reset
            data = os.pread(fd, min(CHUNK, st.st_size - self.offset), self.offset)
        except OSError:
            return [], first
        finally:
            os.close(fd)
        self.offset += len(data)
        data = self.partial + data
        end = data.rfind(b"\n") + 1
        lines, self.partial = data[:end], data[end:]
        if last_only:
            return _last_record(lines), reset
        return [rec for line in lines.splitlines() if (rec := parse_record(line)) is not None], reset


def _last_record(lines: bytes) -> list[dict[str, Any]]:
    """The last well-formed record of `lines`, as a list of none or one."""
    for line in reversed(lines.splitlines()):
        rec = parse_record(line)
        if rec is not None:
            return [rec]
    return []


class RunTail:
    """One run folder, followed: its new lines (`full`; else only the last new record), and its status
    whenever it changes."""

    def __init__(self, path: Path, store: RunStore | None = None, full: bool = True):
        self.path = Path(path)
        self.run_id = self.path.name
        self.full = full
        self.store = store or RunStore(self.path.parent)
        self.metrics = LineTail(self.path / "metrics.jsonl")
        self.snaps = LineTail(self.path / "snapshots.jsonl")
        self.stamp_files = [os.path.join(self.path, name) for name in ("status.json", "summary.json")]
        self.stamp: tuple | None = (
            None  # status.json's and summary.json's (mtime_ns, size, inode) when last read
        )
        self.info: RunInfo | None = None  # as last read
        self.state = ""  # as last read: "" before the first look
        self.checked = -STATUS_S  # when the status was last looked at

    @property
    def live(self) -> bool:
        """Still worth following: not read yet, or running."""
        return self.state in ("", "running")

    def poll(self) -> Update:
        update = Update(self.run_id, rows_only=not self.full)
        self._read_lines(update)
        now = time.monotonic()
        if now - self.checked >= STATUS_S:
            self.checked = now
            self._look_at_status(update)
            if not self.live:  # its last lines were written before it ended: read them too
                self._read_lines(update)
        return update

    def _read_lines(self, update: Update) -> None:
        records, reset_m = self.metrics.read(last_only=not self.full)
        if not self.full:
            update.records = records if reset_m else update.records + records
            update.reset = update.reset or reset_m
            return
        snapshots, reset_s = self.snaps.read()
        if reset_m or reset_s:  # start both files over, so that records and snapshots stay in step
            if not reset_m:
                self.metrics.offset, self.metrics.partial = 0, b""
                records, _ = self.metrics.read()
            if not reset_s:
                self.snaps.offset, self.snaps.partial = 0, b""
                snapshots, _ = self.snaps.read()
            update.records, update.snapshots, update.reset = [], [], True
        update.records += records
        update.snapshots += snapshots

    def _look_at_status(self, update: Update) -> None:
        """Read the status again if it changed; say so in `update` if its state or summary did."""
        stamp = self._stamp()
        changed = stamp != self.stamp
        if changed:
            info = self._reread()
            # A running run's status just written was written by its live writer (a heartbeat): no need to look
            # for its process. A first look may find a status left by a writer that died since.
            fresh = self.stamp is not None and info.status.get("status") == "running" and not info.problem
            state = "running" if fresh else info.state
            summary_changed = self.stamp is None or stamp[3:] != self.stamp[3:]
            self.info, self.stamp = info, stamp
        elif self.state == "running":
            state, summary_changed = self.info.state, False  # its writer is looked for: gone, it is `crashed`
        else:
            return
        if summary_changed or state != self.state:
            update.info, update.state = self.info, state
        self.state = state

    def _reread(self) -> RunInfo:
        """The run's info: status.json and summary.json read again, its config (which never changes) kept."""
        if self.info is None:
            return self.store._info(self.path)
        try:
            status = read_status(self.path / "status.json")
            summary = read_summary(self.path / "summary.json") or {}
        except Damaged:
            return self.store._info(self.path)  # the store's reader says what is wrong
        if not status:
            return self.store._info(self.path)
        return replace(self.info, status=status, summary=summary, problem="")

    def _stamp(self) -> tuple:
        out = []
        for name in self.stamp_files:
            try:
                st = os.stat(name)
                out += [st.st_mtime_ns, st.st_size, st.st_ino]
            except OSError:
                out += [None, None, None]
        return tuple(out)


class Inotify:
    """Linux inotify through libc, or `None` from `Inotify.open()` where there is none: wakes the watcher, and
    says which watched folders had events."""

    MASK = 0x2 | 0x8 | 0x80 | 0x100  # IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE
    EVENT = struct.Struct("iIII")  # struct inotify_event: wd, mask, cookie, len; then `len` bytes of name
    LOST = -1  # the descriptor of the queue-overflow event: events were lost

    def __init__(self, libc, fd: int):
        self.libc = libc
        self.fd = fd
        self.watched: dict[str, int] = {}  # folder -> its watch descriptor
        self.woken: set[int] = (
            set()
        )  # the descriptors with events (not on dot-files) since the owner emptied it

    @classmethod
    def open(cls) -> Inotify | None:
        if not hasattr(os, "O_NONBLOCK") or os.environ.get("DLTUI_NO_INOTIFY"):
            return None
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        except (OSError, AttributeError):
            return None
        return cls(libc, fd) if fd >= 0 else None

    def watch(self, path: Path) -> int:
        """The folder's watch descriptor, or -1 where it cannot be watched (a failed watch only means polling)."""
        key = str(path)
        wd = self.watched.get(key)
        if wd is None:
            wd = self.libc.inotify_add_watch(self.fd, key.encode(), self.MASK)
            self.watched[key] = wd
        return wd

    def wait(self, timeout: float) -> None:
        """Return when something changed in a watched folder, or after `timeout` seconds."""
        ready, _, _ = select.select([self.fd], [], [], max(0.0, timeout))
        if ready:
            try:
                while data := os.read(self.fd, 65536):
                    self.woken.update(self.descriptors(data))
            except (BlockingIOError, OSError):
                pass

    @classmethod
    def descriptors(cls, data: bytes) -> Iterator[int]:
        """The watch descriptor of each event in `data` but those on dot-files (temporary files, the listing's cache)."""
        at = 0
        while at + cls.EVENT.size <= len(data):
            wd, _, _, length = cls.EVENT.unpack_from(data, at)
            name = data[at + cls.EVENT.size : at + cls.EVENT.size + length]
            at += cls.EVENT.size + length
            if not name.startswith(b"."):
                yield wd

    def close(self) -> None:
        os.close(self.fd)


class Watcher:
    """Follows run folders in a thread; `take()` returns what is new in each (merged per run) since the last take."""

    def __init__(self, store: RunStore, on_news: Callable[[], None] | None = None, poll_s: float = POLL_S):
        self.store = store
        self.on_news = on_news  # called from the watcher's thread after news arrived (e.g. to wake a waiter)
        self.poll_s = poll_s
        self.tails: dict[str, RunTail] = {}
        self.news: dict[str, Update] = {}
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.all_ended = False  # every followed run has ended, and its news is in `news`
        self.inotify = Inotify.open()
        self.root_wd = -1  # the runs dir's inotify watch, once the thread has made it
        self.root_remote = False  # the runs dir is on a network filesystem: not watched
        self.added_at = (
            time.monotonic()
        )  # when something was last added to the runs dir (as if now, at first)
        self.thread = threading.Thread(target=self._loop, name="dltui-watcher", daemon=True)

    def follow(self, run_ids, anew: bool = False, full: bool = True) -> None:
        """Follow these runs too, from their first line (`anew`: again from the first line, news held dropped:
        for a view that has just read them whole); `full` off: for their last record and status only (a table
        row), unless they are followed in full already. Starts the thread the first time."""
        with self.lock:
            for run_id in run_ids:
                held = self.tails.get(run_id)
                if anew or held is None or full and not held.full:
                    self.tails[run_id] = RunTail(self.store.root / run_id, self.store, full)
                    self.news.pop(run_id, None)
                    self.all_ended = False
            if not self.thread.is_alive() and not self.done.is_set():
                self.thread.start()

    def take(self) -> list[Update]:
        with self.lock:
            news, self.news = list(self.news.values()), {}
        return news

    def runs_dir_changed(self) -> bool:
        """False only when inotify says nothing was added to the runs dir for ADDED_RECENTLY_S: then a look for
        runs started since can be skipped. True without inotify, or on a network filesystem."""
        with self.lock:
            return (
                self.root_wd < 0
                or not self.thread.is_alive()
                or time.monotonic() - self.added_at <= ADDED_RECENTLY_S
            )

    def close(self) -> None:
        """Stop following; returns at once (the thread ends within POLL_S, and closes its inotify itself)."""
        with self.lock:
            self.done.set()
            if not self.thread.is_alive() and self.inotify is not None:
                self.inotify.close()
                self.inotify = None

    def look(self) -> bool:
        """Read every followed run once; True if anything was new."""
        with self.lock:
            tails = [t for t in self.tails.values() if t.live]
        fresh = False
        self._watch_root()
        for tail in tails:
            if self.inotify is not None:
                self.inotify.watch(tail.path)
            update = tail.poll()
            if update.empty:
                continue
            fresh = True
            with self.lock:
                if self.tails.get(update.run_id) is not tail:  # followed anew meanwhile: its news is stale
                    continue
                held = self.news.get(update.run_id)
                if held is None:
                    self.news[update.run_id] = update
                else:
                    held.merge(update)
        with self.lock:
            self.all_ended = bool(self.tails) and not any(t.live for t in self.tails.values())
        return fresh

    def _watch_root(self) -> None:
        """Watch the runs dir (once it exists, if it is not on a network filesystem); note events there."""
        if self.inotify is None:
            return
        if self.root_wd < 0 and not self.root_remote and self.store.root.is_dir():
            self.root_remote = network_fs(self.store.root)
            if not self.root_remote:
                self.inotify.watched.pop(
                    str(self.store.root), None
                )  # a watch that failed before is tried again
                self.root_wd = self.inotify.watch(self.store.root)
        woken, self.inotify.woken = self.inotify.woken, set()
        if self.root_wd in woken or Inotify.LOST in woken:
            with self.lock:
                self.added_at = time.monotonic()

    def _loop(self) -> None:
        try:
            self._follow()
        finally:
            if self.inotify is not None:
                self.inotify.close()
                self.inotify = None

    def _follow(self) -> None:
        while not self.done.is_set():
            started = time.monotonic()
            if self.look() and self.on_news is not None:
                self.on_news()
            self.done.wait(max(0.0, MIN_GAP_S - (time.monotonic() - started)))
            if self.inotify is not None:
                self.inotify.wait(self.poll_s)
            else:
                self.done.wait(self.poll_s)


def network_fs(path: Path, mountinfo: str | None = None) -> bool:
    """True if `path` is on a network filesystem (NFS, SMB, FUSE such as sshfs, ...) by /proc/self/mountinfo,
    or if that cannot be told: there, inotify does not see what other machines write."""
    try:
        text = mountinfo if mountinfo is not None else Path("/proc/self/mountinfo").read_text()
    except OSError:
        return True
    real, best, fstype = os.path.realpath(path), "", ""
    for line in text.splitlines():
        left, _, right = line.partition(" - ")
        fields = left.split()
        if len(fields) < 5 or not right:
            continue
        mount = fields[4].replace("\\040", " ")
        if (real == mount or real.startswith(mount.rstrip("/") + "/")) and len(mount) >= len(best):
            best, fstype = mount, right.split()[0]
    return not best or fstype in NETWORK_FS or fstype.startswith("fuse")


def follow(store: RunStore, run_ids: list[str], timeout: float | None = None) -> Iterator[list[Update]]:
    """Batches of news from these runs until none of them is running (or `timeout` seconds passed)."""
    woke = threading.Event()
    watcher = Watcher(store, on_news=woke.set)
    watcher.follow(run_ids)
    end = None if timeout is None else time.monotonic() + timeout
    try:
        while end is None or time.monotonic() < end:
            woke.wait(1.0)
            woke.clear()
            ended = watcher.all_ended  # read before the news: then that news holds the runs' last lines
            news = watcher.take()
            if news:
                yield news
            if ended:
                return
    finally:
        watcher.close()


def new_rows(root: Path, known: set[str]) -> list:
    """The listing rows (core/store/index.py) of the runs in `root` not in `known`, newest first: runs started since."""
    from .folder import run_ids
    from .index import RunIndex

    index = RunIndex(root, use_cache=False)
    return [row for row in index.rows([r for r in run_ids(index.root) if r not in known])]


BATCH_GAP_S = 10.0  # a run that ended at most this long before the next one started belongs to its batch


def latest_batch(store: RunStore, preset: str) -> list[str]:
    """The run ids of the preset's latest batch, oldest first: its newest run, and the runs before it that were
    still going (or had just ended) when a later one of the batch started. A sweep's runs, run in parallel or
    one after another, are one batch; the same preset started again an hour later is another."""
    from .index import listing

    rows = [r for r in listing(store.root, preset=preset)[0] if r.started is not None]
    if not rows:
        return []
    batch, earliest = [rows[0].run_id], rows[0].started
    for row in rows[1:]:
        status = store._info(store.root / row.run_id).status
        end = (
            time.time()
            if row.state == "running"
            else status.get("ended") or status.get("heartbeat") or row.started
        )
        if end < earliest - BATCH_GAP_S:
            break
        batch.append(row.run_id)
        earliest = min(earliest, row.started)
    return batch[::-1]
