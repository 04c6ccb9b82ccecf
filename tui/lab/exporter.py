"""`e` in the lab and in past runs: the runs' PNG and CSV files to ./exports/<time>/, written in a thread
(matplotlib is slow: never on the UI thread); a notice says where, or what went wrong."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from textual.app import App

from ...core.export.writer import export_runs
from ...core.store.folder import RunStore
from ..tasks import NOTICE_S, Tasks, failure_text
from ..viewkit import ViewOptions

EXPORT_FORMATS = ("png", "csv")


class Exporter:
    def __init__(self, app: App, tasks: Tasks, store: RunStore):
        self.app = app
        self.tasks = tasks
        self.store = store
        tasks.add("export", self.exported, self.failed)

    def export(self, run_ids: list[str], opts: ViewOptions) -> None:
        """Export these runs, smoothed and on the x-axis of `opts` (the calling screen's)."""
        if not run_ids:
            self.app.notify(
                "no runs to export yet: press r (or mark runs in past runs, p)", severity="warning"
            )
            return
        out_dir = Path.cwd() / "exports" / datetime.now().strftime("%Y%m%d-%H%M%S")
        self.app.notify(f"exporting {len(run_ids)} runs to {out_dir}…")
        self.tasks.start("export", self.write, run_ids, out_dir, opts.smooth, opts.x)

    def write(self, run_ids: list[str], out_dir: Path, smooth: float, x: str) -> tuple[Path, int]:
        """In a thread: the files, and how many were written."""
        infos = [self.store.get(r) for r in run_ids]
        return out_dir, len(export_runs(infos, out_dir, EXPORT_FORMATS, smooth=smooth, x=x))

    def exported(self, result: tuple[Path, int]) -> None:
        out_dir, n = result
        self.app.notify(f"{n} files in {out_dir}", title="exported", timeout=NOTICE_S)

    def failed(self, err: BaseException) -> None:
        self.app.notify(failure_text(err), title="export failed", severity="error", timeout=NOTICE_S)
