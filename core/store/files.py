"""Reading a run's files back as untrusted input: the one typed reader for status, summary, config and
metrics.

A run folder may hold anything: a bit flip, a hand edit, a FIFO where a file should be, JSON of the
wrong shape. Files are opened through core/store/safeopen.py only (regular files, no links, a size bound
per kind of file, a depth bound on JSON); each JSON object is checked key by key against the types the lab
writes; a metrics line that does not decode or does not fit is skipped and the good lines are kept. What
is wrong is said in one phrase, so that a damaged run can be listed as `damaged (...)` while the others
are untouched.

The type tables below are the one statement of each file's shape. msgspec checks a file against a Struct
made from its table (a typed decode, several times faster than checking a dict by hand) and decodes it
again as a plain dict, which callers use, unknown keys kept. Only when msgspec refuses a file does the
hand-written path run: it words what is wrong, or accepts what msgspec is stricter about (NaN, a lone
surrogate, a number past 64 bits), so a file reads exactly as it always has.
"""

from __future__ import annotations

import json
import operator
from functools import reduce
from itertools import islice
from pathlib import Path
from typing import Annotated, Any

import msgspec

from ..rules.status import WRITTEN, names
from .safeopen import MAX_DEPTH, MAX_LINES, Damaged, read_lines, read_whole, shallow

__all__ = ["Damaged", "read_bytes", "read_config", "read_records", "read_status", "read_summary"]
NUM = (int, float)
OPT_NUM = (int, float, type(None))

# key -> allowed types; keys not named here may hold any JSON value.
STATUS_TYPES: dict[str, tuple[type, ...]] = {
    "status": (str,),
    "run_id": (str,),
    "preset": (str,),
    "variant": (str,),
    "reason": (str,),
    "host": (str,),
    "pid": (int,),
    "proc": (str, type(None)),
    "started": NUM,
    "heartbeat": NUM,
    "ended": NUM,
    "epoch": (int,),
    "resumed": (int,),
    "resumable": (bool,),
    "device": (str,),
    "device_name": (str,),
    "n_params": (int,),
}
SUMMARY_TYPES: dict[str, tuple[type, ...]] = {
    "status": (str,),
    "reason": (str,),
    "preset": (str,),
    "variant": (str,),
    "epochs": (int,),
    "steps": (int,),
    "duration_s": NUM,
    "steps_per_s": OPT_NUM,
    "best_epoch": (int,),
    "best_metric": (str,),
    "best_value": OPT_NUM,
    "n_params": (int,),
    "target_coefficients": (list,),
    "learned_coefficients": (list,),
    "target_bias": OPT_NUM,
    "learned_bias": OPT_NUM,
    **{
        f"{when}_{split}_{kind}": OPT_NUM
        for when in ("final", "best")
        for split in ("train", "test", "val")
        for kind in ("loss", "acc")
    },
}
METRIC_TYPES: dict[str, tuple[type, ...]] = {
    "epoch": (int,),
    "step": (int,),
    "time": OPT_NUM,
    "lr": OPT_NUM,
    **{f"{split}_{kind}": OPT_NUM for split in ("train", "test", "val") for kind in ("loss", "acc")},
}


def _typed(allowed: tuple[type, ...]) -> Any:
    """The annotation msgspec checks for a table's entry: (int, float) is a number (float takes whole ones),
    and a key may be absent (UNSET) but never null unless None is allowed."""
    if int in allowed and float in allowed:  # msgspec's float takes whole numbers too, never true or false
        allowed = tuple(t for t in allowed if t is not int)
    return reduce(operator.or_, allowed, msgspec.UnsetType)


def shape(name: str, types: dict[str, tuple[type, ...]], **required: Any) -> msgspec.json.Decoder:
    """A decoder that refuses a JSON object whose keys named in `types` (optional) or `required` (name -> the
    annotation) do not hold their types; it returns a Struct of those keys, other keys are let through."""
    known = [(k, _typed(a), msgspec.UNSET) for k, a in types.items() if k not in required]
    return msgspec.json.Decoder(msgspec.defstruct(name, [*required.items(), *known]))


STATUS_SHAPE = shape("Status", STATUS_TYPES)
SUMMARY_SHAPE = shape("Summary", SUMMARY_TYPES)
RECORD_SHAPE = shape("Record", METRIC_TYPES, epoch=Annotated[int, msgspec.Meta(ge=0)])
OBJECT = msgspec.json.Decoder(dict)  # config.json: any object; its keys are checked by the config's own rules
PLAIN = msgspec.json.Decoder()  # a checked file again, as the dict callers use


def read_bytes(path: Path, limit: int | None = None) -> bytes | None:
    """The bytes of a regular file (never through a link), None if it is absent; Damaged if it is anything
    else. `limit` None: no bound (a checkpoint); run files are read by the readers below, each within its
    kind's bound (core/store/safeopen.py's LIMITS)."""
    return read_whole(path, (1 << 62) if limit is None else limit)


def check_types(obj: Any, types: dict[str, tuple[type, ...]], what: str) -> dict[str, Any]:
    """`obj` if it is a JSON object whose known keys hold their types, else Damaged."""
    if not isinstance(obj, dict):
        raise Damaged(f"{what} holds {type(obj).__name__}, not an object")
    for key, allowed in types.items():
        if key in obj and (
            not isinstance(obj[key], allowed) or isinstance(obj[key], bool) and bool not in allowed
        ):
            raise Damaged(f"{what}: {key} is {json.dumps(obj[key])[:40]}, not {_kind(allowed)}")
    return obj


def _kind(allowed: tuple[type, ...]) -> str:
    names = {
        int: "a whole number",
        float: "a number",
        str: "text",
        list: "a list",
        bool: "true or false",
        type(None): "null",
    }
    return " or ".join(names[t] for t in allowed if not (t is int and float in allowed))


def read_object(
    path: Path, types: dict[str, tuple[type, ...]], fast: msgspec.json.Decoder
) -> dict[str, Any] | None:
    """A JSON object file checked against `types` (by `fast`, made from them); None if absent, Damaged if it
    is anything else."""
    raw = read_whole(path)
    if raw is None:
        return None
    if not shallow(raw):
        raise Damaged(f"{path.name} is nested more than {MAX_DEPTH} levels deep")
    try:
        checked = fast.decode(raw)
        return checked if isinstance(checked, dict) else PLAIN.decode(raw)
    except msgspec.MsgspecError:
        pass  # the hand-written check says what is wrong (or takes what msgspec is stricter about)
    try:
        obj = json.loads(raw.decode("utf-8", "replace"))
    except (ValueError, RecursionError):
        raise Damaged(f"{path.name} is not valid JSON") from None
    return check_types(obj, types, path.name)


def read_status(path: Path) -> dict[str, Any] | None:
    status = read_object(path, STATUS_TYPES, STATUS_SHAPE)
    if status is not None and status.get("status") not in WRITTEN:
        raise Damaged(
            f"{path.name}: status is {json.dumps(status.get('status'))[:40]}, not one of {names(WRITTEN)}"
        )
    return status


def read_summary(path: Path) -> dict[str, Any] | None:
    return read_object(path, SUMMARY_TYPES, SUMMARY_SHAPE)


def read_config(path: Path) -> dict[str, Any] | None:
    """config.json, each known key checked against the config's own rules."""
    from ..rules.errors import BadInput
    from ..spec.config import FIELDS, check_value

    config = read_object(path, {}, OBJECT)
    for key, value in (config or {}).items():
        if key in FIELDS:
            try:
                check_value(key, value, path.name)
            except BadInput as e:
                raise Damaged(str(e).split(";")[0]) from None
    return config


def parse_record(line: bytes) -> dict[str, Any] | None:
    """One metrics (or snapshot) line as an object with a whole-number epoch >= 0, or None if it is not
    one."""
    if line.count(b"[") + line.count(b"{") > MAX_DEPTH and not shallow(line):  # counted inline: per line
        return None
    try:
        RECORD_SHAPE.decode(line)
        return PLAIN.decode(line)
    except msgspec.MsgspecError:
        pass  # the hand-written check refuses it (or takes what msgspec is stricter about)
    try:
        rec = json.loads(line.decode("utf-8", "replace"))
        check_types(rec, METRIC_TYPES, "line")
    except (ValueError, RecursionError):
        return None
    return (
        rec
        if isinstance(rec.get("epoch"), int) and not isinstance(rec["epoch"], bool) and rec["epoch"] >= 0
        else None
    )


def read_records(
    path: Path, limit: tuple[int, int] | None = None, most_lines: int | None = MAX_LINES
) -> list[dict[str, Any]]:
    """Every complete, well-formed line of a JSONL file, streamed within its kind's bound
    (core/store/safeopen.py's read_lines), its first `most_lines` lines at most (None: all). A cut-off last
    line (from a crash), a line with bad bytes or the wrong shape is skipped; the rest are kept. A file that
    cannot be read gives no lines (the run's listing says why: core/store/folder.py's RunStore._info).
    `limit`: (most bytes, longest line), if not the kind's."""
    try:
        lines = islice(read_lines(path, limit), most_lines)
        return [rec for line in lines if (rec := parse_record(line)) is not None]
    except Damaged:
        return []
