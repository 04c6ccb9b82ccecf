"""Seed 002's gradient and Jacobian tests: the slopes, the hand-written backward, and the preset's run."""

from __future__ import annotations

import json

import pytest
import torch

from dltui.core.probes import gradcheck as gc

DT = gc.DTYPE


@pytest.fixture(scope="module")
def checks():
    return gc.run_checks(0, (10, 7))


def test_all_four_tests_measure_slopes_near_one_and_two(checks):
    assert [c["name"] for c in checks] == ["softmax", "layer", "net_jacobian", "net_gradient"]
    for c in checks:
        assert 0.9 <= c["slope_first"] <= 1.1, c["name"]
        assert 1.8 <= c["slope_second"] <= 2.2, c["name"]
        assert c["second"][-1] < 1e-3 * c["first"][-1]  # at the smallest eps the remainder is far smaller
    assert gc.passed(checks)


def test_slopes_hold_for_other_seeds_and_widths():
    for seed, hidden in ((1, (10, 7)), (2, (3,)), (3, ())):
        assert gc.passed(gc.run_checks(seed, hidden)), (seed, hidden)


def test_a_wrong_derivative_leaves_the_remainder_first_order():
    x, y = gc.example()
    g = torch.Generator().manual_seed(0)
    shapes = gc.net_shapes([4, 10, 7, 5])
    theta, d = gc._random(shapes, g), gc._random(shapes, g, unit=True)
    grad = gc.net_grad(theta, x, y)
    wrong = [1.05 * t for t in grad]
    _, second = gc.taylor_errors(lambda p: gc.net_loss(p, x, y), theta, d, gc._dot(wrong, d))
    assert 0.9 <= gc.slope(gc.EPS[gc.FIT_FROM :], second[gc.FIT_FROM :]) <= 1.1


def test_hand_written_layer_backward_and_jvp_agree_with_autograd():
    g = torch.Generator().manual_seed(5)
    x = torch.randn(3, 4, generator=g, dtype=DT, requires_grad=True)
    w = torch.randn(6, 4, generator=g, dtype=DT, requires_grad=True)
    b = torch.randn(6, generator=g, dtype=DT, requires_grad=True)
    v = torch.randn(3, 6, generator=g, dtype=DT)
    layer = gc.TanhLayer(w.detach(), b.detach())
    out = layer.forward(x.detach())
    assert torch.allclose(out, torch.tanh(x @ w.T + b), atol=1e-14)
    auto = torch.autograd.grad((torch.tanh(x @ w.T + b) * v).sum(), (x, w, b))
    for mine, theirs in zip(layer.backward(v), auto):
        assert (mine - theirs).abs().max() < 1e-10
    d = [torch.randn(t.shape, generator=g, dtype=DT) for t in (x, w, b)]
    _, auto_jd = torch.autograd.functional.jvp(
        lambda a, c, e: torch.tanh(a @ c.T + e), (x.detach(), w.detach(), b.detach()), tuple(d)
    )
    assert (layer.jvp(*d) - auto_jd).abs().max() < 1e-10


def test_hand_written_backpropagation_agrees_with_autograd(checks):
    x = torch.tensor([gc.EXAMPLE, [0.5, -1.0, 2.0, 0.0]], dtype=DT)
    y = torch.tensor([0, 3])
    theta = gc._random(gc.net_shapes([4, 10, 7, 5]), torch.Generator().manual_seed(1))
    mine = gc.net_grad(theta, x, y)
    auto = gc._autograd(lambda p: gc.net_loss(p, x, y), theta)
    assert gc._max_diff(mine, auto) < 1e-10
    assert all(c["max_abs_diff"] < 1e-10 for c in checks)


def test_softmax_cross_entropy_matches_torch():
    logits = torch.tensor([[1.0, 2.0, -3.0], [0.0, 0.5, 9.0]], dtype=DT)
    y = torch.tensor([2, 2])
    assert torch.allclose(gc.softmax_ce(logits, y), torch.nn.functional.cross_entropy(logits, y))


def test_dltui_run_gradcheck_prints_the_slopes_and_saves_a_run(cli, runs_dir):
    result = cli("run", "gradcheck")
    assert result.exit_code == 0, result.stdout
    assert "passed: slopes O(eps)/O(eps^2) softmax" in result.stdout
    (run,) = [p for p in runs_dir.iterdir() if p.is_dir()]
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "finished" and summary["passed"] is True
    assert set(summary["slopes"]) == {"softmax", "layer", "net_jacobian", "net_gradient"}
    assert all(abs(s["second"] - 2) < 0.2 for s in summary["slopes"].values())
    snaps = [json.loads(line) for line in (run / "snapshots.jsonl").read_text().splitlines()]
    assert [s["kind"] for s in snaps] == ["gradcheck"] * 4
    assert all(len(s["eps"]) == len(s["first"]) == len(s["second"]) == len(gc.EPS) for s in snaps)
    (record,) = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert record["epoch"] == 1 and 1.8 <= record["net_gradient_slope_second"] <= 2.2


def test_resuming_a_gradcheck_run_refuses_a_checkpoint_in_one_line(cli, runs_dir):
    """The gradient tests have no checkpoint to go on from (not a Resumable runner): a checkpoint.pt found in
    their run dir is refused before anything is touched, exit 2, no traceback."""
    assert cli("run", "gradcheck").exit_code == 0
    (run,) = [p for p in runs_dir.iterdir() if p.is_dir()]
    rng = torch.get_rng_state()
    torch.save(
        {"model": {}, "optimizer": {}, "epoch": 0, "step": 0, "time": 0.0, "gen": rng, "rng": rng},
        run / "checkpoint.pt",
    )
    status = json.loads((run / "status.json").read_text())
    (run / "status.json").write_text(json.dumps({**status, "status": "interrupted"}))

    result = cli("run", "--resume", run.name)
    assert result.exit_code == 2, result.output
    assert (
        "task gradcheck does not go on from a checkpoint" in result.stderr
        and "Traceback" not in result.output
    )
    assert json.loads((run / "status.json").read_text())["status"] == "interrupted"
