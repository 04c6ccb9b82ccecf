"""`dltui run PRESET --jobs N`: every variant runs, each run dir complete, the same results as one by one."""

from __future__ import annotations

import json
import queue
import threading
import time

import pytest

from dltui.core.executors.drive import Drive, EventQueue
from dltui.core.executors.localpool import Pool, default_jobs
from dltui.core.executors.runner import plan
from dltui.core.executors.trainingprocess import ExecutorDone
from dltui.core.spec import presets
from dltui.core.train.control import Control
from dltui.core.train.events import EpochEnded, RunEnded, RunStarted

RUN_FILES = (
    "config.json",
    "metrics.jsonl",
    "status.json",
    "summary.json",
    "snapshots.jsonl",
    "checkpoint.pt",
)


def finals(runs_dir) -> dict[str, dict]:
    """variant -> summary of every run in a runs dir."""
    out = {}
    for run in runs_dir.iterdir():
        if run.is_dir():
            summary = json.loads((run / "summary.json").read_text())
            out[summary["variant"]] = summary
    return out


@pytest.mark.slow
def test_jobs_2_runs_every_variant_with_the_same_results_as_one_by_one(cli, tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    r1 = cli("run", "polynomial", "--epochs", "6", "--jobs", "1", "--runs-dir", one)
    r2 = cli("run", "polynomial", "--epochs", "6", "--jobs", "2", "--runs-dir", two)
    assert r1.exit_code == r2.exit_code == 0, r2.output
    variants = [name for name, _ in presets.load("polynomial").configs({})]
    for v in variants:
        assert f"polynomial {v} epoch 6/6" in r2.output  # each run's progress is shown
    assert "2 at a time" in r2.output
    a, b = finals(one), finals(two)
    assert sorted(a) == sorted(b) == sorted(variants)
    for v in variants:
        assert b[v]["status"] == "finished" and b[v]["epochs"] == 6
        for key in ("final_train_loss", "final_test_loss"):
            assert b[v][key] == pytest.approx(a[v][key], rel=1e-5), (v, key)
        assert b[v]["learned_coefficients"] == pytest.approx(a[v]["learned_coefficients"], rel=1e-5)
    for run in two.iterdir():
        assert all((run / f).exists() for f in RUN_FILES), run
        assert len((run / "metrics.jsonl").read_text().splitlines()) == 7  # epoch 0 too
        assert json.loads((run / "status.json").read_text())["status"] == "finished"
    # the summary table lists the runs in the preset's order, as one by one does
    table = r2.output[r2.output.rindex("┃ variant") :] if "┃ variant" in r2.output else r2.output
    positions = [table.index(v) for v in variants]
    assert positions == sorted(positions)


def test_jobs_below_one_is_bad_input_and_makes_no_run(cli, runs_dir):
    result = cli("run", "polynomial", "--jobs", "0")
    assert result.exit_code == 2
    assert "--jobs 0" in result.output and "Traceback" not in result.output
    assert not runs_dir.exists() or not any(p.is_dir() for p in runs_dir.iterdir())


def test_one_by_one_is_the_default_on_the_cpu():
    plans = plan(presets.load("polynomial"), {"device": "cpu"})
    assert default_jobs(plans) == 1
    assert default_jobs(plans[:1]) == 1


def wait_for(pool: Pool, pred, timeout: float = 120) -> list:
    events, end = [], time.monotonic() + timeout
    while time.monotonic() < end:
        events += pool.drain(timeout=0.2)
        if pred(events):
            return events
    raise AssertionError(f"timed out; events so far: {[type(e).__name__ for e in events]}")


@pytest.mark.slow
def test_stopping_a_pool_ends_its_runs_as_interrupted(runs_dir, data_dir):
    plans = plan(presets.load("polynomial"), {"epochs": 1_000_000, "device": "cpu", "checkpoint": False})
    pool = Pool(plans, runs_dir, data_dir, jobs=2).start()
    try:
        events = wait_for(pool, lambda evs: sum(isinstance(e, RunStarted) for e in evs) >= 2)
        pool.stop()
        events += wait_for(pool, lambda evs: any(isinstance(e, ExecutorDone) for e in evs))
    finally:
        pool.join(10)
    ended = [e for e in events if isinstance(e, RunEnded)]
    started = {e.run_id for e in events if isinstance(e, RunStarted)}
    assert {e.run_id for e in ended} == started and len(started) == 2  # the third plan never started
    assert {e.status for e in ended} == {"interrupted"}
    done = [e for e in events if isinstance(e, ExecutorDone)]
    assert len(done) == 1 and done[0].error == ""
    for rid in started:
        assert json.loads((runs_dir / rid / "status.json").read_text())["status"] == "interrupted"


def test_on_cuda_a_few_runs_share_each_gpu(monkeypatch):
    import torch

    from dltui.core.executors import localpool as parallel
    from dltui.core.spec import device

    monkeypatch.setattr(device, "resolve_device", lambda name: torch.device("cuda"))
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(parallel.os, "cpu_count", lambda: 16)
    plans = plan(presets.load("polynomial"), {})
    assert default_jobs(plans) == 3  # never more processes than runs
    assert default_jobs(plans * 10) == 2 * parallel.RUNS_PER_GPU
    monkeypatch.setattr(parallel.os, "cpu_count", lambda: 3)
    assert default_jobs(plans * 10) == 3  # nor more than CPU cores to drive them


@pytest.mark.slow
def test_runs_stop_cleanly_when_the_parent_dies(tmp_path):
    """A parent killed outright (SIGKILL) leaves no orphan training on: its runs end as interrupted."""
    import os
    import signal
    import subprocess
    import sys

    runs = tmp_path / "runs"
    script = (
        "import time\n"
        "from dltui.core.spec import presets\nfrom dltui.core.executors.localpool import Pool\n"
        "from dltui.core.executors.runner import plan\n"
        "if __name__ == '__main__':\n"
        "    plans = plan(presets.load('polynomial'), "
        "{'epochs': 1000000, 'device': 'cpu', 'checkpoint': False})\n"
        f"    pool = Pool(plans, {str(runs)!r}, {str(tmp_path)!r}, 2).start()\n"
        "    while True:\n        pool.drain(timeout=0.2)\n"
    )
    (tmp_path / "parent.py").write_text(script)
    parent = subprocess.Popen([sys.executable, str(tmp_path / "parent.py")])
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(list(runs.glob("*/metrics.jsonl"))) < 2:
            time.sleep(0.2)
        assert len(list(runs.glob("*/metrics.jsonl"))) == 2
    finally:
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
    deadline = time.monotonic() + 60
    statuses: list[str] = []
    while time.monotonic() < deadline:
        statuses = [json.loads(p.read_text())["status"] for p in runs.glob("*/status.json")]
        if statuses and all(s == "interrupted" for s in statuses):
            break
        time.sleep(0.2)
    assert statuses == ["interrupted", "interrupted"]


@pytest.mark.slow
def test_a_closed_output_pipe_does_not_stop_a_jobs_run(tmp_path, runs_dir):
    """`dltui run ... --jobs 2 | head -1`: the reader goes away; both runs still finish and it exits 0."""
    from reliability_helpers import preset_file, run_dirs, start

    preset = preset_file(tmp_path, {"a": 0.01, "b": 0.01}, epochs=30)
    proc = start("run", preset, "--jobs", "2")
    assert proc.stdout.readline()  # the first line, then the reader is gone
    proc.stdout.close()
    assert proc.wait(timeout=120) == 0, proc.stderr.read()
    runs = run_dirs(runs_dir)
    assert [json.loads((d / "status.json").read_text())["status"] for d in runs] == ["finished", "finished"]
    assert all(len((d / "metrics.jsonl").read_text().splitlines()) == 31 for d in runs)  # epoch 0 too


# -- the one loop every driver uses (core/executors/drive.py), on a scripted executor: no processes ----------
class Scripted(EventQueue):
    """An executor whose queue is filled up front (batches, and an ExecutorDone per slot); `stop` and `join`
    are recorded."""

    def __init__(self, batches: list, slots: int = 1):
        q: queue.Queue = queue.Queue()
        for b in batches:
            q.put(b)
        super().__init__(q, slots)
        self.stops: list[str] = []
        self.joined: list[float | None] = []
        self.started = False

    def start(self) -> Scripted:
        self.started = True
        return self

    def stop(self, reason: str = "") -> None:
        self.stops.append(reason)

    def join(self, timeout: float | None = None) -> None:
        self.joined.append(timeout)


def run_events(rid: str, status: str | None = "finished") -> list:
    out = [RunStarted(rid, "p", rid, {}, "cpu", {}), EpochEnded(rid, rid, {"epoch": 1})]
    return out + ([RunEnded(rid, rid, status, "", {})] if status else [])


def test_the_loop_hands_every_event_to_the_sinks_and_ends_with_the_runs_results():
    ex = Scripted([run_events("a"), ExecutorDone(), run_events("b"), ExecutorDone()], slots=2)
    seen: list = []
    outcome = Drive(ex, [seen.append]).run(join_s=1.0)
    assert ex.started and ex.joined == [1.0] and ex.done
    assert [type(e).__name__ for e in seen] == ["RunStarted", "EpochEnded", "RunEnded"] * 2
    assert [(e.run_id, e.status) for e in outcome.ended] == [("a", "finished"), ("b", "finished")]
    assert outcome.error == ""


def test_a_run_the_executor_lost_is_failed_with_its_error():
    ex = Scripted([run_events("a", status=None), ExecutorDone("a training process died (exit code -9)")])
    outcome = Drive(ex).run()
    assert [(e.run_id, e.status, e.reason) for e in outcome.ended] == [
        ("a", "failed", "a training process died (exit code -9)")
    ]
    assert outcome.error == "a training process died (exit code -9)"


def test_a_stop_is_passed_on_once_with_its_reason():
    ex = Scripted([run_events("a", status="interrupted"), ExecutorDone()])
    control = Control(stop=threading.Event(), reason="interrupted by SIGTERM")
    control.stop.set()
    drive = Drive(ex, [], control)
    drive.turn()
    drive.turn()
    assert ex.stops == ["interrupted by SIGTERM"] and drive.done


def test_a_second_ctrl_c_stops_the_waiting_and_goes_on():
    ex = Scripted([run_events("a", status=None)])

    def second_signal(event) -> None:
        raise KeyboardInterrupt("interrupted at once by a second signal")

    with pytest.raises(KeyboardInterrupt):
        Drive(ex, [second_signal]).run()
    assert ex.joined == [2.0]  # a short join: what still runs ends as interrupted
