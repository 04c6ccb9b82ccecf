"""TensorBoard event files, read back with TensorBoard's own reader: every scalar, step, wall time and
hparam."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("tensorboardX")
event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
from tensorboard.plugins.hparams import api_pb2, metadata  # noqa: E402
from test_export import EPOCHS, _fake_run, _one_line_error, invoke, png_size  # noqa: E402

from dltui.core.executors import runner  # noqa: E402
from dltui.core.export.tensorboard import ENV  # noqa: E402
from dltui.core.spec.presets import load  # noqa: E402
from dltui.core.store.folder import RunStore  # noqa: E402


@pytest.fixture(autouse=True)
def _no_live_dir(monkeypatch):
    monkeypatch.setenv(
        ENV, ""
    )  # off, and whatever `--tensorboard` sets in this process is undone after the test


def f32(x: float) -> float:
    """TensorBoard keeps scalars as 32-bit floats."""
    return struct.unpack("f", struct.pack("f", x))[0]


def read(folder: Path):
    acc = event_accumulator.EventAccumulator(
        str(folder), size_guidance={"scalars": 0, "images": 0, "tensors": 0}
    )
    acc.Reload()
    return acc


def scalars(acc) -> dict[str, list[tuple[int, float, float]]]:
    """tag -> [(step, wall time, value)]."""
    return {t: [(e.step, e.wall_time, e.value) for e in acc.Scalars(t)] for t in acc.Tags()["scalars"]}


def hparams(acc) -> dict:
    info = metadata.parse_session_start_info_plugin_data(
        acc.SummaryMetadata(metadata.SESSION_START_INFO_TAG).plugin_data.content
    )
    return {k: getattr(v, v.WhichOneof("kind")) for k, v in info.hparams.items()}


def end_status(acc) -> str:
    info = metadata.parse_session_end_info_plugin_data(
        acc.SummaryMetadata(metadata.SESSION_END_INFO_TAG).plugin_data.content
    )
    return api_pb2.Status.Name(info.status)


def expected_polynomial(run) -> dict[str, list[tuple[int, float, float]]]:
    """What the event file must hold for a polynomial run, straight from its metrics.jsonl."""
    out: dict[str, list] = {}
    for r in run.metrics():
        wall = run.status["started"] + r["time"]
        for tag, value in [
            ("train_loss", r["train_loss"]),
            ("test_loss", r["test_loss"]),
            ("lr", r["lr"]),
            ("updates", r["step"]),
            ("grad_norm/layer1", r["grad_norm"][0] if "grad_norm" in r else None),  # none at epoch 0
        ]:
            if value is not None:
                out.setdefault(tag, []).append((r["epoch"], wall, f32(value)))
    return out


def test_every_scalar_step_and_wall_time_equals_metrics_jsonl(poly, tmp_path):
    out = tmp_path / "tb"
    runs = RunStore(poly).list()
    r = invoke(
        "export", *[x.run_id for x in runs], "--to", out, "--format", "tensorboard", "--runs-dir", poly
    )
    assert r.exit_code == 0, r.stdout
    assert sorted(p.name for p in out.iterdir()) == sorted(
        x.run_id for x in runs
    )  # one folder per run, by id
    for run in runs:
        got = scalars(read(out / run.run_id))
        want = expected_polynomial(run)
        assert {t: v for t, v in got.items() if not t.startswith("summary/")} == want
        assert [s for s, _, _ in got["test_loss"]] == list(range(0, EPOCHS + 1))
        assert got["summary/best_epoch"] == [(EPOCHS, run.status["ended"], run.summary["best_epoch"])]
        assert got["summary/final_test_loss"][0][2] == f32(run.summary["final_test_loss"])


def test_the_config_is_there_as_hparams_with_the_end_status(poly, tmp_path):
    run = RunStore(poly).list()[0]
    invoke("export", run.run_id, "--to", tmp_path, "-f", "tensorboard", "--runs-dir", poly)
    acc = read(tmp_path / run.run_id)
    hp = hparams(acc)
    assert hp["lr"] == run.config["lr"] and hp["batch_size"] == 50 and hp["optimizer"] == "sgd"
    assert hp["hidden"] == "[]" and hp["record_epochs"] == "[5, 10, 20, 100, 200, 500]"  # lists as JSON text
    assert hp["variant"] == run.status["variant"] and hp["preset"] == "polynomial"
    assert set(run.config) <= set(hp)
    assert end_status(acc) == "STATUS_SUCCESS"


def test_the_learned_function_is_an_image(poly, tmp_path):
    run = RunStore(poly).list()[0]
    invoke("export", run.run_id, "--to", tmp_path, "-f", "tensorboard", "--runs-dir", poly)
    (image,) = read(tmp_path / run.run_id).Images("figures/function")
    assert image.step == EPOCHS and image.width > 400
    png = tmp_path / "function.png"
    png.write_bytes(image.encoded_image_string)
    assert png_size(png) == (image.width, image.height)


def test_exporting_again_replaces_the_files_and_leaves_no_temp(poly, tmp_path):
    run, out = RunStore(poly).list()[0], tmp_path / "tb"
    for _ in range(2):
        invoke("export", run.run_id, "--to", out, "-f", "tensorboard", "--runs-dir", poly)
    assert [p.name for p in out.iterdir()] == [run.run_id]
    assert len(list((out / run.run_id).iterdir())) == 1
    assert len(read(out / run.run_id).Scalars("train_loss")) == EPOCHS + 1  # not twice (epoch 0 too)


def test_lists_dicts_gaps_and_garbage_in_metrics_jsonl(tmp_path):
    runs = tmp_path / "runs"
    acc12 = json.dumps([0.5 + i / 100 for i in range(12)])
    _fake_run(
        runs,
        "fake",
        [
            f'{{"epoch":1,"step":10,"time":0.5,"train_loss":NaN,"test_loss":2.0,"class_acc":{acc12},"grad_norm":[1,2,3],'
            f'"class_acc_trace":[{{"epoch":0.5,"acc":[0.1]}}],"margin":{{"min":0.1,"max":0.9}},"note":"text","flag":true}}',
            '{"step":15,"train_loss":1.5}',  # no epoch: not a point anywhere
            '{"epoch":2,"step":20,"time":null,"train_loss":1.0,"test_loss":Infinity,"class_acc":null,"grad_norm":[1,null,3]}',
        ],
    )
    run = RunStore(runs).get("fake")
    invoke("export", "fake", "--to", tmp_path / "tb", "-f", "tensorboard", "--runs-dir", runs)
    got = scalars(read(tmp_path / "tb" / "fake"))
    start = 1  # the fake status.json's `started`
    assert got["train_loss"] == [(2, start, 1.0)]  # NaN left out; a missing (null) `time` counts as 0
    assert got["test_loss"] == [(1, start + 0.5, 2.0)]
    assert got["updates"] == [(1, start + 0.5, 10), (2, start, 20)]
    assert [t for t in got if t.startswith("class_acc/")] == [f"class_acc/class{i}" for i in range(12)]
    assert got["class_acc/class11"][0][2] == f32(0.61)
    assert [v for _, _, v in got["grad_norm/layer2"]] == [2]  # the null is a gap
    assert got["margin/max"][0][2] == f32(0.9)
    assert not [t for t in got if t.startswith(("class_acc_trace", "note", "flag", "epoch", "time"))]
    assert end_status(read(tmp_path / "tb" / "fake")) == "STATUS_SUCCESS" and run.state == "finished"


def _code(argv: list[str]) -> str:
    """A dltui command in a fresh interpreter where `import tensorboardX` fails, as when the extra is not
    installed."""
    return (
        "import sys\nsys.modules['tensorboardX'] = None\n"
        f"sys.argv = ['dltui', *{argv!r}]\nfrom dltui.__main__ import main\nmain()\n"
    )


@pytest.mark.parametrize("kind", ["export", "run"])
def test_without_the_extra_it_says_how_to_install_and_exits_2(poly, tmp_path, kind):
    out = tmp_path / "out"
    argv = (
        ["export", "latest", "--to", str(out), "-f", "csv,tensorboard", "--runs-dir", str(poly)]
        if kind == "export"
        else [
            "run",
            "polynomial",
            "--epochs",
            "2",
            "--tensorboard",
            str(out),
            "--runs-dir",
            str(tmp_path / "runs"),
        ]
    )
    r = subprocess.run([sys.executable, "-c", _code(argv)], capture_output=True, text=True, timeout=120)
    err = r.stderr.strip()
    assert r.returncode == 2 and len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert "tensorboardX" in err and "pip install 'dltui[tensorboard]'" in err
    assert not out.exists() and not (tmp_path / "runs").exists()  # nothing written, no run made


def test_a_live_run_writes_what_the_export_writes(tmp_path):
    live, exported, runs = tmp_path / "live", tmp_path / "exported", tmp_path / "runs"
    r = invoke(
        "run",
        "polynomial",
        "--epochs",
        "12",
        "-v",
        "lr=0.1",
        "--tensorboard",
        live,
        "--runs-dir",
        runs,
        "--data-dir",
        tmp_path,
    )
    assert r.exit_code == 0, r.stdout
    (run,) = RunStore(runs).list()
    invoke("export", run.run_id, "--to", exported, "-f", "tensorboard", "--runs-dir", runs)
    a, b = read(live / run.run_id), read(exported / run.run_id)
    live_scalars = scalars(a)
    assert live_scalars == scalars(b) and "summary/final_test_loss" in live_scalars
    assert {t: v for t, v in live_scalars.items() if not t.startswith("summary/")} == expected_polynomial(run)
    assert hparams(a) == hparams(b) and end_status(a) == "STATUS_SUCCESS"
    assert (
        a.Images("figures/function")[0].encoded_image_string
        == b.Images("figures/function")[0].encoded_image_string
    )


def test_the_lab_setting_reaches_training_processes(tmp_path, monkeypatch):
    """DLTUI_TENSORBOARD_DIR, as the lab would have it: runs in spawned processes (--jobs 2) write their files
    too."""
    live, runs = tmp_path / "live", tmp_path / "runs"
    monkeypatch.setenv(ENV, str(live))
    r = invoke(
        "run",
        "polynomial",
        "--epochs",
        "3",
        "-v",
        "lr=0.1",
        "-v",
        "lr=0.01",
        "--jobs",
        "2",
        "--runs-dir",
        runs,
    )
    assert r.exit_code == 0, r.stdout
    ids = sorted(x.run_id for x in RunStore(runs).list())
    assert sorted(p.name for p in live.iterdir()) == ids
    for rid in ids:
        assert [e.step for e in read(live / rid).Scalars("test_loss")] == [0, 1, 2, 3]


def test_tensorboard_files_that_cannot_be_written_never_fail_the_run(tmp_path, monkeypatch, data_dir, capfd):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(ENV, str(blocker / "tb"))  # set behind the CLI's check: the disk turned read-only, say
    (plan,) = [p for p in runner.plan(load("polynomial"), {"epochs": 4}) if p.variant == "lr=0.1"]
    ended = runner.run_one(plan, RunStore(tmp_path / "runs"), data_dir)
    assert ended.status == "finished"
    assert len(RunStore(tmp_path / "runs").get(ended.run_id).metrics()) == 5  # epoch 0 too
    err = capfd.readouterr().err
    assert err.count("warning: TensorBoard files") == 1 and ended.run_id in err


def test_bad_tensorboard_dir_is_refused_before_any_run(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    err = _one_line_error(
        invoke("run", "polynomial", "--tensorboard", blocker / "tb", "--runs-dir", tmp_path / "runs")
    )
    assert "--tensorboard" in err and "cannot write" in err
    assert not (tmp_path / "runs").exists()


def test_the_lab_refuses_a_bad_setting_before_its_screen_opens(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(ENV, str(blocker / "tb"))
    err = _one_line_error(invoke("tui", "--runs-dir", tmp_path / "runs"))
    assert ENV in err and "cannot write" in err


def test_a_resumed_live_run_shows_each_epoch_once(tmp_path, monkeypatch, runs_dir):
    """Epochs after the checkpoint are in the first file and again in the resumed run's: TensorBoard shows
    them once."""
    import torch
    from reliability_helpers import preset_file, run_dirs, status
    from test_reliability_faults import _checkpoint_at

    live = tmp_path / "live"
    monkeypatch.setenv(ENV, str(live))
    assert invoke("run", preset_file(tmp_path, {"only": 0.1}, epochs=6)).exit_code == 0
    [run] = run_dirs(runs_dir)
    torch.save(
        _checkpoint_at(tmp_path, 3), run / "checkpoint.pt"
    )  # as if it was killed after epoch 6, checkpointed at 3
    (run / "status.json").write_text(json.dumps({**status(run), "status": "running", "pid": 2**22 + 12345}))
    assert invoke("run", "--resume", run.name).exit_code == 0
    assert len(list((live / run.name).iterdir())) == 2
    acc = read(live / run.name)
    assert [e.step for e in acc.Scalars("test_loss")] == [0, 1, 2, 3, 4, 5, 6]  # epoch 0 (at init) too
    resumed_walls = [e.wall_time for e in acc.Scalars("test_loss")][4:]
    stored = RunStore(runs_dir).get(run.name)
    assert resumed_walls == [
        stored.status["started"] + r["time"] for r in stored.metrics()[4:]
    ]  # the resumed run's epochs


def test_the_export_never_imports_torch(poly, tmp_path):
    """tensorboardX's package would pull torch in for its SummaryWriter: seconds for nothing; the export keeps
    it out."""
    out = tmp_path / "tb"
    code = (
        "import sys\n"
        f"sys.argv = ['dltui', 'export', 'latest', '--to', {str(out)!r}, "
        f"'-f', 'tensorboard', '--runs-dir', {str(poly)!r}]\n"
        "from dltui.cli.main import app\n"
        "try:\n    app()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        "print(' '.join(sys.modules))\n"
    )
    mods = set(
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.split()
    )
    assert "tensorboardX" in mods and "torch" not in mods
    folder = sorted(out.iterdir())[0]  # `latest` is the newest sweep: one folder a run
    assert [e.step for e in read(folder).Scalars("test_loss")] == list(range(0, EPOCHS + 1))
