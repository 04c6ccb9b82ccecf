"""How an lr range test is read: its smoothed loss, the lr it suggests, and the ticks of its lr axis.

One home, torch-free: the range test writes the suggestion into summary.json from these functions
(core/probes/rangetest.py), and the lab's view, `dltui show` and the exported figure draw the same smoothed
curve and the same marker from them.

**Smoothing.** Each step's loss is that of one minibatch: noisy (the polynomial's batches of 50 range from 20
to 60 at the same weights). As fastai's lr_find and torch-lr-finder do, the loss is smoothed with a debiased
exponential moving average (core/rules/smoothing.py, factor SMOOTHING). Run forwards only, an EMA lags about
a/(1-a) steps behind the curve (9 steps, a quarter of a decade at 200 steps over six decades), which shifts
every feature of the curve towards larger rates. The suggestion is read once the sweep has ended, so the
EMA is run forwards and then backwards over that: a symmetric smoothing without lag. (The range test's stop
rule, which cannot wait for later steps, keeps the causal EMA.)

**The rule** (SUGGESTION_RULE, shown by `dltui lrfind --help`): the suggested lr is where the smoothed loss
falls fastest per decade of lr, among the steps before its lowest point (read on the raw loss's running
median of MEDIAN steps, which a spread-out spike cannot move: full-batch digits catapult at lr ~1 to a loss
of 10 and recover below where they started; the EMA smears that spike over the whole trough and the lowest
smoothed point then flipped between 0.03 and 10 with the float path): Smith's (2017) "steepest descent"
and torch-lr-finder's suggestion. The first SKIP_START steps are left out, as torch-lr-finder does: the
debiased EMA has seen too few steps there to smooth them (the polynomial's first batches, 55 then 22, would
read as the steepest fall). Its lowest point is reported too, but it is not a rate to train at: the
loss there has just stopped falling, a step from where it blows up (fastai's old rule was that point / 10).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from .smoothing import ema

SMOOTHING = 0.9  # the EMA's factor, forwards and backwards
MEDIAN = 9  # the lowest point is read on the loss's running median of this many steps, not on the EMA
SKIP_START = 10  # steps left out at the start (at most a quarter of them), as torch-lr-finder does
SUGGESTION_RULE = (
    "suggested lr: where the loss, smoothed by a debiased EMA (0.9, run forwards then backwards), falls "
    "fastest per decade of lr, after the first 10 steps and before its lowest point (the lowest running "
    "median of 9 steps of the raw loss)"
)


def smoothed(losses: Sequence[float | None]) -> list[float | None]:
    """The loss smoothed both ways: the debiased EMA forwards, then the same EMA backwards over that result.
    Missing or non-finite values stay missing (and are skipped by both passes)."""
    forwards = ema(losses, SMOOTHING)
    return ema(forwards[::-1], SMOOTHING)[::-1]


def _median(losses: Sequence[float | None], width: int) -> list[float | None]:
    """Each step's loss as the median of the `width` steps around it: a lucky or unlucky batch (or one step of
    a catapult) never makes the lowest point alone."""
    h, out = width // 2, []
    for i, v in enumerate(losses):
        near = sorted(x for x in losses[max(0, i - h) : i + h + 1] if x is not None and math.isfinite(x))
        out.append(near[len(near) // 2] if near and v is not None else None)
    return out


def finite_prefix(lrs: Sequence[float], losses: Sequence[float | None]) -> int:
    """How many steps count: up to the last finite loss (a blow-up to inf or NaN ends the curve)."""
    last = [i for i, v in enumerate(losses) if v is not None and math.isfinite(v)]
    return last[-1] + 1 if last else 0


def read(lrs: Sequence[float], losses: Sequence[float | None]) -> dict[str, Any]:
    """`suggested_lr` (the rule above), `min_loss_lr` (the lowest point of the loss's running median), both
    None when fewer than 3 steps have a finite loss or the loss never falls."""
    out: dict[str, Any] = {"suggested_lr": None, "min_loss_lr": None}
    n = finite_prefix(lrs, losses)
    if sum(1 for v in losses[:n] if v is not None and math.isfinite(v)) < 3:
        return out
    smooth = smoothed(losses[:n])
    kept = [i for i in range(n) if smooth[i] is not None and lrs[i] > 0]
    if not kept:
        return out
    calm = _median(losses[:n], MEDIAN)
    low = min(kept, key=lambda i: calm[i] if calm[i] is not None else math.inf)
    out["min_loss_lr"] = lrs[low]
    slopes = []
    skip = min(SKIP_START, len(kept) // 4)
    for a, i, b in zip(kept[skip:], kept[skip + 1 :], kept[skip + 2 :]):
        if b > low:
            break
        span = math.log10(lrs[b]) - math.log10(lrs[a])
        if span > 0:
            slopes.append(((smooth[b] - smooth[a]) / span, i))
    steepest = min(slopes, default=None)
    if steepest is not None and steepest[0] < 0:
        out["suggested_lr"] = lrs[steepest[1]]
    return out


def lr_ticks(lo: float, hi: float, most: int = 6) -> tuple[list[float], list[str]]:
    """Ticks for an lr axis drawn in log10 units from 10**lo to 10**hi: whole powers of ten, every k-th decade
    so that there are at most `most` (at least 2), labelled as plain powers of ten (lr_label). A range
    inside one decade gets its two ends."""
    first, last = math.ceil(lo - 1e-9), math.floor(hi + 1e-9)
    if last <= first:
        return [lo, hi], [lr_label(10**lo), lr_label(10**hi)]
    step = max(1, math.ceil((last - first) / (max(2, most) - 1)))
    ticks = [float(e) for e in range(first, last + 1) if e % step == 0] or [float(first)]
    return ticks, [lr_label(10**t) for t in ticks]


def lr_label(lr: float) -> str:
    """An lr as a tick or a marker reads it: 0.01 ... 100 plainly, else 1e-05, 3e-04, 2e+03; one or two
    significant digits (3e-04, 0.25, 1.5)."""
    if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
        return "?"
    text = f"{lr:.2g}"
    if 1e-2 <= lr < 1e3:
        return text if "e" not in text else f"{float(text):g}"
    mantissa, exponent = f"{lr:.1e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent):+03d}"
