"""`python -m dltui` and the `dltui` console script."""
from __future__ import annotations


def main() -> None:
    from .app import app

    app()


if __name__ == "__main__":
    main()
