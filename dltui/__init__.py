"""dltui: a terminal learning-dynamics lab.

The package root: the folders beside this one are its subpackages (cli/ -> dltui.cli, core/ -> dltui.core,
tui/ -> dltui.tui, presets/ -> dltui.presets), mapped by pyproject.toml's package-dir when installed.
"""

from pathlib import Path as _Path

__version__ = "0.1.0"

# Run from a source checkout (cwd on sys.path, as `python -m pytest` and `python -m dltui` put it), this
# folder
# is found before the installed package: let it find its subpackages beside it, as the install maps them.
_checkout = _Path(__file__).resolve().parent.parent
if (_checkout / "pyproject.toml").is_file() and (_checkout / "core" / "__init__.py").is_file():
    __path__.append(str(_checkout))  # noqa: F821 - a package's own __path__
