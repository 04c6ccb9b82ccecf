"""Faults inside runs: divergence, exceptions and CUDA OOM, ended statuses, torn files, unsafe names and
checkpoints."""

from __future__ import annotations

import json
import os
import re
import signal
from pathlib import Path

import pytest
import torch
from reliability_helpers import load_checkpoint, preset_file, records, run_dirs, status, strict_json

PACKAGE = Path(__file__).resolve().parents[1]


def by_variant(runs_dir: Path) -> dict[str, Path]:
    return {status(d)["variant"]: d for d in run_dirs(runs_dir)}


def test_divergence_is_a_result_and_the_other_runs_go_on(tmp_path, runs_dir, cli):
    """lr too large: that run ends `diverged` with the epochs before it kept; exit 0; no NaN in any JSON."""
    preset = preset_file(tmp_path, {"blows-up": 0.5, "fine": 0.0001}, loss="mse", epochs=20)
    result = cli("run", preset)

    assert result.exit_code == 0
    runs = by_variant(runs_dir)
    assert status(runs["blows-up"])["status"] == "diverged"
    assert "non-finite" in status(runs["blows-up"])["reason"]
    assert status(runs["fine"])["status"] == "finished"
    recs = records(runs["blows-up"])
    assert 1 < len(recs) < 20 and recs[-1]["train_loss"] is None
    assert all(r["train_loss"] is not None for r in recs[:-1])
    assert len(records(runs["fine"])) == 21  # epoch 0 too
    for path in runs_dir.rglob("*.json*"):
        for line in path.read_text().splitlines():
            if line.strip():
                assert not re.search(r"\b(NaN|Infinity)\b", line), path
    for d in runs.values():
        strict_json((d / "summary.json").read_text())


@pytest.mark.parametrize(
    "error",
    [
        torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
        RuntimeError("something broke in the forward pass"),
    ],
)
def test_an_exception_in_a_run_fails_that_run_only(tmp_path, runs_dir, cli, monkeypatch, error):
    """A run whose forward raises ends `failed` with the reason; the next variant runs; exit code 1."""
    from dltui.core.train import trainer as engine

    real_build = engine.build_model

    def build(cfg, data, device):
        model = real_build(cfg, data, device)
        if cfg.lr == 0.01:

            def broken(*args):
                raise error

            model.forward = broken
        return model

    monkeypatch.setattr(engine, "build_model", build)
    result = cli("run", preset_file(tmp_path, {"broken": 0.01, "healthy": 0.1}, epochs=3))

    assert result.exit_code == 1
    runs = by_variant(runs_dir)
    st = status(runs["broken"])
    assert st["status"] == "failed"
    assert str(error) in st["reason"]
    if isinstance(error, torch.cuda.OutOfMemoryError):
        assert "smaller batch_size" in st["reason"]
    assert "Traceback" in (runs["broken"] / "traceback.txt").read_text()
    assert status(runs["healthy"])["status"] == "finished"
    assert len(records(runs["healthy"])) == 4  # epoch 0 too


def test_an_ended_status_is_never_overwritten(tmp_path):
    from dltui.core.store.folder import RunStore

    writer = RunStore(tmp_path / "runs").create("p", "v", {"lr": 0.1})
    writer.set_status("finished")
    for later in ("running", "failed", "interrupted"):
        writer.set_status(later, "too late")
    st = status(writer.path)
    assert st["status"] == "finished" and "reason" not in st


def test_a_second_signal_mid_run_ends_it_at_once(tmp_path, runs_dir, cli, monkeypatch):
    """The first Ctrl-C asks for a stop; a second one arriving before the stop is reached ends the run
    there."""
    from dltui.core.train import trainer as engine

    real_after_epoch = engine.Trainer.after_epoch

    def after_epoch(self, record):
        real_after_epoch(self, record)
        if record["epoch"] == 2:
            signal.raise_signal(signal.SIGINT)
            assert self.control.stop.is_set()
            signal.raise_signal(signal.SIGINT)  # raises KeyboardInterrupt here

    monkeypatch.setattr(engine.Trainer, "after_epoch", after_epoch)
    result = cli("run", preset_file(tmp_path, {"a": 0.01, "b": 0.01}, epochs=50), "--batched", "off")

    assert result.exit_code == 130
    [run] = run_dirs(runs_dir)
    assert status(run)["status"] == "interrupted"
    assert [r["epoch"] for r in records(run)] == [0, 1, 2]
    strict_json((run / "summary.json").read_text())
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the CLI put the handlers back


def test_readers_skip_a_cut_off_last_line(tmp_path, runs_dir, cli):
    """A crash mid-write leaves half a line: runs, show and resume read past it; every file stays valid
    JSON."""
    assert cli("run", preset_file(tmp_path, {"only": 0.1}, epochs=4)).exit_code == 0
    [run] = run_dirs(runs_dir)
    with open(run / "metrics.jsonl", "a") as f:
        f.write('{"epoch": 5, "train_loss": 0.1')

    from dltui.core.store.folder import RunStore

    info = RunStore(runs_dir).get(run.name)
    assert [r["epoch"] for r in info.metrics()] == [0, 1, 2, 3, 4]
    assert cli("runs").exit_code == 0
    assert cli("show", run.name).exit_code == 0
    for name in ("config.json", "status.json", "summary.json"):
        strict_json((run / name).read_text())
    assert not list(run.glob(".*.tmp"))  # temp files were renamed into place


def test_resume_drops_lines_after_the_checkpoint_and_cut_off_lines(tmp_path, runs_dir, cli):
    """A crashed run's metrics past its checkpoint (and a torn line) are dropped so the resumed curve joins
    up."""
    assert cli("run", preset_file(tmp_path, {"only": 0.1}, epochs=6)).exit_code == 0
    [run] = run_dirs(runs_dir)
    full = records(run)
    # As if kill -9 hit while writing a 7th line, the last checkpoint being from epoch 3 (at most one a
    # second).
    torch.save(_checkpoint_at(tmp_path, 3), run / "checkpoint.pt")
    st = status(run)
    st.update(status="running", pid=2**22 + 12345)  # no such process
    (run / "status.json").write_text(json.dumps(st))
    (run / "summary.json").unlink()
    with open(run / "metrics.jsonl", "a") as f:
        f.write('{"epoch": 7, "train_lo')

    result = cli("run", "--resume", run.name)
    assert result.exit_code == 0, result.output
    after = records(run)
    assert [r["epoch"] for r in after] == [0, 1, 2, 3, 4, 5, 6]
    assert [r["train_loss"] for r in after] == pytest.approx([r["train_loss"] for r in full], rel=1e-6)
    assert status(run)["status"] == "finished"


def _checkpoint_at(tmp_path: Path, epochs: int) -> dict:
    """The checkpoint the same run writes when it ends at `epochs`."""
    from dltui.core.spec.config import build_config
    from dltui.core.train.trainer import Trainer

    cfg = build_config(
        [
            (
                "test",
                {
                    "task": "polynomial",
                    "hidden": [],
                    "loss": "smooth_l1",
                    "n_samples": 200,
                    "batch_size": 50,
                    "epochs": epochs,
                    "seed": 2020,
                    "lr": 0.1,
                },
            )
        ]
    )
    out = tmp_path / f"ck{epochs}"
    out.mkdir()
    Trainer(cfg, run_id="x", run_dir=out).run()
    return load_checkpoint(out)


@pytest.mark.parametrize("name", ["../x", "..", "/etc/passwd", "a/b", "x/../../y", ".hidden", "~"])
def test_run_names_stay_inside_the_runs_dir(cli, runs_dir, name):
    for args in (("show", name), ("run", "--resume", name)):
        result = cli(*args)
        assert result.exit_code == 2, args
        assert result.stderr.count("\n") == 1 and "error:" in result.stderr
        assert "Traceback" not in result.output


def test_an_unsafe_checkpoint_is_refused_and_never_runs(tmp_path, runs_dir, cli):
    """A checkpoint.pt carrying a pickled callable is refused (weights_only=True): exit 2, nothing
    executed."""
    assert cli("run", preset_file(tmp_path, {"only": 0.1}, epochs=2)).exit_code == 0
    [run] = run_dirs(runs_dir)
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.mkdir, (str(marker),))

    ckpt = load_checkpoint(run)
    ckpt["model"] = Evil()
    torch.save(ckpt, run / "checkpoint.pt")
    st = status(run)
    st["status"] = "interrupted"
    (run / "status.json").write_text(json.dumps(st))

    result = cli("run", "--resume", run.name)
    assert result.exit_code == 2
    assert "cannot be loaded safely" in result.stderr
    assert not marker.exists()
    assert status(run)["status"] == "interrupted"  # refused before anything was touched


@pytest.mark.parametrize(
    "state, words",
    [("finished", "nothing to resume"), ("diverged", "nothing to resume"), ("running", "still running")],
)
def test_resume_refuses_runs_that_are_not_interrupted_or_crashed(tmp_path, runs_dir, cli, state, words):
    assert cli("run", preset_file(tmp_path, {"only": 0.1}, epochs=2)).exit_code == 0
    [run] = run_dirs(runs_dir)
    st = status(run)
    st.update(status=state, pid=os.getpid())  # `running` in a live process
    (run / "status.json").write_text(json.dumps(st))
    result = cli("run", "--resume", run.name)
    assert result.exit_code == 2
    assert words in result.stderr
    assert status(run)["status"] == state


def test_checkpoints_and_configs_are_read_safely():
    """torch.load only with weights_only=True; configs only through tomllib or json; no eval/exec/pickle."""
    sources = [p for d in ("cli", "core", "tui", "presets") for p in (PACKAGE / d).rglob("*.py")]
    assert sources
    for path in sources:
        text = path.read_text()
        for call in re.findall(r"torch\.load\([^)]*\)", text):
            assert "weights_only=True" in call, (path, call)
        assert not re.search(
            r"(?<![.\w])(eval|exec)\(|(?<![\w])pickle\.loads?\(|yaml\.(unsafe_)?load\(", text
        ), path


@pytest.mark.parametrize(
    "pid, proc, state",
    [
        (os.getpid(), "same", "running"),
        (os.getpid(), "another-boot:42", "crashed"),  # a power cut, then the pid was given to someone else
        (2**22 + 12345, None, "crashed"),  # no such process
    ],
)
def test_a_running_run_whose_process_is_gone_reads_as_crashed(tmp_path, pid, proc, state):
    from dltui.core.store.folder import RunStore, process_stamp

    store = RunStore(tmp_path / "runs")
    writer = store.create("p", "v", {"lr": 0.1})
    st = status(writer.path)
    st.update(pid=pid, proc=process_stamp(pid) if proc == "same" else proc)
    (writer.path / "status.json").write_text(json.dumps(st))
    assert store.get(writer.run_id).state == state


def test_long_epochs_keep_the_heartbeat_fresh(tmp_path, monkeypatch):
    """Progress within an epoch refreshes status.json's heartbeat, so another host does not read it as
    crashed."""
    from dltui.core.executors.runner import StoreSink
    from dltui.core.store.folder import RunStore, RunWriter
    from dltui.core.train.events import Progress

    monkeypatch.setattr(RunWriter, "HEARTBEAT_S", 0.0)
    writer = RunStore(tmp_path / "runs").create("p", "v", {"lr": 0.1})
    first = status(writer.path)["heartbeat"]
    StoreSink(writer)(Progress(writer.run_id, "v", 1, 10, 0.5, 1.0, 2.0))
    assert status(writer.path)["heartbeat"] > first
    assert status(writer.path)["status"] == "running"
