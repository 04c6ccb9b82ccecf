"""What a preset may ask to see: the views it may name and the x-axes a curve can be drawn against.

Presets are checked against VIEW_NAMES (core/spec/presets.py); tui/views/*.py registers one drawer for each.
"""

from __future__ import annotations

from .probes import PROBE_VIEWS

# Views of plain metrics and of runs that are not training (the range test, the gradient check); the views of
# what a probe measured come from core.spec.probes.
METRIC_VIEWS = ("loss", "accuracy", "lr_curve", "best_epoch", "gradcheck", "lrfind")

# The views a preset may name (`views = [...]`); tui/views/*.py registers one drawer for each.
VIEW_NAMES = METRIC_VIEWS + PROBE_VIEWS

X_LABELS = {"epoch": "epoch", "step": "update (optimizer step)", "time": "wall-clock seconds"}
X_AXES = tuple(X_LABELS)  # the x-axes a curve can be drawn against, in the order `x` cycles through them
