"""hardware.jsonl: a run's hardware samples in its folder, their one typed reader, and the writer that keeps
the file bounded however long the run.

Each line is one record, its kind in `k`: `s` a sample (the process's CPU % of one core and RSS, the host's
CPU % and memory, each GPU the run uses), `e` an epoch's peaks (torch's peak allocated memory on the
device, the most RSS), `i` what the sampler found (why there are no GPU figures, the intra-op threads and
why). Every record names its host and pid. The last KEEP samples stay at full rate; when there are more
than MAX_SAMPLES, the older ones are rolled up in pairs (mean utilisation and CPU, the most memory; `n`
says how many samples a record stands for) and the file is rewritten atomically, so it never holds more
than MAX_SAMPLES samples and MAX_EPOCHS epoch records.
"""

from __future__ import annotations

import os
from pathlib import Path

import msgspec

from ..store.atomic import write_atomic
from ..store.files import Damaged, read_bytes

FILE = "hardware.jsonl"
MAX_SAMPLES = 720  # at 1 Hz: the last KEEP seconds at full rate, the rest of the run rolled up
KEEP = 360
MAX_EPOCHS = 512
MAX_INFOS = 8
MAX_BYTES = 16 << 20  # a bounded file is ~200 KB; a bigger one is not the sampler's


class Gpu(msgspec.Struct, omit_defaults=True):
    index: int
    uuid: str = ""
    name: str = ""
    util: float | None = None  # % of the last sample period the GPU ran a kernel
    mem: int | None = None  # bytes used on the device (every process's)
    total: int | None = None
    watts: float | None = None
    temp: float | None = None


class Sample(msgspec.Struct, tag_field="k", tag="s", omit_defaults=True):
    t: float
    host: str = ""
    pid: int = 0
    n: int = 1  # how many 1 s samples this record stands for (more once rolled up)
    cpu: float | None = None  # the process's CPU %, of one core (200 = two cores busy)
    rss: int | None = None
    hcpu: float | None = None  # the host's CPU %, of all its cores
    hmem: int | None = None
    htotal: int | None = None
    gpus: list[Gpu] = []


class Epoch(msgspec.Struct, tag_field="k", tag="e", omit_defaults=True):
    t: float
    epoch: int
    host: str = ""
    pid: int = 0
    peak: int | None = None  # torch's peak allocated bytes on the device in this epoch (CUDA only)
    rss: int | None = None  # the most RSS sampled in this epoch


class Info(msgspec.Struct, tag_field="k", tag="i", omit_defaults=True):
    t: float
    host: str = ""
    pid: int = 0
    device: str = ""
    note: str = ""  # why there are no GPU figures ('' when there are)
    threads: int | None = None  # torch's intra-op threads for this run
    why: str = ""  # why that many
    cores: int | None = None


Record = Sample | Epoch | Info
LINE = msgspec.json.Decoder(Record)
ENCODE = msgspec.json.Encoder()


class Hardware(msgspec.Struct):
    """What a run's hardware.jsonl holds, each kind in time order."""

    samples: list[Sample] = []
    epochs: list[Epoch] = []
    infos: list[Info] = []

    @property
    def info(self) -> Info | None:
        return self.infos[-1] if self.infos else None


def read_hardware(path: Path) -> Hardware:
    """The well-formed records of a hardware.jsonl (a run folder's or the file itself). A cut-off last line,
    bad bytes, a line of the wrong shape or a number out of range is skipped; a file that cannot be read
    (absent, not a regular file, too big) gives none."""
    path = Path(path)
    if path.is_dir():
        path = path / FILE
    try:
        raw = read_bytes(path, limit=MAX_BYTES)
    except Damaged:
        raw = None
    hw = Hardware([], [], [])
    if not raw:
        return hw
    for line in raw[: raw.rfind(b"\n") + 1].splitlines():
        try:
            rec = LINE.decode(line)
        except msgspec.MsgspecError:
            continue
        if not _sane(rec):
            continue
        (hw.samples if isinstance(rec, Sample) else hw.epochs if isinstance(rec, Epoch) else hw.infos).append(
            rec
        )
    for part in (hw.samples, hw.epochs, hw.infos):
        part.sort(key=lambda r: r.t)
    return hw


def _sane(rec: Record) -> bool:
    """Finite times and non-negative figures (NaN or a negative byte count is damage, not a reading)."""
    import math

    if not math.isfinite(rec.t) or rec.pid < 0:
        return False
    if isinstance(rec, Sample):
        nums = [rec.cpu, rec.rss, rec.hcpu, rec.hmem, rec.htotal]
        nums += [v for g in rec.gpus for v in (g.util, g.mem, g.total, g.watts, g.temp)]
        return rec.n >= 1 and all(v is None or (math.isfinite(v) and v >= 0) for v in nums)
    if isinstance(rec, Epoch):
        return rec.epoch >= 0 and all(v is None or v >= 0 for v in (rec.peak, rec.rss))
    return True


def rolled(a: Sample, b: Sample) -> Sample:
    """Two neighbouring samples as one: mean CPU and utilisation (weighted by how many each stands for), the
    most memory."""
    n = a.n + b.n

    def mean(x, y):
        return None if x is None or y is None else round((x * a.n + y * b.n) / n, 1)

    def most(x, y):
        return y if x is None else x if y is None else max(x, y)

    by_index = {g.index: g for g in a.gpus}
    gpus = []
    for g in b.gpus:
        h = by_index.get(g.index, g)
        gpus.append(
            Gpu(
                g.index,
                g.uuid,
                g.name,
                mean(h.util, g.util),
                most(h.mem, g.mem),
                g.total,
                mean(h.watts, g.watts),
                most(h.temp, g.temp),
            )
        )
    return Sample(
        a.t,
        b.host,
        b.pid,
        n,
        mean(a.cpu, b.cpu),
        most(a.rss, b.rss),
        mean(a.hcpu, b.hcpu),
        most(a.hmem, b.hmem),
        b.htotal,
        gpus,
    )


def roll_up(samples: list[Sample], keep: int = KEEP) -> list[Sample]:
    """The samples before the last `keep`, rolled up in pairs; the last `keep` as they are."""
    old, recent = samples[: max(0, len(samples) - keep)], samples[max(0, len(samples) - keep) :]
    merged = [rolled(old[i], old[i + 1]) for i in range(0, len(old) - 1, 2)]
    if len(old) % 2:
        merged.append(old[-1])
    return merged + recent


def thin_epochs(epochs: list[Epoch], limit: int = MAX_EPOCHS) -> list[Epoch]:
    """At most `limit` epoch records: pairs of the older half as one (the later epoch, the higher peaks)."""
    if len(epochs) <= limit:
        return epochs
    half = len(epochs) // 2
    old = epochs[:half]
    merged = []
    for i in range(0, len(old) - 1, 2):
        a, b = old[i], old[i + 1]
        peaks = [p for p in (a.peak, b.peak) if p is not None]
        rss = [r for r in (a.rss, b.rss) if r is not None]
        merged.append(
            Epoch(b.t, b.epoch, b.host, b.pid, max(peaks) if peaks else None, max(rss) if rss else None)
        )
    if len(old) % 2:
        merged.append(old[-1])
    return merged + epochs[half:]


class HardwareFile:
    """Appends records to a run's hardware.jsonl and keeps it bounded (a resumed run goes on from what it
    holds). Written by one thread at a time (the sampler's, or the trainer's at an epoch's end, under
    `lock`)."""

    def __init__(self, run_dir: Path):
        import threading

        self.path = Path(run_dir) / FILE
        self.lock = threading.Lock()
        old = read_hardware(self.path)
        self.hw = Hardware(old.samples, old.epochs, old.infos)
        self.fd: int | None = None

    def add(self, rec: Record) -> None:
        with self.lock:
            part = (
                self.hw.samples
                if isinstance(rec, Sample)
                else self.hw.epochs
                if isinstance(rec, Epoch)
                else self.hw.infos
            )
            part.append(rec)
            if (
                len(self.hw.samples) > MAX_SAMPLES
                or len(self.hw.epochs) > MAX_EPOCHS
                or len(self.hw.infos) > MAX_INFOS
            ):
                self._rewrite()
            else:
                self._append(ENCODE.encode(rec) + b"\n")

    def _append(self, line: bytes) -> None:
        if self.fd is None:
            self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644)
        os.write(self.fd, line)

    def _rewrite(self) -> None:
        hw = self.hw
        hw.samples = roll_up(hw.samples) if len(hw.samples) > MAX_SAMPLES else hw.samples
        hw.epochs = thin_epochs(hw.epochs)
        hw.infos = hw.infos[-MAX_INFOS:]
        records: list[Record] = [*hw.infos, *hw.epochs, *hw.samples]
        self.close()
        write_atomic(self.path, b"".join(ENCODE.encode(r) + b"\n" for r in records))

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
