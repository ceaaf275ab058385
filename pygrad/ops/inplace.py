"""In-place operations: ``add_``, ``mul_``, ``clamp_``, ``zero_``, ``copy_``, ``x += y`` ...

Every in-place op goes through ``Function.apply`` with ``ctx.mark_dirty(target)``: the target's
version counter is bumped (so a backward that saved it notices) and, when a graph is recorded,
the target's ``grad_fn`` becomes the op's node (``b.add_(1)`` gives ``AddBackward0``).

An out-of-place op ``Op`` becomes in-place by ``inplace(Op, target, *args)``: its forward
computes the result, which is then written into the target's storage.  If the op saved the
target as an *input*, a copy of the target's old value is saved instead (PyTorch's
"original self"), and a saved *result* is replaced by the target itself, so later in-place
changes of the target are caught by the version check.
"""
from __future__ import annotations

import numpy as np

from .. import _errstate, dtypes
from .._errors import LEAF_INPLACE
from ..autograd import grad_mode
from ..autograd import op_observers as _op_observers
from ..autograd.forward_ad import zero_jvp
from ..autograd.function import Function
from ..tensor import Tensor
from ._util import as_tensor, binary_operands, broadcast_shape, wrap

__all__ = ["inplace", "inplace_impl", "zero_", "fill_", "copy_"]

_VARIANTS: dict = {}


def check_inplace(target: Tensor, *inputs) -> None:
    """PyTorch's rules, checked before anything is written, for an in-place op recorded in a graph:
    no in-place change of a leaf that requires grad, nor of a view of one, nor of a view made in
    no_grad mode or by an op with several view outputs."""
    if not grad_mode._state.enabled:
        return
    view = target._view
    if view is None:
        if target._grad_fn is None and target._requires_grad:
            raise RuntimeError(LEAF_INPLACE)
    elif target.requires_grad or any(isinstance(t, Tensor) and t.requires_grad for t in inputs):
        view.check_inplace(target)


INTERNAL_OVERLAP = ("unsupported operation: more than one element of the written-to tensor refers to a single "
                    "memory location. Please clone() the tensor before performing the operation.")


def check_overlap(target: Tensor) -> None:
    """PyTorch refuses to compute into a tensor whose elements share memory (an ``expand`` view).
    An empty tensor has no elements to share (NumPy gives it zero strides)."""
    data = target._data
    if data.size and 0 in data.strides and any(st == 0 and n > 1 for st, n in zip(data.strides, data.shape)):
        raise RuntimeError(INTERNAL_OVERLAP)


PARTIAL_OVERLAP = ("unsupported operation: some elements of the input tensor and the written-to tensor refer to "
                   "a single memory location. Please clone() the tensor before performing the operation.")


def _dense(array: np.ndarray) -> bool:
    """PyTorch's ``is_non_overlapping_and_dense``: the elements fill a block of memory exactly once."""
    expected = array.itemsize
    for stride, size in sorted((st, n) for st, n in zip(array.strides, array.shape) if n != 1):
        if stride != expected:
            return False
        expected *= size
    return True


def check_partial_overlap(target: Tensor, *inputs) -> None:
    """PyTorch refuses to write into a tensor while reading an input whose memory overlaps it only
    in part (``x[1:] = x[:-1]``, ``x += x.t()``): the result would depend on the order of the
    element writes.  As in PyTorch, an input laid out exactly like the target (``x += x``) is
    fine, and overlaps it cannot decide cheaply (either side not dense, an ``expand``) pass."""
    out = target._data
    for t in inputs:
        if t is target or not isinstance(t, Tensor):
            continue
        data = t._data
        if not out.size or not data.size or not np.may_share_memory(out, data):
            continue
        if not (_dense(out) and _dense(data)):
            continue
        out_start, start = out.ctypes.data, data.ctypes.data
        out_end, end = out_start + out.nbytes, start + data.nbytes
        if out_start == start and out_end == end and out.strides == data.strides:
            continue
        if out_start < end and start < out_end:
            raise RuntimeError(PARTIAL_OVERLAP)


def _can_cast(source: dtypes.dtype, target: dtypes.dtype) -> bool:
    """PyTorch's ``can_cast``: no float -> integer and nothing but bool -> bool."""
    if source.is_floating_point and not target.is_floating_point:
        return False
    if target is dtypes.bool and source is not dtypes.bool:
        return False
    return True


def _store(target: Tensor, result: np.ndarray) -> None:
    """Write ``result`` into ``target``'s storage with PyTorch's shape and dtype checks."""
    if result.shape != target._data.shape:
        raise RuntimeError(f"output with shape [{', '.join(map(str, target._data.shape))}] doesn't match the "
                           f"broadcast shape [{', '.join(map(str, result.shape))}]")
    source = dtypes.from_numpy(result.dtype)
    if not _can_cast(source, target.dtype):
        raise RuntimeError(f"result type {source._tensor_type[:-6]} can't be cast to the desired output "
                           f"type {target.dtype._tensor_type[:-6]}")
    np.copyto(target._data, result, casting="unsafe")


def _snapshot(t: Tensor) -> Tensor:
    """The value ``t`` has now, with its autograd identity: what backward needs of an overwritten input."""
    s = Tensor._wrap(t._data.copy())
    s._requires_grad, s._grad_fn, s._output_nr = t._requires_grad, t._grad_fn, t._output_nr
    return s


def _variant(op: type) -> type:
    """The in-place twin of ``op``: same backward, same node name, result stored into the first input."""
    cls = _VARIANTS.get(op)
    if cls is not None:
        return cls

    def forward(ctx, target, *args):
        result = op.forward(ctx, target, *args)
        saved = ctx._to_save
        if saved:
            ctx._to_save = tuple(_snapshot(t) if t is target else target if t is result else t
                                 for t in saved)
        _store(target, result._data)
        ctx.mark_dirty(target)
        return target

    cls = type(op.__name__ + "_", (Function,), {
        "_backward_name": op._backward_cls.__name__,
        "forward": staticmethod(forward),
        "backward": staticmethod(lambda ctx, *grads: op.backward(ctx, *grads)),
        "__module__": __name__,
        "_inplace_of": op,
    })
    _VARIANTS[op] = cls
    return cls


def inplace(op: type, target: Tensor, *args, read: tuple | None = None) -> Tensor:
    """Apply the Function ``op`` to ``(target, *args)`` and store the result into ``target``.
    ``read``: the inputs PyTorch reads element by element while writing (default ``args``)."""
    if _written_directly(op, target, args, args if read is None else read):
        return target
    check_inplace(target, *args)
    check_overlap(target)
    check_partial_overlap(target, *(args if read is None else read))
    return _variant(op).apply(target, *args)


def _arithmetic_ufuncs() -> dict:
    from . import optable
    return {optable.ADD.fn: np.add, optable.SUB.fn: np.subtract, optable.MUL.fn: np.multiply,
            optable.DIV.fn: np.true_divide}


_ARITHMETIC: dict = {}  # Function -> the NumPy ufunc giving its kernel's bits (filled on first use)


def _written_directly(op: type, target: Tensor, args: tuple, read: tuple) -> bool:
    """``target op= args[0]`` computed into the target's storage by NumPy's ufunc, for arithmetic
    that records nothing (an optimizer's update under no_grad): the kernel's bits, without a
    result array to copy from.  False, having done nothing, for any other case, and for any the
    checks of ``inplace`` might refuse (a target with repeated elements, an input ``read`` sharing
    its memory): ``inplace`` then checks and computes.  (Recording nothing, of a tensor that is
    no view, passes ``check_inplace``.)"""
    if not _ARITHMETIC:
        _ARITHMETIC.update(_arithmetic_ufuncs())
    ufunc = _ARITHMETIC.get(op)
    if ufunc is None or len(args) != 1 or _op_observers.observers or target._view is not None:
        return False
    other = args[0]
    if not isinstance(other, Tensor) or (grad_mode._state.enabled and (target._requires_grad
                                                                      or other._requires_grad)):
        return False
    out, operand = target._data, other._data
    if (type(out) is not np.ndarray or type(operand) is not np.ndarray or out.dtype != operand.dtype
            or out.dtype.kind != "f" or not (operand.shape == out.shape or operand.ndim == 0)
            or 0 in out.strides):
        return False
    for t in read:
        if t is not target and isinstance(t, Tensor) and np.may_share_memory(out, t._data):
            return False
    token = _errstate.quiet()  # as the kernels: inf and nan where the math gives them, no warning
    try:
        ufunc(out, operand, out=out)
    finally:
        _errstate.restore(token)
    target._version.value += 1
    return True


class _Into:
    """What an op's ``impl`` is given as its Function when it builds the in-place variant:
    applying it to the target writes the result into the target."""

    def __init__(self, op: type, target: Tensor):
        self.op, self.target = op, target

    def apply(self, first, *args):
        if first is self.target:
            return inplace(self.op, first, *args)
        return self.op.apply(first, *args)  # an operand converted first: the caller stores the result


def inplace_impl(impl, op: type, target: Tensor, *args, **kwargs) -> Tensor:
    """``target.<op>_(...)`` for a table op whose ``impl`` handles its arguments (dtype checks,
    shortcuts): the impl runs with ``op`` writing into ``target``; a result it made another way
    (an integer ``floor`` is a copy) is stored with the in-place dtype rule."""
    result = impl(_Into(op, target), target, *args, **kwargs)
    if result is target:
        return target
    source = result.dtype
    if not _can_cast(source, target.dtype):
        raise RuntimeError(f"result type {source._tensor_type[:-6]} can't be cast to the desired output "
                           f"type {target.dtype._tensor_type[:-6]}")
    return copy_(target, result)


def inplace_binary(op: type, target: Tensor, other, alpha=1) -> Tensor:
    """``target op= other`` (times ``alpha``) for a binary Function, a number ``other`` taking the
    result dtype.  The overlap check sees ``other`` itself, not its scaled copy."""
    operand = binary_operands(target, other if alpha == 1 else other * alpha)[1]
    if _written_directly(op, target, (operand,), (other,)):  # (inplace's first step, without its frame)
        return target
    return inplace(op, target, operand, read=(other,))


class Zero(Function):
    _backward_name = "ZeroBackward0"

    @staticmethod
    def forward(ctx, target):
        target._data[...] = 0
        ctx.mark_dirty(target)
        return target

    @staticmethod
    def backward(ctx, g):
        return wrap(np.zeros_like(g._data))

    jvp = staticmethod(zero_jvp)


class FillScalar(Function):
    _backward_name = "FillBackward2"

    @staticmethod
    def forward(ctx, target, value):
        target._data[...] = value
        ctx.mark_dirty(target)
        return target

    @staticmethod
    def backward(ctx, g):
        return wrap(np.zeros_like(g._data)), None

    jvp = staticmethod(zero_jvp)


class FillTensor(Function):
    """``fill_(value)`` with a 0-d tensor: the value's gradient is the sum of the target's."""

    _backward_name = "FillBackward3"

    @staticmethod
    def forward(ctx, target, value):
        target._data[...] = value._data
        ctx.mark_dirty(target)
        return target

    @staticmethod
    def backward(ctx, g):
        zeros = wrap(np.zeros_like(g._data))
        if not ctx.needs_input_grad[1]:
            return zeros, None
        return zeros, g.sum()

    @staticmethod
    def jvp(ctx, _, t_value):
        target = ctx._fw_outputs[0]
        return None if t_value is None else t_value.to(target.dtype).expand(target.shape).clone()


class Copy(Function):
    """``target.copy_(src)``: src broadcast and cast into target; the gradient flows to src only."""

    _backward_name = "CopyBackwards"
    _qualified_name = "torch::autograd::CopyBackwards"

    @staticmethod
    @_errstate.quietly
    def forward(ctx, target, src):
        data = np.broadcast_to(src._data, target._data.shape) if src._data.shape != target._data.shape else src._data
        np.copyto(target._data, data, casting="unsafe")
        ctx.mark_dirty(target)
        return target

    @staticmethod
    def backward(ctx, g):
        return wrap(np.zeros_like(g._data)), g

    @staticmethod
    def jvp(ctx, _, t_src):
        target = ctx._fw_outputs[0]
        if t_src is None:
            return wrap(np.zeros(target._data.shape, target._data.dtype))
        return t_src.to(target.dtype).expand(target.shape).clone()


class Sample(Function):
    """``uniform_``/``normal_``: the target is overwritten by random numbers, so it gets no gradient."""

    @staticmethod
    def forward(ctx, target, values):
        np.copyto(target._data, values, casting="unsafe")
        ctx.mark_dirty(target)
        return target

    @staticmethod
    def backward(ctx, g):
        return wrap(np.zeros_like(g._data)), None

    jvp = staticmethod(zero_jvp)


class Uniform(Sample):
    _backward_name = "UniformBackward0"


class Normal(Sample):
    _backward_name = "NormalBackward0"


def _random_fill(cls, target: Tensor, kernel: str, draw) -> Tensor:
    if not target.dtype.is_floating_point:
        raise NotImplementedError(f'"{kernel}" not implemented for \'{target.dtype._tensor_type[:-6]}\'')
    check_inplace(target)
    from ..creation import generator
    return cls.apply(target, draw(generator()))


def uniform_(target: Tensor, low: float, high: float, rng=None) -> Tensor:
    if low > high:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found from={low} > to={high}")
    return _random_fill(Uniform, target, "check_uniform_bounds",
                        lambda g: (rng or g).uniform(low, high, target._data.shape))


def normal_(target: Tensor, mean: float, std: float, rng=None) -> Tensor:
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    return _random_fill(Normal, target, "normal_kernel_cpu",
                        lambda g: (rng or g).normal(mean, std, target._data.shape))


def zero_(target: Tensor) -> Tensor:
    check_inplace(target)
    return Zero.apply(target)


def fill_(target: Tensor, value) -> Tensor:
    check_inplace(target, value)
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError("fill_ only supports 0-dimension value tensor but got tensor with "
                               f"{value.ndim} dimensions.")
        return FillTensor.apply(target, value)
    return FillScalar.apply(target, value)


def copy_(target: Tensor, src, broadcast: bool = False) -> Tensor:
    """``target.copy_(src)``; ``broadcast`` is set by ``x[key] = value``, which expands ``value``
    first as PyTorch does, so an input that needs expanding is not checked for overlap."""
    src = as_tensor(src)
    check_inplace(target, src)
    check_overlap(target)
    if src._data.shape == target._data.shape or not broadcast:
        check_partial_overlap(target, src)
    if src._data.shape != target._data.shape:
        if broadcast_shape(target._data.shape, src._data.shape) != target._data.shape:
            raise RuntimeError(f"output with shape [{', '.join(map(str, target._data.shape))}] doesn't match "
                               f"the broadcast shape [{', '.join(map(str, np.broadcast_shapes(target._data.shape, src._data.shape)))}]")
    return Copy.apply(target, src)
