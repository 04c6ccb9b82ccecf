"""Text from outside reaches every face shown, never obeyed: markup in names is shown as written, terminal
escapes as `\\x1b`; and every face formats numbers one way."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
from rich.console import Console
from textual.content import Content
from typer.testing import CliRunner

from dltui.cli.console import print_error, summary_table
from dltui.cli.main import app
from dltui.core.readout.runcard import run_card
from dltui.core.readout.safe import markup, text
from dltui.core.rules.numbers import count, duration, lr, metric, pct
from dltui.core.rules.outside import plot_visible, visible
from dltui.core.store.folder import RunStore

ESC = "\x1b]0;pwned\x07\x1b[2J"  # sets the terminal's title, then clears the screen
SHOWN = "\\x1b]0;pwned\\x07\\x1b[2J"
EVIL = f"[/]{ESC}[bold red]red[/] [link=http://x]l[/]"
EVIL_SHOWN = f"[/]{SHOWN}[bold red]red[/] [link=http://x]l[/]"


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


def rendered(thing, width: int = 140) -> str:
    """What a console of `width` columns prints of `thing`, with no colour codes of its own."""
    out = io.StringIO()
    Console(file=out, width=width, color_system=None, force_terminal=False).print(thing)
    return out.getvalue()


@pytest.fixture(scope="module")
def hostile(poly, tmp_path_factory) -> Path:
    """A copy of the polynomial runs with one run whose variant, reason and a config key hold markup and a
    terminal escape."""
    root = tmp_path_factory.mktemp("hostile-runs")
    for run in poly.iterdir():
        if run.is_dir():
            shutil.copytree(run, root / run.name)
    victim = next(p for p in sorted(root.iterdir()) if "lr=0.1-" in p.name)
    status = json.loads((victim / "status.json").read_text())
    status.update(variant=EVIL, reason=f"why {EVIL}", status="diverged")
    (victim / "status.json").write_text(json.dumps(status))
    config = json.loads((victim / "config.json").read_text())
    config[f"key{ESC}"] = 1
    (victim / "config.json").write_text(json.dumps(config))
    return root


def test_visible_shows_every_control_character_and_keeps_the_rest():
    assert visible(ESC) == SHOWN
    assert visible("a\x9bb\u202ec") == "a\\x9bb\\u202ec"  # C1 CSI, a bidi override
    assert visible("two\nlines") == "two\\x0alines" and visible("two\nlines", newlines=True) == "two\nlines"
    assert visible("lr=0.1 ✓ 95.9%") == "lr=0.1 ✓ 95.9%"
    # a drawn plot keeps its colours and lines, and shows any other control (a name in its legend)
    assert plot_visible(f"\x1b[31mred\x1b[0m\n{ESC}") == f"\x1b[31mred\x1b[0m\n{SHOWN}"


def test_safe_text_and_markup_show_markup_as_written():
    assert text(EVIL).plain == EVIL_SHOWN
    assert not text(EVIL).spans  # no style came from the name
    for parse in (lambda s: Content.from_markup(s).plain, lambda s: Text_from_markup(s)):
        assert parse(markup(EVIL)) == EVIL_SHOWN
        assert parse(markup("[x] typed")) == "[x] typed"


def Text_from_markup(s: str) -> str:
    from rich.text import Text

    return Text.from_markup(s).plain


@pytest.mark.parametrize(
    "command", [["runs"], ["runs", "--all"], ["show", "ID"], ["compare", "ID", "latest"]]
)
def test_cli_shows_hostile_names_and_never_passes_an_escape(hostile, command):
    victim = next(r for r in RunStore(hostile).list() if r.status.get("variant") == EVIL)
    r = invoke(*(victim.run_id if a == "ID" else a for a in command), "--runs-dir", hostile)
    assert r.exit_code == 0, r.stdout + r.stderr
    assert "\x1b" not in r.stdout and "\x07" not in r.stdout  # nothing reaches the terminal to obey
    squashed = "".join(c for c in r.stdout if c not in "│ \n")  # a long name may fold in its cell
    assert "[/]\\x1b]0;pwned\\x07\\x1b[2J[boldred]red[/]" in squashed


def test_run_card_shows_the_reason_and_config_key_as_written(hostile):
    victim = next(r for r in RunStore(hostile).list() if r.status.get("variant") == EVIL)
    out = rendered(run_card(victim), 300)
    assert f"why {EVIL_SHOWN}" in out and f"key{SHOWN}=1" in out and "\x1b" not in out


def test_a_runs_dir_whose_path_holds_markup_runs_and_exports(tmp_path, data_dir):
    root = tmp_path / "odd [/] [bold]dir"
    r = invoke("run", "polynomial", "-e", "2", "-v", "lr=0.1", "--runs-dir", root, "--data-dir", data_dir)
    assert r.exit_code == 0, r.stdout + r.stderr
    assert f"runs saved in {root}" in r.stdout
    r = invoke("export", "latest", "--to", root / "out [/]", "--format", "csv", "--runs-dir", root)
    assert r.exit_code == 0, r.stdout + r.stderr
    assert str(root / "out [/]") in r.stdout
    r = invoke("runs", "--runs-dir", root)
    assert r.exit_code == 0 and "odd [/] [bold]dir" in r.stdout.replace("\n", "")


def test_a_typed_escape_is_shown_in_the_error_line(capsys):
    print_error(f"--set lr={ESC}: not a number")
    err = capsys.readouterr().err
    assert SHOWN in err and "\x07" not in err and "pwned\x07" not in err


def test_error_lines_of_the_cli_show_what_was_typed(cli):
    r = cli("compare", "[/]")
    assert r.exit_code == 2 and "run id '[/]' is not valid" in r.stderr and "Traceback" not in r.stderr
    r = cli("run", f"no{ESC}such")
    assert r.exit_code == 2 and SHOWN in r.stderr and "\x07" not in r.stderr


def test_summary_table_shows_a_hostile_variant():
    ended = [SimpleNamespace(variant=EVIL, status="finished", summary={"epochs": 2}, run_id="20260101-x")]
    assert EVIL_SHOWN in rendered(summary_table(ended, "t"), 300)


# -- numbers: one formatter ------------------------------------------------------------------------------


def test_one_formatter_for_accuracies_rates_counts_and_times():
    assert pct(0.9585) == "95.8%" or pct(0.9585) == "95.9%"
    assert metric("test_acc", 0.9585) == pct(0.9585) and metric("test_loss", 0.12345) == "0.1235"
    assert [lr(v) for v in (1e-5, 1e-3, 0.1, 10.0)] == ["1e-05", "0.001", "0.1", "10"]
    assert count(1, "thread") == "1 thread" and count(2, "thread") == "2 threads"
    assert count(60000, "sample") == "60,000 samples" and count(None, "sample") == "? samples"
    assert [duration(s) for s in (4.4, 185, 7800, None)] == ["4s", "3m 05s", "2h 10m", "-"]
    assert pct("forged") == "-" and pct(None) == "-"


def test_run_card_best_epoch_reads_as_a_percentage():
    run = SimpleNamespace(
        run_id="r",
        summary={"best_epoch": 4, "best_metric": "test_acc", "best_value": 0.9585, "final_test_acc": 0.9585},
        status={"preset": "p", "variant": "v"},
        state="finished",
        problem="",
        config={},
        snapshots=lambda: [],
    )
    out = rendered(run_card(run))
    assert f"best epoch       │ 4 (test acc {pct(0.9585)})" in out and "0.9585" not in out


# -- the lab ---------------------------------------------------------------------------------------------


def hostile_preset():
    from dataclasses import replace

    from tui_fakes import toy_preset

    from dltui.core.spec.presets import Variant

    toy = toy_preset()
    first, second = toy.variants
    return replace(
        toy,
        title=f"title {EVIL}",
        description=f"about {EVIL}",
        shows=f"shows {ESC}",
        variants=(Variant(EVIL, first.overrides), second),
    )


async def test_the_lab_shows_hostile_presets_runs_typing_and_devices_as_written(runs_dir, data_dir):
    import time

    from textual.widgets import DataTable, Input, Static
    from tui_fakes import curve_events, fake_worker

    from dltui.tui.app import LabApp

    def script(plans):
        return curve_events(plans[0], 3, "failed", f"boom {EVIL}") + curve_events(plans[1], 3)

    lab = LabApp(presets=[hostile_preset()], executor_factory=fake_worker(script), device_probe=lambda: ESC)
    async with lab.run_test(size=(140, 45)) as pilot:
        deadline = time.monotonic() + 30
        while lab.sub_title != SHOWN:
            assert time.monotonic() < deadline
            await pilot.pause(0.05)
        about = lab.query_one("#about", Static).render()
        assert f"title {EVIL_SHOWN}" in str(about) and f"about {EVIL_SHOWN}" in str(about)
        await pilot.press("r")
        while lab.batch is None or not lab.batch.done:
            assert time.monotonic() < deadline
            await pilot.pause(0.05)
        await pilot.pause(0.3)
        table = lab.query_one("#runs", DataTable)
        assert str(table.get_cell(EVIL, "variant")).endswith(EVIL_SHOWN)
        assert any(f"boom {EVIL_SHOWN}" in n.message and not n.markup for n in lab._notifications)
        # typing markup into the form: shown in the error line, never parsed (nor a crash)
        await pilot.click("#field-lr")
        field = lab.query_one("#field-lr", Input)
        field.value = ""
        await pilot.press(*"[/]", "escape")
        await pilot.pause()
        assert "[/]" in str(lab.query_one("#form-error", Static).render())
        field.value = "[x]"
        await pilot.pause()
        assert "[x]" in str(lab.query_one("#form-error", Static).render())
    assert lab.return_code in (None, 0)
