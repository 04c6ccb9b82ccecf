"""`python -m dltui` and the `dltui` console script."""

from __future__ import annotations


def main() -> None:
    import os
    import sys

    from .cli.console import fix_std_streams

    fix_std_streams()
    if not sys.stdout.isatty() and "COLUMNS" not in os.environ:
        os.environ["COLUMNS"] = "160"  # piped or logged: tables at full width, not cut to 80 columns
    from .cli.main import app

    app()


if __name__ == "__main__":
    main()
