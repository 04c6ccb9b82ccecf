"""Watching runs another process writes: the tailer, the lab following a headless `dltui run`, `show
--follow`, and the stop-request file. Every wait is on a condition, with a timeout."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from reliability_helpers import finish, lines, preset_file, run_dirs, status, wait_for
from reliability_helpers import start as start_piped
from test_tui_app import CPU, SIZE, wait_until
from textual.widgets import DataTable
from tui_fakes import toy_preset

from dltui.core.store import stoprequest
from dltui.core.store.batches import latest_batch
from dltui.core.store.folder import RunStore
from dltui.core.store.linetail import LineTail
from dltui.core.store.runtail import RunTail
from dltui.tui.app import LabApp
from dltui.tui.pastruns.screen import PastRunsScreen, StopConfirm


def start(*args) -> subprocess.Popen:
    """`python -m dltui ARGS...` in the background, its output thrown away (a full pipe would block its
    writes)."""
    return subprocess.Popen(
        [sys.executable, "-m", "dltui", *map(str, args)],
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def folder_state(run_dir: Path) -> dict[str, tuple]:
    """Every file of a run folder: (size, mtime in ns, a hash of its bytes)."""
    return {
        p.name: (p.stat().st_size, p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
        for p in sorted(run_dir.iterdir())
    }


def lock_is_free(run_dir: Path) -> bool:
    """Whether nobody holds the run's lock (a watcher never takes it)."""
    with open(run_dir / ".lock", "rb") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(f, fcntl.LOCK_UN)
        return True


def test_a_torn_last_line_is_waited_for_and_a_replaced_file_read_again(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_bytes(b'{"epoch":1,"train_loss":2.0}\n{"epoch":2,"train_lo')
    tail = LineTail(path)
    assert tail.read() == ([{"epoch": 1, "train_loss": 2.0}], True)  # the first look: from the top
    assert tail.read() == ([], False)  # the torn line is kept back, not dropped
    with open(path, "ab") as f:
        f.write(b'ss":1.5}\n{"epoch":3}\n')
    assert tail.read() == ([{"epoch": 2, "train_loss": 1.5}, {"epoch": 3}], False)
    assert tail.read() == ([], False)  # nothing read twice
    tmp = tmp_path / "new"
    tmp.write_bytes(b'{"epoch":1}\n')
    os.replace(tmp, path)  # a resume truncates the metrics atomically: a new file
    assert tail.read() == ([{"epoch": 1}], True)


def test_a_run_followed_for_its_row_reads_only_its_last_record_and_skips_a_long_backlog(tmp_path):
    """The past-runs table needs a live run's last epoch only: a tail for a row parses no other line, and a
    long file's first look reads its end, not its whole (a 100,000-epoch run joins the table at once)."""
    run = tmp_path / "runs" / "20250101-000000-000-p-v-abcd"
    run.mkdir(parents=True)
    (run / "status.json").write_text(
        json.dumps({"status": "finished", "run_id": run.name, "preset": "p", "variant": "v"})
    )
    with open(run / "metrics.jsonl", "w") as f:
        f.writelines(json.dumps({"epoch": e, "train_loss": 1 / e}) + "\n" for e in range(1, 20001))
    tail = RunTail(run, full=False)
    update = tail.poll()
    assert update.records == [{"epoch": 20000, "train_loss": 1 / 20000}] and update.reset
    assert update.snapshots == [] and update.info is not None and update.state == "finished"
    assert tail.metrics.offset == (run / "metrics.jsonl").stat().st_size  # everything taken as read
    with open(run / "metrics.jsonl", "a") as f:
        f.write('{"epoch": 20001, "train_loss": 0.5}\n{"epoch": 20002, "train_lo')  # a line being written
    assert tail.metrics.read(last_only=True) == ([{"epoch": 20001, "train_loss": 0.5}], False)
    with open(run / "metrics.jsonl", "a") as f:
        f.write('ss": 0.25}\n')
    assert tail.metrics.read(last_only=True) == (
        [{"epoch": 20002, "train_loss": 0.25}],
        False,
    )  # waited for, not lost


def test_the_look_for_new_runs_is_skipped_while_inotify_sees_nothing_added_to_the_runs_dir(
    tmp_path, monkeypatch
):
    """A listing of the runs dir (10,000 folders: 12 ms of CPU) is needed only after something was added
    there."""
    from dltui.core.store import watcher as watching

    monkeypatch.setattr(watching, "ADDED_RECENTLY_S", 0.3)
    store = RunStore(tmp_path / "runs")
    store.root.mkdir()
    watcher = watching.Watcher(store)
    if watcher.inotify is None:
        pytest.skip("no inotify here: every look is made")
    try:
        assert watcher.runs_dir_changed()  # before its thread runs: the caller looks
        watcher.follow([])
        wait_for(lambda: not watcher.runs_dir_changed(), "nothing added for a while")
        store.create("p", "v", {}).close()
        wait_for(watcher.runs_dir_changed, "the new run's folder seen")
        wait_for(lambda: not watcher.runs_dir_changed(), "quiet again")
        (store.root / ".index.json").write_text("{}")  # the listing's own cache: not a new run
        watcher.look()
        assert not watcher.runs_dir_changed()
    finally:
        watcher.close()


def test_a_runs_dir_on_a_network_filesystem_is_always_looked_at():
    from dltui.core.store.changes import network_fs

    mounts = (
        "22 1 8:1 / / rw - ext4 /dev/sda1 rw\n40 22 0:50 / /srv/runs rw - nfs4 host:/export rw\n"
        "41 22 0:51 / /home/a\\040b rw - fuse.sshfs u@h: rw\n"
    )
    assert network_fs("/srv/runs/2025", mounts) and network_fs(
        "/home/a b/runs", mounts
    )  # NFS; sshfs (a space in it)
    assert not network_fs("/srv/runsx", mounts) and not network_fs("/tmp/runs", mounts)  # the local root's


async def test_the_live_table_repaints_a_few_rows_on_screen_a_frame_and_ends_with_every_new_value():
    from textual.app import App

    from dltui.tui.pastruns.livetable import ROWS_A_FRAME, LiveTable

    class One(App):
        def compose(self):
            yield LiveTable(id="t")

    app = One()
    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one(LiveTable)
        table.add_column("run", key="run")
        table.add_column("epochs", key="epochs")
        for i in range(30):
            table.add_row(f"r{i}", "0", key=f"r{i}")
        await pilot.pause()
        for i in range(30):
            table.change(f"r{i}", {"epochs": str(1000 + i)})
        table.paint()
        on_screen = [f"r{i}" for i in range(table.size.height)]
        assert (
            sum(key in table.pending for key in on_screen) == len(on_screen) - ROWS_A_FRAME
        )  # the rest: next frames
        assert not any(
            f"r{i}" in table.pending for i in range(table.size.height, 30)
        )  # off screen: written, no repaint
        while table.pending:
            table.paint()
            await pilot.pause()
        await pilot.pause()
        assert [str(table.get_cell(f"r{i}", "epochs")) for i in range(30)] == [
            str(1000 + i) for i in range(30)
        ]
        shown = app.export_screenshot()  # what is on the screen: the rows painted a frame at a time
        assert all(f"r{i}" in shown and str(1000 + i) in shown for i in range(table.size.height - 1))


def test_a_run_tail_reports_a_dead_writer_as_crashed(tmp_path):
    run = tmp_path / "runs" / "20250101-000000-000-p-v-abcd"
    run.mkdir(parents=True)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    (run / "status.json").write_text(
        json.dumps(
            {
                "status": "running",
                "pid": int(dead.stdout),
                "host": os.uname().nodename,
                "run_id": run.name,
                "preset": "p",
                "variant": "v",
            }
        )
    )
    update = RunTail(run).poll()
    assert update.info is not None and update.info.state == "crashed"


def test_a_rows_news_changes_an_open_runs_status_not_its_curve(tmp_path):
    from dltui.tui.live import grown
    from dltui.tui.viewkit import RunData

    run = tmp_path / "r1"
    run.mkdir()
    (run / "metrics.jsonl").write_text(
        "".join(json.dumps({"epoch": e, "train_loss": 1 / e}) + "\n" for e in range(1, 11))
    )
    (run / "status.json").write_text(
        json.dumps({"status": "finished", "run_id": "r1", "preset": "p", "variant": "v"})
    )
    shown = RunData("r1", "v", {}, "running", [{"epoch": e, "train_loss": 1 / e} for e in range(1, 11)])
    news = RunTail(run, full=False).poll()  # a table row's first look: the last record, from the top
    assert news.rows_only and news.reset and [r["epoch"] for r in news.records] == [10]
    after = grown(shown, news)
    assert [r["epoch"] for r in after.records] == list(range(1, 11)) and after.status == "finished"


async def test_the_lab_follows_runs_another_process_writes_and_changes_nothing(tmp_path):
    root = tmp_path / "store"
    long = start("run", preset_file(tmp_path, {"long": 0.01}, name="long"), "--runs-dir", root)
    wait_for(
        lambda: len(run_dirs(root)) == 1 and lines(run_dirs(root)[0] / "metrics.jsonl") > 0,
        "the long run's first epoch",
        long,
    )
    short = start(
        "run", preset_file(tmp_path, {"short": 0.01}, name="short", epochs=1500), "--runs-dir", root
    )
    wait_for(lambda: len(run_dirs(root)) == 2, "the short run's folder", short)
    long_dir, short_dir = sorted(run_dirs(root), key=lambda d: "long" not in d.name)
    app = LabApp(
        presets=[toy_preset()], runs_dir=root, device_probe=lambda: CPU, watch=[long_dir.name, short_dir.name]
    )
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(
                pilot, lambda: isinstance(app.screen, PastRunsScreen) and len(app.screen.shown) == 2
            )
            screen = app.screen
            table = screen.query_one("#past-runs", DataTable)
            shown = lambda name: next(r for r in screen.shown if r.run_id == name)  # noqa: E731
            cell = lambda name, col: str(table.get_cell(name, col))  # noqa: E731
            seen = len(shown(long_dir.name).records)
            await wait_until(pilot, lambda: len(shown(long_dir.name).records) > seen + 50)  # its curve grows
            await wait_until(
                pilot, lambda: cell(long_dir.name, "epochs") not in ("-", str(seen))
            )  # so does its row
            assert cell(long_dir.name, "status") == "running"

            assert finish(short)[0] == 0
            ended = folder_state(short_dir)
            await wait_until(pilot, lambda: cell(short_dir.name, "status") == "finished")
            assert (
                shown(short_dir.name).status == "finished" and len(shown(short_dir.name).records) == 1501
            )  # and epoch 0

            long.send_signal(signal.SIGKILL)
            long.wait(30)
            killed = folder_state(long_dir)
            await wait_until(pilot, lambda: cell(long_dir.name, "status") == "crashed")
            assert shown(long_dir.name).status == "crashed"
            await pilot.pause(0.5)  # the watcher goes on looking: still nothing may change
            assert folder_state(short_dir) == ended and folder_state(long_dir) == killed
            assert lock_is_free(long_dir) and lock_is_free(short_dir)
    finally:
        for proc in (long, short):
            if proc.poll() is None:
                proc.kill()


async def test_a_run_started_later_appears_and_s_asks_its_process_to_stop_it(tmp_path):
    root = tmp_path / "store"
    root.mkdir()
    app = LabApp(presets=[toy_preset()], runs_dir=root, device_probe=lambda: CPU)
    proc = None
    try:
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("p")
            screen = app.screen
            table = screen.query_one("#past-runs", DataTable)
            await wait_until(pilot, lambda: screen.loaded)
            proc = start("run", preset_file(tmp_path, {"long": 0.01}, name="long"), "--runs-dir", root)
            await wait_until(pilot, lambda: table.row_count == 1)  # the listing takes in runs started since
            (run,) = run_dirs(root)
            await wait_until(pilot, lambda: str(table.get_cell(run.name, "epochs")) not in ("-", "0"))
            await pilot.press("s")
            await wait_until(pilot, lambda: isinstance(app.screen, StopConfirm))
            await pilot.press("n")  # keep it running: nothing is written
            await wait_until(pilot, lambda: app.screen is screen)
            assert not (run / stoprequest.NAME).exists() and proc.poll() is None
            await pilot.press("s")
            await wait_until(pilot, lambda: isinstance(app.screen, StopConfirm))
            await pilot.press("y")
            await wait_until(pilot, lambda: str(table.get_cell(run.name, "status")) == "interrupted")
        code, _, _ = finish(proc)
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
    assert code == 130  # as after Ctrl-C
    assert status(run)["reason"] == stoprequest.REASON
    assert not (run / stoprequest.NAME).exists()  # the owner took the request away


def test_a_stop_request_ends_a_headless_run_interrupted_with_its_epochs_kept(tmp_path):
    root = tmp_path / "store"
    proc = start("run", preset_file(tmp_path, {"long": 0.01}, name="long"), "--runs-dir", root)
    wait_for(lambda: run_dirs(root) and lines(run_dirs(root)[0] / "metrics.jsonl") >= 20, "20 epochs", proc)
    (run,) = run_dirs(root)
    done = lines(run / "metrics.jsonl")
    stoprequest.request(run)
    code, out, err = finish(proc)
    assert code == 130, err
    st = status(run)
    assert st["status"] == "interrupted" and st["reason"] == stoprequest.REASON
    assert st["epoch"] >= done - 1 and lines(run / "metrics.jsonl") == st["epoch"] + 1  # epoch 0 too
    assert not (run / stoprequest.NAME).exists()


def test_show_follow_without_a_terminal_prints_each_epoch_as_it_comes_and_ends_with_the_run(tmp_path):
    root = tmp_path / "store"
    proc = start("run", preset_file(tmp_path, {"v": 0.01}, name="short", epochs=1500), "--runs-dir", root)
    wait_for(
        lambda: run_dirs(root) and (run_dirs(root)[0] / "status.json").exists(), "the run's folder", proc
    )
    (run,) = run_dirs(root)
    follower = start_piped("show", run.name, "--follow", "--runs-dir", root)
    try:
        first = follower.stdout.readline()
        while first and " epoch " not in first:  # "" only once it has exited
            first = follower.stdout.readline()
        assert first, follower.stderr.read()
        still_running = status(run)["status"] == "running" or proc.poll() is None
        rest = follower.stdout.read()  # to its end: it returns once the run has ended
        code, _, err = finish(follower)
        run_code = finish(proc)[0]
    finally:
        for p in (proc, follower):
            if p.poll() is None:
                p.kill()
    assert code == 0, err
    epochs = [line for line in (first + rest).splitlines() if " epoch " in line]
    assert epochs[-1].startswith("v  epoch 1500  train_loss ")
    assert [int(e.split()[2]) for e in epochs] == list(
        range(int(epochs[0].split()[2]), 1501)
    )  # each epoch once, in order
    assert (first + rest).splitlines()[-1] == "v  finished"
    assert still_running or len(epochs) == 1  # lines came while it ran (unless it had ended before we looked)
    assert run_code == 0


def test_watch_a_preset_opens_its_latest_batch(tmp_path):
    root = tmp_path / "store"
    store = RunStore(root)
    for name, started, ended in (("a", 1000.0, 1100.0), ("b", 5000.0, 5050.0), ("c", 5055.0, 5100.0)):
        w = store.create("poly", name, {})
        w.status.update(started=started)
        w.set_status("finished")
        data = json.loads((w.path / "status.json").read_text())
        (w.path / "status.json").write_text(json.dumps({**data, "ended": ended}))
        w.close()
    ids = latest_batch(store, "poly")
    assert [store.get(i).status["variant"] for i in ids] == ["b", "c"]  # a ran an hour earlier: another batch


def test_compare_follow_of_ended_runs_prints_where_they_stand_and_returns(tmp_path, cli):
    store = RunStore(tmp_path / "store")
    ids = []
    for variant, n in (("a", 3), ("b", 5)):
        w = store.create("poly", variant, {})
        for e in range(1, n + 1):
            w.append_metrics({"epoch": e, "train_loss": 1.0 / e, "test_loss": 2.0 / e})
        w.set_status("finished")
        w.close()
        ids.append(w.run_id)
    result = cli("compare", *ids, "--follow", "--runs-dir", str(store.root))
    assert result.exit_code == 0, result.stderr
    lines_out = result.stdout.splitlines()
    assert "a  epoch 3  train_loss 0.3333  test_loss 0.6667" in lines_out and "a  finished" in lines_out
    assert "b  epoch 5  train_loss 0.2  test_loss 0.4" in lines_out and "b  finished" in lines_out


def test_watch_names_what_it_cannot_find_in_one_line(tmp_path, cli):
    result = cli("watch", "polynomial", "--runs-dir", str(tmp_path / "empty"))
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"error: no runs of preset polynomial in {tmp_path / 'empty'}; start some with `dltui run polynomial`"
    ]
    result = cli("watch", "nosuch", "--runs-dir", str(tmp_path / "empty"))
    assert result.exit_code == 2 and "no run 'nosuch'" in result.stderr


def test_the_watching_benchmark_runs_alone_and_reports_each_case():
    """benchmarks/watch_live.py (the case `dltui bench --scale` runs too), tiny: every case has its two
    figures."""
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run(
        [
            sys.executable,
            str(root / "benchmarks" / "watch_live.py"),
            "--runs",
            "3",
            "--rate",
            "5",
            "--seconds",
            "0.5",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    assert len(out) == 6 and "Traceback" not in result.stderr
    for case in ("none live", "their rows updating", "also overlaid"):
        assert any(case in line and "lab CPU: " in line and "% of a core" in line for line in out), case
        assert any(case in line and "longest UI stall: " in line and " ms" in line for line in out), case
    assert sum("(goal " in line for line in out) == 2  # the goals are the table case's


def _one_live_run(store: RunStore):
    """A run of this process (so it is `running`), with one metrics line."""
    writer = store.create("p", "v", {})
    writer.append_metrics({"epoch": 1, "train_loss": 1.0})
    return writer


def _news_of(watcher, run_id: str, got: list) -> bool:
    got += [r["epoch"] for u in watcher.take() if u.run_id == run_id for r in u.records]
    return 2 in got


def test_inotify_wakes_the_watcher_for_a_new_line_long_before_its_clock_would(tmp_path):
    """With a look by the clock only every 60 s, a line written is seen within seconds: inotify woke it."""
    from dltui.core.store.watcher import Watcher

    store = RunStore(tmp_path / "runs")
    writer = _one_live_run(store)
    watcher = Watcher(store, poll_s=60.0)
    if watcher.inotify is None:
        pytest.skip("no inotify here")
    got: list[int] = []
    try:
        watcher.follow([writer.run_id])
        wait_for(lambda: 1 in [r["epoch"] for u in watcher.take() for r in u.records], "the first look")
        wait_for(lambda: str(writer.path) in watcher.inotify.watched, "the run's folder watched")
        writer.append_metrics({"epoch": 2, "train_loss": 0.5})
        wait_for(lambda: _news_of(watcher, writer.run_id, got), "the new line, woken by inotify", timeout=30)
    finally:
        watcher.close()
        writer.close()
    assert got == [2]


def test_without_inotify_the_watcher_polls_and_always_looks_for_new_runs(tmp_path, monkeypatch):
    """The fallback (no inotify: macOS, or DLTUI_NO_INOTIFY): every look is by the clock, lines still arrive,
    and the runs dir always counts as changed (nothing would say a run was added)."""
    from dltui.core.store.watcher import Watcher

    monkeypatch.setenv("DLTUI_NO_INOTIFY", "1")
    store = RunStore(tmp_path / "runs")
    writer = _one_live_run(store)
    watcher = Watcher(store, poll_s=0.05)
    assert watcher.inotify is None
    got: list[int] = []
    try:
        watcher.follow([writer.run_id])
        writer.append_metrics({"epoch": 2, "train_loss": 0.5})
        wait_for(lambda: _news_of(watcher, writer.run_id, got), "the new line, by polling", timeout=30)
        assert watcher.runs_dir_changed()
    finally:
        watcher.close()
        writer.close()
    assert got[-1] == 2
