"""Shape ops: views (view, transpose, squeeze, ...), copies (cat, stack, flip, repeat) and the
reduction of a broadcast gradient.

A view shares its input's storage and version counter (``_view_of``), so an in-place change
through either is seen by both and invalidates what backward saved of either.  View ops are
``ViewFunction``s: their outputs remember their base, so that an in-place change through a view
updates the base's history (see ``autograd/views.py``).
"""
from __future__ import annotations

from operator import attrgetter

import numpy as np

from ..autograd.forward_ad import linear_jvp
from ..autograd.grad_mode import _state as _grad_mode
from ..autograd.function import Function
from ..autograd.views import ViewFunction
from ..tensor import Tensor
from .. import dtypes
from .._errstate import quietly
from .._errors import warn_once
from ._opdef import install_array_backward
from ._util import normalize_dim, parse_shape, reduce_to_shape, wrap


def _view_of(x: Tensor, array: np.ndarray) -> Tensor:
    """A tensor on ``array`` (a view of ``x``'s data) that shares ``x``'s version counter."""
    t = wrap(array)
    t._version = x._version
    return t


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


class View(ViewFunction):
    jvp = staticmethod(linear_jvp)
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


class ReshapeAlias(View):
    """``reshape`` of a non-contiguous tensor whose strides still allow a view."""

    _backward_name = "ReshapeAliasBackward0"


class UnsafeView(Function):
    """The reshape of a fresh contiguous copy (what ``reshape`` does when it cannot view)."""
    jvp = staticmethod(linear_jvp)

    _backward_name = "UnsafeViewBackward0"

    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x._data.shape
        return wrap(x._data.reshape(shape))

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.shape), None


class Expand(ViewFunction):
    jvp = staticmethod(linear_jvp)
    _backward_name = "ExpandBackward0"

    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x._data.shape
        # A writable view like PyTorch's (broadcast_to would be read-only): a write through it lands
        # in the one shared element of each broadcast dim.
        expanded = np.broadcast_to(x._data, shape)
        array = np.lib.stride_tricks.as_strided(x._data, shape, expanded.strides,
                                                writeable=x._data.flags.writeable)
        return _view_of(x, array)

    @staticmethod
    def backward(ctx, g):
        return sum_to_size(g, ctx.shape), None


class SumToSize(Function):
    """Sum a broadcast gradient back to an input's shape."""
    jvp = staticmethod(linear_jvp)

    _backward_name = "SumBackward1"

    @staticmethod
    @quietly
    def forward(ctx, x, shape):
        ctx.shape = x._data.shape
        return wrap(reduce_to_shape(x._data, shape))

    @staticmethod
    def backward(ctx, g):
        return expand_to(g, ctx.shape), None


class Permute(ViewFunction):
    jvp = staticmethod(linear_jvp)
    _backward_name = "PermuteBackward0"

    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return _view_of(x, x._data.transpose(dims))

    @staticmethod
    def backward(ctx, g):
        if not _grad_mode.enabled:  # a plain array (see T.backward)
            return wrap(_unpermute(g._data, ctx.dims)), None
        return g.permute(inverse_permutation(ctx.dims)), None


def inverse_permutation(dims) -> tuple:
    """The dims that undo the permutation ``dims`` (``inverse[dims[i]] == i``)."""
    return tuple(sorted(range(len(dims)), key=dims.__getitem__))


def _unpermute(g: np.ndarray, dims) -> np.ndarray:
    return g.transpose(inverse_permutation(dims))


# plain backward's array form, run by the compiled engine without the frame of ``backward``
install_array_backward(Permute, ((_unpermute, (0, 1)), None), kept=("dims",))


class Alias(ViewFunction):
    """A view that changes nothing (``x[...]``, ``x[:, :]``)."""
    jvp = staticmethod(linear_jvp)

    _backward_name = "AliasBackward0"

    @staticmethod
    def forward(ctx, x):
        return _view_of(x, x._data.view())

    @staticmethod
    def backward(ctx, g):
        return g


class Transpose(ViewFunction):
    jvp = staticmethod(linear_jvp)
    _backward_name = "TransposeBackward0"

    @staticmethod
    def forward(ctx, x, dim0, dim1):
        ctx.dims = (dim0, dim1)
        if x._data.ndim == 0:  # dims 0 and -1 of a 0-d tensor: nothing to swap, as in PyTorch
            return _view_of(x, x._data.view())
        return _view_of(x, np.swapaxes(x._data, dim0, dim1))

    @staticmethod
    def backward(ctx, g):
        if not _grad_mode.enabled and g._data.ndim:  # a plain array (see T.backward)
            return wrap(np.swapaxes(g._data, *ctx.dims)), None, None
        return g.transpose(*ctx.dims), None, None


class T(ViewFunction):
    """``t()``: the transpose of a matrix; vectors and scalars pass through."""
    jvp = staticmethod(linear_jvp)

    _backward_name = "TBackward0"

    @staticmethod
    def forward(ctx, x):
        return _view_of(x, x._data.T)

    @staticmethod
    def backward(ctx, g):
        # In plain backward a plain array: a view would keep the incoming gradient alive, and a
        # Linear weight's gradient could not become its .grad uncopied.
        if not _grad_mode.enabled:
            return wrap(g._data.T)
        return g.t()


install_array_backward(T, ((attrgetter("T"), (0,)),))  # plain backward's ``g.T``, run by the compiled engine


class Unsqueeze(ViewFunction):
    jvp = staticmethod(linear_jvp)
    _backward_name = "UnsqueezeBackward0"

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        return _view_of(x, np.expand_dims(x._data, dim))

    @staticmethod
    def backward(ctx, g):
        return g.squeeze(ctx.dim), None


class Squeeze(ViewFunction):
    """``squeeze()``: drop every size-1 dim."""
    jvp = staticmethod(linear_jvp)

    _backward_name = "SqueezeBackward0"

    @staticmethod
    def forward(ctx, x, dims):
        ctx.shape = x._data.shape
        return _view_of(x, np.squeeze(x._data, axis=dims))

    @staticmethod
    def backward(ctx, g):
        return g.reshape(ctx.shape), None


class SqueezeDim(Squeeze):
    _backward_name = "SqueezeBackward1"


class SqueezeDims(Squeeze):
    _backward_name = "SqueezeBackward2"


class SqueezeInplaceDim(Squeeze):
    """What PyTorch's ``squeeze_(dim)`` records; matmul squeezes its fresh 1 x n result so."""

    _backward_name = "SqueezeBackward4"
    apply = classmethod(Function.apply.__func__)  # in place in PyTorch: the result is no view


class Cat(Function):
    jvp = staticmethod(linear_jvp)
    _backward_name = "CatBackward0"

    @staticmethod
    def forward(ctx, dim, *tensors):
        result = tensors[0].dtype
        for t in tensors[1:]:
            result = dtypes.promote_types(result, t.dtype)
        ctx.dim = dim
        ctx.sizes = [t._data.shape[dim] if not _skipped_in_cat(t, tensors) else None for t in tensors]
        arrays = [t._data.astype(result.numpy, copy=False) for t in tensors if not _skipped_in_cat(t, tensors)]
        return wrap(np.asarray(np.concatenate(arrays, axis=dim), order="C"))

    @staticmethod
    def backward(ctx, g):
        sizes = [s for s in ctx.sizes if s is not None]
        parts = iter(split_with_sizes(g, sizes, ctx.dim))
        return (None,) + tuple(next(parts) if s is not None else wrap(np.zeros((0,), g._data.dtype))
                               for s in ctx.sizes)


def _skipped_in_cat(t: Tensor, tensors) -> bool:
    """PyTorch (legacy) lets an empty 1-D tensor join a cat of tensors of any rank."""
    return t._data.shape == (0,) and any(u._data.ndim != 1 for u in tensors)


class Stack(Function):
    jvp = staticmethod(linear_jvp)
    _backward_name = "StackBackward0"

    @staticmethod
    def forward(ctx, dim, *tensors):
        result = tensors[0].dtype
        for t in tensors[1:]:
            result = dtypes.promote_types(result, t.dtype)
        ctx.dim = dim
        stacked = np.stack([t._data.astype(result.numpy, copy=False) for t in tensors], axis=dim)
        return wrap(np.asarray(stacked, order="C"))

    @staticmethod
    def backward(ctx, g):
        return (None,) + g.unbind(ctx.dim)


class Split(ViewFunction):
    """``split(int)`` and ``chunk``: views of consecutive pieces along ``dim``."""
    jvp = staticmethod(linear_jvp)

    _backward_name = "SplitBackward0"

    @staticmethod
    def forward(ctx, x, sizes, dim):
        ctx.dim = dim
        bounds = np.cumsum(sizes)[:-1]
        return tuple(_view_of(x, a) for a in np.split(x._data, bounds, axis=dim))

    @staticmethod
    def backward(ctx, *grads):
        return cat(grads, ctx.dim), None, None


class SplitWithSizes(Split):
    _backward_name = "SplitWithSizesBackward0"


class Unbind(ViewFunction):
    jvp = staticmethod(linear_jvp)
    _backward_name = "UnbindBackward0"

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        return tuple(_view_of(x, a) for a in np.moveaxis(x._data, dim, 0))

    @staticmethod
    def backward(ctx, *grads):
        return stack(grads, ctx.dim), None


class Flip(Function):
    jvp = staticmethod(linear_jvp)
    _backward_name = "FlipBackward0"

    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return wrap(np.flip(x._data, dims).copy())

    @staticmethod
    def backward(ctx, g):
        return g.flip(ctx.dims), None


class Repeat(Function):
    jvp = staticmethod(linear_jvp)
    _backward_name = "RepeatBackward0"

    @staticmethod
    def forward(ctx, x, repeats):
        ctx.shape, ctx.empty = x._data.shape, 0 in repeats
        return wrap(np.asarray(np.tile(x._data, repeats), order="C"))  # PyTorch: contiguous, whatever x is

    @staticmethod
    def backward(ctx, g):
        if ctx.empty:  # no copy of x is left: zeros, a constant (PyTorch's repeat_backward)
            return wrap(np.zeros(ctx.shape, g._data.dtype)), None
        # Lay each output dim out as (repeat, size) and sum over the repeats.
        shape = (1,) * (g.ndim - len(ctx.shape)) + ctx.shape
        interleaved = []
        for out, size in zip(g.shape, shape):
            interleaved += [out // size if size else out, size]
        repeat_dims = tuple(range(0, 2 * len(shape), 2))
        return g.reshape(interleaved).sum(repeat_dims).reshape(ctx.shape), None


def view(x: Tensor, *shape) -> Tensor:
    return View.apply(x, infer_shape(parse_shape(shape, "view"), x._data.size))


def reshape(x: Tensor, *shape) -> Tensor:
    target = infer_shape(parse_shape(shape, "reshape", "shape"), x._data.size)
    try:
        np.reshape(x._data, target, copy=False)
    except ValueError:
        from .unary import clone
        return UnsafeView.apply(clone(x, contiguous=True), target)
    return (View if x._data.flags.c_contiguous else ReshapeAlias).apply(x, target)


def expand(x: Tensor, *sizes) -> Tensor:
    sizes = parse_shape(sizes, "expand")
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
    return Expand.apply(x, tuple(target))  # PyTorch records an expand even to the same shape


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
    """A view of ``input`` with the dimensions in the given order."""
    dims = parse_shape(dims, "permute", "dims")
    if len(dims) != x.ndim:
        raise RuntimeError("permute(sparse_coo): number of dimensions in the tensor input does not match the "
                           "length of the desired ordering of dimensions i.e. input.dim() = "
                           f"{x.ndim} is not equal to len(dims) = {len(dims)}")
    dims = tuple(normalize_dim(d, x.ndim) for d in dims)
    if len(set(dims)) != len(dims):
        raise RuntimeError("permute(): duplicate dims are not allowed.")
    return Permute.apply(x, dims)


_T_WARNINGS = {
    0: "Tensor.T is deprecated on 0-D tensors. This function is the identity in these cases.",
    1: ("The use of `x.T` on tensors of dimension other than 2 to reverse their shape is deprecated and it will "
        "throw an error in a future release. Consider `x.mT` to transpose batches of matrices or "
        "`x.permute(*torch.arange(x.ndim - 1, -1, -1))` to reverse the dimensions of a tensor."),
}


_REVERSED = {2: (1, 0)}  # a matrix's (the common case)


def t_all(x: Tensor) -> Tensor:
    """``x.T``: all dims reversed (PyTorch warns once per process when ``x`` is not a matrix)."""
    ndim = x._data.ndim
    if ndim != 2:
        warn_once(_T_WARNINGS[0 if ndim == 0 else 1], stacklevel=3)
    return Permute.apply(x, _REVERSED.get(ndim) or tuple(range(ndim - 1, -1, -1)))


def expand_as(x: Tensor, other: Tensor) -> Tensor:
    return expand(x, other.shape)


def view_as(x: Tensor, other: Tensor) -> Tensor:
    return view(x, other.shape)


def reshape_as(x: Tensor, other: Tensor) -> Tensor:
    return reshape(x, other.shape)


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    if x.ndim == 0:
        return reshape(x, 1)
    start, end = normalize_dim(start_dim, x.ndim), normalize_dim(end_dim, x.ndim)
    if start > end:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if start == end:
        return x
    shape = x._data.shape
    return reshape(x, shape[:start] + (-1 if 0 in shape else int(np.prod(shape[start:end + 1])),) + shape[end + 1:])


def unflatten(x: Tensor, dim: int, sizes) -> Tensor:
    d = normalize_dim(dim, x.ndim)
    shape = x._data.shape
    return view(x, shape[:d] + tuple(sizes) + shape[d + 1:])


def transpose(x: Tensor, dim0: int, dim1: int) -> Tensor:
    return Transpose.apply(x, normalize_dim(dim0, x.ndim), normalize_dim(dim1, x.ndim))


swapaxes = swapdims = transpose


def t(x: Tensor) -> Tensor:
    """The transpose of a 2-D tensor (0-D and 1-D tensors are returned as they are)."""
    if x.ndim > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {x.ndim}D")
    return T.apply(x)


def matrix_transpose(x: Tensor) -> Tensor:
    """``x.mT``: the last two dims swapped."""
    if x.ndim < 2:
        raise RuntimeError("tensor.mT is only supported on matrices or batches of matrices. "
                           f"Got {x.ndim}-D tensor.")
    return Transpose.apply(x, x.ndim - 2, x.ndim - 1)


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    return Unsqueeze.apply(x, normalize_dim(dim, x.ndim + 1))


def squeeze(x: Tensor, dim=None) -> Tensor:
    shape = x._data.shape
    if dim is None:
        return Squeeze.apply(x, tuple(i for i, s in enumerate(shape) if s == 1))
    if isinstance(dim, (tuple, list)):
        dims = tuple(normalize_dim(d, x.ndim) for d in dim)
        return SqueezeDims.apply(x, tuple(d for d in dims if x.ndim and shape[d] == 1))
    d = normalize_dim(dim, x.ndim)
    return SqueezeDim.apply(x, (d,) if x.ndim and shape[d] == 1 else ())


def movedim(x: Tensor, source, destination) -> Tensor:
    """A view with the dimensions ``source`` moved to ``destination`` (``movedim``)."""
    source = (source,) if isinstance(source, int) else tuple(source)
    destination = (destination,) if isinstance(destination, int) else tuple(destination)
    if len(source) != len(destination):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({list(source)} dims) should "
                           f"contain the same number of dims as destination ({list(destination)} dims)")
    src = [normalize_dim(d, x.ndim) for d in source]
    dst = [normalize_dim(d, x.ndim) for d in destination]
    for name, given, dims in (("source", source, src), ("destination", destination, dst)):
        if len(set(dims)) != len(dims):
            raise RuntimeError(f"movedim: repeated dim in `{name}` ({list(given)})")
    if x.ndim == 0:  # PyTorch returns an alias of a 0-d tensor
        return Alias.apply(x)
    order = [d for d in range(x.ndim) if d not in src]
    dims = [None] * x.ndim
    for s, d in zip(src, dst):
        dims[d] = s
    rest = iter(order)
    return Permute.apply(x, tuple(d if d is not None else next(rest) for d in dims))


moveaxis = movedim


def _tensor_list(tensors, name: str) -> tuple:
    tensors = tuple(tensors)
    if not tensors:
        if name == "stack":
            raise RuntimeError("stack expects a non-empty TensorList")
        raise ValueError(f"torch.{name}(): expected a non-empty list of Tensors")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got {type(t).__name__}")
    return tensors


def cat(tensors, dim: int = 0) -> Tensor:
    tensors = _tensor_list(tensors, "cat")
    for i, t in enumerate(tensors):
        if t.ndim == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be concatenated")
    if all(t._data.shape == (0,) for t in tensors):  # PyTorch checks no dim: nothing to join
        return Cat.apply(0, *tensors)
    kept = [(i, t) for i, t in enumerate(tensors) if not _skipped_in_cat(t, tensors)]
    first = kept[0][1]._data.shape
    d = normalize_dim(dim, len(first))
    for i, t in kept[1:]:
        shape = t._data.shape
        if len(shape) != len(first):
            raise RuntimeError(f"Tensors must have same number of dimensions: got {len(first)} and {len(shape)}")
        for k, (a, b) in enumerate(zip(first, shape)):
            if k != d and a != b:
                raise RuntimeError(f"Sizes of tensors must match except in dimension {d}. Expected size {a} "
                                   f"but got size {b} for tensor number {i} in the list.")
    return Cat.apply(d, *tensors)


concat = concatenate = cat


def stack(tensors, dim: int = 0) -> Tensor:
    tensors = _tensor_list(tensors, "stack")
    first = tensors[0]._data.shape
    for i, t in enumerate(tensors[1:], 1):
        if t._data.shape != first:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(first)} at entry 0 "
                               f"and {list(t._data.shape)} at entry {i}")
    return Stack.apply(normalize_dim(dim, len(first) + 1), *tensors)


def _split_dim(x: Tensor, dim: int) -> int:
    if x.ndim == 0:
        raise RuntimeError("split expects at least a 1-dimensional tensor")
    return normalize_dim(dim, x.ndim)


def split(x: Tensor, split_size_or_sections, dim: int = 0) -> tuple:
    """``tensor`` split into views of ``split_size_or_sections`` along ``dim``."""
    if isinstance(split_size_or_sections, (list, tuple)):
        return split_with_sizes(x, split_size_or_sections, dim)
    d = _split_dim(x, dim)
    size, n = x._data.shape[d], int(split_size_or_sections)
    if n < 0:
        raise RuntimeError(f"split expects split_size be non-negative, but got split_size={n}")
    if n == 0 and size != 0:
        raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got dimension size of {size}")
    sizes = [min(n, size - start) for start in range(0, size, n)] if n else [0]
    return Split.apply(x, sizes or [0], d)


def split_with_sizes(x: Tensor, split_sizes, dim: int = 0) -> tuple:
    d = _split_dim(x, dim)
    sizes = [int(s) for s in split_sizes]
    size = x._data.shape[d]
    if sum(sizes) != size or any(s < 0 for s in sizes):
        raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {size} (input tensor's size "
                           f"at dimension {d}), but got split_sizes={sizes}")
    return SplitWithSizes.apply(x, sizes, d)


def chunk(x: Tensor, chunks: int, dim: int = 0) -> tuple:
    """``input`` split into ``chunks`` views of (nearly) equal size along ``dim``."""
    if x.ndim == 0:
        raise RuntimeError("chunk expects at least a 1-dimensional tensor")
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    size = x._data.shape[normalize_dim(dim, x.ndim)]
    return split(x, max(-(-size // chunks), 1), dim)


def unbind(x: Tensor, dim: int = 0) -> tuple:
    """The slices along ``dim``, each without that dimension."""
    if x.ndim == 0:
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    return Unbind.apply(x, normalize_dim(dim, x.ndim))


def flip(x: Tensor, *dims) -> Tensor:
    """``input`` with the order of the elements reversed along ``dims``."""
    dims = tuple(normalize_dim(d, x.ndim) for d in parse_shape(dims, "flip", "dims"))
    for d in set(dims):
        if dims.count(d) > 1:
            raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
    return Flip.apply(x, dims if x.ndim else ())  # a 0-d tensor takes dim 0 or -1, as in PyTorch


def repeat(x: Tensor, *sizes) -> Tensor:
    sizes = parse_shape(sizes, "repeat", "repeats")
    if len(sizes) < x.ndim:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number of dimensions "
                           "of tensor")
    shape = (1,) * (len(sizes) - x.ndim) + x._data.shape
    target = [r * s for r, s in zip(sizes, shape)]
    if any(r < 0 for r in sizes):
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(target)}: {target}")
    return Repeat.apply(x, sizes)


# -- triangles, diagonals, trace and roll ------------------------------------------------------

def _diagonal_view(array: np.ndarray, offset: int, dim1: int, dim2: int) -> np.ndarray:
    """A writable view of ``array``'s diagonal ``offset`` over ``dim1``/``dim2``, as the last dim
    (NumPy's own ``diagonal`` view is read-only, PyTorch's is not)."""
    key = [slice(None)] * array.ndim
    if offset >= 0:
        key[dim2] = slice(offset, None)
    else:
        key[dim1] = slice(-offset, None)
    base = array[tuple(key)]
    n = max(min(base.shape[dim1], base.shape[dim2]), 0)
    rest = [i for i in range(array.ndim) if i not in (dim1, dim2)]
    return np.lib.stride_tricks.as_strided(
        base, shape=tuple(base.shape[i] for i in rest) + (n,),
        strides=tuple(base.strides[i] for i in rest) + (base.strides[dim1] + base.strides[dim2],))


def _with_diagonal(g: Tensor, shape: tuple, offset: int, dim1: int, dim2: int) -> Tensor:
    """Zeros of ``shape`` with ``g`` on the diagonal: the gradient of taking that diagonal."""
    return DiagonalScatter.apply(g, shape, offset, dim1, dim2)


class Diagonal(Function):
    """``x.diagonal(offset, dim1, dim2)``: a view."""
    jvp = staticmethod(linear_jvp)

    _backward_name = "DiagonalBackward0"

    @staticmethod
    def forward(ctx, x, offset, dim1, dim2):
        ctx.shape, ctx.offset, ctx.dim1, ctx.dim2 = x._data.shape, offset, dim1, dim2
        return _view_of(x, _diagonal_view(x._data, offset, dim1, dim2))

    @staticmethod
    def backward(ctx, g):
        return _with_diagonal(g, ctx.shape, ctx.offset, ctx.dim1, ctx.dim2), None, None, None


class DiagonalCopy(Diagonal):
    """``diag`` of a matrix: its diagonal as a new tensor."""

    _backward_name = "DiagonalBackward0_copy"

    @staticmethod
    def forward(ctx, x, offset, dim1, dim2):
        ctx.shape, ctx.offset, ctx.dim1, ctx.dim2 = x._data.shape, offset, dim1, dim2
        return wrap(_diagonal_view(x._data, offset, dim1, dim2).copy())


class DiagonalScatter(Function):
    """The gradient of a diagonal as an op of its own, so it can be differentiated again."""
    jvp = staticmethod(linear_jvp)

    _backward_name = "DiagonalBackwardBackward0"

    @staticmethod
    def forward(ctx, g, shape, offset, dim1, dim2):
        ctx.offset, ctx.dim1, ctx.dim2 = offset, dim1, dim2
        out = np.zeros(shape, g._data.dtype)
        _diagonal_view(out, offset, dim1, dim2)[...] = g._data
        return wrap(out)

    @staticmethod
    def backward(ctx, gg):
        return Diagonal.apply(gg, ctx.offset, ctx.dim1, ctx.dim2), None, None, None, None


class DiagEmbed(Function):
    """``diag`` of a vector: a square matrix with the vector on diagonal ``offset``."""
    jvp = staticmethod(linear_jvp)

    _backward_name = "DiagEmbedBackward0"

    @staticmethod
    def forward(ctx, v, offset):
        ctx.offset = offset
        return wrap(np.diag(v._data, offset))

    @staticmethod
    def backward(ctx, g):
        return Diagonal.apply(g, ctx.offset, 0, 1), None


class Trace(Function):
    jvp = staticmethod(linear_jvp)
    _backward_name = "TraceBackward0"

    @staticmethod
    @quietly
    def forward(ctx, x):
        ctx.shape = x._data.shape
        data = x._data
        return wrap(np.asarray(np.trace(data, dtype=None if data.dtype.kind == "f" else np.int64)))

    @staticmethod
    def backward(ctx, g):
        n = min(ctx.shape)
        diagonal = expand(g, n)
        return _with_diagonal(diagonal, ctx.shape, 0, 0, 1)


class Tril(Function):
    jvp = staticmethod(linear_jvp)
    _backward_name = "TrilBackward0"
    _numpy = staticmethod(np.tril)

    @classmethod
    def forward(cls, ctx, x, diagonal):
        ctx.diagonal = diagonal
        return wrap(cls._numpy(x._data, diagonal))

    @classmethod
    def backward(cls, ctx, g):
        return cls.apply(g, ctx.diagonal), None


class Triu(Tril):
    _backward_name = "TriuBackward0"
    _numpy = staticmethod(np.triu)


class Roll(Function):
    jvp = staticmethod(linear_jvp)
    _backward_name = "RollBackward0"

    @staticmethod
    def forward(ctx, x, shifts, dims):
        ctx.shifts, ctx.dims = shifts, dims
        return wrap(np.asarray(np.roll(x._data, shifts, dims), order="C"))

    @staticmethod
    def backward(ctx, g):
        back = -ctx.shifts if ctx.dims is None else tuple(-s for s in ctx.shifts)
        return Roll.apply(g, back, ctx.dims), None, None


def _at_least_2d(x: Tensor, name: str) -> None:
    if x.ndim < 2:
        raise RuntimeError(f"{name}: input tensor must have at least 2 dimensions")


def tril(x: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle of a matrix (elements above the ``diagonal``-th diagonal set to 0)."""
    _at_least_2d(x, "tril")
    return Tril.apply(x, int(diagonal))


def triu(x: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle of a matrix (elements below the ``diagonal``-th diagonal set to 0)."""
    _at_least_2d(x, "triu")
    return Triu.apply(x, int(diagonal))


def diagonal(x: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """A view of the diagonal with the given ``offset`` between dimensions ``dim1`` and ``dim2``."""
    d1, d2 = normalize_dim(dim1, x.ndim), normalize_dim(dim2, x.ndim)
    if d1 == d2:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return Diagonal.apply(x, int(offset), d1, d2)


def diag(x: Tensor, diagonal: int = 0) -> Tensor:
    """A vector's diagonal matrix, or a matrix's diagonal (a copy)."""
    if x.ndim == 1:
        return DiagEmbed.apply(x, int(diagonal))
    if x.ndim == 2:
        return DiagonalCopy.apply(x, int(diagonal), 0, 1)
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {x.ndim}D")


def trace(x: Tensor) -> Tensor:
    """The sum of the diagonal of a 2-D tensor."""
    if x.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {x.ndim}")
    return Trace.apply(x)


def roll(x: Tensor, shifts, dims=None) -> Tensor:
    """The elements shifted by ``shifts`` along ``dims`` (wrapping around)."""
    shifts = (int(shifts),) if isinstance(shifts, (int, np.integer)) else tuple(int(s) for s in shifts)
    if dims is None:
        if len(shifts) != 1:
            raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:0")
        # Rolls the flattened tensor, keeping its shape.
        return Roll.apply(x, shifts[0], None)
    dims = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
    if len(shifts) != len(dims):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:{len(dims)}")
    if x.ndim == 0 and dims:
        raise IndexError(f"Dimension specified as {dims[0]} but tensor has no dimensions")
    return Roll.apply(x, shifts, tuple(normalize_dim(d, x.ndim) for d in dims))


def hstack(tensors) -> Tensor:
    """``cat`` along dim 1, or dim 0 when the tensors are 1-D (0-d ones count as 1-D)."""
    tensors = [reshape(t, (1,)) if t.ndim == 0 else t for t in tensors]
    return cat(tensors, 0 if tensors and tensors[0].ndim == 1 else 1)


def vstack(tensors) -> Tensor:
    """``cat`` along dim 0 of the tensors made at least 2-D."""
    return cat([reshape(t, (1, -1)) if t.ndim < 2 else t for t in tensors], 0)


def tile(x: Tensor, dims) -> Tensor:
    """``repeat`` with ``dims`` padded by leading ones up to ``x``'s rank."""
    dims = tuple(int(d) for d in (dims if isinstance(dims, (tuple, list)) else (dims,)))
    return repeat(x, (1,) * (x.ndim - len(dims)) + dims)
