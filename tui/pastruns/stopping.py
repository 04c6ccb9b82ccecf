"""Stopping a run from past runs: the lab's own at once; another process's after a y/n, by a stop request that
its owner reads at its next step (core/store/stoprequest.py)."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from ...core.rules.errors import BadInput
from ...core.store import stoprequest
from ...core.store.folder import RunStore


class StopConfirm(ModalScreen[bool]):
    """y/n before asking another process's run to stop (it ends interrupted, as Ctrl-C would end it)."""

    BINDINGS = [
        Binding("y", "answer(True)", "stop it"),
        Binding("n,escape", "answer(False)", "keep it running"),
    ]

    def __init__(self, run_id: str, owner: str):
        super().__init__()
        self.run_id = run_id
        self.owner = owner

    def compose(self) -> ComposeResult:
        with Vertical(id="stop-confirm"):
            yield Static(
                f"Stop run {self.run_id}?\nThe lab did not start it ({self.owner}). "
                "It will end interrupted, "
                "its epochs kept, as Ctrl-C in its terminal would end it.\n\n"
                "y: stop it   n: keep it running",
                id="stop-confirm-text",
            )

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


def stop_run(app: App, store: RunStore, run_id: str) -> None:
    """Stop a running run: the lab's own batch's through the lab (s there); another's once the user says y."""
    batch = app.batch
    if batch is not None and batch.live and any(r.run_id == run_id for r in batch.list()):
        app.action_stop()
        return
    owner = store.get(run_id).status
    app.push_screen(
        StopConfirm(run_id, f"pid {owner.get('pid')} on {owner.get('host')}"),
        lambda yes: request_stop(app, store, run_id) if yes else None,
    )


def request_stop(app: App, store: RunStore, run_id: str) -> None:
    try:
        stoprequest.request(store.path_of(run_id))
    except (OSError, BadInput) as e:
        app.notify(f"cannot ask it to stop: {e}", title=run_id, severity="error")
        return
    app.notify("asked its owner to stop it: it ends interrupted at its next step", title=run_id)
