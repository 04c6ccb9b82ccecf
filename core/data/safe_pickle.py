"""Read pickles that come from outside (dataset files) without letting them run code.

A pickle can name any importable callable and call it (`os.system` through `__reduce__`). The
unpickler here resolves a global only from an explicit allow-list, so a file can build the data
its format needs and nothing else; any other global is refused before it is looked up.
"""

from __future__ import annotations

import io
import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any


class UnsafePickle(pickle.UnpicklingError):
    """The pickle names a global that is not on the allow-list."""


class RestrictedUnpickler(pickle.Unpickler):
    """An Unpickler whose `find_class` returns only the objects in `allowed`."""

    def __init__(self, file, allowed: Mapping[tuple[str, str], Any], encoding: str = "bytes"):
        super().__init__(file, encoding=encoding)
        self.allowed = dict(allowed)

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self.allowed[(module, name)]
        except KeyError:
            raise UnsafePickle(
                f"refused global '{module}.{name}' (allowed: {_names(self.allowed)})"
            ) from None


def _names(allowed: Mapping[tuple[str, str], Any]) -> str:
    return ", ".join(f"{m}.{n}" for m, n in allowed) or "none"


def numpy_arrays() -> dict[tuple[str, str], Any]:
    """What a pickled numpy array needs: `_reconstruct` (under numpy 1's and 2's module names), ndarray,
    dtype."""
    import numpy as np

    reconstruct = np.zeros(0).__reduce__()[0]  # numpy's own _reconstruct, whatever module holds it
    return {
        ("numpy.core.multiarray", "_reconstruct"): reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): reconstruct,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
    }


def loads(data: bytes, allowed: Mapping[tuple[str, str], Any] | None = None) -> Any:
    """Unpickle `data` (str fields read as bytes), allowing only the globals in `allowed` (default: none)."""
    return RestrictedUnpickler(io.BytesIO(data), allowed or {}).load()


def load(path: Path | str, allowed: Mapping[tuple[str, str], Any] | None = None) -> Any:
    """Unpickle the file at `path` like `loads`."""
    with open(path, "rb") as f:
        return RestrictedUnpickler(f, allowed or {}).load()
