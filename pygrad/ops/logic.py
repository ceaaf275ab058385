"""Predicates and logic: all/any, isnan/isinf/isfinite, isclose/allclose/equal, logical_*,
nonzero and count_nonzero.  None of them is differentiable: results are bool or int64
tensors (or Python bools) outside the graph."""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from ._util import broadcast_shape, normalize_dims, wrap
from .arith import compare as elementwise

__all__ = ["all", "any", "isnan", "isinf", "isfinite", "isposinf", "isneginf", "isclose", "allclose",
           "equal", "logical_not", "logical_and", "logical_or", "logical_xor", "nonzero", "count_nonzero",
           "is_floating_point", "is_nonzero", "eq", "ne", "lt", "le", "gt", "ge"]


def _require_tensor(fn: str, value, position: int = 1, name: str = "input") -> None:
    if not isinstance(value, Tensor):
        raise TypeError(f"{fn}(): argument '{name}' (position {position}) must be Tensor, "
                        f"not {type(value).__name__}")


def _truth_reduce(ufunc, x: Tensor, dim, keepdim: bool, name: str) -> Tensor:
    """all/any over ``dim`` (None: every element); uint8 stays uint8 as in PyTorch, else bool."""
    _require_tensor(name, x)
    data = x._data
    dims = normalize_dims(dim, data.ndim)
    result = ufunc.reduce(data != 0, axis=dims, keepdims=keepdim)
    out = np.asarray(result)
    return wrap(out.astype(np.uint8) if data.dtype == np.uint8 else out)


def all(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:  # noqa: A001 - PyTorch's name
    """True where every element (along ``dim``) is nonzero."""
    return _truth_reduce(np.logical_and, x, dim, keepdim, "all")


def any(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:  # noqa: A001
    """True where some element (along ``dim``) is nonzero."""
    return _truth_reduce(np.logical_or, x, dim, keepdim, "any")


def _classify(x: Tensor, name: str, test, integer_value: bool) -> Tensor:
    _require_tensor(name, x)
    if not x.dtype.is_floating_point:
        return wrap(np.full(x._data.shape, integer_value))
    return wrap(test(x._data))


def isnan(x: Tensor) -> Tensor:
    """True where the element is NaN."""
    return _classify(x, "isnan", np.isnan, False)


def isinf(x: Tensor) -> Tensor:
    """True where the element is positive or negative infinity."""
    return _classify(x, "isinf", np.isinf, False)


def isfinite(x: Tensor) -> Tensor:
    """True where the element is neither infinite nor NaN."""
    return _classify(x, "isfinite", np.isfinite, True)


def isposinf(x: Tensor) -> Tensor:
    """True where the element is positive infinity."""
    return _classify(x, "isposinf", np.isposinf, False)


def isneginf(x: Tensor) -> Tensor:
    """True where the element is negative infinity."""
    return _classify(x, "isneginf", np.isneginf, False)


def _same_dtype(a: Tensor, b: Tensor) -> None:
    if a.dtype is not b.dtype:
        raise RuntimeError(f"{_scalar_name(a)} did not match {_scalar_name(b)}")


def _scalar_name(t: Tensor) -> str:
    return t.dtype._tensor_type.removesuffix("Tensor")


def isclose(a: Tensor, b: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Tensor:
    """``|a - b| <= atol + rtol * |b|`` elementwise (inf equals inf of the same sign)."""
    _require_tensor("isclose", a)
    _require_tensor("isclose", b, 2, "other")
    _same_dtype(a, b)
    if rtol < 0:
        raise RuntimeError(f"rtol must be greater than or equal to zero, but got {rtol}")
    if atol < 0:
        raise RuntimeError(f"atol must be greater than or equal to zero, but got {atol}")
    x, y = a._data, b._data
    broadcast_shape(x.shape, y.shape)
    if not a.dtype.is_floating_point:
        x, y = x.astype(np.float64), y.astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        return wrap(np.asarray(np.isclose(x, y, rtol=rtol, atol=atol, equal_nan=equal_nan)))


def allclose(a: Tensor, b: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
    """Whether every element of ``input`` is close to ``other``: ``|input - other| <= atol + rtol * |other|``."""
    return bool(np.all(isclose(a, b, rtol, atol, equal_nan)._data))


def equal(a: Tensor, b: Tensor) -> bool:
    """True when both have the same shape and the same values (NaN is never equal)."""
    _require_tensor("equal", a)
    _require_tensor("equal", b, 2, "other")
    return a._data.shape == b._data.shape and bool(np.all(a._data == b._data))


def logical_not(x: Tensor) -> Tensor:
    """Elementwise logical NOT (nonzero is True)."""
    _require_tensor("logical_not", x)
    return wrap(np.logical_not(x._data))


def _logical(ufunc, name: str, a: Tensor, b: Tensor) -> Tensor:
    _require_tensor(name, a)
    _require_tensor(name, b, 2, "other")
    broadcast_shape(a._data.shape, b._data.shape)
    return wrap(np.asarray(ufunc(a._data, b._data)))


def logical_and(a: Tensor, b: Tensor) -> Tensor:
    """Elementwise logical AND (nonzero is True)."""
    return _logical(np.logical_and, "logical_and", a, b)


def logical_or(a: Tensor, b: Tensor) -> Tensor:
    """Elementwise logical OR (nonzero is True)."""
    return _logical(np.logical_or, "logical_or", a, b)


def logical_xor(a: Tensor, b: Tensor) -> Tensor:
    """Elementwise logical XOR (nonzero is True)."""
    return _logical(np.logical_xor, "logical_xor", a, b)


def nonzero(x: Tensor, *, as_tuple: bool = False):
    """The indices of the non-zero elements: an (n, ndim) int64 tensor, or one 1-D tensor per dim."""
    _require_tensor("nonzero", x)
    data = x._data
    if as_tuple:
        return tuple(wrap(i.astype(np.int64)) for i in np.nonzero(np.atleast_1d(data)))
    if data.ndim == 0:
        return wrap(np.zeros((1 if data else 0, 0), np.int64))
    return wrap(np.argwhere(data).astype(np.int64))


def count_nonzero(x: Tensor, dim=None) -> Tensor:
    """The number of nonzero elements (along ``dim``)."""
    _require_tensor("count_nonzero", x)
    dims = normalize_dims(dim, x._data.ndim)
    return wrap(np.asarray(np.count_nonzero(x._data, axis=dims), np.int64))


def is_floating_point(x: Tensor) -> bool:
    """Whether ``input``'s dtype is a floating-point type."""
    _require_tensor("is_floating_point", x)
    return x.dtype.is_floating_point


def is_nonzero(x: Tensor) -> bool:
    """The truth of a one-element tensor."""
    _require_tensor("is_nonzero", x)
    return bool(x)


def _comparison(name: str, ufunc):
    def compare(input, other, *, out=None) -> Tensor:  # noqa: A002 - PyTorch's argument names
        """Elementwise ``input != other`` (a bool tensor)."""
        """Elementwise ``input < other`` (``lt``)."""
        """Elementwise ``input <= other`` (a bool tensor)."""
        """Elementwise ``input == other`` (a bool tensor)."""
        """Elementwise ``input > other`` (``gt``)."""
        """Elementwise ``input >= other`` (a bool tensor)."""
        result = elementwise(ufunc, input, other) if isinstance(input, Tensor) else NotImplemented
        if result is NotImplemented:
            got = ", ".join("Tensor" if isinstance(v, Tensor) else type(v).__name__ for v in (input, other))
            raise TypeError(f"{name}() received an invalid combination of arguments - got ({got}), but expected "
                            f"one of:\n * (Tensor input, Tensor other, *, Tensor out = None)\n"
                            f" * (Tensor input, Number other, *, Tensor out = None)\n")
        if out is not None:
            out.copy_(result)
            return out
        return result
    compare.__name__ = compare.__qualname__ = name
    return compare


eq = _comparison("eq", np.equal)
ne = _comparison("ne", np.not_equal)
lt = _comparison("lt", np.less)
le = _comparison("le", np.less_equal)
gt = _comparison("gt", np.greater)
ge = _comparison("ge", np.greater_equal)
