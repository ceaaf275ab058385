"""Helpers shared by the op modules: operand conversion, dims and broadcasting."""
from __future__ import annotations

import numpy as np

from .. import _errstate, dtypes
from .._arrays import checked_array
from .._backend import core as _core
from ..autograd import engine as _engine
from .._errors import broadcast_mismatch
from ..size import size_arguments
from ..tensor import Tensor

wrap = Tensor._wrap
_asarray = np.asarray


def as_tensor(value, dtype: dtypes.dtype | None = None) -> Tensor:
    """A Tensor for an operand: Tensors pass through, numbers and arrays are wrapped."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (bool, int, float, np.generic)):
        d = dtype or dtypes.scalar_dtype(value)
        return wrap(np.array(value, dtype=d.numpy))
    if isinstance(value, np.ndarray):
        value = checked_array(value, convert_byte_order=True)
        return wrap(value if dtype is None else value.astype(dtype.numpy, copy=False))
    raise TypeError(f"expected a Tensor or a number as operand, got {type(value).__name__}")


_array_of = _core.TensorBase.__dict__["_data"].__get__


def binary_operands(a, b) -> tuple[Tensor, Tensor]:
    """Both operands as Tensors; a Python scalar becomes a 0-d tensor of the result dtype."""
    if isinstance(a, Tensor):
        if isinstance(b, Tensor):
            return a, b
        # The common ``x * 2.0``: a Python number never changes a floating tensor's dtype.
        if type(b) is float or type(b) is int:
            dtype = _array_of(a).dtype  # the slot itself: a pending fused result is not computed for this
            if dtype.kind == "f":
                return a, (_wrapped_float(b, dtype) if type(b) is float else wrap(_number_array(b, dtype)))
    if isinstance(b, np.ndarray):
        b = as_tensor(b)
    if isinstance(a, np.ndarray):
        a = as_tensor(a)
    result = dtypes.result_type(a, b)
    return as_tensor(a, result), as_tensor(b, result)


# The 0-d tensors of recent Python floats, shared by the ops on them: a node that saves its
# operand (``x * 0.5``) then keeps no tensor of its own alive.  Read-only, so no op can change a
# shared value.  The compiled core keeps its own table of them.
_WRAPPED: dict = {}


def _number_array(value, dtype) -> np.ndarray:
    """``value`` as a 0-d array of ``dtype``; beyond its range, inf without a warning (as PyTorch)."""
    token = _errstate.quiet()
    try:
        return _asarray(value, dtype)
    finally:
        _errstate.restore(token)


def _wrapped_float(value: float, dtype) -> Tensor:
    if value != value:  # NaN: its payload is not in the key
        return wrap(_asarray(value, dtype))
    key = (dtype, value.hex())
    t = _WRAPPED.get(key)
    if t is None:
        array = _number_array(value, dtype)
        array.flags.writeable = False
        if len(_WRAPPED) >= 128:
            _WRAPPED.clear()
        t = _WRAPPED[key] = wrap(array)
    return t


def same_dtype_arrays(a: Tensor, b: Tensor, result: dtypes.dtype | None = None):
    """The arrays of ``a`` and ``b`` cast to their promoted dtype, broadcast-checked."""
    x, y = a._data, b._data
    if result is None and x.dtype is y.dtype:  # the common case: nothing to promote or cast
        if x.shape != y.shape and x.ndim and y.ndim:  # a 0-d operand always broadcasts
            broadcast_shape(x.shape, y.shape)
        return x, y
    if result is None:
        result = dtypes.result_type(a, b) if x.dtype != y.dtype else a.dtype
    target = result.numpy
    if x.dtype != target:
        x = x.astype(target)
    if y.dtype != target:
        y = y.astype(target)
    if x.shape != y.shape and x.ndim and y.ndim:
        broadcast_shape(x.shape, y.shape)
    return x, y


# The compiled core answers the common cases of these two in C and calls the definitions
# above for the rest.
binary_operands, same_dtype_arrays = _core.fast_operands(binary_operands, same_dtype_arrays)


def broadcast_shape(a: tuple, b: tuple) -> tuple:
    """The broadcast of two shapes, or PyTorch's error naming the last mismatching dim."""
    n = max(len(a), len(b))
    a = (1,) * (n - len(a)) + tuple(a)
    b = (1,) * (n - len(b)) + tuple(b)
    for i in range(n - 1, -1, -1):
        if a[i] != b[i] and a[i] != 1 and b[i] != 1:
            raise RuntimeError(broadcast_mismatch(a[i], b[i], i))
    return tuple(y if x == 1 else x for x, y in zip(a, b))


def normalize_dim(dim: int, ndim: int) -> int:
    """``dim`` as a non-negative index, with PyTorch's IndexError when out of range."""
    if isinstance(dim, Tensor):
        dim = int(dim)
    low, high = (-1, 0) if ndim == 0 else (-ndim, ndim - 1)
    if not low <= dim <= high:
        raise IndexError(f"Dimension out of range (expected to be in range of [{low}, {high}], "
                         f"but got {dim})")
    return dim % max(ndim, 1)


def normalize_dims(dim, ndim: int) -> tuple[int, ...]:
    """A sorted tuple of distinct dims from an int, a sequence or None (all dims)."""
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, (int, np.integer)):
        dim = (dim,)
    dims = tuple(normalize_dim(d, ndim) for d in dim)
    if ndim == 0:
        return ()
    for d in set(dims):
        if dims.count(d) > 1:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
    return tuple(sorted(dims))


# -- sums with PyTorch's accuracy ------------------------------------------------------------
# NumPy sums float32 pairwise only along the contiguous inner axis; over any other axis (and in
# cumsum) it adds sequentially in float32, which drifts by ~1% over a million terms.  PyTorch keeps
# such sums accurate, so float16/float32 sums accumulate in float64 and are cast back.  The
# reduction is buffered by NumPy: no float64 copy of the whole input is made.

_LOW_PRECISION = (np.dtype(np.float16), np.dtype(np.float32))
_FLOAT64 = np.dtype(np.float64)


def _accumulator(array: np.ndarray, dtype) -> tuple[np.dtype, np.dtype]:
    """(the dtype to accumulate in, the dtype of the result) for summing ``array``."""
    result = array.dtype if dtype is None else np.dtype(dtype)
    if result in _LOW_PRECISION:
        return _FLOAT64, result
    return result, result


def _pairwise(array: np.ndarray, axis) -> bool:
    """True when NumPy sums over one contiguous block (all of a C-contiguous array, or its
    trailing dims): it then adds pairwise, accurate enough in the array's own dtype and much
    faster than converting every element to float64."""
    if not array.flags.c_contiguous:
        return False
    if axis is None:
        return True
    if type(axis) is int:
        return axis % array.ndim == array.ndim - 1
    axes = sorted(a % array.ndim for a in ((axis,) if isinstance(axis, int) else axis))
    return axes == list(range(array.ndim - len(axes), array.ndim))


def sum_array(array: np.ndarray, axis=None, keepdims: bool = False, dtype=None) -> np.ndarray:
    """``np.sum`` of ``array``; float16/float32 accumulate in float64 unless NumPy sums pairwise."""
    result = array.dtype if dtype is None else np.dtype(dtype)
    if result in _LOW_PRECISION and not _pairwise(array, axis):
        return np.asarray(np.add.reduce(array, axis=axis, dtype=_FLOAT64, keepdims=keepdims), result)
    return np.asarray(np.add.reduce(array, axis=axis, dtype=result, keepdims=keepdims))


def mean_array(array: np.ndarray, axis=None, keepdims: bool = False, dtype=None) -> np.ndarray:
    """``np.mean`` of ``array``, accumulating float16/float32 in float64."""
    acc, result = _accumulator(array, dtype)
    if axis is None and array.size:  # np.mean's own arithmetic, without its Python frames
        return np.asarray(np.true_divide(np.add.reduce(array, None, acc, None, keepdims), array.size), result)
    if not array.size:  # a mean of nothing is nan, as in PyTorch, without np.mean's "Mean of empty slice"
        axes = range(array.ndim) if axis is None else axis if isinstance(axis, tuple) else (axis,)
        count = 1
        for a in axes:
            count *= array.shape[a]
        with np.errstate(invalid="ignore"):
            return np.asarray(np.true_divide(np.add.reduce(array, axis, acc, None, keepdims), count), result)
    return np.asarray(np.mean(array, axis=axis, dtype=acc, keepdims=keepdims), result)


def cumsum_array(array: np.ndarray, axis: int, dtype=None) -> np.ndarray:
    """``np.cumsum`` of ``array``, accumulating float16/float32 in float64."""
    acc, result = _accumulator(array, dtype)
    out = np.cumsum(array, axis=axis, dtype=acc)
    return out.astype(result, copy=False)


def reduce_to_shape(array: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum a broadcast gradient back to ``shape``."""
    if array.shape == shape:
        return array
    lead = array.ndim - len(shape)
    if lead == 1 and array.shape[1:] == shape:  # a bias's gradient: only the leading dim summed away
        return sum_array(array, axis=0)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, s in enumerate(shape) if s == 1 and array.shape[lead + i] != 1)
    out = sum_array(array, axis=axes, keepdims=True) if axes else array
    return out.reshape(shape)


_engine.reduce_to_shape = reduce_to_shape  # plain backward's fitting of broadcast gradients


def expand_array(g, shape: tuple) -> np.ndarray:
    """``np.broadcast_to(g, shape)`` (a read-only view; ``g`` itself when it has the shape): for a
    0-d ``g`` (the gradient of a loss's sum or mean) made directly, without NumPy's Python frames."""
    if g.shape == shape:
        return g
    if g.ndim == 0 and isinstance(g, (np.ndarray, np.generic)):
        out = np.ndarray(shape, g.dtype, g, 0, (0,) * len(shape))
        out.flags.writeable = False
        return out
    return np.broadcast_to(g, shape)


def float_dtype_of(t: Tensor) -> dtypes.dtype:
    """The dtype a floating op computes in: the tensor's own, or the default for integers."""
    d = t.dtype
    return d if d.is_floating_point else dtypes.get_default_dtype()


def parse_shape(shape, fn: str, arg: str = "size") -> tuple:
    """``view(2, 3)`` and ``view((2, 3))`` alike; ints only, with PyTorch's error for ``fn``'s ``arg``."""
    return size_arguments(shape, fn, arg)
