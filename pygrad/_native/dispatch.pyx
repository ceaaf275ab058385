# cython: language_level=3
"""The common path of a table op (``ops/_opdef.py``) in C: ``Function.apply`` of its generated
``Function`` when every input is a plain tensor or parameter (a view made current first, as the general way
does) with a float array, no op observer is on
(profiler, saved-tensor hooks, forward AD, vmap, pending fusion), the op does not fuse at this
size and the compiled engine is active.  It does what the generated forward and
``engine.apply_function`` do for such a call — the kernel, the result, the node, its edges,
metadata and saved tensors — without their Python frames; any other call goes the general way
(``Function.apply``), so both give the same graph.
"""
cimport numpy as cnp
from cpython.ref cimport PyObject, Py_INCREF, Py_XDECREF
from cpython.tuple cimport PyTuple_New, PyTuple_SET_ITEM
from pygrad._native.core cimport (NodeBase, SavedTensorBase, TensorBase, Version, fusion_limit, instance, new_saved,
                                  new_tensor, refer, same_layout, settle_node)
from pygrad._native.kernels cimport quiet_enter as _quiet_enter, quiet_exit as _quiet_exit

import sys as _sys

cnp.import_array()

cdef extern from "Python.h":
    int PyObject_IS_GC(object)
    void PyObject_GC_UnTrack(void*)
    int PyObject_GenericSetAttr(object, object, object) except -1
    object PyObject_Vectorcall(object, PyObject**, size_t, PyObject*)
    object PyObject_GenericGetDict(object, void*)

# How the forward's arrays are made from its inputs (the op's ``dtype`` rule; see Op.dtype).
DEF AS_IS = 0      # "same": the arrays as they are
DEF FLOAT = 1      # "float", "promote", "promote_float": float arrays of one dtype and layout
DEF TENSORS = 2    # "tensor": the forward expression reads the tensors (grad mode off meanwhile)
_PREP = {"same": AS_IS, "float": FLOAT, "promote": FLOAT, "promote_float": FLOAT, "tensor": TENSORS}

# Bound on first use (this module loads before the autograd classes exist).
cdef object _Tensor = None
cdef object _engine, _native_apply, _observers, _grad_state, _anomaly, _anomaly_state, _SavedTensor
cdef object _generic_apply  # Function.apply (a classmethod)
cdef object _AccumulateGrad, _new_accumulator, _RLock, _weakref
cdef dict _DTYPES


cdef void _bind() except *:
    global _Tensor, _engine, _native_apply, _observers, _grad_state, _anomaly, _anomaly_state, _SavedTensor
    global _generic_apply, _DTYPES, _AccumulateGrad, _new_accumulator, _RLock, _weakref
    from pygrad import _backend
    from pygrad._native import engine
    from pygrad.autograd import anomaly_mode, grad_mode, op_observers
    from pygrad.autograd import function
    from pygrad.autograd.function import AccumulateGrad, Function, SavedTensor
    import threading, weakref
    from pygrad.dtypes import _BY_NUMPY
    from pygrad.tensor import Tensor
    _engine, _native_apply = _backend.engine, engine.apply_function
    _observers, _grad_state, _anomaly = op_observers.observers, grad_mode._state, anomaly_mode
    _anomaly_state = anomaly_mode._state
    _SavedTensor, _generic_apply, _DTYPES = SavedTensor, Function.__dict__["apply"], _BY_NUMPY
    _AccumulateGrad, _new_accumulator = AccumulateGrad, function._new_accumulator
    _RLock, _weakref = threading.RLock, weakref.ref
    _backend.on_switch.append(_backend_switched)
    _backend_switched()
    _Tensor = Tensor


cdef bint _native_active = False  # the compiled engine is the active one (``_backend.use``)
cdef object _Parameter = None  # nn.Parameter, bound when its module has been imported


cdef bint _is_parameter(cls) except -1:
    """``cls`` is ``nn.Parameter``: a Tensor that adds no field and overrides nothing the path reads."""
    global _Parameter
    if _Parameter is None:
        module = _sys.modules.get("pygrad.nn.parameter")
        if module is None:  # (then no parameter exists yet)
            return False
        _Parameter = module.Parameter
    return cls is _Parameter


def _backend_switched():
    global _native_active
    _native_active = _engine.apply_function is _native_apply


cdef object leaf_node(TensorBase leaf):
    """``accumulate_grad_node`` (autograd/function.py), compiled: the leaf's live AccumulateGrad
    node, else a new one, made as ``AccumulateGrad(leaf)`` makes it, without the Python frames."""
    cdef NodeBase node
    if _Tensor is None:
        _bind()
    lock = _new_accumulator
    lock.acquire()  # (a ``with`` statement would make two bound methods, each a collector allocation)
    try:
        ref = leaf._accumulator
        live = ref() if ref is not None else None
        if live is not None:
            return live
        node = <NodeBase>instance(_AccumulateGrad)
        attrs = PyObject_GenericGetDict(node, NULL)
        attrs["variable"] = leaf
        if leaf._grad_lock is None:  # function.leaf_lock
            leaf._grad_lock = _RLock()
        attrs["_lock"] = leaf._grad_lock
        data = leaf._data
        node._output_meta = (((<object>data).shape, _DTYPES[(<object>data).dtype]),)
        ref = _weakref(node)  # (a weak reference without callback keeps a closed leaf closed)
        # Nor can it take part in a cycle: hidden from the collector, as the step's lock. A step
        # makes one per leaf, each lives until the next step replaces it, so the collector would
        # promote each to its oldest generation and run full collections for them.
        PyObject_GC_UnTrack(<void*>ref)
        leaf._accumulator = ref
        settle_node(node)
        return node
    finally:
        lock.release()


cdef inline bint _is_float(int type_num):
    return (type_num == cnp.NPY_DOUBLE or type_num == cnp.NPY_FLOAT or type_num == cnp.NPY_FLOAT16
            or type_num == cnp.NPY_LONGDOUBLE)


cdef struct MetaEntry:  # the metadata of arrays of one descr and shape, shared by their nodes
    void* descr  # a reference held, so its address names it
    int ndim
    cnp.npy_intp dims[4]
    bint is_float  # the dtype is a floating one (its tensors may require grad)
    void* tuples[5]  # references held, made on first use (see ITEM ... BOTH)

# What a MetaEntry keeps: item = (shape, dtype), then the metadata tuples a node holds with it.
DEF ITEM = 0     # (shape, dtype): one input's or output's metadata
DEF ONE = 1      # (item,): a unary op's input, any op's output
DEF FIRST = 2    # (item, None): a binary op whose first input alone needs a gradient
DEF SECOND = 3   # (None, item)
DEF BOTH = 4     # (item, item)

cdef MetaEntry _meta_cache[64]
cdef MetaEntry _uncached  # arrays of more than 4 dimensions (refilled every time)


cdef MetaEntry* _meta(cnp.ndarray data) except NULL:
    """The entry of ``data``'s shape and dtype: nodes of tensors of one shape and dtype share its
    tuples, found in a small cache keyed by the array's descr and dims."""
    cdef int nd = cnp.PyArray_NDIM(data), k
    cdef cnp.npy_intp* dims = cnp.PyArray_DIMS(data)
    cdef void* descr = <void*>cnp.PyArray_DESCR(data)
    cdef size_t h = (<size_t>descr >> 4) ^ <size_t>nd
    cdef MetaEntry* e
    if nd > 4:
        e = &_uncached
    else:
        for k in range(nd):
            h = h * 31 + <size_t>dims[k]
        e = &_meta_cache[h & 63]
        if e.tuples[ITEM] != NULL and e.descr == descr and e.ndim == nd:
            for k in range(nd):
                if e.dims[k] != dims[k]:
                    break
            else:
                return e
    item = ((<object>data).shape, _DTYPES[(<object>data).dtype])
    for k in range(5):
        Py_XDECREF(<PyObject*>e.tuples[k])
        e.tuples[k] = NULL
    Py_XDECREF(<PyObject*>e.descr)
    Py_INCREF(item)
    Py_INCREF(<object>descr)
    e.tuples[ITEM], e.descr, e.ndim = <void*>item, descr, min(nd, 4)
    e.is_float = (<tuple>item)[1].is_floating_point
    for k in range(e.ndim):
        e.dims[k] = dims[k]
    return e


cdef object _meta_tuple(MetaEntry* e, int which):
    """One of the tuples of ``e`` (see ITEM ... BOTH)."""
    if e.tuples[which] == NULL:
        item = <object>e.tuples[ITEM]
        made = (item,) if which == ONE else (item, None) if which == FIRST else (None, item) if which == SECOND \
            else (item, item)
        Py_INCREF(made)
        e.tuples[which] = <void*>made
    return <object>e.tuples[which]


cdef class TableOp:
    """``Fn.apply`` of the table op ``Fn``:
    ``TableOp(Fn, call, n_inputs, attrs, dtype_rule, saves, quiet=False, intermediates=(), keeps=None)``.

    ``attrs`` names the node's attributes, the arguments after the inputs (None: an argument only
    the forward reads, as a dtype).  ``call(*arrays, *attrs)`` computes the forward's array (``quiet``: with NumPy's floating-point
    warnings off, as ``log(0)`` is ``-inf`` in PyTorch), or, with ``intermediates`` (names), a
    tuple of it and the values the node keeps under those names; ``saves`` lists what the node
    saves, in order, as ``(source, users)``: the input index (-1: the result) and the bit mask of
    the inputs whose gradient reads it (saved when one of them needs a gradient).  ``keeps`` is
    ``(names, fn)``: ``fn(*args, result)`` gives the values the node keeps under ``names`` besides
    (the generated forward's ``keeps``), computed, as there, with grad mode off.
    """

    cdef readonly object cls
    cdef object backward_cls, call, keeps_fn
    cdef Py_ssize_t n_inputs, n_args
    cdef int prep
    cdef bint quiet
    cdef tuple attrs, saves, needs, edge_args, intermediates, keeps

    def __init__(self, cls, call, Py_ssize_t n_inputs, tuple attrs, str dtype_rule, tuple saves,
                 bint quiet=False, tuple intermediates=(), keeps=None):
        cdef Py_ssize_t mask, i
        if n_inputs < 1 or n_inputs > 8 or n_inputs + len(attrs) > 16:
            raise ValueError("a table op with 1 to 8 tensor inputs and at most 16 arguments")
        self.cls, self.backward_cls, self.call = cls, cls._backward_cls, call
        self.n_inputs, self.n_args, self.attrs = n_inputs, n_inputs + len(attrs), attrs
        self.prep = _PREP[dtype_rule]
        self.quiet = quiet
        self.saves = saves
        # needs_input_grad by the mask of inputs that require grad (the attributes never do).
        self.needs = tuple([tuple([bool(mask >> i & 1) for i in range(n_inputs)]) + (False,) * len(attrs)
                            for mask in range(1 << n_inputs)])
        self.edge_args = tuple(range(n_inputs)) if attrs else None
        self.intermediates = intermediates
        self.keeps, self.keeps_fn = ((), None) if keeps is None else keeps

    def __get__(self, obj, owner):
        if owner is None or owner is self.cls:
            return self
        return _generic_apply.__get__(None, owner)  # a subclass: Function.apply, as it inherits it

    def __call__(self, *args, **kwargs):
        return self._apply(args, kwargs)

    def operator(self, binary, name):
        """The Tensor dunder ``name(self, other)``: this op on ``binary(self, other)`` (the operands
        promoted, a number wrapped)."""
        op = self

        def method(self, other):
            operands = binary(self, other)
            if type(operands) is tuple:
                return (<TableOp>op)._apply(<tuple>operands, None)
            return op(*operands)
        method.__name__ = method.__qualname__ = name
        return method

    cdef object _apply(self, tuple args, dict kwargs):
        if _Tensor is None:
            _bind()
        if kwargs or len(args) != self.n_args or _observers or not _native_active:
            return _generic_apply.__func__(self.cls, *args, **(kwargs or {}))
        result = self._fast(args)
        if result is None:
            return _generic_apply.__func__(self.cls, *args)
        return result

    cdef object _fast(self, tuple args):
        """The op on ``args``, or None when it is not the common case."""
        cdef Py_ssize_t n = self.n_inputs, i, mask = 0
        cdef TensorBase t, out
        cdef cnp.ndarray first, data
        cdef NodeBase node
        cdef MetaEntry* e
        cdef bint enabled = _grad_state.enabled, plain = True
        for i in range(n):
            a = args[i]
            if type(a) is not _Tensor and not _is_parameter(type(a)):
                return None
            t = <TensorBase>a
            if type(t._data) is not cnp.ndarray:
                return None
            if t._view is not None and enabled:
                t._view.sync(t)  # its grad_fn made current (its base may have changed in place)
            data = <cnp.ndarray>t._data
            if self.prep == FLOAT:
                if not _is_float(cnp.PyArray_TYPE(data)):
                    return None
                if i and not (same_layout(first, data) or n == 2 and _broadcast_pair(first, data)):
                    return None
            if i == 0:
                first = data
            if t._requires_grad:
                mask |= 1 << i
        for i in range(n, self.n_args):
            if PyObject_IS_GC(args[i]):
                return None  # an attribute of the node that might close a cycle: the general way
        if cnp.PyArray_SIZE(first) >= fusion_limit():  # the fusion gate's test (core.fusion_gate)
            return None
        if not enabled:
            mask = 0

        # forward: call(*arrays, *attrs), the references borrowed from ``args``
        cdef PyObject* operands[17]  # (17: the keeps' arguments and the result)
        for i in range(self.n_args):
            if self.prep == TENSORS or i >= n:
                operands[i] = <PyObject*>args[i]
            else:
                operands[i] = <PyObject*>(<TensorBase>args[i])._data
        if self.prep == TENSORS and enabled:
            _grad_state.enabled = False
            try:
                result = self._forward(operands)
            finally:
                _grad_state.enabled = True
        else:
            result = self._forward(operands)
        if self.intermediates:
            kept = <tuple?>result
            result = kept[0]
        out = new_tensor(result)
        if mask == 0:
            return out

        # the node: what engine.apply_function and _connect make of the generated forward's ctx
        node = <NodeBase?>instance(self.backward_cls)
        node.needs_input_grad = <tuple>self.needs[mask]
        for i in range(len(self.intermediates)):
            value = kept[i + 1]
            plain = plain and _plain_value(value)
            PyObject_GenericSetAttr(node, (<tuple>self.intermediates)[i], value)
        if self.edge_args is not None:
            node._edge_args = self.edge_args
            for i in range(n, self.n_args):
                name = (<tuple>self.attrs)[i - n]
                if name is not None:
                    PyObject_GenericSetAttr(node, name, args[i])
        if self.keeps_fn is not None:
            _grad_state.enabled = False
            try:
                for i in range(self.n_args):
                    operands[i] = <PyObject*>args[i]
                operands[self.n_args] = <PyObject*>out
                values = PyObject_Vectorcall(self.keeps_fn, operands, self.n_args + 1, NULL)
            finally:
                _grad_state.enabled = True
            for i in range(len(self.keeps)):
                value = (<tuple?>values)[i]
                plain = plain and _plain_value(value)
                PyObject_GenericSetAttr(node, (<tuple>self.keeps)[i], value)
        edges = PyTuple_New(n)
        for i in range(n):
            t = <TensorBase>args[i]
            if mask >> i & 1:
                if t._grad_fn is not None:
                    edge = (t._grad_fn, t._output_nr)
                else:  # a leaf: its live AccumulateGrad node, else a new one
                    ref = t._accumulator
                    live = ref() if ref is not None else None
                    edge = (live if live is not None else leaf_node(t), 0)
            else:
                edge = _NO_EDGE
            Py_INCREF(edge)
            PyTuple_SET_ITEM(edges, i, edge)
        node._next_functions = edges
        node._input_meta = _input_meta(args, n, mask)
        e = _meta(<cnp.ndarray>out._data)
        if e.is_float:
            out._requires_grad = True
            out._grad_fn = node
            out._output_nr = 0
        node._output_meta = _meta_tuple(e, ONE)
        if self.saves:
            saved = []
            for source, users in self.saves:
                if not (mask & <Py_ssize_t>users):
                    saved.append(None)
                elif <Py_ssize_t>source < 0:
                    saved.append(new_saved(_SavedTensor, out, out._grad_fn is node))
                else:
                    t = <TensorBase>args[<Py_ssize_t>source]
                    saved.append(new_saved(_SavedTensor, t, t._grad_fn is node))
            node._saved = saved
        if _anomaly_state.enabled:
            node._anomaly_trace = _anomaly.forward_stack()
        settle_node(node, plain)  # its metadata: the shared tuples above; its attributes: no containers
        if out._grad_fn is node:
            refer(out, node)
        return out


    cdef object _forward(self, PyObject** operands):
        if not self.quiet:
            return PyObject_Vectorcall(self.call, operands, self.n_args, NULL)
        token = _quiet_enter()
        try:
            return PyObject_Vectorcall(self.call, operands, self.n_args, NULL)
        finally:
            _quiet_exit(token)


cdef tuple _NO_EDGE = (None, 0)


cdef bint _broadcast_pair(cnp.ndarray x, cnp.ndarray y):
    """Same dtype and shapes that broadcast together (a bias added to a batch): a binary op's
    generic forward would pass them to the kernel as they are after its broadcast check."""
    cdef int nx = cnp.PyArray_NDIM(x), ny = cnp.PyArray_NDIM(y), k
    cdef cnp.npy_intp a, b
    if cnp.PyArray_DESCR(x) != cnp.PyArray_DESCR(y):
        return False
    for k in range(1, min(nx, ny) + 1):
        a, b = cnp.PyArray_DIMS(x)[nx - k], cnp.PyArray_DIMS(y)[ny - k]
        if a != b and a != 1 and b != 1:
            return False
    return True


cdef bint _plain_value(value):
    """A value a node may keep without taking part in a cycle: not a container, or a tuple of
    such values (a layout flag pair)."""
    if not PyObject_IS_GC(value):
        return True
    if type(value) is not tuple:
        return False
    for item in <tuple>value:
        if PyObject_IS_GC(item):
            return False
    return True


cdef object _input_meta(tuple args, Py_ssize_t n, Py_ssize_t mask):
    """The node's ``_input_meta``: (shape, dtype) of the inputs that need a gradient, None for
    the others (a shared tuple in the common cases)."""
    cdef Py_ssize_t i
    if n == 1:
        return _meta_tuple(_meta(<cnp.ndarray>(<TensorBase>args[0])._data), ONE)
    if n == 2 and mask != 3:
        if mask == 1:
            return _meta_tuple(_meta(<cnp.ndarray>(<TensorBase>args[0])._data), FIRST)
        return _meta_tuple(_meta(<cnp.ndarray>(<TensorBase>args[1])._data), SECOND)
    items = [None] * n
    for i in range(n):
        if mask >> i & 1:
            items[i] = <object>_meta(<cnp.ndarray>(<TensorBase>args[i])._data).tuples[ITEM]
    if n == 2 and items[0] is items[1]:
        return _meta_tuple(_meta(<cnp.ndarray>(<TensorBase>args[1])._data), BOTH)
    return tuple(items)


# -- backward ----------------------------------------------------------------------------------
cdef object _PASS = object()  # a derivative that is ``grad`` itself


cdef class TableBackward:
    """The array form of a table op's backward (what its generated ``backward`` computes when
    grad mode is off), run by the compiled engine without the Python frame:
    ``TableBackward(n_args, n_saved, kept, derivatives, quiet)``.

    ``derivatives`` has one entry per forward argument: None (no gradient), ``"grad"`` (the
    gradient passes as it is) or ``(fn, sources)``: ``fn(*values[s] for s in sources)`` where
    ``values`` is ``(grad, *saved, *kept)`` as arrays, the result wrapped.  ``kept`` names the
    node attributes the derivatives read; ``quiet`` silences NumPy's floating-point warnings.
    """

    def __init__(self, Py_ssize_t n_args, Py_ssize_t n_saved, tuple kept, tuple derivatives, bint quiet):
        if len(derivatives) != n_args:
            raise ValueError("one derivative per forward argument")
        self.n_args, self.n_saved, self.kept, self.quiet = n_args, n_saved, kept, quiet
        self.derivatives = tuple([_PASS if d == "grad" else d for d in derivatives])

    cdef object run(self, NodeBase node, list grads):
        """The gradients of the forward arguments, or None when this is not the common case
        (a graph being built, fusion, a changed or hooked saved tensor: the generated backward)."""
        cdef Py_ssize_t i, j, n_values = 1 + self.n_saved + len(self.kept)
        cdef cnp.ndarray g
        cdef TensorBase st_tensor
        if _Tensor is None:
            _bind()
        if len(grads) != 1:
            return None
        grad = grads[0]
        if type(grad) is not _Tensor or type((<TensorBase>grad)._data) is not cnp.ndarray:
            return None
        g = <cnp.ndarray>(<TensorBase>grad)._data
        if _grad_state.enabled or cnp.PyArray_SIZE(g) >= fusion_limit():
            return None
        needs = node.needs_input_grad
        if type(needs) is not tuple or len(<tuple>needs) != self.n_args:
            return None
        values = PyTuple_New(n_values)
        Py_INCREF(g)
        PyTuple_SET_ITEM(values, 0, g)
        if self.n_saved:
            saved = node._saved
            if type(saved) is not list or len(<list>saved) != self.n_saved:
                return None
            for i in range(self.n_saved):
                s = (<list>saved)[i]
                if s is None:
                    value = None
                else:
                    value = _saved_array(s, g)
                    if value is None:
                        return None
                Py_INCREF(value)
                PyTuple_SET_ITEM(values, 1 + i, value)
        j = 1 + self.n_saved
        for name in self.kept:
            value = getattr(node, name)
            Py_INCREF(value)
            PyTuple_SET_ITEM(values, j, value)
            j += 1
        if not self.quiet:
            return self._gradients(<tuple>needs, grad, <tuple>values)
        token = _quiet_enter()
        try:
            return self._gradients(<tuple>needs, grad, <tuple>values)
        finally:
            _quiet_exit(token)

    cdef tuple _gradients(self, tuple needs, grad, tuple values):
        cdef Py_ssize_t i, j, k
        cdef PyObject* argv[16]
        out = PyTuple_New(self.n_args)
        for i in range(self.n_args):
            d = (<tuple>self.derivatives)[i]
            if d is None or not needs[i]:
                item = None
            elif d is _PASS:
                item = grad
            else:
                fn, sources = <tuple>d
                k = len(<tuple>sources)
                if k > 16:
                    raise ValueError("a derivative of more than 16 parameters")
                for j in range(k):
                    argv[j] = <PyObject*>(<tuple>values)[<Py_ssize_t>(<tuple>sources)[j]]
                item = new_tensor(PyObject_Vectorcall(fn, argv, k, NULL))
            Py_INCREF(item)
            PyTuple_SET_ITEM(out, i, item)
        return out


cdef object _saved_array(s, cnp.ndarray grad):
    """The array of a saved tensor as the generated backward reads it (an input in the gradient's
    dtype), or None when unpacking must go through ``SavedTensor.unpack`` (a changed version)
    or the array is not in the gradient's dtype object, which the generated backward casts)."""
    cdef SavedTensorBase st
    if type(s) is not _SavedTensor:
        return None
    st = <SavedTensorBase>s
    if type(st.version) is not Version or (<Version>st.version).value != st.saved_version:
        return None
    if st.tensor is None:
        data = st.data  # the node's own output (its dtype is the gradient's)
    else:
        data = (<TensorBase?>st.tensor)._data
    if type(data) is not cnp.ndarray or <void*>cnp.PyArray_DESCR(<cnp.ndarray>data) != <void*>cnp.PyArray_DESCR(grad):
        return None
    return data
