"""Pick the device (`auto` means cuda, then mps, then cpu), and time work on it (its queued work included)."""

from __future__ import annotations

from ..rules.errors import BadInput
from ..rules.numbers import count


def resolve_device(name: str):
    """A torch.device for a config's `device`; BadInput if the asked-for one is not there."""
    import torch

    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise BadInput(
            "device = cuda, but no CUDA GPU is visible to torch here; use --device cpu or --device auto"
        )
    if name == "mps" and not (
        getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    ):
        raise BadInput(
            "device = mps, but Apple's Metal (MPS) is not available here; use --device cpu or --device auto"
        )
    return torch.device(name)


def describe(device) -> str:
    """`cuda:0 NVIDIA H100 80GB HBM3`, `cpu, 2 threads`, `cpu, 1 thread`, `mps`."""
    import torch

    if device.type == "cuda":
        idx = device.index if device.index is not None else torch.cuda.current_device()
        return f"cuda:{idx} {torch.cuda.get_device_name(idx)}"
    if device.type == "cpu":
        return f"cpu, {count(torch.get_num_threads(), 'thread')}"  # "cpu, 1 thread"
    return str(device)


def sync(device) -> None:
    """Wait for the work queued on `device` (a CUDA device runs it asynchronously; the CPU has none
    queued)."""
    if device.type == "cuda":
        import torch

        torch.cuda.synchronize(device)


def timed(fn, device) -> float:
    """Seconds `fn()` takes on `device` (its queued work included)."""
    import time

    sync(device)
    t = time.perf_counter()
    fn()
    sync(device)
    return time.perf_counter() - t
