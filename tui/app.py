"""The Textual app (placeholder until the TUI lands)."""


def run_app(preset=None, runs_dir=None, data_dir=None) -> int:
    raise SystemExit("the TUI is not built yet; use `dltui run PRESET`")
