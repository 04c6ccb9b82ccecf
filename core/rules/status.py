"""A run's status, one name for each: what status.json says, and what a reader makes of it.

`RunStatus` is a `str`: a member equals the text written in status.json ("finished" == RunStatus.FINISHED),
is written as that text by json, and prints as it (on every Python the lab supports), so that the files
stay as they were. A run's files say only WRITTEN statuses; `crashed` (a running run whose writer is gone)
and `damaged` (files that cannot be trusted) are what a reader concludes; `queued` and `skipped` belong
to a batch's runs that never started.
"""

from __future__ import annotations

from enum import Enum


class RunStatus(str, Enum):
    """The status of one run."""

    RUNNING = "running"
    FINISHED = "finished"
    DIVERGED = "diverged"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    CRASHED = "crashed"  # read: `running` in status.json, its writer gone
    DAMAGED = "damaged"  # read: its files cannot be trusted
    QUEUED = "queued"  # a batch's run not started yet
    SKIPPED = "skipped"  # a batch's run never started (the batch stopped first)

    __hash__ = str.__hash__  # as its text's: "finished" in a set of members is found (Enum hashes the name)

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return self.value.__format__(spec)

    @classmethod
    def of(cls, text: object) -> RunStatus | None:
        """The member named by `text`, None if there is none (text read from a file is untrusted)."""
        return _BY_VALUE.get(text) if isinstance(text, str) else None


_BY_VALUE = {s.value: s for s in RunStatus}

# What a run's status.json may say (a writer writes nothing else).
WRITTEN = (
    RunStatus.RUNNING,
    RunStatus.FINISHED,
    RunStatus.DIVERGED,
    RunStatus.FAILED,
    RunStatus.INTERRUPTED,
)
# A run in the runs dir is in one of these (a listing can be filtered by them).
LISTED = (*WRITTEN, RunStatus.CRASHED, RunStatus.DAMAGED)
# Ended for good: its writer wrote its last word, and its status is never overwritten.
ENDED = frozenset({RunStatus.FINISHED, RunStatus.DIVERGED, RunStatus.FAILED, RunStatus.INTERRUPTED})
# Can be taken up again (`dltui run --resume`); a `failed` run only if its status says `resumable`.
RESUMABLE = frozenset({RunStatus.INTERRUPTED, RunStatus.CRASHED})


def names(statuses) -> str:
    """`statuses` as text for a message: "running, finished, ..."."""
    return ", ".join(s.value for s in statuses)
