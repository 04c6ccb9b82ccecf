"""Helpers for the reliability tests: start `python -m dltui run` as a user would, wait on real conditions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

POLY = """
name = "{name}"
[base]
task = "polynomial"
hidden = []
loss = "{loss}"
optimizer = "sgd"
n_samples = {n}
batch_size = {bs}
epochs = {epochs}
seed = 2020
"""


def preset_file(
    tmp_path: Path,
    variants: dict[str, float],
    *,
    name: str = "rel",
    loss: str = "smooth_l1",
    n: int = 200,
    bs: int = 50,
    epochs: int = 100000,
) -> Path:
    """A polynomial preset file with one variant per (name, lr)."""
    text = POLY.format(name=name, loss=loss, n=n, bs=bs, epochs=epochs)
    text += "".join(f'\n[[variants]]\nname = "{v}"\nlr = {lr}\n' for v, lr in variants.items())
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return path


def start(*args: str) -> subprocess.Popen:
    """`python -m dltui ARGS...` in the background, in its own session like a terminal's job."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "dltui", *map(str, args)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def wait_for(
    cond: Callable[[], bool], what: str, proc: subprocess.Popen | None = None, timeout: float = 120
) -> None:
    """Poll `cond` until it holds; fail (and stop `proc`) if it has not within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not cond():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(
                f"the process ended (exit {proc.returncode}) before {what}: {proc.stderr.read()[-2000:]}"
            )
        if time.monotonic() > deadline:
            if proc is not None:
                proc.kill()
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def finish(proc: subprocess.Popen, timeout: float = 120) -> tuple[int, str, str]:
    """Wait for the process to exit; (exit code, stdout, stderr)."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"the process did not exit within {timeout}s: {err[-2000:]}") from None
    return proc.returncode, out, err


def run_dirs(runs: Path) -> list[Path]:
    return sorted(p for p in runs.iterdir() if p.is_dir()) if runs.is_dir() else []


def lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except OSError:
        return 0


def metrics_lines_at_least(runs: Path, n: int) -> Callable[[], bool]:
    return lambda: any(lines(d / "metrics.jsonl") >= n for d in run_dirs(runs))


def strict_json(text: str):
    """json.loads that refuses NaN and Infinity tokens."""

    def refuse(token):
        raise ValueError(f"non-strict JSON token {token}")

    return json.loads(text, parse_constant=refuse)


def records(run_dir: Path) -> list[dict]:
    """Every line of metrics.jsonl, each required to be strict JSON."""
    return [strict_json(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def status(run_dir: Path) -> dict:
    return strict_json((run_dir / "status.json").read_text())


def load_checkpoint(run_dir: Path) -> dict:
    import torch

    return torch.load(run_dir / "checkpoint.pt", map_location="cpu", weights_only=True)


def dltui_command(*args: str) -> str:
    """`python -m dltui ARGS...` as a shell command line (for redirections a test needs, such as `>&-`)."""
    import shlex

    return " ".join(shlex.quote(str(a)) for a in (sys.executable, "-m", "dltui", *args))


def shell(
    script: str, *, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    """Run a shell script as a user's terminal would (no TTY): (returncode, stdout, stderr)."""
    full_env = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
    return subprocess.run(["sh", "-c", script], env=full_env, capture_output=True, text=True, timeout=timeout)


def can_mount_tmpfs() -> bool:
    """Whether this machine lets an unprivileged user namespace mount a small tmpfs (a disk that can be
    filled)."""
    try:
        return (
            subprocess.run(
                ["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
                capture_output=True,
                timeout=30,
            ).returncode
            == 0
        )
    except (OSError, subprocess.TimeoutExpired):
        return False


def with_small_disk(mount: Path, size: str, script: str, **kw) -> subprocess.CompletedProcess:
    """Run `script` with a tmpfs of `size` (e.g. "200k") mounted on `mount`, in a private mount namespace."""
    mount.mkdir(parents=True, exist_ok=True)
    return shell(f"unshare -rm sh -c 'mount -t tmpfs -o size={size} tmpfs {mount} && {script}'", **kw)
