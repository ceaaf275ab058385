"""Arithmetic: + - * / ** and negation, with broadcasting and PyTorch's dtype promotion.

Python scalars become 0-d tensors of the result dtype before an op is applied, so
``x * 3`` saves its operand like PyTorch's ``MulBackward0`` does.  Gradients are not
reduced to the inputs' shapes here: the engine does that in one place.
"""
from __future__ import annotations

import numpy as np

from .. import dtypes
from .._errors import C_TYPE_NAMES
from .._backend import kernels
from ..tensor import Tensor
from ._util import as_tensor, binary_operands, broadcast_shape, same_dtype_arrays, wrap


# -- forwards of the op table's entries (ops/optable.py) that need more than one kernel call ----

def pow_number(x: Tensor, p) -> np.ndarray:
    """``x ** p`` with a Python number exponent, in their promoted dtype."""
    data = x._data
    if data.dtype.kind == "f" and type(p) in (int, float):  # a number keeps a float dtype
        return kernels.pow(data, np.asarray(p, data.dtype))
    base, exponent = same_dtype_arrays(x, as_tensor(p, dtypes.result_type(x, p)))
    return kernels.pow(base, exponent)


def number_pow(x: Tensor, base) -> np.ndarray:
    """``base ** x`` with a Python number base."""
    b, exponent = same_dtype_arrays(as_tensor(base, dtypes.result_type(base, x)), x)
    return kernels.pow(b, exponent)


def clamp_numbers(x: Tensor, lo, hi) -> np.ndarray:
    result = dtypes.result_type(x, *(v for v in (lo, hi) if v is not None)).numpy
    bounds = (None if lo is None else result.type(lo), None if hi is None else result.type(hi))
    return kernels.clamp(x._data.astype(result, copy=False), *bounds)


def clamp_tensors(x: Tensor, lo: Tensor | None, hi: Tensor | None) -> np.ndarray:
    given = [t for t in (x, lo, hi) if t is not None]
    result = dtypes.result_type(*given).numpy
    arrays = [None if t is None else t._data.astype(result, copy=False) for t in (x, lo, hi)]
    shape = x._data.shape
    for t in given[1:]:
        shape = broadcast_shape(shape, t._data.shape)
    return np.broadcast_to(kernels.clamp(*arrays), shape).copy()


def clamp_masks(x: np.ndarray, lo, hi, dtype) -> tuple:
    """The 0/1 masks of where x, min and max get clamp's gradient (min and max: where they bite)."""
    x, lo, hi = (None if a is None else a.astype(dtype, copy=False) for a in (x, lo, hi))
    one = np.ones((), dtype)
    zero = 0 * one
    below, above = (x < lo) if lo is not None else None, (x > hi) if hi is not None else None
    if lo is not None and hi is not None:
        # Crossed bounds (min > max) give max everywhere, so only max gets the gradient.
        below, above = below & (lo < hi), above | (hi < lo)
    return (kernels.clamp_backward(one, x, lo, hi),
            None if lo is None else np.where(below, one, zero),
            None if hi is None else np.where(above, one, zero))


def masked_fill_forward(x: Tensor, mask: np.ndarray, value) -> np.ndarray:
    data = x._data
    if mask.shape != data.shape:
        data = np.broadcast_to(data, broadcast_shape(data.shape, mask.shape))
    fill = np.array(value._data if isinstance(value, Tensor) else value).astype(data.dtype)
    return np.asarray(np.where(mask, fill, data), order="C")  # PyTorch: contiguous, whatever x is


def lerp_tensor_weight(a: Tensor, b: Tensor, w: Tensor) -> np.ndarray:
    x, y = same_dtype_arrays(a, b)
    weight = w._data.astype(x.dtype, copy=False)
    shape = broadcast_shape(broadcast_shape(x.shape, y.shape), weight.shape)
    return np.broadcast_to(kernels.lerp(x, y, weight), shape).copy()


def _three_arrays(x: Tensor, t1: Tensor, t2: Tensor) -> tuple:
    """The arrays of three tensors in their common dtype (the arrays as they are when they agree)."""
    a, b = same_dtype_arrays(x, t1)
    a, c = same_dtype_arrays(wrap(a), t2)
    b = b.astype(a.dtype, copy=False)
    np.broadcast_shapes(a.shape, b.shape, c.shape)
    return a, b, c


def addcmul_forward(x: Tensor, t1: Tensor, t2: Tensor, value) -> np.ndarray:
    a, b, c = _three_arrays(x, t1, t2)
    return np.asarray(a + np.asarray(value, a.dtype) * (b * c), a.dtype)


def addcdiv_forward(x: Tensor, t1: Tensor, t2: Tensor, value) -> np.ndarray:
    a, b, c = _three_arrays(x, t1, t2)
    return np.asarray(a + np.asarray(value, a.dtype) * (b / c), a.dtype)


def div_rounding(a: Tensor, b: Tensor, mode: str) -> np.ndarray:
    """``div(a, b, rounding_mode='trunc'|'floor')``."""
    x, y = same_dtype_arrays(a, b)
    if x.dtype.kind in "iub":
        if not np.all(y):
            raise RuntimeError("ZeroDivisionError")
        q = np.floor_divide(x, y)
        if mode == "trunc":  # floor rounds towards -inf; trunc steps back up when the signs differ
            q = q + ((np.remainder(x, y) != 0) & ((x < 0) != (y < 0)))
        return q.astype(x.dtype, copy=False)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.trunc(x / y) if mode == "trunc" else np.floor_divide(x, y)


# -- the functions Tensor's operators call ---------------------------------------------------

def check_alpha(a, b, alpha) -> None:
    """PyTorch refuses a float ``alpha=`` of add/sub for integer operands."""
    if isinstance(alpha, float) and not dtypes.result_type(*binary_operands(a, b)).is_floating_point:
        raise RuntimeError("For integral input tensors, argument alpha must not be a floating point number.")


def scaled_operand(a, b, alpha):
    """``b * alpha`` for the ``alpha=`` of add/sub."""
    if type(alpha) is int and alpha == 1:
        return b
    check_alpha(a, b, alpha)
    return b * alpha if isinstance(b, (bool, int, float)) else as_tensor(b) * alpha


def _is_bool(v) -> bool:
    """A bool operand as PyTorch sees one: a bool tensor or a Python bool (NumPy's bool_ is a float)."""
    return type(v) is bool or (isinstance(v, Tensor) and v.dtype is dtypes.bool)


def _check_bool_subtraction(a, b) -> None:
    bools = _is_bool(a) + _is_bool(b)
    if bools == 2:
        raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not supported. "
                           "Use the `^` or `logical_xor()` operator instead.")
    if bools:
        raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not supported. If you are "
                           "trying to invert a mask, use the `~` or `logical_not()` operator instead.")


def check_rounding_mode(mode) -> None:
    if mode not in ("trunc", "floor"):
        raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found '{mode}'")


def not_both_bool(kernel: str, a: Tensor, b: Tensor) -> tuple:
    """PyTorch has no bool kernel for ``pow``, ``remainder``, ``fmod``: two bool tensors are refused."""
    if a.dtype is dtypes.bool and b.dtype is dtypes.bool:
        raise NotImplementedError(f'"{kernel}" not implemented for \'Bool\'')
    return a, b


def compare(ufunc, a, b) -> Tensor:
    """A comparison: a bool tensor, outside the graph."""
    if not isinstance(b, (Tensor, np.ndarray, bool, int, float, np.generic)):
        return NotImplemented
    x, y = same_dtype_arrays(*binary_operands(a, b))
    return wrap(ufunc(x, y))


def _require_tensor(fn: str, value, position: int, name: str) -> None:
    if not isinstance(value, Tensor):
        raise TypeError(f"{fn}(): argument '{name}' (position {position}) must be Tensor, "
                        f"not {type(value).__name__}")


def clamp_args(x: Tensor, min, max) -> tuple:  # noqa: A002 - PyTorch's keyword names
    """(whether a bound is a tensor, the bound operands) of ``clamp(x, min, max)``, checked."""
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        bounds = tuple(None if v is None else as_tensor(v, None if isinstance(v, Tensor) else x.dtype)
                       for v in (min, max))
        return True, bounds
    for v in (min, max):
        if v is not None and not isinstance(v, (bool, int, float, np.generic)):
            raise TypeError(f"clamp(): min and max must be numbers or Tensors, got {type(v).__name__}")
    return False, (min, max)


def masked_fill_args(x: Tensor, mask, value) -> tuple:
    """(whether the value is a tensor, the mask array, the value) of ``x.masked_fill(mask, value)``,
    checked as PyTorch does."""
    mask = as_tensor(mask)
    if mask.dtype is not dtypes.bool:
        raise RuntimeError("masked_fill_ only supports boolean masks, but got mask with dtype "
                           f"{C_TYPE_NAMES[mask.dtype.name]}")
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError("masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                               f"{value.ndim} dimension(s).")
        return True, mask._data, value
    if not isinstance(value, (bool, int, float, np.generic)):
        got = f"!{type(value).__name__}!"
        raise TypeError(f"masked_fill() received an invalid combination of arguments - got (Tensor, "
                        f"{type(value).__name__}), but expected one of:\n * (Tensor mask, Tensor value)\n      didn't "
                        f"match because some of the arguments have invalid types: (Tensor, {got})\n * (Tensor mask, "
                        f"Number value)\n      didn't match because some of the arguments have invalid types: "
                        f"(Tensor, {got})\n")
    return False, mask._data, value


def _floating_result(*tensors) -> dtypes.dtype:
    """The promoted dtype, or the default float when it is an integer type."""
    result = dtypes.result_type(*tensors)
    return result if result.is_floating_point else dtypes.get_default_dtype()


def _floating_only(name: str, a: Tensor, b: Tensor) -> None:
    result = dtypes.result_type(a, b)
    if not result.is_floating_point:
        raise NotImplementedError(f'"{name}_cpu" not implemented for \'{result._tensor_type.removesuffix("Tensor")}\'')


def lerp_args(a: Tensor, b: Tensor, weight) -> tuple:
    """Whether ``weight`` is a tensor, after PyTorch's dtype checks of ``lerp(a, b, weight)``."""
    def dtype_name(t):
        return C_TYPE_NAMES[t.dtype.name]
    _require_tensor("lerp", b, 2, "end")
    if b.dtype is not a.dtype:
        raise RuntimeError(f"expected dtype {dtype_name(a)} for `end` but got dtype {dtype_name(b)}")
    if not a.dtype.is_floating_point:
        raise NotImplementedError(f'"lerp_kernel_scalar" not implemented for \'{a.dtype._tensor_type.removesuffix("Tensor")}\'')
    if isinstance(weight, Tensor):
        if weight.ndim and weight.dtype is not a.dtype:
            raise RuntimeError(f"expected dtype {dtype_name(a)} for `weight` but got dtype {dtype_name(weight)}")
        return True
    return False


def bound_is_tensor(bound) -> bool:
    if isinstance(bound, Tensor):
        return True
    if not isinstance(bound, (bool, int, float, np.generic)):
        raise TypeError(f"expected a number or a Tensor as bound, got {type(bound).__name__}")
    return False


def check_addcdiv(tensor1: Tensor, tensor2: Tensor) -> None:
    if not dtypes.result_type(tensor1, tensor2).is_floating_point:
        raise RuntimeError("Integer division with addcdiv is no longer supported, and in a future release "
                           "addcdiv will perform a true division of tensor1 and tensor2. The historic addcdiv "
                           "behavior can be implemented as (input + value * torch.trunc(tensor1 / tensor2)).to("
                           "input.dtype) for integer inputs and as (input + value * tensor1 / tensor2) for float "
                           "inputs. The future addcdiv behavior is just the latter implementation: (input + value "
                           "* tensor1 / tensor2), for all dtypes.")
