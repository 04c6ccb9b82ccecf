"""Update-to-weight ratios, dead and saturated units, and the confusion matrix: what they record, draw and
export."""

from __future__ import annotations

import csv
import json

import plotext as plt
import pytest
import torch
from host_reads import count_host_reads
from torch import nn

from dltui.core.probes import instruments as probes_instruments
from dltui.core.probes.instruments import Confusion, DeadUnits, last_update
from dltui.core.spec.config import build_config
from dltui.core.train.trainer import Trainer
from dltui.tui.viewkit import VIEWS, RunData, ViewOptions, picture, uncoloured
from dltui.tui.views import load_all


def digits(**kw) -> Trainer:
    cfg = build_config([("test", {"task": "digits", "device": "cpu", "checkpoint": False, **kw})])
    return Trainer(cfg, run_id="t", data_dir=".")


def probe(t: Trainer, cls):
    return next(p for p in t.probes if isinstance(p, cls))


# -- update ratio ------------------------------------------------------------------------------
def test_ten_times_the_lr_reads_one_decade_higher():
    ratios = {}
    for lr in (0.01, 0.1):
        t = digits(batch_size="full", lr=lr, epochs=1, probes=["update_ratio"])
        assert t.run().status == "finished"
        ratios[lr] = t.history[-1]["update_ratio"]  # epoch 1 (epoch 0 has no update yet)
    assert len(ratios[0.1]) == 2  # one per weighted layer
    for low, high in zip(ratios[0.01], ratios[0.1]):
        assert high - low == pytest.approx(1.0, abs=0.02)


def test_zero_init_reads_as_frozen():
    t = digits(batch_size="full", epochs=2, init="zeros", probes=["update_ratio"])
    t.run()
    assert t.history[-1]["update_ratio"] == [None, None]  # no weight and no update: nothing moves


@pytest.mark.parametrize(
    "make, rtol",
    [
        (lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9), 1e-4),
        (lambda ps: torch.optim.SGD(ps, lr=0.1), 1e-4),
        (
            lambda ps: torch.optim.SGD(ps, lr=0.1, weight_decay=0.01),
            1e-2,
        ),  # the decay term sees the weights after the step
        (lambda ps: torch.optim.Adam(ps, lr=0.01), 1e-4),
    ],
    ids=["momentum", "sgd", "weight_decay", "adam"],
)
def test_last_update_is_the_change_the_step_made(make, rtol):
    torch.manual_seed(0)
    model = nn.Linear(5, 3)
    opt = make(list(model.parameters()))
    x, y = torch.randn(16, 5), torch.randn(16, 3)
    for _ in range(3):
        opt.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        before = model.weight.detach().clone()
        opt.step()
    change = before - model.weight.detach()
    with torch.no_grad():
        rebuilt = last_update(opt, opt.param_groups[0], model.weight)
    assert torch.allclose(rebuilt, change, rtol=rtol, atol=1e-7)


# -- dead and saturated units ------------------------------------------------------------------
def test_zero_init_relu_units_are_all_dead():
    t = digits(batch_size="full", epochs=1, init="zeros", probes=["dead_units"])
    t.run()
    assert t.history[0]["dead_units"] == t.history[-1]["dead_units"] == [1.0]  # at init and after


def test_sigmoid_units_with_huge_weights_are_saturated_and_small_ones_are_not():
    t = digits(hidden=[32, 16], activation="sigmoid", probes=["dead_units"])
    t.setup()
    p = probe(t, DeadUnits)
    assert p.measure(1)["dead_units"] == [0.0, 0.0]
    with torch.no_grad():
        for m in t.model.modules():
            if isinstance(m, nn.Linear):
                m.weight.mul_(1000)
    assert p.measure(1)["dead_units"] == [pytest.approx(1.0, abs=0.1)] * 2


# -- confusion ---------------------------------------------------------------------------------
def test_confusion_counts_the_test_set_and_its_diagonal_is_the_accuracy():
    t = digits(batch_size=64, epochs=2, probes=["confusion"])
    t.run()
    m = torch.tensor(probe(t, Confusion).last)
    assert int(m.sum()) == t.data.test_x.shape[0]
    assert torch.equal(m.sum(1), torch.bincount(t.data.test_y, minlength=10))
    assert m.trace().item() / m.sum().item() == pytest.approx(t.history[-1]["test_acc"])


def test_confusion_from_the_trainers_own_evaluation_matches_a_pass_of_its_own():
    t = digits(batch_size=64, epochs=1, probes=["confusion"])
    t.run()
    p = probe(t, Confusion)
    y = t.data.test_y
    assert torch.equal(p.matrix().view(-1), torch.bincount(y * 10 + p.predict(), minlength=100))


def test_sorted_order_shows_one_column_eating_the_predictions():
    t = digits(batch_size=64, lr=0.01, epochs=1, order="stratified", probes=["confusion"])
    t.run()
    predicted = torch.tensor(probe(t, Confusion).last).sum(0)
    assert int(predicted.argmax()) == 9  # the last class seen takes the most predictions
    assert predicted[9] / predicted.sum() > 1 / 3


def test_confusion_on_a_regression_task_is_bad_input():
    t = digits(task="polynomial", loss="mse", probes=["confusion"])
    from dltui.core.rules.errors import BadInput

    with pytest.raises(BadInput, match="confusion needs a classification task"):
        t.setup()


# -- no host sync per step (what keeps a GPU busy) ----------------------------------------------
ALL = ["sharpness", "update_ratio", "dead_units", "confusion"]


def test_the_instruments_read_values_back_at_epoch_ends_never_per_step(monkeypatch):
    from dltui.core.train import trainer as engine

    monkeypatch.setattr(engine, "PROGRESS_EVERY_S", float("inf"))
    monkeypatch.setattr(probes_instruments.Sharpness, "BUDGET", float("inf"))  # measured every epoch
    reads = count_host_reads(monkeypatch)
    t = digits(batch_size=16, epochs=2, probes=ALL)
    t.listeners.append(lambda ev: reads.update(on=type(ev).__name__ == "RunStarted" or reads["on"]))
    assert t.run().status == "finished"
    assert all(r.get("sharpness") for r in t.history)
    # in two epochs: the records', one per probe each, two per Hessian-vector product; one per step would be
    # 180
    assert 0 < reads["n"] < t.steps_per_epoch == 90


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_on_cuda_a_run_with_every_instrument_syncs_per_epoch_not_per_step(monkeypatch):
    import warnings

    from dltui.core.train import trainer as engine

    monkeypatch.setattr(engine, "PROGRESS_EVERY_S", float("inf"))
    monkeypatch.setattr(probes_instruments.Sharpness, "BUDGET", float("inf"))
    t = digits(batch_size=16, epochs=2, probes=ALL, device="cuda")
    t.listeners.append(
        lambda ev: torch.cuda.set_sync_debug_mode("warn") if type(ev).__name__ == "RunStarted" else None
    )
    try:
        with warnings.catch_warnings(record=True) as syncs:
            warnings.simplefilter("always")
            assert t.run().status == "finished"
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert all(r.get("sharpness") for r in t.history)
    assert len([w for w in syncs if "synchroniz" in str(w.message)]) < t.steps_per_epoch


# -- views ------------------------------------------------------------------------------------
def draw(name, runs, **opts) -> str:
    """As the lab draws it (title and key above the plot), as text."""
    load_all()
    return picture(plt, VIEWS[name][1], runs, ViewOptions(**opts), 110, 30)


def rec(e, **kw):
    return {"epoch": e, "step": e, "time": 0.1 * e, "train_loss": 1.0 / e, **kw}


def test_views_draw_the_instruments():
    run = RunData(
        "r",
        "lr=1",
        {"lr": 1.0, "activation": "tanh"},
        "finished",
        [
            rec(e, sharpness=1.5 + 0.1 * e, update_ratio=[-3.2, -2.5], dead_units=[0.1 * e, 0.0])
            for e in range(1, 6)
        ],
        [{"epoch": 5, "kind": "confusion", "matrix": [[8, 2], [0, 10]]}],
    )
    assert "2/lr" in draw("sharpness", [run])
    assert "1e-3 guide" in draw("update_ratio", [run])
    assert "saturated (|z| > 2 on 90%)" in draw("dead_units", [run])
    heat = draw("confusion", [run])
    assert "epoch 5" in heat and " 80" in heat and "100" in heat and "acc 90.0%" in heat


def test_eleven_layers_get_one_key_line_on_the_layer_scale():
    ratios = [[-3.0 - 0.1 * i for i in range(11)]]
    run = RunData(
        "r",
        "relu",
        {"lr": 0.1, "activation": "relu"},
        "finished",
        [rec(e, update_ratio=ratios[0], dead_units=[0.1] * 10) for e in range(1, 4)],
    )
    lines = uncoloured(draw("update_ratio", [run])).splitlines()
    assert (
        "layer 1 (input) … 11 (output)" in lines[1] and "1e-3 guide" in lines[1]
    )  # one line, not a layer each
    assert lines[2].lstrip().startswith("┌")  # the plot right below: no second key line
    assert "hidden layer 1 … 10" in uncoloured(draw("dead_units", [run]))


def test_a_2_over_lr_far_above_every_sharpness_does_not_set_the_axis():
    slow = RunData(
        "a", "lr=0.001", {"lr": 0.001}, "finished", [rec(e, sharpness=2.0 + e) for e in range(1, 11)]
    )
    fast = RunData(
        "b",
        "lr=0.5",
        {"lr": 0.5},
        "finished",
        [rec(e, sharpness=1.0 + 0.4 * e) for e in range(1, 11)],
        index=1,
    )
    picture_ = uncoloured(draw("sharpness", [slow, fast]))
    assert "2/lr above the axis for 1 run" in picture_  # lr=0.001's 2000 is left off
    ticks = [float(line.split("┤")[0]) for line in picture_.splitlines() if "┤" in line]
    assert max(ticks) < 20  # the axis is the curves' (up to 12), with lr=0.5's 2/lr = 4 on it
    early = RunData("c", "lr=0.6", {"lr": 0.6}, "running", [rec(1, sharpness=0.3)])
    assert "above the axis" not in uncoloured(
        draw("sharpness", [early])
    )  # 2/lr = 3.3, ten times the curve: the goal


def test_a_confusion_matrix_taller_than_its_panel_shows_its_worst_rows_not_random_ones():
    m = [[90 if i == j else 1 for j in range(10)] for i in range(10)]
    m[3] = [0, 0, 0, 40, 0, 60, 0, 0, 0, 0]  # 3 is mostly taken for 5: the row a learner must see
    run = RunData("r", "v", {}, "finished", [rec(1)], [{"epoch": 1, "kind": "confusion", "matrix": m}])
    load_all()
    low = uncoloured(picture(plt, VIEWS["confusion"][1], [run], ViewOptions(), 100, 10))
    assert "(5 worst rows)" in low
    assert any(line.startswith("3┤") and " 60 " in line for line in low.splitlines())
    tall = uncoloured(draw("confusion", [run]))
    assert "worst" not in tall and sum(line[1:2] == "┤" for line in tall.splitlines()) == 10


@pytest.mark.parametrize("bad", [[[1, 2]], [[1, -1], [0, 0]], [["x", 1], [1, 1]], "m", [[True, 1], [1, 1]]])
def test_confusion_view_ignores_a_matrix_that_is_not_square_counts(bad):
    run = RunData(
        "r",
        "v",
        {},
        "finished",
        [rec(1)],
        [{"epoch": 1, "kind": "confusion", "matrix": bad}],
        {"confusion": bad},
    )
    assert "none yet" in draw("confusion", [run])


def test_views_without_measurements_say_which_probe_to_add():
    run = RunData("r", "v", {"lr": 0.1}, "running", [rec(1)])
    for name in ("sharpness", "update_ratio", "dead_units", "confusion"):
        assert f'"{name}" to probes' in draw(name, [run])


# -- show and export ---------------------------------------------------------------------------
def test_show_and_export_carry_the_confusion_matrix_and_sharpness(cli, runs_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(
        probes_instruments.Sharpness, "BUDGET", float("inf")
    )  # measured from the first epoch, whatever the machine
    preset = tmp_path / "one.toml"
    preset.write_text(
        'name = "one"\n[base]\ntask = "digits"\nbatch_size = "full"\nepochs = 2\n'
        'probes = ["confusion", "sharpness", "update_ratio", "dead_units"]\n'
    )
    result = cli("run", str(preset))
    assert result.exit_code == 0, result.output
    (run,) = list(runs_dir.iterdir())
    shown = cli("show", run.name)
    assert shown.exit_code == 0, shown.output
    assert "predicted class" in shown.output and "2/lr" in shown.output and "1e-3 guide" in shown.output
    out = tmp_path / "out"
    exported = cli("export", run.name, "--to", str(out), "--format", "csv,png")
    assert exported.exit_code == 0, exported.output
    assert (out / f"{run.name}-confusion.png").read_bytes()[:4] == b"\x89PNG"
    assert (out / f"{run.name}-sharpness.png").exists()
    rows = list(csv.reader((out / f"{run.name}-confusion.csv").open()))
    summary = json.loads((run / "summary.json").read_text())
    assert rows[0][1:] == [str(c) for c in range(10)]
    assert [[int(v) for v in r[1:]] for r in rows[1:]] == summary["confusion"]
    metrics = list(csv.DictReader((out / f"{run.name}.csv").open()))
    assert float(metrics[0]["sharpness"]) > 0
    assert {"update_ratio_0", "update_ratio_1", "dead_units_0"} <= set(metrics[0])


def test_show_leaves_out_an_instrument_that_measured_nothing(cli, runs_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(
        probes_instruments.Sharpness, "BUDGET", 0.0
    )  # no time for a measurement: the probe is on, its data none
    monkeypatch.setattr(probes_instruments.Sharpness, "GRACE_S", 0.0)
    preset = tmp_path / "one.toml"
    preset.write_text(
        'name = "one"\n[base]\ntask = "digits"\nbatch_size = "full"\nepochs = 2\n'
        'probes = ["sharpness", "update_ratio"]\n'
    )
    assert cli("run", str(preset)).exit_code == 0
    (run,) = list(runs_dir.iterdir())
    shown = cli("show", run.name)
    assert shown.exit_code == 0, shown.output
    assert "1e-3 guide" in shown.output  # the update ratio, which measured
    assert (
        "2/lr" not in shown.output and "to probes" not in shown.output
    )  # no empty sharpness panel, as in the lab


def test_views_for_adds_the_view_of_each_instrument_the_probes_turn_on():
    from dltui.tui.viewkit import views_for

    assert views_for(("loss",), ["sharpness", "class_acc", "sharpness", "confusion"]) == (
        "loss",
        "sharpness",
        "confusion",
    )
    assert views_for(("loss", "sharpness"), ("sharpness",)) == ("loss", "sharpness")
    assert views_for(("loss",), "not a list") == ("loss",)  # a config read back from disk is untrusted


def test_the_edge_of_stability_preset_runs_offline(cli, runs_dir, monkeypatch):
    monkeypatch.setattr(
        probes_instruments.Sharpness, "BUDGET", float("inf")
    )  # measured from the first epoch, whatever the machine
    from dltui.core.spec import presets

    p = presets.load("edge-of-stability")
    assert [cfg.lr for _, cfg in p.configs()] == [0.6, 0.8, 1.0]
    assert all(
        cfg.batch_size == "full" and "sharpness" in cfg.probes and cfg.task == "digits"
        for _, cfg in p.configs()
    )
    result = cli("run", "edge-of-stability", "--epochs", "2")
    assert result.exit_code == 0, result.output
    for run in runs_dir.iterdir():
        first = json.loads((run / "metrics.jsonl").read_text().splitlines()[0])
        assert first["sharpness"] > 0
