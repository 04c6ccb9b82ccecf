"""CIFAR-10 from torchvision's layout, DATA/cifar-10-batches-py/ (the python batches), for seed 004.

The batch files are untrusted input: they are read with a restricted unpickler that can build the
dicts, lists and uint8 arrays the format holds and nothing else. Integrity: a download goes through
torchvision (md5 of the archive), and a file whose size is that of the official file must also have
its official md5; a file of another size is no claim to be the official one and is only checked for
its structure (N×3072 uint8 `data`, N `labels` in 0..9), which is how hand-made test batches load.
The images stay uint8 on the device; `TaskData.transform` makes each batch float in 0..1 and, with
`normalize = true`, standardises it with the per-channel mean and std of the training split (never
the validation or test images), the same for all three splits.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..rules.errors import BadInput, DataMissing
from . import TaskData, safe_pickle
from .common import on_device, subset_and_split

FOLDER = "cifar-10-batches-py"
TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_FILE = "test_batch"
META_FILE = "batches.meta"
FILES = (*TRAIN_FILES, TEST_FILE, META_FILE)
# Byte sizes of the official files (their md5s are torchvision's CIFAR10 lists).
OFFICIAL_SIZES = {
    "data_batch_1": 31035704,
    "data_batch_2": 31035320,
    "data_batch_3": 31035999,
    "data_batch_4": 31035696,
    "data_batch_5": 31035623,
    "test_batch": 31035526,
    "batches.meta": 158,
}
N_CLASSES = 10
SHAPE = (3, 32, 32)
STATS_CHUNK = 4096
_verified: set[tuple[str, int, int]] = set()


def folder(data_dir: Path) -> Path:
    return Path(data_dir) / FOLDER


def check(cfg, data_dir: Path) -> None:
    """Make sure the seven files are there (download them when allowed) and official-sized ones are intact."""
    missing = [f for f in FILES if not (folder(data_dir) / f).is_file()]
    if missing:
        _download(Path(data_dir), missing)
    for name in FILES:
        _verify(folder(data_dir) / name)


def _missing_message(data_dir: Path, missing: list[str], why: str) -> str:
    return (
        f"task cifar10: CIFAR-10 is not in {folder(data_dir)} (missing {', '.join(missing)}) and {why}; "
        f"put the python batches from cifar-10-python.tar.gz there, or give another --data-dir, "
        f"or run offline on scikit-learn's digits with --set task=digits --set model=mlp"
    )


def _download(data_dir: Path, missing: list[str]) -> None:
    """Fetch and unpack the official archive (md5-checked by torchvision), or raise DataMissing."""
    if os.environ.get("DLTUI_OFFLINE"):
        raise DataMissing(
            _missing_message(data_dir, missing, "DLTUI_OFFLINE is set, so it was not downloaded")
        )
    from torchvision.datasets import CIFAR10
    from torchvision.datasets.utils import download_and_extract_archive

    try:
        with contextlib.redirect_stdout(
            io.StringIO()
        ):  # torchvision prints each step; the progress bar stays
            download_and_extract_archive(
                CIFAR10.url, str(data_dir), filename=CIFAR10.filename, md5=CIFAR10.tgz_md5
            )
    except Exception as e:  # no network, a proxy page, a bad archive: all mean the data is not here
        why = f"the download failed ({type(e).__name__}: {e})".replace("\n", " ")
        raise DataMissing(_missing_message(data_dir, missing, why)) from None
    still = [f for f in FILES if not (folder(data_dir) / f).is_file()]
    if still:
        raise DataMissing(_missing_message(data_dir, still, "the downloaded archive did not hold them"))


def _official_md5(name: str) -> str:
    from torchvision.datasets import CIFAR10

    table = dict(CIFAR10.train_list + CIFAR10.test_list)
    table[CIFAR10.meta["filename"]] = CIFAR10.meta["md5"]
    return table[name]


def _verify(path: Path) -> None:
    """A file of an official size must have the official md5; any other must have CIFAR's structure (read
    with the restricted unpickler). Checked once per file version, before any run starts."""
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key in _verified:
        return
    if st.st_size != OFFICIAL_SIZES[path.name]:
        read_classes(path) if path.name == META_FILE else read_batch(path)
        _verified.add(key)
        return
    md5 = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            md5.update(block)
    if md5.hexdigest() != _official_md5(path.name):
        raise BadInput(
            f"task cifar10: {path} has the official size but not the official md5 (a corrupt download); "
            "delete it and run again to download it anew"
        )
    _verified.add(key)


def read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(images N×3×32×32 uint8, labels N int64) from one python batch, checked for its structure."""
    entry = _unpickle(path)
    data = entry.get(b"data") if isinstance(entry, dict) else None
    labels = entry.get(b"labels") if isinstance(entry, dict) else None
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise BadInput(
            f"task cifar10: {path} is not a CIFAR-10 batch (needs b'data', an N×3072 uint8 array); "
            "replace it with the file from cifar-10-python.tar.gz"
        )
    if (
        not isinstance(labels, list)
        or len(labels) != data.shape[0]
        or any(type(v) is not int or not 0 <= v < N_CLASSES for v in labels)
    ):
        raise BadInput(
            f"task cifar10: {path} is not a CIFAR-10 batch (needs b'labels', {data.shape[0]} whole numbers "
            "0..9); replace it with the file from cifar-10-python.tar.gz"
        )
    return data.reshape(-1, *SHAPE), np.asarray(labels, dtype=np.int64)


def read_classes(path: Path) -> list[str]:
    """The class names from batches.meta."""
    meta = _unpickle(path)
    names = meta.get(b"label_names") if isinstance(meta, dict) else None
    if not isinstance(names, list) or len(names) != N_CLASSES or any(not isinstance(n, bytes) for n in names):
        raise BadInput(
            f"task cifar10: {path} is not CIFAR-10's batches.meta (needs b'label_names', 10 names); "
            "replace it with the file from cifar-10-python.tar.gz"
        )
    return [n.decode("utf-8", "replace") for n in names]


def _unpickle(path: Path) -> Any:
    try:
        return safe_pickle.load(path, safe_pickle.numpy_arrays())
    except safe_pickle.UnsafePickle as e:
        raise BadInput(
            f"task cifar10: {path} was not loaded: it {e}; "
            "replace it with the file from cifar-10-python.tar.gz"
        ) from None
    except Exception as e:  # truncated or not a pickle at all
        raise BadInput(
            f"task cifar10: {path} cannot be read ({type(e).__name__}: {e}); delete it and run again, "
            "or replace it with the file from cifar-10-python.tar.gz"
        ) from None


def load_split(paths: list[Path]) -> tuple[torch.Tensor, torch.Tensor]:
    """The batches at `paths` joined: (uint8 N×3×32×32, int64 N)."""
    parts = [read_batch(p) for p in paths]
    x = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    return torch.from_numpy(x), torch.from_numpy(y)


def channel_stats(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and std (population) of uint8 images N×C×H×W in 0..1 units, in float64 chunks."""
    total = torch.zeros(x.shape[1], dtype=torch.float64)
    squares = torch.zeros(x.shape[1], dtype=torch.float64)
    for s in range(0, x.shape[0], STATS_CHUNK):
        chunk = x[s : s + STATS_CHUNK].double()
        total += chunk.sum(dim=(0, 2, 3))
        squares += chunk.square().sum(dim=(0, 2, 3))
    count = x.shape[0] * x.shape[2] * x.shape[3]
    mean = total / count
    std = (squares / count - mean.square()).clamp_min(0).sqrt()
    return mean / 255, std.clamp_min(1e-3) / 255


class Normalize:
    """uint8 batch -> float, (x/255 - mean) / std per channel, on the batch's device."""

    def __init__(self, mean: torch.Tensor, std: torch.Tensor, device, channels_last: bool = False):
        self.scale = (1 / (255 * std)).float().view(1, -1, 1, 1).to(device)
        self.shift = (mean / std).float().view(1, -1, 1, 1).to(device)
        self.channels_last = channels_last

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.addcmul(-self.shift, x.float(), self.scale)
        return out.contiguous(memory_format=torch.channels_last) if self.channels_last else out


def build(cfg, device, data_dir) -> TaskData:
    d = folder(data_dir)
    train_x, train_y = load_split([d / f for f in TRAIN_FILES])
    test_x, test_y = load_split([d / TEST_FILE])
    classes = read_classes(d / META_FILE)
    train_x, train_y, val_x, val_y = subset_and_split(cfg, train_x, train_y)
    if cfg.normalize:
        mean, std = channel_stats(train_x)
        extras = {"mean": mean.tolist(), "std": std.tolist()}
    else:  # pixels scaled to 0..1 only, as torchvision's ToTensor does
        mean, std, extras = torch.zeros(SHAPE[0]), torch.ones(SHAPE[0]), {}
    cuda = torch.device(device).type == "cuda"
    if cuda:
        torch.backends.cudnn.benchmark = True  # fixed input shapes: let cuDNN pick its fastest kernels
    return on_device(
        "cifar10",
        device,
        (train_x, train_y),
        (test_x, test_y),
        (val_x, val_y),
        N_CLASSES,
        SHAPE,
        {**extras, "classes": classes},
        transform=Normalize(mean, std, device, channels_last=cuda),
    )


def train_size(cfg, data_dir) -> int:
    """Training images in the five batches: 10,000 in an official-sized file, else counted."""
    d = folder(data_dir)
    return sum(
        10000 if (d / f).stat().st_size == OFFICIAL_SIZES[f] else len(read_batch(d / f)[1])
        for f in TRAIN_FILES
    )
