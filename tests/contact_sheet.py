"""A contact sheet of every preset's main screen after a short scripted run, at 80x24, 140x45 and 200x60:
docs/contact-sheet.png with them all (a row per preset, a column per size), and one full-size PNG per
preset and size under build/screens/ (not kept in git: look at them there).

    PYTHONPATH=. python tests/contact_sheet.py [PRESET ...]

The runs are the snapshot tests' scripted ones (tests/preset_events.py: deterministic, no training), on
small MNIST and CIFAR files written to a temporary data folder, so that the lab's checks before a run pass.
"""

from __future__ import annotations

import asyncio
import io
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

SIZES = ((80, 24), (140, 45), (200, 60))
DOCS = HERE.parent / "docs"
THUMB_W = 720  # each screen's width on the sheet, in pixels
SCREENS = HERE.parent / "build" / "screens"


async def shot(name: str, size: tuple[int, int]) -> str:
    """The SVG of `name`'s main screen after its scripted run, at `size`."""
    from preset_events import preset_script
    from tui_fakes import fake_worker

    from dltui.core.spec import presets as presets_mod
    from dltui.tui.app import LabApp
    from dltui.tui.plots import ViewPlot

    preset = presets_mod.load(name)
    app = LabApp(name, executor_factory=fake_worker(preset_script(preset)), device_probe=lambda: "cpu")

    async def settle(pilot, cond=lambda a: True, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while not (cond(app) and not any(p.pending for p in app.screen.query(ViewPlot))):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} at {size}: the screen did not settle")
            await pilot.pause(0.05)
        await pilot.pause()

    async with app.run_test(size=size) as pilot:
        await settle(pilot, lambda a: a.sub_title == "cpu")
        await pilot.press("r")
        await settle(pilot, lambda a: a.batch is not None and a.batch.done)
        return app.export_screenshot(title=f"{name} {size[0]}x{size[1]}")


def png(svg: str) -> bytes:
    import cairosvg

    return cairosvg.svg2png(bytestring=svg.encode(), output_width=1800)


def sheet(names: list[str], pictures: dict[tuple[str, tuple[int, int]], bytes]) -> bytes:
    """All screens on one image: a row per preset, a column per size, each scaled to THUMB_W wide."""
    from PIL import Image

    thumbs = {
        k: (lambda im: im.resize((THUMB_W, int(im.height * THUMB_W / im.width))))(Image.open(io.BytesIO(v)))
        for k, v in pictures.items()
    }
    heights = [max(thumbs[(n, s)].height for s in SIZES) for n in names]
    out = Image.new("RGB", (THUMB_W * len(SIZES), sum(heights)), "white")
    y = 0
    for n, h in zip(names, heights):
        for col, s in enumerate(SIZES):
            out.paste(thumbs[(n, s)], (col * THUMB_W, y))
        y += h
    buf = io.BytesIO()
    out.quantize(256).save(buf, "PNG", optimize=True)  # a terminal's few colours: a small file
    return buf.getvalue()


def main(argv: list[str]) -> int:
    from test_cifar_data import write_cifar
    from test_mnist_data import write_mnist

    from dltui.core.spec import presets as presets_mod

    names = argv or presets_mod.preset_names()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["DLTUI_RUNS_DIR"] = str(Path(tmp) / "runs")
        os.environ["DLTUI_DATA_DIR"] = data = str(Path(tmp) / "data")
        os.environ["DLTUI_OFFLINE"] = "1"
        Path(data).mkdir()
        write_mnist(Path(data), n_train=1000)
        write_cifar(Path(data))
        pictures = {}
        SCREENS.mkdir(parents=True, exist_ok=True)
        for name in names:
            for size in SIZES:
                pictures[(name, size)] = png(asyncio.run(shot(name, size)))
                out = SCREENS / f"{name}-{size[0]}x{size[1]}.png"
                out.write_bytes(pictures[(name, size)])
                print(out.relative_to(HERE.parent), flush=True)
    if not argv:
        (DOCS / "contact-sheet.png").write_bytes(sheet(names, pictures))
        print("docs/contact-sheet.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
