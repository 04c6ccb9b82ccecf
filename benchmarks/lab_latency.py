"""The lab in a real terminal during a long run: key-to-screen latency and attached vs headless throughput.

Issue 28, item 8. The lab runs in tmux (a real terminal, 140x45 by default), the polynomial preset selected.
Latency: the time from `tmux send-keys ?` until `tmux capture-pane -p` shows the keys screen (polled as fast
as tmux answers), then Escape closes it again; many samples, at a random gap so that they do not lock onto
the plots' 5 Hz redraw. Measured idle (nothing running) and while the first run of a long polynomial sweep
(its epochs typed into the lab's form, as a user does) is at epoch AT or later. Throughput: that run's
optimizer steps per second from its own records (the epochs from AT on, and the whole run from
summary.json), against the same run headless (`dltui run polynomial -v lr=0.1`), in the same minutes.

One command, prints the figures: python benchmarks/lab_latency.py [--epochs 50000] [--at 28000] [--samples 30]
The machine's load (`uptime`) is printed beside them: on a busy machine the figures are noise.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dltui.core.store.folder import RunStore

HELP_MARK = "cycles the x-axis"  # a line of the keys screen (tui/modals.py KEYS_PROSE)
READY_MARK = "press r to run"
VARIANT = "lr=0.1"
POLL_S = 0.002  # between two looks at the terminal while a key's answer is awaited


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=False).stdout


class Lab:
    """The lab in a detached tmux session."""

    def __init__(self, runs_dir: Path, size: tuple[int, int]):
        self.name = f"dltui-latency-{os.getpid()}"
        env = {
            "PYTHONPATH": os.environ.get("PYTHONPATH", str(Path(__file__).resolve().parents[1])),
            "DLTUI_RUNS_DIR": str(runs_dir),
            "TERM": "xterm-256color",
        }
        if "DLTUI_DATA_DIR" in os.environ:
            env["DLTUI_DATA_DIR"] = os.environ["DLTUI_DATA_DIR"]
        command = " ".join(
            ["env", *(f"{k}={shlex.quote(v)}" for k, v in env.items())]
            + [shlex.quote(sys.executable), "-m", "dltui", "tui", "polynomial"]
        )
        w, h = size
        subprocess.run(["tmux", "new-session", "-d", "-s", self.name, "-x", str(w), "-y", str(h), command])

        self.control: subprocess.Popen | None = None

    def attach(self) -> None:
        """A tmux control client: commands through one pipe, no process started per poll (a poller that
        forks tmux in a loop would take a core from the lab it measures)."""
        self.control = subprocess.Popen(
            ["tmux", "-C", "attach-session", "-f", "no-output", "-t", self.name],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )

    def command(self, line: str) -> list[str]:
        """One tmux command through the control client: the lines of its answer."""
        assert self.control is not None and self.control.stdin and self.control.stdout
        self.control.stdin.write(line + "\n")
        self.control.stdin.flush()
        out: list[str] | None = None
        for raw in self.control.stdout:
            text = raw.rstrip("\n")
            if out is None:
                # An answer to this client's command has flags 1; the attach's own answer (flags 0) comes
                # first and is no answer to anything asked here.
                if text.startswith("%begin") and text.endswith(" 1"):
                    out = []
                continue  # notifications between answers
            if text.startswith(("%end", "%error")) and text.endswith(" 1"):
                return out
            out.append(text)
        raise SystemExit("lab_latency: the tmux control client ended (did the lab exit?)")

    def screen(self) -> str:
        return "\n".join(self.command(f"capture-pane -p -t {self.name}"))

    def keys(self, *keys: str) -> None:
        self.command(" ".join(["send-keys", "-t", self.name, *(shlex.quote(k) for k in keys)]))

    def wait(self, test, timeout: float, what: str, poll: float = 0.05) -> str:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            text = self.screen()
            if test(text):
                return text
            time.sleep(poll)
        raise SystemExit(f"lab_latency: gave up waiting for {what}; the screen:\n{self.screen()}")

    def latency(self) -> float:
        """Seconds from `?` to the keys screen on the terminal; then closes it and waits until it is gone."""
        start = time.perf_counter()
        self.keys("?")
        while HELP_MARK not in self.screen():
            time.sleep(POLL_S)
            if time.perf_counter() - start > 10:
                raise SystemExit("lab_latency: the keys screen did not open within 10 s")
        took = time.perf_counter() - start
        self.keys("Escape")
        self.wait(lambda s: HELP_MARK not in s, 10, "the keys screen to close", poll=POLL_S)
        return took

    def cpu_share(self, seconds: float) -> float:
        """The lab process's CPU time over `seconds` (all its threads), as a share of one core."""
        pid = int(self.command(f"display-message -p -t {self.name} '#{{pane_pid}}'")[0])

        def used() -> float:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

        start, t0 = used(), time.monotonic()
        time.sleep(seconds)
        return (used() - start) / (time.monotonic() - t0)

    def type_epochs(self, epochs: int) -> None:
        """The run's epochs into the form's field (four tabs from the preset list), as a user types them."""
        for _ in range(3):
            self.wait(lambda s: HELP_MARK not in s and READY_MARK in s, 10, "the lab's main screen")
            time.sleep(0.5)
            self.keys("Tab", "Tab", "Tab", "Tab")
            time.sleep(0.5)
            self.keys(str(epochs))
            try:
                self.wait(lambda s: re.search(rf"epochs\s+{epochs}\b", s), 5, "the epochs typed")
                return
            except SystemExit:
                self.keys("Escape")  # somewhere else: back to the list, and again
                time.sleep(0.5)
                self.keys("Escape")
        raise SystemExit(f"lab_latency: could not type the epochs; the screen:\n{self.screen()}")

    def close(self) -> None:
        if self.control is not None:
            self.control.stdin.close()
            self.control.wait(10)
        tmux("kill-session", "-t", self.name)


def epoch_of(screen: str, epochs: int) -> int | None:
    """The first run's epoch as the lab's table shows it, while it runs."""
    m = re.search(rf"{re.escape(VARIANT)}\s+running\s+(\d+(?:\.\d+)?)/{epochs}", screen)
    return int(float(m.group(1))) if m else None  # 12345.5: an epoch under way


def running(lab: Lab, epochs: int, within: float = 3.0) -> bool:
    """Whether the first run is still running (the table redrawn under the closed keys screen may take a
    frame or two to read again)."""
    end = time.monotonic() + within
    while time.monotonic() < end:
        if epoch_of(lab.screen(), epochs) is not None:
            return True
        time.sleep(0.05)
    return False


def samples(lab: Lab, n: int, alive=lambda: True) -> list[float]:
    out = []
    for _ in range(n):
        time.sleep(random.uniform(0.15, 0.35))
        took = lab.latency()
        if not alive():
            break
        out.append(took)
    return out


def rate(runs_dir: Path, at: int) -> tuple[float, float]:
    """(steps/s over the epochs from `at` on, steps/s of the whole run by its summary) of the one run."""
    info = next(i for i in RunStore(runs_dir).list() if i.status.get("variant") == VARIANT)
    records = [r for r in info.metrics() if isinstance(r.get("epoch"), int) and r["epoch"] >= at]
    late = (records[-1]["step"] - records[0]["step"]) / (records[-1]["time"] - records[0]["time"])
    summary = info.summary or {}
    whole = summary.get("steps", 0) / summary["duration_s"] if summary.get("duration_s") else float("nan")
    return late, whole


def figures(xs: list[float]) -> str:
    if not xs:
        return "no samples"
    xs = sorted(xs)
    p90 = xs[min(len(xs) - 1, round(0.9 * (len(xs) - 1)))]
    median = statistics.median(xs)
    return f"median {1000 * median:.0f} ms, p90 {1000 * p90:.0f} ms, max {1000 * xs[-1]:.0f} ms (n={len(xs)})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=50000, help="the run's epochs (typed into the lab's form)")
    ap.add_argument("--at", type=int, default=28000, help="latency is sampled from this epoch on")
    ap.add_argument("--samples", type=int, default=30)
    ap.add_argument("--size", default="140x45")
    ap.add_argument("--no-headless", action="store_true", help="skip the headless run")
    args = ap.parse_args()
    size = tuple(int(v) for v in args.size.split("x"))
    print("load before:", tmux_uptime(), flush=True)
    with tempfile.TemporaryDirectory(prefix="dltui-latency-") as tmp:
        lab_dir, head_dir = Path(tmp, "lab"), Path(tmp, "headless")
        lab = Lab(lab_dir, size)
        try:
            time.sleep(0.5)
            lab.attach()
            lab.wait(lambda s: READY_MARK in s, 60, "the lab to start")
            time.sleep(1.0)
            idle = samples(lab, args.samples)
            print(f"idle: {figures(idle)}", flush=True)
            lab.type_epochs(args.epochs)
            lab.keys("C-r")
            lab.wait(lambda s: epoch_of(s, args.epochs) is not None, 60, "the run to start")
            lab.keys("Escape")  # out of the form, so that ? is a key, not a character
            lab.wait(lambda s: (epoch_of(s, args.epochs) or 0) >= args.at, 1800, f"epoch {args.at}", poll=0.5)
            cpu = lab.cpu_share(5.0)
            print(f"lab process CPU at epoch {args.at}+, no keys: {cpu:.0%} of a core over 5 s", flush=True)
            first = epoch_of(lab.screen(), args.epochs)
            live = samples(lab, args.samples, alive=lambda: running(lab, args.epochs))
            last = epoch_of(lab.screen(), args.epochs)
            print(f"at epochs {first}..{last}: {figures(live)}", flush=True)
            lab.wait(
                lambda s: re.search(rf"{re.escape(VARIANT)}\s+finished", s), 1800, "the run's end", poll=0.5
            )
            attached = rate(lab_dir, args.at)
        finally:
            lab.close()
        print("load:", tmux_uptime(), flush=True)
        if args.no_headless:
            print(f"attached: {attached[0]:,.0f} steps/s from epoch {args.at}, {attached[1]:,.0f} whole run")
            return
        subprocess.run(
            [sys.executable, "-m", "dltui", "run", "polynomial", "-v", VARIANT, "-e", str(args.epochs)],
            env={**os.environ, "DLTUI_RUNS_DIR": str(head_dir)},
            capture_output=True,
            check=True,
        )
        headless = rate(head_dir, args.at)
    print("load after:", tmux_uptime())
    print(
        f"throughput from epoch {args.at}: attached {attached[0]:,.0f} steps/s, headless {headless[0]:,.0f}, "
        f"{attached[0] / headless[0]:.2f}x; whole run: {attached[1]:,.0f} vs {headless[1]:,.0f}, "
        f"{attached[1] / headless[1]:.2f}x"
    )


def tmux_uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


if __name__ == "__main__":
    main()
