"""An interrupted batched sweep resumes regrouped (core/sweep/grouping.py's point, core/executors/batched.py's
resume_group, core/sweep/trainer.py's adopt_in_flight): the runs that stand at one epoch and step train as one
batched model again, to the numbers of a sweep never stopped; runs elsewhere go on in groups of their own."""

from __future__ import annotations

import json
import re
import signal
from pathlib import Path

import pytest
from reliability_helpers import finish, metrics_lines_at_least, preset_file, run_dirs, start, wait_for

from dltui.core.executors import batched, runner
from dltui.core.spec.config import RunConfig
from dltui.core.store import stoprequest
from dltui.core.store.folder import RunStore
from dltui.core.train.control import Control
from dltui.core.train.events import EpochEnded

DIGITS = dict(
    task="digits", hidden=(32,), batch_size=64, seed=0, train_size=640, epochs=8
)  # 10 steps an epoch
POLY = dict(task="polynomial", hidden=(), loss="smooth_l1", batch_size=50, n_samples=200, seed=2020, epochs=8)
SGD = dict(optimizer="sgd", momentum=0.9)


class StopAtStep:
    """A stop flag the user sets once the group has run `n` steps (the trainer looks at it before each
    step): the stop for all of the lab's `s` or a Ctrl-C, at a step known in advance."""

    def __init__(self, n: int):
        self.n, self.looks = n, 0

    def is_set(self) -> bool:
        self.looks += 1
        return self.looks > self.n


def plans_of(base: dict, variants: dict[str, dict]) -> list[runner.RunPlan]:
    return [runner.RunPlan("resume-test", name, RunConfig(**{**base, **v})) for name, v in variants.items()]


def curve(root: Path, run_id: str, key: str = "train_loss") -> list:
    return [json.loads(line)[key] for line in (root / run_id / "metrics.jsonl").read_text().splitlines()]


def assert_same_curves(store: RunStore, ended, reference: RunStore, never_stopped) -> None:
    for e, ref in zip(ended, never_stopped):
        assert e.variant == ref.variant
        for key in ("train_loss", "test_loss", "train_acc", "step"):
            got, want = curve(store.root, e.run_id, key), curve(reference.root, ref.run_id, key)
            assert [r for r in curve(store.root, e.run_id, "epoch")] == list(range(len(want)))
            assert got == pytest.approx(want, rel=1e-4), f"{e.variant} {key}"


def resume(cli, ended, *more: str):
    return cli("run", *[a for e in ended for a in ("--resume", e.run_id)], *more)


def notes(store: RunStore, run_id: str) -> str:
    return " ".join(json.loads((store.root / run_id / "summary.json").read_text()).get("notes", []))


@pytest.mark.parametrize(
    "base, variants, steps",
    [
        (DIGITS, {f"lr={lr}": dict(SGD, lr=lr) for lr in (3e-2, 1e-2, 3e-3)}, 25),  # epoch 3, sample 320
        (POLY, {f"seed={s}": dict(SGD, lr=3e-3, seed=s) for s in (1, 2, 3)}, 10),  # epoch 3, sample 100
    ],
    ids=["digits-sgd-momentum", "polynomial-seeds"],
)
def test_a_sweep_stopped_mid_epoch_resumes_as_one_group_to_the_numbers_of_one_never_stopped(
    base, variants, steps, cli, runs_dir, data_dir, tmp_path
):
    plans = plans_of(base, variants)
    reference = RunStore(tmp_path / "reference")
    never_stopped = batched.run_group(plans, reference, data_dir)
    store = RunStore(runs_dir)
    stopped = batched.run_group(plans, store, data_dir, None, Control(stop=StopAtStep(steps)))
    assert {e.status for e in stopped} == {"interrupted"}

    r = resume(cli, stopped)
    assert r.exit_code == 0, r.stdout
    names = ", ".join(variants)
    assert f"batched together (3): {names}" in r.stdout
    assert r.stdout.count("from epoch 2, step ") == 3  # each says where it goes on from
    for e in stopped:
        assert "trained batched, one model of 3 copies" in notes(store, e.run_id)  # the run card says so
        assert json.loads((store.root / e.run_id / "status.json").read_text())["status"] == "finished"
    assert_same_curves(store, stopped, reference, never_stopped)


def test_runs_stopped_at_other_points_resume_in_groups_of_their_own(
    cli, runs_dir, data_dir, tmp_path, monkeypatch
):
    """Two copies stop on their own request after epoch 2, the other two at the stop for all in epoch 5: each
    pair goes on as its own group, and every curve is the one of a sweep never stopped."""
    monkeypatch.setattr(stoprequest, "LOOK_S", 0.0)  # seen at the next step, however fast the machine
    plans = plans_of(DIGITS, {f"lr={lr}": dict(SGD, lr=lr) for lr in (3e-2, 1e-2, 3e-3, 1e-3)})
    reference = RunStore(tmp_path / "reference")
    never_stopped = batched.run_group(plans, reference, data_dir)
    store = RunStore(runs_dir)

    def stop_two(event) -> None:
        if (
            isinstance(event, EpochEnded)
            and event.record["epoch"] == 2
            and event.variant in ("lr=0.03", "lr=0.003")
        ):
            stoprequest.request(store.root / event.run_id)

    stopped = batched.run_group(plans, store, data_dir, [stop_two], Control(stop=StopAtStep(45)))
    assert [e.status for e in stopped] == ["interrupted"] * 4

    r = resume(cli, stopped)
    assert r.exit_code == 0, r.stdout
    assert "batched together (2): lr=0.03, lr=0.003" in r.stdout
    assert "batched together (2): lr=0.01, lr=0.001" in r.stdout
    assert r.stdout.count("from epoch 2, step 20") == 2 and r.stdout.count("from epoch 4, step 45") == 2
    assert_same_curves(store, stopped, reference, never_stopped)


def test_batched_off_resumes_each_run_alone(cli, runs_dir, data_dir, tmp_path):
    plans = plans_of(DIGITS, {f"lr={lr}": dict(SGD, lr=lr) for lr in (3e-2, 1e-2, 3e-3)})
    reference = RunStore(tmp_path / "reference")
    never_stopped = batched.run_group(plans, reference, data_dir)
    store = RunStore(runs_dir)
    stopped = batched.run_group(plans, store, data_dir, None, Control(stop=StopAtStep(25)))

    r = resume(cli, stopped, "--batched", "off")
    assert r.exit_code == 0, r.stdout
    assert "batched together" not in r.stdout
    for e in stopped:
        assert "trained batched" not in notes(store, e.run_id)
    assert_same_curves(store, stopped, reference, never_stopped)  # alone, from a group's checkpoint


def test_ctrl_c_on_a_batched_sweep_then_the_printed_command_resumes_it_regrouped(tmp_path, runs_dir, cli):
    """As a user would: Ctrl-C a running sweep, run the command it prints, get the sweep never stopped."""
    preset = preset_file(tmp_path, {"a": 0.01, "b": 0.003, "c": 0.001}, n=500, bs=2, epochs=30)
    proc = start("run", preset)
    wait_for(metrics_lines_at_least(runs_dir, 2), "an epoch in metrics.jsonl", proc)
    proc.send_signal(signal.SIGINT)
    code, out, err = finish(proc)
    assert code == 130, err
    assert "batched together (3): a, b, c" in out
    ids = re.findall(r"--resume\s+(\S+?)`?(?=\s|$)", out.split("continue them with", 1)[1])
    assert sorted(ids) == [d.name for d in run_dirs(runs_dir)]

    r = cli("run", *[a for i in ids for a in ("--resume", i)])
    assert r.exit_code == 0, r.stdout
    assert "batched together (3)" in r.stdout

    reference = tmp_path / "reference"
    assert cli("run", preset, "--runs-dir", reference).exit_code == 0
    for run, ref in zip(by_variant(runs_dir), by_variant(reference)):
        for key in ("train_loss", "test_loss", "step"):
            assert curve(runs_dir, run.name, key) == pytest.approx(curve(reference, ref.name, key), rel=1e-4)


def test_after_kill_9_runs_at_the_same_epoch_resume_together(tmp_path, runs_dir, cli):
    """A kill -9 leaves each copy's last spaced checkpoint (or none yet): the copies at one epoch go on as one
    group, the others in their own, and every run ends as a sweep never killed. Rates where a run alone and
    one batched agree (the polynomial at bs 2 and lr 0.01 turns float32's last bits into 40% by epoch 30)."""
    preset = preset_file(tmp_path, {"a": 1e-3, "b": 5e-4, "c": 3e-4}, n=500, bs=2, epochs=30)
    proc = start("run", preset)
    wait_for(metrics_lines_at_least(runs_dir, 3), "two epochs in metrics.jsonl", proc)
    proc.kill()
    finish(proc)
    runs = run_dirs(runs_dir)
    at: dict[int, list[str]] = {}
    for d in runs:
        epoch = int(_checkpoint(d)["epoch"]) if (d / "checkpoint.pt").exists() else 0
        at.setdefault(epoch, []).append(json.loads((d / "config.json").read_text())["lr"])

    r = cli("run", *[a for d in runs for a in ("--resume", d.name)])
    assert r.exit_code == 0, r.stdout
    assert r.stdout.count("batched together") == sum(len(v) > 1 for v in at.values()), (at, r.stdout)

    reference = tmp_path / "reference"
    assert cli("run", preset, "--runs-dir", reference).exit_code == 0
    for run, ref in zip(by_variant(runs_dir), by_variant(reference)):
        assert curve(runs_dir, run.name, "epoch") == list(range(31))
        assert curve(runs_dir, run.name) == pytest.approx(curve(reference, ref.name), rel=1e-4)


def by_variant(runs: Path) -> list[Path]:
    return sorted(run_dirs(runs), key=lambda d: json.loads((d / "status.json").read_text())["variant"])


def _checkpoint(run: Path) -> dict:
    import torch

    return torch.load(run / "checkpoint.pt", weights_only=True)


def test_one_run_that_cannot_go_on_refuses_them_all_and_changes_nothing(cli, runs_dir, data_dir):
    """Every run is checked before any goes on: a finished one among them is one line, exit 2, and the
    interrupted ones are left as they were, resumable."""
    plans = plans_of(DIGITS, {f"lr={lr}": dict(SGD, lr=lr, epochs=2) for lr in (3e-2, 1e-2)})
    store = RunStore(runs_dir)
    stopped = batched.run_group(plans, store, data_dir, None, Control(stop=StopAtStep(15)))
    [done] = batched.run_group(plans[:1], store, data_dir)
    before = {e.run_id: (store.root / e.run_id / "metrics.jsonl").read_bytes() for e in stopped}

    r = cli("run", "--resume", stopped[0].run_id, "--resume", done.run_id, "--resume", stopped[1].run_id)
    assert r.exit_code == 2
    assert f"run {done.run_id} is finished, so there is nothing to resume" in r.output
    for e in stopped:
        assert json.loads((store.root / e.run_id / "status.json").read_text())["status"] == "interrupted"
        assert (store.root / e.run_id / "metrics.jsonl").read_bytes() == before[e.run_id]
    r = cli("run", "--resume", stopped[0].run_id, "--resume", stopped[1].run_id, "--engine", "ray")
    assert r.exit_code == 2 and "--engine ray resumes one run at a time" in r.output
    assert resume(cli, stopped).exit_code == 0


def test_a_checkpoint_of_an_older_dltui_without_step_losses_goes_on_alone(cli, runs_dir, data_dir, tmp_path):
    """Stopped mid-epoch by a dltui that kept only the sums of the epoch so far: the group cannot take that
    epoch up, so each run goes on alone, still to the numbers of a sweep never stopped."""
    import torch

    plans = plans_of(DIGITS, {f"lr={lr}": dict(SGD, lr=lr) for lr in (3e-2, 1e-2)})
    reference = RunStore(tmp_path / "reference")
    never_stopped = batched.run_group(plans, reference, data_dir)
    store = RunStore(runs_dir)
    stopped = batched.run_group(plans, store, data_dir, None, Control(stop=StopAtStep(25)))
    for e in stopped:
        path = store.root / e.run_id / "checkpoint.pt"
        s = torch.load(path, weights_only=True)
        assert s["partial"]["losses"].shape == (5,) and s["partial"]["preds"].shape == (320,)
        del s["partial"]["losses"], s["partial"]["preds"]
        torch.save(s, path)

    r = resume(cli, stopped)
    assert r.exit_code == 0, r.stdout
    assert "batched together" not in r.stdout
    assert_same_curves(store, stopped, reference, never_stopped)


def test_runs_resumed_alone_and_stopped_again_mid_epoch_still_regroup(cli, runs_dir, data_dir, tmp_path):
    """A run that went on alone from a group's checkpoint and was stopped again in the same epoch keeps the
    whole epoch so far (the group's steps and its own), so the group can still take it up."""
    plans = plans_of(DIGITS, {f"lr={lr}": dict(SGD, lr=lr) for lr in (3e-2, 1e-2)})
    reference = RunStore(tmp_path / "reference")
    never_stopped = batched.run_group(plans, reference, data_dir)
    store = RunStore(runs_dir)
    stopped = batched.run_group(plans, store, data_dir, None, Control(stop=StopAtStep(25)))
    for e in stopped:  # each alone, two steps further: sample 448 of epoch 3
        run = store.claim(e.run_id)
        plan, ckpt = runner.prepare_resume(run, store, data_dir)
        again = runner.resume_one(run, plan, ckpt, store, data_dir, None, Control(stop=StopAtStep(2)))
        assert again.status == "interrupted"
        partial = _checkpoint(store.root / e.run_id)["partial"]
        assert (
            partial["start"] == 448 and partial["losses"].shape == (7,) and partial["preds"].shape == (448,)
        )

    r = resume(cli, stopped)
    assert r.exit_code == 0, r.stdout
    assert "batched together (2): lr=0.03, lr=0.01" in r.stdout
    assert_same_curves(store, stopped, reference, never_stopped)
