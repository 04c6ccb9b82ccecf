"""The headless CLI: list, run, runs, show — and the exit codes a script relies on."""

from __future__ import annotations

import subprocess
import sys

from dltui.core.store.folder import RunStore


def test_list_shows_every_preset(cli):
    r = cli("list")
    assert r.exit_code == 0
    assert "polynomial" in r.stdout and "Polynomial approximation" in r.stdout


def test_run_writes_one_run_per_variant_and_a_summary(cli, runs_dir):
    r = cli("run", "polynomial", "--epochs", "5")
    assert r.exit_code == 0, r.stdout
    runs = RunStore(runs_dir).list()
    assert sorted(x.status["variant"] for x in runs) == ["lr=0.001", "lr=0.01", "lr=0.1"]
    assert all(x.state == "finished" for x in runs)
    # not a terminal: one plain line per epoch, then the summary table
    assert "polynomial lr=0.1 epoch 5/5" in r.stdout
    assert "finished" in r.stdout and "runs saved in" in r.stdout


def test_set_overrides_reach_the_saved_config(cli, runs_dir):
    r = cli(
        "run", "polynomial", "--epochs", "2", "--set", "lr=0.05", "--set", "batch_size=full", "-v", "lr=0.1"
    )
    assert r.exit_code == 0
    (run,) = RunStore(runs_dir).list()
    assert run.config["lr"] == 0.05 and run.config["batch_size"] == "full" and run.config["epochs"] == 2
    assert run.metrics()[-1]["step"] == 2  # full batch: one update per epoch


def test_runs_and_show(cli, runs_dir):
    cli("run", "polynomial", "--epochs", "5", "-v", "lr=0.1")
    r = cli("runs")
    assert r.exit_code == 0 and "lr=0.1" in r.stdout and "finished" in r.stdout
    (run,) = RunStore(runs_dir).list()
    r = cli("show", run.run_id[:20])
    assert r.exit_code == 0
    assert "loss" in r.stdout and "learned by epoch vs target" in r.stdout and "epoch 5" in r.stdout
    assert "learned, epoch 5" in r.stdout and "y = +6.16 x^4" in r.stdout


def test_runs_on_an_empty_dir_says_so(cli):
    r = cli("runs")
    assert r.exit_code == 0 and "no runs" in r.stdout


def _no_runs(runs_dir) -> bool:
    return not runs_dir.exists() or not any(runs_dir.iterdir())


def test_bad_input_exits_2_with_one_line_and_no_run(cli, runs_dir):
    for args in (
        ["run", "polynomal"],
        ["run", "polynomial", "--set", "lr=abc"],
        ["run", "polynomial", "--set", "lrr=1"],
        ["run", "polynomial", "--epochs", "0"],
        ["run", "polynomial", "--set", "batch_size=500"],
        ["run", "polynomial", "-v", "nope"],
        ["run", "missing.toml"],
        ["show", "../etc"],
        ["show", "nope"],
    ):
        r = cli(*args)
        assert r.exit_code == 2, args
        err = r.stderr.strip()
        assert err.startswith("error:") and len(err.splitlines()) == 1, (args, err)
        assert "Traceback" not in r.stdout + r.stderr
        assert _no_runs(runs_dir), args


def test_user_preset_file_runs_like_a_shipped_one(cli, runs_dir, tmp_path):
    f = tmp_path / "mine.toml"
    f.write_text(
        'name = "mine"\ntitle = "Mine"\n[base]\ntask = "polynomial"\nhidden = []\n'
        'loss = "smooth_l1"\nepochs = 2\nlr = 0.1\n'
    )
    r = cli("run", str(f))
    assert r.exit_code == 0
    (run,) = RunStore(runs_dir).list()
    assert run.status["preset"] == "mine" and run.status["variant"] == "default"


def test_python_dash_m_and_help_answer():
    r = subprocess.run([sys.executable, "-m", "dltui", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "run" in r.stdout and "list" in r.stdout
