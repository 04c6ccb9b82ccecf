"""A seed group drawn as one band: the members' mean as a line in the group's colour, their lowest and
highest values as faint edges (core/sweeps.py computes it from the decimated curves). A view calls
`draw_band` once per group of core.sweeps.seed_groups; no textual here."""
from __future__ import annotations

from dltui.core.sweeps import band, group_name
from dltui.tui.viewkit import RunData, ViewOptions, series


def draw_band(plt, runs: list[RunData], key: str, opts: ViewOptions, colour, marker: str = "braille",
              scale: float = 1.0, label: bool = True) -> bool:
    """Draw `runs` (one seed group) as a band of `key`; False when none of them has a value yet."""
    b = band([series(r, key, opts) for r in runs])
    if not b.xs:
        return False
    if len(runs) > 1:
        for edge in (b.lo, b.hi):
            plt.plot(b.xs, [y * scale for y in edge], color=colour, marker="dot")
    plt.plot(b.xs, [y * scale for y in b.mean], color=colour, marker=marker,
             label=group_name([r.variant for r in runs]) if label else None)
    return True
