"""Intra-op threads chosen by a run's work, within its share of the cores, and --threads over both."""

from __future__ import annotations

import json

import pytest

from dltui.core.hardware.record import read_hardware
from dltui.core.spec import threads


@pytest.fixture(autouse=True)
def _threads_env(monkeypatch):
    """--threads sets DLTUI_THREADS in this process (the CLI runs in-process here): undone after each test."""
    monkeypatch.setenv("DLTUI_THREADS", "auto")
    monkeypatch.setenv("DLTUI_THREAD_BUDGET", "")


MNIST_MLP = 784 * 300 + 300 + 300 * 10 + 10  # the 784-300-10 MLP's parameters


def test_small_ops_take_one_thread_and_large_ones_their_share():
    toy = threads.flops_per_step(147, 64)
    assert threads.choose(toy, 16) == (1, "small ops (0.1 MFLOP/step)")
    assert threads.choose(threads.flops_per_step(MNIST_MLP, 64), 16)[0] == 1
    full = threads.flops_per_step(MNIST_MLP, 60000)
    assert threads.choose(full, 16)[0] == 16 and threads.choose(full, 3)[0] == 3
    mid = threads.choose(threads.flops_per_step(MNIST_MLP, 256), 16)[0]
    assert 1 < mid < 16  # in between: as many threads as the work keeps busy
    cnn = threads.flops_per_step(20_000, 64, "cnn")
    assert cnn > threads.flops_per_step(20_000, 64) and threads.choose(cnn, 8)[0] > 1


def test_threads_asked_for_win_and_the_share_divides_the_cores():
    assert threads.choose(threads.flops_per_step(MNIST_MLP, 60000), 8, asked=2) == (2, "--threads")
    assert threads.asked({"DLTUI_THREADS": "3"}) == 3 and threads.asked({}) is None
    assert threads.budget({"DLTUI_THREAD_BUDGET": "4"}) == 4
    assert threads.share(2, 8) == 4 and threads.share(3, 8) == 2 and threads.share(16, 8) == 1


def test_a_bad_threads_value_is_one_line_and_exit_2(cli, runs_dir):
    res = cli("run", "toy2d", "-v", "gmm", "--threads", "0")
    assert res.exit_code == 2 and "--threads 0" in res.output and "Traceback" not in res.output
    assert not runs_dir.exists() or not any(runs_dir.iterdir())


def test_runs_started_together_divide_the_cores(cli, runs_dir):
    """--jobs 2: each run's threads are chosen within half the cores; --threads 1 is what each run uses."""
    res = cli("run", "toy2d", "--jobs", "2", "--epochs", "1", "--threads", "1")
    assert res.exit_code == 0, res.output
    infos = [read_hardware(folder).info for folder in runs_dir.iterdir()]
    assert len(infos) == 5
    assert all(i.cores == threads.share(2) and i.threads == 1 and i.why == "--threads" for i in infos)
    for folder in runs_dir.iterdir():
        assert json.loads((folder / "status.json").read_text())["device_name"] == "cpu, 1 thread"


def test_a_batched_group_takes_threads_by_the_work_of_all_its_copies(tmp_path, monkeypatch):
    """Ten MNIST copies trained as one batched model are ten copies' work a step: they thread where one
    copy alone, at batch 64, takes one thread."""
    import torch

    from dltui.core.executors.hardwaresink import HardwareSink
    from dltui.core.spec.config import build_config
    from dltui.core.train.events import RunStarted

    monkeypatch.setenv("DLTUI_HARDWARE", "0")
    monkeypatch.setenv("DLTUI_THREAD_BUDGET", "4")
    cfg = build_config([("t", {"task": "mnist", "hidden": [300], "batch_size": 64})])
    before = torch.get_num_threads()
    chosen = []
    for dirs in ([tmp_path / "one"], [tmp_path / f"copy{i}" for i in range(10)]):
        for d in dirs:
            d.mkdir()
        sink = HardwareSink(cfg, dirs if len(dirs) > 1 else dirs[0])
        info = {"n_params": MNIST_MLP, "batch_size": 64}
        sink(RunStarted("r", "p", "v", {}, "cpu", info))
        sink.close()
        chosen.append(info["threads"])
    assert chosen[0] == 1 and chosen[1] == 4
    assert torch.get_num_threads() == before  # given back at close
