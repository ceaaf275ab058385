"""The activations of ``nn.functional`` that are not a table op of their own: the in-place
variants (``elu_``, ``threshold_`` ...), ``relu6``, ``prelu`` and ``rrelu`` (argument handling
around the table's kernels), and those PyTorch composes from other ops, so that their graphs and
``grad_fn`` names are PyTorch's (``softsign`` is a division, ``softmin`` a softmax of ``-x``,
``normalize`` a division by the clamped norm)."""
from __future__ import annotations

import numpy as np

from .. import creation
from ..ops import optable_nn as _table
from ..ops.activation import _softmax_dim, softmax
from ..ops.optable import FUNCTIONAL as _TABLE
from ..tensor import Tensor

__all__ = ["relu_", "relu6", "hardtanh_", "elu_", "leaky_relu_", "selu_", "celu_", "threshold_", "prelu", "rrelu",
           "rrelu_", "softsign", "tanhshrink", "softmin", "normalize"]


def relu_(input: Tensor) -> Tensor:
    """In-place ``relu``: ``max(x, 0)`` written into ``input``."""
    return input.relu_()


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """``min(max(x, 0), 6)`` elementwise: ``hardtanh(x, 0, 6)`` (its node is ``HardtanhBackward0``)."""
    return _TABLE["hardtanh"](input, 0.0, 6.0, inplace)


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """In-place ``hardtanh``."""
    return _TABLE["hardtanh"](input, min_val, max_val, True)


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place ``elu`` (its node, ``EluBackward1``, differentiates from the result)."""
    return _TABLE["elu"](input, alpha, True)


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    """In-place ``leaky_relu`` (its node, ``LeakyReluBackward1``, differentiates from the result)."""
    return _TABLE["leaky_relu"](input, negative_slope, True)


def selu_(input: Tensor) -> Tensor:
    """In-place ``selu``."""
    return _TABLE["selu"](input, True)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place ``celu``."""
    return _TABLE["celu"](input, alpha, True)


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    """In-place ``threshold``."""
    return _TABLE["threshold"](input, threshold, value, True)


def _floating(x: Tensor, kernel: str) -> None:
    if not x.dtype.is_floating_point:
        raise _table._not_implemented_for(x, kernel)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """``x`` where positive, else ``weight * x``, one weight per channel (dim 1) or one for all."""
    if weight.ndim > 1:
        raise RuntimeError(f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: ndim = {weight.ndim}")
    channels = input.shape[1] if input.ndim >= 2 else 1
    count = weight.numel()
    if count != 1 and count != channels:
        raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found parameter numbers = {count} "
                           f"and channel size = {channels}.")
    if input.ndim >= 2:  # one weight per channel, broadcast over the dims after it
        weight = weight.view(count, *([1] * (input.ndim - 2)))
    elif input.ndim == 0:
        weight = weight.view(())
    return _table.PRELU.fn.apply(input, weight)


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
          inplace: bool = False) -> Tensor:
    """Randomized leaky ReLU: training draws each negative element's slope uniformly from
    [lower, upper] (pygrad's generator); eval uses the slope ``(lower + upper) / 2``."""
    _floating(input, "leaky_relu_cpu")
    if lower > upper:
        raise RuntimeError("Lower bound should be less than or equal to the upper bound")
    data = input._data
    if training:
        slopes = creation.generator().uniform(lower, upper, size=data.shape).astype(data.dtype)
        noise = np.where(data <= 0, slopes, data.dtype.type(1))
    else:
        noise = np.where(data > 0, data.dtype.type(1), data.dtype.type((lower + upper) / 2))
    noise = Tensor._wrap(noise)
    if inplace:
        return _table.inplace_call("rrelu", input, noise)
    return _table.RRELU.fn.apply(input, noise)


def rrelu_(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False) -> Tensor:
    """In-place ``rrelu``."""
    return rrelu(input, lower, upper, training, True)


def softsign(input: Tensor) -> Tensor:
    """``x / (1 + |x|)`` elementwise."""
    return input / (input.abs() + 1)


def tanhshrink(input: Tensor) -> Tensor:
    """``x - tanh(x)`` elementwise."""
    return input - input.tanh()


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """``softmax(-x)`` along ``dim``."""
    return softmax(-input, _softmax_dim(input, dim, "softmin"), dtype=dtype)


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out: Tensor | None = None) -> Tensor:
    """``input`` divided by its ``p``-norm along ``dim`` (at least ``eps``)."""
    denom = input.norm(p, dim, keepdim=True).clamp_min(eps).expand_as(input)
    if out is None:
        return input / denom
    from ..ops.optable import FUNCTIONS
    return FUNCTIONS["div"](input, denom, out=out)
