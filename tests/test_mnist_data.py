"""The mnist task: real IDX files (plain and gzipped) through torchvision's loader, and the missing-data
error."""

from __future__ import annotations

import gzip
import json
import struct

import pytest
import torch

from dltui.core import data as tasks
from dltui.core.data import mnist
from dltui.core.executors.runner import train_size
from dltui.core.rules.errors import BadInput, DataMissing
from dltui.core.spec.config import build_config

FOUR = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


def idx_bytes(t: torch.Tensor) -> bytes:
    """A uint8 tensor in the IDX format MNIST ships in (big-endian header, then the raw bytes)."""
    head = struct.pack(">I", 0x800 + t.dim()) + struct.pack(f">{t.dim()}I", *t.shape)
    return head + t.numpy().tobytes()


def write_mnist(data_dir, n_train=60, n_test=30, gz=False, seed=0):
    """Small MNIST-shaped files in DATA/MNIST/raw/; returns the tensors written."""
    g = torch.Generator().manual_seed(seed)
    tensors = {
        "train-images-idx3-ubyte": torch.randint(0, 256, (n_train, 28, 28), generator=g, dtype=torch.uint8),
        "train-labels-idx1-ubyte": (torch.arange(n_train) * 7 % 10).to(torch.uint8),
        "t10k-images-idx3-ubyte": torch.randint(0, 256, (n_test, 28, 28), generator=g, dtype=torch.uint8),
        "t10k-labels-idx1-ubyte": (torch.arange(n_test) % 10).to(torch.uint8),
    }
    raw = data_dir / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for name, t in tensors.items():
        blob = idx_bytes(t)
        if gz:
            (raw / f"{name}.gz").write_bytes(gzip.compress(blob))
        else:
            (raw / name).write_bytes(blob)
    return tensors


def cfg(**kw):
    return build_config([("test", {"task": "mnist", "device": "cpu", **kw})])


@pytest.mark.parametrize("gz", [False, True])
def test_loads_idx_files_as_unit_floats(data_dir, gz):
    written = write_mnist(data_dir, gz=gz)
    d = tasks.build(cfg(), torch.device("cpu"), data_dir)
    assert d.train_x.shape == (60, 1, 28, 28) and d.test_x.shape == (30, 1, 28, 28)
    assert d.train_x.dtype == torch.float32 and 0.0 <= d.train_x.min() and d.train_x.max() <= 1.0
    assert torch.equal(d.train_x[:, 0], written["train-images-idx3-ubyte"].float() / 255)
    assert torch.equal(d.test_y, written["t10k-labels-idx1-ubyte"].long())
    assert d.n_classes == 10 and d.input_shape == (1, 28, 28)


def test_normalize_uses_training_statistics(data_dir):
    write_mnist(data_dir)
    d = tasks.build(cfg(normalize=True), torch.device("cpu"), data_dir)
    assert abs(float(d.train_x.mean())) < 1e-4
    assert abs(float(d.train_x.std()) - 1) < 1e-3


@pytest.mark.parametrize("gz", [False, True])
def test_train_size_comes_from_the_header(data_dir, gz):
    write_mnist(data_dir, n_train=50, gz=gz)
    assert mnist.train_size(cfg(), data_dir) == 50
    assert train_size(cfg(train_size=20), data_dir) == 20


def _extract(data_dir, q):
    try:
        train_x, _, test_x, _ = mnist.load(data_dir)  # decompresses, then torchvision reads the files
        q.put(f"{tuple(train_x.shape)} {tuple(test_x.shape)}")
    except Exception as e:  # noqa: BLE001 - the test reads what went wrong
        q.put(repr(e))


def test_two_processes_decompress_the_gz_files_at_once_and_both_read_them_whole(data_dir):
    import multiprocessing as mp

    written = write_mnist(data_dir, n_train=3000, gz=True)  # 2.3 MB: long enough for the two to overlap
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    procs = [ctx.Process(target=_extract, args=(data_dir, q)) for _ in range(2)]
    for p in procs:
        p.start()
    results = [q.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(30)
    assert results == ["(3000, 28, 28) (30, 28, 28)"] * 2
    raw = data_dir / "MNIST" / "raw"
    assert sorted(f.name for f in raw.iterdir() if f.name.startswith(".")) == []  # no part files left
    for name, t in written.items():
        assert (raw / name).read_bytes() == idx_bytes(t)


def test_a_gz_holding_more_than_its_header_says_is_refused_and_leaves_nothing(data_dir):
    write_mnist(data_dir, gz=True)
    raw = data_dir / "MNIST" / "raw"
    name = "t10k-labels-idx1-ubyte"
    (raw / f"{name}.gz").write_bytes(
        gzip.compress(idx_bytes(torch.zeros(30, dtype=torch.uint8)) + bytes(10**6))
    )
    with pytest.raises(BadInput, match=f"{name}.gz: cannot decompress it .*more than the 38 bytes"):
        mnist.load(data_dir)
    assert not (raw / name).exists()
    assert [f.name for f in raw.iterdir() if f.name.startswith(".")] == []


def test_a_file_that_is_not_idx_is_bad_input(data_dir):
    write_mnist(data_dir)
    (data_dir / "MNIST" / "raw" / "train-labels-idx1-ubyte").write_bytes(b"<html>not found</html>")
    with pytest.raises(BadInput, match="train-labels-idx1-ubyte: not an MNIST IDX file"):
        tasks.check(cfg(), data_dir)


def test_images_and_labels_must_agree(data_dir):
    write_mnist(data_dir)
    raw = data_dir / "MNIST" / "raw"
    (raw / "t10k-labels-idx1-ubyte").write_bytes(idx_bytes(torch.zeros(5, dtype=torch.uint8)))
    with pytest.raises(BadInput, match="t10k has 30 images but 5 labels"):
        tasks.check(cfg(), data_dir)


def assert_missing_message(text: str, data_dir) -> None:
    assert len(text.strip().splitlines()) == 1
    assert str(data_dir / "MNIST" / "raw") in text
    assert all(name in text for name in FOUR)
    assert "--set task=digits" in text


def test_offline_without_files_is_one_line_exit_2_and_no_run(cli, data_dir, runs_dir):
    result = cli("run", "mnist-stratified", "--epochs", "1")
    assert result.exit_code == 2
    assert_missing_message(result.stderr, data_dir)
    assert "Traceback" not in result.output + result.stderr
    assert not runs_dir.exists() or not any(runs_dir.iterdir())


def test_online_tries_the_download_and_says_why_it_failed(data_dir, monkeypatch):
    from torchvision.datasets import MNIST

    calls = []

    def no_network(self):
        calls.append(self.root)
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz:\nno route to host")

    monkeypatch.delenv("DLTUI_OFFLINE")
    monkeypatch.setattr(MNIST, "download", no_network)
    with pytest.raises(DataMissing) as err:
        tasks.check(cfg(), data_dir)
    assert calls == [str(data_dir)]
    assert "no route to host" in str(err.value)
    assert_missing_message(str(err.value), data_dir)


def test_a_preset_runs_on_mnist_files_end_to_end(cli, data_dir, runs_dir):
    write_mnist(data_dir, gz=True)
    result = cli("run", "mnist-stratified", "--epochs", "1", "--set", "batch_size=20")
    assert result.exit_code == 0, result.output
    runs = sorted(runs_dir.iterdir())
    assert len(runs) == 2
    for run in runs:
        record = json.loads((run / "metrics.jsonl").read_text().splitlines()[-1])
        assert record["epoch"] == 1 and len(record["class_acc"]) == 10
        assert json.loads((run / "status.json").read_text())["status"] == "finished"


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzipped"])
def test_the_files_read_as_torchvision_reads_them_without_importing_it(data_dir, gz):
    """The four tensors torchvision's MNIST gives, read without importing torchvision (over a second of
    every MNIST run's start, torch._dynamo's import with it)."""
    import subprocess
    import sys

    from torchvision.datasets import MNIST

    write_mnist(data_dir, gz=gz)
    got = mnist.load(data_dir)
    train, test = (MNIST(root=str(data_dir), train=t, download=False) for t in (True, False))
    want = (train.data, train.targets, test.data, test.targets)
    assert all(g.dtype == w.dtype and torch.equal(g, w) for g, w in zip(got, want))
    code = (
        f"import sys; from dltui.core.data import mnist; mnist.load({str(data_dir)!r}); "
        "print(sorted(m for m in sys.modules if m.startswith('torchvision')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "[]", out.stderr[-2000:]
