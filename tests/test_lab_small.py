"""The lab's own process never imports torch: a helper process names the device and checks the values,
the training process trains and says which device it used."""

from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = """
import asyncio, json, sys
from dltui.tui.app import FINDING_DEVICE, LabApp
from dltui.tui.bench.lab import set_fields, wait_for

async def main(runs_dir, data_dir):
    app = LabApp("polynomial", runs_dir, data_dir)
    seen = {}
    async with app.run_test(size=(140, 45)) as pilot:
        await wait_for(pilot, lambda: app.sub_title != FINDING_DEVICE, 120, "the device")
        seen["probed"] = app.sub_title
        set_fields(app, {"epochs": 3})
        await pilot.pause()
        await pilot.press("r")
        await wait_for(pilot, lambda: app.batch is not None and app.batch.done, 120, "the runs")
        seen["statuses"] = [r.status for r in app.batch.list()]
        seen["header"] = app.sub_title
        await pilot.press("q")
    seen["torch"] = "torch" in sys.modules
    print(json.dumps(seen))

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


def test_the_lab_trains_without_importing_torch(tmp_path):
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "runs"), str(tmp_path / "data")],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout
    seen = json.loads(out.strip().splitlines()[-1])
    assert seen["statuses"] == ["finished"] * 3
    assert seen["probed"].startswith("cpu") and seen["header"].startswith("cpu")
    assert seen["torch"] is False
