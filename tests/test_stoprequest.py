"""A stop request cannot wedge a run: only a regular file written since the run (or its resume) began
stops it; a stale one is removed unheeded, and a folder (or a link, a FIFO) at its name is reported once and
ignored."""

from __future__ import annotations

import os
import time

import pytest
from reliability_helpers import finish, lines, preset_file, run_dirs, start, status, wait_for

from dltui.core.rules.errors import BadInput
from dltui.core.store import lock, stoprequest


def _run_dir(tmp_path, name: str):
    """A run folder whose owner (this process) has just taken its lock, as a run does when it begins."""
    path = tmp_path / name
    path.mkdir()
    return path, lock.acquire(path, name)


def test_a_request_written_after_the_run_began_stops_it_once(tmp_path):
    run, held = _run_dir(tmp_path, "fresh")
    try:
        stoprequest.request(run)
        assert stoprequest.asked(run)
        assert not (run / stoprequest.NAME).exists()  # taken: it stops the run once
    finally:
        held.release()


def test_a_request_from_before_the_run_began_is_removed_unheeded(tmp_path):
    run, held = _run_dir(tmp_path, "stale")
    try:
        path = stoprequest.request(run)
        began = stoprequest.began_ns(run)
        os.utime(path, ns=(began - 10**9, began - 10**9))  # written a second before the run began
        assert not stoprequest.asked(run)
        assert not path.exists()
    finally:
        held.release()


def test_a_folder_at_the_request_name_is_reported_once_and_stops_nothing(tmp_path, capfd):
    run, held = _run_dir(tmp_path, "folder")
    try:
        (run / stoprequest.NAME).mkdir()
        assert not stoprequest.asked(run)
        time.sleep(stoprequest.LOOK_S)  # the next look (every LOOK_S) reports nothing new
        assert not stoprequest.asked(run)
        err = capfd.readouterr().err.strip().splitlines()
        assert err == [
            f"warning: {run / stoprequest.NAME} is not a file (a folder), so it stops nothing; remove it"
        ]
        assert (run / stoprequest.NAME).is_dir()  # left for its owner to look at
    finally:
        held.release()


def test_asking_where_a_folder_stands_says_so_in_one_line(tmp_path):
    run, held = _run_dir(tmp_path, "asker")
    try:
        (run / stoprequest.NAME).mkdir()
        with pytest.raises(BadInput, match="is not a file \\(a folder\\): remove it, then ask again"):
            stoprequest.request(run)
    finally:
        held.release()


def _interrupted_run(tmp_path, root):
    """A run stopped by a request after 20 epochs: interrupted, resumable."""
    proc = start("run", preset_file(tmp_path, {"long": 0.01}, name="long"), "--runs-dir", root)
    wait_for(lambda: run_dirs(root) and lines(run_dirs(root)[0] / "metrics.jsonl") >= 20, "20 epochs", proc)
    (run,) = run_dirs(root)
    stoprequest.request(run)
    assert finish(proc)[0] == 130
    assert status(run)["status"] == "interrupted"
    return run


def test_a_resume_goes_on_past_a_stale_request_and_a_folder_and_stops_for_a_fresh_one(tmp_path):
    """Each used to stop the resume at 0 epochs (the folder: every resume, forever, with no hint)."""
    root = tmp_path / "store"
    run = _interrupted_run(tmp_path, root)
    for leftover in ("stale", "folder"):
        done = status(run)["epoch"]
        if leftover == "stale":
            stoprequest.request(run)  # before the resume began
        else:
            (run / stoprequest.NAME).mkdir()
        proc = start("run", "--resume", run.name, "--runs-dir", root)
        wait_for(lambda n=done + 20: lines(run / "metrics.jsonl") >= n, "20 epochs more", proc)
        if leftover == "folder":
            (run / stoprequest.NAME).rmdir()
        stoprequest.request(run)  # a fresh one stops it
        code, _, err = finish(proc)
        assert code == 130, err
        assert status(run)["reason"] == stoprequest.REASON and status(run)["epoch"] >= done + 20
        if leftover == "folder":
            assert err.count("is not a file (a folder), so it stops nothing") == 1
        else:
            assert "stop-request" not in err
