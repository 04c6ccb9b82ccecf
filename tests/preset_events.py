"""Scripted runs of the real presets for the lab's snapshot tests: what a short run of each sends, made up
from its config (deterministic, no training), with the probes and snapshots its views read."""

from __future__ import annotations

import math

from dltui.core.train.events import EpochEnded, RunEnded, RunStarted, Snapshot

EPOCHS = 12  # a short run: at most this many epochs of any variant
CLASSIFIERS = ("mnist", "digits", "cifar10", "toy2d")


def run_events(preset, plan, index: int) -> list:
    """Started, one record per epoch (with the probes the config asks for), the snapshots, ended."""
    cfg = plan.config.to_dict()
    run_id, v = f"20260101-000000-{preset.name}-{plan.variant}", plan.variant
    n = min(cfg["epochs"], EPOCHS)
    blows_up = cfg["lr"] >= 5 or (cfg["optimizer"] == "adam" and cfg["lr"] >= 0.1)
    stuck = (
        cfg.get("init") == "zeros"
        or cfg.get("order") == "stratified"
        or (cfg.get("activation") == "sigmoid" and len(cfg["hidden"]) > 5)
        or (cfg["task"] == "toy2d" and cfg["hidden"] == [])
    )
    rate = (
        0.05
        if stuck
        else min(1.5, 0.3 + 0.2 * index) * (0.3 if cfg["lr"] < 0.005 else 1.0) * min(1.0, 10 * cfg["lr"])
    )
    events = [RunStarted(run_id, preset.name, v, cfg, "cpu", {})]
    for e in range(1, n + 1):
        events.append(EpochEnded(run_id, v, record(cfg, e, rate, blows_up, stuck)))
    events += snapshots(cfg, run_id, v, n, index)
    status = "diverged" if blows_up and cfg["lr"] >= 5 else "finished"
    events.append(
        RunEnded(run_id, v, status, "loss rose above its start" if status == "diverged" else "", {})
    )
    return events


def record(cfg: dict, e: int, rate: float, blows_up: bool, stuck: bool) -> dict:
    start = 20.0 if cfg["task"] == "polynomial" else 2.3
    loss = start * math.exp(-rate * e) + 0.05
    if blows_up:
        loss = start * (1.5 + 0.3 * math.sin(e)) * (40.0 if cfg["optimizer"] == "adam" else 1.0)
    rec = {"epoch": e, "step": 10 * e, "time": 0.1 * e, "train_loss": loss, "test_loss": loss * 1.05}
    if cfg["task"] in CLASSIFIERS:
        acc = 0.1 if stuck or blows_up else 1 - 0.9 * math.exp(-rate * e)
        rec.update(train_acc=acc, test_acc=acc * 0.98)
        if cfg.get("val_fraction"):
            rec.update(val_acc=acc * (0.99 - 0.004 * e * (cfg.get("dropout", 0) == 0)), val_loss=loss * 1.1)
    probes = cfg.get("probes", [])
    if "class_acc" in probes:
        rec["class_acc_trace"] = [
            {
                "epoch": e - 1 + k / 10,
                "step": 10 * (e - 1) + k,
                "time": 0.1 * (e - 1 + k / 10),
                "acc": class_acc(cfg, k),
            }
            for k in range(1, 10)
        ]
        rec["class_acc"] = class_acc(cfg, 10)
    if "hidden_similarity" in probes:
        rec["hidden_similarity"] = 1.0 if cfg.get("init") == "zeros" else 0.02 + 0.01 / e
    hidden = len(cfg.get("hidden") or [])
    if "sharpness" in probes:  # rises towards 2/lr and hovers there (the edge of stability)
        rec["sharpness"] = min(2 / cfg["lr"] * (1 + 0.05 * math.sin(e)), 5 + 4 * e)
    if "update_ratio" in probes:  # zero init with ReLU: nothing moves (the probe writes None)
        frozen = cfg.get("init") == "zeros" and cfg.get("activation", "relu") == "relu"
        rec["update_ratio"] = [None if frozen else -3 - 0.2 * i - 0.5 / e for i in range(hidden + 1)]
    if "dead_units" in probes:
        rec["dead_units"] = [
            min(1.0, 0.02 * e * (i + 1) * (cfg.get("activation") == "sigmoid")) for i in range(hidden)
        ]
    if "layer_grad_norms" in probes:
        n = len(cfg["hidden"]) + 1
        fade = 0.9 if cfg.get("activation") == "sigmoid" else (0.3 if cfg.get("init") != "kaiming" else 0.0)
        rec["grad_norm"] = [10 ** (-fade * (n - 1 - i) - 0.1 * math.sin(e + i)) for i in range(n)]
    return rec


def class_acc(cfg: dict, tenth: int) -> list[float]:
    """Per-class test accuracy a tenth of the way into an epoch: sorted labels know the class going by."""
    if cfg.get("order") == "stratified":
        return [0.95 if c == tenth - 1 else (0.4 if c == tenth - 2 else 0.0) for c in range(10)]
    return [min(0.98, 0.6 + 0.03 * tenth + 0.01 * c) for c in range(10)]


def snapshots(cfg: dict, run_id: str, v: str, n: int, index: int) -> list:
    out = []
    if cfg["task"] == "polynomial":
        xs = [i / 10 for i in range(-30, 25)]
        target = [2 * x**4 - 3 * x**3 - 5 * x**2 + x + 1 for x in xs]
        for e in [e for e in cfg.get("record_epochs", []) if e <= n] + [n]:
            w = 1 - math.exp(-0.3 * e * (index + 1))
            out.append(
                Snapshot(
                    run_id,
                    v,
                    e,
                    "function",
                    {
                        "x": xs,
                        "target": target,
                        "learned": [w * t + (1 - w) * 40 * math.sin(x) for x, t in zip(xs, target)],
                        "coefficients": [],
                        "bias": 0.0,
                    },
                )
            )
    if "confusion" in cfg.get("probes", []):
        stuck = cfg.get("order") == "stratified"
        matrix = [
            [(90 if j == i else 1) if not stuck else (100 if j == 9 else 0) for j in range(10)]
            for i in range(10)
        ]
        out.append(Snapshot(run_id, v, n, "confusion", {"matrix": matrix}))
    if cfg["task"] == "toy2d":
        grid = [i / 5 - 2 for i in range(21)]
        classes = [[int((x * x + y * y) * 1.2) % 3 for x in grid] for y in grid]
        pts = {
            "x": [math.cos(t / 5) * t / 20 for t in range(40)],
            "y": [math.sin(t / 5) * t / 20 for t in range(40)],
            "label": [t % 3 for t in range(40)],
        }
        out.append(
            Snapshot(
                run_id,
                v,
                n,
                "regions",
                {"xs": grid, "ys": grid, "classes": classes, "points": pts, "n_classes": 3},
            )
        )
    if cfg["task"] == "gradcheck":
        eps = [0.5 * 2.0**-k for k in range(16)]
        for i, name in enumerate(("softmax", "layer", "net_jacobian", "net_gradient")):
            out.append(
                Snapshot(
                    run_id,
                    v,
                    1,
                    "gradcheck",
                    {
                        "name": name,
                        "eps": eps,
                        "first": [(i + 1) * e for e in eps],
                        "second": [(i + 1) * e * e for e in eps],
                        "slope_first": 1.0,
                        "slope_second": 2.0,
                    },
                )
            )
    return out


def preset_script(preset):
    """What the worker sends for the plans of `preset`: each variant's run in turn."""
    return lambda plans: [ev for i, p in enumerate(plans) for ev in run_events(preset, p, i)]
