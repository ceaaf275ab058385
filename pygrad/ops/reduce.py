"""Reductions: sum, mean, max/min, prod, var/std, norm, logsumexp, and cumsum."""
from __future__ import annotations

import builtins

import math

import numpy as np

from ..autograd.forward_ad import weighted_jvp
from .. import dtypes, return_types
from ..autograd.function import Function
from ..tensor import Tensor
from . import optable as _table
from ._util import cumsum_array, mean_array, normalize_dim, normalize_dims, sum_array, wrap
from .optable import where
from .shape import cat, expand_to, stack

builtins_max = builtins.max


def _reduced_dtype(x: Tensor, dtype) -> np.dtype:
    if dtype is not None:
        return dtypes.as_dtype(dtype).numpy
    dtype = x.dtype  # not x._data: a pending fused result is reduced without being stored
    return dtype.numpy if dtype.is_floating_point else np.dtype(np.int64)


def _kept_shape(shape: tuple, dims: tuple) -> tuple:
    return tuple(1 if i in dims else s for i, s in enumerate(shape))


def _dropped_shape(shape: tuple, dims: tuple) -> tuple:
    return tuple(s for i, s in enumerate(shape) if i not in dims)


def unreduce(g, shape: tuple, dims: tuple, keepdim: bool):
    """A reduction's output gradient (array or Tensor) with the reduced dims back as size 1."""
    if keepdim or not dims:
        return g
    return g.reshape(_kept_shape(shape, dims))


def count(shape: tuple, dims: tuple) -> int:
    """How many elements a mean over ``dims`` averages (1 for none)."""
    return builtins_max(math.prod([shape[d] for d in dims]), 1)


def sum(x: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:  # noqa: A001
    out = _reduced_dtype(x, dtype)
    if dim is None:
        return _table.SUM.fn.apply(x, out)
    return _table.SUM_DIM.fn.apply(x, normalize_dims(dim, x.ndim), keepdim, out)


def mean(x: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    out = x.dtype.numpy if dtype is None else dtypes.as_dtype(dtype).numpy
    if out.kind != "f":
        name = {"i": "Long", "b": "Bool", "u": "Byte"}.get(out.kind, str(out))
        if out == np.int32:
            name = "Int"
        raise RuntimeError("mean(): could not infer output dtype. Input dtype must be either a floating "
                           f"point or complex dtype. Got: {name}")
    if dim is None:
        return _table.MEAN.fn.apply(x, out)
    return _table.MEAN_DIM.fn.apply(x, normalize_dims(dim, x.ndim), keepdim, out)


# -- max / min ----------------------------------------------------------------------------------

def _times_mask(g: Tensor, mask: np.ndarray, shape: tuple) -> Tensor:
    """``g * mask`` broadcast to ``shape``; the mask is a constant, so this is right to any order."""
    return expand_to(g * wrap(mask.astype(g._data.dtype, copy=False)), shape)


def _ties(x: np.ndarray, value: np.ndarray, nan_ties: bool = True) -> np.ndarray:
    """Where ``x`` equals the reduced ``value`` (NaN matching NaN when ``nan_ties``)."""
    hit = (x == value)
    if nan_ties and x.dtype.kind == "f":
        hit |= np.isnan(x) & np.isnan(value)
    return hit


def extreme(numpy_reduce, x: np.ndarray, dims: tuple, keepdim: bool) -> np.ndarray:
    """max/min/amax/amin over ``dims``."""
    value = numpy_reduce(x, axis=dims, keepdims=True)
    return value if keepdim else value.reshape(_dropped_shape(x.shape, dims))


def evenly_distributed(g: np.ndarray, x: np.ndarray, result: np.ndarray, dims: tuple, keepdim: bool,
                       nan_ties: bool = True) -> np.ndarray:
    """The gradient of max/min over dims: shared evenly among the tied extremes.  A NaN extreme
    ties with the NaNs for max/min; for amax/amin (``nan_ties`` False) nothing equals it, so the
    0/0 share makes its whole slice NaN, as in PyTorch."""
    hit = _ties(x, unreduce(result, x.shape, dims, keepdim), nan_ties)
    return unreduce(g, x.shape, dims, keepdim) * (hit / np.sum(hit, axis=dims, keepdims=True))


def evenly_distributed_tensor(g: Tensor, x: Tensor, result: Tensor, dims: tuple, keepdim: bool,
                              nan_ties: bool = True) -> Tensor:
    hit = _ties(x._data, unreduce(result._data, x.shape, dims, keepdim), nan_ties)
    return _times_mask(unreduce(g, x.shape, dims, keepdim), hit / np.sum(hit, axis=dims, keepdims=True), x.shape)


class MaxDim(Function):
    """max over one dim: (values, indices); the gradient goes to the returned (first) index."""
    jvp = staticmethod(weighted_jvp)

    _backward_name = "MaxBackward0"
    _arg = staticmethod(np.argmax)

    @classmethod
    def forward(cls, ctx, x, dim, keepdim):
        data = x._data
        if data.ndim == 0:  # a 0-d tensor is its own max along dim 0 (or -1), as in PyTorch
            ctx.shape, ctx.dim, ctx.keepdim, ctx.onehot = (), (), True, np.ones((), bool)
            indices = wrap(np.zeros((), np.int64))
            ctx.mark_non_differentiable(indices)
            return wrap(data.copy()), indices
        index = _arg_nan_first(cls._arg, data, dim)
        values = np.take_along_axis(data, index, axis=dim)
        ctx.shape, ctx.dim, ctx.keepdim = data.shape, dim, keepdim
        if x.dtype.is_floating_point:
            onehot = np.zeros(data.shape, bool)
            np.put_along_axis(onehot, index, True, axis=dim)
            ctx.onehot = onehot
        if not keepdim:
            values, index = np.squeeze(values, dim), np.squeeze(index, dim)
        indices = wrap(index.astype(np.int64))
        ctx.mark_non_differentiable(indices)
        return wrap(values), indices

    @staticmethod
    def backward(ctx, g, _unused):
        g = unreduce(g, ctx.shape, (ctx.dim,), ctx.keepdim)
        return _times_mask(g, ctx.onehot, ctx.shape), None, None


class MinDim(MaxDim):
    _backward_name = "MinBackward0"
    _arg = staticmethod(np.argmin)


def _arg_nan_first(arg, data: np.ndarray, dim: int) -> np.ndarray:
    """arg-max/min indices along ``dim`` with keepdims; a NaN wins, as in PyTorch."""
    if data.ndim == 0:
        return np.zeros((), np.intp)
    index = arg(data, axis=dim, keepdims=True)  # NumPy's argmax/argmin already return the first NaN
    return index


def _empty_check(x: Tensor, name: str, dims) -> None:
    if x._data.size == 0:
        if dims is None:
            raise RuntimeError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0. "
                               "Specify the reduction dim with the 'dim' argument.")
        for d in dims:
            if x._data.shape[d] == 0:
                raise IndexError(f"{name}(): Expected reduction dim {d} to have non-zero size.")


def _max_or_min(x: Tensor, dim, keepdim: bool, name: str):
    if isinstance(dim, Tensor):  # max(x, other): the elementwise op
        return x.maximum(dim) if name == "max" else x.minimum(dim)
    if dim is None:
        if keepdim:
            raise TypeError(f"{name}() received an invalid combination of arguments - got (keepdim=bool)")
        _empty_check(x, name, None)
        return (_table.MAX if name == "max" else _table.MIN).fn.apply(x, tuple(range(x.ndim)), False)
    d = normalize_dim(dim, x.ndim)
    _empty_check(x, name, (d,) if x.ndim else ())
    values, indices = (MaxDim if name == "max" else MinDim).apply(x, d if x.ndim else 0, keepdim)
    return getattr(return_types, name)(values, indices)


def max(x: Tensor, dim=None, keepdim: bool = False):  # noqa: A001
    """``max(x)``, ``max(x, dim[, keepdim])`` -> (values, indices), or ``max(x, other)`` (maximum)."""
    return _max_or_min(x, dim, keepdim, "max")


def min(x: Tensor, dim=None, keepdim: bool = False):  # noqa: A001
    return _max_or_min(x, dim, keepdim, "min")


def _amax_or_amin(op, name: str, x: Tensor, dim, keepdim: bool) -> Tensor:
    dims = normalize_dims(None if dim == () or dim == [] else dim, x.ndim)
    _empty_check(x, name, None if x._data.size == 0 and not dims else dims)
    return op.fn.apply(x, dims, keepdim)


def amax(x: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    return _amax_or_amin(_table.AMAX, "amax", x, dim, keepdim)


def amin(x: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    return _amax_or_amin(_table.AMIN, "amin", x, dim, keepdim)


def _arg_reduce(x: Tensor, dim, keepdim: bool, arg, name: str) -> Tensor:
    data = x._data
    if dim is None:
        _empty_check(x, name, None)
        index = arg(data.reshape(-1))
        out = np.asarray(index, np.int64)
        return wrap(out.reshape((1,) * data.ndim) if keepdim else out)
    d = normalize_dim(dim, data.ndim)
    if data.ndim == 0:
        return wrap(np.zeros((), np.int64))
    _empty_check(x, name, (d,))
    return wrap(arg(data, axis=d, keepdims=keepdim).astype(np.int64))


def argmax(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    return _arg_reduce(x, dim, keepdim, np.argmax, "argmax")


def argmin(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    return _arg_reduce(x, dim, keepdim, np.argmin, "argmin")


# -- prod -------------------------------------------------------------------------------------

def prod_grad_tensor(g: Tensor, x: Tensor, dims: tuple, keepdim: bool) -> Tensor:
    if x.ndim == 0:  # the product of one number: PyTorch passes the gradient through as is
        return g
    return unreduce(g, x.shape, dims, keepdim) * _prod_of_others_graph(x, dims)


def prod_grad(g: np.ndarray, x: np.ndarray, dims: tuple, keepdim: bool) -> np.ndarray:
    if x.ndim == 0:
        return g
    return unreduce(g, x.shape, dims, keepdim) * _prod_of_others(x, dims)


def _prod_of_others_graph(x: Tensor, dims: tuple) -> Tensor:
    """``_prod_of_others`` as differentiable ops: the products of the elements before and after each
    one (exclusive cumulative products from both ends, PyTorch's prod_safe_zeros_backward), so its
    own gradient is right with zeros too (a quotient by the element is not)."""
    kept = [d for d in range(x.ndim) if d not in dims]
    order = kept + list(dims)
    moved = x.permute(*order)
    lead, n = tuple(moved.shape[:len(kept)]), math.prod(x.shape[d] for d in dims)
    if n == 0:  # x has no elements; a product with x keeps the graph PyTorch has
        return x * 0
    flat = moved.reshape(*lead, n)
    ones = wrap(np.ones(lead + (1,), x._data.dtype))
    before = cat([ones, flat[..., :-1]], -1).cumprod(-1)
    after = cat([ones, flat.flip(-1)[..., :-1]], -1).cumprod(-1).flip(-1)
    return (before * after).reshape(*moved.shape).permute(*np.argsort(order).tolist())


def _prod_of_others(x: np.ndarray, dims: tuple) -> np.ndarray:
    zero = x == 0
    nonzero_x = np.where(zero, x.dtype.type(1), x)
    rest = np.prod(nonzero_x, axis=dims, keepdims=True)
    zeros = np.sum(zero, axis=dims, keepdims=True)
    return np.where(zero, np.where(zeros == 1, rest, 0), np.where(zeros == 0, rest / nonzero_x, 0))


def prod(x: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    out = _reduced_dtype(x, dtype)
    if dim is None:
        return _table.PROD.fn.apply(x, tuple(range(x.ndim)), False, out)
    if not isinstance(dim, (int, np.integer)):
        raise TypeError("prod(): argument 'dim' must be int, not " + type(dim).__name__)
    return _table.PROD_DIM.fn.apply(x, normalize_dims(dim, x.ndim), keepdim, out)


# -- var / std ------------------------------------------------------------------------------

def _correction(unbiased, correction) -> float:
    if correction is not None:
        if unbiased is not None:
            raise RuntimeError("Cannot specify both unbiased and correction")
        return float(correction)
    return 1.0 if unbiased is None or unbiased else 0.0


def variance(x: np.ndarray, dims: tuple, correction: float, keepdim: bool) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        centered = x - mean_array(x, axis=dims, keepdims=True)
        squares = sum_array(centered * centered, axis=dims, keepdims=keepdim)
        var = squares / x.dtype.type(denominator(x, dims, correction))
    return np.asarray(var, x.dtype)


def denominator(x, dims: tuple, correction: float) -> float:
    """n - correction (at least 0), n the number of elements reduced."""
    return builtins_max(int(np.prod([x.shape[d] for d in dims])) - correction, 0)


def ratio(a: float, b: float) -> float:
    """a / b, infinite for b == 0 (no more elements than the correction)."""
    return a / b if b else math.inf


def _var_args(x: Tensor, name: str, dim, unbiased, keepdim, correction):
    if isinstance(dim, bool):  # var(x, False): the legacy positional ``unbiased``
        dim, unbiased = None, dim
    if not x.dtype.is_floating_point:
        raise RuntimeError("std and var only support floating point and complex dtypes")
    dims = normalize_dims(dim, x.ndim)
    c = _correction(unbiased, correction)
    count = int(np.prod([x._data.shape[d] for d in dims]))
    if count - c <= 0:
        import warnings
        warnings.warn(f"{name}(): degrees of freedom is <= 0. Correction should be strictly less than the "
                      "reduction factor (input numel divided by output numel).", UserWarning, stacklevel=3)
    return dims, c, keepdim


def var(x: Tensor, dim=None, unbiased=None, keepdim: bool = False, *, correction=None) -> Tensor:
    return _table.VAR.fn.apply(x, *_var_args(x, "var", dim, unbiased, keepdim, correction))


def std(x: Tensor, dim=None, unbiased=None, keepdim: bool = False, *, correction=None) -> Tensor:
    return _table.STD.fn.apply(x, *_var_args(x, "std", dim, unbiased, keepdim, correction))


# -- norm --------------------------------------------------------------------------------------

def vector_norm_forward(x: np.ndarray, p: float, dims: tuple, keepdim: bool) -> np.ndarray:
    """The p-norm over dims (``torch.linalg.vector_norm``).  Unlike sum/mean, PyTorch's norm adds
    float32 sequentially over an outer dim, as ``np.sum`` does, so it keeps ``np.sum`` to print
    the same values."""
    a = np.abs(x)
    if p == float("inf"):
        out = np.max(a, axis=dims, keepdims=True) if a.size else np.zeros(_kept_shape(a.shape, dims), a.dtype)
    elif p == float("-inf"):
        out = np.min(a, axis=dims, keepdims=True)
    elif p == 0:
        out = np.sum(a != 0, axis=dims, keepdims=True).astype(x.dtype)
    elif p == 1:
        out = np.sum(a, axis=dims, keepdims=True)
    elif p == 2:
        out = np.sqrt(np.sum(a * a, axis=dims, keepdims=True))
    else:
        out = np.power(np.sum(np.power(a, p), axis=dims, keepdims=True), 1.0 / p).astype(x.dtype)
    return out if keepdim else out.reshape(_dropped_shape(x.shape, dims))


def _norm_mask(x: np.ndarray, norm: np.ndarray, p: float, dims: tuple) -> np.ndarray:
    """The constant local derivative of the inf- and 1-norms."""
    if p == 1:
        return np.sign(x)
    hit = np.abs(x) == norm
    return np.sign(x) * hit / np.sum(hit, axis=dims, keepdims=True)


def norm_grad(g: np.ndarray, x: np.ndarray, result: np.ndarray, p: float, dims: tuple, keepdim: bool):
    g, n = unreduce(g, x.shape, dims, keepdim), unreduce(result, x.shape, dims, keepdim)
    if p == 0:
        return np.zeros(x.shape, g.dtype)
    if p in (float("inf"), float("-inf"), 1):
        return np.broadcast_to(g * _norm_mask(x, n, p, dims).astype(g.dtype, copy=False), x.shape)
    if p == 2:
        return np.where(n == 0, 0, g * x / n)
    return np.where(n == 0, 0, g * (x * np.power(np.abs(x), p - 2) / np.power(n, p - 1)))


def norm_grad_tensor(g: Tensor, x: Tensor, result: Tensor, p: float, dims: tuple, keepdim: bool) -> Tensor:
    g, n = unreduce(g, x.shape, dims, keepdim), unreduce(result, x.shape, dims, keepdim)
    if p == 0:
        return wrap(np.zeros(x.shape, g._data.dtype))
    if p in (float("inf"), float("-inf"), 1):
        return _times_mask(g, _norm_mask(x._data, n._data, p, dims), x.shape)
    if p == 2:
        return where(n == 0, 0.0, g * x / n)
    return where(n == 0, 0.0, g * x * x.abs() ** (p - 2) / n ** (p - 1))


def vector_norm(x: Tensor, ord=2, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:  # noqa: A002
    if dtype is not None:
        x = x.to(dtype)
    if not x.dtype.is_floating_point:
        raise RuntimeError("linalg.vector_norm: Expected a floating point or complex tensor as input. "
                           f"Got {x.dtype._tensor_type[:-6]}")
    return _table.VECTOR_NORM.fn.apply(x, float(ord), normalize_dims(dim, x.ndim), keepdim)


def norm(x: Tensor, p="fro", dim=None, keepdim: bool = False, dtype=None) -> Tensor:
    """``x.norm(p)``: the vector p-norm over all elements or ``dim`` ('fro' is the 2-norm)."""
    if p == "fro" or p is None:
        p = 2
    elif isinstance(p, str):
        raise RuntimeError(f"norm: unsupported p={p!r} (pygrad implements vector norms and 'fro')")
    return vector_norm(x, p, dim, keepdim, dtype=dtype)


# -- logsumexp and cumsum --------------------------------------------------------------------

def logsumexp_forward(x: np.ndarray, dims: tuple, keepdim: bool) -> np.ndarray:
    m = np.max(x, axis=dims, keepdims=True) if x.size else np.zeros(_kept_shape(x.shape, dims), x.dtype)
    m = np.where(np.isfinite(m), m, 0)  # all -inf (or inf) slices: shift by 0
    with np.errstate(divide="ignore"):
        out = np.log(sum_array(np.exp(x - m), axis=dims, keepdims=True)) + m
    return out if keepdim else out.reshape(_dropped_shape(x.shape, dims))


def logsumexp(x: Tensor, dim, keepdim: bool = False) -> Tensor:
    if not x.dtype.is_floating_point:
        x = x.to(dtypes.get_default_dtype())
    return _table.LOGSUMEXP.fn.apply(x, normalize_dims(dim, x.ndim), keepdim)


def reverse_cumsum(g: np.ndarray, dim: int) -> np.ndarray:
    """The gradient of cumsum: each element gets the sum of the gradients from its place on."""
    if g.ndim == 0:
        return g
    return np.flip(cumsum_array(np.flip(g, dim), axis=dim), dim).copy()


def reverse_cumsum_tensor(g: Tensor, dim: int) -> Tensor:
    """``reverse_cumsum`` from differentiable ops: total - cumsum + g."""
    if g.ndim == 0:
        return g
    return g.sum(dim, keepdim=True) - g.cumsum(dim) + g


def cumprod_grad(g, x, dim: int, reverse_cumsum=reverse_cumsum):
    """The gradient of cumprod, on arrays or (with ``reverse_cumsum_tensor``) on Tensors."""
    if g.ndim == 0:
        return g
    if not (x == 0).any():
        # d out_j / d x_i = out_j / x_i for j >= i: a reversed cumulative sum of g*out, over x.
        return reverse_cumsum(g * x.cumprod(dim), dim) / x
    # With zeros, each x_i's gradient is sum_{j>=i} g_j * prod_{k<=j, k!=i} x_k, taken one i at a time.
    if isinstance(g, np.ndarray):
        return cumprod_grad(wrap(g), wrap(x), dim, reverse_cumsum_tensor)._data
    n = x.shape[dim]
    place = np.arange(n).reshape((-1,) + (1,) * (x.ndim - 1 - dim))
    grads = []
    for i in range(n):
        without_i = where(wrap(place == i), wrap(np.ones((), x._data.dtype)), x)
        later = wrap((place >= i).astype(x._data.dtype))
        grads.append((g * without_i.cumprod(dim) * later).sum(dim))
    return stack(grads, dim)


def cumprod_tangent(t: Tensor, x: Tensor, result: Tensor, dim: int) -> Tensor:
    """cumprod's forward-mode rule.  out_k is linear in each x_j (j <= k) separately: the sum over j
    of the cumulative product with x_j replaced by its tangent, kept where k >= j (exact with
    zeros, n products of length n)."""
    if x.ndim == 0:
        return t.to(result.dtype)
    xs, ts = x.to(result.dtype).movedim(dim, -1), t.to(result.dtype).movedim(dim, -1)
    n = xs.shape[-1]
    lead = (n,) + (1,) * (xs.ndim - 1)
    replaced = where(wrap(np.eye(n, dtype=bool).reshape(lead + (n,))), ts.unsqueeze(0), xs.unsqueeze(0))
    kept = wrap(np.triu(np.ones((n, n), result._data.dtype)).reshape(lead + (n,)))
    return (replaced.cumprod(-1) * kept).sum(0).movedim(-1, dim)


def cumulative_args(x: Tensor, dim, dtype) -> tuple:
    """The dim and the dtype ``cumsum``/``cumprod`` (and their in-place forms) compute in."""
    return normalize_dim(dim, x.ndim), _reduced_dtype(x, dtype)


def cumprod(x: Tensor, dim, *, dtype=None) -> Tensor:
    return _table.CUMPROD.fn.apply(x, *cumulative_args(x, dim, dtype))


def cumsum(x: Tensor, dim, *, dtype=None) -> Tensor:
    return _table.CUMSUM.fn.apply(x, *cumulative_args(x, dim, dtype))
