"""Reductions: sum, mean, max/min, prod, var/std, norm, logsumexp, and cumsum."""
from __future__ import annotations

import builtins

import math

import numpy as np

from .. import dtypes, return_types
from ..autograd.function import Function
from ..tensor import Tensor
from ._util import building_graph, cumsum_array, mean_array, normalize_dim, normalize_dims, sum_array, wrap
from .arith import where
from .shape import expand_to

builtins_max = builtins.max


def _reduced_dtype(x: Tensor, dtype) -> np.dtype:
    if dtype is not None:
        return dtypes.as_dtype(dtype).numpy
    return x._data.dtype if x.dtype.is_floating_point else np.dtype(np.int64)


def _kept_shape(shape: tuple, dims: tuple) -> tuple:
    return tuple(1 if i in dims else s for i, s in enumerate(shape))


def _dropped_shape(shape: tuple, dims: tuple) -> tuple:
    return tuple(s for i, s in enumerate(shape) if i not in dims)


class Sum(Function):
    _backward_name = "SumBackward0"

    @staticmethod
    def forward(ctx, x, dtype):
        ctx.shape = x._data.shape
        return wrap(sum_array(x._data, dtype=dtype))

    @staticmethod
    def backward(ctx, g):
        return expand_to(g, ctx.shape), None


class SumDim(Function):
    _backward_name = "SumBackward1"

    @staticmethod
    def forward(ctx, x, dims, keepdim, dtype):
        ctx.shape, ctx.dims, ctx.keepdim = x._data.shape, dims, keepdim
        return wrap(sum_array(x._data, axis=dims, keepdims=keepdim, dtype=dtype))

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
        return wrap(mean_array(x._data, dtype=dtype))

    @staticmethod
    def backward(ctx, g):
        return expand_to(g / builtins_max(int(np.prod(ctx.shape)), 1), ctx.shape), None


class MeanDim(Function):
    _backward_name = "MeanBackward1"

    @staticmethod
    def forward(ctx, x, dims, keepdim, dtype):
        ctx.shape, ctx.dims, ctx.keepdim = x._data.shape, dims, keepdim
        return wrap(mean_array(x._data, axis=dims, keepdims=keepdim, dtype=dtype))

    @staticmethod
    def backward(ctx, g):
        if not ctx.keepdim:
            g = g.reshape(_kept_shape(ctx.shape, ctx.dims))
        count = int(np.prod([ctx.shape[d] for d in ctx.dims]))
        return expand_to(g / builtins_max(count, 1), ctx.shape), None, None, None


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


# -- max / min ----------------------------------------------------------------------------------

def _keepdim_grad(g: Tensor, shape: tuple, dims: tuple, keepdim: bool) -> Tensor:
    """The output gradient with the reduced dims restored as size 1, ready to broadcast."""
    if keepdim or not dims:
        return g
    return g.reshape(_kept_shape(shape, dims))


def _times_mask(g: Tensor, mask: np.ndarray, shape: tuple) -> Tensor:
    """``g * mask`` broadcast to ``shape``; the mask is a constant, so this is right to any order."""
    if not building_graph():
        return wrap(np.broadcast_to(g._data * mask.astype(g._data.dtype, copy=False), shape).copy())
    return expand_to(g * wrap(mask.astype(g._data.dtype, copy=False)), shape)


def _ties(x: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Where ``x`` equals the reduced ``value`` (NaN matching NaN), as float weights summing to 1."""
    hit = (x == value)
    if x.dtype.kind == "f":
        hit |= np.isnan(x) & np.isnan(value)
    return hit


class _EvenlyDistributed(Function):
    """max/min/amax/amin over dims: the gradient is shared evenly among the tied extremes."""

    _numpy = None

    @classmethod
    def forward(cls, ctx, x, dims, keepdim):
        data = x._data
        value = cls._numpy(data, axis=dims, keepdims=True)
        hit = _ties(data, value)
        ctx.shape, ctx.dims, ctx.keepdim = data.shape, dims, keepdim
        result = wrap(value if keepdim else value.reshape(_dropped_shape(data.shape, dims)))
        if x.dtype.is_floating_point:
            ctx.weights = hit / np.sum(hit, axis=dims, keepdims=True)
            ctx.save_for_backward(result)  # as PyTorch, which reads it: changing it in place is an error
        return result

    @classmethod
    def backward(cls, ctx, g):
        ctx.saved_tensors  # the version check of the saved result
        g = _keepdim_grad(g, ctx.shape, ctx.dims, ctx.keepdim)
        return _times_mask(g, ctx.weights, ctx.shape), None, None


class MaxAll(_EvenlyDistributed):
    _backward_name = "MaxBackward1"
    _numpy = staticmethod(np.max)


class MinAll(_EvenlyDistributed):
    _backward_name = "MinBackward1"
    _numpy = staticmethod(np.min)


class Amax(_EvenlyDistributed):
    _backward_name = "AmaxBackward0"
    _numpy = staticmethod(np.max)


class Amin(_EvenlyDistributed):
    _backward_name = "AminBackward0"
    _numpy = staticmethod(np.min)


class MaxDim(Function):
    """max over one dim: (values, indices); the gradient goes to the returned (first) index."""

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
        g = _keepdim_grad(g, ctx.shape, (ctx.dim,), ctx.keepdim)
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
        return (MaxAll if name == "max" else MinAll).apply(x, tuple(range(x.ndim)), False)
    d = normalize_dim(dim, x.ndim)
    _empty_check(x, name, (d,) if x.ndim else ())
    values, indices = (MaxDim if name == "max" else MinDim).apply(x, d if x.ndim else 0, keepdim)
    return getattr(return_types, name)(values, indices)


def max(x: Tensor, dim=None, keepdim: bool = False):  # noqa: A001
    """``max(x)``, ``max(x, dim[, keepdim])`` -> (values, indices), or ``max(x, other)`` (maximum)."""
    return _max_or_min(x, dim, keepdim, "max")


def min(x: Tensor, dim=None, keepdim: bool = False):  # noqa: A001
    return _max_or_min(x, dim, keepdim, "min")


def _amax_or_amin(cls, name: str, x: Tensor, dim, keepdim: bool) -> Tensor:
    dims = normalize_dims(None if dim == () or dim == [] else dim, x.ndim)
    _empty_check(x, name, None if x._data.size == 0 and not dims else dims)
    return cls.apply(x, dims, keepdim)


def amax(x: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    return _amax_or_amin(Amax, "amax", x, dim, keepdim)


def amin(x: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    return _amax_or_amin(Amin, "amin", x, dim, keepdim)


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

class Prod(Function):
    """The product over dims.  Each gradient is the product of the *other* elements, which stays
    exact with zeros: one zero in a slice gets the product of the rest, the others get 0."""

    _backward_name = "ProdBackward1"

    @staticmethod
    def forward(ctx, x, dims, keepdim, dtype):
        result = wrap(np.prod(x._data, axis=dims, keepdims=keepdim, dtype=dtype))
        ctx.save_for_backward(x, result)  # the result too, as PyTorch: changing it in place is an error
        ctx.dims, ctx.keepdim = dims, keepdim
        return result

    @staticmethod
    def backward(ctx, g):
        x, _ = ctx.saved_tensors
        dims, shape = ctx.dims, x._data.shape
        g = _keepdim_grad(g, shape, dims, ctx.keepdim)
        if x.ndim == 0:  # the product of one number: PyTorch passes the gradient through as is
            return g, None, None, None
        if not building_graph():
            data = x._data.astype(g._data.dtype, copy=False)
            return wrap(g._data * _prod_of_others(data, dims)), None, None, None
        return g * _prod_of_others_graph(x if x.dtype is g.dtype else x.to(g.dtype), dims), None, None, None


class ProdAll(Prod):
    _backward_name = "ProdBackward0"


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
    from .shape import cat
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
        return ProdAll.apply(x, tuple(range(x.ndim)), False, out)
    if not isinstance(dim, (int, np.integer)):
        raise TypeError("prod(): argument 'dim' must be int, not " + type(dim).__name__)
    return Prod.apply(x, normalize_dims(dim, x.ndim), keepdim, out)


# -- var / std ------------------------------------------------------------------------------

def _correction(unbiased, correction) -> float:
    if correction is not None:
        if unbiased is not None:
            raise RuntimeError("Cannot specify both unbiased and correction")
        return float(correction)
    return 1.0 if unbiased is None or unbiased else 0.0


class Var(Function):
    _backward_name = "VarBackward0"

    @staticmethod
    def forward(ctx, x, dims, correction, keepdim):
        data = x._data
        count = int(np.prod([data.shape[d] for d in dims]))
        ctx.dims, ctx.keepdim, ctx.shape = dims, keepdim, data.shape
        ctx.denominator = builtins_max(count - correction, 0)
        ctx.save_for_backward(x)
        with np.errstate(divide="ignore", invalid="ignore"):
            centered = data - mean_array(data, axis=dims, keepdims=True)
            var = sum_array(centered * centered, axis=dims, keepdims=keepdim) / data.dtype.type(ctx.denominator)
        return wrap(np.asarray(var, data.dtype))

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        g = _keepdim_grad(g, ctx.shape, ctx.dims, ctx.keepdim)
        with np.errstate(divide="ignore", invalid="ignore"):
            if not building_graph():
                data = x._data
                centered = data - mean_array(data, axis=ctx.dims, keepdims=True)
                return wrap(g._data * (2 / data.dtype.type(ctx.denominator)) * centered), None, None, None
            if not ctx.denominator and x.ndim == 0:  # PyTorch: nan (x is its mean), a constant of x
                return g * wrap(np.array(np.nan, x._data.dtype)), None, None, None
            centered = x - x.mean(ctx.dims, keepdim=True)
            scale = 2 / ctx.denominator if ctx.denominator else math.inf  # no more elements than the correction
            return g * scale * centered, None, None, None


class Std(Function):
    _backward_name = "StdBackward0"

    @staticmethod
    def forward(ctx, x, dims, correction, keepdim):
        var = Var.forward(ctx, x, dims, correction, keepdim)
        std = wrap(np.sqrt(var._data))
        ctx.save_for_backward(x, std)
        return std

    @staticmethod
    def backward(ctx, g):
        x, std = ctx.saved_tensors
        g = _keepdim_grad(g, ctx.shape, ctx.dims, ctx.keepdim)
        s = _keepdim_grad(std, ctx.shape, ctx.dims, ctx.keepdim)
        with np.errstate(divide="ignore", invalid="ignore"):
            if not building_graph():
                data = x._data
                centered = data - mean_array(data, axis=ctx.dims, keepdims=True)
                grad = g._data * centered / (s._data * data.dtype.type(ctx.denominator))
                return wrap(np.where(s._data == 0, 0, grad)), None, None, None  # PyTorch: 0 where std == 0
            centered = x - x.mean(ctx.dims, keepdim=True)
            return where(s == 0, 0.0, g * centered / (s * ctx.denominator)), None, None, None


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
    return Var.apply(x, *_var_args(x, "var", dim, unbiased, keepdim, correction))


def std(x: Tensor, dim=None, unbiased=None, keepdim: bool = False, *, correction=None) -> Tensor:
    return Std.apply(x, *_var_args(x, "std", dim, unbiased, keepdim, correction))


# -- norm --------------------------------------------------------------------------------------

class VectorNorm(Function):
    """The p-norm over dims (``torch.linalg.vector_norm``); every p shares PyTorch's one node name.

    Unlike sum/mean, PyTorch's norm adds float32 sequentially over an outer dim, as ``np.sum``
    does, so it keeps ``np.sum`` to print the same values."""

    _backward_name = "LinalgVectorNormBackward0"

    @staticmethod
    def forward(ctx, x, p, dims, keepdim):
        data = x._data
        a = np.abs(data)
        if p == float("inf"):
            out = np.max(a, axis=dims, keepdims=True) if a.size else np.zeros(_kept_shape(a.shape, dims), a.dtype)
        elif p == float("-inf"):
            out = np.min(a, axis=dims, keepdims=True)
        elif p == 0:
            out = np.sum(a != 0, axis=dims, keepdims=True).astype(data.dtype)
        elif p == 1:
            out = np.sum(a, axis=dims, keepdims=True)
        elif p == 2:
            out = np.sqrt(np.sum(a * a, axis=dims, keepdims=True))
        else:
            out = np.power(np.sum(np.power(a, p), axis=dims, keepdims=True), 1.0 / p).astype(data.dtype)
        ctx.p, ctx.dims, ctx.keepdim, ctx.shape = p, dims, keepdim, data.shape
        result = wrap(out if keepdim else out.reshape(_dropped_shape(data.shape, dims)))
        ctx.save_for_backward(x, result)  # the output itself, so double backward sees it depend on x
        return result

    @staticmethod
    def backward(ctx, g):
        x, result = ctx.saved_tensors
        p = ctx.p
        g = _keepdim_grad(g, ctx.shape, ctx.dims, ctx.keepdim)
        norm = _keepdim_grad(result, ctx.shape, ctx.dims, ctx.keepdim)
        fast = not building_graph()
        data = x._data
        if p == 0:
            return wrap(np.zeros(ctx.shape, g._data.dtype)), None, None, None
        if p in (float("inf"), float("-inf")):
            hit = np.abs(data) == norm._data
            weights = np.sign(data) * hit / np.sum(hit, axis=ctx.dims, keepdims=True)
            return _times_mask(g, weights, ctx.shape), None, None, None
        if p == 1:
            return _times_mask(g, np.sign(data), ctx.shape), None, None, None
        with np.errstate(divide="ignore", invalid="ignore"):
            if p == 2:
                if fast:
                    n = norm._data
                    return wrap(np.where(n == 0, 0, g._data * data / n)), None, None, None
                return where(norm == 0, 0.0, g * x / norm), None, None, None
            if fast:
                n = norm._data
                scale = data * np.power(np.abs(data), p - 2) / np.power(n, p - 1)
                return wrap(np.where(n == 0, 0, g._data * scale)), None, None, None
            return where(norm == 0, 0.0, g * x * x.abs() ** (p - 2) / norm ** (p - 1)), None, None, None


class _Dist(VectorNorm):
    """``torch.dist(a, b)``: the norm of the difference, under PyTorch's node name for it."""

    _backward_name = "DistBackward0"


def vector_norm(x: Tensor, ord=2, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:  # noqa: A002
    if dtype is not None:
        x = x.to(dtype)
    if not x.dtype.is_floating_point:
        raise RuntimeError("linalg.vector_norm: Expected a floating point or complex tensor as input. "
                           f"Got {x.dtype._tensor_type[:-6]}")
    return VectorNorm.apply(x, float(ord), normalize_dims(dim, x.ndim), keepdim)


def norm(x: Tensor, p="fro", dim=None, keepdim: bool = False, dtype=None) -> Tensor:
    """``x.norm(p)``: the vector p-norm over all elements or ``dim`` ('fro' is the 2-norm)."""
    if p == "fro" or p is None:
        p = 2
    elif isinstance(p, str):
        raise RuntimeError(f"norm: unsupported p={p!r} (pygrad implements vector norms and 'fro')")
    return vector_norm(x, p, dim, keepdim, dtype=dtype)


# -- logsumexp and cumsum --------------------------------------------------------------------

class Logsumexp(Function):
    _backward_name = "LogsumexpBackward0"

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        data = x._data
        m = np.max(data, axis=dims, keepdims=True) if data.size else np.zeros(_kept_shape(data.shape, dims), data.dtype)
        m = np.where(np.isfinite(m), m, 0)  # all -inf (or inf) slices: shift by 0
        with np.errstate(divide="ignore"):
            out = np.log(sum_array(np.exp(data - m), axis=dims, keepdims=True)) + m
        ctx.dims, ctx.keepdim, ctx.shape = dims, keepdim, data.shape
        result = wrap(out if keepdim else out.reshape(_dropped_shape(data.shape, dims)))
        ctx.save_for_backward(x, result)  # the output itself, so double backward sees it depend on x
        return result

    @staticmethod
    def backward(ctx, g):
        x, result = ctx.saved_tensors
        g = _keepdim_grad(g, ctx.shape, ctx.dims, ctx.keepdim)
        result = _keepdim_grad(result, ctx.shape, ctx.dims, ctx.keepdim)
        if not building_graph():
            return wrap(g._data * np.exp(x._data - result._data)), None, None
        return g * (x - result).exp(), None, None


def logsumexp(x: Tensor, dim, keepdim: bool = False) -> Tensor:
    if not x.dtype.is_floating_point:
        x = x.to(dtypes.get_default_dtype())
    return Logsumexp.apply(x, normalize_dims(dim, x.ndim), keepdim)


class Cumsum(Function):
    _backward_name = "CumsumBackward0"

    @staticmethod
    def forward(ctx, x, dim, dtype):
        ctx.dim = dim
        return wrap(cumsum_array(x._data, axis=dim, dtype=dtype) if x.ndim else x._data.astype(dtype))

    @staticmethod
    def backward(ctx, g):
        dim = ctx.dim
        if g.ndim == 0:
            return g, None, None
        if not building_graph():
            return wrap(np.flip(cumsum_array(np.flip(g._data, dim), axis=dim), dim).copy()), None, None
        # The reversed cumulative sum, from differentiable ops: total - cumsum + g.
        return g.sum(dim, keepdim=True) - g.cumsum(dim) + g, None, None


class Cumprod(Function):
    _backward_name = "CumprodBackward0"

    @staticmethod
    def forward(ctx, x, dim, dtype):
        ctx.dim = dim
        result = wrap(np.cumprod(x._data, axis=dim, dtype=dtype) if x.ndim else x._data.astype(dtype))
        ctx.save_for_backward(x, result)  # the result too, as PyTorch: changing it in place is an error
        return result

    @staticmethod
    def backward(ctx, g):
        x, _ = ctx.saved_tensors
        dim = ctx.dim
        if g.ndim == 0:
            return g, None, None
        xs = x if x.dtype == g.dtype else x.to(g.dtype)
        if not (x._data == 0).any():
            # d out_j / d x_i = out_j / x_i for j >= i: a reversed cumulative sum of g*out, over x.
            if not building_graph():
                t = g._data * np.cumprod(xs._data, axis=dim)
                return wrap(np.flip(cumsum_array(np.flip(t, dim), axis=dim), dim) / xs._data), None, None
            t = g * xs.cumprod(dim)
            return (t.sum(dim, keepdim=True) - t.cumsum(dim) + t) / xs, None, None
        # With zeros, each x_i's gradient is sum_{j>=i} g_j * prod_{k<=j, k!=i} x_k, taken one i at a time.
        from .shape import stack
        n = x.shape[dim]
        place = np.arange(n).reshape((-1,) + (1,) * (x.ndim - 1 - dim))
        grads = []
        for i in range(n):
            without_i = where(wrap(place == i), wrap(np.ones((), xs._data.dtype)), xs)
            later = wrap((place >= i).astype(xs._data.dtype))
            grads.append((g * without_i.cumprod(dim) * later).sum(dim))
        result = stack(grads, dim)
        return (result if building_graph() else wrap(result._data)), None, None


def cumulative_args(x: Tensor, dim, dtype) -> tuple:
    """The dim and the dtype ``cumsum``/``cumprod`` compute in."""
    return normalize_dim(dim, x.ndim), _reduced_dtype(x, dtype)


def cumprod(x: Tensor, dim, *, dtype=None) -> Tensor:
    return Cumprod.apply(x, *cumulative_args(x, dim, dtype))


def cumsum(x: Tensor, dim, *, dtype=None) -> Tensor:
    return Cumsum.apply(x, *cumulative_args(x, dim, dtype))
