"""Every preset's main screen after a short scripted run, at 80x24 and 140x45, grouped by preset: what a
learner sees first. Regenerate with `--snapshot-update` only after looking at the changed pictures
(cairosvg turns the SVGs under __snapshots__ into PNGs)."""

from __future__ import annotations

import pytest
from preset_events import preset_script
from test_cifar_data import write_cifar
from test_mnist_data import write_mnist
from test_tui_snapshots import CPU, settle
from tui_fakes import fake_worker

from dltui.core.spec import presets as presets_mod
from dltui.tui.app import LabApp

SIZES = pytest.mark.parametrize("size", [(80, 24), (140, 45)], ids=["80x24", "140x45"])


@pytest.fixture(autouse=True)
def data_files(data_dir):
    """Small MNIST and CIFAR files, so that the lab's checks before a run pass (the runs are scripted)."""
    write_mnist(data_dir, n_train=1000)
    write_cifar(data_dir)


def lab(name: str) -> LabApp:
    preset = presets_mod.load(name)
    return LabApp(name, executor_factory=fake_worker(preset_script(preset)), device_probe=lambda: CPU)


async def ran(pilot) -> None:
    await settle(pilot)
    await pilot.press("r")
    await settle(pilot, lambda app: app.batch is not None and app.batch.done, timeout=120)


def shot(snap_compare, name: str, size) -> bool:
    return snap_compare(lab(name), terminal_size=size, run_before=ran)


@SIZES
def test_polynomial(snap_compare, size):
    assert shot(snap_compare, "polynomial", size)


@SIZES
def test_mnist_zero_init(snap_compare, size):
    assert shot(snap_compare, "mnist-zero-init", size)


@SIZES
def test_mnist_stratified(snap_compare, size):
    assert shot(snap_compare, "mnist-stratified", size)


@SIZES
def test_vanishing_gradients(snap_compare, size):
    """Sigmoid and the focus run (ReLU, He init) side by side, each titled with its layer-1/last-layer ratio.
    (This snapshot once came out differently from run to run: plotext ordered repeated ticks by the string
    hash; see tui/views/__init__.py.)"""
    assert shot(snap_compare, "vanishing-gradients", size)


@SIZES
def test_mnist_lr_sweep(snap_compare, size):
    assert shot(snap_compare, "mnist-lr-sweep", size)


@SIZES
def test_edge_of_stability(snap_compare, size):
    assert shot(snap_compare, "edge-of-stability", size)


@SIZES
def test_adam_vs_sgd(snap_compare, size):
    assert shot(snap_compare, "adam-vs-sgd", size)


@SIZES
def test_mnist_batch(snap_compare, size):
    assert shot(snap_compare, "mnist-batch", size)


@SIZES
def test_mnist_architectures(snap_compare, size):
    assert shot(snap_compare, "mnist-architectures", size)


@SIZES
def test_cifar_dropout(snap_compare, size):
    assert shot(snap_compare, "cifar-dropout", size)


@SIZES
def test_gradcheck(snap_compare, size):
    assert shot(snap_compare, "gradcheck", size)


@SIZES
def test_toy2d(snap_compare, size):
    assert shot(snap_compare, "toy2d", size)
