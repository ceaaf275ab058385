"""Elementwise kernels on NumPy arrays: the pure fallback of ``pygrad._native.kernels``.

Every function takes arrays that already have the result dtype (the op casts its
operands first) and returns a new array.  ``*_backward`` kernels compute an input's
gradient from the output gradient ``g`` in one expression; the compiled twins do it
in one pass with no temporaries.  Both backends must agree bit for bit on arithmetic
and to within rounding on transcendental functions.
"""
from __future__ import annotations

import math

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
    # x ** 0.5 is sqrt(x), as in PyTorch (-0 stays -0, -inf gives nan) and in the compiled
    # kernel; NumPy's power agrees only from 2.2 on, so it is said here for every version.
    if (b.size == 1 and b.ndim <= a.ndim and a.dtype == b.dtype and a.dtype.kind == "f"
            and b.item() == 0.5):
        return np.sqrt(a)
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


def rsqrt(a):
    return np.reciprocal(np.sqrt(a))


def log1p(a):
    return np.log1p(a)


def expm1(a):
    # NumPy's float32 expm1 is off by one bit for about 7% of inputs (expm1(4.) prints 53.5982,
    # PyTorch 53.5981); computed in float64 and rounded, it agrees with PyTorch on 99.9%.
    if a.dtype == np.float32:
        return np.expm1(a, dtype=np.float64).astype(np.float32)
    return np.expm1(a)


def tan(a):
    return np.tan(a)


def atan(a):
    return np.arctan(a)


def sign(a):
    """np.sign, with 0 as the sign of NaN (as PyTorch)."""
    out = np.sign(a)
    if out.dtype.kind == "f":
        out = np.where(out != out, out.dtype.type(0), out)
    return out


def floor(a):
    return np.floor(a)


def ceil(a):
    return np.ceil(a)


def round(a):  # noqa: A001 - half to even, as PyTorch
    return np.round(a)


def trunc(a):
    return np.trunc(a)


def exp2(a):
    return np.exp2(a)


def log2(a):
    return np.log2(a)


def log10(a):
    return np.log10(a)


def sinh(a):
    return np.sinh(a)


def cosh(a):
    return np.cosh(a)


def asin(a):
    return np.arcsin(a)


def acos(a):
    return np.arccos(a)


def asinh(a):
    return np.arcsinh(a)


def acosh(a):
    return np.arccosh(a)


def atanh(a):
    return np.arctanh(a)


def erfinv(a):
    """The inverse of erf: Giles' single-precision approximation polished by Newton steps in double."""
    x = np.asarray(a, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return _erfinv(x).astype(a.dtype, copy=False)


def _erfinv(x):
    w = -np.log1p(-x * x)
    small = w < 5.0
    ws, wl = w - 2.5, np.sqrt(np.where(small, 5.0, w)) - 3.0
    ps = 2.81022636e-08
    for c in (3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087, -0.00125372503,
              -0.00417768164, 0.246640727, 1.50140941):
        ps = c + ps * ws
    pl = -0.000200214257
    for c in (0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613,
              0.00943887047, 1.00167406, 2.83297682):
        pl = c + pl * wl
    y = np.where(small, ps, pl) * x
    finite = np.isfinite(y)
    for _ in range(2):
        step = (erf(np.where(finite, y, 0.0)) - x) / (1.1283791670955126 * np.exp(-np.where(finite, y, 0.0) ** 2))
        y = np.where(finite, y - step, y)
    return np.where(x == 1, np.inf, np.where(x == -1, -np.inf, y))


def hypot(a, b):
    return np.hypot(a, b)


def logaddexp(a, b):
    return np.logaddexp(a, b)


def xlogy(a, b):
    """a * log(b), 0 where a == 0 (unless b is nan), as PyTorch."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = a * np.log(b)
    return np.where((a == 0) & ~np.isnan(b), a.dtype.type(0), out)


def fmod(a, b):
    """C's fmod: the remainder takes the dividend's sign."""
    return np.fmod(a, b)


def nan_to_num(a, nan, posinf, neginf):
    return np.nan_to_num(a, nan=nan, posinf=posinf, neginf=neginf)


def lerp(a, b, w):
    """a + w * (b - a), computed from the nearer end as PyTorch does (exact at w = 0 and 1)."""
    d = b - a
    return np.where(np.abs(w) < 0.5, a + w * d, b - d * (1 - w))


def floor_divide(a, b):
    return np.floor_divide(a, b)


def remainder(a, b):
    """Python's modulo (the divisor's sign), computed like PyTorch: fmod, then shifted by b when
    the signs differ, so ``-2 % 2`` is -0. as in PyTorch."""
    mod = np.fmod(a, b)
    return np.where((mod != 0) & ((b < 0) != (mod < 0)), mod + b, mod)


def maximum(a, b):
    return np.maximum(a, b)


def minimum(a, b):
    return np.minimum(a, b)


def clamp(a, lo, hi):
    """``min(max(a, lo), hi)``; ``lo``/``hi`` are arrays or None."""
    if lo is not None:
        a = np.maximum(a, lo)
    if hi is not None:
        a = np.minimum(a, hi)
    return a


# -- activations ---------------------------------------------------------------------------

_SQRT1_2 = 0.7071067811865476
_SQRT_2_OVER_PI = 0.7978845608028654


_erf_scalar = np.vectorize(math.erf, otypes=[np.float64])


def erf(a):
    # math.erf is correctly rounded in double; float32 results are rounded from it.
    return _erf_scalar(a).astype(a.dtype, copy=False) if a.size else a.copy()


def gelu(a):
    """x * Phi(x), with the exact normal CDF."""
    return a * (0.5 * (1 + erf(a * a.dtype.type(_SQRT1_2))))


def gelu_tanh(a):
    """The tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))."""
    t = a.dtype.type
    return t(0.5) * a * (1 + np.tanh(t(_SQRT_2_OVER_PI) * (a + t(0.044715) * a * a * a)))


def leaky_relu(a, slope):
    return np.where(a > 0, a, a * a.dtype.type(slope))


def elu(a, alpha):
    with np.errstate(over="ignore"):
        return np.where(a > 0, a, a.dtype.type(alpha) * np.expm1(a))


def softplus(a, beta, threshold):
    """log(1 + exp(beta x)) / beta, and x itself where beta x > threshold (as PyTorch)."""
    t = a.dtype.type
    bx = a * t(beta)
    with np.errstate(over="ignore"):
        return np.where(bx > threshold, a, np.log1p(np.exp(bx)) / t(beta))


def silu(a):
    return a * sigmoid(a)


def softmax(a, axis):
    if a.size == 0:  # np.max has no identity to reduce an empty axis with
        return a.copy()
    shifted = a - np.max(a, axis=axis, keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax(a, axis):
    if a.size == 0:
        return a.copy()
    shifted = a - np.maximum.reduce(a, axis=axis, keepdims=True)
    return shifted - np.log(np.add.reduce(np.exp(shifted), axis=axis, keepdims=True))


def log_softmax_backward(g, result, axis):
    """The gradient of ``log_softmax`` along ``axis`` from its ``result``: ``g - softmax * sum(g)``."""
    return g - np.exp(result) * np.add.reduce(g, axis=axis, keepdims=True)


# -- the negative log likelihood of class indices --------------------------------------------
# NLL's common case (``nll_loss`` and ``cross_entropy``): a 2-d input, one int64 class index per
# row, every one a class and none ignored, no class weights, the mean or the sum.


def nll_rows(x, target, ignore_index, mean):
    """The mean (``mean``) or the sum over the rows of a 2-d ``x`` of ``-x[i, target[i]]``, a 0-d
    array; None when that is not the case at hand (no rows, an int64 ``target`` that is not one
    class of ``x`` per row, ``ignore_index`` among the targets): ``nll_forward`` handles it."""
    if x.ndim != 2 or target.dtype != np.int64 or target.shape != x.shape[:1] or not x.shape[0]:
        return None
    n, classes = x.shape
    if not np.maximum.reduce(target.view(np.uint64)) < classes:  # (a negative one wraps around, above)
        return None
    if 0 <= ignore_index < classes and (target == ignore_index).any():
        return None
    out = np.add.reduce(np.negative(x[np.arange(n), target]))
    return np.asarray(out / x.dtype.type(n) if mean else out)


def nll_rows_backward(g, x, target, total_weight):
    """The gradient of ``nll_rows`` from the 0-d ``g``: ``-g`` (divided by ``total_weight``, the
    number of rows, for the mean; None for the sum) at each row's target class, 0 elsewhere."""
    coef = np.negative(g)
    if total_weight is not None:
        coef = coef / total_weight
    out = np.zeros(x.shape, g.dtype)
    out[np.arange(x.shape[0]), target] = coef
    return out

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
    """g except where result <= 0 (a NaN result passes g, as PyTorch)."""
    return np.where(result <= 0, g.dtype.type(0), g)


def abs_backward(g, x):
    """g times the sign of x, with 0 as the sign of NaN (as PyTorch)."""
    return np.multiply(g, np.subtract(x > 0, x < 0, dtype=g.dtype))


def reciprocal_backward(g, result):
    return np.multiply(g, np.negative(result * result))

def _empty_buffer(shape, dtype):
    """An uninitialized C-ordered array (a fused pass fills it)."""
    return np.empty(shape, dtype)


def copy(a):
    """A new C-ordered array with the values of ``a`` (a leaf's first gradient)."""
    return np.array(a, order="C", copy=True)


def hypot_backward(g, a, result):
    """The gradient of ``a`` in hypot(a, b): g * a / hypot(a, b)."""
    return np.multiply(g, a) / result


def logaddexp_backward(g, a, b):
    """The gradient of ``a`` in log(exp(a) + exp(b)): g / (1 + exp(b - a))."""
    with np.errstate(over="ignore"):
        return np.true_divide(g, 1 + np.exp(b - a))


def xlogy_backward_x(g, x, y):
    """g * log(y) where x != 0, else 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x != 0, g * np.log(y), g.dtype.type(0))


def xlogy_backward_y(g, x, y):
    return np.multiply(g, x) / y


def fmod_backward_b(g, a, b):
    """-g * trunc(a / b)."""
    return np.negative(g) * np.trunc(a / b)


def clamp_backward(g, x, lo, hi):
    """g where lo <= x <= hi (the bounds themselves pass the gradient), else 0."""
    keep = np.ones(x.shape, bool) if lo is None else x >= lo
    if hi is not None:
        keep = keep & (x <= hi)
    return np.where(keep, g, g.dtype.type(0))


def remainder_backward_b(g, a, b):
    """-g * floor(a / b)."""
    return np.negative(g) * np.floor_divide(a, b)


# -- accumulation -------------------------------------------------------------------------


def accumulate(dst, src):
    """dst += src in place (the engine's gradient accumulation)."""
    np.add(dst, src, out=dst)
    return dst


# -- optimizer updates ----------------------------------------------------------------------


def add_scaled_(dst, src, alpha):
    """``dst.add_(src, alpha=alpha)`` in place: ``dst + alpha * src``, the product rounded first
    (an SGD step is ``add_scaled_(param, grad, -lr)``)."""
    np.add(dst, alpha * src, out=dst, casting="same_kind")


def lerp_(dst, end, weight, scratch=None):
    """``dst.lerp_(end, weight)`` in place with PyTorch's two-sided formula (``scratch``: a
    buffer like ``dst`` to compute in)."""
    if abs(weight) < 0.5:
        step = np.subtract(end, dst, out=scratch, casting="same_kind")
        np.multiply(step, weight, out=step, casting="same_kind")
        np.add(dst, step, out=dst, casting="same_kind")
    else:
        np.copyto(dst, end - (end - dst) * (1 - weight), casting="same_kind")


def adam_update(param, grad, exp_avg, exp_avg_sq, weight, beta2, bias_correction2_sqrt, eps, step_size,
                max_exp_avg_sq=None):
    """One Adam step in place, each product in PyTorch's order (its single-tensor code):
    ``exp_avg.lerp_(grad, weight)``, ``exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)``,
    then ``param.addcdiv_(exp_avg, denom, value=-step_size)`` with ``denom`` the square root of
    ``exp_avg_sq`` (with ``max_exp_avg_sq``, AMSGrad: of its running maximum, kept there)
    divided by ``bias_correction2_sqrt``, plus ``eps``."""
    scratch, denom = np.empty_like(param), np.empty_like(param)
    lerp_(exp_avg, grad, weight, scratch)
    np.multiply(exp_avg_sq, beta2, out=exp_avg_sq, casting="same_kind")
    np.multiply(grad, 1 - beta2, out=scratch, casting="same_kind")
    np.multiply(scratch, grad, out=scratch, casting="same_kind")
    np.add(exp_avg_sq, scratch, out=exp_avg_sq, casting="same_kind")
    if max_exp_avg_sq is not None:
        np.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        np.sqrt(max_exp_avg_sq, out=denom)
    else:
        np.sqrt(exp_avg_sq, out=denom)
    np.divide(denom, bias_correction2_sqrt, out=denom, casting="same_kind")
    np.add(denom, eps, out=denom, casting="same_kind")
    np.multiply(exp_avg, -step_size, out=scratch, casting="same_kind")
    np.divide(scratch, denom, out=scratch)
    np.add(param, scratch, out=param, casting="same_kind")
