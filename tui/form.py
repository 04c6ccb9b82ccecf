"""The parameter form: the config keys that matter for a preset, checked as you type.

Each field starts with the value every variant shares, or empty when the variants differ: then its
placeholder says how many values, and a line under the form lists them all (a value cut mid-number
reads as a wrong value). A field left as it started is no override; anything else becomes a
`--set`-style override checked with the same rules as the command line. `task` is a field, so that
an MNIST preset runs on the bundled digits offline.
"""

from __future__ import annotations

import os
import re
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.validation import ValidationResult, Validator
from textual.widgets import Input, Label, Static

from ..core.readout.safe import text as as_text
from ..core.readout.sweeps import summarise
from ..core.rules.errors import BadInput
from ..core.spec.config import help_of, parse_set
from ..core.spec.presets import Preset
from .keys import FIELD_KEYS

ALWAYS = ("task", "lr", "batch_size", "epochs", "optimizer", "momentum", "seed")
# Keys a task never reads: the gradient tests train nothing.
IGNORED = {"gradcheck": ("lr", "batch_size", "epochs", "optimizer", "momentum")}
IF_USED = (
    "model",
    "hidden",
    "activation",
    "dropout",
    "weight_decay",
    "init",
    "order",
    "train_size",
    "val_fraction",
    "early_stop_patience",
    "normalize",
    "n_samples",
    "dataset",
    "device",
)


def form_keys(preset: Preset) -> list[str]:
    """The keys to show: the common knobs, then the ones the preset itself sets, less those its task ignores
    (and `activation` where no variant has a hidden layer: a linear model has none to activate)."""
    used = set(preset.base) | set(preset.sweep) | {k for v in preset.variants for k in v.overrides}
    configs = [cfg.to_dict() for _, cfg in preset.configs()]
    if any(c.get("hidden") for c in configs):
        used.add("activation")
    else:
        used.discard("activation")
    ignored = {k for c in configs for k in IGNORED.get(c.get("task"), ())}
    return [k for k in ALWAYS if k not in ignored] + [k for k in IF_USED if k in used and k not in ALWAYS]


def show_value(v: Any) -> str:
    """A config value as a user would type it after `--set key=`."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(show_value(x) for x in v) + "]"
    return str(v)


def per_variant(preset: Preset, keys: list[str]) -> dict[str, list[str]]:
    """key -> the distinct values (as shown) of the keys that differ between variants, in variant order."""
    configs = [cfg.to_dict() for _, cfg in preset.configs()]
    vals = {k: list(dict.fromkeys(show_value(c[k]) for c in configs)) for k in keys}
    return {k: v for k, v in vals.items() if len(v) > 1}


def initial_values(preset: Preset, keys: list[str]) -> dict[str, tuple[str, str]]:
    """key -> (initial text, placeholder): the shared value, or '' and "3 values ↓" (listed under the
    form)."""
    configs = [cfg.to_dict() for _, cfg in preset.configs()]
    differ = per_variant(preset, keys)
    return {
        k: ("", f"{len(differ[k])} values ↓") if k in differ else (show_value(configs[0][k]), "")
        for k in keys
    }


def variants_hint(preset: Preset, keys: list[str], full: int = 8, typed: dict[str, str] | None = None) -> str:
    """The per-variant values, one key a line: in full up to `full` values, else "40 values 0.001…1" (a big
    sweep). A key with a value `typed` in its field says that value replaces them (the run uses it for every
    variant)."""
    configs = [cfg.to_dict() for _, cfg in preset.configs()]
    lines = []
    for k, shown in per_variant(preset, keys).items():
        raw = [c[k] if isinstance(c[k], (int, float, str)) else show_value(c[k]) for c in configs]
        listed = " | ".join(shown) if len(shown) <= full else summarise(raw)
        lines.append(
            f"{k}: {typed[k]} for all (not {listed})" if typed and typed.get(k) else f"{k}: {listed}"
        )
    return "\n".join(lines)


def parse_field(key: str, text: str) -> Any:
    """The value typed for `key`, checked like `--set key=text`; BadInput with the reason if not allowed."""
    try:
        return parse_set(f"{key}={text}")[1]
    except BadInput as e:
        msg = str(e)
        prefix = f"--set {key}={text}: "
        raise BadInput(msg[len(prefix) :] if msg.startswith(prefix) else msg) from None


SET_FLAGS = re.compile(r"(?:--set (\w+)=(\S+?)(?=[\s,;)]|$)\s*)+")


def lab_words(message: str) -> str:
    """A message written for the command line, said in the lab's own terms: `--set task=digits --set
    model=mlp` becomes `task = digits and model = mlp in the form` (the lab has no flags)."""

    def said(m: re.Match) -> str:
        pairs = re.findall(r"--set (\w+)=(\S+?)(?=[\s,;)]|$)", m.group(0))
        tail = " " if m.group(0).endswith(" ") else ""
        return " and ".join(f"{k} = {v}" for k, v in pairs) + " in the form" + tail

    return SET_FLAGS.sub(said, message)


BATCHED = "batched"  # the form's one field that is no config key: how the lab trains the variants
MODES = ("auto", "off")
BATCHED_ENV = "DLTUI_BATCHED"  # the lab's default where a preset does not say off (as for `dltui run`)
BATCHED_TIP = (
    "auto: the variants that differ only in lr, momentum, weight decay or seed train together as one "
    "batched model, each still its own run; off: every variant trains alone (as `dltui run --batched`). "
    'A preset that says batched = "off" trains one by one either way.'
)


def batched_default(preset: Preset) -> str:
    """The batched field's start: off where the preset says off, else DLTUI_BATCHED where set, else auto."""
    if preset.batched == "off":
        return "off"
    env = os.environ.get(BATCHED_ENV, "").strip()
    return env if env in MODES else "auto"


class ModeValidator(Validator):
    """The batched field: auto or off."""

    def validate(self, value: str) -> ValidationResult:
        if value.strip() in ("", *MODES):
            return self.success()
        return self.failure(f"batched = {value.strip()} is not a mode; use auto or off")


class FieldValidator(Validator):
    """Checks one field as you type with the config's own rules."""

    def __init__(self, key: str):
        super().__init__()
        self.key = key

    def validate(self, value: str) -> ValidationResult:
        if not value.strip():
            return self.success()
        try:
            parse_field(self.key, value.strip())
        except BadInput as e:
            return self.failure(str(e))
        return self.success()


class Field(Input):
    """A text field of the lab (the form's, the variant filter's): letters go in; keys.FIELD_KEYS act."""

    BINDINGS = FIELD_KEYS


class ParamForm(Vertical):
    """One labelled input per key; `overrides()` and `errors()` read it back."""

    def __init__(self, preset: Preset, **kw):
        super().__init__(**kw)
        self.preset = preset
        self.keys = form_keys(preset)
        self.initial = initial_values(preset, self.keys)
        self.differ = per_variant(preset, self.keys)
        self.batched_start = batched_default(preset)

    def compose(self) -> ComposeResult:
        for k in self.keys:
            text, placeholder = self.initial[k]
            with Horizontal(classes="field"):
                yield Label(k, classes="key")
                tip = help_of(k) + (
                    f"\nper variant: {' | '.join(self.differ[k])}" if k in self.differ else ""
                )
                yield Field(
                    text,
                    placeholder=placeholder,
                    id=f"field-{k}",
                    validators=[FieldValidator(k)],
                    validate_on=["changed", "submitted"],
                    tooltip=as_text(tip, newlines=True),
                    compact=True,
                )
        with Horizontal(classes="field"):
            yield Label(BATCHED, classes="key")
            yield Field(
                self.batched_start,
                id=f"field-{BATCHED}",
                validators=[ModeValidator()],
                validate_on=["changed", "submitted"],
                tooltip=BATCHED_TIP,
                compact=True,
            )
        yield Static("", id="form-error")  # right under the fields: a short terminal cuts the side bar's end
        yield Static(as_text(self.hint(), newlines=True), id="form-hint")

    @on(Input.Changed)
    def field_changed(self) -> None:
        """Checked as you type; a value typed over per-variant ones says so under the form."""
        self.show_errors()
        self.query_one("#form-hint", Static).update(as_text(self.hint(self.texts()), newlines=True))

    def hint(self, typed: dict[str, str] | None = None) -> str:
        hint = variants_hint(self.preset, self.keys, typed=typed)
        return f"per variant (empty field: keep them)\n{hint}" if hint else ""

    def texts(self) -> dict[str, str]:
        return {k: self.query_one(f"#field-{k}", Input).value.strip() for k in self.keys}

    def errors(self) -> dict[str, str]:
        """key -> reason, for every field whose value is not allowed."""
        out = {}
        for k, text in self.texts().items():
            if text:
                try:
                    parse_field(k, text)
                except BadInput as e:
                    out[k] = str(e)
        mode = self.query_one(f"#field-{BATCHED}", Input).value.strip()
        if mode not in ("", *MODES):
            out[BATCHED] = f"batched = {mode} is not a mode; use auto (train together what can) or off"
        return out

    def batched(self) -> str:
        """The batched field's mode (empty: as it started)."""
        return self.query_one(f"#field-{BATCHED}", Input).value.strip() or self.batched_start

    def overrides(self) -> dict[str, Any]:
        """The fields changed from their start, as config values (call only when `errors()` is empty)."""
        return {k: parse_field(k, t) for k, t in self.texts().items() if t and t != self.initial[k][0]}

    def show_errors(self) -> None:
        """Mark the bad fields and say why under the form."""
        errs = self.errors()
        for k in [*self.keys, BATCHED]:
            self.query_one(f"#field-{k}", Input).set_class(k in errs, "-invalid")
        # what was typed is in each reason: shown as text, so `[/]` reads `[/]` and ESC reads `\x1b`
        error = self.query_one("#form-error", Static)
        error.update(as_text("\n".join(f"✗ {lab_words(r)}" for r in errs.values()), newlines=True))
        self.set_class(bool(errs), "-has-errors")
        if errs:
            error.scroll_visible(animate=False)  # the whole message in sight, however short the terminal
