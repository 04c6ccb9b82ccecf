"""Plot views: every module here registers its drawers with `tui.viewkit.view` when imported."""
from __future__ import annotations

import importlib
import pkgutil


def load_all() -> None:
    """Import every view module so that their drawers are registered."""
    for mod in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{mod.name}")
