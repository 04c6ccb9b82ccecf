"""Seed 003's polynomial: the lab reproduces what the seed found."""

from __future__ import annotations

import json

import pytest

from dltui.core.executors import runner
from dltui.core.rules.polytext import poly_desc
from dltui.core.spec import presets
from dltui.core.store.folder import RunStore

SEED_TARGET = "y = +6.19 x^4 -4.80 x^3 +7.71 x^2 -2.04 x^1 +4.40"


def _run(variant: str, runs_dir, data_dir, **overrides):
    p = presets.load("polynomial")
    (plan,) = [pl for pl in runner.plan(p, overrides) if pl.variant == variant]
    return runner.run_one(plan, RunStore(runs_dir), data_dir)


def test_target_is_the_seeds_polynomial_as_printed(runs_dir, data_dir):
    ended = _run("lr=0.1", runs_dir, data_dir, epochs=1)
    s = ended.summary
    # Coefficients from x⁴ down, as the seed's notebook printed them (and as its table shows it used them).
    assert poly_desc(s["target_coefficients"], s["target_bias"]) == SEED_TARGET
    assert len(s["learned_coefficients"]) == 4


def test_the_target_is_positive_at_every_point_so_the_bias_first_grows_by_lr_a_step(runs_dir, data_dir):
    """The seed's table: at lr 0.001 the bias gains exactly 0.02 in 20 steps, so every residual was
    positive."""
    ended = _run("lr=0.001", runs_dir, data_dir, epochs=5, record_epochs=[5])
    assert ended.summary["learned_bias"] == pytest.approx(20 * 0.001, rel=1e-5)


# The seed's table: the learned function it printed for each lr at epochs 5, 10, 20, 100, 200 and 500.
SEED_TABLE = {
    "lr=0.1": [
        "+6.16 x^4 -0.86 x^3 +1.87 x^2 -0.14 x^1 +1.95",
        "+7.25 x^4 -3.16 x^3 +2.56 x^2 -0.83 x^1 +3.54",
        "+7.00 x^4 -4.77 x^3 +4.30 x^2 -1.57 x^1 +5.33",
        "+5.77 x^4 -4.71 x^3 +7.73 x^2 -2.11 x^1 +4.46",
        "+5.78 x^4 -4.61 x^3 +7.62 x^2 -1.98 x^1 +4.39",
        "+6.01 x^4 -4.72 x^3 +7.70 x^2 -2.03 x^1 +4.46",
    ],
    "lr=0.01": [
        "+0.69 x^4 -0.05 x^3 +0.20 x^2 -0.00 x^1 +0.20",
        "+1.38 x^4 -0.10 x^3 +0.41 x^2 -0.01 x^1 +0.40",
        "+2.76 x^4 -0.20 x^3 +0.82 x^2 -0.02 x^1 +0.80",
        "+7.17 x^4 -3.13 x^3 +2.57 x^2 -0.82 x^1 +3.54",
        "+6.64 x^4 -4.34 x^3 +4.45 x^2 -1.49 x^1 +5.34",
        "+6.21 x^4 -4.75 x^3 +7.51 x^2 -2.16 x^1 +4.55",
    ],
    "lr=0.001": [
        "+0.07 x^4 -0.00 x^3 +0.02 x^2 -0.00 x^1 +0.02",
        "+0.14 x^4 -0.01 x^3 +0.04 x^2 -0.00 x^1 +0.04",
        "+0.28 x^4 -0.02 x^3 +0.08 x^2 -0.00 x^1 +0.08",
        "+1.38 x^4 -0.10 x^3 +0.41 x^2 -0.01 x^1 +0.40",
        "+2.76 x^4 -0.20 x^3 +0.82 x^2 -0.02 x^1 +0.80",
        "+6.15 x^4 -0.85 x^3 +1.87 x^2 -0.14 x^1 +1.95",
    ],
}
EPOCHS = (5, 10, 20, 100, 200, 500)
# Pinned to the printed two decimals. While every residual is over SmoothL1's beta an epoch adds lr times the
# sum
# of the features in any order (lr 0.01 to epoch 20, lr 0.001 to epoch 200), and lr 0.001's steps are small
# enough that its epoch 500 is order-free too. lr 0.1's epoch 5 is not (random orders give x^4 from 6.10 to
# 6.29): it matches because the notebook's own order is replayed, as do most of the other entries.
EXACT = {("lr=0.1", 5), ("lr=0.01", 5), ("lr=0.01", 10), ("lr=0.01", 20), *(("lr=0.001", e) for e in EPOCHS)}


def _numbers(line: str) -> list[float]:
    return [float(t) for t in line.split() if t[0] in "+-"]


@pytest.fixture(scope="module")
def full_runs(tmp_path_factory):
    """The preset's three runs, 500 epochs each, as `dltui run polynomial` makes them: {variant: RunInfo}."""
    root = tmp_path_factory.mktemp("poly-500")
    store = RunStore(root)
    return {
        pl.variant: store.get(runner.run_one(pl, store, root).run_id)
        for pl in runner.plan(presets.load("polynomial"), {})
    }


@pytest.mark.slow
def test_the_seeds_table_of_learned_functions_is_reproduced(full_runs):
    for variant, lines in SEED_TABLE.items():
        snaps = {s["epoch"]: s for s in full_runs[variant].snapshots() if s["kind"] == "function"}
        assert sorted(snaps) == list(EPOCHS)
        for epoch, seed_line in zip(EPOCHS, lines):
            ours = poly_desc(snaps[epoch]["coefficients"], snaps[epoch]["bias"])
            if (variant, epoch) in EXACT:
                assert ours == "y = " + seed_line, (variant, epoch)
            else:  # the notebook's float rounding (likely a GPU's) moves a few last digits here
                assert _numbers(ours) == pytest.approx(_numbers(seed_line), abs=0.03), (variant, epoch)


@pytest.mark.slow
def test_lr_01_learns_the_coefficients_and_lr_0001_is_still_falling(full_runs):
    s = full_runs["lr=0.1"].summary
    assert s["status"] == "finished" and s["epochs"] == 500
    assert s["learned_coefficients"] == pytest.approx(s["target_coefficients"], abs=0.35)
    assert s["learned_bias"] == pytest.approx(s["target_bias"], abs=0.35)
    losses = [r["test_loss"] for r in full_runs["lr=0.001"].metrics()]
    assert losses[-1] < losses[-50] < losses[-100]  # still falling at epoch 500
    assert losses[-1] > 10 * min(r["test_loss"] for r in full_runs["lr=0.1"].metrics())


def test_learned_function_is_recorded_at_the_seeds_epochs(runs_dir, data_dir):
    ended = _run("lr=0.1", runs_dir, data_dir, epochs=20)
    snaps = RunStore(runs_dir).get(ended.run_id).snapshots()
    assert [s["epoch"] for s in snaps if s["kind"] == "function"] == [5, 10, 20]
    last = snaps[-1]
    assert len(last["x"]) == len(last["learned"]) == len(last["target"])


def test_same_seed_same_metrics(runs_dir, data_dir):
    a = RunStore(runs_dir).get(_run("lr=0.01", runs_dir, data_dir, epochs=15).run_id).metrics()
    b = RunStore(runs_dir).get(_run("lr=0.01", runs_dir, data_dir, epochs=15).run_id).metrics()
    strip = lambda rs: [{k: v for k, v in r.items() if k != "time"} for r in rs]  # noqa: E731
    assert strip(a) == strip(b)
    c = RunStore(runs_dir).get(_run("lr=0.01", runs_dir, data_dir, epochs=15, seed=7).run_id).metrics()
    assert strip(c) != strip(a)


def test_summary_json_is_written(runs_dir, data_dir):
    ended = _run("lr=0.1", runs_dir, data_dir, epochs=2)
    on_disk = json.loads((runs_dir / ended.run_id / "summary.json").read_text())
    assert on_disk["learned_coefficients"] == pytest.approx(ended.summary["learned_coefficients"])


def test_weights_start_at_zero_and_init_default_is_one_set_away(runs_dir, data_dir):
    zeros = RunStore(runs_dir).get(_run("lr=0.001", runs_dir, data_dir, epochs=5).run_id)
    default = RunStore(runs_dir).get(_run("lr=0.001", runs_dir, data_dir, epochs=5, init="default").run_id)
    assert zeros.config["init"] == "zeros" and default.config["init"] == "default"
    first = lambda run: next(s for s in run.snapshots() if s["kind"] == "function")  # noqa: E731
    assert (
        poly_desc(first(zeros)["coefficients"], first(zeros)["bias"])
        == "y = +0.07 x^4 -0.00 x^3 +0.02 x^2 -0.00 x^1 +0.02"
    )
    assert poly_desc(first(default)["coefficients"], first(default)["bias"]) != poly_desc(
        first(zeros)["coefficients"], first(zeros)["bias"]
    )


def test_run_and_show_print_the_learned_function_as_the_seed_did(cli, runs_dir):
    r = cli("run", "polynomial", "--epochs", "10", "-v", "lr=0.01")
    assert r.exit_code == 0
    # The seed's two lines at lr 0.01, epoch 5 and 10, word for word after the arrow.
    assert "epoch 5 ==> Learned function:  y = +0.69 x^4 -0.05 x^3 +0.20 x^2 -0.00 x^1 +0.20" in r.stdout
    assert "epoch 10 ==> Learned function:  y = +1.38 x^4 -0.10 x^3 +0.41 x^2 -0.01 x^1 +0.40" in r.stdout
    assert f"==> Actual function:   {SEED_TARGET}" in r.stdout
    [run] = RunStore(runs_dir).list()
    shown = cli("show", run.run_id).stdout
    for row in (
        f"target            │ {SEED_TARGET}",
        "learned, epoch 5  │ y = +0.69 x^4 -0.05 x^3 +0.20 x^2 -0.00 x^1 +0.20",
        "learned, epoch 10 │ y = +1.38 x^4 -0.10 x^3 +0.41 x^2 -0.01 x^1 +0.40",
    ):
        assert row in shown, row


def test_a_garbled_snapshot_prints_nothing_rather_than_failing(cli, runs_dir):
    r = cli("run", "polynomial", "--epochs", "5", "-v", "lr=0.1")
    [run] = RunStore(runs_dir).list()
    curve = (
        '"x": [0.0], "learned": [0.0], "target": [0.0]'  # the plot's part intact, the coefficients garbled
    )
    with open(
        run.path / "snapshots.jsonl", "a", encoding="utf-8"
    ) as f:  # files the lab reads back are untrusted
        f.write(f'{{"epoch": 6, "kind": "function", {curve}, "coefficients": ["a", 1], "bias": null}}\n')
        f.write(f'{{"epoch": 7, "kind": "function", {curve}, "coefficients": [1.0, 2.0], "bias": true}}\n')
    shown = cli("show", run.run_id)
    assert r.exit_code == 0 and shown.exit_code == 0
    assert (
        "learned, epoch 5" in shown.stdout
        and "learned, epoch 6" not in shown.stdout
        and "learned, epoch 7" not in shown.stdout
    )


def test_an_mlp_on_the_polynomial_draws_its_curve_and_prints_no_coefficients(runs_dir, data_dir):
    """`--set hidden=[32]` is a model with no coefficients to print; the run must not fail on it."""
    ended = _run("lr=0.01", runs_dir, data_dir, epochs=2, hidden=[32], init="default", record_epochs=[2])
    assert ended.status == "finished"
    assert "learned_coefficients" not in ended.summary and ended.summary["target_bias"] == pytest.approx(
        4.40, abs=5e-3
    )
    (run,) = RunStore(runs_dir).list()
    (snap,) = [s for s in run.snapshots() if s["kind"] == "function"]
    assert len(snap["learned"]) == len(snap["target"]) == len(snap["x"]) and snap["coefficients"] is None
