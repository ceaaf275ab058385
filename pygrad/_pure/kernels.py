"""Elementwise kernels on NumPy arrays: the pure fallback of ``pygrad._native.kernels``.

Every function takes arrays that already have the result dtype (the op casts its
operands first) and returns a new array.  ``*_backward`` kernels compute an input's
gradient from the output gradient ``g`` in one expression; the compiled twins do it
in one pass with no temporaries.  Both backends must agree bit for bit on arithmetic
and to within rounding on transcendental functions.
"""
from __future__ import annotations

import numpy as np

# -- forward -------------------------------------------------------------------------------


def add(a, b):
    return np.add(a, b)


def sub(a, b):
    return np.subtract(a, b)


def mul(a, b):
    return np.multiply(a, b)


def div(a, b):
    return np.true_divide(a, b)


def neg(a):
    return np.negative(a)


def pow(a, b):  # noqa: A001 - the op's name
    return np.power(a, b)


def exp(a):
    return np.exp(a)


def log(a):
    return np.log(a)


def sqrt(a):
    return np.sqrt(a)


def sin(a):
    return np.sin(a)


def cos(a):
    return np.cos(a)


def tanh(a):
    return np.tanh(a)


def sigmoid(a):
    # 1 / (1 + exp(-a)), computed without overflow warnings for large negative a.
    with np.errstate(over="ignore"):
        return np.reciprocal(1 + np.exp(np.negative(a)))


def relu(a):
    return np.maximum(a, a.dtype.type(0))


def abs(a):  # noqa: A001
    return np.abs(a)


def reciprocal(a):
    return np.reciprocal(a)

# -- fused backward: the gradient of one input ---------------------------------------------


def mul_backward(g, other):
    """d(a*b)/da * g."""
    return np.multiply(g, other)


def div_backward_a(g, b):
    return np.true_divide(g, b)


def div_backward_b(g, a, b):
    """-g * a / (b*b)."""
    return np.negative(g) * a / (b * b)


def pow_backward(g, x, p):
    """g * p * x**(p-1), zero where p == 0 (as PyTorch)."""
    return np.where(p == 0, x.dtype.type(0), g * (p * np.power(x, p - 1)))


def pow_backward_exponent(g, result, base, exponent):
    """g * result * log(base), zero where base == 0 and exponent >= 0 (as PyTorch)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((base == 0) & (exponent >= 0), result.dtype.type(0), g * (result * np.log(base)))


def exp_backward(g, result):
    return np.multiply(g, result)


def log_backward(g, x):
    return np.true_divide(g, x)


def sqrt_backward(g, result):
    return np.true_divide(g, 2 * result)


def sin_backward(g, x):
    return np.multiply(g, np.cos(x))


def cos_backward(g, x):
    return np.multiply(g, np.negative(np.sin(x)))


def tanh_backward(g, result):
    return np.multiply(g, 1 - result * result)


def sigmoid_backward(g, result):
    return np.multiply(g, 1 - result) * result


def relu_backward(g, result):
    return np.where(result > 0, g, g.dtype.type(0))


def abs_backward(g, x):
    return np.multiply(g, np.sign(x))


def reciprocal_backward(g, result):
    return np.multiply(g, np.negative(result * result))

def copy(a):
    """A new C-ordered array with the values of ``a`` (a leaf's first gradient)."""
    return np.array(a, order="C", copy=True)

# -- accumulation -------------------------------------------------------------------------


def accumulate(dst, src):
    """dst += src in place (the engine's gradient accumulation)."""
    np.add(dst, src, out=dst)
    return dst
