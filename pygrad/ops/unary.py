"""Copies and dtype conversions: ``clone``, ``contiguous`` and ``to(dtype)``.

The elementwise math functions are declared in the op table (``ops/optable.py``).
"""
from __future__ import annotations

import numpy as np

from ..autograd.forward_ad import linear_jvp
from .. import dtypes
from .._errstate import quietly
from ..autograd.function import Function
from ..tensor import Tensor
from ._util import wrap


class Clone(Function):
    """A copy that keeps a dense tensor's strides (PyTorch's ``preserve_format``)."""
    jvp = staticmethod(linear_jvp)

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
    jvp = staticmethod(linear_jvp)

    _backward_name = "ToCopyBackward0"

    @staticmethod
    @quietly
    def forward(ctx, x, dtype):
        return wrap(x._data.astype(dtype.numpy))

    @staticmethod
    def backward(ctx, g):
        return g, None


def clone(x: Tensor, contiguous: bool = False) -> Tensor:
    """A copy of ``input`` that records the copy in the graph (``CloneBackward0``)."""
    return (ContiguousClone if contiguous else Clone).apply(x)


def to_dtype(x: Tensor, dtype: dtypes.dtype) -> Tensor:
    return ToCopy.apply(x, dtype)
