"""`dltui export`: CSV columns as documented, strict JSON, readable PNG/SVG figures, atomic, headless."""

from __future__ import annotations

import csv
import json
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dltui.cli.compare import compare_plot
from dltui.cli.main import app
from dltui.core.export.figures import compare_figure, labels, loss_figure
from dltui.core.export.writer import FIRST_COLUMNS, export_runs
from dltui.core.readout.colours import colour_key, hex_colour, run_colours
from dltui.core.readout.sweeps import band
from dltui.core.rules.decimate import decimated
from dltui.core.store.folder import RunStore

EPOCHS = 20
VARIANTS = ["lr=0.001", "lr=0.01", "lr=0.1"]


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


def rid(runs: Path, variant: str) -> str:
    """The id of the run of `variant` in `runs`."""
    (run_id,) = [x.run_id for x in RunStore(runs).list() if x.status["variant"] == variant]
    return run_id


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def strict_json(path: Path):
    def no_constants(name):
        raise AssertionError(f"{path.name} holds {name}: not strict JSON")

    return json.loads(path.read_text(), parse_constant=no_constants)


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_export_every_format_writes_readable_files(poly, tmp_path):
    out = tmp_path / "report"
    run = RunStore(poly).get(rid(poly, "lr=0.1"))
    r = invoke(
        "export",
        run.run_id[:-2],
        "--to",
        out,
        "--format",
        "csv,json",
        "-f",
        "png",
        "-f",
        "svg",
        "--runs-dir",
        poly,
    )
    assert r.exit_code == 0, r.stdout
    names = sorted(p.name for p in out.iterdir())
    stems = ["", "-loss.png", "-loss.svg", "-function.png", "-function.svg"]
    assert names == sorted(
        [f"{run.run_id}.csv", f"{run.run_id}.json"] + [f"{run.run_id}{s}" for s in stems[1:]]
    )
    assert "6 files from 1 run(s)" in r.stdout
    width, height = png_size(out / f"{run.run_id}-loss.png")
    assert width > 2 * height > 400  # linear and log side by side
    assert png_size(out / f"{run.run_id}-function.png")[0] > 400
    for svg in out.glob("*.svg"):
        assert ET.parse(svg).getroot().tag.endswith("svg")


def test_csv_columns_are_the_documented_ones(poly, tmp_path):
    export_runs(RunStore(poly).list(), tmp_path, ["csv"])
    for run in RunStore(poly).list():
        rows = read_csv(tmp_path / f"{run.run_id}.csv")
        assert len(rows) == EPOCHS + 1  # epoch 0 (at init), then each epoch
        cols = list(rows[0])
        assert cols[:3] == ["epoch", "step", "time"]
        assert cols[: len(cols) - 1] == [
            c for c in FIRST_COLUMNS if c in cols
        ]  # the usual ones, in the documented order
        assert cols[-1] == "grad_norm_0"  # one per weighted layer: the polynomial has one
        assert [int(r["epoch"]) for r in rows] == list(range(0, EPOCHS + 1))
        assert rows[0]["train_acc"] == ""  # a regression records no accuracy: empty cells
        assert float(rows[-1]["test_loss"]) == pytest.approx(run.summary["final_test_loss"])


TIDY_POLY = [
    "step",
    "timestamp",
    "run",
    "preset",
    "variant",
    "config/lr",
    "time",
    "updates",
    "train_loss",
    "test_loss",
    "lr",
    "grad_norm/layer1",
]


def test_tidy_csv_is_one_long_table_as_pandas_and_trackio_read_it(poly, tmp_path):
    runs = {rid(poly, v): RunStore(poly).get(rid(poly, v)) for v in VARIANTS}
    r = invoke("export", *runs, "--to", tmp_path / "out", "--format", "csv", "--tidy", "--runs-dir", poly)
    assert r.exit_code == 0
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["metrics.csv"]
    rows = read_csv(tmp_path / "out" / "metrics.csv")
    assert list(rows[0]) == TIDY_POLY  # only lr differs between the three runs: the one swept column
    assert len(rows) == 3 * (EPOCHS + 1)  # epoch 0 (at init), then each epoch
    for row in rows:
        run = runs[row["run"]]
        rec = run.metrics()[int(row["step"])]
        assert int(row["step"]) == rec["epoch"] and int(row["updates"]) == rec["step"]
        assert float(row["time"]) == rec["time"]
        assert datetime.fromisoformat(row["timestamp"]).timestamp() == pytest.approx(
            run.status["started"] + rec["time"], abs=1e-3
        )
        assert row["timestamp"].endswith("+00:00")
        assert float(row["config/lr"]) == run.config["lr"] and row["variant"] == run.status["variant"]
        assert float(row["test_loss"]) == rec["test_loss"]
        if rec["epoch"] == 0:  # no step yet: no gradient
            assert "grad_norm" not in rec and row["grad_norm/layer1"] == ""
        else:
            assert float(row["grad_norm/layer1"]) == rec["grad_norm"][0]


def test_tidy_swept_columns_are_the_config_keys_that_differ(tmp_path):
    runs = tmp_path / "runs"
    for name, hidden, acc in [("a", [20, 20], "0.5"), ("b", [300], "NaN")]:
        _fake_run(
            runs,
            name,
            [f'{{"epoch":1,"step":3,"time":0.5,"train_loss":1.0,"test_acc":{acc},"grad_norm":[1,2,3]}}'],
        )
        cfg = {"task": "digits", "epochs": 1, "hidden": hidden}
        (runs / name / "config.json").write_text(json.dumps(cfg))
    export_runs(RunStore(runs).list(), tmp_path / "out", ["csv"], tidy=True)
    rows = read_csv(tmp_path / "out" / "metrics.csv")
    assert list(rows[0])[:7] == ["step", "timestamp", "run", "preset", "variant", "config/hidden", "time"]
    assert [json.loads(r["config/hidden"]) for r in rows] == [[20, 20], [300]]
    assert [r["test_acc"] for r in rows] == ["0.5", ""]  # NaN: an empty cell
    assert list(rows[0])[-3:] == ["grad_norm/layer1", "grad_norm/layer2", "grad_norm/layer3"]


def test_tidy_csv_reads_into_pandas_as_the_docs_show(poly, tmp_path):
    pd = pytest.importorskip("pandas")
    export_runs(RunStore(poly).list(), tmp_path, ["csv"], tidy=True)
    df = pd.read_csv(tmp_path / "metrics.csv", parse_dates=["timestamp"])
    curves = df.pivot(index="step", columns="config/lr", values="test_loss")
    assert curves.shape == (EPOCHS, 3) and str(df["timestamp"].dtype).startswith("datetime64")


def test_json_holds_config_summary_and_metrics(poly, tmp_path):
    paths = export_runs(RunStore(poly).list(), tmp_path, ["json"])
    assert len(paths) == 3
    for p in paths:
        d = strict_json(p)
        assert d["run_id"] == p.stem and d["status"] == "finished"
        assert d["config"]["task"] == "polynomial" and d["config"]["epochs"] == EPOCHS
        assert d["summary"]["epochs"] == EPOCHS and len(d["metrics"]) == EPOCHS + 1  # epoch 0 too


def test_several_runs_get_a_comparison_figure(poly, tmp_path):
    out = tmp_path / "out"
    paths = export_runs(RunStore(poly).list(), out, ["png"], smooth=0.6, x="step")
    assert out / "compare-test_loss.png" in paths
    assert len(paths) == 3 * 2 + 1  # loss and function per run, one comparison
    assert sorted(out.iterdir()) == sorted(
        paths
    )  # and no temp files left behind  # no temp files left behind


def test_smoothing_draws_the_raw_curve_faint_behind(poly):
    run = RunStore(poly).get(rid(poly, "lr=0.1"))
    fig = loss_figure(run, smooth=0.8)
    lines = fig.axes[0].get_lines()
    raw, smoothed = lines[0], lines[1]  # train loss: raw first (behind), smoothed after (on top)
    assert raw.get_alpha() < 0.5 and smoothed.get_alpha() in (None, 1)
    assert "EMA 0.8" in smoothed.get_label()
    assert smoothed.get_ydata()[0] == pytest.approx(raw.get_ydata()[0])
    assert list(smoothed.get_ydata()) != list(raw.get_ydata())


def _fake_run(runs: Path, run_id: str, lines: list[str]) -> None:
    d = runs / run_id
    d.mkdir(parents=True)
    (d / "status.json").write_text(
        json.dumps({"status": "finished", "preset": "fake", "variant": "v", "started": 1})
    )
    (d / "config.json").write_text(json.dumps({"task": "digits", "epochs": len(lines)}))
    (d / "metrics.jsonl").write_text("".join(line + "\n" for line in lines))


def test_accuracy_lists_and_non_finite_values(tmp_path):
    runs = tmp_path / "runs"
    acc = ",".join(["0.5"] * 12)
    _fake_run(
        runs,
        "fake-acc",
        [
            f'{{"epoch":1,"step":10,"time":0.5,"train_loss":NaN,"test_loss":2.0,"train_acc":0.3,"test_acc":0.25,"class_acc":[{acc}],'
            '"class_acc_trace":[{"epoch":0.5,"acc":[0.1]}]}',
            f'{{"epoch":2,"step":20,"time":1.0,"train_loss":1.0,"test_loss":Infinity,"train_acc":0.6,"test_acc":0.55,"class_acc":[{acc}]}}',
        ],
    )
    paths = export_runs(RunStore(runs).list(), tmp_path / "out", ["csv", "json", "svg"])
    assert sorted(p.name for p in paths) == [
        "fake-acc-accuracy.svg",
        "fake-acc-loss.svg",
        "fake-acc.csv",
        "fake-acc.json",
    ]
    rows = read_csv(tmp_path / "out" / "fake-acc.csv")
    cols = list(rows[0])
    assert cols[cols.index("class_acc_0") :] == [
        f"class_acc_{i}" for i in range(12)
    ]  # class_acc_10 after class_acc_9
    assert not [c for c in cols if "trace" in c]  # a trace inside the epoch has no one cell
    assert rows[0]["train_loss"] == "" and rows[1]["test_loss"] == ""
    d = strict_json(tmp_path / "out" / "fake-acc.json")
    assert d["metrics"][0]["train_loss"] is None and d["metrics"][1]["test_loss"] is None


def _one_line_error(r) -> str:
    err = r.stderr.strip()
    assert r.exit_code == 2 and err.startswith("error:") and len(err.splitlines()) == 1, err
    assert "Traceback" not in r.stdout + r.stderr
    return err


def test_an_unwritable_to_is_refused(poly, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    err = _one_line_error(invoke("export", "latest", "--to", blocker / "out", "--runs-dir", poly))
    assert "--to" in err and "cannot write" in err


@pytest.mark.parametrize(
    "args",
    [
        ["nope"],
        ["YEAR"],
        ["latest", "--format", "pdf"],
        ["latest", "--smooth", "1"],
        ["latest", "--x", "epochs"],
        ["latest", "nope"],
    ],
)
def test_bad_input_exits_2_and_writes_nothing(poly, tmp_path, args):
    out = tmp_path / "out"
    year = rid(poly, "lr=0.1")[:4]  # every run id starts with it: ambiguous
    _one_line_error(
        invoke("export", *(year if a == "YEAR" else a for a in args), "--to", out, "--runs-dir", poly)
    )
    assert not out.exists() or not any(out.iterdir())


def test_export_is_headless_and_never_imports_torch_or_pyplot(poly, tmp_path):
    code = (
        "import sys\n"
        f"sys.argv = ['dltui', 'export', 'latest', '--to', {str(tmp_path / 'out')!r}, "
        f"'-f', 'png', '--runs-dir', {str(poly)!r}]\n"
        "from dltui.cli.main import app\n"
        "try:\n    app()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        "print(' '.join(sys.modules))\n"
    )
    env = {
        k: v
        for k, v in __import__("os").environ.items()
        if k not in ("DISPLAY", "MPLBACKEND", "WAYLAND_DISPLAY")
    }
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    ).stdout
    mods = set(out.split())
    assert (
        "matplotlib" in mods
        and "matplotlib.pyplot" not in mods
        and "torch" not in mods
        and "textual" not in mods
    )
    assert list((tmp_path / "out").glob("*-loss.png"))


def test_a_run_without_epochs_yet_exports_a_header_and_no_figure(tmp_path):
    runs = tmp_path / "runs"
    _fake_run(runs, "just-started", [])
    paths = export_runs(RunStore(runs).list(), tmp_path / "out", ["csv", "png"])
    assert [p.name for p in paths] == ["just-started.csv"]
    assert paths[0].read_text() == "epoch,step,time\n"


def _sweep_run(runs: Path, run_id: str, config: dict, n: int) -> None:
    d = runs / run_id
    d.mkdir(parents=True)
    variant = ",".join(f"{k}={v}" for k, v in config.items())
    (d / "status.json").write_text(
        json.dumps({"status": "finished", "preset": "sweep", "variant": variant, "started": 1})
    )
    (d / "config.json").write_text(json.dumps({"task": "polynomial", **config}))
    lr, seed = config["lr"], config.get("seed", 0)
    (d / "metrics.jsonl").write_text(
        "".join(
            json.dumps(
                {"epoch": e, "train_loss": 1 / (1 + lr * e) + 0.01 * seed + 0.05 * ((e * 7919) % 13) / 13}
            )
            + "\n"
            for e in range(1, n + 1)
        )
    )


def test_a_long_runs_figure_is_the_figure_of_its_decimated_series(tmp_path):
    _sweep_run(tmp_path, "20260101-000000-000-sweep-long", {"lr": 0.1}, 100_000)
    run = RunStore(tmp_path).list()[0]
    fig = loss_figure(run)
    linear, log = (ax.get_lines()[0] for ax in fig.axes[:2])
    for line, on_log in ((linear, False), (log, True)):
        xs, ys = decimated(run.metrics(), "train_loss", log=on_log)
        assert list(line.get_xdata()) == xs and list(line.get_ydata()) == ys and len(xs) <= 402


def test_compare_and_export_draw_the_labs_colours_bands_and_names(tmp_path):
    """2 lrs x 2 seeds and one lone lr: three entries named as the lab names them, coloured by lr on the lab's
    scale with its key, a seed group as its mean over a shaded band; the terminal plot says the same."""
    configs = [{"lr": lr, "seed": s} for lr in (0.1, 0.01) for s in (0, 1)] + [{"lr": 0.001, "seed": 0}]
    for i, c in enumerate(configs):
        _sweep_run(tmp_path, f"20260101-00000{i}-000-sweep-{i}", c, 300)
    runs = RunStore(tmp_path).list()
    runs.sort(key=lambda r: r.run_id)
    fig = compare_figure(runs, "train_loss")
    ax = fig.axes[0]
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["lr=0.1 (2 seeds)", "lr=0.01 (2 seeds)", "lr=0.001"]
    assert legend.get_title().get_text() == colour_key(configs) == "colour: lr 0.001 (blue) → 0.1 (yellow)"
    lab = [hex_colour(run_colours(configs)[i]) for i in (0, 2, 4)]
    assert [line.get_color() for line in ax.get_lines()] == lab
    assert len(ax.collections) == 2  # the two seed groups' bands
    means = ax.get_lines()[0].get_ydata()
    b = band([decimated(runs[i].metrics(), "train_loss") for i in (0, 1)])
    assert list(means) == b.mean
    names = labels(runs)
    text = compare_plot(runs, {r.run_id: r.metrics() for r in runs}, names, "train_loss", "epoch", False, 0.0)
    assert "lr=0.1 (2 seeds)" in text and "lr=0.001" in text and "colour: lr 0.001" in text
