"""Faults of the machine: a full disk mid-run or on export, a read-only run folder, a model larger than
memory."""

from __future__ import annotations

import json

import pytest
from reliability_helpers import can_mount_tmpfs, dltui_command, preset_file, with_small_disk

needs_tmpfs = pytest.mark.skipif(not can_mount_tmpfs(), reason="needs unshare -rm to mount a small tmpfs")


@needs_tmpfs
def test_a_full_disk_mid_run_ends_it_failed_and_it_resumes_once_there_is_room(tmp_path):
    """200 KB fill up after some hundred epochs: the run ends `failed` with the reason, one line on stderr and
    no traceback, no temp file left; given room, --resume finishes it with every epoch once."""
    runs = tmp_path / "runs"
    preset = preset_file(tmp_path, {"only": 0.01}, epochs=1500)
    script = (
        f"{dltui_command('run', preset, '--runs-dir', runs)} > {tmp_path}/out 2> {tmp_path}/err; "
        f"echo $? > {tmp_path}/rc; "
        f"cp -r {runs} {tmp_path}/full-copy; mount -o remount,size=4m {runs}; "
        f"{dltui_command('run', '--resume', 'latest', '--runs-dir', runs)} > {tmp_path}/out2 2>&1; "
        f"echo $? > {tmp_path}/rc2; "
        f"cp -r {runs} {tmp_path}/after"
    )
    with_small_disk(runs, "200k", script)

    assert (tmp_path / "rc").read_text().strip() == "1"
    err = (tmp_path / "err").read_text()
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1 and "no space left on device" in err
    [full] = (tmp_path / "full-copy").iterdir()
    status = json.loads((full / "status.json").read_text())
    assert status["status"] == "failed" and status["reason"].startswith("no space left on device")
    assert not [p.name for p in full.iterdir() if p.name.endswith(".tmp")]

    assert (tmp_path / "rc2").read_text().strip() == "0", (tmp_path / "out2").read_text()[-2000:]
    [after] = (tmp_path / "after").iterdir()
    assert json.loads((after / "status.json").read_text())["status"] == "finished"
    epochs = [json.loads(line)["epoch"] for line in (after / "metrics.jsonl").read_text().splitlines()]
    assert epochs == list(range(0, 1501))


@needs_tmpfs
def test_export_to_a_full_disk_is_one_line(tmp_path, cli):
    assert cli("run", "polynomial", "-e", "3", "-v", "lr=0.1").exit_code == 0
    out = tmp_path / "out"
    result = with_small_disk(out, "8k", dltui_command("export", "latest", "--to", out, "-f", "csv,json,png"))
    assert result.returncode == 1
    assert result.stderr.startswith("error: cannot write") and "no space left on device" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@needs_tmpfs
def test_a_read_only_run_folder_refuses_the_resume_in_one_line(tmp_path):
    runs = tmp_path / "runs"
    preset = preset_file(tmp_path, {"only": 0.01}, epochs=3)
    script = (
        f"{dltui_command('run', preset, '--runs-dir', runs)} >/dev/null && "
        f'for d in {runs}/*; do sed -i \'s/"finished"/"interrupted"/\' $d/status.json; done && '
        f"mount -o remount,ro {runs} && {dltui_command('run', '--resume', 'latest', '--runs-dir', runs)}"
    )
    result = with_small_disk(runs, "1m", script)
    assert result.returncode == 2
    assert "read-only" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_model_larger_than_memory_is_refused_before_allocation(cli, runs_dir):
    """hidden=[100000000] on MNIST: 79 billion parameters; refused with the count and the memory, no run
    dir."""
    result = cli("run", "mnist-architectures", "-v", "784-300-10", "--set", "hidden=[100000000]")
    assert result.exit_code == 2
    assert "parameters" in result.stderr and "GB" in result.stderr
    assert not runs_dir.exists() or not any(runs_dir.iterdir())


def _no_new_files(monkeypatch):
    """A disk with no room for a new file: every atomic write (temp file + rename) fails with ENOSPC."""
    import errno

    from dltui.core.store import folder as store

    def full(path, data):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(store, "write_atomic", full)


def test_the_ending_is_written_in_place_when_no_new_file_fits(tmp_path, monkeypatch):
    """The run's last status goes over the old status.json's own bytes; it says why, and that it can
    resume."""
    from dltui.core.store.folder import RunStore

    writer = RunStore(tmp_path / "runs").create("p", "v", {"lr": 0.1})
    _no_new_files(monkeypatch)
    writer.set_status("failed", "no space left on device; free some space")
    st = json.loads((writer.path / "status.json").read_text())
    assert st["status"] == "failed" and st["resumable"] is True
    assert not [p for p in writer.path.iterdir() if p.name.endswith(".tmp")]


def test_a_summary_a_full_disk_kept_back_makes_the_run_failed_not_finished(tmp_path, monkeypatch):
    from dltui.core.store.folder import RunStore

    writer = RunStore(tmp_path / "runs").create("p", "v", {"lr": 0.1})
    _no_new_files(monkeypatch)
    writer.write_summary({"epochs": 3})
    writer.set_status("finished")
    st = json.loads((writer.path / "status.json").read_text())
    assert st["status"] == "failed" and "summary.json not written" in st["reason"]
    assert not (writer.path / "summary.json").exists()
