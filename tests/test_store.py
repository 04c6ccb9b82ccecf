"""The run store's files, as DESIGN.md describes them."""

from __future__ import annotations

import json

import pytest

from dltui.core.rules.errors import BadInput
from dltui.core.store.folder import RunStore, read_jsonl


def _strict(text: str):
    def refuse(token):
        raise AssertionError(f"non-strict JSON token {token}")

    return json.loads(text, parse_constant=refuse)


def test_run_dir_has_the_four_files_in_strict_json(cli, runs_dir):
    assert cli("run", "polynomial", "--epochs", "3", "--variant", "lr=0.1").exit_code == 0
    (run,) = RunStore(runs_dir).list()
    files = {p.name for p in run.path.iterdir()}
    assert {"config.json", "metrics.jsonl", "status.json", "summary.json"} <= files
    config = _strict((run.path / "config.json").read_text())
    assert config["lr"] == 0.1 and config["task"] == "polynomial" and config["epochs"] == 3
    lines = (run.path / "metrics.jsonl").read_text().splitlines()
    records = [_strict(line) for line in lines]
    assert [r["epoch"] for r in records] == [1, 2, 3]
    for key in (
        "epoch",
        "step",
        "time",
        "train_loss",
        "test_loss",
        "train_acc",
        "test_acc",
        "val_loss",
        "val_acc",
        "lr",
    ):
        assert key in records[0]
    assert records[-1]["step"] == 3 * 4  # 200 points / batch 50
    status = _strict((run.path / "status.json").read_text())
    assert status["status"] == "finished" and status["pid"] and status["host"] and status["heartbeat"]
    summary = _strict((run.path / "summary.json").read_text())
    assert summary["epochs"] == 3 and summary["final_train_loss"] == records[-1]["train_loss"]


def test_non_finite_values_are_written_as_null(tmp_path):
    w = RunStore(tmp_path).create("p", "v", {"lr": 1.0})
    w.append_metrics({"epoch": 1, "train_loss": float("nan"), "test_loss": float("inf")})
    w.close()
    (rec,) = read_jsonl(w.path / "metrics.jsonl")
    assert rec["train_loss"] is None and rec["test_loss"] is None


def test_cut_off_last_line_is_skipped(tmp_path):
    w = RunStore(tmp_path).create("p", "v", {})
    w.append_metrics({"epoch": 1, "train_loss": 1.0})
    w.close()
    with open(w.path / "metrics.jsonl", "a") as f:
        f.write('{"epoch": 2, "train_lo')
    assert [r["epoch"] for r in read_jsonl(w.path / "metrics.jsonl")] == [1]


def test_ended_status_is_never_overwritten(tmp_path):
    w = RunStore(tmp_path).create("p", "v", {})
    w.set_status("finished")
    w.set_status("failed", "late")
    assert json.loads((w.path / "status.json").read_text())["status"] == "finished"


@pytest.mark.parametrize("bad", ["../etc", "a/b", "..", "/abs", ""])
def test_run_ids_are_never_paths(tmp_path, bad):
    with pytest.raises(BadInput):
        RunStore(tmp_path).get(bad)


def test_runs_are_found_by_unique_prefix_and_latest(tmp_path):
    store = RunStore(tmp_path)
    a = store.create("p", "a", {}, run_id="20260101-000000-p-a-0001")
    b = store.create("p", "b", {}, run_id="20260101-000001-p-b-0002")
    assert store.get("20260101-000000").run_id == a.run_id
    assert store.get("latest").run_id == b.run_id
    with pytest.raises(BadInput, match="ambiguous"):
        store.get("20260101")


def test_a_run_status_is_one_enum_that_reads_and_writes_as_the_text_in_status_json(tmp_path):
    """RunStatus members are the strings status.json holds: written as them byte for byte, equal to them when
    read back, found in the named sets by either, and a listing's --status is checked against the same enum."""
    from dltui.core.rules.status import ENDED, LISTED, RESUMABLE, WRITTEN, RunStatus
    from dltui.core.store.index import check_state, listing

    store = RunStore(tmp_path / "runs")
    writer = store.create("p", "v", {})
    writer.set_status(RunStatus.FINISHED)
    writer.close()
    status = json.loads((writer.path / "status.json").read_text())
    assert status["status"] == "finished" and type(writer.status["status"]) is str  # plain text, not a member
    assert b'"status": "finished"' in (writer.path / "status.json").read_bytes()
    (run,) = store.list()
    assert run.state is RunStatus.FINISHED and run.state == "finished" and f"{run.state}" == "finished"
    assert "finished" in ENDED and RunStatus.CRASHED in RESUMABLE and "crashed" not in WRITTEN
    assert {s.value for s in LISTED} == set(WRITTEN) | {"crashed", "damaged"}
    assert json.dumps([RunStatus.DIVERGED]) == '["diverged"]' and RunStatus.of(["x"]) is None
    assert check_state("crashed") is RunStatus.CRASHED and check_state(None) is None
    with pytest.raises(
        BadInput, match="use one of running, finished, diverged, failed, interrupted, crashed"
    ):
        check_state("queued")  # a batch's status, but no run in the runs dir has it
    rows, total = listing(store.root, state="finished")
    assert total == 1 and rows[0].state is RunStatus.FINISHED
    rows, _ = listing(store.root, state="finished")  # from the cache: the row's state is the member again
    assert rows[0].state is RunStatus.FINISHED
