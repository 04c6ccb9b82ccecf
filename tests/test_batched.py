"""Sweeps trained as one batched model (core/sweep/, core/executors/batched.py): each variant is still its own
run, and its numbers are those it gets trained alone."""

from __future__ import annotations

import json

import pytest

from dltui.core.executors import batched, runner
from dltui.core.spec import presets
from dltui.core.spec.config import RunConfig
from dltui.core.store import stoprequest
from dltui.core.store.folder import RunStore
from dltui.core.sweep import grouping
from dltui.core.train.events import EpochEnded

POLY = dict(task="polynomial", hidden=(), loss="smooth_l1", batch_size=50, n_samples=200, seed=2020)
DIGITS = dict(task="digits", hidden=(32,), batch_size=64, seed=0, train_size=640)  # 10 steps an epoch


def plans_of(base: dict, variants: dict[str, dict]) -> list[runner.RunPlan]:
    return [runner.RunPlan("batched-test", name, RunConfig(**{**base, **v})) for name, v in variants.items()]


def curve(store: RunStore, run_id: str, key: str = "train_loss") -> list[float | None]:
    lines = (store.root / run_id / "metrics.jsonl").read_text().splitlines()
    return [json.loads(line)[key] for line in lines]


def assert_close(got: list, want: list, rel: float = 1e-4) -> None:
    assert len(got) == len(want)
    for epoch, (g, w) in enumerate(zip(got, want), 1):
        assert g == pytest.approx(w, rel=rel), f"epoch {epoch}: batched {g}, alone {w}"


def alone_and_batched(plans, data_dir, listeners=None):
    store = RunStore(data_dir.parent / "runs")
    together = batched.run_group(plans, store, data_dir, listeners)
    alone = [runner.run_one(p, store, data_dir) for p in plans]
    return store, together, alone


@pytest.mark.parametrize(
    "base, optimizer, rates",
    [
        (POLY, dict(optimizer="sgd", momentum=0.9), (3e-3, 1e-3, 3e-4)),
        (POLY, dict(optimizer="adam"), (1e-2, 3e-3, 1e-3)),
        (DIGITS, dict(optimizer="sgd", momentum=0.9), (1e-2, 3e-3, 1e-3)),
        (DIGITS, dict(optimizer="adam"), (3e-3, 1e-3, 3e-4)),
    ],
    ids=["polynomial-sgd-momentum", "polynomial-adam", "digits-sgd-momentum", "digits-adam"],
)
def test_a_variant_trained_batched_has_the_losses_it_has_alone(base, optimizer, rates, data_dir):
    """Rates where float32's rounding does not grow chaotically (the polynomial at lr 1e-2 with momentum
    0.9 amplifies a last-bit difference of a product's summation order past 1e-4 by epoch 50)."""
    variants = {f"lr={lr}": dict(**optimizer, lr=lr, epochs=50) for lr in rates}
    variants["seed=1"] = dict(**optimizer, lr=rates[1], epochs=50, seed=1)  # its own init and batch order
    plans = plans_of(base, variants)
    store, together, alone = alone_and_batched(plans, data_dir)
    for b, a in zip(together, alone):
        assert b.status == a.status == "finished"
        assert_close(curve(store, b.run_id), curve(store, a.run_id))
        assert_close(curve(store, b.run_id, "test_loss"), curve(store, a.run_id, "test_loss"))
        assert b.summary["epochs"] == 50 and b.summary["steps"] == a.summary["steps"]
        assert "trained batched, one model of 4 copies" in " ".join(b.summary["notes"])
        # its own folder, with what a run alone has
        files = {p.name for p in (store.root / b.run_id).iterdir()}
        assert {"config.json", "status.json", "metrics.jsonl", "summary.json", "checkpoint.pt"} <= files


def test_a_diverging_variant_is_marked_and_leaves_its_siblings_untouched(data_dir):
    variants = {
        name: dict(loss="mse", lr=lr, epochs=30)
        for name, lr in (("slow", 1e-4), ("wild", 10.0), ("slower", 3e-5))
    }
    plans = plans_of(POLY, variants)
    store, together, alone = alone_and_batched(plans, data_dir)
    by = {e.variant: e for e in together}
    assert by["wild"].status == "diverged" and "non-finite" in by["wild"].reason
    assert len(curve(store, by["wild"].run_id)) < 30
    for b, a in zip(together, alone):
        if b.variant != "wild":
            assert b.status == "finished"
            assert_close(curve(store, b.run_id), curve(store, a.run_id))


def test_a_stop_request_stops_only_its_own_variant(data_dir, monkeypatch):
    monkeypatch.setattr(stoprequest, "LOOK_S", 0.0)  # seen at the next step, however fast the machine
    variants = {f"lr={lr}": dict(lr=lr, epochs=300) for lr in (0.003, 0.01, 0.001)}
    plans = plans_of(POLY, variants)
    store = RunStore(data_dir.parent / "runs")

    def stop_the_middle_one(event) -> None:
        if isinstance(event, EpochEnded) and event.variant == "lr=0.01" and event.record["epoch"] == 5:
            stoprequest.request(store.root / event.run_id)

    together = batched.run_group(plans, store, data_dir, [stop_the_middle_one])
    alone = [runner.run_one(p, store, data_dir) for p in plans]
    by = {e.variant: e for e in together}
    stopped = by["lr=0.01"]
    assert stopped.status == "interrupted" and "stop request" in stopped.reason
    assert 5 <= len(curve(store, stopped.run_id)) < 300
    assert (store.root / stopped.run_id / "checkpoint.pt").exists()  # it can go on with `--resume`
    for b, a in zip(together, alone):
        if b is not stopped:
            assert b.status == "finished"
            assert_close(curve(store, b.run_id), curve(store, a.run_id))
    # its checkpoint is one a run alone goes on from, to the very numbers of a run never stopped
    run = store.claim(stopped.run_id)
    plan, ckpt = runner.prepare_resume(run, store, data_dir)
    resumed = runner.resume_one(run, plan, ckpt, store, data_dir)
    assert resumed.status == "finished"
    assert_close(curve(store, stopped.run_id), curve(store, alone[1].run_id))


def test_variants_group_by_everything_but_their_per_copy_values():
    plans = plans_of(
        DIGITS,
        {
            "a": dict(lr=0.1),
            "b": dict(lr=0.01, momentum=0.9, seed=3),
            "wide": dict(hidden=(64,)),
            "dropout": dict(dropout=0.5),
            "c": dict(lr=0.001, weight_decay=1e-4),
            "wide2": dict(hidden=(64,), lr=0.5),
        },
    )
    names = [[p.variant for p in g] for g in batched.groups(plans)]
    assert names == [["a", "b", "c"], ["wide", "wide2"], ["dropout"]]
    assert [[p.variant for p in g] for g in batched.groups(plans, "off")] == [[p.variant] for p in plans]


def test_a_group_too_big_for_memory_is_split_with_one_line():
    plans = plans_of(DIGITS, {f"lr={i}": dict(lr=0.1 / (i + 1)) for i in range(8)})
    said: list[str] = []
    groups = grouping.groups(plans, "auto", fits=lambda cfg, n: n <= 3, say=said.append)
    assert [len(g) for g in groups] == [2, 2, 2, 2]
    assert len(said) == 1 and "would not fit in memory" in said[0] and "groups of 2" in said[0]


def test_the_cli_says_which_variants_trained_together_and_takes_off(cli, runs_dir):
    r = cli("run", "edge-of-stability", "--epochs", "2")
    assert r.exit_code == 0, r.stdout
    assert "batched together (3): lr=0.6, lr=0.8, lr=1.0" in r.stdout
    r = cli("run", "edge-of-stability", "--epochs", "2", "--batched", "off")
    assert r.exit_code == 0 and "batched together" not in r.stdout
    r = cli("run", "polynomial", "--batched", "sometimes")
    assert r.exit_code == 2 and "--batched sometimes (or DLTUI_BATCHED): not a mode; use auto" in r.stdout + (
        r.stderr or ""
    )


def test_copies_with_their_own_init_and_epochs_train_together_and_end_on_their_own(data_dir):
    variants = {
        "default": dict(epochs=6, lr=0.1),
        "zeros": dict(init="zeros", epochs=3, lr=0.1),
        "xavier": dict(init="xavier", epochs=6, lr=0.05, seed=4),
    }
    plans = plans_of(DIGITS, variants)
    assert [len(g) for g in batched.groups(plans)] == [3]
    store, together, alone = alone_and_batched(plans, data_dir)
    for b, a in zip(together, alone):
        assert b.status == "finished" and b.summary["epochs"] == a.summary["epochs"]
        assert_close(curve(store, b.run_id), curve(store, a.run_id))
        assert_close(curve(store, b.run_id, "test_acc"), curve(store, a.run_id, "test_acc"))


def test_with_two_processes_one_group_is_halved_so_neither_waits():
    plans = plans_of(DIGITS, {f"lr={i}": dict(lr=0.1 / (i + 1)) for i in range(5)})
    assert [len(g) for g in batched.groups(plans, jobs=2)] == [3, 2]
    assert [len(g) for g in batched.groups(plans[:1], jobs=2)] == [1]


def test_a_preset_that_says_batched_off_trains_its_variants_one_by_one(cli, runs_dir, tmp_path):
    """The polynomial holds seed 003's table to the printed digits only one by one: its preset opts out."""
    r = cli("run", "polynomial", "--epochs", "3")
    assert r.exit_code == 0 and "batched together" not in r.stdout, r.stdout
    assert all(len(g) == 1 for g in batched.groups(runner.plan(presets.load("polynomial"))))
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\nbatched = "sometimes"\n[base]\ntask = "polynomial"\n')
    r = cli("run", str(bad), "--epochs", "1")
    assert r.exit_code == 2 and 'batched = "sometimes" is not allowed; use "auto"' in r.stdout + (
        r.stderr or ""
    )


def test_a_group_has_one_sampler_and_each_copy_its_own_hardware_file(data_dir, monkeypatch):
    """One sampler thread for the whole group, as a run alone has; each copy's hardware.jsonl reads as a run
    alone's (samples, the thread choice, one epoch record per epoch from 0); a copy that diverges gets no
    record after its end."""
    import threading

    from dltui.core.hardware.record import read_hardware

    monkeypatch.setenv("DLTUI_HARDWARE", "0.05")  # a sample every 50 ms: several in a short run
    # 400 epochs: the others train for several samples' time after "wild" diverges in its first epochs
    variants = {
        name: dict(loss="mse", lr=lr, epochs=400)
        for name, lr in (("slow", 1e-4), ("wild", 10.0), ("x", 3e-5))
    }
    samplers: list[int] = []

    def count(event) -> None:
        if isinstance(event, EpochEnded):
            samplers.append(sum(t.name == "dltui-hardware" for t in threading.enumerate()))

    store = RunStore(data_dir.parent / "runs")
    together = batched.run_group(plans_of(POLY, variants), store, data_dir, [count])
    assert set(samplers) == {1}
    last = {}
    for e in together:
        hw = read_hardware(store.root / e.run_id)
        assert [x.epoch for x in hw.epochs] == [r["epoch"] for r in store.get(e.run_id).metrics()]
        assert hw.samples and hw.info is not None and hw.info.threads >= 1
        last[e.variant] = hw.samples[-1].t
    assert {e.variant: e.status for e in together}["wild"] == "diverged"
    assert last["wild"] < min(last["slow"], last["x"])  # not the group's last sample, taken at its end


def test_a_copy_s_records_snapshots_and_summary_are_those_of_its_run_alone(data_dir):
    """Its weights are handed back only when something reads them (a snapshot's epoch, a checkpoint, its
    end), and its gradient norms are measured for the group at once: every figure is still a run alone's."""
    base = dict(POLY, optimizer="sgd", momentum=0.9, epochs=20, record_epochs=(0, 5))
    plans = plans_of(base, {f"lr={lr}": dict(lr=lr) for lr in (3e-3, 1e-3, 3e-4)})
    store, together, alone = alone_and_batched(plans, data_dir)
    for b, a in zip(together, alone):
        got, want = store.get(b.run_id).metrics(), store.get(a.run_id).metrics()
        assert [list(r) for r in got] == [list(r) for r in want]
        for key in ("train_loss", "test_loss", "grad_norm"):  # grad_norm from epoch 1 (a step's gradients)
            assert_close([r[key] for r in got[1:]], [r[key] for r in want[1:]])
        snaps = [store.get(r.run_id).snapshots() for r in (b, a)]
        assert [s["epoch"] for s in snaps[0]] == [s["epoch"] for s in snaps[1]] == [5, 20]
        for s, w in zip(*snaps):
            assert_close(s["learned"], w["learned"])
        summaries = [json.loads((store.root / r.run_id / "summary.json").read_text()) for r in (b, a)]
        assert_close(summaries[0]["learned_coefficients"], summaries[1]["learned_coefficients"])
