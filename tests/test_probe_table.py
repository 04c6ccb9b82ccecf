"""The one table of probes (core/spec/probes.py): every reader agrees with it, and what it names exists."""

from __future__ import annotations

import importlib
import subprocess
import sys

from dltui.core.export.writer import run_figures
from dltui.core.rules.decimate import BUCKETS
from dltui.core.spec.probes import DEFAULT_PROBES, INSTRUMENTS, PROBES
from dltui.core.spec.views import VIEW_NAMES
from dltui.tui.viewkit import INSTRUMENT_VIEWS, VIEWS, RunData, ViewOptions, layer_curves, views_for
from dltui.tui.views import load_all
from dltui.tui.views.instruments import HELP

load_all()


def _load(spec: str):
    mod, name = spec.split(":")
    return getattr(importlib.import_module(mod), name)


def test_every_probe_named_in_the_table_is_a_probe_class():
    from dltui.core.train.hooks import Probe

    for name, spec in PROBES.items():
        assert issubclass(_load(spec.probe), Probe), name
    assert set(DEFAULT_PROBES) <= set(PROBES)


def test_every_probe_view_is_a_view_a_preset_may_name_and_the_lab_draws_with_the_table_title():
    for name, spec in PROBES.items():
        if spec.view:
            assert spec.view in VIEW_NAMES, name
            assert VIEWS[spec.view][0] == spec.title, name


def test_each_report_figure_named_in_the_table_is_a_function_of_run_and_x():
    for name, spec in PROBES.items():
        if spec.figure:
            assert callable(_load(spec.figure)), name


def test_the_instruments_are_the_probes_with_their_own_view_and_a_reading_line():
    assert INSTRUMENTS == ("sharpness", "update_ratio", "dead_units", "confusion")
    assert INSTRUMENT_VIEWS == INSTRUMENTS  # each instrument's view has its name
    assert len(HELP) == len(INSTRUMENTS) and all(line.startswith(n) for line, n in zip(HELP, INSTRUMENTS))
    assert views_for(("loss",), ["update_ratio", "class_acc"]) == ("loss", "update_ratio")


def test_the_benchmark_measures_only_instruments():
    from dltui.core.bench.instruments import PROBES as BENCHED

    assert set(BENCHED) <= set(INSTRUMENTS)


def test_naming_probes_imports_no_torch():
    code = "import sys, dltui.core.train.hooks, dltui.core.spec.views; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_report_draws_the_figures_the_table_names_for_what_the_run_has():
    class Run:
        run_id, status, config, summary = "r", {"preset": "p", "variant": "v"}, {"lr": 0.5}, {}

        def metrics(self):
            return [{"epoch": e, "train_loss": 1 / e, "sharpness": 2.0 + e} for e in range(1, 5)]

        def snapshots(self):
            return []

    assert set(run_figures(Run())) == {"loss", "sharpness"}


def test_a_per_layer_curve_is_thinned_as_a_metric_is_and_keeps_its_peak():
    n = 10 * BUCKETS
    records = [{"epoch": i, "update_ratio": [-3.0 + (i == 777), -2.0]} for i in range(n)]
    run = RunData("r", "v", records=records)
    (xs, ys), (xs2, _) = layer_curves(run, "update_ratio", ViewOptions())
    assert len(xs) <= 2 * BUCKETS + 2 and len(xs2) <= 2 * BUCKETS + 2
    assert max(ys) == -2.0 and 777 in xs  # the one spike survives the thinning
    assert (xs[0], xs[-1]) == (0, n - 1)
