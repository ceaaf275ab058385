"""Sorting: sort, argsort, topk and kthvalue.

Orders are stable and put NaN above every number (last ascending, first descending), as
PyTorch's CPU sort does.  The values are differentiable: each input element that was picked
gets the gradient of the place it went to, the others get zero.
"""
from __future__ import annotations

import numpy as np

from .. import return_types
from ..autograd.forward_ad import linear_jvp, weighted_jvp
from ..autograd.function import Function
from ..tensor import Tensor
from ._util import normalize_dim, wrap
from .index import Embed


def _order(data: np.ndarray, dim: int, descending: bool) -> np.ndarray:
    """Stable sorting indices along ``dim``; descending keeps ties in their original order."""
    if not descending:
        return np.argsort(data, axis=dim, kind="stable")
    # Sorting the reversed array ascending and reversing the result keeps equal elements in
    # their original order and puts NaN first.
    n = data.shape[dim]
    flipped = np.argsort(np.flip(data, dim), axis=dim, kind="stable")
    return np.flip(n - 1 - flipped, dim)


def _along_key(index: np.ndarray, dim: int) -> tuple:
    """The advanced-index key that reads ``index`` along ``dim`` (what gather reads)."""
    return tuple(index if i == dim else np.arange(n).reshape((-1,) + (1,) * (index.ndim - 1 - i))
                 for i, n in enumerate(index.shape))


class _Pick(Function):
    """Values picked along a dim by precomputed indices, and those indices (not differentiable)."""

    @staticmethod
    def forward(ctx, x, index, dim, keepdim):
        data = x._data
        if data.ndim == 0:
            key, values, index = (), data.copy(), np.zeros((), np.int64)
        else:
            key = _along_key(index, dim)
            values = data[key]
            if not keepdim:
                values, index = np.squeeze(values, dim), np.squeeze(index, dim)
        ctx.shape, ctx.key, ctx.dim, ctx.keepdim = data.shape, key, dim, keepdim
        indices = wrap(index.astype(np.int64))
        ctx.mark_non_differentiable(indices)
        return wrap(values), indices

    @staticmethod
    def backward(ctx, g, _unused):
        # Embed is differentiable (its backward reads the gradient back at ``key``), and
        # without a graph to build it is only the scatter into zeros.
        if not ctx.keepdim and ctx.key:
            g = g.unsqueeze(ctx.dim)
        return Embed.apply(g, ctx.shape, ctx.key, False), None, None, None

    jvp = staticmethod(linear_jvp)


class Sort(_Pick):
    _backward_name = "SortBackward0"


class Topk(_Pick):
    _backward_name = "TopkBackward0"


class Kthvalue(_Pick):
    _backward_name = "KthvalueBackward0"


def _dim(x: Tensor, dim: int) -> int:
    return normalize_dim(dim, x.ndim)


def sort(x: Tensor, dim: int = -1, descending: bool = False, stable: bool = False):
    """The sorted values along ``dim`` and their indices."""
    d = _dim(x, dim)
    index = _order(x._data, d, descending) if x.ndim else None
    return return_types.sort(*Sort.apply(x, index, d, True))


def argsort(x: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    """The indices that sort ``input`` along ``dim``."""
    d = _dim(x, dim)
    if x.ndim == 0:
        return wrap(np.zeros((), np.int64))
    return wrap(_order(x._data, d, descending).astype(np.int64))


def topk(x: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):  # noqa: A002
    """The ``k`` largest (or smallest) elements along ``dim``, in order."""
    d = _dim(x, dim)
    size = x._data.shape[d] if x.ndim else 1
    if not 0 <= k <= size:
        raise RuntimeError("selected index k out of range")
    index = np.take(_order(x._data, d, largest), np.arange(k), axis=d) if x.ndim else None
    return return_types.topk(*Topk.apply(x, index, d, True))


def kthvalue(x: Tensor, k: int, dim: int = -1, keepdim: bool = False):
    """The ``k``-th smallest element along ``dim`` (``k`` counts from 1) and its index."""
    d = _dim(x, dim)
    _check_nonempty("kthvalue", x, d)
    size = x._data.shape[d] if x.ndim else 1
    if not 1 <= k <= size:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {d}")
    index = np.take(_order(x._data, d, False), [k - 1], axis=d) if x.ndim else None
    return return_types.kthvalue(*Kthvalue.apply(x, index, d, keepdim))


class MedianDim(_Pick):
    _backward_name = "MedianBackward1"


class Median(Function):
    """The lower median of all elements; its gradient is shared evenly by the elements equal to it."""

    _backward_name = "MedianBackward0"

    @staticmethod
    def forward(ctx, x):
        flat = x._data.reshape(-1)
        if flat.size == 0:
            value = np.array(np.nan, flat.dtype)
        else:  # NaN sorts last, so a NaN anywhere is at the end: the median is NaN, as in PyTorch
            value = flat[_order(flat, 0, False)[-1 if _has_nan(flat) else (flat.size - 1) // 2]]
        result = wrap(np.array(value))
        ctx.save_for_backward(x, result)  # the result too, as PyTorch: changing it in place is an error
        ctx.value = value
        return result

    @staticmethod
    def backward(ctx, g):
        x, _ = ctx.saved_tensors
        hit = (x._data == ctx.value) if not np.isnan(ctx.value) else np.isnan(x._data)
        return g * wrap((hit / hit.sum()).astype(x._data.dtype))

    jvp = staticmethod(weighted_jvp)


def _has_nan(data: np.ndarray) -> bool:
    return data.dtype.kind in "fc" and bool(np.isnan(data).any())


def _check_nonempty(name: str, x: Tensor, d: int) -> None:
    if x.ndim and x._data.shape[d] == 0:
        raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")


def median(x: Tensor, dim=None, keepdim: bool = False):
    """The lower median; NaN where a NaN is present (its index: the first NaN), as PyTorch."""
    if dim is None:
        return Median.apply(x)
    d = _dim(x, dim)
    _check_nonempty("median", x, d)
    index = None
    if x.ndim:
        data = x._data
        index = np.take(_order(data, d, False), [(data.shape[d] - 1) // 2], axis=d)
        if _has_nan(data):
            nan = np.isnan(data)
            index = np.where(nan.any(axis=d, keepdims=True), nan.argmax(axis=d, keepdims=True), index)
    return return_types.median(*MedianDim.apply(x, index, d, keepdim))


def unique(x: Tensor, sorted: bool = True, return_inverse: bool = False, return_counts: bool = False,  # noqa: A002
           dim=None):
    """The distinct values, in ascending order, with where each element went and how often each occurs."""
    if dim is not None:
        raise NotImplementedError("pygrad's unique does not support dim")
    values, inverse, counts = np.unique(x._data.reshape(-1), return_inverse=True, return_counts=True)
    out = [wrap(values)]
    if return_inverse:
        out.append(wrap(inverse.reshape(x.shape).astype(np.int64)))
    if return_counts:
        out.append(wrap(counts.astype(np.int64)))
    return out[0] if len(out) == 1 else tuple(out)
