"""The one table of probes and instruments: what each measures, which view draws it, whether a report has its
figure. The trainer (core.train.hooks), the presets' views (core.spec.views), the report (core.export.writer),
the lab and `dltui show` (tui.viewkit) and the benchmark read it; none keeps a list of its own.

The words, as the code uses them:
- a **probe** measures during training: a class in core/probes/ (named here as "module:Class", so that naming
  one costs no import and no torch), made by the trainer when a run's `probes` list, its task or the
  defaults ask for it. It adds values to the epoch's metrics record, snapshots of a kind, values to the
  summary.
- a **view** draws one panel of runs: a drawer in tui/views/ registered under a name a preset's `views` may
  list (core.spec.views.VIEW_NAMES); some draw plain metrics (loss), some what a probe measured.
- an **instrument** is a probe a user switches on (`probes = ["sharpness"]`) that brings its own view: the lab
  and `dltui show` add that view to the preset's, and show it once the run has measured something; where
  it has one, the report adds its figure.

Torch-free and import-free: the lowest room that every reader can import.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProbeSpec:
    """One probe: where it lives, what it writes, who draws it."""

    probe: str  # "module:Class" of the probe (core/probes/)
    records: tuple[str, ...] = ()  # keys it adds to the epoch's metrics record
    snapshot: str | None = None  # the kind of the snapshots it emits, if any
    summary: tuple[str, ...] = ()  # keys it adds to summary.json
    view: str | None = None  # the view that draws what it measured (a name in core.spec.views.VIEW_NAMES)
    title: str = ""  # the view's title (the panel's name in the lab)
    figure: str | None = None  # "module:function" of its report figure, f(run, x) -> Figure or None
    instrument: bool = False  # switched on by a user, with its own view (and figure): see the docstring above
    reading: str = ""  # an instrument's line on the lab's `?` screen: how to read its view
    budgeted: bool = False  # holds its cost within a share of the training time, which probe_every may set


_HERE = "dltui.core.probes"
_FIGURES = "dltui.core.export.probefigures"

# Every probe by its name in a config's `probes` list, in this order (the report's figures follow it).
PROBES: dict[str, ProbeSpec] = {
    "poly_function": ProbeSpec(
        f"{_HERE}.defaults:PolyFunction",
        snapshot="function",
        summary=("target_coefficients", "target_bias", "learned_coefficients", "learned_bias"),
        view="function",
        title="learned vs target",
        figure=f"{_FIGURES}:function_figure",
    ),
    "grad_norm": ProbeSpec(
        f"{_HERE}.defaults:GradNorm",
        records=("grad_norm",),
        view="grad_norm",
        title="gradient norm per layer",
    ),
    "regions": ProbeSpec(
        f"{_HERE}.regions:Regions", snapshot="regions", view="regions", title="decision regions"
    ),
    "layer_grad_norms": ProbeSpec(  # the epoch's mean instead of grad_norm's last step, under the same key
        f"{_HERE}.gradients:LayerGradNorms",
        records=("grad_norm",),
        view="grad_norm",
        title="gradient norm per layer",
    ),
    "class_acc": ProbeSpec(
        f"{_HERE}.classes:ClassAcc",
        records=("class_acc", "class_acc_trace"),
        summary=("final_class_acc",),
        view="class_acc",
        title="per-class test accuracy",
    ),
    "hidden_similarity": ProbeSpec(
        f"{_HERE}.classes:HiddenSimilarity",
        records=("hidden_similarity",),
        summary=("final_hidden_similarity",),
        view="hidden_similarity",
        title="hidden-unit similarity",
    ),
    "sharpness": ProbeSpec(
        f"{_HERE}.instruments:Sharpness",
        records=("sharpness",),
        summary=("final_sharpness",),
        view="sharpness",
        title="sharpness vs 2/lr",
        figure=f"{_FIGURES}:sharpness_figure",
        instrument=True,
        reading="sharpness: top Hessian eigenvalue; GD is unstable above 2/lr (dotted), "
        "full batch hovers there",
        budgeted=True,
    ),
    "update_ratio": ProbeSpec(
        f"{_HERE}.instruments:UpdateRatio",
        records=("update_ratio",),
        view="update_ratio",
        title="update/weight ratio per layer",
        instrument=True,
        reading="update_ratio: log10 ‖lr·update‖/‖W‖ per layer: ≈ -3 healthy, ≪ -3 frozen, ≳ -1 thrashed",
    ),
    "dead_units": ProbeSpec(
        f"{_HERE}.instruments:DeadUnits",
        records=("dead_units",),
        view="dead_units",
        title="dead or saturated units per layer",
        instrument=True,
        reading="dead_units: share of units never active (ReLU) or saturated (sigmoid, tanh) per layer",
    ),
    "confusion": ProbeSpec(
        f"{_HERE}.instruments:Confusion",
        snapshot="confusion",
        summary=("confusion",),
        view="confusion",
        title="confusion matrix",
        figure=f"{_FIGURES}:confusion_figure",
        instrument=True,
        reading="confusion: % of each true class (row) predicted as each class (column); "
        "bright column: it eats",
    ),
}
DEFAULT_PROBES = ("grad_norm",)  # every run gets these, whatever its config says

INSTRUMENTS = tuple(name for name, p in PROBES.items() if p.instrument)  # their views are named as they are
PROBE_VIEWS = tuple(
    dict.fromkeys(p.view for p in PROBES.values() if p.view)
)  # views that draw a probe's data


def titles() -> dict[str, str]:
    """view name -> its title, for the views that draw a probe's data."""
    return {p.view: p.title for p in PROBES.values() if p.view}


# -- when a probe measures: the config's `probe_every` ------------------------------------------------------
# A table from probe name to one of:
#   N (a whole number >= 1)  every N epochs: at epoch 0 (the model as initialised), at epochs 1, 2, 4, 8, ...
#                            below N (dense early, where the curves move fastest), at every N-th epoch and at
#                            the last: the same epochs on any machine, however busy
#   "off"                    never: the probe is not made, even where the task or the defaults ask for it
#   "P%" (0 < P <= 100)      within P% of the training time (a probe with a budget only: sharpness)
# A probe not in the table keeps its own rule: every epoch, or for sharpness a 4% budget (a side view).
OFF = "off"
EVERY_ALLOWED = (
    'a table of probe names, each to a number of epochs >= 1, "off", or a share of the training time '
    'such as "10%" (' + ", ".join(n for n, p in PROBES.items() if p.budgeted) + " only)"
)


def check_every(value: object) -> tuple[tuple[str, int | str], ...]:
    """`probe_every` as the config holds it: ((probe, setting), ...) sorted by name. ValueError(why) on a
    bad one: an unknown probe, a setting that is none of the three forms, a budget for a probe without one."""
    if not isinstance(value, dict):
        raise ValueError("not a table")
    out = []
    for name, setting in value.items():
        if name not in PROBES:
            raise ValueError(f"unknown probe '{name}'; known probes: {', '.join(sorted(PROBES))}")
        out.append((name, _check_setting(name, setting)))
    return tuple(sorted(out))


def _check_setting(name: str, setting: object) -> int | str:
    if isinstance(setting, bool):
        raise ValueError(f"{name} = {str(setting).lower()} is not a setting")
    if isinstance(setting, float) and setting.is_integer():
        setting = int(setting)
    if isinstance(setting, int):
        if setting < 1:
            raise ValueError(f"{name} = {setting}: every how many epochs must be >= 1")
        return setting
    if setting == OFF:
        return OFF
    if isinstance(setting, str) and setting.endswith("%"):
        if not PROBES[name].budgeted:
            raise ValueError(f'{name} has no time budget; give it a number of epochs or "off"')
        if budget_share(setting) is not None:
            return setting
    shown = f'"{setting}"' if isinstance(setting, str) else str(setting)
    raise ValueError(f'{name} = {shown} is none of a number of epochs, "off" or a share such as "10%"')


def budget_share(setting: object) -> float | None:
    """The share of the training time in a "P%" setting (0 < P <= 100), else None."""
    if not isinstance(setting, str) or not setting.endswith("%"):
        return None
    try:
        share = float(setting[:-1]) / 100
    except ValueError:
        return None
    return share if 0 < share <= 1 else None


def setting_of(every: object, name: str) -> int | str | None:
    """A probe's setting in a config's probe_every ((probe, setting) pairs or a table); None: its own
    rule."""
    table = every if isinstance(every, dict) else dict(every or ())
    return table.get(name)


def on_schedule(epoch: int, every: int, last: int) -> bool:
    """Whether a probe set to `every` N epochs measures at `epoch` of a run of `last` epochs: epoch 0, the
    powers of two below N, the multiples of N, the last."""
    if epoch == 0 or epoch == last or epoch % every == 0:
        return True
    return epoch < every and epoch & (epoch - 1) == 0


def measurements(every: int, last: int) -> int:
    """How many times a probe set to `every` N epochs measures in a run of `last` epochs (epoch 0 too)."""
    return sum(on_schedule(e, every, last) for e in range(last + 1))
