"""Batched tensors: what a function under ``vmap`` receives.

A ``BatchedTensor`` stands for one sample of a batch.  It keeps the whole batch as ``_value``
(a physical tensor, or for nested vmaps a batched tensor of an outer level) with the batch at
``_bdim``, and presents the shape of one sample, so argument checks and shape arithmetic in op
code read the per-sample (logical) shape.  Its ``_data`` holds that shape and dtype but no
values: op code that reads values directly raises instead of computing on nothing.

Every op reaches ``Function.apply``.  While a vmap runs, ``dispatch`` observes those calls
(``autograd/op_observers.py``, so ops cost nothing extra otherwise): a call with batched
arguments is rewritten by the op's batching rule (``_rules.py``) into the same op on the
physical tensors, whose results are batched again; autograd records the physical ops as
usual.  An op without a rule runs once per sample and its results are stacked, with
PyTorch's performance warning.
"""
from __future__ import annotations

import operator
import re
import threading
import warnings
import weakref

import numpy as np

from .. import _printing
from .._printing import format_tensor
from ..autograd import op_observers
from ..ops import _opdef
from ..tensor import Tensor

_MISSING_RULE = ("There is a performance drop because we have not yet implemented the batching rule for "
                 "aten::{}. Please file us an issue on GitHub so that we can prioritize its implementation.")
_DYNAMIC_SHAPE = ("vmap: We do not support batching operators that can output dynamic shape. Attempted to vmap "
                  "over aten::{}. Please file an issue at https://github.com/pytorch/pytorch/issues if you need "
                  "this feature.")
_NO_STORAGE = "Cannot access data pointer of Tensor that doesn't have storage"
_ITEM = ("vmap: It looks like you're calling .item() on a Tensor. We don't support vmap over calling .item() on "
         "a Tensor, please try to rewrite what you're doing with other operations. If error is occurring "
         "somewhere inside PyTorch internals, please file a bug report.")
_INPLACE_INTO_UNBATCHED = (
    "vmap: inplace arithmetic(self, *extra_args) is not possible because there exists a Tensor `other` in "
    "extra_args that has more elements than `self`. This happened due to `other` being vmapped over but `self` not "
    "being vmapped over in a vmap. Please try to use out-of-place operators instead of inplace arithmetic. If said "
    "operator is being called inside the PyTorch framework, please file a bug report instead.")
_CONTROL_FLOW = ("vmap: It looks like you're attempting to use a Tensor in some data-dependent control flow. "
                 "We don't support that yet, please file an issue at https://github.com/pytorch/pytorch/issues .")


class NoStorage(RuntimeError):
    """Op code read the values of a batched tensor (which has none): the op runs per sample."""


# -- the vmap levels ----------------------------------------------------------------------------

class Level:
    __slots__ = ("id", "size", "randomness")

    def __init__(self, id: int, size: int, randomness: str):
        self.id, self.size, self.randomness = id, size, randomness


class GradLevel:
    """A grad-family transform (grad, vjp, jacrev) while its function runs: the tensors it
    differentiates with respect to, by id (leaves) and by the id of their node (non-leaves)."""

    __slots__ = ("id", "tensors", "nodes")

    def __init__(self, id: int, tensors):
        self.id = id
        self.tensors = {id_(t) for t in tensors if t.grad_fn is None}
        self.nodes = {id_(t.grad_fn) for t in tensors if t.grad_fn is not None}


id_ = id


class _Levels(threading.local):
    """The open transforms, numbered in one sequence as PyTorch numbers them."""

    def __init__(self):
        self.stack: list[Level] = []
        self.grads: list[GradLevel] = []
        self.count = 0

    def next_id(self) -> int:
        self.count += 1
        return self.count

    def closed(self) -> None:
        if not self.stack and not self.grads:
            self.count = 0


_levels = _Levels()


def active_levels() -> list[Level]:
    return _levels.stack


def level_size(level: int) -> int:
    for lv in _levels.stack:
        if lv.id == level:
            return lv.size
    raise RuntimeError("vmap: a batched tensor was used outside the vmap that created it")


class vmap_level:
    """``with vmap_level(size, randomness) as level:`` a new innermost vmap level; batched ops
    are observed while any level is open."""

    def __init__(self, size: int, randomness: str):
        self.size, self.randomness = size, randomness

    def __enter__(self) -> int:
        state = _levels
        level = state.next_id()
        if not state.stack:
            op_observers.add(dispatch)
        state.stack.append(Level(level, self.size, self.randomness))
        return level

    def __exit__(self, *exc):
        state = _levels
        state.stack.pop()
        if not state.stack:
            op_observers.remove(dispatch)
        state.closed()


class grad_level:
    """``with grad_level(tensors):`` a grad-family transform differentiating ``tensors`` runs."""

    def __init__(self, tensors):
        self.tensors = tensors

    def __enter__(self):
        _levels.grads.append(GradLevel(_levels.next_id(), self.tensors))

    def __exit__(self, *exc):
        _levels.grads.pop()
        _levels.closed()


# -- printing --------------------------------------------------------------------------------------

def _tracking_levels(t) -> list[int]:
    """The open grad levels whose tensors ``t`` was computed from."""
    found = []
    for level in _levels.grads:
        if id(t) in level.tensors or (t.grad_fn is not None and _reaches(t.grad_fn, level)):
            found.append(level.id)
    return found


def _reaches(node, level: GradLevel) -> bool:
    stack, seen = [node], set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if id(node) in level.nodes or id(getattr(node, "variable", None)) in level.tensors:
            return True
        stack.extend(n for n, _ in node.next_functions if n is not None)
    return False


def _wrapped_text(head: str, inner: str) -> str:
    inner = inner.replace("\n", "\n    ")
    return f"{head}value=\n    {inner}\n)"


def transform_repr(t) -> str | None:
    """What PyTorch prints for a tensor inside transforms: its batched and grad-tracking
    wrappers, innermost level last; None for a tensor no open transform wraps."""
    vmapped = []
    while type(t) is BatchedTensor:
        vmapped.append((t._level, t._bdim))
        t = t._value
    tracking = _tracking_levels(t) if _levels.grads and t.requires_grad else []
    if not vmapped and not tracking:
        return None
    text = format_tensor(t._data) if tracking else repr(t)
    heads = [(level, f"BatchedTensor(lvl={level}, bdim={bdim}, ") for level, bdim in vmapped]
    heads += [(level, f"GradTrackingTensor(lvl={level}, ") for level in tracking]
    for _, head in sorted(heads):
        text = _wrapped_text(head, text)
    return text


# -- the batched tensor ---------------------------------------------------------------------------

class LogicalData:
    """A batched tensor's ``_data``: the per-sample shape and dtype, and no values."""

    __slots__ = ("shape", "dtype", "owner")

    class flags:
        c_contiguous = True
        f_contiguous = False
        writeable = False

    def __init__(self, shape: tuple, dtype, owner=None):
        self.shape, self.dtype, self.owner = shape, dtype, owner  # owner: a weak reference to the tensor

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        n = 1
        for s in self.shape:
            n *= s
        return n

    @property
    def itemsize(self) -> int:
        return self.dtype.itemsize

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    @property
    def strides(self) -> tuple:
        strides, step = [], self.dtype.itemsize
        for s in reversed(self.shape):
            strides.append(step)
            step *= max(s, 1)
        return tuple(reversed(strides))

    def __len__(self) -> int:
        return self.shape[0]

    def reshape(self, *shape, copy=None, order="C"):
        """The shape check of ``reshape`` (every sample is contiguous)."""
        shape = tuple(shape[0]) if len(shape) == 1 and not isinstance(shape[0], int) else shape
        if -1 in shape:
            known = 1
            for s in shape:
                known *= s if s != -1 else 1
            shape = tuple(self.size // known if s == -1 else s for s in shape)
        return LogicalData(shape, self.dtype)

    def swapaxes(self, a: int, b: int):
        shape = list(self.shape)
        shape[a], shape[b] = shape[b], shape[a]
        return LogicalData(tuple(shape), self.dtype)

    def __getitem__(self, key):
        raise NoStorage(_NO_STORAGE)

    def __setitem__(self, key, value):
        raise NoStorage(_NO_STORAGE)

    def __array__(self, dtype=None, copy=None):
        raise NoStorage(_NO_STORAGE)

    def __array_ufunc__(self, *args, **kwargs):
        raise NoStorage(_NO_STORAGE)

    def __array_function__(self, func, types, args, kwargs):
        if func is np.reshape:
            return self.reshape(args[1] if len(args) > 1 else kwargs["shape"])
        if func is np.swapaxes:
            return self.swapaxes(*args[1:])
        if func in (np.may_share_memory, np.shares_memory):
            return False  # a batched tensor's storage is its value's (the op on the values writes there)
        raise NoStorage(_NO_STORAGE)

    def __getattr__(self, name):
        if name.startswith("__"):  # a protocol probed (NumPy's __array_interface__...): not there
            raise AttributeError(name)
        raise NoStorage(_NO_STORAGE)


class BatchedTensor(Tensor):
    """One sample of the batch ``_value`` (batched along ``_bdim``) at vmap level ``_level``."""

    def __repr__(self) -> str:
        return transform_repr(self)

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return object.__format__(self, spec)

    @property
    def requires_grad(self) -> bool:
        return self._value.requires_grad

    @property
    def grad_fn(self):
        return self._value.grad_fn

    @property
    def data(self):
        return batched(self._value.data, self._bdim, self._level)

    def detach(self):
        return batched(self._value.detach(), self._bdim, self._level)

    def _alias(self):
        return batched(self._value._alias(), self._bdim, self._level)

    def item(self):
        raise RuntimeError(_ITEM)

    def __bool__(self):
        raise RuntimeError(_CONTROL_FLOW)

    __float__ = __int__ = __index__ = __bool__

    def tolist(self):
        raise RuntimeError(_NO_STORAGE)

    def numpy(self, *, force: bool = False):
        raise RuntimeError(_NO_STORAGE)

    # Comparisons and logic compute on the arrays without a Function: they map over the value.
    def __eq__(self, other):
        return elementwise_map(operator.eq, self, other)

    def __ne__(self, other):
        return elementwise_map(operator.ne, self, other)

    def __lt__(self, other):
        return elementwise_map(operator.lt, self, other)

    def __le__(self, other):
        return elementwise_map(operator.le, self, other)

    def __gt__(self, other):
        return elementwise_map(operator.gt, self, other)

    def __ge__(self, other):
        return elementwise_map(operator.ge, self, other)

    eq, ne, lt, le, gt, ge = __eq__, __ne__, __lt__, __le__, __gt__, __ge__
    __hash__ = Tensor.__hash__

    def __invert__(self):
        return elementwise_map(operator.invert, self)

    def logical_not(self):
        return elementwise_map(Tensor.logical_not.__name__, self)

    def isnan(self):
        return elementwise_map(Tensor.isnan.__name__, self)

    def isfinite(self):
        return elementwise_map(Tensor.isfinite.__name__, self)

    def isinf(self):
        return elementwise_map(Tensor.isinf.__name__, self)

    def __setitem__(self, key, value):
        """Written into the value with the batch dim in front of the key (a key holding tensors
        is written sample by sample)."""
        keys = key if isinstance(key, tuple) else (key,)
        if any(isinstance(k, (Tensor, np.ndarray, list)) for k in keys):
            return map_samples("index_put_", Tensor.__setitem__, (self, key, value), {}, self._level,
                               level_size(self._level))
        physical = front(self)
        key = (slice(None),) + keys
        if is_batched_at(value, self._level):
            value = front(value)
            region = physical[key].dim()
            if value.dim() < region:
                value = value.reshape((value.shape[0],) + (1,) * (region - value.dim()) + tuple(value.shape[1:]))
        physical[key] = value


def _per_sample_on_failure(name: str, method):
    """``method`` as a BatchedTensor method: where its code reads values, it runs per sample."""
    def run(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        except NoStorage:
            level = top_level(list(args) + list(kwargs.values()))
            return map_samples(name, method, args, kwargs, level, level_size(level))
    run.__name__ = name
    return run


for _name in dir(Tensor):
    _method = getattr(Tensor, _name)
    if ((_name in ("__getitem__", "__setitem__") or not _name.startswith("_")) and callable(_method)
            and _name not in BatchedTensor.__dict__ and not isinstance(Tensor.__dict__.get(_name), (property, staticmethod, classmethod))):
        setattr(BatchedTensor, _name, _per_sample_on_failure(_name, _method))
del _name, _method


def _run_function(name: str, fn, arguments: dict):
    """A generated op function whose code read a batched tensor's values, once per sample."""
    values = list(arguments.values())
    values += [v for seq in values if isinstance(seq, (list, tuple)) for v in seq]
    level = top_level(values)
    if level is None:
        raise NoStorage(_NO_STORAGE)
    rule = _rules.FUNCTION_RULES.get(name)
    if rule is not None:
        out = rule(arguments, level, level_size(level))
        if out is not NotImplemented:
            return _rebatch(out, level)
    return map_samples(name, fn, (), arguments, level, level_size(level))


_printing.transform_repr = transform_repr
_opdef.per_sample.errors = (NoStorage,)
_opdef.per_sample.run = staticmethod(_run_function)


def batched(value: Tensor, bdim: int, level: int) -> BatchedTensor:
    """``value`` seen as a batch along ``bdim`` at vmap ``level``."""
    t = Tensor.__new__(BatchedTensor)
    shape = tuple(value.shape)
    t._init(LogicalData(shape[:bdim] + shape[bdim + 1:], value.dtype.numpy, weakref.ref(t)))
    t._value, t._bdim, t._level = value, bdim, level
    return t


def is_batched_at(x, level: int) -> bool:
    return type(x) is BatchedTensor and x._level == level


def front(x: BatchedTensor) -> Tensor:
    """The value with the batch first."""
    return x._value if x._bdim == 0 else x._value.movedim(x._bdim, 0)


def unwrap(x, level: int, size: int | None = None):
    """``x`` with the batch of ``level`` as its first (logical) dim, still batched at the levels
    above; an ``x`` not batched at ``level`` is expanded to ``size`` when one is given."""
    if type(x) is BatchedTensor and x._level > level:
        return batched(unwrap(front(x), level, size), 1, x._level)
    if is_batched_at(x, level):
        return front(x)
    if size is None:
        return x
    return x.unsqueeze(0).expand(size, *x.shape)


def rewrap(x, level: int):
    """The inverse of ``unwrap``: ``x``'s first (logical) dim becomes the batch of ``level``,
    beneath the levels above it."""
    if type(x) is BatchedTensor and x._level > level:
        return batched(rewrap(front(x).movedim(1, 0), level), 0, x._level)
    return batched(x, 0, level)


def top_level(values) -> int | None:
    """The innermost vmap level among ``values``' batched tensors."""
    best = None
    for v in values:
        if type(v) is BatchedTensor and (best is None or v._level > best):
            best = v._level
    return best


def elementwise_map(op, *args):
    """``op`` (a function of tensors that maps elementwise, or the name of such a method)
    over batched arguments."""
    level = top_level(args)
    size = level_size(level)
    physical = align(args, level, size)
    result = getattr(physical[0], op)(*physical[1:]) if isinstance(op, str) else op(*physical)
    return batched(result, 0, level)


def logical_ndim(x, level: int) -> int:
    return x.dim() - 1 if is_batched_at(x, level) else x.dim()


def align(args, level: int, size: int) -> list:
    """The arguments with the batch first and each batched tensor padded with size-1 dims so
    that the batch broadcasts against the unbatched operands."""
    tensors = [a for a in args if isinstance(a, Tensor)]
    n = max([a.dim() for a in tensors], default=0)
    out = []
    for a in args:
        if is_batched_at(a, level):
            v = front(a)
            k = v.dim() - 1
            if k < n:
                v = v.reshape((size,) + (1,) * (n - k) + tuple(v.shape[1:]))
            out.append(v)
        else:
            out.append(a)
    return out


# -- dispatch -----------------------------------------------------------------------------------------

_CAMEL = re.compile(r"(?<!^)(?<![0-9])(?=[A-Z])")  # AvgPool2DBackward: avg_pool2d_backward
_DYNAMIC = frozenset({"masked_select", "nonzero", "unique"})


def aten_name(cls) -> str:
    op = getattr(cls, "_op", None)
    if op is not None:
        return op.aten or op.name
    name = re.sub(r"Backward\d*$", "", getattr(cls, "_backward_name", cls.__name__))
    return _CAMEL.sub("_", name).lower()


class _RawArrays:
    """``cls`` called with the arrays of the tensors at ``positions`` (an op given ``x._data``
    where a batched ``x`` was meant: its rule sees the tensor)."""

    def __init__(self, cls, positions):
        self.cls, self.positions = cls, positions
        self._op = getattr(cls, "_op", None)

    def apply(self, *args):
        return self.cls.apply(*[a._data if i in self.positions else a for i, a in enumerate(args)])


def dispatch(cls, args, kwargs, call):
    """The op observer: batched calls of ``cls`` go through its batching rule."""
    raw = [i for i, a in enumerate(args) if type(a) is LogicalData]
    if raw:
        args = tuple(a.owner() if type(a) is LogicalData else a for a in args)
    level = top_level(args)
    if level is None:
        level = top_level(kwargs.values())
        if level is None:
            return call()
    size = level_size(level)
    if not is_batched_at(args[0], level) and _rules.is_inplace(cls):
        raise RuntimeError(_INPLACE_INTO_UNBATCHED)
    rule = _rules.rule_for(cls)
    if rule is not None and not kwargs:
        ins = [front(a) if is_batched_at(a, level) else a for a in args]
        flags = [is_batched_at(a, level) for a in args]
        out = rule(_RawArrays(cls, raw) if raw else cls, ins, flags, size)
        if out is not NotImplemented:
            return _rebatch(out, level)
    return per_sample(_RawArrays(cls, raw) if raw else cls, args, kwargs, level, size)


def _rebatch(out, level: int):
    if isinstance(out, tuple):
        return tuple(batched(o, 0, level) if isinstance(o, Tensor) else o for o in out)
    return batched(out, 0, level)


def per_sample(cls, args, kwargs, level: int, size: int):
    """Run ``cls`` once per sample and stack the results (PyTorch's fallback)."""
    name = aten_name(getattr(cls, "cls", cls))

    return map_samples(name, cls.apply, args, kwargs, level, size)


def map_samples(name: str, fn, args, kwargs, level: int, size: int, warn: bool = True):
    """``fn`` once per sample of ``level``, its results stacked (PyTorch's fallback, with its
    warning naming the op unless ``warn`` is false)."""
    if name in _DYNAMIC:
        raise RuntimeError(_DYNAMIC_SHAPE.format(name))
    if warn:
        warnings.warn(_MISSING_RULE.format(name), UserWarning, stacklevel=4)

    def sample(x, i):
        return x._value.select(x._bdim, i) if is_batched_at(x, level) else x

    results = [fn(*[sample(a, i) for a in args], **{k: sample(v, i) for k, v in kwargs.items()})
               for i in range(size)]
    from ..ops.shape import stack
    first = results[0]
    if isinstance(first, tuple):
        parts = [batched(stack(list(p)), 0, level) if isinstance(p[0], Tensor) else p[0] for p in zip(*results)]
        return type(first)(*parts) if hasattr(type(first), "_fields") else type(first)(parts)
    if not isinstance(first, Tensor):
        return first
    return batched(stack(results), 0, level)


from . import _rules  # noqa: E402 - the rules import this module's helpers
