"""seed vs data_seed: a seed sweep over the same data set (polynomial, toy2d); by default the data follow
seed."""

from __future__ import annotations

import pytest
import torch

from dltui.core.data import polynomial, toy2d
from dltui.core.rules.errors import BadInput
from dltui.core.spec.config import RunConfig, check_value


def poly(**kw):
    return polynomial.build(RunConfig(task="polynomial", hidden=(), **kw), "cpu", None)


def test_by_default_the_polynomial_is_drawn_from_seed_as_the_notebook_did():
    assert poly(seed=2020).extras == poly(seed=2020, data_seed=2020).extras
    assert [round(c, 2) for c in poly(seed=2020).extras["target_coefficients"]] == [6.19, -4.8, 7.71, -2.04]
    assert poly(seed=1).extras != poly(seed=2).extras


def test_a_fixed_data_seed_keeps_the_polynomial_and_seed_changes_the_order():
    a, b = poly(seed=1, data_seed=2020), poly(seed=2, data_seed=2020)
    assert a.extras == b.extras == poly(seed=2020).extras
    assert torch.equal(a.train_x, b.train_x)
    assert not torch.equal(a.shuffler.order(200), b.shuffler.order(200))


def test_a_fixed_data_seed_keeps_the_toy2d_points():
    a = toy2d.build(RunConfig(task="toy2d", seed=1, data_seed=7, loss="cross_entropy"), "cpu", None)
    b = toy2d.build(RunConfig(task="toy2d", seed=2, data_seed=7, loss="cross_entropy"), "cpu", None)
    c = toy2d.build(RunConfig(task="toy2d", seed=7, loss="cross_entropy"), "cpu", None)
    assert torch.equal(a.train_x, b.train_x) and torch.equal(a.train_x, c.train_x)


def test_a_bad_data_seed_names_what_is_allowed():
    with pytest.raises(BadInput, match=r"data_seed.*>= -1"):
        check_value("data_seed", -2, "--set data_seed=-2")
