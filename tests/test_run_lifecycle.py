"""How a run ends when something is raised in it (core/train/lifecycle.py): the trainer, the range test, the
gradient tests and the runner all end runs by this one rule. Sentences about failure modes, no processes."""

from __future__ import annotations

import errno

import pytest

from dltui.core.rules.errors import BadInput
from dltui.core.store import stoprequest
from dltui.core.train.control import Control, KeyboardInterruptAfterEnd, Stopped
from dltui.core.train.lifecycle import RunLifecycle, ending, guard


def end_of(exc: BaseException, **kw) -> RunLifecycle:
    with RunLifecycle("r1", **kw) as life:
        raise exc
    return life


def test_a_body_that_returns_ends_as_it_said():
    with RunLifecycle("r1") as life:
        life.end("diverged", "the loss became non-finite")
    assert (life.status, life.reason, life.caught) == ("diverged", "the loss became non-finite", None)
    life.raise_interrupt()  # nothing to raise


def test_a_stop_interrupts_the_run_with_its_own_reason_else_the_flags_else_the_user():
    assert (end_of(Stopped(stoprequest.REASON)).status, end_of(Stopped(stoprequest.REASON)).reason) == (
        "interrupted",
        stoprequest.REASON,
    )
    assert (
        end_of(Stopped(), control=Control(reason="interrupted by SIGTERM")).reason == "interrupted by SIGTERM"
    )
    life = end_of(Stopped())
    assert life.reason == "stopped by the user" and life.stopped


def test_a_ctrl_c_interrupts_the_run_and_goes_on_once_its_end_is_written():
    life = end_of(KeyboardInterrupt())
    assert (life.status, life.reason, life.stopped) == ("interrupted", "interrupted (Ctrl-C)", False)
    assert end_of(KeyboardInterrupt("a second SIGTERM")).reason == "a second SIGTERM"
    with pytest.raises(KeyboardInterruptAfterEnd) as raised:
        life.raise_interrupt("the RunEnded")
    assert raised.value.ended == "the RunEnded"


def test_a_failure_is_a_result_with_its_type_message_and_traceback():
    life = end_of(ValueError("bad shape"))
    assert (life.status, life.reason) == ("failed", "ValueError: bad shape")
    assert "Traceback" in life.traceback and "bad shape" in life.traceback


def test_a_full_disk_is_the_machines_fault_and_says_how_to_go_on():
    full = OSError(errno.ENOSPC, "No space left on device")
    resumable = end_of(full, resumable=True)
    assert resumable.status == "failed" and resumable.reason.startswith("no space left on device")
    assert "dltui run --resume r1" in resumable.reason and resumable.traceback == ""
    assert "--resume" not in end_of(full).reason  # a range test cannot go on: it is run again


def test_bad_input_goes_on_unless_the_run_takes_it_as_its_end():
    with pytest.raises(BadInput):
        end_of(BadInput("batch_size = 0"))
    assert ending(BadInput("batch_size = 0"), "r1").reason == "batch_size = 0"
    life = end_of(BadInput("batch_size = 0"), catch=(BadInput,), let_through=())
    assert (life.status, life.reason) == ("failed", "batch_size = 0")


def test_what_a_run_does_not_catch_goes_on():
    with pytest.raises(KeyboardInterrupt):
        end_of(KeyboardInterrupt(), catch=(Exception,))
    with pytest.raises(SystemExit):
        end_of(SystemExit(3))


class Writer:
    def __init__(self):
        self.status, self.closed = ("running", ""), False

    @property
    def ended(self) -> bool:
        return self.status[0] != "running"

    def set_status(self, status: str, reason: str = "") -> None:
        if not self.ended:
            self.status = (status, reason)

    def close(self) -> None:
        self.closed = True


@pytest.mark.parametrize(
    "exc, status",
    [
        (KeyboardInterrupt(), ("interrupted", "interrupted at once (a second signal)")),
        (RuntimeError("a listener broke"), ("failed", "the run stopped unexpectedly")),
    ],
)
def test_the_guard_never_leaves_a_run_running_and_lets_the_exception_go_on(exc, status):
    w = Writer()
    with pytest.raises(type(exc)), guard(w):
        raise exc
    assert w.status == status and w.closed


def test_the_guard_keeps_the_end_the_run_wrote():
    w = Writer()
    with guard(w):
        w.set_status("finished")
    assert w.status == ("finished", "") and w.closed
