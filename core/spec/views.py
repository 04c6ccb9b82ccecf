"""What a preset may ask to see: the views it may name and the x-axes a curve can be drawn against.

Presets are checked against VIEW_NAMES (core/spec/presets.py); tui/views/*.py registers one drawer for each.
"""

from __future__ import annotations

# The views a preset may name (`views = [...]`); tui/views/*.py registers one drawer for each.
VIEW_NAMES = (
    "loss",
    "accuracy",
    "function",
    "lr_curve",
    "class_acc",
    "hidden_similarity",
    "grad_norm",
    "regions",
    "gradcheck",
    "best_epoch",
    "sharpness",
    "update_ratio",
    "dead_units",
    "confusion",
    "lrfind",
)

X_LABELS = {"epoch": "epoch", "step": "update (optimizer step)", "time": "wall-clock seconds"}
X_AXES = tuple(X_LABELS)  # the x-axes a curve can be drawn against, in the order `x` cycles through them
