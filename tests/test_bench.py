"""`dltui bench`: every case measured (or its place kept), a table, and strict JSON."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import pytest

from dltui.core.bench import cases as bench
from dltui.core.bench import harness


def test_flop_count_of_the_mnist_mlp_matches_a_hand_count():
    train, test = bench.mlp_flops((784, 300, 10), 60_000, 10_000)
    # forward 2·W, weight gradients 2·W, input gradient of the second layer 2·300·10, per sample
    w = 784 * 300 + 300 * 10
    assert train == 60_000 * (4 * w + 2 * 300 * 10)
    assert train / 1e9 == pytest.approx(57.5, abs=0.05)
    assert test == 10_000 * 2 * w


def test_the_matmul_rate_is_a_plausible_number():
    import torch

    rate = harness.matmul_rate(torch.device("cpu"), 128, repeats=2)
    assert 1e7 < rate < 1e14


def test_the_bench_hands_its_data_to_the_trainer_and_leaves_the_task_list_alone():
    from dltui.core.data import REGISTRY

    tasks = dict(REGISTRY)
    tensors = bench.synthetic_data(256, 64)
    times = bench.lab_epoch_times(bench.mnist_config("cpu", 64, epochs=2), tensors)
    assert len(times) == 2 and all(t > 0 for t in times)
    assert REGISTRY == tasks


def test_reference_loops_run():
    import torch

    from dltui.core.bench import reference

    tensors = bench.synthetic_data(256, 64)
    cpu = torch.device("cpu")
    assert reference.mnist_epoch_s(tensors, cpu, 64) > 0
    assert reference.full_batch_step_s(tensors, cpu, 2) > 0
    assert bench.reference_polynomial(bench.polynomial_config("cpu", 2), cpu, 2) > 0


def test_every_case_has_one_goal_and_a_case_not_measured_has_no_verdict():
    from dltui.tui.bench.lab import tui_cases

    assert harness.CASES == tuple(harness.goals("cuda"))
    for case in tui_cases(None):
        judged = harness.judged(case, harness.goals("cpu")[case.name])
        assert judged.goal and judged.met is None


def test_an_instrument_row_is_the_median_of_its_interleaved_rounds():
    from dltui.core.bench.instruments import MINIBATCH, probe_case

    case = probe_case(
        "confusion", MINIBATCH, [(10.0, 10.2), (10.0, 11.0), (12.0, 12.0)], epochs=2, n_train=60_000
    )
    assert case.name == "confusion_overhead" and case.ratio == pytest.approx(
        1.02
    )  # the middle round, not the mean
    assert case.reference == pytest.approx(5.0) and case.lab == pytest.approx(
        5.1
    )  # seconds an epoch, at that ratio
    assert "+0.0% .. +10.0%" in case.note
    goal = harness.goals("cpu")["confusion_overhead"]
    assert goal.met(case) is True and goal.met(replace(case, ratio=1.06)) is False
    assert harness.goals("cpu", quick=True)["confusion_overhead"].met(case) is None  # too short to judge
    assert harness.goals("cuda")["confusion_overhead"].met(case) is None  # the goal is the CPU's


def test_a_case_whose_lines_are_not_in_the_table_is_refused():
    with pytest.raises(ValueError, match="not in core/bench/harness.py's TABLE"):
        harness.register(harness.Case(("mnist_mlp_epoch", "a_new_case"), "new", lambda ctx: []))


def test_the_runner_measures_the_selected_cases_and_keeps_the_places_of_the_unregistered(monkeypatch):
    monkeypatch.setattr(harness, "REGISTRY", {})
    ran = []

    def measure(ctx):
        ran.append(ctx.sizes.quick)
        return [harness.row("polynomial_steps", lab=3000.0, reference=1000.0, ratio=3.0)]

    harness.register(harness.Case(("polynomial_steps",), "polynomial", measure))
    result = harness.run_bench("cpu", quick=True, only={"polynomial_steps", "jobs_speedup"})
    poly, jobs = result["cases"]
    assert ran == [True] and result["machine"]["quick"] is True
    assert (
        poly["name"] == "polynomial_steps" and poly["title"] == "polynomial steps/s" and poly["met"] is True
    )
    assert poly["goal"] == ">= 2500 steps/s on the CPU"
    assert jobs["name"] == "jobs_speedup" and jobs["lab"] is None and jobs["met"] is None
    assert jobs["note"] == "not measured"


def test_the_harness_imports_no_case():
    """The harness is the bottom of the bench: the cases import it, never the other way."""
    import subprocess
    import sys

    code = "import sys, dltui.core.bench.harness; print(sorted(m for m in sys.modules if 'bench.' in m))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['dltui.core.bench.harness']"


@pytest.mark.slow
def test_quick_bench_prints_a_table_and_writes_json_with_every_case(cli, tmp_path):
    out = tmp_path / "bench.json"
    result = cli("bench", "--quick", "--device", "cpu", "--json", out)
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text(), parse_constant=lambda c: pytest.fail(f"not strict JSON: {c}"))
    cases = {c["name"]: c for c in data["cases"]}
    assert set(cases) == set(harness.CASES)
    for name in ("mnist_mlp_epoch", "full_batch_step", "polynomial_steps", "help_startup", "jobs_speedup"):
        c = cases[name]
        assert c["lab"] > 0 and c["reference"] > 0 and math.isfinite(c["ratio"]), name
        assert c["title"] in result.output
    assert cases["mnist_mlp_epoch"]["bound"] > 0 and cases["full_batch_step"]["bound_ratio"] > 0
    assert (
        cases["mnist_mlp_epoch"]["floor"] > 0
    )  # the products alone were timed (how they compare is a figure, not a test)
    for name in ("sharpness_overhead", "update_ratio_overhead", "dead_units_overhead", "confusion_overhead"):
        c = cases[name]
        assert c["lab"] > 0 and c["reference"] > 0 and math.isfinite(c["ratio"]) and c["met"] is None, name
        assert c["title"] in result.output
    for name in ("tui_throughput", "tui_stall"):  # the CLI measures the TUI too (tui/bench/lab.py)
        assert (
            cases[name]["lab"] > 0 and math.isfinite(cases[name]["lab"]) and cases[name]["met"] is not None
        ), name
        assert cases[name]["title"] in result.output
    assert data["machine"]["quick"] is True and data["machine"]["matmul_gflops"] > 0
    assert "lab/bound" in result.output and str(out) in result.output


def test_bench_json_into_a_missing_folder_is_bad_input(cli, tmp_path):
    result = cli("bench", "--quick", "--json", tmp_path / "nowhere" / "b.json")
    assert result.exit_code == 2
    assert "does not exist" in result.output and "Traceback" not in result.output


def test_bench_on_a_device_that_is_not_there_is_bad_input(cli):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    result = cli("bench", "--quick", "--device", "cuda")
    assert result.exit_code == 2
    assert "no CUDA GPU" in result.output
