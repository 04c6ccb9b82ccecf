"""A run's checkpoints: when they are written (atomically), and reading one back safely for a resume.

checkpoint.pt holds what a run goes on from (model, optimizer, counters, random state, best epoch, clock
and, after a stop, the epoch in flight); best.pt holds the best epoch's weights only.
"""

from __future__ import annotations

import io
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from ..rules.errors import BadInput
from ..rules.numbers import is_number, is_whole
from ..spec.config import RunConfig
from ..store.atomic import write_atomic
from ..store.files import Damaged, read_bytes

CHECKPOINT_EVERY_S = 1.0  # short epochs: at most one checkpoint a second (and always the last epoch)
CHECKPOINT_KEYS = frozenset({"model", "optimizer", "epoch", "step", "time", "gen", "rng"})


class Checkpoints:
    """Writes a run's checkpoint files into `run_dir`, or nothing when there is none or checkpoints are
    off."""

    def __init__(self, run_dir: Path | None, enabled: bool, last_epoch: int):
        self.dir = run_dir if enabled else None
        self.last_epoch = last_epoch
        self._last_write = -math.inf
        self._pinned: tuple[int, bool] | None = None  # (epoch, due) decided ahead by `pin`

    @property
    def on(self) -> bool:
        return self.dir is not None

    def pin(self, epoch: int) -> bool:
        """Decide now whether `epoch` gets a checkpoint.pt, and hold `due(epoch)` to it (a batched group asks
        before the epoch's end, to hand a copy its weights back only then)."""
        decided = self._pinned[1] if self._pinned and self._pinned[0] == epoch else self._due(epoch)
        self._pinned = (epoch, decided)
        return decided

    def due(self, epoch: int) -> bool:
        """Whether the epoch just ended gets a checkpoint.pt; marks it done."""
        if self._pinned is not None and self._pinned[0] == epoch:
            decided, self._pinned = self._pinned[1], None
            return decided
        return self._due(epoch)

    def _due(self, epoch: int) -> bool:
        """At most one a second, always the last."""
        if self.dir is None:
            return False
        now = time.perf_counter()
        if now - self._last_write >= CHECKPOINT_EVERY_S or epoch == self.last_epoch:
            self._last_write = now
            return True
        return False

    def write(self, name: str, state: dict[str, Any]) -> None:
        write_checkpoint(self.dir / name, state)


def load_checkpoint(
    path: Path,
    cfg: RunConfig | None = None,
    data_dir: Path | None = None,
    fit: Callable[[dict[str, Any], RunConfig, Path | None], str] | None = None,
) -> dict[str, Any]:
    """A checkpoint.pt, loaded with weights_only=True (no code runs); BadInput if torn, foreign or unsafe,
    and, given the run's config, if it does not fit it (see checkpoint_problem)."""
    try:  # a regular file only (a FIFO would hang torch.load), read whole, then loaded with no code run
        raw = io.BytesIO(read_bytes(path, limit=None) or b"")
        s = torch.load(raw, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - whatever is wrong with the file, refuse it and say so
        why = str(e) if isinstance(e, Damaged) else type(e).__name__
        raise BadInput(
            f"{path}: cannot be loaded safely ({why}); this run cannot be resumed, "
            f"start it again with `dltui run`"
        ) from None
    if not isinstance(s, dict) or not CHECKPOINT_KEYS <= s.keys():
        raise BadInput(
            f"{path}: not a dltui training checkpoint (it needs {', '.join(sorted(CHECKPOINT_KEYS))}); "
            f"start the run again with `dltui run`"
        )
    if cfg is not None:
        problem = checkpoint_problem(s, cfg) or (
            fit(s, cfg, Path(data_dir) if data_dir else None) if fit else ""
        )
        if problem:
            raise BadInput(
                f"{path}: it does not fit the run's config ({problem}), so the run cannot be resumed; "
                f"nothing was changed; start it again with `dltui run`"
            )
    return s


def checkpoint_problem(s: dict[str, Any], cfg: RunConfig) -> str:
    """What in a loaded checkpoint does not fit `cfg` (types, counters, the model's and optimizer's shapes),
    or ''."""

    def whole(v, lo=0, hi=None):
        return is_whole(v) and v >= lo and (hi is None or v <= hi)

    if not whole(s["epoch"], 0, cfg.epochs):
        return f"epoch = {s['epoch']!r}, not a whole number from 0 to {cfg.epochs}"
    if not whole(s["step"]):
        return f"step = {s['step']!r}, not a whole number >= 0"
    if not is_number(s["time"]) or not 0 <= s["time"] < math.inf:
        return f"time = {s['time']!r}, not a number of seconds"
    for key in ("gen", "rng"):
        if not isinstance(s[key], torch.Tensor) or s[key].dtype != torch.uint8:
            return f"{key} is not a random generator state"
    if (
        not isinstance(s.get("best") or {}, dict)
        or not isinstance(s["model"], dict)
        or not isinstance(s["optimizer"], dict)
    ):
        return "model, optimizer or best is not a table"
    partial = s.get("partial")
    if partial is not None and not (
        isinstance(partial, dict)
        and whole(partial.get("start"))
        and all(isinstance(partial.get(k), torch.Tensor) for k in ("loss_sum", "correct"))
        and (partial.get("order") is None or isinstance(partial["order"], torch.Tensor))
    ):
        return "the epoch in flight (partial) is not what the lab writes"
    return ""


def write_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """torch.save it atomically (core/store/atomic.py): a crash or a full disk leaves the old checkpoint
    whole. Saved to memory first, so that a full disk is an OSError (torch's own writer makes it a
    RuntimeError)."""
    buf = io.BytesIO()
    torch.save(state, buf)
    write_atomic(path, buf.getbuffer())
