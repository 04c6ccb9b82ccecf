"""How the lab ends when it is told to from outside: SIGTERM, or SIGHUP (its terminal closed, or `kill -HUP`).

Either one ends the lab as `q` does, inside its event loop: the training process is asked to stop (its run
ends `interrupted`, resumable) and the lab exits through Textual, which takes the terminal out of the
alternate screen, turns mouse tracking off and shows the cursor again. The exit code is 128 + the signal's
number (143, 129), as `dltui run`'s. A second signal does not wait for the runs. Whatever ends the lab, a kill
-9 too, its helper processes end with it (core/executors/checker.py, localpool.py watch their parent).
"""

from __future__ import annotations

import asyncio
import signal
from typing import Any

SIGNALS = (signal.SIGTERM, signal.SIGHUP)


def start_tracker() -> None:
    """Start multiprocessing's resource tracker (which the training processes share) deaf to SIGHUP: a
    closed terminal hangs up its whole process group, and a tracker killed so would be started again,
    empty, and print a traceback for each semaphore let go. It ends when every process holding its pipe
    has ended (the lab, and its helpers, which end with the lab)."""
    from multiprocessing import resource_tracker

    old = signal.signal(signal.SIGHUP, signal.SIG_IGN)  # an ignored signal stays ignored across exec
    try:
        resource_tracker.ensure_running()
    finally:
        signal.signal(signal.SIGHUP, old)


def run(app: Any) -> int:
    """Run `app` (a LabApp) until it exits; returns its exit code."""
    return asyncio.run(_run(app)) or 0


def clearing(driver_class: type, on_gone: Any = None) -> type:
    """`driver_class` that blanks the alternate screen before it leaves it. A terminal that was resized
    while the lab ran (tmux, for one) keeps the frame's lines that no longer fit the old size and shows them
    on the restored screen, under the prompt; a blank screen leaves nothing to keep."""

    class ClearingDriver(driver_class):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            if getattr(self, "_file", None) is not None:  # Textual's Linux driver: what its writer writes to
                self._file = GoneProof(self._file, on_gone)

        def stop_application_mode(self) -> None:
            try:
                self.write(
                    "\x1b[0m\x1b[H\x1b[2J"
                )  # default colours, home, erase the whole (alternate) screen
            except OSError:  # the terminal is gone: nothing to blank
                pass
            super().stop_application_mode()

    ClearingDriver.__name__ = f"Clearing{driver_class.__name__}"
    return ClearingDriver


class GoneProof:
    """The lab's terminal as the driver's writer thread writes to it. Once the terminal is gone (hung up:
    EIO; closed: EPIPE), what is written to it is dropped. Textual's writer thread would otherwise die at its
    first failed write; its queue of 30 writes then fills, and the lab's exit, which waits for the queue
    (`WriterThread.stop`), waits forever: a closed SSH session or `tmux kill-session` left labs asleep for
    hours, their runs wound down but the process never gone. A terminal found gone ends the lab as SIGHUP
    does (`on_gone`): one that closes without a SIGHUP reaching the lab (its session's leader was a shell
    that does not pass it on) would otherwise leave it training, unseen, with nobody to stop it."""

    def __init__(self, file: Any, on_gone: Any = None):
        self._file, self.gone, self.on_gone = file, False, on_gone

    def write(self, text: str) -> int:
        if not self.gone:
            try:
                return self._file.write(text)
            except OSError:
                self._went()
        return len(text)

    def flush(self) -> None:
        if not self.gone:
            try:
                self._file.flush()
            except OSError:
                self._went()

    def _went(self) -> None:
        self.gone = True
        if self.on_gone is not None:
            try:
                self.on_gone()
            except RuntimeError:  # the lab's loop already closed: it is ending anyway
                pass

    def __getattr__(self, name: str) -> Any:  # fileno, isatty, encoding: the terminal's own
        return getattr(self._file, name)


async def _run(app: Any) -> int:
    loop = asyncio.get_running_loop()
    ending: list[int] = []

    def gone() -> None:  # in the driver's writer thread: the lab ends in its loop, as at a SIGHUP
        loop.call_soon_threadsafe(_on_signal, app, signal.SIGHUP, ending)

    app.driver_class = clearing(app.driver_class, gone)
    for sig in SIGNALS:
        loop.add_signal_handler(sig, _on_signal, app, sig, ending)
    try:
        await app.run_async()
    finally:
        for sig in SIGNALS:
            loop.remove_signal_handler(sig)
        _close_helper()
    return app.return_code or 0


def _on_signal(app: Any, signum: int, ending: list[int]) -> None:
    """In the event loop (asyncio runs signal handlers there): the first signal winds the runs down, then
    exits; a second exits at once."""
    code = 128 + signum
    if ending:
        app.exit(return_code=code)
        return
    ending.append(signum)
    asyncio.get_running_loop().create_task(_wind_down_and_exit(app, code))


async def _wind_down_and_exit(app: Any, code: int) -> None:
    try:
        await app.control.wind_down(app.work.drain)
    except Exception:  # noqa: BLE001 - ending anyway (a signal before the lab was up, say): the runs end with it
        pass
    finally:
        app.exit(return_code=code)


def _close_helper() -> None:
    from ...core.executors import checker

    checker.close()
