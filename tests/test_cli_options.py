"""The options several commands share are declared once (cli/options.py): every command that takes one shows
the same flags and help for it."""

from __future__ import annotations

import typer

from dltui.cli import options
from dltui.cli.main import app


def _params(flag: str) -> dict[str, object]:
    """command name -> its click parameter that has `flag`."""
    group = typer.main.get_command(app)
    out = {}
    for name, cmd in group.commands.items():
        for p in cmd.params:
            if flag in p.opts:
                out[name] = p
    return out


def test_every_command_with_a_runs_dir_takes_the_one_option():
    found = _params("--runs-dir")
    assert set(found) == {"tui", "run", "show", "compare", "export", "lrfind", "runs", "watch"}
    assert {p.help for p in found.values()} == {options.RunsDir.help}


def test_the_data_dir_and_the_engine_options_are_the_same_wherever_they_appear():
    for flag, opt in (
        ("--data-dir", options.DataDir),
        ("--engine", options.Engine),
        ("--address", options.Address),
        ("--gpus-per-run", options.GpusPerRun),
        ("--cpus-per-run", options.CpusPerRun),
    ):
        found = _params(flag)
        assert len(found) >= 2, flag
        assert {p.help for p in found.values()} == {opt.help}, flag


def test_device_and_x_read_the_same_in_every_command():
    assert {p.help for p in _params("--device").values()} == {options.DEVICES}
    assert set(_params("--x")) == {"compare", "export"}
    assert {p.help for p in _params("--x").values()} == {options.X.help}
