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
