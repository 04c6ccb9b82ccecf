"""Layering, found by walking the packages (a new module is checked without being listed here):
core never imports textual; the lab (dltui.tui) never imports a CLI module; the CLI's help and list never
import torch."""

from __future__ import annotations

import ast
import importlib.util
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest


def _modules(package: str) -> list[tuple[str, Path]]:
    """(name, file) of every module in `package` and its subpackages, the package itself included."""
    root = Path(importlib.util.find_spec(package).submodule_search_locations[0])
    out = [(package, root / "__init__.py")]
    for info in pkgutil.iter_modules([str(root)]):
        if info.ispkg:
            out += _modules(f"{package}.{info.name}")
        else:
            out.append((f"{package}.{info.name}", root / f"{info.name}.py"))
    return out


# The CLI's own modules: those of dltui.cli (cli/), and the root's __main__.
CLI = [name for name, _ in _modules("dltui.cli")] + ["dltui.__main__"]


def _first_import_of(modules: list[str], banned: list[str]) -> dict[str, list[str]]:
    """Import `modules` one by one in a fresh interpreter; the first whose import brought in a `banned`
    module, with those it brought (empty when none did)."""
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module(m)\n"
        f"    hit = sorted(b for b in {banned!r} if b in sys.modules)\n"
        "    if hit:\n"
        "        print(m, *hit)\n"
        "        break\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    return {out[0]: out[1:]} if out else {}


def test_the_walk_finds_the_packages_modules():
    core = [name for name, _ in _modules("dltui.core")]
    assert {"dltui.core.train.trainer", "dltui.core.data.mnist", "dltui.core.readout.colours"} <= set(core)
    assert {
        "dltui.cli.main",
        "dltui.cli.show",
        "dltui.cli.compare",
        "dltui.cli.console",
        "dltui.cli.jobs",
        "dltui.cli.signals",
    } <= set(CLI)


def test_no_core_module_imports_textual():
    assert _first_import_of([name for name, _ in _modules("dltui.core")], ["textual"]) == {}


def _imported_names(name: str, path: Path) -> set[str]:
    """The absolute names a module's import statements name (relative imports resolved; `from X import y`
    gives X and X.y, since y may be a module)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = (
                importlib.util.resolve_name("." * node.level + (node.module or ""), package)
                if node.level
                else node.module
            )
            out |= {base} | {f"{base}.{a.name}" for a in node.names}
    return out


LAB = _modules("dltui.tui")


@pytest.mark.parametrize("name,path", LAB, ids=[name for name, _ in LAB])
def test_no_lab_module_names_a_cli_module(name, path):
    assert _imported_names(name, path) & set(CLI) == set()


def test_no_lab_module_brings_in_a_cli_module():
    assert _first_import_of([name for name, _ in LAB], CLI) == {}


@pytest.mark.parametrize("args", [["--help"], ["list"], ["runs"], ["run", "--help"]])
def test_cli_help_and_list_do_not_import_torch(args, tmp_path):
    code = (
        "import sys\n"
        f"sys.argv = ['dltui', *{args!r}]\n"
        "from dltui.cli.main import app\n"
        "try:\n    app()\nexcept SystemExit:\n    pass\n"
        "print(' '.join(sys.modules))\n"
    )
    mods = set(
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
        ).stdout.split()
    )
    assert "typer" in mods
    assert "torch" not in mods
