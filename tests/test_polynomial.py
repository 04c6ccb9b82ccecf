"""Seed 003's polynomial: the lab reproduces what the seed found."""
from __future__ import annotations

import json

import pytest

from dltui.core import presets, runner
from dltui.core.store import RunStore


def _run(variant: str, runs_dir, data_dir, **overrides):
    p = presets.load("polynomial")
    (plan,) = [pl for pl in runner.plan(p, overrides) if pl.variant == variant]
    return runner.run_one(plan, RunStore(runs_dir), data_dir)


def test_target_is_the_seeds_polynomial(runs_dir, data_dir):
    ended = _run("lr=0.1", runs_dir, data_dir, epochs=1)
    s = ended.summary
    # The seed printed: Actual function: y = +6.19 x^4 -4.80 x^3 +7.71 x^2 -2.04 x^1 +4.40 (powers listed
    # in reverse of the features' order [x, x², x³, x⁴]).
    assert s["target_coefficients"] == pytest.approx([6.19, -4.80, 7.71, -2.04], abs=0.01)
    assert s["target_bias"] == pytest.approx(4.40, abs=0.01)
    assert len(s["learned_coefficients"]) == 4


@pytest.mark.slow
def test_lr_01_learns_the_coefficients_and_lr_0001_is_still_falling(runs_dir, data_dir):
    fast = _run("lr=0.1", runs_dir, data_dir)
    s = fast.summary
    assert fast.status == "finished" and s["epochs"] == 500
    assert s["learned_coefficients"] == pytest.approx(s["target_coefficients"], abs=0.35)
    assert s["learned_bias"] == pytest.approx(s["target_bias"], abs=0.35)
    slow = _run("lr=0.001", runs_dir, data_dir)
    losses = [r["test_loss"] for r in RunStore(runs_dir).get(slow.run_id).metrics()]
    assert losses[-1] < losses[-50] < losses[-100]  # still falling at epoch 500
    assert losses[-1] > 10 * min(r["test_loss"] for r in RunStore(runs_dir).get(fast.run_id).metrics())


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
