"""Shared fixtures: every test gets its own runs dir and data dir, and never touches ./runs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# MKL's conditional numerical reproducibility: the same float results on every CPU (with AVX-512 MKL takes
# another
# summation order, and the polynomial's chaotic lr=0.1 run drifts from the seed's table by epoch 500). Set
# before any
# test imports torch; subprocesses inherit it.
os.environ.setdefault("MKL_CBWR", "COMPATIBLE")


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path, monkeypatch):
    runs = tmp_path / "runs"
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.setenv("DLTUI_RUNS_DIR", str(runs))
    monkeypatch.setenv("DLTUI_DATA_DIR", str(data))
    monkeypatch.setenv("DLTUI_OFFLINE", "1")  # tests never try to download
    monkeypatch.setenv("COLUMNS", "160")
    threads = _torch_threads()
    yield
    if threads is not None:  # a run in this process sets torch's threads by its work: never for the next test
        import torch

        torch.set_num_threads(threads)


def _torch_threads() -> int | None:
    import sys

    return sys.modules["torch"].get_num_threads() if "torch" in sys.modules else None


@pytest.fixture
def runs_dir() -> Path:
    return Path(os.environ["DLTUI_RUNS_DIR"])


@pytest.fixture
def data_dir() -> Path:
    return Path(os.environ["DLTUI_DATA_DIR"])


@pytest.fixture
def cli():
    """Invoke `dltui ARGS...` in-process; returns typer's Result (exit_code, stdout, stderr)."""
    from typer.testing import CliRunner

    from dltui.cli.main import app

    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)

    return invoke


@pytest.fixture(scope="module")
def poly(tmp_path_factory) -> Path:
    """A runs dir with the polynomial preset's three variants, 20 epochs each (made once per test module)."""
    from typer.testing import CliRunner

    from dltui.cli.main import app

    root = tmp_path_factory.mktemp("poly-runs")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DLTUI_OFFLINE", "1")
        args = ["run", "polynomial", "--epochs", "20", "--runs-dir", str(root), "--data-dir", str(root)]
        r = CliRunner().invoke(app, args, catch_exceptions=False)
    assert r.exit_code == 0, r.stdout
    return root
