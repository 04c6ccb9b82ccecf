"""Config validation and `--set` parsing: every kind of bad value is refused with a useful line."""

from __future__ import annotations

import dataclasses

import pytest

from dltui.core.rules.errors import BadInput
from dltui.core.spec import presets
from dltui.core.spec.config import RunConfig, build_config, check_value, parse_set, parse_sets


@pytest.mark.parametrize(
    "item, key, value",
    [
        ("lr=0.5", "lr", 0.5),
        ("batch_size=full", "batch_size", "full"),
        ("batch_size=32", "batch_size", 32),
        ("hidden=[20,20]", "hidden", [20, 20]),
        ("hidden=[]", "hidden", []),
        ("optimizer=adam", "optimizer", "adam"),
        ("normalize=true", "normalize", True),
        ("epochs=3", "epochs", 3),
        ("lr = 1e-3", "lr", 0.001),
    ],
)
def test_parse_set_reads_values_as_a_user_types_them(item, key, value):
    assert parse_set(item) == (key, value)


def test_epochs_option_is_short_for_set_epochs_and_later_sets_win():
    assert parse_sets(["lr=0.1", "lr=0.2"], epochs=7) == {"lr": 0.2, "epochs": 7}


@pytest.mark.parametrize(
    "item, fragment",
    [
        ("lr=abc", "lr must be a number > 0.0"),
        ("lr=0", "lr must be a number > 0.0"),
        ("lr=-1", "lr = -1"),
        ("batch_size=0", 'batch_size must be a whole number >= 1 or "full"'),
        ("batch_size=half", '"half"'),
        ("epochs=0", "epochs must be a whole number >= 1"),
        ("epochs=2.5", "not a whole number"),
        ("dropout=1.0", "dropout must be a number >= 0.0 and < 1.0"),
        ("dropout=-0.1", "dropout"),
        ("optimizer=rmsprop", "one of sgd, adam"),
        ("task=imagenet", "one of polynomial, mnist"),
        ("activation=swish", "one of relu, tanh"),
        ("hidden=[10,0]", "a list of whole numbers >= 1"),
        ("hidden=10", "a list of whole numbers"),
        ("normalize=yes", "true or false"),
        ("lr", "expected KEY=VALUE"),
        ("lr=", "no value given"),
    ],
)
def test_bad_values_are_refused_with_what_is_allowed(item, fragment):
    with pytest.raises(BadInput) as e:
        parse_set(item)
    msg = str(e.value)
    assert fragment in msg
    assert "\n" not in msg


def test_unknown_key_suggests_the_nearest_known_one():
    with pytest.raises(BadInput, match=r"unknown key 'lrr'; did you mean 'lr'\?"):
        parse_set("lrr=0.1")


def test_config_is_frozen_and_resolved_in_layers():
    cfg = build_config(
        [("base", {"lr": 0.1, "hidden": [10]}), ("variant", {"lr": 0.5}), ("--set", {"epochs": 3})]
    )
    assert (cfg.lr, cfg.hidden, cfg.epochs) == (0.5, (10,), 3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.lr = 1.0  # type: ignore[misc]
    assert cfg.to_dict()["hidden"] == [10]


def test_int_accepted_for_float_and_whole_float_for_int():
    assert check_value("lr", 1, "x") == 1.0 and isinstance(check_value("lr", 1, "x"), float)
    assert check_value("epochs", 5.0, "x") == 5


PRESET = """
name = "mine"
title = "Mine"
[base]
task = "polynomial"
hidden = []
loss = "smooth_l1"
epochs = 2
[[variants]]
name = "a"
lr = 0.1
[[variants]]
name = "b"
lr = 0.01
"""


def test_preset_variants_and_set_overrides_every_variant():
    p = presets.parse(PRESET, "mine.toml")
    cfgs = dict(p.configs({"lr": 0.5}))
    assert set(cfgs) == {"a", "b"}
    assert all(c.lr == 0.5 and c.epochs == 2 for c in cfgs.values())
    assert dict(p.configs())["b"].lr == 0.01


def test_sweep_makes_the_product_of_variants_and_grid():
    text = (
        PRESET.replace('[[variants]]\nname = "b"\nlr = 0.01\n', "")
        + '[sweep]\nlr = [0.1, 0.2]\noptimizer = ["sgd", "adam"]\n'
    )
    p = presets.parse(text, "mine.toml")
    names = [v.name for v in p.variants]
    assert names == [
        "a,lr=0.1,optimizer=sgd",
        "a,lr=0.1,optimizer=adam",
        "a,lr=0.2,optimizer=sgd",
        "a,lr=0.2,optimizer=adam",
    ]
    assert dict(p.configs())["a,lr=0.2,optimizer=adam"].optimizer == "adam"


@pytest.mark.parametrize(
    "text, fragment",
    [
        (PRESET.replace("epochs = 2", "epochs = 0"), "mine.toml [base]: epochs = 0"),
        (PRESET.replace("lr = 0.01", 'lr = "fast"'), "mine.toml variant 'b': lr = \"fast\""),
        (PRESET.replace("epochs = 2", "epoch = 2"), "did you mean 'epochs'"),
        (PRESET.replace("[base]", "[base"), "not valid TOML"),
        (PRESET.replace('name = "b"', 'name = "a"'), "two variants are named 'a'"),
        ("lr = 0.1\n" + PRESET, "move it under [base]"),
        (PRESET.replace('name = "mine"', 'name = "../x"'), 'name = "../x" is not allowed'),
    ],
)
def test_bad_preset_files_name_the_file_and_the_key(text, fragment):
    with pytest.raises(BadInput) as e:
        presets.parse(text, "mine.toml")
    assert fragment in str(e.value)


def test_every_shipped_preset_is_valid_and_listed():
    names = [p.name for p in presets.load_all()]
    assert "polynomial" in names
    for p in presets.load_all():
        assert p.title and p.shows and p.description
        assert p.configs()  # every variant resolves


def test_unknown_preset_lists_the_known_ones():
    with pytest.raises(BadInput, match="unknown preset 'polynomal'; did you mean 'polynomial'"):
        presets.load("polynomal")


def test_defaults_are_valid_configs():
    cfg = RunConfig()
    for k, v in cfg.to_dict().items():
        check_value(k, v, "defaults")
