"""The run store reads its own files as untrusted input: damaged files, FIFOs and links out of the runs
dir."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from dltui.core.store.folder import RunStore

GOOD = "20260101-000000-poly-good-0001"
BAD = "20260101-000001-poly-bad-0002"


@pytest.fixture(autouse=True)
def wide(monkeypatch):
    """Wide enough that `runs` keeps the run id column beside a damaged row's long reason."""
    monkeypatch.setenv("COLUMNS", "300")


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """One finished 3-epoch polynomial run, copied by each test that damages it."""
    from typer.testing import CliRunner

    from dltui.cli.main import app

    root = tmp_path_factory.mktemp("one-run")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DLTUI_OFFLINE", "1")
        r = CliRunner().invoke(app, ["run", "polynomial", "-e", "3", "-v", "lr=0.1", "--runs-dir", str(root)])
    assert r.exit_code == 0, r.stdout
    (run,) = [p for p in root.iterdir() if p.is_dir()]
    return run


@pytest.fixture
def two_runs(finished, runs_dir) -> tuple[Path, Path]:
    """A good run and a copy of it to damage, in the test's runs dir."""
    good, bad = runs_dir / GOOD, runs_dir / BAD
    for d in (good, bad):
        shutil.copytree(finished, d, ignore=shutil.ignore_patterns(".lock"))
    started = json.loads((good / "status.json").read_text())["started"]
    _edit(bad / "status.json", lambda s: {**s, "started": started + 1})
    return good, bad


def _edit(path: Path, change) -> None:
    path.write_text(json.dumps(change(json.loads(path.read_text()))))


DAMAGE = {
    "status.json is a list": lambda d: (d / "status.json").write_text("[1,2,3]"),
    "a word for a time": lambda d: _edit(d / "status.json", lambda s: {**s, "started": "yesterday"}),
    "a foreign host's heartbeat is text": lambda d: _edit(
        d / "status.json", lambda s: {**s, "status": "running", "host": "far", "heartbeat": "x"}
    ),
    "resumed is text": lambda d: _edit(d / "status.json", lambda s: {**s, "resumed": "x"}),
    "summary.json is a list": lambda d: (d / "summary.json").write_text("[1]"),
    "a duration is text": lambda d: _edit(d / "summary.json", lambda s: {**s, "duration_s": "x"}),
    "config.json holds a bad value": lambda d: _edit(d / "config.json", lambda s: {**s, "lr": "fast"}),
    "status.json is a FIFO": lambda d: ((d / "status.json").unlink(), os.mkfifo(d / "status.json")),
    "status.json is a folder": lambda d: ((d / "status.json").unlink(), (d / "status.json").mkdir()),
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_run_is_listed_as_damaged_and_every_command_still_works(two_runs, cli, damage):
    """Each command answers without a traceback; the damaged run says what is wrong; the good one is
    untouched."""
    good, bad = two_runs
    DAMAGE[damage](bad)

    runs = cli("runs")
    assert runs.exit_code == 0
    assert "damaged (" in runs.stdout and GOOD in runs.stdout and "finished" in runs.stdout
    assert RunStore(good.parent).get(BAD).state == "damaged"
    assert cli("show", BAD).exit_code == 0
    assert cli("show", GOOD).exit_code == 0
    assert cli("compare", GOOD, BAD).exit_code == 0
    assert cli("export", BAD, "--to", good.parent.parent / "out", "-f", "csv").exit_code == 0
    resume = cli("run", "--resume", BAD)
    assert (
        resume.exit_code == 2 and "resume" in resume.stderr and len(resume.stderr.strip().splitlines()) == 1
    )


def test_a_bad_byte_or_a_bad_line_loses_only_that_line(two_runs, cli):
    """A non-UTF-8 byte, a `null` line and a line of the wrong types are skipped; the other epochs are
    kept."""
    good, bad = two_runs
    (bad / "summary.json").unlink()  # `runs` then reads the metrics to fill the row
    lines = (bad / "metrics.jsonl").read_bytes().splitlines(keepends=True)
    broken = lines[0].replace(b'"train_loss"', b'"train_loss\xff\xfe"', 1)
    (bad / "metrics.jsonl").write_bytes(
        broken + b"null\n" + b'{"epoch": "x"}\n' + b"".join(lines[1:]) + b'{"epoch": 9, "time": "x"}\n'
    )

    epochs = [r["epoch"] for r in RunStore(good.parent).get(BAD).metrics()]
    assert epochs == [0, 1, 2, 3]  # epoch 0 (at init) first
    runs = cli("runs")
    assert runs.exit_code == 0 and BAD in runs.stdout and GOOD in runs.stdout
    for args in (
        ("show", BAD),
        ("compare", GOOD, BAD),
        ("export", BAD, "--to", good.parent.parent / "out", "-f", "csv"),
    ):
        assert cli(*args).exit_code == 0, args


@pytest.mark.parametrize("name", ["latest", "20990101", "20990101-000000-poly-elsewhere-0003"])
def test_a_link_out_of_the_runs_dir_is_never_followed(two_runs, cli, tmp_path, name):
    """A run folder that is a symlink to a folder outside: not listed, not `latest`, not by prefix, not by
    id."""
    good, _ = two_runs
    outside = tmp_path / "outside"
    shutil.copytree(good, outside)
    _edit(outside / "status.json", lambda s: {**s, "status": "interrupted", "started": s["started"] + 1e6})
    (good.parent / "20990101-000000-poly-elsewhere-0003").symlink_to(outside)
    before = sorted(p.name for p in outside.iterdir())

    assert "elsewhere" not in cli("runs").stdout
    shown = cli("show", name)
    assert "elsewhere" not in shown.stdout
    resumed = cli("run", "--resume", name, "--runs-dir", good.parent)
    assert resumed.exit_code == 2
    assert sorted(p.name for p in outside.iterdir()) == before


def _files(run: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in run.iterdir() if p.is_file() and p.name != ".lock"}


def _poke_checkpoint(run: Path, **changes) -> None:
    import torch

    s = torch.load(run / "checkpoint.pt", weights_only=True)
    torch.save({**s, **changes}, run / "checkpoint.pt")


MISFITS = {
    "a changed hidden": lambda run: _edit(run / "config.json", lambda c: {**c, "hidden": [5]}),
    "a negative epoch": lambda run: _poke_checkpoint(run, epoch=-5),
    "an epoch that is text": lambda run: _poke_checkpoint(run, epoch="x"),
    "a step that is a float": lambda run: _poke_checkpoint(run, step=1.5),
    "a model of other shapes": lambda run: _poke_checkpoint(
        run, model={"net.0.weight": __import__("torch").zeros(3, 3)}
    ),
}


@pytest.mark.parametrize("misfit", MISFITS)
def test_a_checkpoint_that_does_not_fit_refuses_the_resume_and_changes_nothing(two_runs, cli, misfit):
    """Exit 2 with one line; every file of the run (status, summary, metrics, checkpoint) is as it was."""
    _, run = two_runs
    _edit(run / "status.json", lambda s: {**s, "status": "interrupted"})
    MISFITS[misfit](run)
    before = _files(run)

    result = cli("run", "--resume", BAD)
    assert result.exit_code == 2
    assert "does not fit" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert _files(run) == before


def test_a_checkpoint_that_fits_resumes(two_runs, cli):
    _, run = two_runs
    _edit(run / "status.json", lambda s: {**s, "status": "interrupted"})
    assert cli("run", "--resume", BAD).exit_code == 0
    assert json.loads((run / "status.json").read_text())["status"] == "finished"


def test_a_checkpoint_that_is_a_fifo_is_refused_at_once(two_runs, cli):
    _, run = two_runs
    _edit(run / "status.json", lambda s: {**s, "status": "interrupted"})
    (run / "checkpoint.pt").unlink()
    os.mkfifo(run / "checkpoint.pt")
    result = cli("run", "--resume", BAD)
    assert result.exit_code == 2 and "checkpoint.pt is not a regular file" in result.stderr


def test_a_checkpoint_linked_out_of_the_run_is_refused(two_runs, cli, tmp_path):
    """A checkpoint.pt that links elsewhere was loaded and resumed from; now it is refused by name."""
    _, run = two_runs
    _edit(run / "status.json", lambda s: {**s, "status": "interrupted"})
    outside = tmp_path / "elsewhere.pt"
    shutil.move(run / "checkpoint.pt", outside)
    (run / "checkpoint.pt").symlink_to(outside)
    result = cli("run", "--resume", BAD)
    assert result.exit_code == 2 and "checkpoint.pt is a link" in result.stderr
    assert json.loads((run / "status.json").read_text())["status"] == "interrupted"
