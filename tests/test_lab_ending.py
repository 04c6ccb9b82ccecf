"""The lab ends cleanly however it is ended: SIGTERM and SIGHUP end it as `q` does (exit 143 or 129, the
terminal restored), and after any ending, a kill -9 too, no process it started is left (neither the helper
that checks devices and data, nor the training process, nor multiprocessing's resource tracker).

Each test starts a real `dltui tui PRESET` on a pseudo-terminal of 140x45, starts a batch with `r`, and
takes the lab's children (psutil) before it kills the lab."""

from __future__ import annotations

import fcntl
import os
import re
import select
import shlex
import shutil
import signal
import struct
import subprocess
import sys
import termios
import threading
import time

import psutil
import pytest
from reliability_helpers import preset_file, run_dirs, status

GONE_S = 90  # the children's grace after their parent died, on a loaded machine


class Lab:
    """`python -m dltui tui PRESET` on a pty, started by a shell that leads the terminal's session (as a login
    shell does: the lab is not the session leader, whose end would hang up the whole terminal and kill its
    children for it); what it draws is read (and kept) by a thread."""

    def __init__(self, preset, runs, cols: int = 140, rows: int = 45):
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        env = {**os.environ, "TERM": "xterm-256color", "DLTUI_RUNS_DIR": str(runs), "OMP_NUM_THREADS": "1"}
        lab = f"{shlex.quote(sys.executable)} -m dltui tui {shlex.quote(str(preset))}"
        self.shell = subprocess.Popen(
            ["sh", "-c", f"{lab}; echo EXITED=$?; exec sleep 600"],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            start_new_session=True,  # a terminal of its own, the shell its session leader
        )
        os.close(slave)
        self.master, self.out, self.lock, self.stopped = master, bytearray(), threading.Lock(), False
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.pid = self._lab_pid()

    def _lab_pid(self) -> int:
        deadline = time.monotonic() + 30
        while not psutil.Process(self.shell.pid).children():
            assert time.monotonic() < deadline, "the shell started no lab"
            time.sleep(0.05)
        return psutil.Process(self.shell.pid).children()[0].pid

    def _read(self) -> None:
        while not self.stopped:
            if not select.select([self.master], [], [], 0.2)[0]:
                continue
            try:
                data = os.read(self.master, 65536)
            except OSError:  # EIO: every process that had the terminal is gone
                return
            if not data:
                return
            with self.lock:
                self.out += data

    def output(self) -> bytes:
        with self.lock:
            return bytes(self.out)

    def hang_up(self) -> None:
        """Close the terminal's other end, as a window that closes or an SSH session that drops does: the
        kernel hangs the terminal up (SIGHUP to the lab, and every write to the terminal fails from then on).
        The reader stops first: a read in flight would keep the terminal open."""
        self.stopped = True
        self.reader.join(5)
        os.close(self.master)
        self.master = os.open(os.devnull, os.O_RDONLY)  # so that close() has something to close

    def press(self, key: bytes) -> None:
        os.write(self.master, key)

    def exit_code(self) -> int:
        """The lab's exit code, as its shell printed it."""
        deadline = time.monotonic() + GONE_S
        while not (found := re.search(rb"EXITED=(\d+)", self.output())):
            assert time.monotonic() < deadline, "the lab did not exit"
            time.sleep(0.1)
        return int(found.group(1))

    def close(self) -> None:
        """End the shell's session (the test's own processes), whatever the test found."""
        try:
            os.killpg(self.shell.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.shell.wait()
        os.close(self.master)


def start_a_batch(lab: Lab, runs) -> list[psutil.Process]:
    """Press r until a run is running; returns the lab's processes then (the lab first)."""
    deadline = time.monotonic() + 180
    while not (run_dirs(runs) and status(run_dirs(runs)[0]).get("status") == "running"):
        assert psutil.pid_exists(lab.pid), lab.output()[-2000:]
        assert time.monotonic() < deadline, "no run started"
        if not run_dirs(runs):
            lab.press(b"r")  # ignored until the lab is up; "already going" once the batch starts
        time.sleep(1.0)
    parent = psutil.Process(lab.pid)
    children = parent.children(recursive=True)
    # the helper that checks devices and data, the training process, multiprocessing's resource tracker
    assert len(children) >= 3, [c.cmdline() for c in children]
    return [parent, *children]


def survivors(procs: list[psutil.Process]) -> list[str]:
    _, alive = psutil.wait_procs(procs, timeout=GONE_S)
    return [" ".join(p.cmdline())[:200] for p in alive if _running(p)]


def _running(p: psutil.Process) -> bool:
    try:
        return p.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.fixture
def long_preset(tmp_path):
    return preset_file(tmp_path, {"slow": 0.001}, name="endless")


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_a_signal_ends_the_lab_as_q_does_and_restores_the_terminal(tmp_path, long_preset, sig, code):
    runs = tmp_path / "runs"
    lab = Lab(long_preset, runs)
    try:
        procs = start_a_batch(lab, runs)
        os.kill(lab.pid, sig)
        assert lab.exit_code() == code
        assert survivors(procs) == []
    finally:
        lab.close()
    out = lab.output()
    left = out.rindex(b"\x1b[?1049l")  # out of the alternate screen ...
    assert out.rindex(b"\x1b[?1049h") < left
    assert out.rindex(b"\x1b[?1000l") > out.rindex(b"\x1b[?1000h")  # ... mouse tracking off ...
    assert out.rindex(b"\x1b[?25h") > left  # ... the cursor shown
    assert b"Traceback" not in out
    (run,) = run_dirs(runs)
    assert status(run)["status"] == "interrupted"  # the run wound down, resumable


def test_a_kill_9_of_the_lab_leaves_no_process_behind(tmp_path, long_preset):
    """It used to leave the ~520 MB helper and multiprocessing's resource tracker."""
    runs = tmp_path / "runs"
    lab = Lab(long_preset, runs)
    try:
        procs = start_a_batch(lab, runs)
        os.kill(lab.pid, signal.SIGKILL)
        assert survivors(procs) == []
        assert lab.exit_code() == 137
    finally:
        lab.close()
    (run,) = run_dirs(runs)
    assert status(run)["status"] == "interrupted"  # the orphaned training process ended it cleanly


TMUX = shutil.which("tmux")


@pytest.mark.skipif(TMUX is None, reason="needs tmux")
def test_quitting_after_a_resize_leaves_nothing_of_the_lab_on_the_terminal(tmp_path):
    """In tmux, quitting after the window grew used to leave 15 lines of the last frame above the prompt."""
    socket = f"dltui-test-{os.getpid()}"  # a tmux server of the test's own
    tmux = [TMUX, "-L", socket]
    lab = f"{shlex.quote(sys.executable)} -m dltui tui polynomial"
    env = f"DLTUI_RUNS_DIR={shlex.quote(str(tmp_path / 'runs'))} TERM=xterm-256color"
    script = f"clear; env -u COLUMNS -u LINES {env} {lab}; echo EXITED=$?; exec sleep 600"  # the pane's size
    screen = lambda: subprocess.run([*tmux, "capture-pane", "-p"], capture_output=True, text=True).stdout  # noqa: E731

    def wait(cond, what: str) -> None:
        deadline = time.monotonic() + 120
        while not cond():
            assert time.monotonic() < deadline, (
                f"timed out waiting for {what}: {screen().splitlines()[-3:]!r}"
            )
            time.sleep(0.2)

    subprocess.run([*tmux, "new-session", "-d", "-x", "140", "-y", "45", "sh", "-c", script], check=True)
    try:
        wait(lambda: "q quit" in screen() and "cpu" in screen().splitlines()[0], "the lab and its device")
        subprocess.run([*tmux, "resize-window", "-x", "200", "-y", "60"], check=True)
        wait(lambda: len(screen().splitlines()) >= 60 and "q quit" in screen().splitlines()[-1], "the redraw")
        subprocess.run([*tmux, "send-keys", "q"], check=True)
        wait(lambda: "EXITED=" in screen(), "the lab to quit")
        lines = [line for line in screen().splitlines() if line.strip()]
        assert lines == ["EXITED=0"]
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)


def test_a_terminal_that_closes_ends_the_lab_and_its_runs(tmp_path, long_preset):
    """The SSH session drops, the terminal window closes, tmux kills the session: the pty is hung up, the lab
    gets SIGHUP and every write to its terminal fails from then on. It used to wind the runs down and then
    never exit (found after `tmux kill-session`: labs left sleeping for hours)."""
    runs = tmp_path / "runs"
    lab = Lab(long_preset, runs)
    try:
        procs = start_a_batch(lab, runs)
        lab.hang_up()
        assert survivors(procs) == []
    finally:
        lab.close()
    (run,) = run_dirs(runs)
    assert status(run)["status"] == "interrupted"  # the run wound down, resumable
