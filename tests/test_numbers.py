"""What counts as a number (core/rules/numbers.py): the one rule every reader of a record or a config uses.
JSON's true and false are bools, and Python counts a bool as an int: no reader may take one for a loss or
an epoch."""

from __future__ import annotations

import pytest

from dltui.core.rules.numbers import is_finite, is_number, is_whole


@pytest.mark.parametrize("v", [0, 3, -2, 0.5, 1e300, float("nan"), float("inf")])
def test_ints_and_floats_are_numbers(v):
    assert is_number(v)


@pytest.mark.parametrize("v", [True, False, None, "1", [1], {"a": 1}])
def test_a_bool_a_string_or_a_container_is_no_number(v):
    assert not is_number(v) and not is_whole(v) and not is_finite(v)


def test_whole_means_an_int_not_a_float_that_looks_whole():
    assert is_whole(0) and is_whole(-7) and is_whole(10**400)
    assert not is_whole(3.0) and not is_whole(0.5)


def test_finite_leaves_out_nan_and_infinity_and_takes_any_int():
    assert is_finite(0.25) and is_finite(-3) and is_finite(10**400)  # too large for a float, still finite
    assert not is_finite(float("nan")) and not is_finite(float("inf")) and not is_finite(float("-inf"))
