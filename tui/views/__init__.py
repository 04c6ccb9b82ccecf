"""Plot views: every module here registers its drawers with `tui.viewkit.view` when imported, one per view
name a preset may list (core/spec/views.py).

May import: dltui.core (never torch) and tui/viewkit.py.
"""

from __future__ import annotations

import importlib
import pkgutil

import plotext._utility as _plotext_utility


def _brush_in_order(*lists):
    """plotext's `brush` (drops repeated (tick, label) pairs from `xticks`/`yticks`), keeping the given order.

    plotext's own goes through a set, so the ticks come out in an order that depends on the string hash
    (PYTHONHASHSEED): where two ticks land on one row, which label shows changed from one process to the next.
    """
    n = min(map(len, lists))
    kept = list(dict.fromkeys(zip(*(lst[:n] for lst in lists))))
    return [[t[i] for t in kept] for i in range(len(lists))]


_plotext_utility.brush = _brush_in_order  # _monitor.py calls it as ut.brush, so it finds this one


def load_all() -> None:
    """Import every view module so that their drawers are registered."""
    for mod in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{mod.name}")
