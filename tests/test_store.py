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
    assert [r["epoch"] for r in records] == [0, 1, 2, 3]  # epoch 0: at init
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
    read back, found in the named sets by either, and a listing's --status is checked against the same
    enum."""
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


# The typed readers: msgspec checks each file against its table, the hand-written check words a refusal.
DAMAGED = [
    ("status.json", b"[1]", "status.json holds list, not an object"),
    ("status.json", b'{"status": "finished"', "status.json is not valid JSON"),
    ("status.json", b'{"status": "finished", "pid": "x"}', 'status.json: pid is "x", not a whole number'),
    ("status.json", b'{"status": "finished", "pid": null}', "status.json: pid is null, not a whole number"),
    ("status.json", b'{"status": "finished", "epoch": 2.0}', "status.json: epoch is 2.0, not a whole number"),
    ("status.json", b'{"status": "finished", "started": true}', "status.json: started is true, not a number"),
    ("status.json", b'{"status": "finished", "proc": 3}', "status.json: proc is 3, not text or null"),
    (
        "status.json",
        b'{"status": "finished", "resumable": 1}',
        "status.json: resumable is 1, not true or false",
    ),
    ("status.json", b'{"status": "weird"}', 'status.json: status is "weird", not one of running, finished'),
    ("summary.json", b'"text"', "summary.json holds str, not an object"),
    ("summary.json", b'{"epochs": 1.5}', "summary.json: epochs is 1.5, not a whole number"),
    (
        "summary.json",
        b'{"final_test_loss": "x"}',
        'summary.json: final_test_loss is "x", not a number or null',
    ),
    ("summary.json", b'{"target_coefficients": {}}', "summary.json: target_coefficients is {}, not a list"),
    ("config.json", b"[]", "config.json holds list, not an object"),
    ("config.json", b"{", "config.json is not valid JSON"),
    ("config.json", b'{"lr": "fast"}', 'config.json: lr = "fast" is not allowed: lr must be a number > 0.0'),
    ("config.json", b'{"epochs": true}', "config.json: epochs = true is not allowed"),
]


@pytest.mark.parametrize("name,text,reason", DAMAGED, ids=[f"{n}:{t.decode()}" for n, t, _ in DAMAGED])
def test_a_damaged_file_of_each_kind_is_refused_with_its_reason(tmp_path, name, text, reason):
    from dltui.core.store.files import Damaged, read_config, read_status, read_summary

    read = {"status.json": read_status, "summary.json": read_summary, "config.json": read_config}[name]
    (tmp_path / name).write_bytes(text)
    with pytest.raises(Damaged) as e:
        read(tmp_path / name)
    assert str(e.value).startswith(reason)


@pytest.mark.parametrize("name", ["status.json", "summary.json", "config.json"])
def test_a_damaged_file_lists_its_run_as_damaged_with_the_reason(tmp_path, name):
    store = RunStore(tmp_path)
    w = store.create("polynomial", "a", {"lr": 0.1})
    w.write_summary({"epochs": 1})
    w.set_status("finished")
    w.close()
    bad = {"status.json": b'{"status": "finished", "pid": "x"}', "summary.json": b'{"epochs": "1"}'}
    (w.path / name).write_bytes(bad.get(name, b'{"lr": "fast"}'))
    (run,) = store.list()
    assert run.state == "damaged" and run.problem.startswith(f"{name}: ")


def test_a_file_reads_as_it_always_has_unknown_keys_kept_numbers_as_written(tmp_path):
    from dltui.core.store.files import read_status, read_summary

    text = b'{"status": "finished", "started": 3, "heartbeat": 4.5, "extra": {"a": [1, null]}, "proc": null}'
    (tmp_path / "status.json").write_bytes(text)
    status = read_status(tmp_path / "status.json")
    assert status == json.loads(text) and isinstance(status["started"], int)
    # What msgspec is stricter about than the lab's reader (NaN, bytes that are not UTF-8) still reads.
    (tmp_path / "summary.json").write_bytes(b'{"best_value": NaN, "status": "\xff"}')
    summary = read_summary(tmp_path / "summary.json")
    assert summary["best_value"] != summary["best_value"] and summary["status"] == "\ufffd"


LINES = [
    b'{"epoch": 1, "train_loss": 0.5, "extra": [1]}',
    b'{"epoch": 0}',
    b'{"epoch": 1, "lr": NaN}',
    b'{"epoch": -1}',
    b'{"epoch": 1.0}',
    b'{"epoch": true}',
    b'{"step": 1}',
    b'{"epoch": 1, "step": 2.5}',
    b'{"epoch": 1, "time": true}',
    b'{"epoch": 1, "test_acc": "0.5"}',
    b'{"epoch": 1, "train_loss": null, "val_acc": 3}',
    b"[1, 2]",
    b'"epoch"',
    b'{"epoch": 1',
    b'{"epoch": 99999999999999999999999}',
]


@pytest.mark.parametrize("line", LINES, ids=[x.decode() for x in LINES])
def test_a_metrics_line_is_taken_exactly_when_the_hand_written_check_takes_it(line):
    from dltui.core.store.files import METRIC_TYPES, Damaged, check_types, parse_record

    try:
        rec = check_types(json.loads(line), METRIC_TYPES, "line")
        expected = (
            rec
            if isinstance(rec.get("epoch"), int) and not isinstance(rec["epoch"], bool) and rec["epoch"] >= 0
            else None
        )
    except (ValueError, Damaged):
        expected = None
    got = parse_record(line + b"\n")  # never an AttributeError, whatever the shape
    assert (got is None) == (expected is None)
    if got is not None:
        assert json.dumps(got) == json.dumps(expected)


def test_a_status_write_is_a_heartbeat_and_the_next_beat_waits_its_turn(tmp_path):
    """Each status write is an fsync: the beat right after one (the first epoch's record after the run's
    start) writes nothing, and one HEARTBEAT_S later it writes again."""
    import os

    w = RunStore(tmp_path / "runs").create("p", "v", {"lr": 0.1})
    path = w.path / "status.json"
    w.set_status("running", device="cpu")
    first = os.stat(path).st_ino  # each write replaces the file: a new inode
    w.append_metrics({"epoch": 0, "train_loss": 1.0})
    assert os.stat(path).st_ino == first
    w.HEARTBEAT_S = 0.0
    w.append_metrics({"epoch": 1, "train_loss": float("nan")})
    assert os.stat(path).st_ino != first
    assert json.loads(path.read_text())["epoch"] == 1
    assert [r["train_loss"] for r in read_jsonl(w.path / "metrics.jsonl")] == [1.0, None]
    w.close()
