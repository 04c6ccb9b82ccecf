"""Every entry point is guarded: bad input before the lab opens, no terminal, and `--runs-dir` before the
command. Each runs `python -m dltui` as a user would (stdin from /dev/null, output to pipes)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def dltui(*args, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """`python -m dltui ARGS` with no terminal: stdin /dev/null, stdout and stderr pipes."""
    return subprocess.run(
        [sys.executable, "-m", "dltui", *map(str, args)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def one_error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_the_lab_with_no_command_refuses_a_bad_setting_in_one_line(tmp_path):
    """`DLTUI_TENSORBOARD_DIR=afile dltui`: the no-command callback is guarded like `dltui tui`."""
    blocker = tmp_path / "afile"
    blocker.write_text("not a folder")
    for args in ([], ["tui"]):
        err = one_error_line(dltui(*args, env={"DLTUI_TENSORBOARD_DIR": str(blocker)}))
        assert "DLTUI_TENSORBOARD_DIR" in err and "cannot write" in err


@pytest.mark.parametrize("args", [[], ["tui"], ["tui", "polynomial"]])
def test_the_lab_without_a_terminal_exits_2_in_one_line(args):
    """It used to spin at 100% CPU forever, reading keys from /dev/null."""
    err = one_error_line(dltui(*args, timeout=60))
    assert "needs a terminal" in err and "dltui run" in err


def test_watch_without_a_terminal_exits_2_in_one_line(poly):
    err = one_error_line(dltui("watch", "polynomial", "--runs-dir", poly, timeout=60))
    assert "`dltui watch` needs a terminal" in err and "stdin and stdout" in err


def test_watch_with_a_bad_target_says_that_first(tmp_path):
    """What is wrong with the input comes before the missing terminal."""
    err = one_error_line(dltui("watch", "nosuch", "--runs-dir", tmp_path / "empty", timeout=60))
    assert "no run 'nosuch'" in err


def test_the_runs_dir_may_come_before_the_command(poly, cli, monkeypatch, tmp_path):
    monkeypatch.setenv("DLTUI_RUNS_DIR", str(tmp_path / "elsewhere"))  # restored after the test
    result = cli("--runs-dir", poly, "runs", "--all")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.count("polynomial") >= 3
    # after the command too, and there the command's own wins
    result = cli("--runs-dir", tmp_path / "empty", "runs", "--all", "--runs-dir", poly)
    assert result.exit_code == 0 and result.stdout.count("polynomial") >= 3


def test_the_runs_dir_before_the_command_reaches_show(poly):
    result = dltui("--runs-dir", poly, "show", "latest")
    assert result.returncode == 0, result.stderr
    assert "polynomial" in result.stdout


def test_ids_of_300_character_names_keep_the_variant_and_the_suffix_and_show_works(tmp_path, cli, runs_dir):
    """The 150-character cut used to drop both; `show` then failed with "file name too long"."""
    preset = tmp_path / "long.toml"
    preset.write_text(
        f'name = "{"p" * 300}"\n[base]\ntask = "polynomial"\nhidden = []\nloss = "mse"\nepochs = 2\n'
        f'n_samples = 50\nbatch_size = 10\n[[variants]]\nname = "{"v" * 300}"\nlr = 0.01\n'
        '[[variants]]\nname = "lr=0.1"\nlr = 0.1\n'
    )
    assert cli("run", preset).exit_code == 0
    ids = sorted(p.name for p in runs_dir.iterdir())
    assert len(ids) == 2 and all(len(i) <= 150 for i in ids)
    by_variant = {i.split("-")[4][:6]: i for i in ids}  # STAMP is 3 parts; then PRESET, VARIANT, RAND
    assert set(by_variant) == {"vvvvvv", "lr=0.1"}
    for run_id in ids:
        assert len(run_id.rsplit("-", 1)[1]) == 4  # the random suffix
        result = cli("show", run_id)
        assert result.exit_code == 0, result.stderr
        assert "file name too long" not in result.stderr
