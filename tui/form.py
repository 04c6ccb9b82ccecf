"""The parameter form: the config keys that matter for a preset, checked as you type.

Each field starts with the value every variant shares, or empty (with the per-variant values as a
placeholder) when the variants differ. A field left as it started is no override; anything else
becomes a `--set`-style override checked with the same rules as the command line.
"""
from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.validation import ValidationResult, Validator
from textual.widgets import Input, Label, Static

from ..core.config import help_of, parse_set
from ..core.errors import BadInput
from ..core.presets import Preset
from ..core.sweeps import summarise

ALWAYS = ("lr", "batch_size", "epochs", "optimizer", "momentum", "seed")
IF_USED = ("hidden", "activation", "dropout", "weight_decay", "init", "order", "train_size", "val_fraction",
           "early_stop_patience", "normalize", "n_samples", "dataset", "device")


def form_keys(preset: Preset) -> list[str]:
    """The keys to show: the common knobs, then the ones the preset itself sets."""
    used = set(preset.base) | set(preset.sweep) | {k for v in preset.variants for k in v.overrides}
    if "hidden" in used:
        used.add("activation")
    return list(ALWAYS) + [k for k in IF_USED if k in used and k not in ALWAYS]


def show_value(v: Any) -> str:
    """A config value as a user would type it after `--set key=`."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(show_value(x) for x in v) + "]"
    return str(v)


def initial_values(preset: Preset, keys: list[str]) -> dict[str, tuple[str, str]]:
    """key -> (initial text, placeholder): the shared value, or '' and the per-variant values."""
    configs = [cfg.to_dict() for _, cfg in preset.configs()]
    out = {}
    for k in keys:
        vals = list(dict.fromkeys(show_value(c[k]) for c in configs))
        raw = [c[k] if isinstance(c[k], (int, float, str)) else show_value(c[k]) for c in configs]
        out[k] = (vals[0], "") if len(vals) == 1 else ("", "per variant: " + summarise(raw))
    return out


def parse_field(key: str, text: str) -> Any:
    """The value typed for `key`, checked like `--set key=text`; BadInput with the reason if not allowed."""
    try:
        return parse_set(f"{key}={text}")[1]
    except BadInput as e:
        msg = str(e)
        prefix = f"--set {key}={text}: "
        raise BadInput(msg[len(prefix):] if msg.startswith(prefix) else msg) from None


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


class ParamForm(Vertical):
    """One labelled input per key; `overrides()` and `errors()` read it back."""

    def __init__(self, preset: Preset, **kw):
        super().__init__(**kw)
        self.preset = preset
        self.keys = form_keys(preset)
        self.initial = initial_values(preset, self.keys)

    def compose(self) -> ComposeResult:
        for k in self.keys:
            text, placeholder = self.initial[k]
            with Horizontal(classes="field"):
                yield Label(k, classes="key")
                yield Input(text, placeholder=placeholder, id=f"field-{k}", validators=[FieldValidator(k)],
                            validate_on=["changed", "submitted"], tooltip=help_of(k), compact=True)
        yield Static("", id="form-error")

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
        return out

    def overrides(self) -> dict[str, Any]:
        """The fields changed from their start, as config values (call only when `errors()` is empty)."""
        return {k: parse_field(k, t) for k, t in self.texts().items() if t and t != self.initial[k][0]}

    def show_errors(self) -> None:
        """Mark the bad fields and say why under the form."""
        errs = self.errors()
        for k in self.keys:
            self.query_one(f"#field-{k}", Input).set_class(k in errs, "-invalid")
        self.query_one("#form-error", Static).update("\n".join(f"✗ {r}" for r in errs.values()))
        self.set_class(bool(errs), "-has-errors")
