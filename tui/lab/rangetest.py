"""`L` in the lab: the lr range test of the selected variant with the form's values. It is `dltui lrfind` in a
process of its own (the lab never trains in its own process), saved as a run; past runs (p) draws its
curve."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from textual.app import App

from ...core.spec import presets as presets_mod
from ...core.spec.presets import Preset
from ..form import ParamForm
from ..tasks import NOTICE_S, Tasks, failure_text


class RangeTest:
    def __init__(self, app: App, tasks: Tasks, runs_dir: Path, data_dir: Path):
        self.app = app
        self.tasks = tasks
        self.runs_dir = runs_dir
        self.data_dir = data_dir
        tasks.add("lrfind", self.ended, self.failed, exclusive=True)

    def start(self, form: ParamForm, variant: str | None) -> None:
        """The range test of `variant` (None: the preset's first) with the form's values, unless a field is
        bad."""
        errors = form.errors()
        if errors:
            self.app.notify(
                "\n".join(errors.values()), title="cannot run: fix the marked field", severity="error"
            )
            return
        preset, variant = form.preset, variant or form.preset.variants[0].name
        self.app.notify(
            f"lr range test of {preset.name} / {variant} started; p shows it when it is done",
            timeout=NOTICE_S,
        )
        self.tasks.start(
            "lrfind",
            run_command,
            lrfind_command(preset, variant, form.overrides(), self.runs_dir, self.data_dir),
        )

    def ended(self, result: tuple[int, str]) -> None:
        code, last = result
        self.app.notify(
            f"lr range test: {last}; p shows the curve" if code == 0 else f"lr range test: {last}",
            severity="information" if code == 0 else "error",
            timeout=NOTICE_S,
        )

    def failed(self, err: BaseException) -> None:
        self.app.notify(f"lr range test: {failure_text(err)}", severity="error", timeout=NOTICE_S)


def run_command(command: list[str]) -> tuple[int, str]:
    """In a thread: run it; its exit code and one line: the suggested lr when it ended well (the last line
    `dltui lrfind` prints), else its last line of output (the error)."""
    done = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    said = [line for line in done.stdout.splitlines() if line.startswith(("suggested lr", "no suggested lr"))]
    if done.returncode == 0 and said:
        return 0, said[-1]
    lines = [line for line in (done.stderr or done.stdout).splitlines() if line.strip()]
    return done.returncode, lines[-1] if lines else "saved"


def lrfind_command(
    preset: Preset, variant: str, overrides: dict[str, Any], runs_dir: Path, data_dir: Path
) -> list[str]:
    """`dltui lrfind` for one variant of `preset` with the form's overrides (as --set KEY=VALUE, JSON being
    TOML)."""
    source = preset.name if preset.name in presets_mod.preset_names() else str(Path(preset.source).resolve())
    sets = [arg for k, v in overrides.items() for arg in ("--set", f"{k}={json.dumps(v)}")]
    return [
        sys.executable,
        "-m",
        "dltui",
        "lrfind",
        source,
        "--variant",
        variant,
        *sets,
        "--runs-dir",
        str(runs_dir),
        "--data-dir",
        str(data_dir),
    ]
