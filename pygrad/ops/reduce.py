"""Reductions: sum and mean over all elements or over dims."""
from __future__ import annotations

import numpy as np

from .. import dtypes
from ..autograd.function import Function
from ..tensor import Tensor
from ._util import normalize_dims, wrap
from .shape import expand_to


def _reduced_dtype(x: Tensor, dtype) -> np.dtype:
    if dtype is not None:
        return dtypes.as_dtype(dtype).numpy
    return x._data.dtype if x.dtype.is_floating_point else np.dtype(np.int64)


def _kept_shape(shape: tuple, dims: tuple) -> tuple:
    return tuple(1 if i in dims else s for i, s in enumerate(shape))


class Sum(Function):
    _backward_name = "SumBackward0"

    @staticmethod
    def forward(ctx, x, dtype):
        ctx.shape = x._data.shape
        return wrap(np.sum(x._data, dtype=dtype))

    @staticmethod
    def backward(ctx, g):
        return expand_to(g, ctx.shape), None


class SumDim(Function):
    _backward_name = "SumBackward1"

    @staticmethod
    def forward(ctx, x, dims, keepdim, dtype):
        ctx.shape, ctx.dims, ctx.keepdim = x._data.shape, dims, keepdim
        return wrap(np.sum(x._data, axis=dims, keepdims=keepdim, dtype=dtype))

    @staticmethod
    def backward(ctx, g):
        if not ctx.keepdim:
            g = g.reshape(_kept_shape(ctx.shape, ctx.dims))
        return expand_to(g, ctx.shape), None, None, None


class Mean(Function):
    _backward_name = "MeanBackward0"

    @staticmethod
    def forward(ctx, x, dtype):
        ctx.shape = x._data.shape
        return wrap(np.mean(x._data, dtype=dtype))

    @staticmethod
    def backward(ctx, g):
        return expand_to(g / max(int(np.prod(ctx.shape)), 1), ctx.shape), None


class MeanDim(Function):
    _backward_name = "MeanBackward1"

    @staticmethod
    def forward(ctx, x, dims, keepdim, dtype):
        ctx.shape, ctx.dims, ctx.keepdim = x._data.shape, dims, keepdim
        return wrap(np.mean(x._data, axis=dims, keepdims=keepdim, dtype=dtype))

    @staticmethod
    def backward(ctx, g):
        if not ctx.keepdim:
            g = g.reshape(_kept_shape(ctx.shape, ctx.dims))
        count = int(np.prod([ctx.shape[d] for d in ctx.dims]))
        return expand_to(g / max(count, 1), ctx.shape), None, None, None


def sum(x: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:  # noqa: A001
    out = _reduced_dtype(x, dtype)
    if dim is None:
        return Sum.apply(x, out)
    return SumDim.apply(x, normalize_dims(dim, x.ndim), keepdim, out)


def mean(x: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    out = x._data.dtype if dtype is None else dtypes.as_dtype(dtype).numpy
    if out.kind != "f":
        name = {"i": "Long", "b": "Bool", "u": "Byte"}.get(out.kind, str(out))
        if out == np.int32:
            name = "Int"
        raise RuntimeError("mean(): could not infer output dtype. Input dtype must be either a floating "
                           f"point or complex dtype. Got: {name}")
    if dim is None:
        return Mean.apply(x, out)
    return MeanDim.apply(x, normalize_dims(dim, x.ndim), keepdim, out)
