"""`--engine ray`: a sweep on a real local Ray (one instance for the module) is written and ends as a local
one.

The driver writes every run; workers only send events and checkpoints back. A worker killed mid-run is
sent again from the last checkpoint and its curve joins up; Ctrl-C on the driver ends every run
interrupted and resumable; Ray missing or nobody at the address is bad input.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading

import pytest
from reliability_helpers import finish, lines, preset_file, records, run_dirs, start, status, wait_for

ray = pytest.importorskip("ray")

from dltui.core.executors.localpool import ExecutorDone  # noqa: E402
from dltui.core.executors.raypool import RayPool, Resources  # noqa: E402
from dltui.core.executors.raysession import RaySession  # noqa: E402
from dltui.core.executors.runner import plan  # noqa: E402
from dltui.core.spec import presets  # noqa: E402
from dltui.core.train.events import RunEnded  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def local_ray():
    """One local Ray (2 CPUs) for every test here; its address, for drivers in other processes."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


def folders(runs) -> dict[str, tuple[str, list[str], dict]]:
    """variant -> (status, files, summary) of every run in a runs dir."""
    out = {}
    for run in run_dirs(runs):
        summary = json.loads((run / "summary.json").read_text())
        out[summary["variant"]] = (status(run)["status"], sorted(p.name for p in run.iterdir()), summary)
    return out


def test_a_sweep_on_ray_is_written_as_the_local_pool_writes_it(local_ray, cli, tmp_path):
    local, remote = tmp_path / "local", tmp_path / "ray"
    r1 = cli("run", "polynomial", "--epochs", "6", "--jobs", "2", "--runs-dir", local)
    r2 = cli("run", "polynomial", "--epochs", "6", "--engine", "ray", "--runs-dir", remote)
    assert r1.exit_code == r2.exit_code == 0, r2.output
    assert "runs on a local Ray" in r2.output
    a, b = folders(local), folders(remote)
    assert sorted(a) == sorted(b) == sorted(name for name, _ in presets.load("polynomial").configs({}))
    for v in a:
        assert b[v][:2] == a[v][:2] == ("finished", a[v][1])  # the same files, the same status
        for key in ("final_train_loss", "final_test_loss"):
            assert b[v][2][key] == pytest.approx(a[v][2][key], rel=1e-6), (v, key)
        assert b[v][2]["learned_coefficients"] == pytest.approx(a[v][2]["learned_coefficients"], rel=1e-6)
        assert b[v][2]["node"] and "node" not in a[v][2]  # the one difference: where it ran
    run = run_dirs(remote)[0]
    assert cli("show", run.name, "--runs-dir", remote).exit_code == 0
    assert len(records(run)) == 7  # epoch 0 too


def test_a_worker_killed_mid_run_is_sent_again_and_its_curve_joins(local_ray, tmp_path, runs_dir, data_dir):
    """kill -9 of the Ray worker training a run: the driver starts it again from its last checkpoint."""
    plans = plan(presets.load(str(preset_file(tmp_path, {"a": 0.01}))), {"device": "cpu"})
    pool = RayPool(plans, runs_dir, data_dir, RaySession(None)).start()
    events: list = []

    def drained_until(cond):
        return lambda: bool(events.extend(pool.drain()) or cond())

    try:
        wait_for(
            drained_until(
                lambda: any(
                    (d / "checkpoint.pt").exists() and lines(d / "metrics.jsonl") >= 3
                    for d in run_dirs(runs_dir)
                )
            ),
            "a checkpoint and 3 epochs",
        )
        pool.toggle_pause()  # so that the kill lands mid-run, however fast this machine is
        [run] = run_dirs(runs_dir)
        os.kill(int(status(run)["node_pid"]), signal.SIGKILL)
        wait_for(drained_until(lambda: status(run).get("retries") == 1), "the run sent again")
        pool.toggle_pause()
        at_retry = len(records(run))
        wait_for(drained_until(lambda: len(records(run)) >= at_retry + 3), "3 epochs after the retry")
        pool.stop()
        wait_for(drained_until(lambda: any(isinstance(e, ExecutorDone) for e in events)), "the pool done")
    finally:
        pool.join(10)
    epochs = [r["epoch"] for r in records(run)]
    assert epochs == list(range(len(epochs)))  # joined: no epoch twice, none missing
    steps = [r["step"] for r in records(run)]
    assert steps == [
        4 * e for e in epochs
    ]  # 200 samples, batch 50: the step count goes on from the checkpoint
    assert status(run)["status"] == "interrupted"
    assert [e.status for e in events if isinstance(e, RunEnded)] == ["interrupted"]


def test_a_run_whose_retries_are_used_up_fails_saying_its_node_was_lost(
    local_ray, tmp_path, runs_dir, data_dir
):
    plans = plan(presets.load(str(preset_file(tmp_path, {"a": 0.01}))), {"device": "cpu"})
    pool = RayPool(plans, runs_dir, data_dir, RaySession(None), Resources(retries=0)).start()
    events: list = []
    try:
        wait_for(
            lambda: bool(
                events.extend(pool.drain())
                or any(lines(d / "metrics.jsonl") >= 2 for d in run_dirs(runs_dir))
            ),
            "2 epochs",
        )
        [run] = run_dirs(runs_dir)
        os.kill(int(status(run)["node_pid"]), signal.SIGKILL)
        wait_for(
            lambda: bool(events.extend(pool.drain()) or any(isinstance(e, ExecutorDone) for e in events)),
            "the pool done",
        )
    finally:
        pool.join(10)
    assert status(run)["status"] == "failed"
    assert status(run)["reason"].startswith("node lost (") and status(run)["node"] in status(run)["reason"]
    assert [e.status for e in events if isinstance(e, RunEnded)] == ["failed"]


def test_remote_tasks_stop_when_their_driver_dies(local_ray, tmp_path, runs_dir):
    """A driver killed outright (kill -9) leaves no training on the cluster; its run reads as crashed."""
    from dltui.core.store.folder import RunStore, pid_alive

    proc = start("run", preset_file(tmp_path, {"a": 0.01}), "--engine", "ray", "--address", local_ray)
    wait_for(lambda: any(lines(d / "metrics.jsonl") >= 2 for d in run_dirs(runs_dir)), "2 epochs", proc)
    [run] = run_dirs(runs_dir)
    worker = int(status(run)["node_pid"])
    proc.kill()
    proc.wait()
    wait_for(lambda: not pid_alive(worker), "the Ray worker gone", timeout=60)
    assert RunStore(runs_dir).get(run.name).state == "crashed"


def test_ctrl_c_on_the_driver_ends_every_run_interrupted_and_resumable(local_ray, tmp_path, runs_dir, cli):
    preset = preset_file(tmp_path, {"a": 0.01, "b": 0.01})
    proc = start("run", preset, "--engine", "ray", "--address", local_ray)
    wait_for(
        lambda: (
            len(run_dirs(runs_dir)) == 2 and all(lines(d / "metrics.jsonl") >= 3 for d in run_dirs(runs_dir))
        ),
        "3 epochs in both runs",
        proc,
    )
    proc.send_signal(signal.SIGINT)
    rc, out, err = finish(proc)
    assert rc == 130, err
    assert "Traceback" not in err
    for run in run_dirs(runs_dir):
        assert status(run)["status"] == "interrupted"
        assert "Ctrl-C" in status(run)["reason"]
        assert (run / "checkpoint.pt").exists()
    from dltui.core.executors.runner import prepare_resume
    from dltui.core.store.folder import RunStore

    store = RunStore(runs_dir)
    _, checkpoint = prepare_resume(
        store.get(run_dirs(runs_dir)[0].name), store, tmp_path
    )  # resumable here, locally
    assert checkpoint["epoch"] >= 3


def test_a_stop_request_file_ends_that_ray_run_alone_interrupted_and_resumable(local_ray, tmp_path, runs_dir):
    """`touch <run>/stop-request` in the driver's runs dir: that run's Ray task ends it as Ctrl-C would (its
    epochs and checkpoint kept, resumable); the other run goes on until it is asked too; then the driver exits
    130."""
    from dltui.core.executors.runner import prepare_resume
    from dltui.core.store import stoprequest
    from dltui.core.store.folder import RunStore

    proc = start(
        "run", preset_file(tmp_path, {"a": 0.01, "b": 0.01}), "--engine", "ray", "--address", local_ray
    )
    wait_for(
        lambda: (
            len(run_dirs(runs_dir)) == 2
            and all(
                lines(d / "metrics.jsonl") >= 3 and (d / "checkpoint.pt").exists() for d in run_dirs(runs_dir)
            )
        ),
        "3 epochs and a checkpoint in both",
        proc,
    )
    first, second = run_dirs(runs_dir)
    (first / stoprequest.NAME).touch()
    wait_for(lambda: status(first)["status"] == "interrupted", "the first run interrupted", proc)
    going = lines(second / "metrics.jsonl")
    wait_for(lambda: lines(second / "metrics.jsonl") > going + 2, "the second run going on", proc)
    assert status(second)["status"] == "running" and proc.poll() is None
    (second / stoprequest.NAME).touch()
    rc, out, err = finish(proc)
    assert rc == 130, err
    assert "Traceback" not in err
    store = RunStore(runs_dir)
    for run in (first, second):
        assert status(run)["status"] == "interrupted" and status(run)["reason"] == stoprequest.REASON
        assert not (run / stoprequest.NAME).exists()  # the driver took the request away
        epochs = [r["epoch"] for r in records(run)]
        assert epochs == list(range(len(epochs))) and len(epochs) >= 4
        _, checkpoint = prepare_resume(
            store.get(run.name), store, tmp_path
        )  # resumable from its kept checkpoint
        assert 3 <= checkpoint["epoch"] <= epochs[-1]


def stopped_at_3(tmp_path, runs_dir, data_dir):
    """A local run of 12 epochs stopped at epoch 3 (interrupted, resumable), and its plan."""
    from dltui.core.executors.runner import run_one
    from dltui.core.store.folder import RunStore
    from dltui.core.train.events import EpochEnded
    from dltui.core.train.trainer import Control

    [p] = plan(presets.load(str(preset_file(tmp_path, {"a": 0.01}, epochs=12))), {"device": "cpu"})
    control = Control(stop=threading.Event())

    def stop_at_3(ev) -> None:
        if isinstance(ev, EpochEnded) and ev.record["epoch"] == 3:
            control.stop.set()

    return run_one(p, RunStore(runs_dir), data_dir, [stop_at_3], control), p


def test_a_local_run_stopped_mid_way_goes_on_with_engine_ray_to_the_same_end(
    local_ray, tmp_path, runs_dir, data_dir, cli
):
    """Stopped at epoch 3 here, resumed on Ray: its curve joins and it ends as a run never stopped."""
    from dltui.core.executors.runner import run_one
    from dltui.core.store.folder import RunStore

    stopped, p = stopped_at_3(tmp_path, runs_dir, data_dir)
    reference = run_one(p, RunStore(tmp_path / "reference"), data_dir)
    assert stopped.status == "interrupted"
    result = cli("run", "--resume", stopped.run_id, "--engine", "ray")
    assert result.exit_code == 0, result.output
    run = runs_dir / stopped.run_id
    assert status(run)["status"] == "finished" and status(run)["node"]
    assert [r["epoch"] for r in records(run)] == list(range(0, 13))
    ref = records(tmp_path / "reference" / reference.run_id)
    assert [r["train_loss"] for r in records(run)] == pytest.approx([r["train_loss"] for r in ref], rel=1e-6)


def test_a_best_pt_swapped_for_a_link_stops_the_ray_resume_with_one_line(tmp_path, runs_dir, data_dir):
    """The bytes a Ray task resumes from are read through the safe opener: a link is refused, never
    followed (no Ray needed: the payload is made before any task is sent)."""
    stopped, _ = stopped_at_3(tmp_path, runs_dir, data_dir)
    run = runs_dir / stopped.run_id
    secret = tmp_path / "secret.bin"
    secret.write_bytes(b"not yours")
    (run / "best.pt").unlink(missing_ok=True)
    (run / "best.pt").symlink_to(secret)
    from dltui.core.executors.raypool import resume_payload
    from dltui.core.rules.errors import BadInput

    with pytest.raises(BadInput, match="best.pt.*this run cannot be resumed"):
        resume_payload(run)
    assert "\n" not in str(pytest.raises(BadInput, resume_payload, run).value)


def test_an_address_where_no_ray_answers_is_bad_input(cli, runs_dir):
    result = cli("run", "polynomial", "--engine", "ray", "--address", "127.0.0.1:9")
    assert result.exit_code == 2
    assert "127.0.0.1:9" in result.output and "ray start --head" in result.output
    assert "Traceback" not in result.output
    assert not run_dirs(runs_dir)


def _dltui(args: list[str], prelude: str = "") -> subprocess.CompletedProcess:
    code = (
        f"import sys\n{prelude}\nsys.argv = ['dltui', *{args!r}]\nfrom dltui.__main__ import main\nmain()\n"
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)


def test_engine_ray_without_ray_installed_says_how_to_install_it(runs_dir):
    result = _dltui(
        ["run", "polynomial", "--engine", "ray"], prelude="sys.modules['ray'] = None  # as if not installed"
    )
    assert result.returncode == 2
    assert "pip install -e '.[ray]'" in result.stderr and "Traceback" not in result.stderr
    assert not run_dirs(runs_dir)


def test_help_and_the_local_engine_never_import_ray(tmp_path):
    check = "import atexit; atexit.register(lambda: print('RAY' if 'ray' in sys.modules else 'NO RAY'))"
    for args in (["--help"], ["run", "polynomial", "--epochs", "1", "--runs-dir", str(tmp_path)]):
        result = _dltui(args, prelude=check)
        assert result.returncode == 0, result.stderr
        assert result.stdout.rstrip().endswith("NO RAY"), args


def test_bad_engine_options_are_bad_input(local_ray, cli, runs_dir):
    for args, says in (
        (["--engine", "spark"], "--engine spark"),
        (["--address", "auto"], "goes with --engine ray"),
        (["--engine", "ray", "--jobs", "2"], "--jobs"),
        (["--engine", "ray", "--cpus-per-run", "0"], "--cpus-per-run 0"),
        (["--engine", "ray", "--cpus-per-run", "3"], "no node of the cluster has 3 CPUs (the largest has 2)"),
    ):
        result = cli("run", "polynomial", *args)
        assert result.exit_code == 2 and says in result.output, (args, result.output)
    assert not run_dirs(runs_dir)


async def test_the_lab_runs_its_batches_on_ray(local_ray, runs_dir, data_dir):
    """`dltui tui --engine ray`: r runs the preset's variants as Ray tasks; q mid-run leaves them
    interrupted."""
    from test_tui_app import SIZE, saved_statuses, set_field, statuses, wait_until

    from dltui.cli.jobs import RayChoice, ray_executors
    from dltui.tui.app import LabApp

    executors = ray_executors(RaySession(None), RayChoice(None, Resources()))
    app = LabApp("polynomial", runs_dir, data_dir, executor_factory=executors, device_probe=lambda: "cpu")
    async with app.run_test(size=SIZE) as pilot:
        await set_field(pilot, "epochs", "8")
        await pilot.press("escape", "r")
        await wait_until(pilot, lambda: statuses(app) == ["finished"] * 3, timeout=180)
        assert saved_statuses(runs_dir) == ["finished"] * 3
        assert all(json.loads((d / "summary.json").read_text())["node"] for d in run_dirs(runs_dir))
        await set_field(pilot, "epochs", "1000000")
        await pilot.press("escape", "r")
        await wait_until(pilot, lambda: len(app.batch.list()[0].records) >= 3, timeout=180)
        await pilot.press("q")
    assert app.return_code == 0
    after = saved_statuses(runs_dir)
    assert after.count("finished") == 3 and set(after) == {"finished", "interrupted"}  # nothing left running
