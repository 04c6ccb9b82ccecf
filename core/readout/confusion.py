"""A run's confusion matrix as both faces read it (the lab's view, the report's heatmap and CSV): the latest
valid one, and its rows as shares.

Read from a run's files, which are untrusted: a matrix that is not a square of counts is ignored. No torch.
"""

from __future__ import annotations

from typing import Any

from ..rules.numbers import is_whole

MAX_CLASSES = 1000


def valid_matrix(m: Any) -> bool:
    """A square list of lists of non-negative whole numbers."""
    return (
        isinstance(m, list)
        and 0 < len(m) <= MAX_CLASSES
        and all(isinstance(row, list) and len(row) == len(m) for row in m)
        and all(is_whole(v) and v >= 0 for row in m for v in row)
    )


def confusion_of(
    summary: dict[str, Any], snapshots: list[dict[str, Any]]
) -> tuple[int | None, list[list[int]] | None]:
    """(epoch, matrix): the latest confusion snapshot, else the summary's (epoch unknown); (None, None) if
    neither."""
    snaps = [s for s in snapshots if s.get("kind") == "confusion" and valid_matrix(s.get("matrix"))]
    if snaps:
        return snaps[-1].get("epoch"), snaps[-1]["matrix"]
    m = summary.get("confusion") if isinstance(summary, dict) else None
    return (None, m) if valid_matrix(m) else (None, None)


def row_shares(m: list[list[int]]) -> list[list[float]]:
    """Each row over its sum: the share of a true class predicted as each class."""
    return [[v / max(1, sum(row)) for v in row] for row in m]
