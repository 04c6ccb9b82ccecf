"""The hardware strip under the plots: the selected run's GPU utilisation sparkline, memory bar, CPU % and
RSS (core/hardware/view.py's words), one line in a small terminal and more in a big one, with the muted
note of a machine without GPU figures, the advice that applies, the runs sharing its GPU, and (when the live
runs span several nodes or GPUs, as under Ray) one line per node and GPU in use.

The files are read in a thread once a second (never on the UI thread); the strip is out of sight while the
selected run has no samples.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from rich.text import Text
from textual.widgets import Static

from ...core.hardware import advice, view
from ...core.hardware.record import read_hardware
from ...core.readout.safe import text

REFRESH_S = 1.0
TALL = (120, 40)  # columns and rows from which the strip takes several lines

# (runs dir, the selected run's id or None, the ids of the batch's live runs)
Target = Callable[[], tuple[Path, str | None, list[str]]]


def strip_text(root: Path, selected: str, live: list[str], width: int, tall: bool, now: float) -> Text:
    """The strip's text for the selected run (reads files: call it off the UI thread)."""
    hw = read_hardware(root / selected)
    if not hw.samples:
        return Text()
    st = view.strip(hw, width, tall)
    running = selected in live
    tips = advice.advise(hw, now) if running else []
    others = {rid: read_hardware(root / rid) for rid in live if rid != selected}
    shared = view.sharing({selected: hw, **others}, now).get(selected, []) if running else []
    t = Text(no_wrap=True, overflow="ellipsis")
    if not tall:
        t.append_text(text(st.line))
        if shared:
            t.append_text(
                text(f" · GPU shared with {len(shared)} run{'s' if len(shared) > 1 else ''}", "cyan")
            )
        if tips:
            t.append_text(text(f"  {tips[0]}", "yellow"))
        elif st.note:
            t.append_text(text(f"  {st.note}", "dim"))
        return t
    t.append_text(text("\n".join(st.lines(True)), newlines=True))
    if st.note:
        t.append_text(text(f"\n{st.note}", "dim", newlines=True))
    if shared:
        t.append_text(
            text(
                f"\nGPU shared with {len(shared)} other run{'s' if len(shared) > 1 else ''}",
                "cyan",
                newlines=True,
            )
        )
    for tip in tips:
        t.append_text(text(f"\n{tip}", "yellow", newlines=True))
    panel = view.nodes({selected: hw, **others}, now) if running else []
    if len(panel) > 1:
        t.append_text(text("\nin use: " + " | ".join(panel), "dim", newlines=True))
    return t


class HardwareStrip(Static):
    """The strip's widget: refreshed from a thread once a second, hidden while there is nothing to show."""

    DEFAULT_CSS = """
    HardwareStrip { height: auto; max-height: 8; padding: 0 1; }
    """

    def __init__(self, target: Target, **kw):
        super().__init__("", **kw)
        self.target = target
        self.busy = False
        self.shown = Text()  # the text on screen, and its lines
        self.lines = 0
        self.tall: bool | None = None  # the terminal was big enough for several lines at the last tick

    def on_mount(self) -> None:
        self.display = False
        self.set_interval(REFRESH_S, self.tick)

    def tick(self) -> None:
        if self.busy:
            return  # the last read is still going (a slow disk): never two at once
        root, selected, live = self.target()
        if selected is None:
            self.display, self.shown, self.lines = False, Text(), 0
            return
        size = self.app.size
        tall = size.width >= TALL[0] and size.height >= TALL[1]
        if tall != self.tall:  # one line in a small terminal, cut rather than wrapped
            self.tall = tall
            self.styles.max_height = 8 if tall else 1
            self.styles.text_wrap = "wrap" if tall else "nowrap"
            self.styles.text_overflow = "ellipsis"
            self.shown = Text()  # drawn again at its new height
        width = max(20, (self.size.width or size.width) - 2)
        self.busy = True
        self.run_worker(
            lambda: self._read(root, selected, live, width, tall),
            thread=True,
            group="hardware",
            exit_on_error=False,
        )

    def _read(self, root: Path, selected: str, live: list[str], width: int, tall: bool) -> None:
        try:
            text = strip_text(root, selected, live, width, tall, time.time())
        except Exception:  # noqa: BLE001 - a strip that cannot be drawn is left out, never an error
            text = Text()
        try:
            self.app.call_from_thread(self._show, text)
        except RuntimeError:  # the app is closing
            pass

    def _show(self, text: Text) -> None:
        """The new text, if it differs from the one shown; the layout is asked for only when the strip's
        height changes (a relayout of the screen resizes the plots and rebuilds their pictures: once a second,
        that cost every key press its answer's time)."""
        self.busy = False
        if text == self.shown:
            return
        width = max(1, self.content_region.width or self.app.size.width)
        lines = len(text.wrap(self.app.console, width)) if text.plain else 0
        self.display = bool(text.plain)
        self.update(text, layout=lines != self.lines)
        self.shown, self.lines = text, lines
