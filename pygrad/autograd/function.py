"""Backward nodes and ``Function``, the one way an operation joins the graph.

A ``Function`` subclass puts an op's forward and backward side by side.  ``apply``
runs forward with grad mode off and, when grad mode is on and an input requires
grad, turns the context object into the op's backward node: the node *is* the
``ctx`` (as in PyTorch), its class is named after the op (``MulBackward0``,
``CubeBackward``) and it holds the edges to the inputs' nodes.

Nodes never hold the tensors they produce: a saved output is kept as its array and
version counter and rebuilt on unpacking, so ``del loss`` frees a graph by
reference counting alone.
"""
from __future__ import annotations

import itertools
import threading
import weakref

from . import anomaly_mode, grad_mode
from .op_observers import observed_apply as _observed_apply, observers as _op_observers
from .._backend import core as _core
from .._backend import engine as _backend_engine
from .._errors import LEAF_INPLACE, SECOND_BACKWARD, version_mismatch
from ..dtypes import _BY_NUMPY as _dtype_of

__all__ = ["Function", "Node", "AccumulateGrad", "FunctionCtx", "once_differentiable"]

class RemovableHandle:
    """Returned by ``register_hook``; ``remove()`` unregisters the hook (and its entries in
    ``extra``, the dicts of per-hook flags such as a module hook's ``with_kwargs``)."""

    __slots__ = ("_hooks", "_key", "_extra")

    def __init__(self, hooks: dict, key, extra: tuple = ()):
        self._hooks, self._key, self._extra = hooks, key, extra

    @property
    def id(self):
        return self._key

    def remove(self) -> None:
        self._hooks.pop(self._key, None)
        for flags in self._extra:
            flags.pop(self._key, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


_hook_ids = itertools.count()


def add_hook(hooks: dict, fn, extra: tuple = ()) -> RemovableHandle:
    key = next(_hook_ids)
    hooks[key] = fn
    return RemovableHandle(hooks, key, extra)


def checked_tensor_hook(hook):
    """``hook`` as PyTorch runs a tensor hook: a gradient it returns must be a tensor of the
    same dtype and size as the one it was given."""
    def run(grad):
        result = hook(grad)
        if result is None:
            return None
        if not isinstance(result, _core.TensorBase):
            raise TypeError(f"expected Variable, but hook returned '{type(result).__name__}'")
        name = getattr(hook, "__name__", "<unknown>")
        if result.dtype is not grad.dtype:
            raise RuntimeError(f"hook '{name}' has changed the type of value (was torch."
                               f"{grad.dtype._tensor_type} got torch.{result.dtype._tensor_type})")
        if result._data.shape != grad._data.shape:
            raise RuntimeError(f"hook '{name}' has changed the size of value")
        return result
    return run


class SavedTensor(_core.SavedTensorBase):
    """A tensor saved for backward, checked against in-place changes when unpacked.

    ``SavedTensor(tensor, is_output)``: the base records the version and, for an output of
    the saving node, only its array (no reference to the tensor or to the node).
    """

    __slots__ = ()

    def unpack(self, node):
        if self.version.value != self.saved_version:
            data = self.data if self.tensor is None else self.tensor._data
            # PyTorch names the producer the tensor has *now* (``b.add_(1)`` makes it "Add").
            producer = node if self.tensor is None else self.tensor.grad_fn
            output_nr = self.output_nr if self.tensor is None else self.tensor._output_nr
            raise RuntimeError(version_mismatch(data, producer, output_nr, self.version.value,
                                                self.saved_version))
        if self.tensor is not None:
            return self.tensor
        return self._rebuild(node)


class Node(_core.NodeBase):
    """A node of the backward graph.  ``type(node).__name__`` is PyTorch's grad_fn name.

    The fields (edges, saved tensors, hooks, metadata) and their defaults are declared by
    the base, as C members when compiled, so the engine reads them directly.
    """

    _forward_cls = None
    _qualified_name = None
    _table_backward = None  # a table op's backward in compiled form (ops/_opdef.py), run by the engine
    _saved_names = ()  # a table op's saved tensors, in the order of ``_saved`` (ops/_opdef.py)
    _saved_attrs = ()  # and the arguments it keeps on the node

    def __getattr__(self, name):
        """PyTorch's ``grad_fn._saved_<name>``: a saved tensor by its schema name (``self``,
        ``other``, ``result``...; None when the op did not need to save it), or a kept argument
        (``_saved_exponent``).  Only missing attributes come here."""
        if name.startswith("_saved_"):
            key = name[7:]
            names = type(self)._saved_names
            if key in names:
                if self._freed:
                    raise RuntimeError(SECOND_BACKWARD)
                saved = self._saved
                entry = saved[names.index(key)] if type(saved) is list else None
                if entry is None:
                    return None
                t = entry.unpack(self)
                if t._grad_fn is None and not t._requires_grad and not t._data.flags.writeable:
                    # a Python number's tensor, shared by every op on it (ops/_util.py): the caller gets
                    # its own, so that setting requires_grad or hooks on it reaches no other op
                    return t.detach()
                return t
            if key in type(self)._saved_attrs and key in self.__dict__:
                return self.__dict__[key]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    # -- the ctx interface of autograd.Function -------------------------------------------
    def save_for_backward(self, *tensors) -> None:
        """Keep tensors for ``backward`` (read them back as ``ctx.saved_tensors``; in-place changes are detected)."""
        self._to_save = tensors

    def save_for_forward(self, *tensors) -> None:
        """Tensors ``jvp`` reads as ``ctx.saved_tensors`` (forward-mode AD, autograd/forward_ad.py)."""
        self._saved_for_forward = tensors

    def mark_non_differentiable(self, *tensors) -> None:
        """Declare outputs that get no gradient (they will not require grad)."""
        self._non_differentiable = tensors

    def mark_dirty(self, *tensors) -> None:
        """Declare the tensors ``forward`` modified in place (their version counters advance)."""
        self._dirty = tensors

    def set_materialize_grads(self, value: bool) -> None:
        """Whether ``backward`` gets zero tensors (True, the default) or None for outputs without gradient."""
        self.materialize_grads = value

    # ``saved_tensors`` is a property of the base, which calls this (the compiled base first
    # returns saved inputs whose version is unchanged itself: what unpack() gives for them).
    def _unpack_saved(self) -> tuple:
        if self._freed:
            raise RuntimeError(SECOND_BACKWARD)
        if self._saved is None:
            return tuple(self._to_save or ())
        return tuple([None if s is None else s.unpack(self) for s in self._saved])

    # -- graph API ----------------------------------------------------------------------------
    def name(self) -> str:
        """PyTorch's ``grad_fn.name()``: the class name, fully qualified for C++-only nodes."""
        return self._qualified_name or type(self).__name__

    def register_hook(self, fn) -> RemovableHandle:
        """``fn(grad_inputs, grad_outputs)`` runs after this node; it may return new grad_inputs."""
        if self._post_hooks is None:
            self._post_hooks = {}
        return add_hook(self._post_hooks, fn)

    def register_prehook(self, fn) -> RemovableHandle:
        """``fn(grad_outputs)`` runs before this node; it may return new grad_outputs."""
        hooks = self._pre_hooks_for(-1)
        return add_hook(hooks, fn)

    def _pre_hooks_for(self, output_nr: int) -> dict:
        if self._pre_hooks is None:
            self._pre_hooks = {}
        return self._pre_hooks.setdefault(output_nr, {})

    def _set_retain_hook(self, output_nr: int, fn) -> None:
        if self._retain_hooks is None:
            self._retain_hooks = {}
        self._retain_hooks[output_nr] = fn

    def _tensor_hooks(self, output_nr: int):
        hooks = self._pre_hooks.get(output_nr) if self._pre_hooks else None
        hooks = tuple(hooks.values()) if hooks else ()
        if self._retain_hooks and output_nr in self._retain_hooks:
            hooks += (self._retain_hooks[output_nr],)
        return hooks

    def apply(self, *grad_outputs):
        """Call the node's backward on output gradients (as the engine does)."""
        if self._freed:
            raise RuntimeError(SECOND_BACKWARD)
        return self._fit_grads(self._forward_cls.backward(self, *grad_outputs))

    def _fit_grads(self, grads) -> tuple:
        """What backward returned as one gradient per edge, checked as PyTorch checks it."""
        if not isinstance(grads, tuple):
            grads = (grads,)
        n = len(self.needs_input_grad)  # one gradient per forward argument
        if len(grads) != n:
            # Trailing Nones beyond the arguments are accepted, as in PyTorch.
            if len(grads) > n and all(g is None for g in grads[n:]):
                grads = grads[:n]
            else:
                raise RuntimeError(f"function {self.name()} returned an incorrect number of gradients "
                                   f"(expected {n}, got {len(grads)})")
        edge_args = self._edge_args
        if edge_args is not None:  # keep the gradients of the tensor arguments, which have the edges
            for i, g in enumerate(grads):
                if g is not None and i not in edge_args:
                    raise RuntimeError(f"function {self.name()} returned a gradient different than None at "
                                       f"position {i + 1}, but the corresponding forward input was not a Variable")
            grads = tuple(grads[i] for i in edge_args)
        return grads

    def _release(self) -> None:
        """Free what backward saved (called after backward unless ``retain_graph``)."""
        if self._saved is not None or self._to_save:
            self._saved = None
            self._to_save = None
            self._freed = True

    def __repr__(self) -> str:
        return f"<{type(self).__name__} object at {id(self):#x}>"


class AccumulateGrad(Node):
    """The node that adds a gradient into a leaf's ``.grad``.

    A leaf has one live AccumulateGrad node, and its lock (the leaf's, see ``leaf_lock``) makes
    each accumulation (the first gradient's copy included) atomic, so backward passes may run in
    several threads into shared leaves (Hogwild-style training), as in PyTorch.
    """

    _qualified_name = "torch::autograd::AccumulateGrad"

    def __init__(self, variable):
        _core.NodeBase.__init__(self)
        self.variable = variable
        self._lock = leaf_lock(variable)
        data = variable._data
        self._output_meta = ((data.shape, _dtype_of[data.dtype]),)

    def _tensor_hooks(self, output_nr: int):
        hooks = self.variable._hooks
        return tuple(hooks.values()) if hooks else ()

    def apply(self, grad):
        with self._lock:
            self.variable._accumulate_grad(grad)
        return ()

    def _release(self) -> None:
        pass


class FunctionMeta(type):
    """Gives every Function subclass its own node class, named after it."""

    def __init__(cls, name, bases, namespace):
        super().__init__(name, bases, namespace)
        node_name = namespace.get("_backward_name", name + "Backward")
        cls._backward_cls = type(node_name, (Node,), {"_forward_cls": cls,
                                                     "_qualified_name": namespace.get("_qualified_name"),
                                                     "__module__": cls.__module__,
                                                     "__qualname__": node_name})


FunctionCtx = Node


class Function(metaclass=FunctionMeta):
    """Base of every differentiable operation.

    Subclasses define ``forward(ctx, *args)`` and ``backward(ctx, *grad_outputs)`` as
    static methods and are called through ``Cls.apply(*args)``.
    """

    @staticmethod
    def forward(ctx, *args, **kwargs):
        """The computation, on tensors with grad mode off; ``ctx`` keeps what ``backward`` needs."""
        raise NotImplementedError("You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        """The gradients of the inputs given those of the outputs (one per ``forward`` input; None for no
        gradient)."""
        raise NotImplementedError("You must implement either the backward or vjp method for your custom "
                                  "autograd.Function to use it with backward mode AD.")

    vjp = backward

    @staticmethod
    def jvp(ctx, *grad_inputs):
        """The tangents of the outputs from the inputs' tangents (forward-mode AD), one per output."""
        raise NotImplementedError("You must implement the jvp function for custom autograd.Function to use it "
                                  "with forward mode AD.")

    @classmethod
    def apply(cls, *args, **kwargs):
        """Run ``forward`` and record a node whose backward is this class's ``backward`` (call this, not
        ``forward``)."""
        if _op_observers:  # the profiler or saved-tensor hooks are on (autograd/op_observers.py)
            return _observed_apply(cls, args, kwargs)
        # The active backend's engine records the node (the compiled one does it in C).
        return _backend_engine.apply_function(cls, args, kwargs)


_Tensor = _core.TensorBase  # what a tensor argument is (Tensor derives from it; autograd sits below tensor.py)
# The storage slot read directly: a pending fused result answers shape and dtype without computing.
_array_of = _core.TensorBase.__dict__["_data"].__get__


def apply_function(cls, args, kwargs, ctx=None):
    """``cls.apply(*args, **kwargs)``: run forward with grad mode off, then record the node
    (``ctx``: the node to use, when the caller reads it afterwards, as forward-mode AD does)."""
    reads_ctx = ctx is not None  # what forward saved stays readable when no node is recorded
    if ctx is None:
        ctx = cls._backward_cls()
    record = grad_mode._state.enabled
    if record:
        # A view's state is made current first (its base may have changed in place since).
        needs = tuple(type(a) is not bool and isinstance(a, _Tensor) and
                      (a._requires_grad if a._view is None else a._view.requires_grad(a)) for a in args)
        record = True in needs
    else:
        needs = tuple(False for _ in args)
    if reads_ctx:  # forward mode's rules may run backward's formulas: save what every input's gradient reads
        needs = tuple(n or isinstance(a, _Tensor) for n, a in zip(needs, args))
    ctx.needs_input_grad = needs

    state = grad_mode._state
    prev, state.enabled = state.enabled, False
    try:
        result = cls.forward(ctx, *args, **kwargs)
    finally:
        state.enabled = prev

    single = not isinstance(result, tuple)
    outputs = (result,) if single else result
    for t in ctx._dirty:
        t._version.value += 1
    if record:
        try:
            outputs = _connect(ctx, args, outputs)
        finally:  # used: kept, a dirty output (whose grad_fn is ctx) would make a reference cycle
            ctx._dirty = ctx._non_differentiable = ()
        if anomaly_mode._state.enabled:
            ctx._anomaly_trace = anomaly_mode.forward_stack()
    elif ctx._to_save is not None and not reads_ctx:
        ctx._to_save = None
    return outputs[0] if single else outputs


def _connect(node, args, outputs):
    """Make ``node`` the grad_fn of ``outputs`` and link it to the inputs' nodes."""
    Tensor = _Tensor
    edges, meta = [], []
    # As in PyTorch, only tensor arguments get an edge ((None, 0) when they don't require grad).
    positions = tuple(i for i, a in enumerate(args) if isinstance(a, Tensor))
    if len(positions) != len(args):
        node._edge_args = positions
        args = tuple(args[i] for i in positions)
    dirty = node._dirty
    for a in args:
        if isinstance(a, Tensor) and a._requires_grad:
            # A view written by this op brings its history up to date first; the others' is as it
            # was before the op wrote (made current before forward), as PyTorch takes the edges.
            if a._view is None or any(a is d for d in dirty):
                edges.append(a._edge())
            else:
                edges.append((a._grad_fn, a._output_nr) if a._grad_fn is not None else a._edge())
            meta.append((_array_of(a).shape, a.dtype))
        else:
            edges.append((None, 0))
            meta.append(None)
    node._next_functions = tuple(edges)
    node._input_meta = tuple(meta)

    non_diff = node._non_differentiable
    for d in dirty:
        if d._view is not None:
            d._view.check_inplace(d)
        elif d._grad_fn is None and d._requires_grad:
            raise RuntimeError(LEAF_INPLACE)
    fixed, out_meta = [], []
    for i, o in enumerate(outputs):
        if isinstance(o, Tensor):
            if any(o is a for a in args) and not any(o is d for d in dirty):
                o = o._alias()  # an input returned as is becomes a new tensor on the same storage
            if any(o is n for n in non_diff) or not o.dtype.is_floating_point:
                o._requires_grad = False
            else:
                o._requires_grad = True
                o._grad_fn = node
                o._output_nr = i
            out_meta.append((_array_of(o).shape, o.dtype))
        else:
            out_meta.append(None)
        fixed.append(o)
    node._output_meta = tuple(out_meta)

    to_save = node._to_save
    if to_save:
        saved = []
        for t in to_save:
            if t is None:
                saved.append(None)
                continue
            if not isinstance(t, Tensor):
                raise TypeError("save_for_backward can only save variables, but argument "
                                f"{len(saved)} is of type {type(t).__name__}")
            entry = SavedTensor(t, t._grad_fn is node)
            if dirty and entry.tensor is not None and any(t._version is d._version for d in dirty):
                entry.saved_version -= 1  # an input sharing storage with the target was saved before the write
            saved.append(entry)
        node._saved = saved
        node._to_save = None
    for d in dirty:  # written through a view: the base's history changes (autograd/views.py)
        if d._view is not None:
            d._view.rebase(d, node)
    return tuple(fixed)


def once_differentiable(fn):
    """Mark a backward as not differentiable twice (it runs with grad mode off)."""
    import functools

    @functools.wraps(fn)
    def wrapper(ctx, *args):
        with grad_mode.no_grad():
            return fn(ctx, *args)
    return wrapper


_new_accumulator = threading.RLock()


def leaf_lock(tensor) -> threading.RLock:
    """The lock of a leaf's gradient accumulations, made with its first AccumulateGrad node (under
    ``_new_accumulator``) and kept: a training step makes a node per leaf, and a lock made with each
    would outlive the young generations and bring on full collections of the cyclic collector."""
    lock = tensor._grad_lock
    if lock is None:
        lock = tensor._grad_lock = threading.RLock()
    return lock


def accumulate_grad_node(tensor) -> AccumulateGrad:
    """The leaf's AccumulateGrad node; one per leaf while a graph keeps it alive (threads
    building graphs on one leaf at once get the same node, so its lock is the leaf's)."""
    ref = tensor._accumulator
    node = ref() if ref is not None else None
    if node is None:
        with _new_accumulator:
            ref = tensor._accumulator
            node = ref() if ref is not None else None
            if node is None:
                node = AccumulateGrad(tensor)
                tensor._accumulator = weakref.ref(node)
                _core.settle(node)
    return node
