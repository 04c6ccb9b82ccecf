"""Many saved runs: newest first from the names, rows from a cache that never outlives the files it
stands for (a run deleted by hand, a run resumed by another process), `dltui runs` filters and JSON."""

from __future__ import annotations

import dataclasses
import json
import shutil

import pytest

from dltui.core.store.folder import RunStore
from dltui.core.store.index import INDEX, listing


def make_runs(root, specs) -> list[str]:
    """Ended runs, oldest first: (preset, variant, status, final train loss) each; their ids."""
    store, ids = RunStore(root), []
    for n, (preset, variant, status, loss) in enumerate(specs):
        w = store.create(
            preset,
            variant,
            {"lr": 0.1},
            run_id=f"20260101-{n // 3600:02d}{n // 60 % 60:02d}{n % 60:02d}-000-{preset}-{variant}-abcd",
        )
        w.append_metrics({"epoch": 1, "step": 1, "time": 0.1, "train_loss": loss})
        w.write_summary({"epochs": 1, "final_train_loss": loss, "final_test_acc": 0.5})
        w.set_status(status, "why" if status != "finished" else "")
        w.close()
        ids.append(w.run_id)
    return ids


@pytest.fixture
def root(tmp_path):
    return tmp_path / "store"


SPECS = [
    ("poly", "a", "finished", 1.0),
    ("poly", "b", "diverged", 2.0),
    ("mnist", "a", "finished", 3.0),
    ("mnist", "b", "interrupted", 4.0),
    ("poly", "c", "finished", 5.0),
]


def test_newest_first_with_a_limit_and_filters(root):
    ids = make_runs(root, SPECS)
    rows, total = listing(root, limit=2)
    assert [r.run_id for r in rows] == ids[::-1][:2] and total == 5
    rows, total = listing(root, preset="poly")
    assert [r.variant for r in rows] == ["c", "b", "a"] and total == 3
    rows, total = listing(root, limit=1, state="finished")
    assert [r.train_loss for r in rows] == [5.0] and total == 3
    assert [r.state for r in listing(root, preset="mnist", state="interrupted")[0]] == ["interrupted"]


def test_a_run_deleted_by_hand_leaves_the_listing_and_the_index(root):
    ids = make_runs(root, SPECS)
    listing(root)
    assert set(json.loads((root / INDEX).read_text())["runs"]) == set(ids)
    shutil.rmtree(root / ids[2])
    rows, total = listing(root, preset="mnist")
    assert [r.run_id for r in rows] == [ids[3]] and total == 1
    assert set(json.loads((root / INDEX).read_text())["runs"]) == set(ids) - {ids[2]}
    assert RunStore(root).get("latest").run_id == ids[4]


def test_a_cached_row_is_read_again_when_its_run_changes(root):
    ids = make_runs(root, SPECS)
    assert listing(root, state="interrupted")[0][0].run_id == ids[3]
    store = RunStore(root)
    writer, _ = store.reopen(store.claim(ids[3]), 1)  # another process takes it up again
    try:
        assert listing(root, state="interrupted") == ([], 0)
        assert [r.run_id for r in listing(root, state="running")[0]] == [ids[3]]
    finally:
        writer.set_status("finished")
        writer.close()
    assert [r.state for r in listing(root, preset="mnist")[0]] == ["finished", "finished"]


def test_a_damaged_index_is_rebuilt(root):
    ids = make_runs(root, SPECS)
    (root / INDEX).write_text('{"version": 1, "runs": {"x": 3, ')
    assert [r.run_id for r in listing(root)[0]] == ids[::-1]
    (root / INDEX).write_text(
        json.dumps({"version": 1, "runs": {ids[0]: {"stamp": "nope", "row": {"bad": 1}}}})
    )
    assert listing(root, preset="poly", state="finished")[0][-1].train_loss == 1.0


def test_dltui_runs_limit_all_filters_and_json(cli, root):
    ids = make_runs(root, SPECS)
    r = cli("runs", "--runs-dir", root, "--limit", "2")
    assert r.exit_code == 0 and ids[4] in r.stdout and ids[3] in r.stdout and ids[2] not in r.stdout
    assert "newest 2 of 5" in r.stdout
    r = cli("runs", "--runs-dir", root, "--all", "--json", "--preset", "poly", "--status", "finished")
    rows = json.loads(r.stdout)
    assert [(x["variant"], x["state"], x["train_loss"]) for x in rows] == [
        ("c", "finished", 5.0),
        ("a", "finished", 1.0),
    ]


def test_dltui_runs_bad_filter_is_one_line_and_exit_2(cli, root):
    r = cli("runs", "--runs-dir", root, "--status", "done")
    assert r.exit_code == 2 and "finished" in r.stdout + r.stderr
    r = cli("runs", "--runs-dir", root, "--limit", "0")
    assert r.exit_code == 2


def test_a_cache_row_of_the_wrong_shape_is_read_again_and_the_others_are_kept(root):
    ids = make_runs(root, SPECS)
    listing(root)
    data = json.loads((root / INDEX).read_text())
    data["runs"][ids[1]][7] = 9.0  # a row still valid: shown as cached (its run's files say 2.0)
    data["runs"][ids[0]][3] = "weird"  # no such status
    data["runs"][ids[2]][6] = "3"  # epochs as text
    data["runs"][ids[3]] = data["runs"][ids[3]][:-1]  # a field short
    (root / INDEX).write_text(json.dumps(data))
    rows = {r.run_id: r for r in listing(root)[0]}
    assert rows[ids[1]].train_loss == 9.0
    assert [rows[i].train_loss for i in (ids[0], ids[2], ids[3])] == [1.0, 3.0, 4.0]
    assert rows[ids[0]].state == "finished" and rows[ids[2]].epochs == 1
    rewritten = json.loads((root / INDEX).read_text())["runs"]
    assert rewritten[ids[0]][3] == "finished" and rewritten[ids[2]][6] == 1 and len(rewritten[ids[3]]) == 13


def test_a_cached_row_reads_back_as_the_row_it_stands_for(root):
    make_runs(root, SPECS)
    fresh = listing(root)[0]
    assert listing(root)[0] == fresh  # the second listing is from the cache
    assert [r.to_dict() for r in fresh] == [dataclasses.asdict(r) for r in fresh]
