"""Following runs that another process writes: new metrics and snapshot lines, and status changes.

A `RunTail` reads a run folder's metrics.jsonl and snapshots.jsonl from the byte offset it reached last
time (nothing is read twice), keeps a cut-off last line until its newline arrives (a line being written
is waited for, not dropped), and reads status.json again only when its mtime or size changed, or, while
the run is `running`, every CRASH_CHECK_S, so that a writer that died (kill -9) shows as `crashed` by
the store's own rule (core/store.py's RunInfo.state). A file replaced under it (a resume truncates the
metrics atomically) starts it over from byte 0, and the update says so (`reset`).

A `Watcher` follows many runs in one thread and hands the news over in batches (`take`), so that a UI
thread only ever applies small, ready-made updates. It wakes on inotify events where the kernel has them
(Linux, through ctypes: no new dependency) and otherwise, or besides (NFS shows no remote writes to
inotify), looks every POLL_S.

Watching never writes: no lock is taken, no file in a run folder is created or changed. No torch, no textual.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import select
import stat
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Optional

from .runfiles import parse_record
from .store import RunInfo, RunStore

POLL_S = 0.25  # without inotify (or on NFS): 4 looks a second
MIN_GAP_S = 0.25  # inotify wakes at once, but busy writers are read at most 4 times a second
CRASH_CHECK_S = 1.0  # a running run's writer is looked for this often (its pid, or its heartbeat on another host)
CHUNK = 4 << 20  # the most bytes read from one file in one look (a long backlog comes in pieces)


@dataclass
class Update:
    """What is new in one run since the last look."""

    run_id: str
    records: list[dict[str, Any]] = field(default_factory=list)
    snapshots: list[dict[str, Any]] = field(default_factory=list)
    info: Optional[RunInfo] = None  # set when its status (or summary) changed
    state: str = ""  # then, info.state as the watcher found it (the property looks at /proc: not on a UI thread)
    reset: bool = False  # `records` and `snapshots` start from the files' top (a first look, or files replaced)

    def merge(self, later: "Update") -> None:
        if later.reset:
            self.records, self.snapshots, self.reset = [], [], True
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
        self.offset = 0
        self.ident: Optional[tuple[int, int]] = None  # (device, inode) of the file read so far
        self.partial = b""  # a last line without its newline yet
        self.first = True  # the first read's records are the file from its top

    def read(self) -> tuple[list[dict[str, Any]], bool]:
        """(new records, whether they start from the file's top: the first read, or the file was replaced or cut)."""
        first, self.first = self.first, False
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            return [], first
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                return [], first
            replaced = self.ident is not None and ((st.st_dev, st.st_ino) != self.ident or st.st_size < self.offset)
            reset = first or replaced
            if replaced:
                self.offset, self.partial = 0, b""
            self.ident = (st.st_dev, st.st_ino)
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
        return [rec for line in lines.splitlines() if (rec := parse_record(line)) is not None], reset


class RunTail:
    """One run folder, followed: its new lines, and its status whenever it changes."""

    def __init__(self, path: Path, store: Optional[RunStore] = None):
        self.path = Path(path)
        self.store = store or RunStore(self.path.parent)
        self.metrics = LineTail(self.path / "metrics.jsonl")
        self.snaps = LineTail(self.path / "snapshots.jsonl")
        self.stamp: Optional[tuple] = None  # status.json's and summary.json's (mtime_ns, size) when last read
        self.state = ""  # as last read: "" before the first look
        self.checked = 0.0  # when a running run's writer was last looked for

    @property
    def run_id(self) -> str:
        return self.path.name

    @property
    def live(self) -> bool:
        """Still worth following: not read yet, or running."""
        return self.state in ("", "running")

    def poll(self) -> Update:
        update = Update(self.run_id)
        update.records, reset_m = self.metrics.read()
        update.snapshots, reset_s = self.snaps.read()
        update.reset = reset_m or reset_s
        if update.reset:  # start both files over, so that records and snapshots stay in step
            if not reset_m:
                self.metrics.offset, self.metrics.partial = 0, b""
                update.records, _ = self.metrics.read()
            if not reset_s:
                self.snaps.offset, self.snaps.partial = 0, b""
                update.snapshots, _ = self.snaps.read()
        stamp, now = self._stamp(), time.monotonic()
        if stamp != self.stamp or self.state == "running" and now - self.checked >= CRASH_CHECK_S:
            self.checked = now
            info = self.store._info(self.path)
            state = info.state
            if stamp != self.stamp or state != self.state:
                update.info, update.state, self.state = info, state, state
            self.stamp = stamp
            if not self.live:  # its last lines were written before it ended: read them too
                update.records += self.metrics.read()[0]
                update.snapshots += self.snaps.read()[0]
        return update

    def _stamp(self) -> tuple:
        out = []
        for name in ("status.json", "summary.json"):
            try:
                st = os.stat(self.path / name)
                out += [st.st_mtime_ns, st.st_size, st.st_ino]
            except OSError:
                out += [None, None, None]
        return tuple(out)


class Inotify:
    """Linux inotify through libc, or `None` from `Inotify.open()` where there is none: only wakes the watcher."""

    MASK = 0x2 | 0x8 | 0x80 | 0x100  # IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE

    def __init__(self, libc, fd: int):
        self.libc = libc
        self.fd = fd
        self.watched: set[str] = set()

    @classmethod
    def open(cls) -> Optional["Inotify"]:
        if not hasattr(os, "O_NONBLOCK") or os.environ.get("DLTUI_NO_INOTIFY"):
            return None
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        except (OSError, AttributeError):
            return None
        return cls(libc, fd) if fd >= 0 else None

    def watch(self, path: Path) -> None:
        key = str(path)
        if key not in self.watched:
            self.libc.inotify_add_watch(self.fd, key.encode(), self.MASK)  # a failed watch only means polling
            self.watched.add(key)

    def wait(self, timeout: float) -> None:
        """Return when something changed in a watched folder, or after `timeout` seconds."""
        ready, _, _ = select.select([self.fd], [], [], max(0.0, timeout))
        if ready:
            try:
                while os.read(self.fd, 65536):
                    pass
            except (BlockingIOError, OSError):
                pass

    def close(self) -> None:
        os.close(self.fd)


class Watcher:
    """Follows run folders in a thread; `take()` returns what is new in each (merged per run) since the last take."""

    def __init__(self, store: RunStore, on_news: Optional[Callable[[], None]] = None, poll_s: float = POLL_S):
        self.store = store
        self.on_news = on_news  # called from the watcher's thread after news arrived (e.g. to wake a waiter)
        self.poll_s = poll_s
        self.tails: dict[str, RunTail] = {}
        self.news: dict[str, Update] = {}
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.all_ended = False  # every followed run has ended, and its news is in `news`
        self.inotify = Inotify.open()
        self.thread = threading.Thread(target=self._loop, name="dltui-watcher", daemon=True)

    def follow(self, run_ids, anew: bool = False) -> None:
        """Follow these runs too, from their first line (`anew`: again from the first line, news held dropped:
        for a view that has just read them whole); starts the thread the first time."""
        with self.lock:
            for run_id in run_ids:
                if anew or run_id not in self.tails:
                    self.tails[run_id] = RunTail(self.store.root / run_id, self.store)
                    self.news.pop(run_id, None)
                    self.all_ended = False
            if not self.thread.is_alive() and not self.done.is_set():
                self.thread.start()

    def take(self) -> list[Update]:
        with self.lock:
            news, self.news = list(self.news.values()), {}
        return news

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


def follow(store: RunStore, run_ids: list[str], timeout: Optional[float] = None) -> Iterator[list[Update]]:
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
    """The listing rows (core/runindex.py) of the runs in `root` not in `known`, newest first: runs started since."""
    from .runindex import RunIndex, run_ids

    index = RunIndex(root, use_cache=False)
    return [row for row in index.rows([r for r in run_ids(index.root) if r not in known])]


BATCH_GAP_S = 10.0  # a run that ended at most this long before the next one started belongs to its batch


def latest_batch(store: RunStore, preset: str) -> list[str]:
    """The run ids of the preset's latest batch, oldest first: its newest run, and the runs before it that were
    still going (or had just ended) when a later one of the batch started. A sweep's runs, run in parallel or
    one after another, are one batch; the same preset started again an hour later is another."""
    from .runindex import listing

    rows = [r for r in listing(store.root, preset=preset)[0] if r.started is not None]
    if not rows:
        return []
    batch, earliest = [rows[0].run_id], rows[0].started
    for row in rows[1:]:
        status = store._info(store.root / row.run_id).status
        end = time.time() if row.state == "running" else status.get("ended") or status.get("heartbeat") or row.started
        if end < earliest - BATCH_GAP_S:
            break
        batch.append(row.run_id)
        earliest = min(earliest, row.started)
    return batch[::-1]
