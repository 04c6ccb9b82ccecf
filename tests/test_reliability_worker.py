"""The TUI's training process: a SIGTERM or SIGHUP sent to it ends the run in flight as interrupted."""

from __future__ import annotations

import os
import signal

import pytest
from reliability_helpers import (
    load_checkpoint,
    metrics_lines_at_least,
    preset_file,
    records,
    run_dirs,
    status,
    wait_for,
)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_signal_to_the_training_process_ends_the_run_interrupted(tmp_path, runs_dir, data_dir, sig):
    from dltui.core.executors import runner
    from dltui.core.executors.trainingprocess import ExecutorDone, TrainingProcess
    from dltui.core.spec import presets

    plans = runner.plan(presets.load(str(preset_file(tmp_path, {"a": 0.01, "b": 0.01}))))
    worker = TrainingProcess(plans, runs_dir, data_dir, batched="off").start()  # one run after the other
    try:
        wait_for(metrics_lines_at_least(runs_dir, 3), "3 epochs in metrics.jsonl")
        os.kill(worker.process.pid, sig)
        worker.process.join(120)
        assert worker.process.exitcode == 0  # it ended its run and exited on its own
    finally:
        worker.join(1)
    events = worker.drain()
    assert any(isinstance(e, ExecutorDone) and not e.error for e in events)
    [run] = run_dirs(runs_dir)  # the second variant never started
    st = status(run)
    assert st["status"] == "interrupted" and signal.Signals(sig).name in st["reason"]
    assert load_checkpoint(run)["epoch"] == records(run)[-1]["epoch"]


def test_a_signal_to_a_batched_training_process_ends_every_run_of_its_group_interrupted(
    tmp_path, runs_dir, data_dir
):
    from dltui.core.executors import runner
    from dltui.core.executors.trainingprocess import TrainingProcess
    from dltui.core.spec import presets

    plans = runner.plan(presets.load(str(preset_file(tmp_path, {"a": 0.01, "b": 0.003}))))
    worker = TrainingProcess(plans, runs_dir, data_dir).start()  # the lab's default: batched
    try:
        wait_for(metrics_lines_at_least(runs_dir, 3), "3 epochs in metrics.jsonl")
        os.kill(worker.process.pid, signal.SIGTERM)
        worker.process.join(120)
        assert worker.process.exitcode == 0
    finally:
        worker.join(1)
    runs = run_dirs(runs_dir)
    assert len(runs) == 2  # trained together
    for run in runs:
        st = status(run)
        assert st["status"] == "interrupted" and "SIGTERM" in st["reason"]
        assert load_checkpoint(run)["epoch"] == records(run)[-1]["epoch"]
