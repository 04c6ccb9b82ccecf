"""`dltui compare`: overlaid curves in the terminal and a table of final and best figures; the run card."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from dltui.cli.compare import best_of
from dltui.cli.main import app
from dltui.core.export.figures import labels
from dltui.core.rules.numbers import fmt
from dltui.core.store.folder import RunStore

VARIANTS = ["lr=0.1", "lr=0.01", "lr=0.001"]
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


def ids(runs: Path) -> dict[str, str]:
    return {x.status["variant"]: x.run_id for x in RunStore(runs).list()}


def test_compare_overlays_each_run_and_tabulates_final_and_best(poly):
    runs = ids(poly)
    r = invoke("compare", *(runs[v] for v in VARIANTS), "--runs-dir", poly)
    assert r.exit_code == 0, r.stdout
    out = ANSI.sub("", r.stdout)
    assert "test loss: final and best" in out and "at epoch" in out
    for v in VARIANTS:
        run = RunStore(poly).get(runs[v])
        assert v in out and run.run_id in out
        assert fmt(run.summary["final_test_loss"]) in out
    assert "┌" in out and "epoch" in out  # the plot itself


def test_compare_options_prefix_and_latest(poly):
    runs = ids(poly)
    r = invoke(
        "compare",
        runs["lr=0.1"][:-2],
        "latest",
        "--metric",
        "train_loss",
        "--x",
        "step",
        "--log",
        "--smooth",
        "0.6",
        "--runs-dir",
        poly,
    )
    assert r.exit_code == 0, r.stdout
    out = ANSI.sub("", r.stdout)
    assert "train loss (EMA 0.6" in out and "train loss: final and best" in out
    assert "update" in out  # the x-axis label for steps
    assert out.count(runs["lr=0.1"]) == 1


def _one_line_error(r) -> str:
    err = r.stderr.strip()
    assert r.exit_code == 2 and err.startswith("error:") and len(err.splitlines()) == 1, err
    assert "Traceback" not in r.stdout + r.stderr
    return err


@pytest.mark.parametrize(
    "args, says",
    [
        (["latest", "nope"], "no run 'nope'"),
        (["latest", "../etc"], "not valid"),
        (["YEAR"], "ambiguous"),  # the year every run id starts with
        (["latest", "--metric", "test_acc"], "they record: "),
        (["latest", "--smooth", "-0.5"], "[0, 1)"),
        (["latest", "--x", "epochs"], "epoch, step, time"),
    ],
)
def test_bad_input_exits_2_with_one_line(poly, args, says):
    year = next(iter(ids(poly).values()))[:4]
    err = _one_line_error(invoke("compare", *(year if a == "YEAR" else a for a in args), "--runs-dir", poly))
    assert says in err


def test_compare_never_imports_torch(poly):
    code = (
        f"import sys\nsys.argv = ['dltui', 'compare', 'latest', '--runs-dir', {str(poly)!r}]\n"
        "from dltui.cli.main import app\ntry:\n    app()\nexcept SystemExit as e:\n    assert not e.code\n"
        "print(' '.join(sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "torch" not in out.split()


def _info(run_id, preset, variant):
    return SimpleNamespace(run_id=run_id, status={"preset": preset, "variant": variant})


def test_labels_tell_twins_and_presets_apart():
    same = labels(
        [_info("a-1111", "p", "lr=0.1"), _info("b-2222", "p", "lr=0.1"), _info("c-3333", "p", "lr=1")]
    )
    assert same == {"a-1111": "lr=0.1 [1111]", "b-2222": "lr=0.1 [2222]", "c-3333": "lr=1"}
    mixed = labels([_info("a", "p", "v"), _info("b", "q", "v")])
    assert mixed == {"a": "p v", "b": "q v"}


def test_best_is_lowest_loss_and_highest_accuracy():
    recs = [
        {"epoch": 1, "test_loss": 2.0, "test_acc": 0.5},
        {"epoch": 2, "test_loss": 1.0, "test_acc": 0.9},
        {"epoch": 3, "test_loss": None, "test_acc": 0.7},
    ]
    assert best_of(recs, "test_loss") == (1.0, 2)
    assert best_of(recs, "test_acc") == (0.9, 2)
    assert best_of(recs, "val_loss") == (None, None)


def test_show_has_the_run_card(poly):
    run = RunStore(poly).get(ids(poly)["lr=0.1"])
    r = invoke("show", run.run_id, "--runs-dir", poly)
    assert r.exit_code == 0
    out = ANSI.sub("", r.stdout)
    for row in ("seed", "2020", "device", "torch", "CUDA", "duration (s)", "config", "learned, epoch 20"):
        assert row in out, row
    assert run.summary["torch"] in out


def test_run_card_without_cuda_and_from_status(tmp_path):
    import json

    d = tmp_path / "runs" / "fake-run"
    d.mkdir(parents=True)
    (d / "status.json").write_text(
        json.dumps({"status": "finished", "preset": "p", "variant": "v", "device_name": "cpu, 2 threads"})
    )
    (d / "config.json").write_text(json.dumps({"task": "digits", "seed": 7}))
    (d / "summary.json").write_text(json.dumps({"torch": "2.0.0+cpu", "cuda": None, "duration_s": 1.5}))
    out = ANSI.sub("", invoke("show", "fake-run", "--runs-dir", tmp_path / "runs").stdout)
    for row in (
        "seed",
        "7",
        "cpu, 2 threads",
        "2.0.0+cpu",
        "none (a CPU build of torch)",
        "1.5",
        "task=digits",
    ):
        assert row in out, row
