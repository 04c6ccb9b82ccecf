"""Seed 002's toy 2-D data: reproducible from the seed, the seed's network fits the GMM, regions snapshots."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dltui.core.data import toy2d
from dltui.core.executors import runner
from dltui.core.spec import presets
from dltui.core.store.folder import RunStore


@pytest.mark.parametrize("dataset", ["gmm", "swiss_roll", "peaks"])
def test_same_seed_same_points_other_seed_other_points(dataset):
    x, y = toy2d.make(dataset, 500, 7)
    x2, y2 = toy2d.make(dataset, 500, 7)
    x3, _ = toy2d.make(dataset, 500, 8)
    assert x.shape == (500, 2)
    assert np.array_equal(x, x2) and np.array_equal(y, y2)
    assert not np.allclose(x, x3)
    assert set(np.unique(y)) == set(range(toy2d.N_CLASSES[dataset]))


def _run(tmp_path, variant: str, **overrides):
    """Run one variant of the toy2d preset with overrides; (how it ended, the stored run)."""
    (plan,) = [p for p in runner.plan(presets.load("toy2d"), overrides) if p.variant == variant]
    store = RunStore(tmp_path / "runs")
    ended = runner.run_one(plan, store, tmp_path)
    return ended, store.get(ended.run_id)


@pytest.mark.slow
def test_the_seeds_network_reaches_95_percent_on_the_gmm(tmp_path):
    ended, run = _run(tmp_path, "gmm", n_samples=1000, epochs=10)
    assert ended.status == "finished"
    cfg = run.config
    assert (
        cfg["hidden"] == [10, 7]
        and cfg["activation"] == "tanh"
        and cfg["batch_size"] == 64
        and cfg["lr"] == 0.1
    )
    assert run.summary["n_test"] == 200 and run.summary["n_train"] == 800
    assert run.summary["final_test_acc"] >= 0.95


def test_regions_snapshots_hold_a_grid_of_classes_and_the_points(tmp_path):
    _, run = _run(tmp_path, "peaks", n_samples=300, epochs=4)
    snaps = [s for s in run.snapshots() if s["kind"] == "regions"]
    assert [s["epoch"] for s in snaps] == [1, 2, 3, 4]
    s = snaps[-1]
    assert len(s["xs"]) == len(s["ys"]) == len(s["classes"]) == len(s["classes"][0]) == 40
    assert {c for row in s["classes"] for c in row} <= set(range(5)) and s["n_classes"] == 5
    assert len(s["points"]["x"]) == len(s["points"]["label"]) == 60  # the test fifth of 300 points
    assert s["xs"][0] < min(s["points"]["x"]) and max(s["points"]["x"]) < s["xs"][-1]


def test_softmax_alone_cannot_fit_the_swiss_roll(tmp_path):
    ended, run = _run(tmp_path, "swiss_roll-softmax", n_samples=600, epochs=15)
    assert run.config["hidden"] == []
    assert ended.summary["final_test_acc"] < 0.8


def test_every_variant_runs_headless(cli, runs_dir):
    result = cli("run", "toy2d", "--epochs", "1", "--set", "n_samples=100")
    assert result.exit_code == 0, result.stdout
    runs = [json.loads((p / "status.json").read_text()) for p in runs_dir.iterdir()]
    assert sorted(r["variant"] for r in runs) == [
        "gmm",
        "peaks",
        "peaks-softmax",
        "swiss_roll",
        "swiss_roll-softmax",
    ]
    assert all(r["status"] == "finished" for r in runs)
