"""Activation functions: softmax and log_softmax along a dim, and the elementwise nonlinearities.

``pygrad.nn.functional`` re-exports these.  As everywhere, each backward has a fused kernel
path and, for ``create_graph=True``, a composite of differentiable ops so that higher-order
derivatives work.
"""
from __future__ import annotations

import warnings

import numpy as np

from .. import dtypes
from .._backend import kernels
from ..autograd.function import Function
from ..tensor import Tensor
from ._util import building_graph, normalize_dim, wrap
from .arith import where
from .unary import erf, relu, sigmoid, tanh

__all__ = ["softmax", "log_softmax", "gelu", "leaky_relu", "elu", "softplus", "silu",
           "relu", "sigmoid", "tanh"]


def _require_float(x: Tensor, kernel: str) -> None:
    if not x.dtype.is_floating_point:
        raise NotImplementedError(f'"{kernel}" not implemented for \'{x.dtype._tensor_type[:-6]}\'')


class Softmax(Function):
    _backward_name = "SoftmaxBackward0"

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        with np.errstate(invalid="ignore", over="ignore"):
            y = wrap(kernels.softmax(x._data, dim) if x._data.size else x._data.copy())
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        y, = ctx.saved_tensors
        if not building_graph():
            return wrap(kernels.softmax_backward(g._data, y._data, ctx.dim)), None
        return y * (g - (g * y).sum(ctx.dim, keepdim=True)), None


class LogSoftmax(Function):
    _backward_name = "LogSoftmaxBackward0"

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            y = wrap(kernels.log_softmax(x._data, dim) if x._data.size else x._data.copy())
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        y, = ctx.saved_tensors
        if not building_graph():
            return wrap(kernels.log_softmax_backward(g._data, y._data, ctx.dim)), None
        return g - y.exp() * g.sum(ctx.dim, keepdim=True), None


class Gelu(Function):
    _backward_name = "GeluBackward0"

    @staticmethod
    def forward(ctx, x, approximate):
        ctx.save_for_backward(x)
        ctx.approximate = approximate
        return wrap(kernels.gelu_tanh(x._data) if approximate == "tanh" else kernels.gelu(x._data))

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        tanh_form = ctx.approximate == "tanh"
        if not building_graph():
            kernel = kernels.gelu_tanh_backward if tanh_form else kernels.gelu_backward
            return wrap(kernel(g._data, x._data)), None
        if tanh_form:
            k = 0.7978845608028654
            t = tanh(k * (x + 0.044715 * x * x * x))
            return g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * (k * (1 + 3 * 0.044715 * x * x))), None
        cdf = 0.5 * (1 + erf(x * 0.7071067811865476))
        pdf = (-0.5 * x * x).exp() * 0.3989422804014327
        return g * (cdf + x * pdf), None


class LeakyRelu(Function):
    _backward_name = "LeakyReluBackward0"

    @staticmethod
    def forward(ctx, x, slope):
        ctx.save_for_backward(x)
        ctx.slope = slope
        return wrap(kernels.leaky_relu(x._data, slope))

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        if not building_graph():
            return wrap(kernels.leaky_relu_backward(g._data, x._data, ctx.slope)), None
        return where(x > 0, g, g * ctx.slope), None


class Elu(Function):
    _backward_name = "EluBackward0"

    @staticmethod
    def forward(ctx, x, alpha):
        y = wrap(kernels.elu(x._data, alpha))
        ctx.save_for_backward(x, y)
        ctx.alpha = alpha
        return y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        if not building_graph():
            return wrap(kernels.elu_backward(g._data, x._data, y._data, ctx.alpha)), None
        return where(x > 0, g, g * (ctx.alpha * x.exp())), None


class Softplus(Function):
    _backward_name = "SoftplusBackward0"

    @staticmethod
    def forward(ctx, x, beta, threshold):
        ctx.save_for_backward(x)
        ctx.beta, ctx.threshold = beta, threshold
        return wrap(kernels.softplus(x._data, beta, threshold))

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        if not building_graph():
            return wrap(kernels.softplus_backward(g._data, x._data, ctx.beta, ctx.threshold)), None, None
        bx = x * ctx.beta
        return where(bx > ctx.threshold, g, g * sigmoid(bx)), None, None


class Silu(Function):
    _backward_name = "SiluBackward0"

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return wrap(kernels.silu(x._data))

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        if not building_graph():
            return wrap(kernels.silu_backward(g._data, x._data))
        s = sigmoid(x)
        return g * (s * (1 + x * (1 - s)))


def _softmax_dim(x: Tensor, dim, name: str) -> int:
    if dim is None:
        # F.softmax without dim: PyTorch's legacy implicit choice, with its warning.
        warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to "
                      "include dim=X as an argument.", UserWarning, stacklevel=3)
        dim = 0 if x.ndim in (0, 1, 3) else 1
    return normalize_dim(dim, x.ndim)


def _softmax_input(x: Tensor, dim: int, dtype, kernel: str) -> Tensor:
    if dtype is not None:
        x = x.to(dtypes.as_dtype(dtype))
    last = dim == max(x.ndim - 1, 0)
    _require_float(x, f"{kernel}_lastdim_kernel_impl" if last else f"{kernel}_kernel_impl")
    return x


def softmax(x: Tensor, dim=None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim``, computed after subtracting the max (no overflow)."""
    dim = _softmax_dim(x, dim, "softmax")
    x = _softmax_input(x, dim, dtype, "softmax")
    return Softmax.apply(x, dim if x.ndim else None)


def log_softmax(x: Tensor, dim=None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """x - logsumexp(x) along ``dim``."""
    dim = _softmax_dim(x, dim, "log_softmax")
    x = _softmax_input(x, dim, dtype, "log_softmax")
    return LogSoftmax.apply(x, dim if x.ndim else None)


_NO_DIM = object()


def _required_dim_and_dtype(dim, dtype, name: str) -> None:
    """``torch.softmax(x, dim, dtype)`` takes no implicit dim, and a dtype third (F.softmax's third
    argument is ``_stacklevel``)."""
    if dim is _NO_DIM:
        raise TypeError(f'{name}() missing 1 required positional arguments: "dim"')
    if dim is None:
        raise TypeError(f"{name}(): argument 'dim' must be int, not NoneType")
    if dtype is not None and not isinstance(dtype, dtypes.dtype):
        raise TypeError(f"{name}(): argument 'dtype' (position 3) must be torch.dtype, not {type(dtype).__name__}")


def torch_softmax(x: Tensor, dim=_NO_DIM, dtype=None) -> Tensor:
    """``torch.softmax``: ``softmax`` with ``dim`` required and ``dtype`` allowed positionally."""
    _required_dim_and_dtype(dim, dtype, "softmax")
    return softmax(x, dim, dtype=dtype)


def torch_log_softmax(x: Tensor, dim=_NO_DIM, dtype=None) -> Tensor:
    """``torch.log_softmax``: ``log_softmax`` with ``dim`` required and ``dtype`` allowed positionally."""
    _required_dim_and_dtype(dim, dtype, "log_softmax")
    return log_softmax(x, dim, dtype=dtype)


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")
    _require_float(x, "GeluKernelImpl")
    return Gelu.apply(x, approximate)


def leaky_relu(x: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    _require_float(x, "leaky_relu_cpu")
    out = LeakyRelu.apply(x, float(negative_slope))
    return _maybe_inplace(x, out, inplace)


def elu(x: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    _require_float(x, "elu_cpu")
    return _maybe_inplace(x, Elu.apply(x, float(alpha)), inplace)


def softplus(x: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    _require_float(x, "softplus_cpu")
    return Softplus.apply(x, float(beta), float(threshold))


def silu(x: Tensor, inplace: bool = False) -> Tensor:
    _require_float(x, "silu_cpu")
    return _maybe_inplace(x, Silu.apply(x), inplace)


def _maybe_inplace(x: Tensor, out: Tensor, inplace: bool) -> Tensor:
    if not inplace:
        return out
    return x.copy_(out)
