"""Train in a separate process (spawn) and send the events back over a queue: what the TUI uses.

A busy UI can never slow training, and a crash in training can never take the UI down. The child
writes its runs to the run store itself, so nothing depends on the parent staying alive; its output
goes to a log file in the temp dir (`dltui-UID/training-*.log`), never over the app's screen.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from .localpool import ExecutorDone, Pool
from .runner import RunPlan

__all__ = ["TrainingProcess", "ExecutorDone"]

BATCHED_ENV = "DLTUI_BATCHED"  # the lab's switch: auto (the default) or off


class TrainingProcess(Pool):
    """One training process running `plans` in order (a Pool of one); variants that can train together as
    one batched model do, unless `batched` is off (the lab: DLTUI_BATCHED=off)."""

    def __init__(
        self, plans: list[RunPlan], runs_dir: Path | str, data_dir: Path | str, batched: str | None = None
    ):
        from ..sweep.grouping import check_mode

        batched = check_mode(batched or os.environ.get(BATCHED_ENV) or "auto")
        log = (
            Path(tempfile.gettempdir())
            / f"dltui-{os.getuid()}"
            / f"training-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
        )
        super().__init__(plans, runs_dir, data_dir, jobs=1, log=log, batched=batched)

    @property
    def process(self):
        return self.processes[0]
