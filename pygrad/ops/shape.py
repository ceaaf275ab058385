"""Shape ops: view, reshape, expand and the reduction of a broadcast gradient."""
from __future__ import annotations

import numpy as np

from ..autograd.function import Function
from ..tensor import Tensor
from ._util import parse_shape, reduce_to_shape, wrap


def infer_shape(shape: tuple, numel: int) -> tuple:
    """Resolve one ``-1`` in ``shape``; PyTorch's error when the sizes cannot match."""
    def invalid():
        return RuntimeError(f"shape '[{', '.join(str(s) for s in shape)}]' is invalid for input of size {numel}")
    if shape.count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred")
    known = 1
    for s in shape:
        if s != -1:
            if s < 0:
                raise RuntimeError(f"invalid shape dimension {s}")
            known *= s
    if -1 in shape:
        if known == 0 or numel % known:
            raise invalid()
        return tuple(numel // known if s == -1 else s for s in shape)
    if known != numel:
        raise invalid()
    return shape


class View(Function):
    _backward_name = "ViewBackward0"

    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x._data.shape
        try:
            out = np.reshape(x._data, shape, copy=False)
        except ValueError:
            raise RuntimeError("view size is not compatible with input tensor's size and stride (at least "
                               "one dimension spans across two contiguous subspaces). Use .reshape(...) "
                               "instead.") from None
        t = wrap(out)
        t._version = x._version
        return t

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.shape), None


class UnsafeView(Function):
    """The reshape of a fresh contiguous copy (what ``reshape`` does when it cannot view)."""

    _backward_name = "UnsafeViewBackward0"

    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x._data.shape
        return wrap(x._data.reshape(shape))

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.shape), None


class Expand(Function):
    _backward_name = "ExpandBackward0"

    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x._data.shape
        t = wrap(np.broadcast_to(x._data, shape))
        t._version = x._version
        return t

    @staticmethod
    def backward(ctx, g):
        return sum_to_size(g, ctx.shape), None


class SumToSize(Function):
    """Sum a broadcast gradient back to an input's shape."""

    _backward_name = "SumBackward1"

    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x._data.shape
        return wrap(reduce_to_shape(x._data, shape))

    @staticmethod
    def backward(ctx, g):
        return expand_to(g, ctx.shape), None


class Permute(Function):
    _backward_name = "PermuteBackward0"

    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        t = wrap(np.transpose(x._data, dims))
        t._version = x._version
        return t

    @staticmethod
    def backward(ctx, g):
        return g.permute(*np.argsort(ctx.dims).tolist()), None


def view(x: Tensor, *shape) -> Tensor:
    return View.apply(x, infer_shape(parse_shape(shape), x._data.size))


def reshape(x: Tensor, *shape) -> Tensor:
    target = infer_shape(parse_shape(shape), x._data.size)
    try:
        np.reshape(x._data, target, copy=False)
    except ValueError:
        from .unary import clone
        return UnsafeView.apply(clone(x), target)
    return View.apply(x, target)


def expand(x: Tensor, *sizes) -> Tensor:
    sizes = parse_shape(sizes)
    shape = x._data.shape
    if len(sizes) < len(shape):
        raise RuntimeError(f"expand(torch.FloatTensor{{[{', '.join(map(str, shape))}]}}, size=[{', '.join(map(str, sizes))}]): "
                           "the number of sizes provided "
                           f"({len(sizes)}) must be greater or equal to the number of dimensions in the tensor ({len(shape)})")
    lead = len(sizes) - len(shape)
    target = []
    for i, s in enumerate(sizes):
        have = shape[i - lead] if i >= lead else None
        if s == -1:
            if have is None:
                raise RuntimeError(f"The expanded size of the tensor (-1) isn't allowed in a leading, "
                                   f"non-existing dimension {i}")
            s = have
        elif have is not None and have != s and have != 1:
            raise RuntimeError(f"The expanded size of the tensor ({s}) must match the existing size ({have}) "
                               f"at non-singleton dimension {i}.  Target sizes: [{', '.join(map(str, sizes))}].  "
                               f"Tensor sizes: [{', '.join(map(str, shape))}]")
        target.append(s)
    return expand_to(x, tuple(target))


def expand_to(x: Tensor, shape: tuple) -> Tensor:
    """Broadcast ``x`` to ``shape`` (a differentiable view; no-op when it already has it)."""
    if x._data.shape == tuple(shape):
        return x
    return Expand.apply(x, tuple(shape))


def sum_to_size(x: Tensor, shape: tuple) -> Tensor:
    if x._data.shape == tuple(shape):
        return x
    return SumToSize.apply(x, tuple(shape))


def permute(x: Tensor, *dims) -> Tensor:
    from ._util import normalize_dim
    dims = tuple(normalize_dim(d, x.ndim) for d in parse_shape(dims))
    if sorted(dims) != list(range(x.ndim)):
        raise RuntimeError("permute(): dims must be a permutation of the tensor's dimensions, got "
                           f"{list(dims)} for a tensor with {x.ndim} dimensions")
    return Permute.apply(x, dims)


def t_all(x: Tensor) -> Tensor:
    """``x.T``: all dims reversed."""
    return Permute.apply(x, tuple(range(x.ndim - 1, -1, -1)))
