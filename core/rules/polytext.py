"""A polynomial as a line of text, the way seed 003's notebook printed it (its `poly_desc`).

Both faces (`dltui run`, `dltui show`) print learned and target functions with this one rule, so a
student can hold the lab's lines beside the seed's: `y = +6.16 x^4 -0.86 x^3 +1.87 x^2 -0.14 x^1 +1.95`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .numbers import is_finite

LEARNED = "==> Learned function:"
ACTUAL = "==> Actual function: "


def poly_desc(coefficients: Sequence[float], bias: float) -> str:
    """`y = +a x^4 -b x^3 ... +c`: coefficients from the highest power down, each to two decimals with its
    sign."""
    n = len(coefficients)
    terms = "".join(f"{w:+.2f} x^{n - i} " for i, w in enumerate(coefficients))
    return f"y = {terms}{bias:+.2f}"


def poly_line(record: dict[str, Any], coefficients: str = "coefficients", bias: str = "bias") -> str | None:
    """`poly_desc` of the record's coefficients and bias; None unless they are finite numbers (a file may hold
    anything)."""
    w, b = record.get(coefficients), record.get(bias)
    if not (isinstance(w, list) and w and all(is_finite(v) for v in w + [b])):
        return None
    return poly_desc(w, b)


def function_lines(record: dict[str, Any]) -> list[str]:
    """The seed's lines for one learned-function snapshot: learned, then actual (when they are readable)."""
    pairs = ((LEARNED, poly_line(record)), (ACTUAL, poly_line(record, "target_coefficients", "target_bias")))
    return [f"{label}  {line}" for label, line in pairs if line is not None]
