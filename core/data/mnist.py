"""MNIST from torchvision's layout, DATA/MNIST/raw/ (the four IDX files, plain or .gz), as tensors on the
device; read here as torchvision reads them, without importing it (over a second of a run's start), which is
used only to download.

`check` runs before any run dir is made: it downloads when online (and DLTUI_OFFLINE is not set), and
otherwise says in one line where to put the files and that `--set task=digits` runs offline.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import math
import os
import struct
from pathlib import Path

from ..rules.errors import BadInput, DataMissing
from . import TaskData

SIDE = 28  # pixels: images are SIDE x SIDE, one channel
SHAPE = (1, SIDE, SIDE)
N_CLASSES = 10
FILES = {  # name -> (IDX magic number, dimensions after the count)
    "train-images-idx3-ubyte": (2051, (SIDE, SIDE)),
    "train-labels-idx1-ubyte": (2049, ()),
    "t10k-images-idx3-ubyte": (2051, (SIDE, SIDE)),
    "t10k-labels-idx1-ubyte": (2049, ()),
}


def raw_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "MNIST" / "raw"


def offline() -> bool:
    return os.environ.get("DLTUI_OFFLINE", "") not in ("", "0")


def _find(raw: Path, name: str) -> Path | None:
    """The file as torchvision names it, or its .gz."""
    for path in (raw / name, raw / f"{name}.gz"):
        if path.is_file():
            return path
    return None


def missing(data_dir: Path) -> list[str]:
    raw = raw_dir(data_dir)
    return [name for name in FILES if _find(raw, name) is None]


def read_header(path: Path) -> tuple[int, tuple[int, ...]]:
    """(magic, dimensions) of an IDX file, plain or gzipped, reading only its first bytes."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            head = f.read(16)
    except (OSError, EOFError) as e:
        raise BadInput(
            f"{path}: cannot read it ({e}); replace it with the file from the MNIST site"
        ) from None
    if len(head) < 8:
        raise BadInput(f"{path}: too short for an IDX file; replace it with the file from the MNIST site")
    magic = struct.unpack(">I", head[:4])[0]
    ndim = magic & 0xFF
    dims = struct.unpack(f">{ndim}I", head[4 : 4 + 4 * ndim]) if len(head) >= 4 + 4 * ndim else ()
    return magic, tuple(dims)


def _checked_count(raw: Path, name: str) -> int:
    """The sample count in one file's header, after checking its magic number and image shape."""
    path = _find(raw, name)
    magic, dims = read_header(path)
    want_magic, want_dims = FILES[name]
    if magic != want_magic or len(dims) != 1 + len(want_dims) or tuple(dims[1:]) != want_dims:
        raise BadInput(
            f"{path}: not an MNIST IDX file (magic {magic}, shape {list(dims)}); "
            "replace it with the file from the MNIST site"
        )
    return dims[0]


def _check_counts(raw: Path) -> int:
    """The training set's size; images and labels of each split must agree."""
    counts = {name: _checked_count(raw, name) for name in FILES}
    for split in ("train", "t10k"):
        n_img, n_lab = counts[f"{split}-images-idx3-ubyte"], counts[f"{split}-labels-idx1-ubyte"]
        if n_img != n_lab:
            raise BadInput(
                f"{raw}: {split} has {n_img} images but {n_lab} labels; "
                f"replace the {split}-* files with a matching pair"
            )
    return counts["train-labels-idx1-ubyte"]


def _download(data_dir: Path) -> str:
    """Try torchvision's download; return why it failed ('' when it worked)."""
    from torchvision.datasets import MNIST

    try:
        with contextlib.redirect_stdout(io.StringIO()):  # torchvision prints every failed mirror
            MNIST(root=str(data_dir), train=True, download=True)
    except Exception as e:  # noqa: BLE001 - any failure means: tell the user where to put the files
        return str(e).strip().splitlines()[-1] if str(e).strip() else type(e).__name__
    return ""


def missing_message(data_dir: Path, why: str) -> str:
    raw = raw_dir(data_dir)
    files = ", ".join(FILES)
    return (
        f"MNIST is not in {raw} and could not be downloaded ({why}); put the four files {files} "
        f"(or their .gz) in {raw}, or give another --data-dir, "
        "or run offline on scikit-learn's digits with --set task=digits"
    )


def check(cfg, data_dir: Path) -> None:
    """Make sure the four files are there (downloading them if allowed), or raise DataMissing."""
    if missing(data_dir):
        why = "offline: DLTUI_OFFLINE is set" if offline() else _download(data_dir)
        if missing(data_dir):
            raise DataMissing(missing_message(data_dir, why or "the download left files missing"))
    _check_counts(raw_dir(data_dir))


def train_size(cfg, data_dir: Path) -> int:
    """The training set's size from the IDX header (60,000 when the files are not there yet)."""
    raw = raw_dir(data_dir)
    path = _find(raw, "train-labels-idx1-ubyte")
    return _checked_count(raw, "train-labels-idx1-ubyte") if path else 60000


def _expected_size(path: Path) -> int:
    """The bytes an IDX file of this header holds: its header, then count x shape of uint8."""
    _, dims = read_header(path)
    return 4 + 4 * len(dims) + math.prod(dims)


def _extract_gz(raw: Path) -> None:
    """Decompress any file that is only there as .gz, as torchvision's download does (with gzip: no
    torchvision import): into a file of this process's own, renamed into place when whole, so that two runs
    starting at once (`--jobs 2`) never read or write a half-decompressed file; never more bytes than the
    file's header says it holds."""
    for name in FILES:
        if (raw / name).is_file():
            continue
        src = raw / f"{name}.gz"
        tmp = raw / f".{name}.{os.getpid()}.part"
        try:
            limit = _expected_size(src)
            with gzip.open(src, "rb") as f, open(tmp, "wb") as out:
                while chunk := f.read(min(1 << 20, limit + 1 - out.tell())):
                    out.write(chunk)
                    if out.tell() > limit:
                        raise OSError(f"it holds more than the {limit:,} bytes its header says")
            os.replace(tmp, raw / name)
        except (OSError, EOFError) as e:
            tmp.unlink(missing_ok=True)
            raise BadInput(
                f"{src}: cannot decompress it ({e}); decompress it by hand (gunzip) or replace it"
            ) from None


def _read_idx(raw: Path, name: str):
    """One plain IDX file as a tensor (uint8 images N×28×28, or labels as int64), as torchvision's reader
    gives it, without importing torchvision (its import, torch._dynamo's with it, costs over a second of
    every MNIST run's start). Its header was checked by `check`."""
    import torch

    path = raw / name
    dims = FILES[name][1]
    data = path.read_bytes()
    start = 4 * (2 + len(dims))
    n = struct.unpack(">I", data[4:8])[0]
    size = n * SIDE * SIDE if dims else n
    if len(data) < start + size:
        raise BadInput(
            f"{path}: shorter than its header says ({len(data)} bytes for {n} samples); "
            "replace it with the file from the MNIST site"
        )
    x = torch.frombuffer(bytearray(data[start : start + size]), dtype=torch.uint8)
    return x.view(n, *dims) if dims else x.long()


def load(data_dir: Path):
    """(train images, train labels, test images, test labels): uint8 N×28×28 and int64."""
    raw = raw_dir(data_dir)
    _extract_gz(raw)
    return tuple(_read_idx(raw, name) for name in FILES)


def build(cfg, device, data_dir: Path) -> TaskData:
    """MNIST as float images in [0,1] (N×1×28×28), normalized with training statistics if asked."""
    from .common import finish_classification

    train_x, train_y, test_x, test_y = load(data_dir)
    to_float = lambda t: t.unsqueeze(1).float().div_(255.0)  # noqa: E731
    return finish_classification(
        cfg,
        device,
        "mnist",
        to_float(train_x),
        train_y.long(),
        to_float(test_x),
        test_y.long(),
        N_CLASSES,
        SHAPE,
    )
