"""Layering: core never imports textual; the CLI's help and list never import torch."""
from __future__ import annotations

import subprocess
import sys

import pytest

HEADLESS = ["dltui.core.config", "dltui.core.export", "dltui.core.figures", "dltui.core.smoothing", "dltui.core.presets", "dltui.core.store", "dltui.core.runner", "dltui.core.engine",
            "dltui.core.worker", "dltui.core.probes", "dltui.core.data", "dltui.core.models"]


def _modules_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys; print(' '.join(sys.modules))"],
                         capture_output=True, text=True, check=True).stdout
    return set(out.split())


@pytest.mark.parametrize("module", HEADLESS)
def test_core_never_imports_textual(module):
    mods = _modules_after(f"import {module}")
    assert module in mods
    assert "textual" not in mods


@pytest.mark.parametrize("args", [["--help"], ["list"], ["runs"], ["run", "--help"]])
def test_cli_help_and_list_do_not_import_torch(args, tmp_path):
    code = (
        "import sys\n"
        f"sys.argv = ['dltui', *{args!r}]\n"
        "from dltui.app import app\n"
        "try:\n    app()\nexcept SystemExit:\n    pass\n"
    )
    mods = _modules_after(code)
    assert "typer" in mods
    assert "torch" not in mods
