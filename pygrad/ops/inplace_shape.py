"""In-place shape ops: ``unsqueeze_``, ``squeeze_``, ``t_``, ``transpose_``, ``resize_``.

PyTorch changes the tensor's own sizes and strides and records the op as its new
``grad_fn`` (``UnsqueezeBackward1``, ``SqueezeBackward4``, ...).  Here the op runs as the
matching view op, out of place, and the tensor takes over the result's array and history;
a view stays a view of its base (the op is appended to the steps that rebuild it).
The version counter is bumped, as PyTorch does.
"""
from __future__ import annotations

import numpy as np

from .._errors import LEAF_INPLACE
from ..autograd import grad_mode
from ..autograd.function import Function
from ..tensor import Tensor
from . import shape as _shape
from ._util import normalize_dim, parse_shape

__all__ = ["unsqueeze_", "squeeze_", "t_", "transpose_", "resize_"]


def _named(base: type, name: str) -> type:
    return type(name.replace("Backward", "Inplace"), (base,), {"_backward_name": name, "__module__": __name__})


_UNSQUEEZE = _named(_shape.Unsqueeze, "UnsqueezeBackward1")
_SQUEEZE_ALL = _named(_shape.Squeeze, "SqueezeBackward3")
_SQUEEZE_DIM = _named(_shape.Squeeze, "SqueezeBackward4")
_SQUEEZE_DIMS = _named(_shape.Squeeze, "SqueezeBackward5")
_T = _named(_shape.T, "TBackward1")
_TRANSPOSE = _named(_shape.Transpose, "TransposeBackward1")


def _restride(x: Tensor, op: type, *args) -> Tensor:
    """Give ``x`` the shape ``op`` makes, and the op as its history."""
    if grad_mode._state.enabled and x._view is None and x._grad_fn is None and x._requires_grad:
        raise RuntimeError(LEAF_INPLACE)
    if x._view is not None:
        y = op.apply(x, *args)  # a view op: y is recorded as a view of x's base
    else:
        y = Function.apply.__func__(op, x, *args)  # recorded as a plain op: x stays its own base
    x._data = y._data
    x._version.value += 1
    if y._grad_fn is not None:
        x._grad_fn, x._output_nr = y._grad_fn, y._output_nr
    if x._view is not None:
        x._view = y._view
        x._view.version = x._version.value
    return x


def unsqueeze_(x: Tensor, dim: int) -> Tensor:
    return _restride(x, _UNSQUEEZE, normalize_dim(dim, x.ndim + 1))


def squeeze_(x: Tensor, dim=None) -> Tensor:
    shape = x._data.shape
    if dim is None:
        return _restride(x, _SQUEEZE_ALL, tuple(i for i, s in enumerate(shape) if s == 1))
    if isinstance(dim, (tuple, list)):
        dims = tuple(normalize_dim(d, x.ndim) for d in dim)
        return _restride(x, _SQUEEZE_DIMS, tuple(d for d in dims if x.ndim and shape[d] == 1))
    d = normalize_dim(dim, x.ndim)
    return _restride(x, _SQUEEZE_DIM, (d,) if x.ndim and shape[d] == 1 else ())


def t_(x: Tensor) -> Tensor:
    if x.ndim > 2:
        raise RuntimeError(f"t_() expects a tensor with <= 2 dimensions, but self is {x.ndim}D")
    return _restride(x, _T)


def transpose_(x: Tensor, dim0: int, dim1: int) -> Tensor:
    return _restride(x, _TRANSPOSE, normalize_dim(dim0, x.ndim), normalize_dim(dim1, x.ndim))


def resize_(x: Tensor, *sizes) -> Tensor:
    """New sizes; elements kept in memory order, new ones zero (PyTorch leaves them uninitialised)."""
    if x.requires_grad:
        raise RuntimeError("cannot resize variables that require grad")
    shape = parse_shape(sizes)
    if any(s < 0 for s in shape):
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(shape)}: {list(shape)}")
    n = int(np.prod(shape))
    data = x._data
    if n == data.size and data.flags.c_contiguous:
        x._data = data.reshape(shape)
    else:
        flat = np.zeros(n, data.dtype)
        keep = min(n, data.size)
        flat[:keep] = data.reshape(-1)[:keep]
        x._data = flat.reshape(shape)
    x._version.value += 1
    return x


def resize_as_(x: Tensor, other: Tensor) -> Tensor:
    return resize_(x, other._data.shape)
