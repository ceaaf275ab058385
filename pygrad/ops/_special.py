"""Special functions on NumPy arrays (NumPy has none of them): log-gamma, digamma, trigamma.

Computed in float64 and rounded to the input's dtype.  ``lgamma`` uses ``math.lgamma``
(correctly rounded enough, and PyTorch's poles: +inf at 0 and the negative integers);
digamma and trigamma shift the argument up by the recurrence, use the asymptotic series
there and the reflection formula for negative arguments, accurate to a few ulp in float64.
"""
from __future__ import annotations

import math

import numpy as np


def _lgamma_of(v: float) -> float:
    """``math.lgamma`` with PyTorch's values where it raises: +inf at the poles (0 and the negative
    integers), at +-inf and where the result overflows."""
    if math.isinf(v) or (v <= 0 and v == math.floor(v)):
        return math.inf
    try:
        return math.lgamma(v)
    except OverflowError:
        return math.inf


_lgamma = np.vectorize(_lgamma_of, otypes=[np.float64])


def lgamma(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a)
    x = a.astype(np.float64)
    with np.errstate(all="ignore"):
        out = _lgamma(x) if x.size else x.copy()
    return np.where(np.isnan(x), np.nan, out).astype(a.dtype, copy=False)


# Bernoulli terms B_2k / (2k) of the asymptotic series of digamma.
_DIGAMMA_SERIES = (1 / 12, -1 / 120, 1 / 252, -1 / 240, 1 / 132, -691 / 32760, 1 / 12)
# B_2k of trigamma's series (terms B_2k / x^(2k+1)).
_TRIGAMMA_SERIES = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6)
_SHIFT = 10.0  # the series is used for x >= 10


def _shift_up(x: np.ndarray, term):
    """``x`` raised by whole steps to at least _SHIFT, and the sum of ``term(x)`` over the steps
    (psi(x) = psi(x + 1) - 1/x, psi'(x) = psi'(x + 1) + 1/x**2)."""
    total = np.zeros_like(x)
    while True:
        small = x < _SHIFT
        if not small.any():
            return x, total
        total = np.where(small, total + term(np.where(small, x, 1.0)), total)
        x = np.where(small, x + 1, x)


def _positive_digamma(x: np.ndarray) -> np.ndarray:
    x, shift = _shift_up(x, lambda v: -1 / v)
    inv2 = 1 / (x * x)
    series, power = np.zeros_like(x), inv2
    for c in _DIGAMMA_SERIES:
        series = series + c * power
        power = power * inv2
    return shift + np.log(x) - 0.5 / x - series


def digamma(a: np.ndarray) -> np.ndarray:
    """psi(x) = d log(Gamma(x)) / dx; -inf at 0 and nan at the negative integers (as PyTorch)."""
    a = np.asarray(a)
    x = a.astype(np.float64)
    with np.errstate(all="ignore"):
        negative = x < 0.5
        reflected = np.where(negative, 1 - x, x)
        out = _positive_digamma(np.where(np.isfinite(reflected), reflected, 1.0))
        out = np.where(negative, out - np.pi / np.tan(np.pi * x), out)
        out = np.where(x == np.inf, np.inf, out)
        out = np.where((x < 0) & (x == np.floor(x)), np.nan, out)
        out = np.where(x == 0, -np.copysign(np.inf, x), out)
        out = np.where(np.isnan(x) | (x == -np.inf), np.nan, out)
    return out.astype(a.dtype, copy=False)


def _positive_trigamma(x: np.ndarray) -> np.ndarray:
    x, shift = _shift_up(x, lambda v: 1 / (v * v))
    inv = 1 / x
    inv2 = inv * inv
    series, power = np.zeros_like(x), inv2 * inv
    for c in _TRIGAMMA_SERIES:
        series = series + c * power
        power = power * inv2
    return shift + inv + 0.5 * inv2 + series


def trigamma(a: np.ndarray) -> np.ndarray:
    """psi'(x), the derivative of digamma; inf at 0 and the negative integers."""
    a = np.asarray(a)
    x = a.astype(np.float64)
    with np.errstate(all="ignore"):
        negative = x < 0.5
        reflected = np.where(negative, 1 - x, x)
        out = _positive_trigamma(np.where(np.isfinite(reflected), reflected, 1.0))
        s = np.sin(np.pi * x)
        out = np.where(negative, -out + (np.pi * np.pi) / (s * s), out)
        out = np.where((x <= 0) & (x == np.floor(x)), np.inf, out)
        out = np.where(x == np.inf, 0.0, out)
        out = np.where(np.isnan(x) | (x == -np.inf), np.nan, out)
    return out.astype(a.dtype, copy=False)
