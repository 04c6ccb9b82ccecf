"""What a training run reports about itself: `info` at its start (RunStarted) and `summary` at its end
(summary.json); a failure's reason in a user's words is core/train/lifecycle.py's."""

from __future__ import annotations

import os
import platform
from typing import Any

import torch

from ..rules.status import RunStatus
from ..spec.device import describe
from .evaluation import finite
from .models import count_params

Trainer = Any  # core/train/trainer.py's Trainer, not imported: it imports this module

FINAL_KEYS = ("train_loss", "test_loss", "train_acc", "test_acc", "val_loss", "val_acc")
BEST_KEYS = ("test_loss", "test_acc", "val_loss", "val_acc")


def info(t: Trainer) -> dict[str, Any]:
    """The run's sizes, device and host (RunStarted's info; the summary repeats them)."""
    d = t.data
    return {
        "n_params": count_params(t.model),
        "n_train": d.n_train,
        "n_test": int(d.test_x.shape[0]),
        "n_val": int(d.val_x.shape[0]) if d.val_x is not None else 0,
        "batch_size": t.batch_size,
        "steps_per_epoch": t.steps_per_epoch,
        "kind": d.kind,
        "n_classes": d.n_classes,
        "device_name": describe(t.device),
        "torch": str(
            torch.__version__
        ),  # a plain str: its own class would make the lab import torch to unpickle it
        "cuda": torch.version.cuda,
        "python": platform.python_version(),
        "host": platform.node(),
        "pid": os.getpid(),
        **({"notes": list(t.fast.notes)} if t.fast is not None and t.fast.notes else {}),
    }


def summary(t: Trainer, status: str, reason: str) -> dict[str, Any]:
    """summary.json: how the run ended, its last and best epochs, its sizes and what its probes add."""
    last = t.history[-1] if t.history else {}
    dur = t.clock.elapsed()
    s: dict[str, Any] = {
        "status": status,
        "reason": reason,
        "preset": t.preset,
        "variant": t.variant,
        "epochs": len(t.history) and t.history[-1]["epoch"],
        "steps": t.step,
        "duration_s": round(dur, 3),
        "setup_s": round(t.setup_s, 3),  # data loading and warm-up, before the clock started
        "steps_per_s": round(t.step / dur, 1) if dur > 0 else None,
    }
    for k in FINAL_KEYS:
        s[f"final_{k}"] = last.get(k)
    if t.best.info:
        s.update(
            best_epoch=t.best.info["epoch"],
            best_metric=t.best.info["metric"],
            best_value=t.best.info["value"],
        )
        best = t.best.record_in(t.history)
        for k in BEST_KEYS:
            s[f"best_{k}"] = best.get(k)
        if status != RunStatus.FAILED:
            s.update(test_best_weights(t))
    if t.model is not None and t.data is not None:
        s.update(info(t))
        for p in t.probes:
            try:
                s.update(p.summary())
            except Exception:  # a probe must never lose the run's summary
                pass
    return s


def test_best_weights(t: Trainer) -> dict[str, Any]:
    """Test loss/accuracy of the best epoch's weights (those in best.pt): its record's own figures, measured
    on those very weights, when the record is at hand; else read back from best.pt with weights_only=True."""
    path = t.run_dir / "best.pt" if t.run_dir is not None else None
    if path is None or not path.exists() or t.model is None or t.data is None:
        return {}
    classify = t.data.kind == "classification"
    record = t.best.record_in(t.history)
    if "test_loss" in record:
        out = {"best_weights_epoch": record["epoch"], "best_weights_test_loss": record["test_loss"]}
        if classify:
            out["best_weights_test_acc"] = record["test_acc"]
        return out
    final = {k: v.clone() for k, v in t.model.state_dict().items()}
    saved = torch.load(path, map_location=t.device, weights_only=True)
    t.model.load_state_dict(saved["model"])
    loss, correct = t.evaluate(t.data.test_x, t.data.test_y)
    t.model.load_state_dict(final)  # probes and checkpoint.pt keep the last epoch's weights
    n = int(t.data.test_x.shape[0])
    out = {"best_weights_epoch": saved["epoch"], "best_weights_test_loss": finite(loss.item() / n)}
    if classify:
        out["best_weights_test_acc"] = correct.item() / n
    return out
