"""What crosses the network between a Ray task and its driver: plain values, checked on arrival.

A task sends lists of items, each `[kind, fields]`: the trainer's events (RunStarted ... RunEnded as
dicts of their fields), `placed` (the node it runs on) and `file` (a checkpoint, best weights or a
traceback, as bytes). The driver turns each item back into an event only after checking its kind, its
fields, their types and its run id; nothing a worker sends is code (checkpoints are loaded with
weights_only=True, by core/executors/raypool.py). No torch and no ray here.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ..train.events import EpochEnded, Progress, RunEnded, RunStarted, Snapshot

EVENTS = {
    "started": RunStarted,
    "epoch": EpochEnded,
    "progress": Progress,
    "snapshot": Snapshot,
    "ended": RunEnded,
}
KINDS = {cls: kind for kind, cls in EVENTS.items()}
# what a task's run dir may hold, sent back as bytes (hardware.jsonl, bounded, whole whenever it has grown)
FILES = ("checkpoint.pt", "best.pt", "traceback.txt", "hardware.jsonl")
MAX_FILE_BYTES = 8 << 30
MAX_DEPTH = 32
SCALARS = (bool, int, float, str, type(None))


class BadMessage(ValueError):
    """An item from a worker that is not what a dltui task sends."""


def to_plain(value: Any) -> Any:
    """A value as builtins only (tuples become lists; numpy or torch scalars and arrays their Python
    values)."""
    if isinstance(value, dict):
        return {str(k): to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if type(value) in SCALARS:
        return value
    if hasattr(value, "tolist"):
        return value.tolist()
    for base in SCALARS[:-1]:  # subclasses (numpy.float64, a str enum): their plain value
        if isinstance(value, base):
            return base(value)
    raise TypeError(f"{type(value).__name__} is not a plain value")


def encode(event: Any) -> list:
    return [KINDS[type(event)], to_plain({f.name: getattr(event, f.name) for f in dataclasses.fields(event)})]


def placed(node: dict[str, str]) -> list:
    return ["placed", dict(node)]


def file_item(name: str, data: bytes) -> list:
    return ["file", {"name": name, "data": data}]


def decode(item: Any, run_id: str) -> tuple[str, Any]:
    """(kind, payload): an event for the trainer's kinds, a dict of strings for `placed`, (name, bytes) for
    `file`."""
    if not (
        isinstance(item, list) and len(item) == 2 and isinstance(item[0], str) and isinstance(item[1], dict)
    ):
        raise BadMessage("not a [kind, fields] pair")
    kind, fields = item
    if kind == "placed":
        if not all(isinstance(k, str) and isinstance(v, str) and len(v) < 500 for k, v in fields.items()):
            raise BadMessage("a placement that is not a few strings")
        return kind, fields
    if kind == "file":
        return kind, _file(fields)
    cls = EVENTS.get(kind)
    if cls is None:
        raise BadMessage(f"unknown kind {kind[:40]!r}")
    names = {f.name for f in dataclasses.fields(cls)}
    if set(fields) != names:
        raise BadMessage(f"{kind}: fields {sorted(fields)[:12]} are not {sorted(names)}")
    check_plain(fields)
    if fields["run_id"] != run_id or not isinstance(fields["variant"], str):
        raise BadMessage(f"{kind}: for run {str(fields['run_id'])[:80]!r}, not {run_id!r}")
    return kind, cls(**fields)


def _file(fields: dict) -> tuple[str, bytes]:
    name, data = fields.get("name"), fields.get("data")
    if set(fields) != {"name", "data"} or name not in FILES or not isinstance(data, bytes):
        raise BadMessage(f"a file that is not one of {', '.join(FILES)} as bytes")
    if len(data) > MAX_FILE_BYTES:
        raise BadMessage(f"{name}: {len(data)} bytes is more than a run's file may be")
    return name, data


def check_plain(value: Any, depth: int = 0) -> None:
    """Raise BadMessage unless `value` is made of dicts with string keys, lists, and scalars only."""
    if depth > MAX_DEPTH:
        raise BadMessage("nested too deep")
    if type(value) in SCALARS:
        return
    if type(value) is list:
        for v in value:
            check_plain(v, depth + 1)
    elif type(value) is dict:
        for k, v in value.items():
            if type(k) is not str:
                raise BadMessage("a dict key that is not a string")
            check_plain(v, depth + 1)
    else:
        raise BadMessage(f"a {type(value).__name__}, where only plain values may be")
