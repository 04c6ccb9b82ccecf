"""The TUI's benchmark: the real lab trains a preset, its stalls and throughput land in `dltui bench`'s
cases."""

from __future__ import annotations

import json
import math

import pytest

from dltui.core.rules.errors import BadInput
from dltui.tui.bench.lab import TICK_S, StallMeter, measure_tui, percentile, tui_cases

FIGURES = ("throughput_ratio", "tui_steps_per_s", "headless_steps_per_s", "max_stall_ms", "p99_stall_ms")


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """One quick measurement shared by the tests below (it trains 4 short runs)."""
    root = tmp_path_factory.mktemp("tuibench")
    return measure_tui(quick=True, runs_dir=root / "runs", data_dir=root / "data"), root / "runs"


def test_stalls_are_the_gaps_between_handled_ticks_less_the_interval():
    meter = StallMeter(app=None)
    meter.handled = [0.0, TICK_S, 2 * TICK_S + 0.2, 3 * TICK_S + 0.2, 9.0]
    assert meter.stalls(0.0, 1.0) == pytest.approx([0.0, 0.2, 0.0])
    assert percentile([3.0, 1.0, 2.0], 0.99) == 3.0 and math.isnan(percentile([], 0.99))


def test_quick_measurement_gives_finite_figures_and_every_run_finished(quick):
    figures, runs = quick
    for key in FIGURES:
        assert math.isfinite(figures[key]) and figures[key] >= 0, key
    assert figures["tui_steps_per_s"] > 0 and figures["headless_steps_per_s"] > 0
    assert figures["n_ticks"] > 0 and math.isfinite(figures["ui_cpu_pct"])
    assert figures["statuses"] == ["finished"] * 4  # 2 variants, in the TUI and headless
    saved = [json.loads(p.read_text()) for p in runs.glob("*/*/summary.json")]
    assert len(saved) == 4 and all(
        s["status"] == "finished" and s["epochs"] == figures["epochs"] for s in saved
    )


def test_the_bench_json_holds_both_tui_cases_with_values(quick):
    figures, _ = quick
    cases = {c.name: c for c in tui_cases(figures)}
    assert set(cases) == {"tui_throughput", "tui_stall"}
    thr, stall = cases["tui_throughput"], cases["tui_stall"]
    assert thr.lab == figures["tui_steps_per_s"] and thr.reference == figures["headless_steps_per_s"]
    assert thr.ratio == pytest.approx(figures["throughput_ratio"]) and thr.met == (thr.ratio >= 0.9)
    assert stall.lab == pytest.approx(figures["max_stall_ms"] / 1000) and stall.met == (stall.lab < 0.05)
    assert "p99" in stall.note


def test_without_the_tui_the_cases_keep_their_places():
    cases = tui_cases(None)
    assert [c.name for c in cases] == ["tui_throughput", "tui_stall"] and all(c.lab is None for c in cases)


def test_an_override_the_form_lacks_is_bad_input(tmp_path):
    with pytest.raises(BadInput, match="no such field"):
        measure_tui(quick=True, overrides={"loss": "mse"}, runs_dir=tmp_path / "runs", data_dir=tmp_path)
