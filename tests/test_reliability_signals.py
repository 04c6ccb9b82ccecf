"""Signals and kill -9 on a real `python -m dltui run` process, and resuming what they left behind."""

from __future__ import annotations

import signal

import pytest
from reliability_helpers import (
    finish,
    lines,
    load_checkpoint,
    metrics_lines_at_least,
    preset_file,
    records,
    run_dirs,
    start,
    status,
    strict_json,
    wait_for,
)


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_signal_ends_the_run_interrupted_with_its_checkpoint(tmp_path, runs_dir, sig, code):
    """The run in flight ends `interrupted` with the epoch in flight checkpointed; later variants never
    start."""
    preset = preset_file(tmp_path, {"first": 0.01, "second": 0.01})
    proc = start("run", preset, "--batched", "off")  # one after the other (batched: test_reliability_worker)
    wait_for(metrics_lines_at_least(runs_dir, 3), "3 epochs in metrics.jsonl", proc)
    proc.send_signal(sig)
    rc, out, err = finish(proc)

    assert rc == code
    assert "Traceback" not in err
    [run] = run_dirs(runs_dir)  # the second variant was never started
    st = status(run)
    assert st["status"] == "interrupted"
    assert signal.Signals(sig).name in st["reason"]
    recs = records(run)
    assert [r["epoch"] for r in recs] == list(range(len(recs)))
    ckpt = load_checkpoint(run)
    # Written at the stop, not by the once-a-second cadence: it holds the last epoch and the one in flight.
    assert ckpt["epoch"] == recs[-1]["epoch"]
    assert ckpt["step"] >= recs[-1]["step"]
    assert "partial" in ckpt
    strict_json((run / "summary.json").read_text())


def test_a_second_ctrl_c_exits_at_once_with_readable_files(tmp_path, runs_dir):
    """Two Ctrl-Cs back to back: exit 130, and every file left is whole, strict JSON."""
    preset = preset_file(tmp_path, {"only": 0.01})
    proc = start("run", preset)
    wait_for(metrics_lines_at_least(runs_dir, 3), "3 epochs in metrics.jsonl", proc)
    proc.send_signal(signal.SIGINT)
    proc.send_signal(signal.SIGINT)
    rc, _, err = finish(proc)

    assert rc == 130
    assert "Traceback" not in err
    [run] = run_dirs(runs_dir)
    assert status(run)["status"] == "interrupted"
    recs = records(run)
    assert [r["epoch"] for r in recs] == list(range(len(recs)))
    load_checkpoint(run)


def test_kill_9_reads_as_crashed_and_resumes_to_the_end(tmp_path, runs_dir, cli):
    """kill -9 keeps every finished epoch; `runs` and `show` say crashed; --resume finishes with joined
    curves."""
    preset = preset_file(tmp_path, {"only": 0.01}, n=500, bs=2, epochs=12)
    proc = start("run", preset)
    wait_for(metrics_lines_at_least(runs_dir, 3), "3 epochs in metrics.jsonl", proc)
    proc.kill()
    finish(proc)

    [run] = run_dirs(runs_dir)
    before = records(run)  # every line whole: at most the epoch in flight is lost
    assert [r["epoch"] for r in before] == list(range(len(before)))
    assert status(run)["status"] == "running"
    listing = cli("runs")
    assert listing.exit_code == 0 and "crashed" in listing.stdout
    shown = cli("show", run.name)
    assert shown.exit_code == 0 and "crashed" in shown.stdout
    assert load_checkpoint(run)["epoch"] <= before[-1]["epoch"]

    resumed = cli("run", "--resume", run.name)
    assert resumed.exit_code == 0, resumed.output
    after = records(run)
    assert [r["epoch"] for r in after] == list(range(0, 13))
    assert [r["step"] for r in after] == [250 * e for e in range(0, 13)]
    assert status(run)["status"] == "finished"
    assert strict_json((run / "summary.json").read_text())["epochs"] == 12


def test_resume_after_ctrl_c_continues_mid_epoch_exactly(tmp_path, runs_dir, cli, monkeypatch):
    """Interrupted mid-epoch and resumed, the run's curves equal those of a run never interrupted."""
    preset = preset_file(tmp_path, {"only": 0.01}, n=500, bs=2, epochs=8)
    proc = start("run", preset)
    wait_for(metrics_lines_at_least(runs_dir, 2), "2 epochs in metrics.jsonl", proc)
    proc.send_signal(signal.SIGINT)
    assert finish(proc)[0] == 130
    [run] = run_dirs(runs_dir)
    assert status(run)["status"] == "interrupted"

    assert cli("run", "--resume", run.name).exit_code == 0
    resumed = records(run)
    assert [r["epoch"] for r in resumed] == list(range(0, 9))
    assert status(run)["status"] == "finished"
    assert status(run)["resumed"] == 1

    monkeypatch.setenv("DLTUI_RUNS_DIR", str(tmp_path / "reference"))
    assert cli("run", preset).exit_code == 0
    [ref] = run_dirs(tmp_path / "reference")
    reference = records(ref)
    for key in ("step", "train_loss", "test_loss"):
        assert [r[key] for r in resumed] == pytest.approx([r[key] for r in reference], rel=1e-6), key


def test_a_closed_output_pipe_does_not_stop_training(tmp_path, runs_dir):
    """`dltui run ... | head -1`: the reader goes away, the runs still finish and exit 0."""
    preset = preset_file(tmp_path, {"a": 0.01, "b": 0.01}, epochs=30)
    proc = start("run", preset)
    assert proc.stdout.readline()  # the first line, then the reader is gone
    proc.stdout.close()
    assert proc.wait(timeout=120) == 0, proc.stderr.read()
    runs = run_dirs(runs_dir)
    assert [status(d)["status"] for d in runs] == ["finished", "finished"]
    assert all(len(records(d)) == 31 for d in runs)  # epoch 0 too


def test_sigterm_with_jobs_ends_every_run_interrupted(tmp_path, runs_dir):
    """`--jobs 2`: a SIGTERM to dltui stops both training processes; each run ends interrupted; exit 143."""
    preset = preset_file(tmp_path, {"a": 0.01, "b": 0.01})
    proc = start("run", preset, "--jobs", "2")
    wait_for(
        lambda: (
            len(run_dirs(runs_dir)) == 2 and all(lines(r / "metrics.jsonl") >= 3 for r in run_dirs(runs_dir))
        ),
        "3 epochs in both runs",
        proc,
    )
    proc.send_signal(signal.SIGTERM)
    rc, _, err = finish(proc)

    assert rc == 143
    assert "Traceback" not in err
    for run in run_dirs(runs_dir):
        assert status(run)["status"] == "interrupted"
        strict_json((run / "summary.json").read_text())
