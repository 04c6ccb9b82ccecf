"""A connection to a Ray cluster for `--engine ray`: an address given, or a local Ray started for the run.

Everything a user can get wrong here (Ray not installed, nobody at the address, a share of a node no node
has) is BadInput, raised before any run is made. Ray's own logs stay in its log files: never over the
console or the lab's screen.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
from typing import Any

from ..rules.errors import BadInput

INSTALL = "pip install -e '.[ray]' in a checkout, or pip install 'dltui[ray]'"
CONNECT_TIMEOUT_S = 5.0
GPU_SHARE_CNN, GPU_SHARE_MLP = 1.0, 0.25  # a CIFAR CNN has a GPU to itself; four small MLP runs share one


def import_ray():
    try:
        import ray
    except ImportError:
        raise BadInput(f"--engine ray: Ray is not installed here; install it with {INSTALL}") from None
    return ray


def address_from(address: str | None) -> str | None:
    return address or os.environ.get("DLTUI_RAY_ADDRESS") or None


class RaySession:
    """Ray, connected; the task and flag actor made remote; closed (a local Ray shut down) at the end."""

    def __init__(self, address: str | None):
        ray = import_ray()
        self.ray, self.address = ray, address_from(address)
        if self.address not in (None, "auto"):
            _reachable(self.address)  # at once: Ray itself retries an address nobody answers at for minutes
        self.owned = not ray.is_initialized()  # a Ray we start is ours to stop; one already up is not
        if self.owned:
            _init(ray, self.address)
        from . import raypool, raytask

        self.task = ray.remote(raytask.run_variant)
        self._flags = ray.remote(num_cpus=0)(raypool.Flags)
        self.nodes = [n["Resources"] for n in ray.nodes() if n.get("Alive")]

    def total(self, key: str) -> float:
        return sum(n.get(key, 0.0) for n in self.nodes)

    def largest(self, key: str) -> float:
        return max((n.get(key, 0.0) for n in self.nodes), default=0.0)

    def describe(self) -> str:
        where = f"Ray at {self.address}" if self.address else "a local Ray"
        gpus = f", {self.total('GPU'):g} GPUs" if self.total("GPU") else ""
        return (
            f"{where}: {len(self.nodes)} node{'s' * (len(self.nodes) != 1)}, {self.total('CPU'):g} CPUs{gpus}"
        )

    def options(self, plan, res) -> dict[str, Any]:
        """The resources one run asks for: a share of a GPU on a CUDA cluster, else CPUs; BadInput if no node
        has them."""
        cpus = res.cpus_per_run or 1.0
        self._fits("--cpus-per-run", "CPU", cpus)
        if self.total("GPU") and plan.config.device != "cpu":
            gpus = res.gpus_per_run or (GPU_SHARE_CNN if plan.config.model == "cnn" else GPU_SHARE_MLP)
            self._fits("--gpus-per-run", "GPU", gpus)
            return {"num_cpus": cpus, "num_gpus": gpus}
        return {"num_cpus": cpus}

    def _fits(self, flag: str, key: str, want: float) -> None:
        most = self.largest(key)
        if want > most:
            raise BadInput(
                f"{flag} {want:g}: no node of the cluster has {want:g} {key}s (the largest has {most:g}); "
                f"ask for at most {most:g}"
            )

    def flags(self):
        return self._flags.remote()

    def drop(self, actor) -> None:
        if actor is not None:
            try:
                self.ray.kill(actor)
            except Exception:  # noqa: BLE001 - already gone with its cluster
                pass

    def close(self) -> None:
        if self.owned and self.ray.is_initialized():
            self.ray.shutdown()


def _init(ray, address: str | None) -> None:
    """ray.init, quietly; BadInput if there is no cluster at the address."""
    quiet = {"log_to_driver": False, "logging_level": logging.ERROR, "configure_logging": True}
    if address is None:
        ray.init(include_dashboard=False, **quiet)
        return
    try:
        with _stderr_to_devnull():  # Ray's C++ client logs each retry there: the one line below says it all
            ray.init(address=address, **quiet)
    except (ConnectionError, RuntimeError, ValueError) as e:
        raise BadInput(_unreachable(address, str(e).splitlines()[0][:200])) from None


@contextlib.contextmanager
def _stderr_to_devnull():
    """File descriptor 2 points at /dev/null meanwhile (C++ code writes there, past Python's sys.stderr)."""
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _reachable(address: str) -> None:
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise BadInput(
            f"--address {address}: not an address; give HOST:PORT (the head's GCS port, 6379 by default), "
            f"ray://HOST:10001, or auto"
        )
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as e:
        raise BadInput(_unreachable(address, e.strerror or str(e))) from None


def _unreachable(address: str, why: str) -> str:
    return (
        f"--address {address}: no Ray cluster answers there ({why}); "
        "start a head with `ray start --head` on that machine "
        "(then `ray start --address HEAD:6379` on the others), or drop --address to start a local Ray"
    )
