"""Presets: TOML files with a base config, variants and an optional sweep grid.

A preset file has `name`, `title`, `description`, `shows` (one line for `dltui list`), `seeds` (which
assignment question it answers), `views` (which plots the TUI shows), a `[base]` table of config keys,
`[[variants]]` each with a `name` and overrides, and `[sweep]` lists whose product makes more variants.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from ..rules.errors import BadInput
from .config import FIELDS, RunConfig, build_config, check_value, tomllib, unknown_key
from .views import VIEW_NAMES

MAX_RUNS = 1000  # a sweep that makes more runs than this is refused unless asked for (`dltui run --yes`)
PRESET_KEYS = (
    "name",
    "title",
    "description",
    "shows",
    "seeds",
    "views",
    "focus",
    "batched",
    "base",
    "variants",
    "sweep",
)
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.=,+-]*$")


@dataclass(frozen=True)
class Variant:
    """One run of a preset: a name and the overrides on top of the base."""

    name: str
    overrides: dict[str, Any]


@dataclass(frozen=True)
class Preset:
    """A validated preset file."""

    name: str
    title: str
    description: str
    shows: str
    seeds: str
    views: tuple[str, ...]
    base: dict[str, Any]
    variants: tuple[Variant, ...]
    source: str = ""
    sweep: dict[str, list[Any]] = field(default_factory=dict)
    focus: str = (
        ""  # the variant a one-run view shows first: the one that shows the effect (default: the last)
    )
    batched: str = "auto"  # "off": its variants always train one by one (a seed's numbers to the last digit)

    def configs(self, overrides: dict[str, Any] | None = None) -> list[tuple[str, RunConfig]]:
        """(variant name, resolved config) for every variant, with `--set` overrides applied last."""
        out = []
        for v in self.variants:
            layers = [
                (f"{self.source} [base]", self.base),
                (f"{self.source} variant '{v.name}'", v.overrides),
            ]
            if overrides:
                layers.append(("--set", overrides))
            out.append((v.name, build_config(layers)))
        return out


def _preset_files() -> dict[str, Any]:
    pkg = resources.files("dltui.presets")
    return {p.name[:-5]: p for p in pkg.iterdir() if p.name.endswith(".toml")}


def preset_names() -> list[str]:
    return sorted(_preset_files())


def load_all() -> list[Preset]:
    """Every shipped preset, in a stable order (the design card's order, then the rest)."""
    presets = [load(name) for name in preset_names()]
    order = ["polynomial", "mnist-batch", "mnist-stratified", "cifar-dropout", "adam-vs-sgd"]
    return sorted(presets, key=lambda p: (order.index(p.name) if p.name in order else len(order), p.name))


def load(name_or_path: str, max_runs: int | None = MAX_RUNS) -> Preset:
    """A shipped preset by name, or a user's own preset file by path (its sweep at most `max_runs` runs)."""
    files = _preset_files()
    if name_or_path in files:
        text = files[name_or_path].read_text(encoding="utf-8")
        return parse(text, f"presets/{name_or_path}.toml", max_runs)
    path = Path(name_or_path)
    if path.suffix == ".toml" or _exists(path):
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise BadInput(
                f"{name_or_path}: no such file; "
                f"give a preset name ({', '.join(sorted(files))}) or a path to a .toml file"
            ) from None
        except (OSError, UnicodeDecodeError) as e:
            raise BadInput(
                f"{name_or_path}: cannot read it ({e.__class__.__name__}: {e}); "
                "check the path and its permissions"
            ) from None
        return parse(text, str(path), max_runs)
    import difflib

    close = difflib.get_close_matches(name_or_path, list(files), n=1, cutoff=0.5)
    hint = f"did you mean '{close[0]}'? " if close else ""
    raise BadInput(
        f"unknown preset '{name_or_path}'; {hint}known presets: {', '.join(sorted(files))} "
        "(or a path to a .toml file)"
    )


def _exists(path: Path) -> bool:
    """Whether `path` names something; a name no path can be (too long, say) names nothing."""
    try:
        return path.exists()
    except (OSError, ValueError):
        return False


def _need_str(data: dict, key: str, source: str, default: str | None = None) -> str:
    v = data.get(key, default)
    if not isinstance(v, str) or (default is None and not v.strip()):
        raise BadInput(
            f"{source}: '{key}' must be a non-empty string; add e.g. {key} = \"...\" at the top of the file"
        )
    return v


def _toml(text: str, source: str) -> dict[str, Any]:
    """The preset's TOML as a table whose top-level keys are all preset keys; BadInput otherwise."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise BadInput(f"{source}: not valid TOML ({e}); fix the syntax at that line") from None
    except RecursionError:
        raise BadInput(
            f"{source}: nested too deeply to be a preset (a preset is a few tables of keys); fix the file"
        ) from None
    for key in data:
        if key not in PRESET_KEYS:
            if key in FIELDS:
                raise BadInput(
                    f"{source}: config key '{key}' at the top level; "
                    "move it under [base] or a [[variants]] entry"
                )
            raise unknown_key(key, source, PRESET_KEYS)
    return data


def _check_size(n_variants: int, sweep: dict[str, list], source: str, max_runs: int | None) -> None:
    """BadInput when the sweep makes more than `max_runs` runs (None: no limit)."""
    n_runs = n_variants * math.prod(len(vals) for vals in sweep.values())
    if max_runs is not None and n_runs > max_runs:
        raise BadInput(
            f"{source}: the sweep makes {n_runs:,} runs, more than the {max_runs:,} run without asking; "
            f"shorten its lists, or pass --yes to run them all"
        )


def parse(text: str, source: str, max_runs: int | None = MAX_RUNS) -> Preset:
    """Validate a preset's TOML text; `source` names it in error messages."""
    data = _toml(text, source)
    name = _need_str(data, "name", source)
    if not NAME_RE.match(name):
        raise BadInput(
            f'{source}: name = "{name}" is not allowed; '
            "use letters, digits, '-', '_' or '.', e.g. name = \"my-preset\""
        )
    title = _need_str(data, "title", source, default=name)
    description = _need_str(data, "description", source, default="")
    shows = _need_str(data, "shows", source, default=title)
    seeds = _need_str(data, "seeds", source, default="")
    views = data.get("views", ["loss", "accuracy"])
    if not isinstance(views, list) or any(v not in VIEW_NAMES for v in views):
        raise BadInput(
            f"{source}: views = {views!r} is not allowed; each view must be one of {', '.join(VIEW_NAMES)}"
        )
    base = data.get("base", {})
    if not isinstance(base, dict):
        raise BadInput(f"{source}: 'base' must be a table; write [base] then key = value lines")
    where = f"{source} [base]"
    for k, v in base.items():
        check_value(k, v, where)
    variants = _variants(data, source)
    sweep = _sweep(data, source)
    if sweep:
        _check_size(len(variants), sweep, source, max_runs)
        variants = _expand(variants, sweep)
    focus = _need_str(data, "focus", source, default="")
    if focus and focus not in [v.name for v in variants]:
        raise BadInput(
            f'{source}: focus = "{focus}" is not a variant; use one of {", ".join(v.name for v in variants)}'
        )
    batched = _need_str(data, "batched", source, default="auto")
    if batched not in ("auto", "off"):
        raise BadInput(f'{source}: batched = "{batched}" is not allowed; use "auto" (the default) or "off"')
    preset = Preset(
        name,
        title,
        description.strip(),
        shows,
        seeds,
        tuple(views),
        base,
        tuple(variants),
        source,
        sweep,
        focus,
        batched,
    )
    preset.configs()  # every variant resolves, or BadInput names the first bad one
    return preset


def _variants(data: dict, source: str) -> list[Variant]:
    raw = data.get("variants", [])
    if not isinstance(raw, list) or any(not isinstance(v, dict) for v in raw):
        raise BadInput(
            f"{source}: 'variants' must be an array of tables; "
            'write [[variants]] then name = "..." and overrides'
        )
    out, seen = [], set()
    for i, v in enumerate(raw, 1):
        v = dict(v)
        name = v.pop("name", None)
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise BadInput(
                f'{source}: variant #{i} needs a name of letters, digits and -_.=,+ (e.g. name = "lr=0.1")'
            )
        if name in seen:
            raise BadInput(f"{source}: two variants are named '{name}'; give each a different name")
        seen.add(name)
        for k, val in v.items():
            check_value(k, val, f"{source} variant '{name}'")
        out.append(Variant(name, v))
    return out or [Variant("default", {})]


def _sweep(data: dict, source: str) -> dict[str, list[Any]]:
    sweep = data.get("sweep", {})
    if not isinstance(sweep, dict):
        raise BadInput(f"{source}: 'sweep' must be a table of lists, e.g. [sweep] lr = [0.1, 0.01]")
    for k, vals in sweep.items():
        if not isinstance(vals, list) or not vals:
            raise BadInput(f"{source}: [sweep] {k} must be a non-empty list, e.g. {k} = [0.1, 0.01]")
        for val in vals:
            check_value(k, val, f"{source} [sweep]")
    return sweep


def _fmt(v: Any) -> str:
    if isinstance(v, list):
        return "x".join(str(x) for x in v) or "linear"
    return str(v)


def _expand(variants: list[Variant], sweep: dict[str, list[Any]]) -> list[Variant]:
    """The product of the variants and the sweep grid, named like 'adam,lr=0.01'."""
    keys = list(sweep)
    out = []
    for v in variants:
        for combo in itertools.product(*(sweep[k] for k in keys)):
            parts = [f"{k}={_fmt(x)}" for k, x in zip(keys, combo)]
            name = ",".join(([] if v.name == "default" else [v.name]) + parts)
            out.append(Variant(name, {**v.overrides, **dict(zip(keys, combo))}))
    return out
