"""One process owns a run: a second resume is refused while the first holds the run, and signals are recorded
as they came."""

from __future__ import annotations

import os
import signal
import socket

from reliability_helpers import (
    finish,
    metrics_lines_at_least,
    preset_file,
    records,
    run_dirs,
    start,
    status,
    wait_for,
)


def _interrupted_run(tmp_path, runs_dir):
    proc = start("run", preset_file(tmp_path, {"only": 0.01}, n=500, bs=2))
    wait_for(metrics_lines_at_least(runs_dir, 2), "2 epochs in metrics.jsonl", proc)
    proc.send_signal(signal.SIGINT)
    assert finish(proc)[0] == 130
    [run] = run_dirs(runs_dir)
    return run


def test_a_second_resume_of_a_run_is_refused_while_the_first_holds_it(tmp_path, runs_dir, cli):
    """The second `--resume` exits 2 naming the first's pid and host; its epochs never mix in; kill -9 frees
    the run."""
    run = _interrupted_run(tmp_path, runs_dir)
    first = start("run", "--resume", run.name)
    wait_for(
        lambda: status(run)["status"] == "running" and status(run)["pid"] == first.pid,
        "the first resume to run",
        first,
    )

    second = cli("run", "--resume", run.name)
    assert second.exit_code == 2
    assert f"run {run.name} is being resumed by pid {first.pid} on {socket.gethostname()}" in second.stderr
    first.kill()  # kill -9: the OS lock goes with the process
    finish(first)
    epochs = [r["epoch"] for r in records(run)]
    assert epochs == list(range(len(epochs)))

    third = start("run", "--resume", run.name)
    wait_for(lambda: status(run)["pid"] == third.pid, "the resume after kill -9 to run", third)
    third.send_signal(signal.SIGINT)
    assert finish(third)[0] == 130
    assert status(run)["status"] == "interrupted"


def test_a_double_sigterm_is_recorded_as_what_it_was(tmp_path, runs_dir):
    """Two SIGTERMs: exit 143, and the run's reason names SIGTERM, never a Ctrl-C that never came."""
    proc = start("run", preset_file(tmp_path, {"only": 0.01}))
    wait_for(metrics_lines_at_least(runs_dir, 3), "3 epochs in metrics.jsonl", proc)
    proc.send_signal(signal.SIGTERM)
    proc.send_signal(signal.SIGTERM)
    rc, _, err = finish(proc)

    assert rc == 143 and "Traceback" not in err
    [run] = run_dirs(runs_dir)
    st = status(run)
    assert st["status"] == "interrupted"
    assert "SIGTERM" in st["reason"] and "Ctrl-C" not in st["reason"]


def test_a_signal_after_the_last_run_ended_leaves_the_exit_code_alone(tmp_path, runs_dir, cli, monkeypatch):
    """Every run finished, then a SIGTERM arrives before dltui exits: exit 0, as the runs say."""
    from dltui.core.executors import runner

    real = runner.run_one

    def run_then_sigterm(*args, **kwargs):
        ended = real(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGTERM)  # handled by dltui's own handler: the run is already over
        return ended

    monkeypatch.setattr(runner, "run_one", run_then_sigterm)
    result = cli("run", preset_file(tmp_path, {"only": 0.01}, epochs=2))
    assert result.exit_code == 0
    assert [status(d)["status"] for d in run_dirs(runs_dir)] == ["finished"]
