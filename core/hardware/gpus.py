"""The GPUs a run uses, as NVML sees them: which NVML device each CUDA device is, and what it reads.

Torch numbers the CUDA devices it can see (after CUDA_VISIBLE_DEVICES, and in its own order); NVML numbers
every GPU of the machine. `match` pairs them by the device's UUID, then by its PCI address, and only then
by the position in CUDA_VISIBLE_DEVICES (or the same index when that is unset). No NVIDIA GPU is the usual
case: each way NVML can be missing (no pynvml, no driver, no GPU) is said in one phrase, never raised.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CudaDevice:
    """What torch says of one CUDA device: its index in torch, its UUID and PCI address (either may be '')."""

    index: int
    uuid: str = ""
    pci: str = ""  # "domain:bus:device", hex, e.g. "0000:65:00"
    name: str = ""


@dataclass(frozen=True)
class NvmlDevice:
    """One GPU as NVML lists it."""

    index: int
    uuid: str
    pci: str  # NVML's busId, e.g. "00000000:65:00.0"


def plain_uuid(uuid: str) -> str:
    """A UUID as both sides can compare it: lower case, without NVML's `GPU-` (or `MIG-`) prefix."""
    u = uuid.strip().lower()
    for prefix in ("gpu-", "mig-"):
        if u.startswith(prefix):
            u = u[len(prefix) :]
    return u


def plain_pci(pci: str) -> tuple[int, int, int] | None:
    """(domain, bus, device) of a PCI address written `0000:65:00.0` or `00000000:65:00`; None if it is
    not one."""
    parts = pci.strip().lower().split(":")
    if len(parts) != 3:
        return None
    try:
        return int(parts[0], 16), int(parts[1], 16), int(parts[2].split(".")[0], 16)
    except ValueError:
        return None


def match(cuda: CudaDevice, nvml: list[NvmlDevice], visible: str | None) -> NvmlDevice | None:
    """The NVML device that is `cuda`: by UUID, else by PCI address, else by its place in `visible`
    (CUDA_VISIBLE_DEVICES: indices or UUIDs), else by the same index when nothing hides devices; None if
    none fits."""
    if cuda.uuid:
        for d in nvml:
            if plain_uuid(d.uuid) == plain_uuid(cuda.uuid):
                return d
    if (addr := plain_pci(cuda.pci)) is not None:
        for d in nvml:
            if plain_pci(d.pci) == addr:
                return d
    if visible is not None and visible.strip():
        names = [v.strip() for v in visible.split(",") if v.strip()]
        if cuda.index >= len(names):
            return None
        name = names[cuda.index]
        if name.isdigit():
            return next((d for d in nvml if d.index == int(name)), None)
        return next((d for d in nvml if plain_uuid(d.uuid).startswith(plain_uuid(name))), None)
    if visible is None:
        return next((d for d in nvml if d.index == cuda.index), None)
    return None  # CUDA_VISIBLE_DEVICES="" hides every GPU


def cuda_devices(torch: Any, indices: list[int]) -> list[CudaDevice]:
    """The identities torch gives of these CUDA devices (called on the training side, which has torch)."""
    out = []
    for i in indices:
        p = torch.cuda.get_device_properties(i)
        pci = ""
        if hasattr(p, "pci_bus_id"):
            domain, device = getattr(p, "pci_domain_id", 0), getattr(p, "pci_device_id", 0)
            pci = f"{domain:04x}:{p.pci_bus_id:02x}:{device:02x}"
        out.append(CudaDevice(i, str(getattr(p, "uuid", "") or ""), pci, str(p.name)))
    return out


class NoGpu(Exception):
    """NVML cannot say anything here; the message says why, in a phrase."""


class Nvml:
    """The GPUs through pynvml (nvidia-ml-py). `open` finds the run's devices; `read` samples them."""

    def __init__(self):
        self.pynvml: Any = None
        self.handles: list[tuple[CudaDevice, Any]] = []

    def start(self) -> None:
        """Load NVML; NoGpu if pynvml, the driver or a GPU is missing."""
        try:
            import pynvml
        except ImportError:
            raise NoGpu("no GPU figures: nvidia-ml-py (pynvml) is not installed") from None
        try:
            pynvml.nvmlInit()
        except pynvml.NVMLError_LibraryNotFound:
            raise NoGpu("no NVIDIA driver here (CPU figures only)") from None
        except pynvml.NVMLError as e:
            raise NoGpu(f"NVML did not start ({e}); CPU figures only") from None
        self.pynvml = pynvml
        if pynvml.nvmlDeviceGetCount() == 0:
            raise NoGpu("no NVIDIA GPU here (CPU figures only)")

    def devices(self) -> list[NvmlDevice]:
        nv = self.pynvml
        out = []
        for i in range(nv.nvmlDeviceGetCount()):
            h = nv.nvmlDeviceGetHandleByIndex(i)
            out.append(NvmlDevice(i, _text(nv.nvmlDeviceGetUUID(h)), _text(nv.nvmlDeviceGetPciInfo(h).busId)))
        return out

    def open(self, cuda: list[CudaDevice]) -> str:
        """Find each of the run's CUDA devices in NVML; '' if all were found, else what was not."""
        found = []
        listed = self.devices()
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        missing = []
        for c in cuda:
            d = match(c, listed, visible)
            if d is None:
                missing.append(f"cuda:{c.index}")
            else:
                found.append((c, self.pynvml.nvmlDeviceGetHandleByIndex(d.index)))
        self.handles = found
        return f"NVML does not list {', '.join(missing)}" if missing else ""

    def read(self) -> list[dict[str, Any]]:
        """One reading of each of the run's GPUs: its CUDA index, UUID, utilisation %, memory used and total
        (bytes), power (W) and temperature (°C); a figure NVML refuses is left out."""
        return [self._one(c, h) for c, h in self.handles]

    def _one(self, c: CudaDevice, h: Any) -> dict[str, Any]:
        nv = self.pynvml
        g: dict[str, Any] = {"index": c.index, "uuid": plain_uuid(c.uuid), "name": c.name}
        for key, get in (
            ("util", lambda: float(nv.nvmlDeviceGetUtilizationRates(h).gpu)),
            ("mem", lambda: int(nv.nvmlDeviceGetMemoryInfo(h).used)),
            ("total", lambda: int(nv.nvmlDeviceGetMemoryInfo(h).total)),
            ("watts", lambda: round(nv.nvmlDeviceGetPowerUsage(h) / 1000.0, 1)),
            ("temp", lambda: float(nv.nvmlDeviceGetTemperature(h, nv.NVML_TEMPERATURE_GPU))),
        ):
            try:
                g[key] = get()
            except nv.NVMLError:
                pass
        return g


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
