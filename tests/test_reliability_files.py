"""Whatever sits at a run file's path is opened one safe way (core/store/safeopen.py): a FIFO, a link to
/dev/zero, a link out of the runs dir, a 2 GB sparse file or JSON nested 100,000 deep never hangs a command,
never exhausts memory, never prints a traceback, and never shows another file's numbers. The run is one
`damaged` row that says why; the others are listed as before.

Commands run as a user runs them, in a subprocess with a timeout (a hang fails the test instead of blocking
it) and, where the old failure was reading without end, a cap on the address space (so a regression fails
with MemoryError instead of taking the machine's memory).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from dltui.core.store.folder import RunStore
from dltui.core.store.index import INDEX, listing
from dltui.core.store.linetail import LineTail
from dltui.core.store.safeopen import LIMITS, MAX_DEPTH, MAX_LINES, Damaged, decode, read_lines, read_whole

GOOD, BAD = "20260101-000000-000-polynomial-good-0001", "20260101-000001-000-polynomial-bad-0002"
HANG_S = 60  # far past what any of these commands takes; only a hang reaches it
CAP = 1 << 30  # the address space a listing or a show needs is a few hundred MB


def make_run(root: Path, run_id: str, loss: float, epochs: int = 3) -> Path:
    """An ended run (no training: the store's writer) with `epochs` metrics lines and a summary."""
    w = RunStore(root).create("polynomial", run_id.split("-")[4], {"lr": 0.1}, run_id=run_id)
    for e in range(1, epochs + 1):
        w.append_metrics({"epoch": e, "step": e, "time": 0.1 * e, "train_loss": loss + e, "test_loss": loss})
    w.write_summary({"epochs": epochs, "final_train_loss": loss + epochs, "final_test_loss": loss})
    w.set_status("finished")
    w.close()
    return w.path


@pytest.fixture(autouse=True)
def wide(monkeypatch):
    """Wide enough that `runs` keeps the run id column beside a damaged row's long reason."""
    monkeypatch.setenv("COLUMNS", "300")


@pytest.fixture
def runs(runs_dir) -> tuple[Path, Path]:
    """A good run and one to damage."""
    return make_run(runs_dir, GOOD, 1.0), make_run(runs_dir, BAD, 2.0)


def _cap(memory: int | None):
    if memory is None:
        return None
    return lambda: resource.setrlimit(resource.RLIMIT_AS, (memory, memory))


def dltui(*args, memory: int | None = CAP) -> subprocess.CompletedProcess:
    """`python -m dltui ARGS` in a subprocess; the test fails if it is still running after HANG_S."""
    return python("from dltui.__main__ import main; main()", *args, memory=memory)


def python(code: str, *args, memory: int | None = CAP) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(
            [sys.executable, "-c", code, *map(str, args)],
            capture_output=True,
            text=True,
            timeout=HANG_S,
            preexec_fn=_cap(memory),
            stdin=subprocess.DEVNULL,
            env={**os.environ, "OMP_NUM_THREADS": "1"},
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{code} {' '.join(map(str, args))}: still running after {HANG_S}s (it hangs)")


def fifo(path: Path) -> None:
    path.unlink(missing_ok=True)
    os.mkfifo(path)


def link(path: Path, target: Path | str) -> None:
    path.unlink(missing_ok=True)
    path.symlink_to(target)


def listed(result: subprocess.CompletedProcess) -> dict[str, dict]:
    assert result.returncode == 0 and not result.stderr, result.stderr[-2000:]
    return {row["run_id"]: row for row in json.loads(result.stdout)}


RUNS_FLAGS = [(), ("--all",), ("--limit", "5"), ("--preset", "polynomial"), ("--status", "damaged")]


@pytest.mark.parametrize("flags", RUNS_FLAGS, ids=" ".join)
def test_a_fifo_metrics_file_of_a_run_without_summary_is_one_damaged_row(runs, flags):
    """The listing read a summary-less run's last metrics line with a plain open(), which waits for a
    writer forever on a FIFO: `dltui runs` (every flag) and the lab's past runs hung at 'listing…'."""
    good, bad = runs
    (bad / "summary.json").unlink()
    fifo(bad / "metrics.jsonl")

    rows = listed(dltui("runs", "--json", *flags))
    assert rows[BAD]["state"] == "damaged" and "metrics.jsonl is not a regular file" in rows[BAD]["problem"]
    if "--status" not in flags:
        assert rows[GOOD]["state"] == "finished" and rows[GOOD]["train_loss"] == 4.0


def test_watch_finds_its_runs_before_its_ui_opens_past_a_fifo(runs):
    """`dltui watch PRESET` looks for the preset's latest batch through the listing before its UI opens;
    that look hung on the FIFO."""
    _, bad = runs
    (bad / "summary.json").unlink()
    fifo(bad / "metrics.jsonl")
    found = python(
        "import sys; from dltui.cli.watch import watched; from dltui.core.store.folder import RunStore; "
        "print(watched(RunStore(sys.argv[1]), 'polynomial'))",
        bad.parent,
    )
    assert found.returncode == 0 and BAD in found.stdout and GOOD in found.stdout, found.stderr[-2000:]


def test_a_fifo_index_is_rebuilt_at_once(runs):
    """A FIFO where the listing's cache should be hung `runs --all` and the lab; now it is passed over
    and replaced by a real cache."""
    good, _ = runs
    fifo(good.parent / INDEX)
    assert set(listed(dltui("runs", "--json", "--all"))) == {GOOD, BAD}
    assert (good.parent / INDEX).is_file() and not (good.parent / INDEX).is_fifo()


@pytest.mark.parametrize("name", ["metrics.jsonl", INDEX])
def test_a_link_to_dev_zero_is_never_read(runs, name):
    """A metrics file or a cache linked to /dev/zero was read until MemoryError (or forever)."""
    good, bad = runs
    (bad / "summary.json").unlink()
    link((bad if name == "metrics.jsonl" else good.parent) / name, "/dev/zero")

    rows = listed(dltui("runs", "--json", "--all"))
    assert set(rows) == {GOOD, BAD} and rows[GOOD]["state"] == "finished"
    if name == "metrics.jsonl":
        assert rows[BAD]["state"] == "damaged" and "is a link" in rows[BAD]["problem"]
        shown = dltui("show", BAD)
        assert shown.returncode == 0 and "damaged" in shown.stdout, shown.stderr[-2000:]


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_an_index_nested_100000_deep_is_rebuilt(runs):
    """msgspec gave a RecursionError traceback on a deeply nested cache; now it is refused and rebuilt."""
    good, _ = runs
    (good.parent / INDEX).write_text(nested(100_000))
    assert set(listed(dltui("runs", "--json", "--all"))) == {GOOD, BAD}
    (good.parent / INDEX).write_text('{"version": 1, "x": ' + nested(100_000) + ', "runs": {}}')
    assert [r.run_id for r in listing(good.parent)[0]] == [BAD, GOOD]


@pytest.mark.parametrize("name", ["status.json", "summary.json", "config.json"])
def test_a_run_file_nested_past_the_bound_is_damaged(runs, cli, name):
    """A key of any depth is refused past MAX_DEPTH levels: the run is damaged, every command answers."""
    good, bad = runs
    text = (bad / name).read_text()
    (bad / name).write_text(text.replace("{", '{"deep": ' + nested(MAX_DEPTH) + ", ", 1))
    assert RunStore(good.parent).get(BAD).problem == f"{name} is nested more than {MAX_DEPTH} levels deep"
    runs_ = cli("runs", "--all")
    assert runs_.exit_code == 0 and "damaged" in runs_.stdout and GOOD in runs_.stdout
    assert cli("show", BAD).exit_code == 0 and cli("compare", GOOD, BAD).exit_code == 0
    (bad / name).write_text(text.replace("{", '{"deep": ' + nested(MAX_DEPTH - 1) + ", ", 1))
    assert RunStore(good.parent).get(BAD).problem == ""  # deep, but within the bound: read


def test_a_metrics_line_nested_deep_is_skipped_and_the_others_kept(runs):
    _, bad = runs
    with open(bad / "metrics.jsonl", "a") as f:
        f.write('{"epoch": 4, "x": ' + nested(100_000) + "}\n")
        f.write('{"epoch": 5, "train_loss": 1.5}\n')
    assert [r["epoch"] for r in RunStore(bad.parent).get(BAD).metrics()] == [1, 2, 3, 5]


MAX_RSS_KB = 800 << 10  # well under the 2 GB file: a show is ~40 MB, ~520 MB when torch is imported


@pytest.mark.parametrize(
    "args",
    [("show", BAD), ("compare", GOOD, BAD), ("export", BAD, "--to", "{out}", "-f", "csv")],
    ids=lambda a: a[0],
)
def test_a_2gb_sparse_metrics_file_is_never_read_whole(runs, tmp_path, args):
    """show, compare and export read a metrics file whole: 2.1 GB of memory for a 2 GB sparse file (here
    that is a MemoryError under the address-space cap). Now a JSONL file is streamed, only its last bytes
    past its bound, and a file past its bound makes its run damaged, saying so."""
    _, bad = runs
    os.truncate(bad / "metrics.jsonl", 2 << 30)
    code = (
        "import resource, sys\nfrom dltui.cli.main import app\n"
        "try:\n    app(sys.argv[1:], standalone_mode=False)\nexcept SystemExit:\n    pass\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)"
    )
    done = python(code, *(str(a).format(out=tmp_path / "out") for a in args))
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stderr.split()[-1]) < MAX_RSS_KB, done.stderr[-3000:]
    store = RunStore(bad.parent)
    assert store.get(BAD).problem == "metrics.jsonl is 2048 MB, more than the 256 MB a run writes"


def test_a_metrics_file_of_a_million_tiny_lines_is_parsed_only_to_the_line_bound(runs):
    """Within the byte bound, 12-byte lines would still make millions of records (gigabytes of dicts): a
    view parses the first MAX_LINES only."""
    _, bad = runs
    with open(bad / "metrics.jsonl", "ab") as f:
        f.write(b'{"epoch":9}\n' * (MAX_LINES + 1000))
    assert len(RunStore(bad.parent).get(BAD).metrics()) == MAX_LINES


def test_a_metrics_file_linked_out_of_the_runs_dir_is_never_followed(runs, cli, tmp_path):
    """Its numbers were shown as the run's own; now the run is damaged and they appear nowhere."""
    good, bad = runs
    outside = tmp_path / "elsewhere.jsonl"
    outside.write_text('{"epoch": 1, "train_loss": 98765.4321, "test_loss": 98765.4321}\n')
    (bad / "summary.json").unlink()
    link(bad / "metrics.jsonl", outside)

    rows = {r["run_id"]: r for r in json.loads(cli("runs", "--json").stdout)}
    assert rows[BAD]["state"] == "damaged" and rows[BAD]["problem"] == (
        "metrics.jsonl is a link, which the lab never follows"
    )
    assert RunStore(good.parent).get(BAD).metrics() == []
    shown = cli("show", BAD)
    assert shown.exit_code == 0 and "98765" not in shown.stdout and "never follows" in shown.stdout
    assert cli("export", BAD, "--to", tmp_path / "out", "-f", "csv").exit_code == 0
    assert not any("98765" in p.read_text() for p in (tmp_path / "out").iterdir())


@pytest.mark.parametrize("name", ["status.json", "config.json", "summary.json", "snapshots.jsonl"])
def test_any_run_file_linked_anywhere_is_never_followed(runs, cli, tmp_path, name):
    """The same for every file of a run: a link is refused by name, and the run is one damaged row."""
    good, bad = runs
    outside = tmp_path / name
    if name == "snapshots.jsonl":
        outside.write_text('{"epoch": 1, "kind": "function", "x": [0, 1], "y": [98765.4321, 0]}\n')
    else:
        outside.write_bytes((bad / name).read_bytes())
    link(bad / name, outside)

    info = RunStore(good.parent).get(BAD)
    assert info.state == "damaged" and info.problem == f"{name} is a link, which the lab never follows"
    assert info.snapshots() == []
    listed_ = cli("runs", "--json", "--all")
    rows = {r["run_id"]: r for r in json.loads(listed_.stdout)}
    assert rows[BAD]["state"] == "damaged" and rows[GOOD]["state"] == "finished"


def test_a_forged_index_row_never_stands_for_another_run(runs):
    """A cache row whose stamp matches its run's status.json, but which names another run or holds the
    wrong types, is read again from the run's files."""
    good, bad = runs
    listing(good.parent)
    data = json.loads((good.parent / INDEX).read_text())
    data["runs"][BAD][2] = GOOD  # the row of BAD claims to be GOOD's
    data["runs"][GOOD][4:6] = [7, ["x"]]  # preset and variant of the wrong types
    (good.parent / INDEX).write_text(json.dumps(data))
    rows = listing(good.parent)[0]
    assert [(r.run_id, r.preset, r.variant) for r in rows] == [
        (BAD, "polynomial", "bad"),
        (GOOD, "polynomial", "good"),
    ]


def test_the_opener_refuses_what_is_not_a_regular_file_and_bounds_what_it_reads(tmp_path):
    """The opener's own contract, as a reader added later (a hardware samples file, say) relies on it."""
    (tmp_path / "config.json").write_bytes(b" " * (LIMITS["config.json"][0] + 1))
    fifo(tmp_path / "status.json")
    link(tmp_path / "summary.json", tmp_path / "config.json")
    with pytest.raises(Damaged, match="more than the 4 MB"):
        read_whole(tmp_path / "config.json")
    with pytest.raises(Damaged, match="not a regular file"):
        read_whole(tmp_path / "status.json")
    with pytest.raises(Damaged, match="is a link"):
        read_whole(tmp_path / "summary.json")
    assert read_whole(tmp_path / "absent.json") is None
    lines = tmp_path / "x.jsonl"
    lines.write_bytes(
        b"a\n" + b"b" * 200 + b"\nc\nd"
    )  # an over-long line and a last line still being written
    assert list(read_lines(lines, (1 << 20, 100))) == [b"a", b"c"]
    assert list(read_lines(lines, (6, 100))) == [b"c"]  # of a file past its bound, only its end
    assert decode(b'{"a": [[1]]}', "x.json") == {"a": [[1]]}
    with pytest.raises(Damaged, match="x.json is nested more than 64 levels deep"):
        decode(nested(MAX_DEPTH + 1).encode(), "x.json")
    with pytest.raises(Damaged, match="x.json is not valid JSON"):
        decode(b'{"a": ', "x.json")


def test_following_a_file_that_grows_a_huge_line_holds_no_more_than_a_line(tmp_path):
    """The tailer (watch, the lab) kept every byte of a line not yet ended: 1 GB of zeros was held whole."""
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"epoch": 1, "train_loss": 1.0}\n')
    tail = LineTail(path)
    assert [r["epoch"] for r in tail.read()[0]] == [1]
    os.truncate(path, 1 << 30)
    with open(path, "a") as f:
        f.write('\n{"epoch": 2, "train_loss": 0.5}\n')
    got, held = [], 0
    for _ in range(300):
        got += [r["epoch"] for r in tail.read()[0]]
        held = max(held, len(tail.partial))
        if tail.offset == path.stat().st_size:
            break
    assert got == [2] and held <= LIMITS["metrics.jsonl"][1]
