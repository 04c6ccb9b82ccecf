"""Output the way terminal users expect: closed or full streams, NO_COLOR, narrow terminals, ASCII-only
encodings."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from reliability_helpers import dltui_command, run_dirs, shell, status

COLOUR = re.compile(
    r"\x1b\[(3[0-9]|4[0-9]|9[0-7]|38;)"
)  # a foreground or background colour (bold alone is no colour)


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory) -> str:
    root = tmp_path_factory.mktemp("two-runs")
    result = shell(
        dltui_command("run", "polynomial", "-e", "5", "-v", "lr=0.1", "-v", "lr=0.01", "--runs-dir", root),
        env={"DLTUI_OFFLINE": "1"},
    )
    assert result.returncode == 0, result.stderr
    return str(root)


def test_a_closed_stdout_still_trains_and_saves_the_run(runs_dir):
    result = shell(dltui_command("run", "polynomial", "-e", "3", "-v", "lr=0.1") + " >&-")
    assert result.returncode == 0, result.stderr
    [run] = run_dirs(runs_dir)
    assert status(run)["status"] == "finished"


def test_a_closed_stderr_still_gives_bad_input_its_exit_code(runs_dir):
    assert shell(dltui_command("run", "no-such-preset") + " 2>&-").returncode == 2
    assert not runs_dir.exists()


def _in_a_terminal(args: list[str], env: dict[str, str]) -> str:
    """What `dltui ARGS` prints to a pseudo-terminal."""
    import pty

    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "dltui", *args], stdout=follower, stderr=follower, env={**os.environ, **env}
    )
    os.close(follower)
    out = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closes when the process ends
            break
        if not chunk:
            break
        out += chunk
    proc.wait(timeout=120)
    os.close(leader)
    return out.decode("utf-8", "replace")


@pytest.mark.parametrize("command", [["show", "latest"], ["compare", "lr=0.1", "lr=0.01"], ["runs"]])
def test_no_colour_with_no_color_or_into_a_file(two_runs, command):
    """NO_COLOR=1 in a terminal, TERM=dumb, and a pipe: no colour codes; a plain terminal: colour (so the test
    sees it)."""
    args = [*_ids(two_runs, command), "--runs-dir", two_runs]
    assert not COLOUR.search(_in_a_terminal(args, {"NO_COLOR": "1", "TERM": "xterm-256color"}))
    assert not COLOUR.search(_in_a_terminal(args, {"TERM": "dumb"}))
    piped = shell(dltui_command(*args))
    assert piped.returncode == 0 and not COLOUR.search(piped.stdout)
    assert COLOUR.search(_in_a_terminal(args, {"TERM": "xterm-256color"}))


def _ids(root: str, command: list[str]) -> list[str]:
    """The command with variant names (lr=0.1) turned into the ids of the runs in `root`."""
    ids = {status(d)["variant"]: d.name for d in run_dirs(__import__("pathlib").Path(root))}
    return [ids.get(a, a) for a in command]


@pytest.mark.parametrize("columns", ["0", "20"])
def test_a_narrow_terminal_still_shows_the_error_and_the_runs(two_runs, columns):
    bad = shell(dltui_command("run", "no-such-preset"), env={"COLUMNS": columns})
    assert bad.returncode == 2 and "unknown preset 'no-such-preset'" in bad.stderr
    runs = shell(dltui_command("runs", "--runs-dir", two_runs), env={"COLUMNS": columns})
    assert (
        runs.returncode == 0
        and "lr=0.1" in runs.stdout
        and "lr=0.01" in runs.stdout
        and "finish" in runs.stdout
    )


@pytest.mark.parametrize("command", [["show", "latest"], ["compare", "lr=0.1", "lr=0.01"], ["runs"]])
def test_an_ascii_only_output_gets_ascii_markers(two_runs, command):
    result = shell(
        dltui_command(*_ids(two_runs, command), "--runs-dir", two_runs), env={"PYTHONIOENCODING": "ascii"}
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.isascii()
    if command != ["runs"]:
        assert "*" in result.stdout  # the curves' markers


def test_a_full_stdout_is_one_line(two_runs):
    result = shell(dltui_command("runs", "--runs-dir", two_runs) + " > /dev/full")
    assert result.returncode == 1
    assert result.stderr.strip() == "error: cannot write the output: no space left on device"
