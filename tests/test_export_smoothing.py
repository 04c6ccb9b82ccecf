"""The smoothing does not lie: causal, debiased, and it leaves gaps and constants alone."""

from __future__ import annotations

import math
import random

import pytest

from dltui.core.rules.errors import BadInput
from dltui.core.rules.smoothing import check_alpha, ema


@pytest.mark.parametrize("a", [0.0, 0.5, 0.9, 0.99])
def test_first_value_is_the_first_raw_value(a):
    assert ema([3.7, 1.0, 2.0], a)[0] == pytest.approx(3.7)


@pytest.mark.parametrize("a", [0.3, 0.9, 0.999])
def test_a_constant_stays_constant(a):
    assert ema([2.5] * 50, a) == pytest.approx([2.5] * 50)


def test_causal_the_past_never_moves_when_the_future_changes():
    rng = random.Random(0)
    ys = [rng.uniform(0, 10) for _ in range(40)]
    changed = ys[:20] + [100.0 * y for y in ys[20:]]
    assert ema(ys, 0.8)[:20] == ema(changed, 0.8)[:20]
    assert ema(ys, 0.8)[20] != ema(changed, 0.8)[20]


def test_debiased_against_the_formula():
    ys, a = [4.0, 2.0, 1.0, 0.5], 0.6
    s, expected = 0.0, []
    for t, y in enumerate(ys, start=1):
        s = a * s + (1 - a) * y
        expected.append(s / (1 - a**t))
    assert ema(ys, a) == pytest.approx(expected)
    naive_first = (1 - a) * ys[0]  # what an EMA started at 0 would show: a dip that is not in the data
    assert ema(ys, a)[0] != pytest.approx(naive_first)


def test_zero_is_off():
    ys = [1.0, 5.0, -2.0]
    assert ema(ys, 0.0) == ys


def test_gaps_and_non_finite_values_stay_gaps_and_are_skipped():
    out = ema([1.0, None, float("nan"), 1.0], 0.5)
    assert out[1] is None and out[2] is None
    assert out[0] == pytest.approx(1.0) and out[3] == pytest.approx(1.0)
    assert all(v is None or math.isfinite(v) for v in out)


@pytest.mark.parametrize("a", [-0.1, 1.0, 1.5, float("nan")])
def test_bad_factor_is_bad_input(a):
    with pytest.raises(BadInput, match=r"\[0, 1\)"):
        check_alpha(a)
