"""The gradients of piecewise-linear functions (relu, leaky_relu, abs) as differentiable ops.

Under ``create_graph`` such a gradient depends on the input only through a mask, so its
derivative with respect to the input is zero; as in PyTorch it is still a gradient that
requires grad, and a later backward fills ``.grad`` with zeros (not a missing gradient).
The masks follow PyTorch at NaN: relu passes the gradient where the result is NaN, abs's
sign of NaN is 0.
"""
from __future__ import annotations

import numpy as np

from .._errstate import quietly
from .._backend import kernels
from ..autograd.forward_ad import zero_jvp
from ..autograd.function import Function
from ._util import wrap


def sgn(data: np.ndarray) -> np.ndarray:
    """-1, 0 or 1 in the array's dtype; 0 for NaN (PyTorch's sgn, unlike NumPy's sign)."""
    return np.subtract(data > 0, data < 0, dtype=data.dtype)


def leaky_relu_backward(grad: np.ndarray, x: np.ndarray, slope: float) -> np.ndarray:
    return np.where(x > 0, grad, grad * grad.dtype.type(slope))


def _zeros_like(t):
    return wrap(np.zeros(t._data.shape, t._data.dtype))


class ThresholdBackward(Function):
    """relu's gradient: ``grad`` except where ``result <= 0``."""

    _backward_name = "ThresholdBackwardBackward0"

    @staticmethod
    @quietly
    def forward(ctx, grad, result):
        ctx.save_for_backward(result)
        return wrap(kernels.relu_backward(grad._data, result._data.astype(grad._data.dtype, copy=False)))

    @staticmethod
    def backward(ctx, gg):
        result, = ctx.saved_tensors
        need_grad, need_result = ctx.needs_input_grad
        return (ThresholdBackward.apply(gg, result) if need_grad else None,
                _zeros_like(result) if need_result else None)

    @staticmethod
    def jvp(ctx, t_grad, _):
        return None if t_grad is None else ThresholdBackward.apply(t_grad, ctx._fw_args[1])


class LeakyReluBackward(Function):
    """leaky_relu's gradient: ``grad`` where ``x > 0``, else ``grad * slope``."""

    _backward_name = "LeakyReluBackwardBackward0"

    @staticmethod
    @quietly
    def forward(ctx, grad, x, slope):
        ctx.save_for_backward(x)
        ctx.slope = slope
        return wrap(leaky_relu_backward(grad._data, x._data.astype(grad._data.dtype, copy=False), slope))

    @staticmethod
    def backward(ctx, gg):
        x, = ctx.saved_tensors
        need_grad, need_x = ctx.needs_input_grad[:2]
        return (LeakyReluBackward.apply(gg, x, ctx.slope) if need_grad else None,
                _zeros_like(x) if need_x else None, None)

    @staticmethod
    def jvp(ctx, t_grad, *_):
        return None if t_grad is None else LeakyReluBackward.apply(t_grad, *ctx._fw_args[1:])


class Sgn(Function):
    """PyTorch's ``sgn`` of a real tensor: -1, 0 or 1, and 0 for NaN; its gradient is zero."""

    _backward_name = "SgnBackward0"

    @staticmethod
    @quietly
    def forward(ctx, x):
        return wrap(sgn(x._data))

    @staticmethod
    def backward(ctx, g):
        return _zeros_like(g)

    jvp = staticmethod(zero_jvp)
