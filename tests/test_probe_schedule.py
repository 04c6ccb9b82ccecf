"""When a probe measures: the config's `probe_every` (core/spec/probes.py), from a preset or `--set`."""

from __future__ import annotations

import json

import pytest

from dltui.core.probes import instruments
from dltui.core.probes.classes import ClassAcc
from dltui.core.spec import presets
from dltui.core.spec.config import build_config, parse_set
from dltui.core.spec.probes import PROBES, measurements, on_schedule
from dltui.core.train.trainer import Trainer


def test_every_n_epochs_is_dense_early_then_regular_and_ends_on_the_last():
    got = [e for e in range(0, 36) if on_schedule(e, 10, 35)]
    assert got == [0, 1, 2, 4, 8, 10, 20, 30, 35]
    assert measurements(10, 35) == len(got)
    assert measurements(1, 5) == 6  # every epoch, and at init


def run(epochs: int, **values) -> Trainer:
    base = {"task": "digits", "device": "cpu", "checkpoint": False, "batch_size": "full", "epochs": epochs}
    t = Trainer(build_config([("test", {**base, **values})]), run_id="t", data_dir=".")
    assert t.run().status == "finished"
    return t


def test_a_fixed_schedule_measures_on_it_whatever_the_time_budget(monkeypatch):
    """A busy machine leaves no budget: a probe set to every N epochs measures on its schedule all the same,
    so the count of measurements never depends on the machine's speed."""
    monkeypatch.setattr(instruments.Sharpness, "BUDGET", 0.0)
    monkeypatch.setattr(instruments.Sharpness, "GRACE_S", 0.0)
    t = run(12, probes=["sharpness"], probe_every={"sharpness": 5})
    measured = [r["epoch"] for r in t.history if r.get("sharpness") is not None]
    assert measured == [0, 1, 2, 4, 5, 10, 12]
    starved = run(12, probes=["sharpness"])  # its own rule, no budget: nothing at all
    assert not [r for r in starved.history if r.get("sharpness") is not None]


def test_off_leaves_a_probe_out_even_a_default_one():
    t = run(2, probes=["dead_units"], probe_every={"grad_norm": "off"})
    assert all("grad_norm" not in r for r in t.history)
    assert all("dead_units" in r for r in t.history)  # at init too
    assert "update_ratio" not in t.history[0] or t.history[0]["update_ratio"] is None


def test_a_budget_share_replaces_the_default_one():
    t = Trainer(
        build_config(
            [("test", {"task": "digits", "probes": ["sharpness"], "probe_every": {"sharpness": "25%"}})]
        ),
        run_id="t",
        data_dir=".",
    )
    t.setup()
    [sharp] = [p for p in t.probes if isinstance(p, instruments.Sharpness)]
    assert sharp.budget == 0.25 and sharp.every is None


@pytest.mark.parametrize(
    "value, words",
    [
        ("{sharpnes=5}", "unknown probe 'sharpnes'"),
        ("{sharpness=0}", "must be >= 1"),
        ('{dead_units="5%"}', "dead_units has no time budget"),
        ('{sharpness="often"}', 'sharpness = "often" is none of'),
        ("5", "not a table"),
    ],
)
def test_a_bad_setting_is_one_clear_line_with_exit_2_and_no_run(cli, runs_dir, value, words):
    result = cli("run", "edge-of-stability", "--set", f"probe_every={value}")
    assert result.exit_code == 2
    out = result.output.strip()
    assert words in out and "probe_every" in out and "e.g." in out and "Traceback" not in out
    assert len(out.splitlines()) == 1
    assert not runs_dir.exists() or not any(runs_dir.iterdir())


def test_set_reads_a_toml_table_and_the_config_file_keeps_it(cli, runs_dir):
    assert parse_set("probe_every={sharpness=5}") == ("probe_every", {"sharpness": 5})
    result = cli(
        "run",
        "vanishing-gradients",
        "-v",
        "relu",
        "--epochs",
        "1",
        "--set",
        'probe_every={update_ratio="off"}',
    )
    assert result.exit_code == 0, result.output
    [run] = list(runs_dir.iterdir())
    assert json.loads((run / "config.json").read_text())["probe_every"] == {"update_ratio": "off"}
    assert all(
        "update_ratio" not in json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()
    )


def test_every_preset_that_lists_a_probe_has_20_points_of_each_by_its_schedule():
    """The count of a fixed schedule is known before the run; a probe on its own rule measures every epoch
    (a time budget is only sharpness's, and every preset that lists it fixes its schedule), class_acc ten
    times inside each."""
    for name in presets.preset_names():
        for _, cfg in presets.load(name).configs():
            every = dict(cfg.probe_every)
            for probe in cfg.probes:
                if PROBES[probe].snapshot and not PROBES[probe].records:
                    continue  # a picture (confusion, regions): one per epoch at most, not a curve's points
                assert probe in every or not PROBES[probe].budgeted, (name, probe)
                n = measurements(every[probe], cfg.epochs) if probe in every else cfg.epochs
                n *= ClassAcc.TRACE_POINTS if probe == "class_acc" else 1  # its points inside each epoch
                assert n >= 20, (name, probe, n)


def test_edge_of_stability_measures_its_sharpness_at_least_100_times_dense_early():
    for _, cfg in presets.load("edge-of-stability").configs():
        every = dict(cfg.probe_every)["sharpness"]
        assert measurements(every, cfg.epochs) >= 100
        early = [e for e in range(0, 50) if on_schedule(e, every, cfg.epochs)]
        assert early[:5] == [0, 1, 2, 4, 8] and len(early) >= 8  # the climb starts at once
