"""Test helper: count the values a run reads back to the host (each one a sync on a GPU)."""

from __future__ import annotations

import torch

READS = ("item", "tolist", "__bool__", "__float__", "__int__")


def count_host_reads(monkeypatch) -> dict[str, int | bool]:
    """{"on": ..., "n": ...}: while "on" is true, every tensor read back to the host adds one to "n"."""
    reads: dict[str, int | bool] = {"on": False, "n": 0}
    for name in READS:
        original = getattr(torch.Tensor, name)

        def counted(self, *a, _original=original, **k):
            reads["n"] += reads["on"]
            return _original(self, *a, **k)

        monkeypatch.setattr(torch.Tensor, name, counted)
    return reads
