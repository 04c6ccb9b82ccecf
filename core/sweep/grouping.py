"""Which variants of a sweep train together as one batched model (core/sweep/trainer.py), decided from their
configs alone: no torch, nothing built.

Variants go in one group when their configs are equal but for the per-copy values in `PER_COPY` (lr,
momentum, weight decay, seed, data seed) and those each copy's own trainer applies (`OWN`: init, epochs,
early stop, recorded epochs, probes, checkpoints): the same architecture, task, data size, batch size,
optimizer, loss and device. Each copy replays its own batch order (its own seed's permutation, or the
task's own shuffler), so variants with different seeds batch too; a copy whose seed draws its own data set
(polynomial, toy2d) brings its own data, of the same shape. A config that cannot be batched at all (`why_not`:
a CNN, dropout, amp or compile, a task that does not train) runs alone, as before.

Resumed runs (core/executors/runner.py's ResumePlan) have a `point` too: the epochs their checkpoint holds
and, if a stop interrupted an epoch, the first sample still to train in it. Only runs at one point go
together, so an interrupted batched sweep regroups its variants that stand at the same epoch and step; the
others resume in groups of their own, or alone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

MODES = ("auto", "off")
PER_COPY = frozenset({"lr", "momentum", "weight_decay", "seed", "data_seed"})
# Values each copy's own core/train Trainer applies, not the batched steps: the initial weights (made by the
# copy's own set-up), when it ends (early stop, epochs: a copy that ends leaves the group), what it records.
OWN = frozenset({"init", "epochs", "early_stop_patience", "record_epochs", "probes", "checkpoint"})
MAX_GROUP = 64  # copies in one group at most: past this the step is bound by arithmetic, not overhead
MEMORY_SHARE = 0.5  # a group may take at most this share of the device's memory (spec.resources' estimate)


def check_mode(mode: str) -> str:
    """The mode, or BadInput naming the allowed ones."""
    from ..rules.errors import BadInput

    if mode not in MODES:
        raise BadInput(
            f"--batched {mode} (or DLTUI_BATCHED): not a mode; "
            "use auto (the default: batch what can be) or off"
        )
    return mode


def why_not(cfg: Any, trains: bool = True) -> str:
    """Why this config cannot train batched ('' if it can); `trains` is False for a task with a runner of
    its own (the gradient check)."""
    if not trains:
        return f"task {cfg.task} does not train"
    if cfg.model != "mlp":
        return f"model = {cfg.model} (only MLPs batch)"
    if cfg.dropout > 0:
        return "dropout > 0 (each run draws its own masks)"
    if cfg.amp or cfg.compile:
        return "amp or compile"
    return ""


def key(cfg: Any) -> tuple:
    """What copies of one group share: every config value but the per-copy ones."""
    return tuple(sorted((k, repr(v)) for k, v in cfg.to_dict().items() if k not in PER_COPY | OWN))


def groups(
    plans: Sequence[Any],
    mode: str = "auto",
    trains: Callable[[Any], bool] = lambda cfg: True,
    fits: Callable[[Any, int], bool] = lambda cfg, n: True,
    say: Callable[[str], None] = lambda line: None,
    jobs: int = 1,
) -> list[list[Any]]:
    """`plans` (each with a `.config`) in groups, in the order of their first plan: a group of one runs as
    today. `trains(cfg)` says whether the task trains; `fits(cfg, n)` whether n copies fit in memory: a group
    that does not is split into smaller groups, and `say` gets one line saying so. With `jobs` processes,
    the largest groups are halved until every process has one (one group would leave the others idle)."""
    if mode == "off" or len(plans) < 2:
        return [[p] for p in plans]
    out: dict[Any, list[Any]] = {}
    for i, p in enumerate(plans):
        alone = getattr(p, "alone", False) or why_not(p.config, trains(p.config))
        k = ("alone", i) if alone else (key(p.config), getattr(p, "point", None))  # resumed: where it stands
        out.setdefault(k, []).append(p)
    result: list[list[Any]] = []
    for members in out.values():
        size = min(len(members), MAX_GROUP)
        while size > 1 and not fits(members[0].config, size):
            size = (size + 1) // 2
        if size < len(members) and len(members) > 1 and size < MAX_GROUP:
            say(
                f"batched: {len(members)} variants would not fit in memory as one group; "
                f"training them in groups of {size}"
            )
        result += [members[i : i + size] for i in range(0, len(members), size)]
    return spread(result, jobs)


def spread(groups: list[list[Any]], jobs: int) -> list[list[Any]]:
    """Halve the largest group (in place in the order) until there are `jobs` groups or none has two."""
    groups = list(groups)
    while len(groups) < jobs:
        i = max(range(len(groups)), key=lambda k: len(groups[k]), default=None)
        if i is None or len(groups[i]) < 2:
            break
        g = groups[i]
        half = (len(g) + 1) // 2
        groups[i : i + 1] = [g[:half], g[half:]]
    return groups


def describe(group: Sequence[Any]) -> str:
    """One line: which variants train together."""
    return f"batched together ({len(group)}): " + ", ".join(p.variant for p in group)
