"""Following many runs that other processes write, in one thread, with the news handed over in batches.

A `Watcher` keeps a core/store/runtail.py `RunTail` for each followed run and merges what is new per run
until `take()`, so that a UI thread only ever applies small, ready-made updates. It wakes on inotify events
where the kernel has them (core/store/changes.py) and otherwise, or besides (NFS shows no remote writes to
inotify), looks every POLL_S. It also watches the runs dir itself, so that a caller looking for runs started
since (a listing of the whole folder) can skip the look while nothing was added there (`runs_dir_changed`);
on a network filesystem, where other machines' new runs make no event, it never skips.

Watching never writes: no lock is taken, no file in a run folder is created or changed. No torch, no textual.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

from .changes import Inotify, network_fs
from .folder import RunStore
from .runtail import RunTail, Update

POLL_S = 0.25  # without inotify (or on NFS): 4 looks a second
MIN_GAP_S = 0.25  # inotify wakes at once, but busy writers are read at most 4 times a second
# The runs dir counts as changed this long after an event there (a new run's files come after its folder).
ADDED_RECENTLY_S = 5.0


class Watcher:
    """Follows run folders in a thread; `take()` returns what is new in each (merged per run) since the last
    take."""

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
        """False only when inotify says nothing was added to the runs dir for ADDED_RECENTLY_S: then a look
        for runs started since can be skipped. True without inotify, or on a network filesystem."""
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
