"""The flat, frozen, fully resolved configuration of one run, and its validation.

Every key a preset or `--set` may use is a field of `RunConfig`, with a one-line help text and the
values it allows. Validation turns any bad value into a `BadInput` whose message names the key, the
value, what is allowed and how to fix it. No torch here: `dltui list` and `--help` stay fast.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import MISSING, asdict, dataclass, field, fields, replace
from typing import Any

from ..data import REGISTRY
from ..rules.errors import BadInput
from ..rules.numbers import is_number, is_whole
from .probes import EVERY_ALLOWED, check_every

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - 3.10
    import tomli as tomllib  # type: ignore[no-redef]

TASKS = tuple(REGISTRY)  # one source: a task is a name with a data builder
MODELS = ("mlp", "cnn")
ACTIVATIONS = ("relu", "tanh", "sigmoid", "identity", "gelu", "leaky_relu")
OPTIMIZERS = ("sgd", "adam")
LOSSES = ("cross_entropy", "smooth_l1", "mse")
INITS = ("default", "zeros", "kaiming", "xavier")
ORDERS = ("shuffled", "stratified")
DEVICES = ("auto", "cpu", "cuda", "mps")
DATASETS_2D = ("gmm", "swiss_roll", "peaks")


def _f(default: Any, help: str, kind: str, **rules: Any) -> Any:
    """A config field: its default, a one-line help, its kind and the rules its value must meet."""
    meta = {"help": help, "kind": kind, **rules}
    if isinstance(default, (list, tuple)):
        return field(default=tuple(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class RunConfig:
    """Everything one training run needs, flat and resolved."""

    task: str = _f("mnist", "the data set and problem", "choice", choices=TASKS)
    model: str = _f("mlp", "the network family: mlp (fully connected) or cnn", "choice", choices=MODELS)
    hidden: tuple[int, ...] = _f(
        (300,), "hidden layer widths of the MLP, e.g. [20,20]; [] is a linear model", "int_list", min=1
    )
    activation: str = _f("relu", "nonlinearity between layers", "choice", choices=ACTIVATIONS)
    dropout: float = _f(0.0, "dropout probability on hidden layers", "float", min=0.0, max_excl=1.0)
    init: str = _f(
        "default",
        "weight initialisation: torch's default, all zeros, kaiming (He, for ReLU) or xavier (Glorot); "
        "biases 0 for the last two",
        "choice",
        choices=INITS,
    )
    order: str = _f(
        "shuffled",
        "sample order each epoch: shuffled, or stratified (sorted by label)",
        "choice",
        choices=ORDERS,
    )
    optimizer: str = _f("sgd", "the optimizer", "choice", choices=OPTIMIZERS)
    lr: float = _f(0.1, "learning rate", "float", min_excl=0.0, max=1e6)  # larger overflows float32 updates
    momentum: float = _f(0.0, "SGD momentum", "float", min=0.0, max_excl=1.0)
    weight_decay: float = _f(0.0, "L2 weight decay", "float", min=0.0)
    batch_size: int | str = _f(64, 'samples per update, or "full" for full-batch gradient descent', "batch")
    epochs: int = _f(10, "passes over the training set", "int", min=1)
    loss: str = _f("cross_entropy", "the loss function", "choice", choices=LOSSES)
    seed: int = _f(
        0, "random seed for data order and initialisation", "int", min=0, max=2**64 - 1
    )  # torch's range
    data_seed: int = _f(
        -1,
        "seed that draws a generated data set (polynomial, toy2d); -1: the same as seed. "
        "Fix it to sweep seed over the same data",
        "int",
        min=-1,
        max=2**64 - 1,
    )
    device: str = _f("auto", "where to train: auto picks cuda, then mps, then cpu", "choice", choices=DEVICES)
    val_fraction: float = _f(
        0.0, "share of the training set held out for validation", "float", min=0.0, max_excl=1.0
    )
    early_stop_patience: int = _f(
        0, "stop after this many epochs without a better validation score (0: never)", "int", min=0
    )
    normalize: bool = _f(False, "standardise inputs with the training set's mean and std", "bool")
    train_size: int = _f(0, "use only the first N training samples (0: all)", "int", min=0)
    n_samples: int = _f(200, "number of generated samples (polynomial, toy2d)", "int", min=1)
    dataset: str = _f("gmm", "toy2d data set: gmm, swiss_roll or peaks", "choice", choices=DATASETS_2D)
    record_epochs: tuple[int, ...] = _f(
        (), "epochs at which to record a snapshot of the model (e.g. the learned function)", "int_list", min=1
    )
    probes: tuple[str, ...] = _f(
        (), 'extra per-epoch measurements, e.g. ["class_acc", "hidden_similarity"]', "str_list"
    )
    probe_every: tuple[tuple[str, int | str], ...] = _f(
        (),
        "when a probe measures, e.g. {sharpness = 5} (every 5 epochs, dense early), "
        '{update_ratio = "off"}, {sharpness = "10%"} (of the training time); unset: its own rule',
        "probe_every",
    )
    checkpoint: bool = _f(True, "save a checkpoint each epoch so the run can be resumed", "bool")
    amp: bool = _f(False, "mixed precision on CUDA (bf16 autocast)", "bool")
    compile: bool = _f(False, "torch.compile the model", "bool")

    @property
    def data_rng_seed(self) -> int:
        """The seed a generated data set is drawn from: data_seed, or seed when data_seed is -1."""
        return self.seed if self.data_seed < 0 else self.data_seed

    def to_dict(self) -> dict[str, Any]:
        """The config as JSON-friendly values (tuples become lists, probe_every a table)."""
        out = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}
        out["probe_every"] = dict(self.probe_every)
        return out

    def with_overrides(self, values: dict[str, Any], where: str = "--set") -> RunConfig:
        """A copy with `values` applied, each checked."""
        return replace(self, **{k: check_value(k, v, where) for k, v in values.items()})


FIELDS = {f.name: f for f in fields(RunConfig)}
KEYS = tuple(FIELDS)


def default_of(key: str) -> Any:
    f = FIELDS[key]
    return f.default if f.default is not MISSING else None


def help_of(key: str) -> str:
    return FIELDS[key].metadata["help"]


def allowed_of(key: str) -> str:
    """A short phrase saying what a key allows."""
    m = FIELDS[key].metadata
    kind = m["kind"]
    if kind == "choice":
        return "one of " + ", ".join(m["choices"])
    if kind == "batch":
        return 'a whole number >= 1 or "full"'
    if kind == "bool":
        return "true or false"
    if kind == "int_list":
        return "a list of whole numbers >= 1, e.g. [20,20]"
    if kind == "str_list":
        return 'a list of names, e.g. ["a","b"]'
    if kind == "probe_every":
        return EVERY_ALLOWED
    bounds = []
    if "min" in m:
        bounds.append(f">= {m['min']}")
    if "min_excl" in m:
        bounds.append(f"> {m['min_excl']}")
    if "max_excl" in m:
        bounds.append(f"< {m['max_excl']}")
    if "max" in m:
        bounds.append(f"<= {m['max']:g}" if isinstance(m["max"], float) else f"<= {m['max']}")
    noun = "a whole number" if kind == "int" else "a number"
    return noun + (" " + " and ".join(bounds) if bounds else "")


def _example(key: str) -> str:
    if key == "probe_every":
        return "{sharpness=5}"
    d = default_of(key)
    if isinstance(d, tuple):
        return "[" + ",".join(f'"{x}"' if isinstance(x, str) else str(x) for x in d) + "]" if d else "[]"
    if isinstance(d, bool):
        return "true" if d else "false"
    if isinstance(d, str):
        return d
    return str(d)


def _bad(key: str, value: Any, where: str, why: str = "") -> BadInput:
    shown = _show(value)
    why = f" ({why})" if why else ""
    return BadInput(
        f"{where}: {key} = {shown} is not allowed{why}: {key} must be {allowed_of(key)}; "
        f"fix it, e.g. {key}={_example(key)}"
    )


def _show(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_show(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_show(v)}" for k, v in value.items()) + "}"
    return str(value)


def unknown_key(key: str, where: str, known: tuple[str, ...] = KEYS) -> BadInput:
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return BadInput(f"{where}: unknown key '{key}'; {hint}known keys: {', '.join(known)}")


def check_value(key: str, value: Any, where: str) -> Any:
    """Check one value against its key's rules; return it in the config's own type."""
    if key not in FIELDS:
        raise unknown_key(key, where)
    m = FIELDS[key].metadata
    kind = m["kind"]
    if kind == "choice":
        if not isinstance(value, str) or value not in m["choices"]:
            raise _bad(key, value, where)
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise _bad(key, value, where)
        return value
    if kind == "batch":
        if value == "full":
            return value
        if not is_whole(value) or value < 1:
            raise _bad(key, value, where)
        return value
    if kind in ("int", "float"):
        if not is_number(value):
            raise _bad(key, value, where)
        if kind == "int":
            if isinstance(value, float):
                if not value.is_integer():
                    raise _bad(key, value, where, "not a whole number")
                value = int(value)
        else:
            value = float(value)
            if not math.isfinite(value):
                raise _bad(key, value, where, "not finite")
        if "min" in m and value < m["min"]:
            raise _bad(key, value, where)
        if "min_excl" in m and value <= m["min_excl"]:
            raise _bad(key, value, where)
        if "max_excl" in m and value >= m["max_excl"]:
            raise _bad(key, value, where)
        if "max" in m and value > m["max"]:
            raise _bad(key, value, where)
        return value
    if kind == "int_list":
        if not isinstance(value, (list, tuple)) or any(not is_whole(v) or v < m.get("min", 0) for v in value):
            raise _bad(key, value, where)
        return tuple(value)
    if kind == "str_list":
        if not isinstance(value, (list, tuple)) or any(not isinstance(v, str) for v in value):
            raise _bad(key, value, where)
        return tuple(value)
    if kind == "probe_every":
        try:
            return check_every(value)
        except ValueError as e:
            raise _bad(key, value, where, str(e)) from None
    raise AssertionError(f"unhandled kind {kind}")  # pragma: no cover


def parse_set(item: str) -> tuple[str, Any]:
    """Parse one `--set KEY=VALUE`. VALUE is read as TOML (0.5, [20,20], true, "x"), else as a bare word."""
    if "=" not in item:
        raise BadInput(f"--set {item}: expected KEY=VALUE, e.g. --set lr=0.5; keys: {', '.join(KEYS)}")
    key, raw = item.split("=", 1)
    key, raw = key.strip(), raw.strip()
    if key not in FIELDS:
        raise unknown_key(key, f"--set {item}")
    if raw == "":
        raise BadInput(
            f"--set {item}: no value given; {key} must be {allowed_of(key)}, e.g. --set {key}={_example(key)}"
        )
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    except RecursionError:  # nested thousands of levels deep: no config value is
        raise BadInput(
            f"--set {key}=...: the value is nested too deeply to be a config value; "
            f"{key} must be {allowed_of(key)}"
        ) from None
    check_value(key, value, f"--set {item}")
    return key, value


def parse_sets(items: list[str] | None, epochs: int | None = None) -> dict[str, Any]:
    """All `--set` items (later wins), and `--epochs N` as `--set epochs=N`."""
    out: dict[str, Any] = {}
    for item in items or []:
        k, v = parse_set(item)
        out[k] = v
    if epochs is not None:
        out["epochs"] = check_value("epochs", epochs, "--epochs")
    return out


def build_config(layers: list[tuple[str, dict[str, Any]]]) -> RunConfig:
    """Apply layers of overrides in order (base, variant, --set); each is named for error messages."""
    cfg = RunConfig()
    for where, values in layers:
        cfg = cfg.with_overrides(values, where)
    return cfg


def from_dict(data: dict[str, Any], where: str = "config.json") -> RunConfig:
    """A config read back from a run's config.json."""
    return build_config([(where, {k: v for k, v in data.items() if k in FIELDS})])
