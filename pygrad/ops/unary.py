"""Elementwise functions of one tensor.

Each backward has two paths: with grad mode off (plain ``backward()``) it calls the
fused ``*_backward`` kernel, one pass with no temporaries; when a graph of the
derivative is wanted (``create_graph=True``) it composes differentiable ops instead.
"""
from __future__ import annotations

import numpy as np

from .. import dtypes
from .._backend import kernels
from ..autograd.function import Function
from ..tensor import Tensor
from ._util import building_graph, float_dtype_of, wrap
from .piecewise_grads import Sgn, ThresholdBackward


def _float_array(x: Tensor) -> np.ndarray:
    """The data in the dtype a floating op computes in (integers become the default float)."""
    data = x._data
    if data.dtype.kind == "f":  # already floating: its own dtype
        return data
    return data.astype(float_dtype_of(x).numpy, copy=False)


def _as(array: np.ndarray, like: np.ndarray) -> np.ndarray:
    return array.astype(like.dtype, copy=False)


class Exp(Function):
    _backward_name = "ExpBackward0"

    @staticmethod
    def forward(ctx, x):
        y = wrap(kernels.exp(_float_array(x)))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        y, = ctx.saved_tensors
        if not building_graph():
            return wrap(kernels.exp_backward(g._data, y._data))
        return g * y


class Log(Function):
    _backward_name = "LogBackward0"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        with np.errstate(divide="ignore", invalid="ignore"):
            return wrap(kernels.log(_float_array(x)))

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        if not building_graph():
            with np.errstate(divide="ignore"):
                return wrap(kernels.log_backward(g._data, _as(x._data, g._data)))
        return g / x


class Sqrt(Function):
    _backward_name = "SqrtBackward0"

    @staticmethod
    def forward(ctx, x):
        with np.errstate(invalid="ignore"):
            y = wrap(kernels.sqrt(_float_array(x)))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        y, = ctx.saved_tensors
        if not building_graph():
            with np.errstate(divide="ignore"):
                return wrap(kernels.sqrt_backward(g._data, y._data))
        return g / (2 * y)


class Sin(Function):
    _backward_name = "SinBackward0"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return wrap(kernels.sin(_float_array(x)))

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        if not building_graph():
            return wrap(kernels.sin_backward(g._data, _as(x._data, g._data)))
        return g * x.cos()


class Cos(Function):
    _backward_name = "CosBackward0"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return wrap(kernels.cos(_float_array(x)))

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        if not building_graph():
            return wrap(kernels.cos_backward(g._data, _as(x._data, g._data)))
        return g * -x.sin()


class Tanh(Function):
    _backward_name = "TanhBackward0"

    @staticmethod
    def forward(ctx, x):
        y = wrap(kernels.tanh(_float_array(x)))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        y, = ctx.saved_tensors
        if not building_graph():
            return wrap(kernels.tanh_backward(g._data, y._data))
        return g * (1 - y * y)


class Sigmoid(Function):
    _backward_name = "SigmoidBackward0"

    @staticmethod
    def forward(ctx, x):
        y = wrap(kernels.sigmoid(_float_array(x)))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        y, = ctx.saved_tensors
        if not building_graph():
            return wrap(kernels.sigmoid_backward(g._data, y._data))
        return g * (1 - y) * y


class Relu(Function):
    _backward_name = "ReluBackward0"

    @staticmethod
    def forward(ctx, x):
        y = wrap(kernels.relu(x._data))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        y, = ctx.saved_tensors
        if not building_graph():
            return wrap(kernels.relu_backward(g._data, y._data))
        return ThresholdBackward.apply(g, y)


class Abs(Function):
    _backward_name = "AbsBackward0"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return wrap(kernels.abs(x._data))

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        if not building_graph():
            return wrap(kernels.abs_backward(g._data, x._data))
        return g * Sgn.apply(x)


class Reciprocal(Function):
    _backward_name = "ReciprocalBackward0"

    @staticmethod
    def forward(ctx, x):
        with np.errstate(divide="ignore"):
            y = wrap(kernels.reciprocal(_float_array(x)))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        y, = ctx.saved_tensors
        if not building_graph():
            return wrap(kernels.reciprocal_backward(g._data, y._data))
        return g * -(y * y)


class Rsqrt(Function):
    _backward_name = "RsqrtBackward0"

    @staticmethod
    def forward(ctx, x):
        with np.errstate(divide="ignore", invalid="ignore"):
            y = wrap(kernels.rsqrt(_float_array(x)))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        y, = ctx.saved_tensors
        if not building_graph():
            return wrap(kernels.rsqrt_backward(g._data, y._data))
        return g * (-0.5 * y * y * y)


class Log1p(Function):
    _backward_name = "Log1PBackward0"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        with np.errstate(divide="ignore", invalid="ignore"):
            return wrap(kernels.log1p(_float_array(x)))

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        if not building_graph():
            with np.errstate(divide="ignore"):
                return wrap(kernels.log1p_backward(g._data, _as(x._data, g._data)))
        return g / (x + 1)


class Expm1(Function):
    _backward_name = "Expm1Backward0"

    @staticmethod
    def forward(ctx, x):
        y = wrap(kernels.expm1(_float_array(x)))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        y, = ctx.saved_tensors
        if not building_graph():
            return wrap(kernels.expm1_backward(g._data, y._data))
        return g * (y + 1)


class Tan(Function):
    _backward_name = "TanBackward0"

    @staticmethod
    def forward(ctx, x):
        y = wrap(kernels.tan(_float_array(x)))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        y, = ctx.saved_tensors
        if not building_graph():
            return wrap(kernels.tan_backward(g._data, y._data))
        return g * (1 + y * y)


class Atan(Function):
    _backward_name = "AtanBackward0"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return wrap(kernels.atan(_float_array(x)))

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        if not building_graph():
            return wrap(kernels.atan_backward(g._data, _as(x._data, g._data)))
        return g / (1 + x * x)


class Erf(Function):
    _backward_name = "ErfBackward0"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return wrap(kernels.erf(_float_array(x)))

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        if not building_graph():
            return wrap(kernels.erf_backward(g._data, _as(x._data, g._data)))
        return g * (1.1283791670955126 * (-(x * x)).exp())


def _smooth(name: str, saves: str, composite):
    """A smooth elementwise op on the kernels ``name`` and ``name_backward``.

    ``saves`` is ``"self"`` when the derivative is written in the input, ``"result"`` when in the
    output; ``composite(g, saved)`` is the derivative as differentiable ops, for create_graph.
    """
    forward_kernel, backward_kernel = name, name + "_backward"

    def forward(ctx, x):
        with np.errstate(all="ignore"):
            y = wrap(getattr(kernels, forward_kernel)(_float_array(x)))
        ctx.save_for_backward(x if saves == "self" else y)
        return y

    def backward(ctx, g):
        s, = ctx.saved_tensors
        with np.errstate(all="ignore"):
            if not building_graph():
                return wrap(getattr(kernels, backward_kernel)(g._data, _as(s._data, g._data)))
            return composite(g, s)

    cls_name = name.title()
    return type(cls_name, (Function,), {"_backward_name": cls_name + "Backward0",
                                        "forward": staticmethod(forward), "backward": staticmethod(backward),
                                        "__module__": __name__})


_LN2, _LN10 = 0.6931471805599453, 2.302585092994046

Exp2 = _smooth("exp2", "result", lambda g, y: g * (y * _LN2))
Log2 = _smooth("log2", "self", lambda g, x: g / (x * _LN2))
Log10 = _smooth("log10", "self", lambda g, x: g / (x * _LN10))
Sinh = _smooth("sinh", "self", lambda g, x: g * x.cosh())
Cosh = _smooth("cosh", "self", lambda g, x: g * x.sinh())
Asin = _smooth("asin", "self", lambda g, x: g * (1 - x * x).rsqrt())
Acos = _smooth("acos", "self", lambda g, x: g * -(1 - x * x).rsqrt())
Asinh = _smooth("asinh", "self", lambda g, x: g * (x * x + 1).rsqrt())
Acosh = _smooth("acosh", "self", lambda g, x: g * (x * x - 1).rsqrt())
Atanh = _smooth("atanh", "self", lambda g, x: g / (1 - x * x))
Erfinv = _smooth("erfinv", "result", lambda g, y: g * (0.886226925452758 * (y * y).exp()))


class NanToNum(Function):
    _backward_name = "NanToNumBackward0"

    @staticmethod
    def forward(ctx, x, nan, posinf, neginf):
        ctx.save_for_backward(x)
        return wrap(kernels.nan_to_num(x._data, nan, posinf, neginf))

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        if not building_graph():
            return wrap(kernels.nan_to_num_backward(g._data, x._data)), None, None, None
        return g * wrap(kernels.nan_to_num_backward(np.ones((), g._data.dtype), x._data)), None, None, None


class _ZeroGradient(Function):
    """A piecewise-constant function: its gradient is zero wherever it is defined."""

    @staticmethod
    def backward(ctx, g):
        return wrap(np.zeros_like(g._data))


def _piecewise_constant(name: str, kernel_name: str, keep_integers: bool):
    def forward(ctx, x):
        if keep_integers and not x.dtype.is_floating_point:
            return wrap(x._data.copy())
        return wrap(getattr(kernels, kernel_name)(x._data))
    return type(name, (_ZeroGradient,), {"_backward_name": name + "Backward0",
                                          "forward": staticmethod(forward), "__module__": __name__})


Sign = _piecewise_constant("Sign", "sign", keep_integers=False)
Floor = _piecewise_constant("Floor", "floor", keep_integers=True)
Ceil = _piecewise_constant("Ceil", "ceil", keep_integers=True)
Round = _piecewise_constant("Round", "round", keep_integers=True)
Trunc = _piecewise_constant("Trunc", "trunc", keep_integers=True)


class RoundDecimals(Function):
    _backward_name = "RoundBackward1"

    @staticmethod
    def forward(ctx, x, decimals):
        return wrap(np.round(x._data, decimals))

    @staticmethod
    def backward(ctx, g):
        return wrap(np.zeros_like(g._data)), None


class Clone(Function):
    """A copy that keeps a dense tensor's strides (PyTorch's ``preserve_format``)."""

    _backward_name = "CloneBackward0"

    @staticmethod
    def forward(ctx, x):
        return wrap(np.array(x._data, copy=True))

    @staticmethod
    def backward(ctx, g):
        return g


class ContiguousClone(Clone):
    """A copy in C order (PyTorch's ``contiguous_format``), what ``contiguous()`` and a ``reshape``
    that cannot view make: the result views as any shape of the same size."""

    _backward_name = "CloneBackward0"

    @staticmethod
    def forward(ctx, x):
        return wrap(np.array(x._data, order="C", copy=True))


class ToCopy(Function):
    """A dtype conversion; the engine casts the gradient back to the input's dtype."""

    _backward_name = "ToCopyBackward0"

    @staticmethod
    def forward(ctx, x, dtype):
        return wrap(x._data.astype(dtype.numpy))

    @staticmethod
    def backward(ctx, g):
        return g, None


def exp(x: Tensor) -> Tensor:
    return Exp.apply(x)


def log(x: Tensor) -> Tensor:
    return Log.apply(x)


def sqrt(x: Tensor) -> Tensor:
    return Sqrt.apply(x)


def sin(x: Tensor) -> Tensor:
    return Sin.apply(x)


def cos(x: Tensor) -> Tensor:
    return Cos.apply(x)


def tanh(x: Tensor) -> Tensor:
    return Tanh.apply(x)


def sigmoid(x: Tensor) -> Tensor:
    return Sigmoid.apply(x)


def relu(x: Tensor) -> Tensor:
    return Relu.apply(x)


def abs(x: Tensor) -> Tensor:  # noqa: A001
    return Abs.apply(x)


def reciprocal(x: Tensor) -> Tensor:
    return Reciprocal.apply(x)


def clone(x: Tensor, contiguous: bool = False) -> Tensor:
    return (ContiguousClone if contiguous else Clone).apply(x)


def to_dtype(x: Tensor, dtype: dtypes.dtype) -> Tensor:
    return ToCopy.apply(x, dtype)


def rsqrt(x: Tensor) -> Tensor:
    return Rsqrt.apply(x)


def log1p(x: Tensor) -> Tensor:
    return Log1p.apply(x)


def expm1(x: Tensor) -> Tensor:
    return Expm1.apply(x)


def tan(x: Tensor) -> Tensor:
    return Tan.apply(x)


def atan(x: Tensor) -> Tensor:
    return Atan.apply(x)


def erf(x: Tensor) -> Tensor:
    return Erf.apply(x)


def sign(x: Tensor) -> Tensor:
    if x.dtype is dtypes.bool:
        return x.clone()
    return Sign.apply(x)


def floor(x: Tensor) -> Tensor:
    return Floor.apply(x)


def ceil(x: Tensor) -> Tensor:
    return Ceil.apply(x)


def round(x: Tensor, *, decimals: int = 0) -> Tensor:  # noqa: A001
    if decimals:
        return RoundDecimals.apply(x, decimals)
    return Round.apply(x)


def trunc(x: Tensor) -> Tensor:
    return Trunc.apply(x)


def square(x: Tensor) -> Tensor:
    """``x * x`` as PyTorch computes it: ``pow(x, 2)`` (PowBackward0)."""
    if x.dtype is dtypes.bool:
        return x.to(dtypes.int64) ** 2
    return x ** 2


def exp2(x: Tensor) -> Tensor:
    return Exp2.apply(x)


def log2(x: Tensor) -> Tensor:
    return Log2.apply(x)


def log10(x: Tensor) -> Tensor:
    return Log10.apply(x)


def sinh(x: Tensor) -> Tensor:
    return Sinh.apply(x)


def cosh(x: Tensor) -> Tensor:
    return Cosh.apply(x)


def asin(x: Tensor) -> Tensor:
    return Asin.apply(x)


def acos(x: Tensor) -> Tensor:
    return Acos.apply(x)


def asinh(x: Tensor) -> Tensor:
    return Asinh.apply(x)


def acosh(x: Tensor) -> Tensor:
    return Acosh.apply(x)


def atanh(x: Tensor) -> Tensor:
    return Atanh.apply(x)


def erfinv(x: Tensor) -> Tensor:
    return Erfinv.apply(x)


def nan_to_num(x: Tensor, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None) -> Tensor:
    """NaN -> ``nan``, +-inf -> ``posinf``/``neginf`` (by default the dtype's largest finite values)."""
    if not x.dtype.is_floating_point:
        return x.clone()
    return NanToNum.apply(x, nan, posinf, neginf)
