"""Indexing: ``x[key]``, ``x[key] = value``, ``gather`` and ``narrow``.

PyTorch reads an index left to right as a chain of views (``select`` for an int, ``slice``
for a slice, ``unsqueeze`` for ``None``) and then applies the integer-array and mask
indices, if any, in one ``index`` op.  ``parse_key`` turns a key into those steps once; the
getter runs them as differentiable ops (so the grad_fn chain is PyTorch's), the setter runs
them on the arrays to find the region it writes.
"""
from __future__ import annotations

import warnings

import numpy as np

from .._errstate import quietly
from ..autograd.forward_ad import linear_jvp
from ..autograd.function import Function
from ..autograd.views import ViewFunction
from ..tensor import Tensor
from . import inplace as _inplace
from ._opdef import install_array_backward
from . import shape as _shape
from ._util import broadcast_shape, normalize_dim, wrap
from .optable import gradient_where

_VALID = ("only integers, slices (`:`), ellipsis (`...`), None and long or byte Variables are valid indices "
          "(got {})")


# -- the index ops ----------------------------------------------------------------------------------
class Select(ViewFunction):
    """A basic (view) index: ``key`` holds only slices and ints."""
    jvp = staticmethod(linear_jvp)

    _backward_name = "SelectBackward0"

    @staticmethod
    def forward(ctx, x, key):
        ctx.shape, ctx.key = x._data.shape, key
        return _shape._view_of(x, x._data[key])

    @staticmethod
    def backward(ctx, g):
        return ctx._forward_cls._gradient.apply(g, ctx.shape, ctx.key, False), None


class Slice(Select):
    _backward_name = "SliceBackward0"


class Index(Function):
    """An advanced index (a copy); repeated indices add up in the gradient."""
    jvp = staticmethod(linear_jvp)

    _backward_name = "IndexBackward0"

    @staticmethod
    def forward(ctx, x, key):
        ctx.shape, ctx.key = x._data.shape, key
        return wrap(x._data[key])

    @staticmethod
    def backward(ctx, g):
        return Embed.apply(g, ctx.shape, ctx.key, True), None


class Gather(Index):
    _backward_name = "GatherBackward0"


class IndexSelect(Index):
    _backward_name = "IndexSelectBackward0"


class MaskedSelect(Index):
    _backward_name = "MaskedSelectBackward0"


class Scatter(Function):
    """``x.scatter(dim, index, src)``: src's elements overwrite x at ``key``; x keeps the rest's gradient."""
    jvp = staticmethod(linear_jvp)

    _backward_name = "ScatterBackward0"

    @staticmethod
    @quietly
    def forward(ctx, x, src, key, src_key):
        ctx.key, ctx.src_key, ctx.src_shape = key, src_key, src._data.shape
        out = x._data.copy()
        out[key] = src._data[src_key] if src_key is not None else src._data
        return wrap(out)

    @staticmethod
    def backward(ctx, g):
        needs = ctx.needs_input_grad
        grad_x = grad_src = None
        if needs[0]:
            keep = np.ones(g._data.shape, g._data.dtype)
            keep[ctx.key] = 0
            grad_x = g * wrap(keep)
        if needs[1] and ctx.src_key is not None:
            grad_src = Embed.apply(Gather.apply(g, ctx.key), ctx.src_shape, ctx.src_key, False)
        return grad_x, grad_src, None, None


class ScatterValue(Scatter):
    _backward_name = "ScatterBackward1"


class ScatterAdd(Function):
    """``x.scatter_add(dim, index, src)`` and ``x.index_add(dim, index, source)``: src is added at ``key``."""
    jvp = staticmethod(linear_jvp)

    _backward_name = "ScatterAddBackward0"

    @staticmethod
    @quietly
    def forward(ctx, x, src, key, src_key):
        ctx.key, ctx.src_key, ctx.src_shape = key, src_key, src._data.shape
        out = x._data.copy()
        np.add.at(out, key, src._data[src_key].astype(out.dtype, copy=False))
        return wrap(out)

    @staticmethod
    def backward(ctx, g):
        needs = ctx.needs_input_grad
        grad_src = None
        if needs[1]:
            grad_src = Gather.apply(g, ctx.key)
            if ctx.src_shape != grad_src._data.shape:
                grad_src = Embed.apply(grad_src, ctx.src_shape, ctx.src_key, False)
        return (g if needs[0] else None), grad_src, None, None


class IndexAdd(ScatterAdd):
    _backward_name = "IndexAddBackward0"


class Embed(Function):
    """The gradient of an index: zeros of the input's shape with ``g`` placed (or summed) at ``key``."""
    jvp = staticmethod(linear_jvp)

    _backward_name = "IndexBackwardBackward0"

    @staticmethod
    def forward(ctx, g, shape, key, accumulate):
        ctx.key, ctx.accumulate = key, accumulate
        return wrap(_embedded(g._data, shape, key, accumulate))

    @staticmethod
    def backward(ctx, gg):
        taken = (Index if ctx.accumulate else Select).apply(gg, ctx.key)
        return taken, None, None, None


class SelectEmbed(Embed):
    """The gradient of a basic index, as differentiable as ``Embed`` (PyTorch's node name)."""
    _backward_name = "SelectBackwardBackward0"


class SliceEmbed(Embed):
    """The gradient of a slice (``x[1:3]``, ``narrow``)."""
    _backward_name = "SliceBackwardBackward0"


Select._gradient, Slice._gradient = SelectEmbed, SliceEmbed  # each view's gradient, by PyTorch's node name


def _embedded(g: np.ndarray, shape: tuple, key, accumulate: bool) -> np.ndarray:
    """Zeros of ``shape`` with ``g`` placed (or, ``accumulate``, summed) at ``key``."""
    out = np.zeros(shape, g.dtype)
    if accumulate:
        np.add.at(out, key, g)
    else:
        out[key] = g
    return out


def _placed(g: np.ndarray, shape: tuple, key) -> np.ndarray:
    return _embedded(g, shape, key, False)


def _summed(g: np.ndarray, shape: tuple, key) -> np.ndarray:
    return _embedded(g, shape, key, True)


# Plain backward's array forms of the index ops' gradients (what Embed computes), run by the
# compiled engine without the frames of ``backward`` and ``Embed.apply``.
for _cls, _gradient in ((Select, _placed), (Slice, _placed), (Index, _summed), (Gather, _summed),
                        (IndexSelect, _summed), (MaskedSelect, _summed)):
    install_array_backward(_cls, ((_gradient, (0, 1, 2)), None), kept=("shape", "key"))


class IndexPut(Function):
    """``x[index] = value`` with an advanced index: the written elements get no gradient from ``x``."""
    jvp = staticmethod(linear_jvp)

    _backward_name = "IndexPutBackward0"

    @staticmethod
    @quietly
    def forward(ctx, x, value, advanced):
        x._data[advanced] = value._data
        ctx.advanced = advanced
        ctx.mark_dirty(x)
        return x

    @staticmethod
    def backward(ctx, g):
        needs = ctx.needs_input_grad
        grad_x = grad_value = None
        if needs[0]:
            keep = np.ones(g._data.shape, bool)
            keep[ctx.advanced] = False
            grad_x = gradient_where(g, keep)
        if needs[1]:
            grad_value = Index.apply(g, ctx.advanced)
        return grad_x, grad_value, None


SEQUENCE_INDEX_WARNING = (
    "Using a non-tuple sequence for multidimensional indexing is deprecated and will be changed in pytorch "
    "2.9; use x[tuple(seq)] instead of x[seq]. In pytorch 2.9 this will be interpreted as tensor index, "
    "x[torch.tensor(seq)], which will result either in an error or a different result")


def _sequence_as_tuple(key: list) -> bool:
    """NumPy's legacy rule, kept by PyTorch: a short list holding an index object is a tuple of indices."""
    return len(key) < 32 and any(isinstance(k, (Tensor, np.ndarray, list, tuple, slice)) or k is None
                                 or k is Ellipsis for k in key)


# -- reading a key -------------------------------------------------------------------------------------
def _index_array(k) -> np.ndarray | None:
    """An integer or boolean index array, or None when ``k`` is not an array-like index."""
    if isinstance(k, Tensor):
        a = k._data
    elif isinstance(k, np.ndarray):
        a = k
    elif isinstance(k, range):
        a = np.arange(k.start, k.stop, k.step, dtype=np.int64)
    elif isinstance(k, (list, tuple)):
        a = np.asarray([int(v) if isinstance(v, Tensor) and v.ndim == 0 and v.dtype.name != "bool" else
                        (v._data if isinstance(v, Tensor) else v) for v in k])
        if a.size == 0:
            a = a.astype(np.int64)
    else:
        return None
    if a.dtype.kind not in "iub":
        raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
    if a.dtype == np.uint8 and not isinstance(k, (list, tuple)):  # PyTorch reads a byte tensor as a mask
        warnings.warn(UINT8_INDEX_WARNING, UserWarning, stacklevel=4)
        a = a.astype(bool)
    return a


UINT8_INDEX_WARNING = "indexing with dtype torch.uint8 is now deprecated, please use a dtype torch.bool instead."


def _byte_mask_fill(key, value) -> bool:
    """Whether PyTorch would write ``x[key] = value`` with ``masked_fill_`` on a byte mask (which it
    refuses): one value, and the key's only tensor index a uint8 mask."""
    keys = key if isinstance(key, tuple) else (key,)
    arrays = [k for k in keys if isinstance(k, (Tensor, np.ndarray, list))]
    if len(arrays) != 1 or not isinstance(arrays[0], (Tensor, np.ndarray)):
        return False
    mask = arrays[0]._data if isinstance(arrays[0], Tensor) else arrays[0]
    return mask.dtype == np.uint8 and mask.ndim > 0 and np.size(value._data if isinstance(value, Tensor) else value) == 1


def _integer_arrays_key(shape: tuple, key):
    """``parse_key``'s answer for its common advanced case, ``x[rows, cols]``: a tuple of int64
    tensors of one shape (none 0-d, which selects, or empty), each index in bounds and none
    negative; None otherwise (the general reading then decides, and raises)."""
    if type(key) is not tuple or not 0 < len(key) <= len(shape):
        return None
    arrays = []
    for k in key:
        if type(k) is not Tensor:
            return None
        a = k._data
        if a.dtype != np.int64 or not a.ndim or not a.size or (arrays and a.shape != arrays[0].shape):
            return None
        arrays.append(a)
    try:  # every index in bounds and none negative, checked in one pass
        np.ravel_multi_index(arrays, shape[:len(arrays)])
    except ValueError:
        return None
    # (copies: backward scatters with them, a later write to an index tensor must not move them)
    return tuple([a.copy() for a in arrays]) + (slice(None),) * (len(shape) - len(arrays))


def parse_key(shape: tuple, key, setting: bool = False):
    """The steps of ``x[key]`` on a tensor of ``shape``: ``(steps, advanced)``.

    ``steps`` are ``("unsqueeze", dim)``, ``("select", dim, i)``, ``("slice", dim, slice)``
    applied in order; ``advanced`` is None or the NumPy key of the final index op on the result.
    """
    advanced = _integer_arrays_key(shape, key)
    if advanced is not None:
        return (), advanced
    bare_slice = isinstance(key, slice) and not setting  # a bare slice always records a view when read
    if isinstance(key, list) and _sequence_as_tuple(key):
        warnings.warn(SEQUENCE_INDEX_WARNING, UserWarning, stacklevel=3)
        key = tuple(key)
    if not isinstance(key, tuple):
        key = (key,)
    items = []
    for k in key:
        if k is None or k is Ellipsis or isinstance(k, slice) or type(k) is bool:
            items.append(k)
        elif isinstance(k, (int, np.integer)):
            items.append(int(k))
        elif isinstance(k, Tensor) and k.ndim == 0 and k.dtype.name not in ("bool", "uint8"):
            if not k.dtype.is_floating_point:
                items.append(int(k.item()))
            else:
                raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
        elif isinstance(k, Tensor) and k.ndim == 0:
            items.append(bool(k.item()))
        elif isinstance(k, str):
            raise TypeError("new(): invalid data type 'str'")
        else:
            a = _index_array(k)
            if a is None:
                raise IndexError(_VALID.format(type(k).__name__))
            items.append(a)

    consumed = sum(1 if isinstance(k, (int, slice)) and type(k) is not bool else
                   (k.ndim if isinstance(k, np.ndarray) and k.dtype.kind == "b" else
                    1 if isinstance(k, np.ndarray) else 0) for k in items)
    ndim = len(shape)
    if ndim == 0 and any(type(k) is int for k in items):
        raise IndexError("invalid index of a 0-dim tensor. Use `tensor.item()` in Python or `tensor.item<T>()` "
                         "in C++ to convert a 0-dim tensor to a number")
    if consumed > ndim:
        raise IndexError(f"too many indices for tensor of dimension {ndim}")

    steps, adv = [], {}
    cur = list(shape)
    d = 0
    seen_ellipsis = False
    adv_count = 0
    for position, k in enumerate(items):
        if k is Ellipsis:
            if not seen_ellipsis:
                d += ndim - consumed
                seen_ellipsis = True
        elif k is None:
            steps.append(("unsqueeze", d))
            cur.insert(d, 1)
            d += 1
        elif type(k) is bool:
            steps.append(("unsqueeze", d))
            cur.insert(d, 1)
            adv[d] = np.zeros(1 if k else 0, np.int64)
            d += 1
        elif isinstance(k, int):
            size = cur[d]
            if not -size <= k < size:
                raise IndexError(f"index {k} is out of bounds for dimension {position} with size {size}")
            steps.append(("select", d, k % size))
            del cur[d]
        elif isinstance(k, slice):
            if k.step is not None and int(k.step) == 0:
                raise ValueError("slice step cannot be zero")
            if k.step is not None and int(k.step) < 0:
                raise ValueError("step must be greater than zero")
            bounds = slice(*(None if v is None else int(v) for v in (k.start, k.stop, k.step)))
            start, stop, step = bounds.indices(cur[d])
            stop = max(stop, start)
            if bare_slice or not (start == 0 and stop == cur[d] and step == 1):
                steps.append(("slice", d, slice(start, stop, step)))
                cur[d] = len(range(start, stop, step))
            d += 1
        elif k.dtype.kind == "b":
            mask_shape = tuple(cur[d:d + k.ndim])
            if k.shape != mask_shape:
                j = next(i for i, (a, b) in enumerate(zip(k.shape, mask_shape)) if a != b)
                raise IndexError(f"The shape of the mask {list(k.shape)} at index {j} does not match the shape "
                                 f"of the indexed tensor {cur} at index {d + j}")
            for i, nz in enumerate(np.nonzero(k)):
                adv[d + i] = nz
            adv_count += k.ndim
            d += k.ndim
        else:
            size = cur[d]
            k = k.astype(np.int64, copy=False)
            bad = (k < -size) | (k >= size)
            if bad.any():
                raise IndexError(f"index {int(k[bad].flat[0])} is out of bounds for dimension {adv_count} "
                                 f"with size {size}")
            adv[d] = np.where(k < 0, k + size, k)
            adv_count += 1
            d += 1
    advanced = None
    if adv:
        arrays = list(adv.values())
        try:
            np.broadcast_shapes(*(a.shape for a in arrays))
        except ValueError:
            shapes = ", ".join(str(list(a.shape)) for a in arrays)
            raise IndexError(f"shape mismatch: indexing tensors could not be broadcast together with shapes "
                             f"{shapes}") from None
        advanced = tuple(adv.get(i, slice(None)) for i in range(len(cur)))
    return tuple(steps), advanced


def _step_key(step) -> tuple:
    """The NumPy key of a select or slice step (``...`` keeps a 0-d result a view, not a scalar)."""
    kind, d, k = step
    return (slice(None),) * d + (k, Ellipsis)


def _region(array: np.ndarray, steps) -> np.ndarray:
    """The view of ``array`` that the steps select."""
    for step in steps:
        if step[0] == "unsqueeze":
            array = np.expand_dims(array, step[1])
        else:
            array = array[_step_key(step)]
    return array


def _apply_steps(x: Tensor, steps, advanced) -> Tensor:
    """``x[key]`` as differentiable ops, one per step."""
    for step in steps:
        if step[0] == "unsqueeze":
            x = _shape.Unsqueeze.apply(x, step[1])
        else:
            x = (Select if step[0] == "select" else Slice).apply(x, _step_key(step))
    if advanced is not None:
        x = Index.apply(x, advanced)
    return x


# -- public functions -------------------------------------------------------------------------------------
def getitem(x: Tensor, key) -> Tensor:
    steps, advanced = parse_key(x._data.shape, key)
    if not steps:  # (x[rows, cols] among them)
        return _shape.Alias.apply(x) if advanced is None else Index.apply(x, advanced)
    return _apply_steps(x, steps, advanced)


def setitem(x: Tensor, key, value) -> None:
    steps, advanced = parse_key(x._data.shape, key, setting=True)
    if _byte_mask_fill(key, value):
        raise RuntimeError("masked_fill_ only supports boolean masks, but got mask with dtype unsigned char")
    if isinstance(value, str):
        raise TypeError(f"can't assign a str to a torch.{x.dtype._tensor_type}")
    if not isinstance(value, Tensor):
        value = wrap(np.asarray(value, dtype=x._data.dtype))
    region_shape = _region(x._data, steps)[advanced if advanced is not None else ...].shape
    # The value broadcasts to the region; leading size-1 dims beyond the region's rank are dropped.
    lead = 0
    while value.ndim - lead > len(region_shape) and value._data.shape[lead] == 1:
        lead += 1
    if lead:
        value = _shape.reshape(value, value._data.shape[lead:])
    if advanced is not None:
        try:
            np.broadcast_shapes(value._data.shape, region_shape)
            ok = value.ndim <= len(region_shape)
        except ValueError:
            ok = False
        if not ok:
            raise RuntimeError(f"shape mismatch: value tensor of shape {list(value.shape)} cannot be broadcast "
                               f"to indexing result of shape {list(region_shape)}")
    else:
        _shape.expand(value.detach(), region_shape)  # PyTorch's expand error when it does not fit
    # As in PyTorch, the basic part of the key is a view and the write an in-place op on it, so
    # writing into a view updates the base's history (CopySlices) like any in-place op does.
    region = _apply_steps(x, steps, None)
    if advanced is None:
        _inplace.copy_(region, value, broadcast=True)
    else:
        _inplace.check_inplace(region, value)
        if value._data.size != 1:  # PyTorch drops leading size-1 dims; a 0-d value is used as a number
            _inplace.check_partial_overlap(region, value)
        IndexPut.apply(region, value, advanced)


def _check_index_dtype(name: str, index, expected: str = "int32/int64") -> np.ndarray:
    if not isinstance(index, Tensor) or index._data.dtype not in (np.int64, np.int32):
        raise RuntimeError(f"{name}(): Expected dtype {expected} for index")
    return index._data


def _gather_key(name: str, x: Tensor, dim: int, index: Tensor, other: Tensor | None = None) -> tuple:
    """The NumPy key of the elements ``gather``/``scatter`` along ``dim`` touch: index values
    along ``dim``, the element's own position along the other dims."""
    d = normalize_dim(dim, x.ndim)
    idx = _check_index_dtype(name, index)
    if idx.ndim != max(x.ndim, 1) and not (x.ndim == 0 and idx.ndim <= 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as "
                           + ("input tensor" if name == "gather" else "self tensor"))
    for i, (a, b) in enumerate(zip(idx.shape, x._data.shape)):
        if i != d and a > b:
            raise RuntimeError(f"Size does not match at dimension {i} expected index {list(idx.shape)} to be no "
                               f"larger than self {list(x._data.shape)} apart from dimension {d}")
    if other is not None:
        for i, (a, b) in enumerate(zip(idx.shape, other._data.shape)):
            if a > b:
                raise RuntimeError(f"Expected index {list(idx.shape)} to be no larger than self "
                                   f"{list(x._data.shape)} apart from dimension {d} and to be no larger size than "
                                   f"src {list(other._data.shape)}")
    size = x._data.shape[d] if x.ndim else 1
    bad = (idx < -size) | (idx >= size)
    if bad.any():
        raise RuntimeError(f"index {int(idx[bad].flat[0])} is out of bounds for dimension {d} with size {size}")
    if x.ndim == 0:
        return ()
    return tuple(idx.astype(np.int64) % size if i == d else
                 np.arange(n).reshape((-1,) + (1,) * (idx.ndim - 1 - i))
                 for i, n in enumerate(idx.shape))


def gather(x: Tensor, dim: int, index: Tensor) -> Tensor:
    """The elements of ``input`` along ``dim`` at the positions ``index`` gives."""
    return Gather.apply(x, _gather_key("gather", x, dim, index))


def _scatter_args(name: str, x: Tensor, dim: int, index: Tensor, src) -> tuple:
    if isinstance(src, Tensor):
        if src.dtype is not x.dtype:
            raise RuntimeError(f"{name}(): Expected self.dtype to be equal to src.dtype")
        key = _gather_key(name, x, dim, index, src)
        return src, key, tuple(slice(0, n) for n in index._data.shape) if x.ndim else ()
    key = _gather_key(name, x, dim, index)
    return wrap(np.asarray(src, x._data.dtype)), key, None


def scatter_function(x: Tensor, dim: int, index: Tensor, src=None, value=None):
    """The Function and its arguments for ``scatter``/``scatter_`` (a tensor ``src`` or a number ``value``)."""
    src = value if src is None else src
    if src is None:
        raise TypeError("scatter() missing required argument 'src' or 'value'")
    src, key, src_key = _scatter_args("scatter", x, dim, index, src)
    return (Scatter if src_key is not None else ScatterValue), (src, key, src_key)


def scatter(x: Tensor, dim: int, index: Tensor, src=None, *, value=None) -> Tensor:
    """A copy of ``input`` with ``src`` (or ``value``) written at the ``index`` positions along ``dim``."""
    fn, args = scatter_function(x, dim, index, src, value)
    return fn.apply(x, *args)


def scatter_add_function(x: Tensor, dim: int, index: Tensor, src: Tensor):
    if not isinstance(src, Tensor):
        raise TypeError(f"scatter_add(): argument 'src' (position 3) must be Tensor, not {type(src).__name__}")
    src, key, src_key = _scatter_args("scatter_add", x, dim, index, src)
    return ScatterAdd, (src, key, src_key)


def scatter_add(x: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """A copy of ``input`` with ``src`` added at the ``index`` positions along ``dim``."""
    fn, args = scatter_add_function(x, dim, index, src)
    return fn.apply(x, *args)


def _select_key(name: str, x: Tensor, dim: int, index: Tensor) -> tuple:
    """``(:, ..., index)`` along ``dim`` for a 0-d or 1-d integer ``index``, checked as PyTorch does."""
    d = normalize_dim(dim, x.ndim)
    idx = _check_index_dtype(name, index, "int32 or int64")
    if idx.ndim > 1:
        raise IndexError(f"{name}(): Index is supposed to be a vector")
    size = x._data.shape[d] if x.ndim else 1
    if ((idx < -size) | (idx >= size)).any():
        raise IndexError("index out of range in self")
    return (slice(None),) * d + (idx.reshape(-1).astype(np.int64) % size,)


def index_select(x: Tensor, dim: int, index: Tensor) -> Tensor:
    """The slices of ``input`` along ``dim`` at the positions ``index`` gives."""
    key = _select_key("index_select", x, dim, index)
    if x.ndim == 0:
        if index._data.size != 1:
            raise RuntimeError(f"index_select(): Index to scalar can have only 1 value, got {index._data.size} "
                               "value(s)")
        return IndexSelect.apply(x, ...)
    return IndexSelect.apply(x, key)


def index_add_function(x: Tensor, dim: int, index: Tensor, source: Tensor, alpha=1):
    key = _select_key("index_add_", x, dim, index)
    d = normalize_dim(dim, x.ndim)
    n = len(key[-1])
    if source.ndim and source._data.shape[d] != n:
        raise RuntimeError(f"index_add_(): Number of indices ({n}) should be equal to source.size(dim): "
                           f"({source._data.shape[d]}), for dim: {d}")
    if source.dtype is not x.dtype:
        raise RuntimeError("index_add_(): self (" + x.dtype._tensor_type[:-6] + ") and source ("
                           + source.dtype._tensor_type[:-6] + ") must have the same scalar type")
    from .arith import scaled_operand
    return IndexAdd, (scaled_operand(x, source, alpha), key, ...)


def index_add(x: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha=1) -> Tensor:
    """A copy of ``input`` with ``alpha * source`` added at the ``index`` positions along ``dim``."""
    fn, args = index_add_function(x, dim, index, source, alpha)
    return fn.apply(x, *args)


def select(x: Tensor, dim: int, index: int) -> Tensor:
    """The slice at ``index`` along ``dim``, without that dimension (a view)."""
    if x.ndim == 0:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    d = normalize_dim(dim, x.ndim)
    size = x._data.shape[d]
    index = int(index)
    if not -size <= index < size:
        raise IndexError(f"select(): index {index} out of range for tensor of size "
                         f"[{', '.join(map(str, x._data.shape))}] at dimension {d}")
    return Select.apply(x, (slice(None),) * d + (index % size,))


def masked_select(x: Tensor, mask: Tensor) -> Tensor:
    """The elements of ``input`` where ``mask`` is True, as a 1-D tensor."""
    if not isinstance(mask, Tensor) or mask.dtype._tensor_type != "BoolTensor":
        raise RuntimeError("masked_select: expected BoolTensor for mask")
    if x.ndim == 0:
        x = _shape.reshape(x, (1,))
    shape = broadcast_shape(mask._data.shape, x._data.shape)
    where = np.nonzero(np.broadcast_to(mask._data, shape))
    # Each selected element read from x: its position, or 0 along the dims x is broadcast in.
    key = tuple(np.zeros_like(w) if n == 1 else w for n, w in zip(x._data.shape, where[len(shape) - x.ndim:]))
    return MaskedSelect.apply(x, key)


def narrow(x: Tensor, dim: int, start, length: int) -> Tensor:
    """A view of ``length`` elements from ``start`` along ``dim``."""
    if x.ndim == 0:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    d = normalize_dim(dim, x.ndim)
    size = x._data.shape[d]
    start, length = int(start), int(length)
    if length < 0:
        raise RuntimeError("narrow(): length must be non-negative.")
    if not -size <= start <= size:
        raise IndexError(f"start out of range (expected to be in range of [{-size}, {size}], but got {start})")
    if start < 0:
        start += size
    if start + length > size:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({size}).")
    return Slice.apply(x, _step_key(("slice", d, slice(start, start + length))))


def tensor_split(x: Tensor, indices_or_sections, dim: int = 0) -> tuple:
    """Views of ``x`` split into ``n`` nearly equal pieces (the first ones one longer) or at indices."""
    if x.ndim == 0:
        raise RuntimeError("tensor_split expected at least a 1-dimensional tensor, but got a tensor with 0 dims")
    d = normalize_dim(dim, x.ndim)
    size = x._data.shape[d]
    split = indices_or_sections
    if isinstance(split, Tensor):
        if split.dtype.is_floating_point or split.ndim > 1:
            raise RuntimeError("tensor_split expected tensor_indices_or_sections to have a long dtype and be a "
                               "zero- or one-dimensional tensor")
        split = split.item() if split.ndim == 0 else split.tolist()
    if isinstance(split, (int, np.integer)):
        n = int(split)
        if n <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {n}")
        bounds = [i * (size // n) + min(i, size % n) for i in range(1, n)]
    else:
        bounds = [int(i) for i in split]
    starts, stops = [0] + bounds, bounds + [size]
    return tuple(Slice.apply(x, _step_key(("slice", d, slice(min(max(a, 0), size), min(max(b, a, 0), size)))))
                 for a, b in zip(starts, stops))
