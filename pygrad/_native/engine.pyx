# cython: language_level=3, boundscheck=True
"""Compiled reverse-mode engine: the twin of ``pygrad._pure.engine``.

The same algorithm in the same order (post-order collection, dependency counts, a ready
heap keyed by the negated sequence number, one gradient buffer per node, hooks, freeing,
capture for ``autograd.grad``) with the bookkeeping in typed containers, so both engines
visit nodes and sum gradients identically.

Every field of a node or tensor can be rebound from Python (hooks run in the middle of a
pass), so what is read from one is checked before it is cast: a malformed graph raises,
it never crashes the interpreter.  Indexing is bounds-checked in this module.
"""
import numpy as np
cimport numpy as cnp
from cpython.dict cimport PyDict_GetItem
from cpython.list cimport PyList_GET_ITEM
from cpython.mem cimport PyMem_Free, PyMem_Realloc
from cpython.ref cimport Py_DECREF, Py_INCREF, PyObject
from cpython.tuple cimport PyTuple_New, PyTuple_SET_ITEM
from pygrad._native.core cimport (GraphObject, NodeBase, TensorBase, new_saved, new_tensor, open_object,
                                  refer, same_layout, settle_node)
from pygrad._native.dispatch cimport TableBackward as _TableBackward, leaf_node
from pygrad._errors import malformed_edges, no_such_output, not_a_node

cnp.import_array()


cdef inline NodeBase _as_node(obj):
    if not isinstance(obj, NodeBase):
        raise TypeError(not_a_node(obj))
    return <NodeBase>obj


cdef tuple _edges(NodeBase node):
    """``node.next_functions``, checked: a tuple of (node or None, int) pairs."""
    edges = node._next_functions
    if type(edges) is not tuple:
        raise TypeError(malformed_edges(node))
    for edge in <tuple>edges:
        if type(edge) is not tuple or len(<tuple>edge) != 2 or type((<tuple>edge)[1]) is not int:
            raise TypeError(malformed_edges(node))
        child = (<tuple>edge)[0]
        if child is not None and not isinstance(child, NodeBase):
            raise TypeError(not_a_node(child))
    return <tuple>edges


cdef inline void _add_to_slot(NodeBase node, list slots, object nr_obj, grad, add) except *:
    cdef Py_ssize_t nr = nr_obj
    if nr < 0 or nr >= len(slots):
        raise RuntimeError(no_such_output(node, nr_obj))
    slots[nr] = grad if slots[nr] is None else _sum_grads(slots[nr], grad, add)


cdef list _collect(roots, targets):
    """Nodes reachable from ``roots``, in post-order (every node after its next nodes)."""
    cdef list order = [], stack = []
    cdef set seen = set()
    cdef set needed
    cdef tuple item
    cdef bint expanded
    cdef NodeBase node
    for root, _ in roots:
        if root is not None:
            stack.append((_as_node(root), False))
    while stack:
        item = <tuple>stack.pop()
        node = <NodeBase>item[0]  # checked when pushed
        expanded = item[1]
        if expanded:
            order.append(node)
            continue
        if node in seen:
            continue
        seen.add(node)
        stack.append((node, True))
        for child, _ in _edges(node):
            if child is not None and child not in seen:
                stack.append((child, False))
    if targets is None:
        return order
    needed = set()
    for node in order:  # children come first, so one pass decides
        if node in targets:
            needed.add(node)
            continue
        for child, _ in _edges(node):
            if child is not None and child in needed:
                needed.add(node)
                break
    return [n for n in order if n in needed]


cdef dict _dependencies(roots):
    """Every node reachable from ``roots`` -> the number of edges into it from reachable nodes."""
    cdef dict deps = {}
    cdef list stack = []
    cdef NodeBase node
    for root, _ in roots:
        if root is not None and root not in deps:
            deps[_as_node(root)] = 0
            stack.append(root)
    while stack:
        node = <NodeBase>stack.pop()  # checked when pushed
        for edge in _edges(node):
            child = (<tuple>edge)[0]
            if child is None:
                continue
            count = deps.get(child)
            if count is None:
                deps[child] = 1
                stack.append(child)
            else:
                deps[child] = <Py_ssize_t>count + 1
    return deps


cdef object _run_hooks(tuple hooks, grad):
    for hook in hooks:
        result = hook(grad)
        if result is not None:
            grad = result
    return grad


cdef extern from *:
    """
    static Py_ssize_t pygrad_refcount(PyObject *o) { return Py_REFCNT(o); }
    """
    Py_ssize_t pygrad_refcount(PyObject *o)


cdef tuple _holders(list grads):
    """How many references the gradient in the one-slot buffer ``grads``, its array and the
    array's base have (read without taking one; compared with those of a gradient nothing
    else holds, measured the same way: see ``_exclusive``)."""
    cdef PyObject *grad = PyList_GET_ITEM(grads, 0)
    cdef PyObject *data = <PyObject*>(<TensorBase>grad)._data
    base = (<object>data).base
    return (pygrad_refcount(grad), pygrad_refcount(data),
            None if base is None else pygrad_refcount(<PyObject*>base) - 1)  # less the local ``base``


cdef bint _exclusive(list grads) except -1:
    """``pygrad._pure.engine._exclusive``: the gradient may become a leaf's ``.grad`` without a
    copy (nothing but the buffer holds it, nothing but it holds its memory)."""
    if len(grads) != 1 or type(grads[0]) is not _Tensor:
        return False
    cdef TensorBase grad = <TensorBase>grads[0]
    if grad._requires_grad or grad._view is not None or grad._hooks:
        return False
    data = grad._data
    if type(data) is not cnp.ndarray or not cnp.PyArray_ISCARRAY(<cnp.ndarray>data):
        return False
    base = (<object>data).base
    if base is not None and (type(base) is not cnp.ndarray or (<object>base).base is not None
                             or cnp.PyArray_NBYTES(<cnp.ndarray>base) != cnp.PyArray_NBYTES(<cnp.ndarray>data)):
        return False
    del grad, data, base
    counts = _holders(grads)
    return counts == (_FRESH if counts[2] is None else _FRESH_VIEW)


cdef object _apply(NodeBase node, list grads, bint owned=False):
    """``node.apply(*grads)``; the base ``Node.apply`` runs here, checks only when needed."""
    if type(node) is _AccumulateGrad:  # AccumulateGrad.apply
        variable, grad, lock = node.variable, grads[0], node._lock
        lock.acquire()  # (a ``with`` statement would make two bound methods)
        try:
            if not _accumulate_plain(variable, grad, owned):
                variable._accumulate_grad(grad, owned)
        finally:
            lock.release()
        return ()
    if getattr(type(node), "apply") is not _node_apply:
        return node.apply(*grads)
    if node._freed:
        raise RuntimeError(_SECOND_BACKWARD)
    table = type(node)._table_backward  # a table op's array backward, in C (dispatch.pyx)
    result = (<_TableBackward>table).run(node, grads) if type(table) is _TableBackward else None
    if result is None:
        backward = node._forward_cls.backward
        result = backward(node, grads[0]) if len(grads) == 1 else backward(node, *grads)
    cdef Py_ssize_t n = len(node.needs_input_grad), i
    if type(result) is not tuple:
        if n != 1 or isinstance(result, tuple):
            return node._fit_grads(result)
        result = (result,)
    elif len(<tuple>result) != n:
        return node._fit_grads(result)
    edge_args = node._edge_args
    if edge_args is None:
        return result
    if type(edge_args) is not tuple:
        return node._fit_grads(result)
    # Keep the gradients of the tensor arguments (those with edges) when the others are None.
    for i in range(n):
        if (<tuple>result)[i] is not None and i not in <tuple>edge_args:
            return node._fit_grads(result)
    return tuple([(<tuple>result)[i] for i in <tuple>edge_args])


cdef dict _plain_leaf_types = {}


cdef bint _plain_leaf(cls) except -1:
    """Whether leaves of class ``cls`` (Tensor, nn.Parameter, ...) take gradients the way
    ``Tensor`` does: its ``_accumulate_grad``, its storage slot, no Python ``__setattr__``."""
    known = _plain_leaf_types.get(cls)
    if known is None:
        if len(_plain_leaf_types) >= 64:  # (classes made on the fly are not kept alive by it)
            _plain_leaf_types.clear()
        known = _plain_leaf_types[cls] = (issubclass(cls, _Tensor) and cls.__setattr__ is _Tensor.__setattr__
                                          and cls._accumulate_grad is _Tensor._accumulate_grad
                                          and cls._data is _Tensor._data)
    return <bint>known


cdef bint _accumulate_plain(variable, grad, bint owned) except -1:
    """The common cases of ``Tensor._accumulate_grad`` without its Python frame: a plain leaf, a
    plain gradient array, no graph being built, no post-accumulate hooks.  The first gradient
    becomes ``.grad`` (stolen when ``owned``, else copied); a later one is added in place.
    False when the case is not one of these (``_accumulate_grad`` then does it)."""
    cdef TensorBase leaf, g, current
    if type(grad) is not _Tensor or _state.enabled or _post_accumulate_hooks or not _plain_leaf(type(variable)):
        return False
    leaf, g = <TensorBase>variable, <TensorBase>grad
    data, target = g._data, leaf._data
    if type(data) is not cnp.ndarray or type(target) is not cnp.ndarray:
        return False
    if not (same_layout(<cnp.ndarray>data, <cnp.ndarray>target)
            and cnp.PyArray_NDIM(<cnp.ndarray>data) == cnp.PyArray_NDIM(<cnp.ndarray>target)):
        return False
    if leaf._grad is None:
        leaf._grad = new_tensor(data if owned else _kernels.copy(data))
        refer(leaf, leaf._grad)
        return True
    if type(leaf._grad) is not _Tensor or _fusion_pending:
        return False
    current = <TensorBase>leaf._grad
    if type(current._data) is not cnp.ndarray:
        return False
    _kernels.accumulate(current._data, data)
    current._version.value += 1
    return True


cdef object _sum_grads(a, b, add):
    """``add(a, b)`` (the engine's ``util.add``), its common case without the Python frame: two
    plain gradients of one layout with no graph being built."""
    if (type(a) is _Tensor and type(b) is _Tensor and not _state.enabled
            and type((<TensorBase>a)._data) is cnp.ndarray and type((<TensorBase>b)._data) is cnp.ndarray):
        x, y = (<TensorBase>a)._data, (<TensorBase>b)._data
        if same_layout(<cnp.ndarray>x, <cnp.ndarray>y) and cnp.PyArray_NDIM(<cnp.ndarray>x) == cnp.PyArray_NDIM(<cnp.ndarray>y):
            return new_tensor(_kernels.add(x, y))
    return add(a, b)


cdef inline void _release(NodeBase node):
    """``Node._release``: free what backward saved."""
    if node._saved is not None or node._to_save:
        node._saved = None
        node._to_save = None
        node._freed = True


cdef object _call(NodeBase node, list grads, bint retain_graph, util, bint owned=False):
    cdef Py_ssize_t nr
    if owned:  # an AccumulateGrad node without hooks (run_backward checked): its gradient is stolen
        return _apply(node, grads, True)
    pre_hooks = node._pre_hooks
    pre = pre_hooks.get(-1) if pre_hooks else None
    if pre:
        for hook in tuple(pre.values()):
            result = hook(tuple(grads))
            if result is not None:
                grads = list(result)
    if node.materialize_grads:
        for nr in range(len(grads)):
            if grads[nr] is None:
                grads[nr] = util.zeros(node._output_meta[nr])
    grad_inputs = _apply(node, grads)
    if not retain_graph:
        if getattr(type(node), "_release") is _node_release:
            _release(node)
        else:
            node._release()
    post_hooks = node._post_hooks
    if post_hooks:
        grad_inputs = util.fit_for_post_hooks(node, grad_inputs)
        for hook in tuple(post_hooks.values()):
            result = hook(grad_inputs, tuple(grads))
            if result is not None:
                grad_inputs = tuple(result)
    return grad_inputs


cdef object _call_checked(NodeBase node, list grads, bint retain_graph, util, bint owned=False):
    """``_call`` in anomaly mode: NaN check of the results, forward stack reported on failure."""
    try:
        grad_inputs = _call(node, grads, retain_graph, util, owned)
        util.check_anomaly(node, grad_inputs)
    except Exception:
        util.report_anomaly(node)
        raise
    return grad_inputs


cdef class _Ready:
    """The nodes ready to run, the newest (largest sequence number) first: a binary heap on the
    sequence numbers, which are unique, so the order is the pure engine's ``heapq`` order."""
    cdef long long *keys
    cdef PyObject **nodes
    cdef Py_ssize_t size, capacity

    def __dealloc__(self):
        cdef Py_ssize_t i
        for i in range(self.size):
            Py_DECREF(<object>self.nodes[i])
        PyMem_Free(self.keys)
        PyMem_Free(self.nodes)

    cdef int push(self, NodeBase node) except -1:
        cdef Py_ssize_t i = self.size, parent
        cdef long long key = node._seq
        if self.size == self.capacity:
            self._grow()
        while i > 0:
            parent = (i - 1) >> 1
            if self.keys[parent] >= key:
                break
            self.keys[i], self.nodes[i] = self.keys[parent], self.nodes[parent]
            i = parent
        Py_INCREF(node)
        self.keys[i], self.nodes[i] = key, <PyObject*>node
        self.size += 1
        return 0

    cdef NodeBase pop(self):
        """The newest node (the heap must not be empty)."""
        cdef NodeBase top = <NodeBase>self.nodes[0]
        Py_DECREF(top)  # the heap's reference, now the local's
        self.size -= 1
        cdef Py_ssize_t n = self.size, i = 0, child
        cdef long long key = self.keys[n]
        cdef PyObject *last = self.nodes[n]
        while True:
            child = 2 * i + 1
            if child >= n:
                break
            if child + 1 < n and self.keys[child + 1] > self.keys[child]:
                child += 1
            if self.keys[child] <= key:
                break
            self.keys[i], self.nodes[i] = self.keys[child], self.nodes[child]
            i = child
        if n:
            self.keys[i], self.nodes[i] = key, last
        return top

    cdef void _grow(self) except *:
        cdef Py_ssize_t capacity = self.capacity * 2 if self.capacity else 64
        keys = <long long*>PyMem_Realloc(self.keys, capacity * sizeof(long long))
        if keys == NULL:
            raise MemoryError()
        self.keys = keys
        nodes = <PyObject**>PyMem_Realloc(self.nodes, capacity * sizeof(PyObject*))
        if nodes == NULL:
            raise MemoryError()
        self.nodes = nodes
        self.capacity = capacity


cdef inline list _new_slots(NodeBase node):
    cdef Py_ssize_t n = len(node._output_meta)
    return [None] * (n if n > 1 else 1)


def run_backward(roots, grad_roots, retain_graph, create_graph, inputs, accumulate, util):
    """Backpropagate ``grad_roots`` from the edges ``roots`` (see ``pygrad._pure.engine``)."""
    cdef NodeBase node, child
    cdef dict capture = None, buffers = {}, deps
    cdef set targets = None
    cdef dict live
    cdef list nodes, grads, slots, captured = None
    cdef _Ready ready = _Ready()
    cdef Py_ssize_t i, nr, count
    cdef PyObject* pending
    cdef bint retain = retain_graph, do_accumulate = accumulate, any_grad, any_live, checked, has_hooks
    cdef bint steal = accumulate and not create_graph, owned
    cdef tuple edges
    if _Tensor is None:
        _bind()
    if _reference is not None:
        return _reference.run_backward(roots, grad_roots, retain_graph, create_graph, inputs, accumulate, util)
    if inputs is not None:
        capture = {}
        for i, (node, nr) in enumerate(inputs):
            if node is not None:
                capture.setdefault((node, nr), []).append(i)
        targets = {node for node, _ in capture}
    # deps: every node that takes part (its keys are the live nodes) -> how many of them feed it.
    if targets is None:
        deps = _dependencies(roots)
    else:
        nodes = _collect(roots, targets)
        deps = dict.fromkeys(nodes, 0)
        for node in nodes:
            for child_obj, _ in _edges(node):
                if child_obj in deps:
                    deps[child_obj] = <Py_ssize_t>deps[child_obj] + 1
    live = deps

    for (root, nr), grad in zip(roots, grad_roots):
        if root is None or root not in live:
            continue
        node = <NodeBase>root
        slots = buffers.get(node)
        if slots is None:
            slots = buffers[node] = _new_slots(node)
        _add_to_slot(node, slots, nr, grad, util.add)
    for node in buffers:
        if <Py_ssize_t>deps[node] == 0:
            ready.push(node)

    if inputs is not None:
        captured = [None] * len(inputs)
    checked = util.anomaly_enabled()
    validate = util.validate
    add = util.add
    while ready.size:
        node = ready.pop()
        grads = <list>buffers.pop(node)
        any_grad = False
        for nr in range(len(grads)):
            grad = grads[nr]
            if grad is None:
                continue
            any_grad = True
            if type(node) is _AccumulateGrad:
                variable = node.variable
                has_hooks = not isinstance(variable, TensorBase) or (<TensorBase>variable)._hooks is not None
            else:
                has_hooks = node._pre_hooks is not None or node._retain_hooks is not None
            if has_hooks:
                hooks = node._tensor_hooks(nr)
                if hooks:
                    grads[nr] = grad = _run_hooks(tuple(hooks), grad)
            if capture is not None:
                for i in capture.get((node, nr), ()):
                    captured[i] = grad
        edges = _edges(node)
        if capture is not None:
            any_live = False
            for child, _ in edges:
                if child in live:
                    any_live = True
                    break
            # Nothing downstream needs this node: run it only to fill a requested leaf's .grad.
            if not any_live and not (do_accumulate and type(node) is _AccumulateGrad):
                continue
        grad = None  # the buffer is the gradient's one holder here, unless someone else keeps it
        owned = (steal and any_grad and type(node) is _AccumulateGrad and not has_hooks and not node._pre_hooks
                 and not node._post_hooks and _exclusive(grads))
        if not any_grad:
            grad_inputs = (None,) * len(edges)
        elif checked:
            grad_inputs = _call_checked(node, grads, retain, util, owned)
        else:
            grad_inputs = _call(node, grads, retain, util, owned)
        input_meta = node._input_meta
        for i in range(len(edges)):
            edge = <tuple>edges[i]
            child_obj = edge[0]
            if child_obj is None:
                continue
            pending = PyDict_GetItem(deps, child_obj)  # (one lookup: whether it is live, and its count)
            if pending == NULL:
                continue
            count = <Py_ssize_t><object>pending - 1
            child = <NodeBase>child_obj  # the live nodes are checked ones
            grad = grad_inputs[i]
            if grad is not None:
                # validate() returns a gradient of the right shape and dtype as it is.
                if not (isinstance(grad, TensorBase) and _fits(<TensorBase>grad, input_meta, i)):
                    grad = validate(node, i, grad)
                slots = buffers.get(child)
                if slots is None:
                    slots = buffers[child] = _new_slots(child)
                _add_to_slot(child, slots, edge[1], grad, add)
            deps[child] = count
            if count == 0:
                if child not in buffers:
                    buffers[child] = _new_slots(child)
                ready.push(child)
        grad = grad_inputs = None  # held no longer than needed (see _exclusive)
    return captured


cdef inline bint _fits(TensorBase grad, input_meta, Py_ssize_t i):
    """The gradient already has the shape and dtype of input ``i`` (False when unsure:
    ``validate`` then decides, or raises on malformed metadata)."""
    data = grad._data
    if type(data) is not cnp.ndarray or type(input_meta) is not tuple or i >= len(<tuple>input_meta):
        return False
    meta = (<tuple>input_meta)[i]
    if type(meta) is not tuple or len(<tuple>meta) != 2 or type((<tuple>meta)[0]) is not tuple:
        return False
    cdef cnp.ndarray array = <cnp.ndarray>data
    cdef tuple shape = <tuple>(<tuple>meta)[0]
    cdef int nd = cnp.PyArray_NDIM(array), k
    if nd != len(shape):
        return False
    cdef cnp.npy_intp *dims = cnp.PyArray_DIMS(array)
    for k in range(nd):
        if dims[k] != <cnp.npy_intp>shape[k]:
            return False
    return (<object>array).dtype is getattr((<tuple>meta)[1], "numpy", None)


# -- recording: Function.apply -------------------------------------------------------------
# The classes it needs are bound on first use: this module loads before pygrad.tensor.
cdef object _Tensor = None
cdef object _SavedTensor, _state, _LEAF_INPLACE, _anomaly, _SECOND_BACKWARD
cdef object _AccumulateGrad = None, _node_apply = None, _node_release = None
cdef object _kernels, _post_accumulate_hooks, _fusion_pending
cdef tuple _FRESH, _FRESH_VIEW  # what _holders counts for a gradient nothing else holds
cdef object _reference = None  # the pure engine, when tensors and nodes use the pure layout
cdef dict _DTYPES


cdef void _bind():
    global _Tensor, _SavedTensor, _state, _LEAF_INPLACE, _DTYPES, _anomaly, _SECOND_BACKWARD
    global _AccumulateGrad, _node_apply, _node_release, _reference
    global _kernels, _post_accumulate_hooks, _fusion_pending
    from pygrad import _backend
    if _backend.core.__name__ != __name__.rpartition(".")[0] + ".core":
        # This process chose the pure layout at import (PYGRAD_PURE=1): the typed code below
        # cannot read its objects, so the reference engine does the work.
        from pygrad._pure import engine as reference
        _reference = reference
    from pygrad._errors import LEAF_INPLACE, SECOND_BACKWARD
    _SECOND_BACKWARD = SECOND_BACKWARD
    from pygrad.autograd import post_accumulate
    from pygrad.autograd.function import AccumulateGrad, Node
    from pygrad._backend import kernels
    from pygrad.fusion._state import pending
    _kernels, _post_accumulate_hooks, _fusion_pending = kernels, post_accumulate.hooks, pending
    _AccumulateGrad, _node_apply, _node_release = AccumulateGrad, Node.apply, Node._release
    from pygrad.dtypes import _BY_NUMPY
    _DTYPES = _BY_NUMPY
    from pygrad.autograd import anomaly_mode, grad_mode
    _anomaly = anomaly_mode
    from pygrad.autograd.function import SavedTensor
    from pygrad.tensor import Tensor
    _SavedTensor, _state, _LEAF_INPLACE = SavedTensor, grad_mode._state, LEAF_INPLACE
    _Tensor = Tensor
    global _FRESH, _FRESH_VIEW
    if _reference is None:  # (the typed reads of _holders need this module's layout)
        _FRESH = _holders([Tensor._wrap(np.empty(1))])
        _FRESH_VIEW = _holders([Tensor._wrap(np.empty((1, 1)).T)])


cdef inline bint _requires_grad(TensorBase t):
    # A view's state is made current first (its base may have changed in place since).
    return t._requires_grad if t._view is None else t._view.requires_grad(t)


cdef dict _no_grads = {}


cdef tuple _all_false(Py_ssize_t n):
    """``(False,) * n``, one shared tuple per length."""
    t = _no_grads.get(n)
    if t is None:
        t = _no_grads[n] = (False,) * n
    return <tuple>t


def apply_function(cls, tuple args, dict kwargs):
    """``Function.apply`` (see ``pygrad.autograd.function.apply_function``), compiled."""
    cdef Py_ssize_t n = len(args), i
    cdef bint record, single, enabled
    cdef list needs
    cdef NodeBase ctx
    if _Tensor is None:
        _bind()
    if _reference is not None:
        return _reference.apply_function(cls, args, kwargs)
    enabled = _state.enabled
    ctx = NodeBase.__new__(cls._backward_cls)
    needs = None
    if enabled:
        for i in range(n):
            a = args[i]
            if isinstance(a, TensorBase) and _requires_grad(<TensorBase>a):
                if needs is None:
                    needs = [False] * n
                needs[i] = True
    record = needs is not None
    ctx.needs_input_grad = tuple(needs) if record else _all_false(n)

    if enabled:  # forward runs with grad mode off
        state = _state
        state.enabled = False
        try:
            result = cls.forward(ctx, *args, **kwargs) if kwargs else cls.forward(ctx, *args)
        finally:
            state.enabled = True
    else:
        result = cls.forward(ctx, *args, **kwargs) if kwargs else cls.forward(ctx, *args)

    single = type(result) is not tuple and not isinstance(result, tuple)
    outputs = (result,) if single else result
    for t in ctx._dirty:
        t._version.value += 1
    if record:
        try:
            outputs = _connect(ctx, args, outputs)
        finally:  # used: kept, a dirty output (whose grad_fn is ctx) would make a reference cycle
            ctx._dirty = ctx._non_differentiable = ()
        if _anomaly._state.enabled:
            ctx._anomaly_trace = _anomaly.forward_stack()
        settle_node(ctx)
        for out in outputs:
            if isinstance(out, TensorBase) and (<TensorBase>out)._grad_fn is ctx:
                refer(<TensorBase>out, ctx)
    elif ctx._to_save is not None:
        ctx._to_save = None
    return outputs[0] if single else outputs


cdef inline bint _is_in(o, tuple items):
    for x in items:
        if o is x:
            return True
    return False


cdef bint _shares_version(t, tuple dirty):
    for d in dirty:
        if t._version is d._version:
            return True
    return False


cdef tuple _connect(NodeBase node, tuple args, tuple outputs):
    """Make ``node`` the grad_fn of ``outputs`` and link it to the inputs' nodes."""
    cdef Py_ssize_t n = len(args), i
    cdef tuple edges, meta, out_meta
    cdef list fixed, saved
    cdef TensorBase a, o
    cdef cnp.ndarray data
    # As in PyTorch, only tensor arguments get an edge ((None, 0) when they don't require grad).
    for i in range(n):
        if not isinstance(args[i], TensorBase):
            positions = tuple([i for i in range(n) if isinstance(args[i], TensorBase)])
            node._edge_args = positions
            args = tuple([args[i] for i in positions])
            n = len(args)
            break
    dt = node._dirty
    cdef tuple dirty = <tuple>dt if type(dt) is tuple else tuple(dt)
    edges = PyTuple_New(n)
    meta = PyTuple_New(n)
    for i in range(n):
        a = <TensorBase>args[i]
        if a._requires_grad:
            grad_fn = a._grad_fn
            # A view written by this op brings its history up to date first; the others' is as it
            # was before the op wrote (made current before forward), as PyTorch takes the edges.
            if a._view is not None and _is_in(a, dirty):
                edge = a._edge()
            elif grad_fn is not None:
                edge = (grad_fn, a._output_nr)
            else:  # a leaf: its live AccumulateGrad node, else a new one
                ref = a._accumulator
                live = ref() if ref is not None else None
                edge = (live if live is not None else leaf_node(a), 0)
            data = a._data
            item = ((<object>data).shape, _DTYPES[(<object>data).dtype])
        else:
            edge = _NO_EDGE
            item = None
        Py_INCREF(edge)
        PyTuple_SET_ITEM(edges, i, edge)
        Py_INCREF(item)
        PyTuple_SET_ITEM(meta, i, item)
    node._next_functions = edges
    node._input_meta = meta

    nd = node._non_differentiable
    cdef tuple non_diff = <tuple>nd if type(nd) is tuple else tuple(nd)
    for d in dirty:
        if d._view is not None:
            d._view.check_inplace(d)
        elif d._grad_fn is None and d._requires_grad:
            raise RuntimeError(_LEAF_INPLACE)
    for d in dirty:  # its new grad_fn may lead back to nodes that saved it: a cycle
        if isinstance(d, GraphObject):
            open_object(<GraphObject>d)
    n = len(outputs)
    fixed = None
    out_meta = PyTuple_New(n)
    for i in range(n):
        out = outputs[i]
        item = None
        if isinstance(out, TensorBase):
            if _is_in(out, args) and not _is_in(out, dirty):
                out = out._alias()  # an input returned as is becomes a new tensor on the same storage
                if fixed is None:
                    fixed = list(outputs)
                fixed[i] = out
            o = <TensorBase>out
            data = o._data
            dtype = _DTYPES[(<object>data).dtype]
            if (non_diff and _is_in(o, non_diff)) or not dtype.is_floating_point:
                o._requires_grad = False
            else:
                o._requires_grad = True
                o._grad_fn = node
                o._output_nr = i
            item = ((<object>data).shape, dtype)
        Py_INCREF(item)
        PyTuple_SET_ITEM(out_meta, i, item)
    node._output_meta = out_meta

    to_save = node._to_save
    if to_save:
        saved = []
        for t in to_save:
            if t is None:
                saved.append(None)
                continue
            if not isinstance(t, TensorBase):
                raise TypeError("save_for_backward can only save variables, but argument "
                                f"{len(saved)} is of type {type(t).__name__}")
            entry = new_saved(_SavedTensor, <TensorBase>t, (<TensorBase>t)._grad_fn is node)
            if dirty and entry.tensor is not None and _shares_version(t, dirty):
                entry.saved_version -= 1  # an input sharing storage with the target was saved before the write
            saved.append(entry)
        node._saved = saved
        node._to_save = None
    for d in dirty:  # written through a view: the base's history changes (autograd/views.py)
        if (<TensorBase?>d)._view is not None:
            d._view.rebase(d, node)
    return outputs if fixed is None else tuple(fixed)


cdef tuple _NO_EDGE = (None, 0)


from pygrad._native.dispatch import TableBackward, TableOp  # a table op's common path, in C (dispatch.pyx)
