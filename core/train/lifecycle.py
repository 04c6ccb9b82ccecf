"""How a run ends when something is raised in it: the one rule that turns an exception into a run status.

`ending` is the mapping: a stop (the flags, a stop request) or a Ctrl-C ends a run `interrupted`, bad input
ends it `failed` with its message, anything else `failed` with its type, message and traceback (CUDA out of
memory and a full disk in a user's words). `RunLifecycle` is the context a run's body goes in (the trainer,
the range test, the gradient tests, the runner): it records the run's end, and a Ctrl-C goes on once the run's
end is written. `guard` is the runner's outer net around a run whose own lifecycle writes its end: a run is
never left `running`. No torch imported here (the CLI imports this module before torch).
"""

from __future__ import annotations

import contextlib
import errno
import sys
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..rules.errors import BadInput
from ..store.folder import NO_SPACE
from .control import KeyboardInterruptAfterEnd, Stopped

STOPPED = "stopped by the user"  # a stop with no reason of its own
CTRL_C = "interrupted (Ctrl-C)"  # a Ctrl-C with no message of its own
AT_ONCE = "interrupted at once (a second signal)"  # a Ctrl-C that got past the run's own end (guard)
UNEXPECTED = "the run stopped unexpectedly"  # whatever else got past it (guard)
RUN_ENDS = (
    Exception,
    KeyboardInterrupt,
)  # what a run's body turns into its end; SystemExit and the like go on


@dataclass(frozen=True)
class Ending:
    """How a run ended: its status, the reason in a user's words, and a failure's traceback ('' if none)."""

    status: str
    reason: str = ""
    traceback: str = ""


def ending(e: BaseException, run_id: str, control: Any = None, resumable: bool = False) -> Ending:
    """How `e`, raised in run `run_id`, ends it (called while `e` is handled). A stop's reason is its own,
    else the one `control` was given (SIGTERM, say); a resumable run's full disk says how to go on."""
    if isinstance(e, Stopped):
        return Ending("interrupted", str(e) or getattr(control, "reason", "") or STOPPED)
    if isinstance(e, KeyboardInterrupt):  # its message, if any, says what it was (a second SIGTERM, say)
        return Ending("interrupted", str(e) or CTRL_C)
    if isinstance(e, BadInput):
        return Ending("failed", str(e))
    return Ending("failed", *failure(e, run_id, resumable))


def failure(e: BaseException, run_id: str, resumable: bool = True) -> tuple[str, str]:
    """(why a run failed, in a user's words; its traceback for traceback.txt, '' when the machine is at
    fault). Called while `e` is being handled."""
    reason = f"{type(e).__name__}: {e}".strip()
    torch = sys.modules.get("torch")  # an out-of-memory error can only come from a torch already imported
    if torch is not None and isinstance(e, torch.cuda.OutOfMemoryError):
        reason = "CUDA out of memory; try a smaller batch_size or model, or --device cpu (" + reason + ")"
    if isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT):
        then = f"continue with `dltui run --resume {run_id}`" if resumable else "run it again"
        return f"{NO_SPACE}; free some space, then {then}", ""
    return reason, traceback.format_exc()


class RunLifecycle:
    """`with RunLifecycle(run_id, control) as life:` around a run's body. After it, `life.status`,
    `life.reason` and `life.traceback` say how the run ended: what the body set with `end` (finished,
    diverged), or what `ending` makes of what it raised. A Ctrl-C is held until the caller has written the
    end, then `raise_interrupt` sends it on. Exceptions outside `catch`, or in `let_through`, are not the
    run's end: they go on (BadInput out of the trainer: the runner fails the run with its message)."""

    def __init__(
        self,
        run_id: str,
        control: Any = None,
        *,
        resumable: bool = False,
        catch: tuple[type[BaseException], ...] = RUN_ENDS,
        let_through: tuple[type[BaseException], ...] = (BadInput,),
    ):
        self.run_id, self.control, self.resumable = run_id, control, resumable
        self.catch, self.let_through = catch, let_through
        self.status, self.reason, self.traceback = "finished", "", ""
        self.caught: BaseException | None = None  # what the body raised, if it was the run's end

    def end(self, status: str, reason: str = "") -> None:
        """The end the body chose."""
        self.status, self.reason = status, reason

    @property
    def stopped(self) -> bool:
        """Ended by a stop (the flags or a stop request), not a Ctrl-C."""
        return isinstance(self.caught, Stopped)

    def __enter__(self) -> RunLifecycle:
        return self

    def __exit__(self, kind, e, tb) -> bool:
        if e is None or not isinstance(e, self.catch) or isinstance(e, self.let_through):
            return False
        end = ending(e, self.run_id, self.control, self.resumable)
        self.status, self.reason, self.traceback = end.status, end.reason, end.traceback
        self.caught = e
        return True

    def raise_interrupt(self, ended: Any = None) -> None:
        """Once the run's end is written: a Ctrl-C the body raised goes on, carrying `ended` (its
        RunEnded)."""
        if isinstance(self.caught, KeyboardInterrupt):
            raise KeyboardInterruptAfterEnd(ended) from None


@contextlib.contextmanager
def guard(writer: Any) -> Iterator[None]:
    """Around a run whose own lifecycle writes its end (core/executors/runner.py): whatever gets past it still
    ends the run, never leaving it `running`: a Ctrl-C as interrupted at once, anything else as failed. The
    exception goes on; the run's files are closed."""
    try:
        yield
    except KeyboardInterrupt:  # a second Ctrl-C: end it as interrupted, files whole, and let it propagate
        writer.set_status("interrupted", AT_ONCE)
        raise
    finally:
        if not writer.ended:  # an exception nobody caught: never leave a run 'running'
            writer.set_status("failed", UNEXPECTED)
        writer.close()
