"""Keys at 80x24, and while a text field has the focus: letters go into the field, and the keys that still act
there (esc, enter, ctrl+r, F1, ctrl+q) are the ones the footer shows."""

from __future__ import annotations

from test_tui_app import CPU, statuses, wait_until
from textual.widgets import Input, ListView
from textual.widgets._footer import FooterKey
from tui_fakes import curve_events, fake_worker, toy_preset

from dltui.tui.app import LabApp
from dltui.tui.modals import HelpScreen, RunCardScreen
from dltui.tui.pastruns.screen import PastRunsScreen

SMALL = (80, 24)


def lab() -> LabApp:
    both = fake_worker(lambda plans: [ev for p in plans for ev in curve_events(p, 5)])
    return LabApp(presets=[toy_preset()], executor_factory=both, device_probe=lambda: CPU)


def footer(app) -> list[str]:
    """The footer's keys as shown ("r run"), each checked to lie whole on the screen."""
    keys = [k for k in app.screen.query(FooterKey) if k.display]
    assert all(0 <= k.region.x and k.region.right <= app.size.width and k.region.width for k in keys), (
        "cut off"
    )
    return [f"{k.key_display} {k.description}" for k in keys]


async def test_the_lab_opens_on_the_preset_list_with_a_footer_that_fits_80_columns():
    app = lab()
    async with app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        assert app.focused is app.query_one("#presets", ListView)
        shown = footer(app)
        assert {"r run", "s stop", "v view", "? keys", "q quit"} <= set(shown)


async def test_letters_go_into_a_focused_field_and_its_own_keys_act():
    app = lab()
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("enter")  # from the preset list into the form's first field
        field = app.focused
        assert isinstance(field, Input) and field.id == "field-task" and field.value == "polynomial"
        assert footer(app) == ["esc leave", "^r run", "f1 keys", "^q quit"]
        await pilot.press("end", "i", "p", "q")  # typed: not the card, past runs, quit
        assert field.value == "polynomialipq" and app.is_running
        assert not isinstance(app.screen, (PastRunsScreen, RunCardScreen))
        await pilot.press("backspace", "backspace", "backspace", "f1")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen) and app.focused is field
        await pilot.press(
            "ctrl+r"
        )  # runs, and the runs table takes the focus: the one-letter keys work again
        await wait_until(pilot, lambda: app.batch is not None and app.batch.done)
        assert statuses(app) == ["finished", "finished"]
        assert field.value == "polynomial" and app.focused is app.table
        field.focus()
        await pilot.press("escape", "p")  # esc leaves the field: p opens past runs again
        assert app.focused is not field and isinstance(app.screen, PastRunsScreen)
        await pilot.press("escape")
        field.focus()
        await pilot.press("ctrl+q")  # quits from a field too
    assert app.return_code == 0


async def test_the_variant_filter_types_letters_and_escape_goes_back_to_the_runs_table():
    app = lab()
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("r")
        await wait_until(pilot, lambda: app.batch is not None and app.batch.done)
        await pilot.press("slash", "0", ".", "0", "1", "x")  # x: a letter for the box, not the x-axis
        box = app.query_one("#variant-filter", Input)
        assert app.focused is box and box.value == "0.01x" and app.opts.x == "epoch"
        assert "esc leave" in footer(app)
        await pilot.press("backspace", "escape")
        assert app.focused is app.table and box.display and app.opts.only == "0.01"
        assert [r.variant for r in app.shown_runs()] == ["lr=0.01"]


async def test_past_runs_has_a_footer_that_fits_and_the_labs_own_keys_wait_for_the_lab():
    app = lab()
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("p")
        assert isinstance(app.screen, PastRunsScreen)
        assert footer(app) == [
            "⏎ open",
            "space mark",
            "/ filter",
            "v view",
            "e export",
            "esc back",
            "q quit",
            "? keys",
        ]
        await pilot.press("r")  # the lab's run key, out of sight: nothing starts
        await pilot.pause()
        assert app.batch is None and not app.starting
        await pilot.press("escape", "r")
        await wait_until(pilot, lambda: app.batch is not None and app.batch.done)


async def test_the_keys_screen_scrolls_and_wraps_at_80x24():
    app = lab()
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("question_mark")
        scroll = app.screen.query_one("#help-scroll")
        assert scroll.region.right <= 80 and scroll.max_scroll_y > 0  # the help is taller than the screen
        text = app.screen.query_one("#help-text")
        lines = str(text.render()).count("\n") + 1
        assert (
            text.size.height - text.styles.padding.top - text.styles.padding.bottom > lines
        )  # long lines fold
        await pilot.press("end")
        assert scroll.scroll_y == scroll.max_scroll_y


async def test_the_status_line_says_it_in_fewer_words_where_the_full_line_would_be_cut():
    app = lab()
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("x", "x", "m")  # (l is the focused panel's, said in its title)
        bar = app.query_one("#status")
        assert str(bar.render()) == "r: run 2  x: time  smooth 0.6" and bar.size.width >= 28
        await pilot.resize_terminal(140, 45)
        await pilot.pause()
        assert str(bar.render()) == "toy-poly: press r to run 2 runs   x: wall-clock seconds  smoothed 0.6"


async def test_a_value_typed_over_per_variant_values_says_it_replaces_them():
    app = lab()
    async with app.run_test(size=(140, 45)) as pilot:
        await pilot.pause()
        hint = app.query_one("#form-hint")
        assert "lr: 0.1 | 0.01" in str(hint.render())
        app.query_one("#field-lr", Input).focus()
        await pilot.press("0", ".", "5")
        await pilot.pause()
        assert "lr: 0.5 for all (not 0.1 | 0.01)" in str(hint.render())
        await pilot.press("backspace", "backspace", "backspace")
        await pilot.pause()
        assert "lr: 0.1 | 0.01" in str(hint.render()) and "for all" not in str(hint.render())


def test_a_key_both_screens_bind_is_one_binding_from_keys_py():
    """l x m v e i R s / mean the same in the lab and past runs: the same key, action and label, from one
    table; only whether the footer shows them differs."""
    from dltui.tui import keys

    lab_keys = {b.action: b for b in LabApp.BINDINGS}
    past_keys = {b.action: b for b in PastRunsScreen.BINDINGS}
    both = set(lab_keys) & set(past_keys)
    assert both == set(keys.SHARED)
    for action in both:
        for b in (lab_keys[action], past_keys[action]):
            shared = keys.SHARED[action]
            assert (b.key, b.description, b.key_display) == (
                shared.key,
                shared.description,
                shared.key_display,
            )
