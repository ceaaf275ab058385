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
from ..autograd.function import Function
from ..tensor import Tensor
from ._util import as_tensor, binary_operands, broadcast_shape, building_graph, same_dtype_arrays, sum_array, wrap














class PowScalar(Function):
    """``x ** p`` with a Python number exponent."""

    _backward_name = "PowBackward0"

    @staticmethod
    def forward(ctx, x, p):
        base, exponent = same_dtype_arrays(x, as_tensor(p, dtypes.result_type(x, p)))
        ctx.save_for_backward(x)
        ctx.exponent = p
        return wrap(kernels.pow(base, exponent))

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        p = ctx.exponent
        if not building_graph():
            dt = g._data.dtype
            return wrap(kernels.pow_backward(g._data, x._data.astype(dt, copy=False), np.array(p, dt))), None
        if p == 0:
            return g * 0, None
        return g * (p * x ** (p - 1)), None


class PowTensor(Function):
    """``x ** y`` with a tensor exponent."""

    _backward_name = "PowBackward1"

    @staticmethod
    def forward(ctx, x, y):
        base, exponent = same_dtype_arrays(x, y)
        result = wrap(kernels.pow(base, exponent))
        ctx.save_for_backward(y, x, result)  # PyTorch's order: exponent, self, result
        return result

    @staticmethod
    def backward(ctx, g):
        y, x, result = ctx.saved_tensors
        need_x, need_y = ctx.needs_input_grad
        if not building_graph():
            dt = g._data.dtype
            base, exponent = x._data.astype(dt, copy=False), y._data.astype(dt, copy=False)
            return (wrap(kernels.pow_backward(g._data, base, exponent)) if need_x else None,
                    wrap(kernels.pow_backward_exponent(g._data, result._data, base, exponent)) if need_y else None)
        gx = where(y == 0, 0.0, g * (y * x ** (y - 1))) if need_x else None
        gy = where((x == 0) & (y >= 0), 0.0, g * (result * x.log())) if need_y else None
        return gx, gy


class RPowScalar(Function):
    """``base ** x`` with a Python number base."""

    _backward_name = "PowBackward2"

    @staticmethod
    def forward(ctx, base, x):
        b, exponent = same_dtype_arrays(as_tensor(base, dtypes.result_type(base, x)), x)
        result = wrap(kernels.pow(b, exponent))
        ctx.save_for_backward(x, result)  # PyTorch's order: exponent, result
        ctx.base = base
        return result

    @staticmethod
    def backward(ctx, g):
        x, result = ctx.saved_tensors
        base = ctx.base
        if not building_graph():
            dt = g._data.dtype
            return None, wrap(kernels.pow_backward_exponent(
                g._data, result._data, np.array(base, dt), x._data.astype(dt, copy=False)))
        if base == 0:
            return None, where(x >= 0, 0.0, g * (result * float("-inf")))
        return None, g * (result * float(np.log(base)))


class Where(Function):
    _backward_name = "WhereBackward0"

    @staticmethod
    def forward(ctx, cond, a, b):
        # ``cond`` comes as an array: like PyTorch's, the node has edges for ``a`` and ``b`` only.
        x, y = same_dtype_arrays(a, b)
        ctx.condition = cond
        return wrap(np.where(cond, x, y))

    @staticmethod
    def backward(ctx, g):
        cond = ctx.condition
        zero = np.zeros((), g._data.dtype)
        need_a, need_b = ctx.needs_input_grad[1:]
        if not building_graph():
            return (None, wrap(np.where(cond, g._data, zero)) if need_a else None,
                    wrap(np.where(cond, zero, g._data)) if need_b else None)
        c = wrap(cond)
        return (None, where(c, g, 0.0) if need_a else None, where(c, 0.0, g) if need_b else None)






class ClampScalar(Function):
    """``clamp(x, min, max)`` with number bounds; the bounds themselves pass the gradient."""

    _backward_name = "ClampBackward1"

    @staticmethod
    def forward(ctx, x, lo, hi):
        result = dtypes.result_type(x, *(v for v in (lo, hi) if v is not None)).numpy
        ctx.save_for_backward(x)
        ctx.bounds = (None if lo is None else result.type(lo), None if hi is None else result.type(hi))
        return wrap(kernels.clamp(x._data.astype(result, copy=False), *ctx.bounds))

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        dt = g._data.dtype
        lo, hi = ((None if v is None else dt.type(v)) for v in ctx.bounds)
        if not building_graph():
            return wrap(kernels.clamp_backward(g._data, x._data.astype(dt, copy=False), lo, hi)), None, None
        mask = kernels.clamp_backward(np.ones((), dt), x._data.astype(dt, copy=False), lo, hi)
        return gradient_where(g, mask != 0), None, None


class ClampTensor(Function):
    """``clamp(x, min, max)`` with tensor bounds: x's gradient passes inside, a bound's where it bites."""

    _backward_name = "ClampBackward0"

    @staticmethod
    def forward(ctx, x, lo, hi):
        given = [t for t in (x, lo, hi) if t is not None]
        result = dtypes.result_type(*given).numpy
        arrays = [None if t is None else t._data.astype(result, copy=False) for t in (x, lo, hi)]
        shape = x._data.shape
        for t in given[1:]:
            shape = broadcast_shape(shape, t._data.shape)
        ctx.arrays = arrays
        return wrap(np.broadcast_to(kernels.clamp(*arrays), shape).copy())

    @staticmethod
    def backward(ctx, g):
        x, lo, hi = (None if a is None else a.astype(g._data.dtype, copy=False) for a in ctx.arrays)
        one = np.ones((), g._data.dtype)
        zero = 0 * one
        below, above = (x < lo) if lo is not None else None, (x > hi) if hi is not None else None
        if lo is not None and hi is not None:
            # Crossed bounds (min > max) give max everywhere, so only max gets the gradient.
            below, above = below & (lo < hi), above | (hi < lo)
        masks = (kernels.clamp_backward(one, x, lo, hi),
                 None if lo is None else np.where(below, one, zero),
                 None if hi is None else np.where(above, one, zero))
        return tuple(None if m is None or not need else (wrap(m * g._data) if not building_graph() else g * wrap(m))
                     for m, need in zip(masks, ctx.needs_input_grad))






class MaskedFill(Function):
    """``x.masked_fill(mask, number)``: the gradient passes where the mask is false."""

    _backward_name = "MaskedFillBackward0"

    @staticmethod
    def forward(ctx, x, mask, value):
        # ``mask`` comes as an array, like where's condition: the node has an edge for ``x`` only.
        ctx.mask = mask
        data = x._data
        if mask.shape != data.shape:
            data = np.broadcast_to(data, broadcast_shape(data.shape, mask.shape))
        fill = np.array(value._data if isinstance(value, Tensor) else value).astype(data.dtype)
        return wrap(np.asarray(np.where(mask, fill, data), order="C"))  # PyTorch: contiguous, whatever x is

    @staticmethod
    def backward(ctx, g):
        return gradient_where(g, ~ctx.mask), None, None


def gradient_where(g: Tensor, keep: np.ndarray) -> Tensor:
    """``g`` where ``keep``, exact zeros elsewhere, as PyTorch's backward formulas select a gradient
    (a product with a 0/1 mask would let a NaN or inf of ``g`` through); differentiable."""
    if building_graph():
        return MaskedFill.apply(g, ~keep, 0.0)
    return wrap(np.where(keep, g._data, np.zeros((), g._data.dtype)))


class MaskedFillTensor(MaskedFill):
    """``x.masked_fill(mask, value)`` with a 0-d tensor value, which gets the masked gradient's sum."""

    _backward_name = "MaskedFillBackward1"

    @staticmethod
    def backward(ctx, g):
        grad_x = MaskedFill.backward(ctx, g)[0]
        if not ctx.needs_input_grad[2]:
            return grad_x, None, None
        mask = np.broadcast_to(ctx.mask, g.shape)
        if not building_graph():
            return grad_x, None, wrap(sum_array(g._data[mask]))
        return grad_x, None, (g * wrap(mask.astype(g._data.dtype))).sum()
















class Lerp(Function):
    """``a + w * (b - a)`` with a number weight."""

    _backward_name = "LerpBackward0"

    @staticmethod
    def forward(ctx, a, b, w):
        ctx.weight = w
        x, y = same_dtype_arrays(a, b)
        return wrap(kernels.lerp(x, y, np.asarray(w, x.dtype)))

    @staticmethod
    def backward(ctx, g):
        w = ctx.weight
        need_a, need_b = ctx.needs_input_grad[:2]
        return (g * (1 - w) if need_a else None), (g * w if need_b else None), None


class LerpTensor(Function):
    """``a + w * (b - a)`` with a tensor weight, which gets ``g * (b - a)``."""

    _backward_name = "LerpBackward1"

    @staticmethod
    def forward(ctx, a, b, w):
        ctx.save_for_backward(b, a, w)  # PyTorch's order: end, self, weight
        x, y = same_dtype_arrays(a, b)
        weight = w._data.astype(x.dtype, copy=False)
        shape = broadcast_shape(broadcast_shape(x.shape, y.shape), weight.shape)
        return wrap(np.broadcast_to(kernels.lerp(x, y, weight), shape).copy())

    @staticmethod
    def backward(ctx, g):
        b, a, w = ctx.saved_tensors
        need_a, need_b, need_w = ctx.needs_input_grad
        if not building_graph():
            dt = g._data.dtype
            x, y, weight = (t._data.astype(dt, copy=False) for t in (a, b, w))
            return (wrap(kernels.mul_backward(g._data, 1 - weight)) if need_a else None,
                    wrap(kernels.mul_backward(g._data, weight)) if need_b else None,
                    wrap(kernels.mul_backward(g._data, y - x)) if need_w else None)
        return (g * (1 - w) if need_a else None), (g * w if need_b else None), (g * (b - a) if need_w else None)




def _three_arrays(x: Tensor, t1: Tensor, t2: Tensor) -> tuple:
    """The arrays of three tensors in their common dtype (the arrays as they are when they agree)."""
    a, b = same_dtype_arrays(x, t1)
    a, c = same_dtype_arrays(wrap(a), t2)
    b = b.astype(a.dtype, copy=False)
    np.broadcast_shapes(a.shape, b.shape, c.shape)
    return a, b, c


class Addcmul(Function):
    """``x + value * t1 * t2``."""

    _backward_name = "AddcmulBackward0"

    @staticmethod
    def forward(ctx, x, t1, t2, value):
        ctx.save_for_backward(t1, t2)
        ctx.value = value
        a, b, c = _three_arrays(x, t1, t2)
        return wrap(np.asarray(a + np.asarray(value, a.dtype) * (b * c), a.dtype))

    @staticmethod
    def backward(ctx, g):
        t1, t2 = ctx.saved_tensors
        need_x, need_1, need_2 = ctx.needs_input_grad[:3]
        v = ctx.value
        return ((g if need_x else None), (g * t2 * v if need_1 else None), (g * t1 * v if need_2 else None), None)


class Addcdiv(Function):
    """``x + value * t1 / t2``."""

    _backward_name = "AddcdivBackward0"

    @staticmethod
    def forward(ctx, x, t1, t2, value):
        ctx.save_for_backward(t1, t2)
        ctx.value = value
        a, b, c = _three_arrays(x, t1, t2)
        return wrap(np.asarray(a + np.asarray(value, a.dtype) * (b / c), a.dtype))

    @staticmethod
    def backward(ctx, g):
        t1, t2 = ctx.saved_tensors
        need_x, need_1, need_2 = ctx.needs_input_grad[:3]
        v = ctx.value
        return ((g if need_x else None), (g * v / t2 if need_1 else None),
                (-g * v * t1 / (t2 * t2) if need_2 else None), None)


class ClampMinScalar(ClampScalar):
    _backward_name = "ClampMinBackward0"


class ClampMaxScalar(ClampScalar):
    _backward_name = "ClampMaxBackward0"


class ClampMinTensor(ClampTensor):
    _backward_name = "ClampMinBackward1"


class ClampMaxTensor(ClampTensor):
    _backward_name = "ClampMaxBackward1"




class DivRounding(Function):
    """``div(a, b, rounding_mode='trunc'|'floor')``: a step function, so its gradient is zero."""

    _backward_name = "DivBackward2"

    @staticmethod
    def forward(ctx, a, b, mode):
        x, y = same_dtype_arrays(a, b)
        if x.dtype.kind in "iub":
            if not np.all(y):
                raise RuntimeError("ZeroDivisionError")
            q = np.floor_divide(x, y)
            if mode == "trunc":  # floor rounds towards -inf; trunc steps back up when the signs differ
                q = q + ((np.remainder(x, y) != 0) & ((x < 0) != (y < 0)))
            return wrap(q.astype(x.dtype, copy=False))
        with np.errstate(divide="ignore", invalid="ignore"):
            return wrap(np.trunc(x / y) if mode == "trunc" else np.floor_divide(x, y))

    @staticmethod
    def backward(ctx, g):
        zeros = wrap(np.zeros_like(g._data))
        return zeros, zeros, None


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








def pow(x, exponent) -> Tensor:  # noqa: A001
    """``input ** exponent`` (numbers or tensors on either side)."""
    if not isinstance(x, Tensor):
        return rpow(exponent, x)
    if isinstance(exponent, (Tensor, np.ndarray)):
        return PowTensor.apply(*not_both_bool("pow", *binary_operands(x, exponent)))
    return PowScalar.apply(x, exponent)


def rpow(x: Tensor, base) -> Tensor:
    """``base ** x``."""
    if isinstance(base, (Tensor, np.ndarray)):
        return PowTensor.apply(*not_both_bool("pow", *binary_operands(base, x)))
    return RPowScalar.apply(base, x)


def not_both_bool(kernel: str, a: Tensor, b: Tensor) -> tuple:
    """PyTorch has no bool kernel for ``pow``, ``remainder``, ``fmod``: two bool tensors are refused."""
    if a.dtype is dtypes.bool and b.dtype is dtypes.bool:
        raise NotImplementedError(f'"{kernel}" not implemented for \'Bool\'')
    return a, b


def where(condition, a, b) -> Tensor:
    condition = as_tensor(condition)
    if condition.dtype is not dtypes.bool:
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got a tensor with "
                           f"dtype {condition.dtype.name.capitalize()}")
    a, b = binary_operands(a, b)
    broadcast_shape(broadcast_shape(condition._data.shape, a._data.shape), b._data.shape)  # PyTorch's order
    return Where.apply(condition._data, a, b)


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
    """The Function and bound operands of ``clamp(x, min, max)``, checked."""
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        bounds = tuple(None if v is None else as_tensor(v, None if isinstance(v, Tensor) else x.dtype)
                       for v in (min, max))
        return ClampTensor, bounds
    for v in (min, max):
        if v is not None and not isinstance(v, (bool, int, float, np.generic)):
            raise TypeError(f"clamp(): min and max must be numbers or Tensors, got {type(v).__name__}")
    return ClampScalar, (min, max)


def clamp(x: Tensor, min=None, max=None) -> Tensor:  # noqa: A002
    """min(max(x, min), max); the gradient passes where min <= x <= max."""
    fn, bounds = clamp_args(x, min, max)
    return fn.apply(x, *bounds)






def masked_fill_args(x: Tensor, mask, value) -> tuple:
    """The Function and operands of ``x.masked_fill(mask, value)``, checked as PyTorch does."""
    mask = as_tensor(mask)
    if mask.dtype is not dtypes.bool:
        raise RuntimeError("masked_fill_ only supports boolean masks, but got mask with dtype "
                           f"{C_TYPE_NAMES[mask.dtype.name]}")
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError("masked_fill_ only supports a 0-dimensional value tensor, but got tensor with "
                               f"{value.ndim} dimension(s).")
        return MaskedFillTensor, (mask._data, value)
    if not isinstance(value, (bool, int, float, np.generic)):
        got = f"!{type(value).__name__}!"
        raise TypeError(f"masked_fill() received an invalid combination of arguments - got (Tensor, "
                        f"{type(value).__name__}), but expected one of:\n * (Tensor mask, Tensor value)\n      didn't "
                        f"match because some of the arguments have invalid types: (Tensor, {got})\n * (Tensor mask, "
                        f"Number value)\n      didn't match because some of the arguments have invalid types: "
                        f"(Tensor, {got})\n")
    return MaskedFill, (mask._data, value)


def masked_fill(x: Tensor, mask, value) -> Tensor:
    """A copy of ``input`` with ``value`` where ``mask`` is True."""
    fn, args = masked_fill_args(x, mask, value)
    broadcast_shape(args[0].shape, x._data.shape)
    return fn.apply(x, *args)


def _floating_result(*tensors) -> dtypes.dtype:
    """The promoted dtype, or the default float when it is an integer type."""
    result = dtypes.result_type(*tensors)
    return result if result.is_floating_point else dtypes.get_default_dtype()


def _floating_only(name: str, a: Tensor, b: Tensor) -> None:
    result = dtypes.result_type(a, b)
    if not result.is_floating_point:
        raise NotImplementedError(f'"{name}_cpu" not implemented for \'{result._tensor_type.removesuffix("Tensor")}\'')










def lerp_args(a: Tensor, b: Tensor, weight) -> tuple:
    """The Function and weight operand of ``lerp(a, b, weight)``, with PyTorch's dtype checks."""
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
        return LerpTensor, weight
    return Lerp, weight


def lerp(a: Tensor, b: Tensor, weight) -> Tensor:
    """``a + weight * (b - a)``."""
    fn, w = lerp_args(a, b, weight)
    return fn.apply(a, b, w)


def _bound_operand(x: Tensor, bound):
    if isinstance(bound, Tensor):
        return bound
    if not isinstance(bound, (bool, int, float, np.generic)):
        raise TypeError(f"expected a number or a Tensor as bound, got {type(bound).__name__}")
    return None


def clamp_min(x: Tensor, min) -> Tensor:  # noqa: A002 - PyTorch's keyword name
    """Each element clamped to at least ``min``."""
    if _bound_operand(x, min) is not None:
        return ClampMinTensor.apply(x, min, None)
    return ClampMinScalar.apply(x, min, None)


def clamp_max(x: Tensor, max) -> Tensor:  # noqa: A002
    """Each element clamped to at most ``max``."""
    if _bound_operand(x, max) is not None:
        return ClampMaxTensor.apply(x, None, max)
    return ClampMaxScalar.apply(x, None, max)




def addcmul(x: Tensor, tensor1: Tensor, tensor2: Tensor, *, value=1) -> Tensor:
    """``input + value * tensor1 * tensor2``."""
    return Addcmul.apply(x, tensor1, tensor2, value)


def addcdiv(x: Tensor, tensor1: Tensor, tensor2: Tensor, *, value=1) -> Tensor:
    """``input + value * tensor1 / tensor2``."""
    if not dtypes.result_type(tensor1, tensor2).is_floating_point:
        raise RuntimeError("Integer division with addcdiv is no longer supported, and in a future release "
                           "addcdiv will perform a true division of tensor1 and tensor2. The historic addcdiv "
                           "behavior can be implemented as (input + value * torch.trunc(tensor1 / tensor2)).to("
                           "input.dtype) for integer inputs and as (input + value * tensor1 / tensor2) for float "
                           "inputs. The future addcdiv behavior is just the latter implementation: (input + value "
                           "* tensor1 / tensor2), for all dtypes.")
    return Addcdiv.apply(x, tensor1, tensor2, value)
