"""CIFAR-10 loading through the real path: python batches on disk, statistics, validation split, errors.

`write_cifar` makes small files in the real format, byte for byte in the style of the official ones
(Python 2 pickles, protocol 2: str fields as BINSTRING, `numpy.core.multiarray._reconstruct`).
Every image carries its own id in its first two pixels, so a test can tell which ones went where.
"""

from __future__ import annotations

import io
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from dltui.core.rules.errors import BadInput, DataMissing
from dltui.core.spec.config import RunConfig

NAMES = [b"airplane", b"automobile", b"bird", b"cat", b"deer", b"dog", b"frog", b"horse", b"ship", b"truck"]


class Py2Pickler(pickle._Pickler):
    """Pickles as Python 2's cPickle did: str and bytes as (SHORT_)BINSTRING, numpy 1's global names."""

    dispatch = dict(pickle._Pickler.dispatch)

    def save_bytes(self, obj: bytes) -> None:
        n = len(obj)
        self.write(
            (pickle.SHORT_BINSTRING + bytes([n]) if n < 256 else pickle.BINSTRING + struct.pack("<i", n))
            + obj
        )
        self.memoize(obj)

    def save_str(self, obj: str) -> None:
        self.save_bytes(obj.encode("latin1"))

    def save_reconstruct(self, obj, name=None) -> None:
        self.write(pickle.GLOBAL + b"numpy.core.multiarray\n_reconstruct\n")
        self.memoize(obj)

    def memoize(self, obj) -> None:
        """Memo slots from 1, as cPickle numbered them (the pure-Python pickler starts at 0)."""
        idx = len(self.memo) + 1
        self.write(self.put(idx))
        self.memo[id(obj)] = idx, obj

    dispatch[bytes] = save_bytes
    dispatch[str] = save_str
    dispatch[type(np.zeros(0).__reduce__()[0])] = (
        save_reconstruct  # builtin functions: only _reconstruct here
    )


def py2_dumps(obj) -> bytes:
    f = io.BytesIO()
    Py2Pickler(f, protocol=2).dump(obj)
    return f.getvalue()


def images(start: int, n: int, rng: np.random.Generator, labels: np.ndarray) -> np.ndarray:
    """N×3072 uint8: noise and a bright 8×8 square placed by the label (learnable), ids in pixels 0-1 of
    red."""
    x = rng.integers(0, 120, size=(n, 3, 32, 32), dtype=np.uint8)
    for i, k in enumerate(labels):
        r, c = 8 * (k // 4), 8 * (k % 4)
        x[i, k % 3, r : r + 8, c : c + 8] = 255
    ids = np.arange(start, start + n)
    x[:, 0, 0, 0], x[:, 0, 0, 1] = ids // 256, ids % 256
    return x.reshape(n, 3072)


def write_cifar(data_dir: Path, per_batch: int = 40, n_test: int = 60, seed: int = 0) -> Path:
    """The six batches and batches.meta in DATA/cifar-10-batches-py/; returns that folder."""
    folder = Path(data_dir) / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i, name in enumerate([f"data_batch_{k}" for k in range(1, 6)] + ["test_batch"]):
        n = n_test if name == "test_batch" else per_batch
        labels = rng.integers(0, 10, size=n)
        start = 5 * per_batch if name == "test_batch" else i * per_batch
        batch = {
            b"batch_label": f"batch {name}".encode(),
            b"labels": [int(v) for v in labels],
            b"data": images(start, n, rng, labels),
            b"filenames": [f"img_{start + j}.png".encode() for j in range(n)],
        }
        (folder / name).write_bytes(py2_dumps(batch))
    meta = {b"num_cases_per_batch": per_batch, b"label_names": NAMES, b"num_vis": 3072}
    (folder / "batches.meta").write_bytes(py2_dumps(meta))
    return folder


def ids_of(x: torch.Tensor) -> list[int]:
    """The ids written into images by `write_cifar`."""
    return (x[:, 0, 0, 0].long() * 256 + x[:, 0, 0, 1].long()).tolist()


def build(data_dir, **over):
    from dltui.core.data import build as build_task

    cfg = RunConfig().with_overrides({"task": "cifar10", "normalize": True, **over})
    return build_task(cfg, torch.device("cpu"), data_dir)


def read_raw(folder: Path, name: str) -> dict:
    return pickle.loads((folder / name).read_bytes(), encoding="bytes")


def test_loads_the_python_batches_as_uint8_images(data_dir):
    folder = write_cifar(data_dir)
    d = build(data_dir)
    raw = [read_raw(folder, f"data_batch_{k}") for k in range(1, 6)]
    assert d.train_x.dtype == torch.uint8 and tuple(d.train_x.shape) == (200, 3, 32, 32)
    assert np.array_equal(d.train_x.numpy().reshape(200, 3072), np.concatenate([r[b"data"] for r in raw]))
    assert d.train_y.tolist() == sum((r[b"labels"] for r in raw), [])
    test = read_raw(folder, "test_batch")
    assert (
        np.array_equal(d.test_x.numpy().reshape(60, 3072), test[b"data"])
        and d.test_y.tolist() == test[b"labels"]
    )
    assert d.extras["classes"][0] == "airplane" and d.n_classes == 10 and d.val_x is None


def test_normalization_statistics_come_from_the_training_split_only(data_dir):
    write_cifar(data_dir)
    d = build(data_dir, val_fraction=0.25)
    train = d.train_x.numpy().astype(np.float64) / 255
    np.testing.assert_allclose(d.extras["mean"], train.mean(axis=(0, 2, 3)), rtol=1e-9)
    np.testing.assert_allclose(d.extras["std"], train.std(axis=(0, 2, 3)), rtol=1e-9)
    everything = torch.cat([d.train_x, d.val_x]).numpy().astype(np.float64) / 255
    assert not np.allclose(d.extras["mean"], everything.mean(axis=(0, 2, 3)), rtol=0, atol=1e-6)
    z = d.transform(d.train_x).double()
    np.testing.assert_allclose(z.mean(dim=(0, 2, 3)).numpy(), 0, atol=1e-5)
    np.testing.assert_allclose(z.std(dim=(0, 2, 3), correction=0).numpy(), 1, atol=1e-5)


def test_validation_and_test_use_the_training_statistics(data_dir):
    write_cifar(data_dir)
    d = build(data_dir, val_fraction=0.25)
    mean, std = (np.array(d.extras[k]).reshape(1, 3, 1, 1) for k in ("mean", "std"))
    for x in (d.val_x, d.test_x):
        expect = (x.numpy() / 255 - mean) / std
        np.testing.assert_allclose(d.transform(x).numpy(), expect, atol=1e-5)


def test_without_normalize_pixels_are_scaled_to_0_1(data_dir):
    write_cifar(data_dir)
    d = build(data_dir, normalize=False)
    np.testing.assert_allclose(d.transform(d.test_x).numpy(), d.test_x.numpy() / 255, atol=1e-7)
    assert "mean" not in d.extras


def test_validation_split_is_disjoint_seeded_and_reproducible(data_dir):
    write_cifar(data_dir)
    a, b, c = (
        build(data_dir, val_fraction=0.1, seed=1),
        build(data_dir, val_fraction=0.1, seed=1),
        build(data_dir, val_fraction=0.1, seed=2),
    )
    train, val = ids_of(a.train_x), ids_of(a.val_x)
    assert len(val) == 20 and len(train) == 180
    assert not set(train) & set(val) and sorted(train + val) == list(range(200))
    assert ids_of(b.val_x) == val and ids_of(b.train_x) == train
    assert ids_of(c.val_x) != val
    assert a.val_y.tolist() == build(data_dir).train_y[torch.tensor(val)].tolist()


def test_train_size_counts_the_batches_and_the_runner_subtracts_validation(data_dir):
    from dltui.core.executors import runner

    write_cifar(data_dir, per_batch=30)
    cfg = RunConfig().with_overrides({"task": "cifar10", "val_fraction": 0.1})
    assert runner.train_size(cfg, data_dir) == 150 - 15
    assert build(data_dir, val_fraction=0.1).n_train == 135


def test_offline_missing_data_names_the_folder_the_files_and_digits(cli, data_dir, runs_dir):
    r = cli("run", "cifar-dropout", "--set", "epochs=1")
    assert r.exit_code == 2
    line = r.stderr.strip()
    assert "\n" not in line and "Traceback" not in r.output
    assert str(data_dir / "cifar-10-batches-py") in line
    assert "data_batch_1" in line and "test_batch" in line and "batches.meta" in line and "digits" in line
    assert not runs_dir.exists() or not any(p.is_dir() for p in runs_dir.iterdir())


def test_one_missing_file_is_named(data_dir):
    from dltui.core.data import cifar

    folder = write_cifar(data_dir)
    (folder / "data_batch_4").unlink()
    with pytest.raises(DataMissing, match="missing data_batch_4\\)"):
        cifar.check(RunConfig(task="cifar10"), data_dir)


def test_a_file_of_official_size_must_have_the_official_md5(data_dir):
    from dltui.core.data import cifar

    folder = write_cifar(data_dir)
    (folder / "batches.meta").write_bytes(b"\0" * cifar.OFFICIAL_SIZES["batches.meta"])
    with pytest.raises(BadInput, match="official size but not the official md5"):
        cifar.check(RunConfig(task="cifar10"), data_dir)


def test_a_batch_with_the_wrong_shape_is_refused(data_dir):
    folder = write_cifar(data_dir)
    bad = {b"data": np.zeros((4, 100), np.uint8), b"labels": [0, 1, 2, 3]}
    (folder / "data_batch_2").write_bytes(py2_dumps(bad))
    with pytest.raises(BadInput, match="data_batch_2 is not a CIFAR-10 batch"):
        build(data_dir)


def test_a_truncated_batch_is_refused(data_dir):
    folder = write_cifar(data_dir)
    path = folder / "test_batch"
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(BadInput, match="test_batch cannot be read"):
        build(data_dir)


def test_the_fixture_writes_the_official_format_byte_for_byte_and_it_passes_the_md5_check(data_dir):
    """The official batches.meta is small enough to rebuild: same bytes, so torchvision's md5 matches."""
    import hashlib

    from torchvision.datasets import CIFAR10

    from dltui.core.data import cifar

    folder = write_cifar(data_dir)
    official = py2_dumps({b"num_cases_per_batch": 10000, b"label_names": NAMES, b"num_vis": 3072})
    assert hashlib.md5(official).hexdigest() == CIFAR10.meta["md5"]
    (folder / "batches.meta").write_bytes(official)
    cifar.check(RunConfig(task="cifar10"), data_dir)  # official size, official md5: accepted
    assert build(data_dir).extras["classes"][-1] == "truck"


def test_online_a_failed_download_is_data_missing(data_dir, monkeypatch):
    from torchvision.datasets import utils

    from dltui.core.data import cifar

    def fail(*a, **k):
        raise OSError("network unreachable")

    monkeypatch.delenv("DLTUI_OFFLINE")
    monkeypatch.setattr(utils, "download_and_extract_archive", fail)
    with pytest.raises(
        DataMissing, match=r"the download failed \(OSError: network unreachable\).*--set task=digits"
    ):
        cifar.check(RunConfig(task="cifar10"), data_dir)


def test_online_missing_files_are_fetched_through_torchvision_with_the_archive_md5(data_dir, monkeypatch):
    from torchvision.datasets import CIFAR10, utils

    from dltui.core.data import cifar

    calls = []

    def fetch(url, root, filename, md5):
        calls.append((url, filename, md5))
        write_cifar(root)

    monkeypatch.delenv("DLTUI_OFFLINE")
    monkeypatch.setattr(utils, "download_and_extract_archive", fetch)
    cifar.check(RunConfig(task="cifar10"), data_dir)
    assert calls == [(CIFAR10.url, CIFAR10.filename, CIFAR10.tgz_md5)]
    cifar.check(RunConfig(task="cifar10"), data_dir)  # all there now: no second download
    assert len(calls) == 1


def test_the_gpu_layout_gives_the_same_numbers_in_channels_last(data_dir):
    from dltui.core.data.cifar import Normalize

    write_cifar(data_dir)
    d = build(data_dir)
    mean, std = (torch.tensor(d.extras[k], dtype=torch.float64) for k in ("mean", "std"))
    out = Normalize(mean, std, "cpu", channels_last=True)(d.test_x)
    assert out.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(out, d.transform(d.test_x))
