"""Lazy results of elementwise ops on large tensors, computed together in one blocked pass.

A table op whose inputs are large float tensors (see ``gate``) does not compute its result: it
returns a ``LazyTensor`` whose storage slot holds a ``_Placeholder`` (an array of the right
shape and dtype, with no data) pointing at a ``Record`` (the op's kernel, its input records or
arrays, its attributes).  The graph node is made exactly as when the op runs eagerly.

The one place a tensor's values are read is its ``_data`` attribute: on a ``LazyTensor`` it
computes the record (and every pending record it depends on) in one pass over cache-sized
blocks (``program.run``), stores the array, and turns the tensor into a plain ``Tensor``.
Shape and dtype queries are answered from the placeholder without computing anything.

An op whose derivative reads its own ``result`` (``exp``, ``tanh``, ``sqrt``...) saves the
output as its node saves any output: the node's saved entry keeps the storage slot, here the
placeholder.  Such a node is pending too (held weakly beside the lazy tensors): computing what
is pending also computes its saved result and puts the array in the entry (``settle``), so the
unfused backward, saved-tensor unpacking and ``explain`` read real values; the fused backward
reads the record itself (recomputed in its pass, or stored once by the forward pass when it is
expensive to compute again).

The inputs of a record must keep their values until it is computed, so every pending result is
computed first ("flushed") by: any op that is not an elementwise table op or a reduction that
consumes a record (``Function.apply`` calls the observer registered while anything is pending),
``numpy()``/``__array__`` (they hand out writable storage), an in-place gradient accumulation, and
``Optimizer.step``.  Inputs are taken only from tensors that own their array alone (no NumPy view
of it exists elsewhere); an input whose version counter moved anyway makes the computation raise
rather than return a stale value.
"""
from __future__ import annotations

import sys
import threading

import numpy as np

from .._backend import core as _core
from ..autograd import anomaly_mode as _anomaly
from ..autograd import op_observers as _op_observers
from ..dtypes import _BY_NUMPY
from ..size import Size
from ..tensor import Tensor
from . import program
from ._state import pending, state

_SLOT = _core.TensorBase.__dict__["_data"]  # the storage slot itself, below LazyTensor's property
_raw, _set_raw = _SLOT.__get__, _SLOT.__set__
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
_observers = _op_observers.observers
_getrefcount = sys.getrefcount


class _Placeholder(np.ndarray):
    """Shape and dtype of a pending result (a broadcast of one element: no memory); ``.record``."""


_shapes: dict = {}  # (dtype, shape) -> a read-only broadcast of one element: placeholders view it


def _placeholder(dtype, shape) -> _Placeholder:
    base = _shapes.get((dtype, shape))
    if base is None:
        if len(_shapes) > 64:
            _shapes.clear()
        base = _shapes[(dtype, shape)] = np.broadcast_to(np.empty((), dtype), shape)
    return base.view(_Placeholder)


class Usage:
    """How a record's result was used: by how many lazily recorded ops, and whether it was
    computed as a whole array (then anything may have seen it).  The backward node keeps it."""

    __slots__ = ("uses", "escaped")

    def __init__(self):
        self.uses = 0
        self.escaped = False


# id(array) -> how many references to it pending records hold (a tensor's array they hold is
# still referenced by nothing else when its reference count is the tensor's plus these).
_held: dict = {}


class Record:
    """One pending elementwise op: ``step(*inputs, *attrs)`` with inputs records or arrays."""

    __slots__ = ("step", "inputs", "attrs", "shape", "dtype", "value", "usage", "guards", "_holds", "origin")

    def __init__(self, step, inputs, attrs, shape, dtype, guards, holds=()):
        self.step, self.inputs, self.attrs = step, inputs, attrs
        self.shape, self.dtype, self.guards = shape, dtype, guards
        self.value = None
        self.usage = Usage()
        self.origin = None  # set by a pass that could have stored it (``program.note_read``)
        self._holds = holds  # ids of the tensors' arrays among the inputs
        for key in holds:
            _held[key] = _held.get(key, 0) + 1

    def computed(self, value) -> None:
        """Store the computed array; the inputs are let go."""
        self.value = value
        self._release()
        self.inputs = ()

    def _release(self):
        for key in self._holds:
            n = _held.get(key, 0) - 1
            if n > 0:
                _held[key] = n
            else:
                _held.pop(key, None)
        self._holds = ()

    def __del__(self):
        self._release()


class LazyTensor(Tensor):
    """A tensor whose values are computed when first read (see the module docstring)."""

    __slots__ = ()

    @property
    def _data(self):
        return materialize(self)

    @_data.setter
    def _data(self, value):
        with lock:
            pending.discard(self)
            _set_raw(self, value)
            self.__class__ = Tensor

    # Metadata, without computing anything.
    @property
    def shape(self):
        return Size(_raw(self).shape)

    @property
    def dtype(self):
        return _BY_NUMPY[_raw(self).dtype]

    @property
    def ndim(self):
        return _raw(self).ndim

    def dim(self):
        return _raw(self).ndim

    def numel(self):
        return _raw(self).size

    nelement = numel

    def is_floating_point(self):
        return True


# Printed and pickled by reference as the class it turns into when computed.
LazyTensor.__name__ = LazyTensor.__qualname__ = Tensor.__name__
LazyTensor.__module__ = Tensor.__module__


# Recording, computing and reading records hold this lock: a tensor may be computed by another
# thread between a test of its type and a read of its slot.
lock = threading.RLock()


def record_of(t):
    """The pending record of ``t``, or None when ``t`` holds its values."""
    with lock:
        if type(t) is LazyTensor:
            return _raw(t).record
        return None


def saved_record(entry):
    """The record of a saved output whose entry holds its placeholder, else None."""
    if entry is not None and entry.tensor is None and type(entry.data) is _Placeholder:
        return entry.data.record
    return None


def _saved_records(node) -> list:
    """The records of the saved entries of ``node`` that still hold a placeholder."""
    saved = node._saved
    if type(saved) is not list:
        return []
    return [r for r in map(saved_record, saved) if r is not None]


def _pending_records():
    """(holder, record) for every pending lazy tensor and every record a pending node saved."""
    for obj in pending:
        if type(obj) is LazyTensor:
            yield obj, _raw(obj).record
        elif isinstance(obj, Tensor):
            continue
        else:
            for r in _saved_records(obj):
                yield obj, r


def settle(node) -> None:
    """Put the computed array of each saved result of ``node`` in its entry (computing what is
    still pending first)."""
    with lock:
        records = _saved_records(node)
        for r in records:
            program.note_read(r)
        todo = [r for r in records if r.value is None]
        if todo:
            program.run(todo, keep=_keep(todo))
        for s in node._saved if type(node._saved) is list else ():
            r = saved_record(s)
            if r is not None:
                s.data = r.value
        pending.discard(node)


def _keep(roots) -> list:
    """The pending records a pass computing ``roots`` should store as well: those of live lazy
    tensors (held by the user or saved for backward) and the results nodes saved, that are
    expensive to compute again from what the pass stores (taken in the order they were
    recorded, so what a record reads is decided first)."""
    below = program.reachable(roots)
    ids = {id(r) for r in roots}
    out = []
    for _, r in _pending_records():
        if id(r) in below and id(r) not in ids and program.expensive(r, ids):
            out.append(r)
            ids.add(id(r))
    return out


def materialize(t) -> np.ndarray:
    """Compute ``t`` (a LazyTensor), store the array in it and make it a plain Tensor."""
    with lock:
        if type(t) is not LazyTensor:  # another thread computed it meanwhile
            return _raw(t)
        record = _raw(t).record
        program.note_read(record)
        if record.value is None:
            program.run([record], keep=_keep([record]))
        pending.discard(t)
        _set_raw(t, record.value)
        t.__class__ = Tensor
        return record.value


def flush() -> None:
    """Compute every pending result (in one pass for all of them), and the results pending
    nodes saved."""
    with lock:
        holders = list(pending)
        if not holders:
            return
        todo, seen = [], set()
        for _, r in _pending_records():
            if r.value is None and id(r) not in seen:
                seen.add(id(r))
                todo.append(r)
        if todo:
            program.run(todo)  # every pending record is a root here
        for obj in holders:
            if type(obj) is LazyTensor:
                materialize(obj)
            elif not isinstance(obj, Tensor):
                settle(obj)


def _observe(cls, args, kwargs, call):
    """Runs around every op while results are pending: ops that are not fusion's consumers may
    write storage, so the pending results are computed before them."""
    if not pending:
        with lock:
            if not pending and any(o is _observe for o in _observers):
                _op_observers.remove(_observe)
    elif cls not in CONSUMERS and not (state.in_backward and state.in_backward[-1]):
        flush()
    return call()


CONSUMERS: set = set()  # Function classes that read pending records without writing storage


def _others_observe() -> bool:
    for o in _observers:
        if o is not _observe:
            return True
    return False


def recorder(step, saves_result: bool = False):
    """The forward hook of one table op (called when its first input is large or pending):
    ``lazy(ctx, tensors, attrs)`` returns a LazyTensor, or None when the op should run eagerly
    (small, mixed dtypes, broadcasting, shared storage, a profiler or anomaly mode on...).
    ``saves_result``: the node saves its output, so the node is pending as well."""
    def lazy(ctx, tensors, attrs):
        if (_observers and _others_observe()) or _anomaly._state.enabled:
            return None
        with lock:
            out = _record(step, tensors, attrs, state.min_numel)
            if out is not None:
                ctx._fz = _raw(out).record.usage  # what the fused backward asks of this node's output
                if saves_result:
                    pending.add(ctx)
        return out
    return lazy


def reducer(kind: str):
    """The forward hook of ``sum``/``mean`` over all elements: of a pending input, the reduction
    computed in the pass of its chain (a 0-d Tensor); otherwise None (the op runs as usual)."""
    def lazy(ctx, tensors, attrs):
        if type(tensors[0]) is not LazyTensor:
            return None
        value = reduce(tensors[0], kind, attrs[0])
        return None if value is None else Tensor._wrap(value)
    return lazy


def _record(step, tensors, attrs, limit):
    shape = dtype = None
    inputs, guards, records, holds = [], [], [], []
    shapes = []  # (position in inputs, shape, pending) of the inputs with more than one element
    for t in tensors:
        if type(t) is LazyTensor:
            ph = _raw(t)
            rec = ph.record
            inputs.append(rec if rec.value is None else rec.value)
            records.append(rec)
            a_shape, a_dtype = ph.shape, ph.dtype
        else:
            a = _raw(t)
            if type(a) is not np.ndarray:
                return None
            a_dtype = a.dtype
            if a.size == 1 and a.ndim <= 1 or a.ndim == 0:
                if a_dtype not in _FLOATS:
                    return None
                inputs.append(a.reshape(()).copy())
                if dtype is None:
                    dtype = a_dtype
                elif dtype != a_dtype:
                    return None
                continue
            # Only storage nothing else can write: the tensor's own array, no view of it elsewhere
            # (slot + this name + the call's argument, + the pending records and this call
            # holding it as an input).
            key = id(a)
            if (a.base is not None or not a.flags.c_contiguous
                    or _getrefcount(a) > 3 + _held.get(key, 0) + holds.count(key)):
                return None
            a_shape = a.shape
            inputs.append(a)
            holds.append(key)
            guards.append((t._version, t._version.value))
        shapes.append((len(inputs) - 1, a_shape, type(t) is LazyTensor))
        if dtype is None:
            dtype = a_dtype
        elif a_dtype is not dtype and a_dtype != dtype:
            return None
    if not shapes:
        return None
    # The result's shape is that of its largest operand; a smaller tensor operand broadcast to
    # it is a leaf of its own (a pending one must have the full shape).
    shape = shapes[0][1]
    if len(shapes) > 1 and any(s != shape for _, s, _ in shapes):
        shape = max((s for _, s, _ in shapes), key=_size)
        for i, a_shape, lazy in shapes:
            if a_shape != shape:
                if lazy or not program.Broadcast.fits(inputs[i], shape):
                    return None
                inputs[i] = program.Broadcast(inputs[i], shape)
    if dtype not in _FLOATS or _size(shape) < limit:
        return None
    for rec in records:
        rec.usage.uses += 1
    rec = Record(step, tuple(inputs), attrs, shape, dtype, tuple(guards), tuple(holds))
    ph = _placeholder(dtype, shape)
    ph.record = rec
    out = Tensor._wrap(np.empty(0, dtype))
    _set_raw(out, ph)
    out.__class__ = LazyTensor
    if _observe not in _observers:
        _op_observers.add(_observe)
    pending.add(out)
    state.counters["recorded"] += 1
    return out


def _size(shape) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def reduce(t, kind: str, dtype):
    """``sum``/``mean`` of a pending ``t`` over all elements, in the same pass as its chain, as
    a 0-d array (None when ``t`` was computed meanwhile)."""
    with lock:
        if type(t) is not LazyTensor:  # computed meanwhile by another thread
            return None
        record = _raw(t).record
        return program.run([record], reduce=kind, out_dtype=dtype, keep=_keep([record]))


def is_pending(t) -> bool:
    """True while ``t`` is a lazy result not computed yet."""
    return type(t) is LazyTensor

