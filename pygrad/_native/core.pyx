# cython: language_level=3
"""Compiled twin of ``pygrad._pure.core``: the same fields, as C members."""
cimport cython
from libc.math cimport isinf
from libc.string cimport memcpy
import numpy as np
cimport numpy as cnp
from pygrad._errors import not_writable
from cpython.ref cimport Py_INCREF
from cpython.tuple cimport PyTuple_New, PyTuple_SET_ITEM
from libc.stdint cimport PTRDIFF_MAX as PY_SSIZE_T_MAX

cnp.import_array()

cdef long long _next_seq = 0
cdef object _tensor_cls = None


cdef class Version:
    """The in-place version counter, shared by tensors that share storage."""

    def __init__(self):
        self.value = 0


# -- the cyclic garbage collector ---------------------------------------------------------------
# Tensors, nodes and saved tensors refer to what came before them (a node to its inputs' nodes
# and saved inputs, a tensor to its grad_fn), so by themselves they form no cycle and reference
# counting frees them.  Such an object is *closed*: hidden from the cyclic collector, which
# otherwise spends most of a small-op program's time traversing the graph.  A cycle needs a
# reference that does not point back in time: a hook, an attribute set on a tensor or ctx, a
# view record, a .grad with a history, an in-place op that gives an old tensor a new grad_fn.
# An object holding one is *open* (tracked), and so is every object that refers to an open one,
# so a cycle is made of tracked objects only and the collector frees it.
#
# An object is closed when it is complete (``settle_*``) and every graph object it refers to is
# closed.  Anything stored on a closed object later goes through ``__setattr__`` (Python code)
# or ``refer`` (compiled code); what could close a cycle opens it, and opening an object opens
# the closed objects that refer to it (found through the list of closed objects, searched only
# when a closed object may refer to it: ``_pinned``).  Objects made any other way stay tracked.

cdef extern from "Python.h":
    int PyObject_IS_GC(object)
    int PyObject_GC_IsTracked(object)
    void PyObject_GC_Track(void*)
    void PyObject_GC_UnTrack(void*)
    Py_ssize_t _refcnt "Py_REFCNT"(void*)
    int PyObject_GenericSetAttr(object, object, object) except -1
    ctypedef struct PyTypeObject
    ctypedef object (*newfunc)(PyTypeObject*, object, void*)
    ctypedef struct PyTypeObject:
        Py_ssize_t tp_dictoffset
        newfunc tp_new
    PyTypeObject* Py_TYPE(object)
    object PyObject_GenericGetDict(object, void*)

cdef Link _closed_list  # the sentinel of a circular list of every closed object
_closed_list.prev = _closed_list.next = &_closed_list
# Searching the list costs its length.  Each object made earns a credit and each search spends
# its length, so searches cost at most a constant per object however a program attaches hooks;
# while the balance is negative nothing is closed (so nothing needs searching).
cdef Py_ssize_t _credit = 0
cdef Py_ssize_t _CREDIT_LIMIT = 1 << 16
cdef object _RLock = type(__import__("threading").RLock())
cdef object _weakref = __import__("weakref").ref


cdef class GraphObject:
    """What tensors and nodes share: their place among the closed objects."""

    def __dealloc__(self):
        if self._closed:
            _unlink(self)

    def __setattr__(self, name, value):
        PyObject_GenericSetAttr(self, name, value)
        if self._closed and not _keeps_closed(self, name, value):
            open_object(self)


cdef inline void _unlink(GraphObject o):
    o._link.prev.next = o._link.next
    o._link.next.prev = o._link.prev
    o._closed = False


cdef inline void _track(obj):
    if PyObject_IS_GC(obj) and not PyObject_GC_IsTracked(obj):
        PyObject_GC_Track(<void*>obj)


cdef inline bint _is_closed(x):
    """None, or a closed graph object."""
    return x is None or (isinstance(x, GraphObject) and (<GraphObject>x)._closed)


cdef inline void _pin(x):
    if isinstance(x, GraphObject):
        (<GraphObject>x)._pinned = True


cdef bint _keeps_closed(GraphObject obj, name, value) except -1:
    """Storing ``value`` as ``obj.name`` leaves closed ``obj`` unable to take part in a cycle."""
    if value is None or not PyObject_IS_GC(value):
        return True  # numbers, strings, arrays, version counters
    if isinstance(obj, TensorBase):
        if name == "_grad":  # a gradient without history: a leaf that nothing else refers to
            if isinstance(value, TensorBase) and (<TensorBase>value)._closed and (<TensorBase>value)._grad_fn is None:
                (<TensorBase>value)._pinned = True
                return True
        elif name == "_accumulator":  # a weak reference without callback holds nothing
            return type(value) is _weakref and value.__callback__ is None
        elif name == "_grad_lock":  # a lock refers to nothing
            return type(value) is _RLock
    return False


cdef inline bint _closing():
    """Whether to close new objects; counts one made."""
    global _credit
    if _credit < _CREDIT_LIMIT:
        _credit += 1
    return _credit >= 0


cdef void _close(GraphObject o):
    PyObject_GC_UnTrack(<void*>o)
    o._link.obj = <void*>o
    o._link.prev = _closed_list.prev
    o._link.next = &_closed_list
    _closed_list.prev.next = &o._link
    _closed_list.prev = &o._link
    o._closed = True


cdef inline bint _plain_instance(obj, cls) except -1:
    """``obj`` has no attributes besides the fields (a subclass instance's __dict__ is empty)."""
    if type(obj) is cls:
        return True
    d = getattr(obj, "__dict__", None)
    return not d


cdef void settle_tensor(TensorBase t) except *:
    """Close ``t`` if it can take part in no cycle (see above)."""
    if t._closed or not _closing():
        return
    if (t._hooks is None and t._view is None and _is_closed(t._grad_fn) and type(t._data) is cnp.ndarray
            and (t._accumulator is None or (type(t._accumulator) is _weakref and t._accumulator.__callback__ is None))
            and (t._grad is None or (_is_closed(t._grad) and (<TensorBase>t._grad)._grad_fn is None))
            and _plain_instance(t, _tensor_cls)):
        _pin(t._grad_fn)
        _pin(t._grad)
        _close(t)


cdef bint _plain_tuple(x):
    """A tuple of numbers, None, shapes or (shape, dtype) pairs: nothing a cycle can pass."""
    if type(x) is not tuple:
        return False
    for item in <tuple>x:
        if item is None or not PyObject_IS_GC(item):
            continue
        if type(item) is not tuple:
            return False
        for sub in <tuple>item:  # (shape, dtype): dtypes are module constants
            if type(sub) is tuple:
                for k in <tuple>sub:
                    if PyObject_IS_GC(k):
                        return False
    return True


cdef void settle_node(NodeBase node, bint plain=False) except *:
    """Close ``node`` and the containers only it holds, if it can take part in no cycle.
    ``plain``: its maker knows its metadata tuples hold only numbers, shapes and dtypes, and its
    attributes no container (the compiled common path of a table op), so they are not looked at."""
    cdef tuple edges
    cdef SavedTensorBase st
    if node._closed or not _closing():
        return
    if not (node._pre_hooks is None and node._post_hooks is None and node._retain_hooks is None
            and node._to_save is None and node._anomaly_trace is None and not node._dirty
            and not node._non_differentiable and type(node._next_functions) is tuple):
        return
    if not plain and not (_plain_tuple(node.needs_input_grad) and _plain_tuple(node._input_meta)
                          and _plain_tuple(node._output_meta)
                          and (node._edge_args is None or _plain_tuple(node._edge_args))):
        return
    attrs = None if plain else PyObject_GenericGetDict(node, NULL)
    if attrs:  # a ctx attribute may close a cycle; AccumulateGrad's own two may not
        if not (len(attrs) == 2 and type(attrs.get("_lock")) is _RLock
                and isinstance(attrs.get("variable"), TensorBase) and _is_closed(attrs["variable"])):
            return
    edges = <tuple>node._next_functions
    for edge in edges:
        if type(edge) is not tuple or len(<tuple>edge) != 2 or not _is_closed((<tuple>edge)[0]):
            return
    saved = node._saved
    if saved is not None:
        if type(saved) is not list:
            return
        for s in <list>saved:
            if s is None:
                continue
            if not isinstance(s, SavedTensorBase) or Py_TYPE(s).tp_dictoffset != 0:
                return
            st = <SavedTensorBase>s
            if not _is_closed(st.tensor) or PyObject_IS_GC(st.data) or PyObject_IS_GC(st.version):
                return
    # Closed: pin what it refers to, hide it and what only it holds.
    for edge in edges:
        _pin((<tuple>edge)[0])
        PyObject_GC_UnTrack(<void*>edge)
    PyObject_GC_UnTrack(<void*>edges)
    for meta in (node.needs_input_grad, node._input_meta, node._output_meta):
        for item in <tuple>meta:
            if type(item) is tuple:
                PyObject_GC_UnTrack(<void*>item)
        PyObject_GC_UnTrack(<void*>meta)
    if saved is not None:
        for s in <list>saved:
            if s is not None:
                _pin((<SavedTensorBase>s).tensor)
                PyObject_GC_UnTrack(<void*>s)
        PyObject_GC_UnTrack(<void*>saved)
    if attrs:
        _pin(attrs["variable"])
        PyObject_GC_UnTrack(<void*>attrs)
    _close(node)


cdef void _reopen(GraphObject o):
    """Track ``o`` again, with the containers its closing hid."""
    _unlink(o)
    PyObject_GC_Track(<void*>o)
    if isinstance(o, NodeBase):
        n = <NodeBase>o
        edges = n._next_functions
        if type(edges) is tuple:
            for edge in <tuple>edges:
                _track(edge)
            _track(edges)
        for meta in (n.needs_input_grad, n._input_meta, n._output_meta):
            if type(meta) is tuple:
                for item in <tuple>meta:
                    _track(item)
                _track(meta)
        if type(n._saved) is list:
            for s in <list>n._saved:
                _track(s)
            _track(n._saved)
        _track(PyObject_GenericGetDict(n, NULL))


cdef list _referents(GraphObject o):
    """The graph objects ``o`` refers to."""
    cdef NodeBase n
    if isinstance(o, TensorBase):
        return [(<TensorBase>o)._grad_fn, (<TensorBase>o)._grad]
    n = <NodeBase>o
    out = [edge[0] for edge in n._next_functions]
    if n._saved is not None:
        out += [(<SavedTensorBase>s).tensor for s in n._saved if s is not None]
    attrs = PyObject_GenericGetDict(n, NULL)
    if attrs:
        out.append(attrs.get("variable"))
    return out


def closed_objects():
    """Every closed graph object (``gc.get_objects()`` does not list them)."""
    cdef Link* link = _closed_list.next
    cdef list out = []
    while link != &_closed_list:
        if _refcnt(link.obj) > 0:  # not one being freed
            out.append(<object>link.obj)
        link = link.next
    return out


cdef void open_object(GraphObject obj) except *:
    """Track ``obj`` again, and every closed object that refers to it, directly or not."""
    global _credit
    if not obj._closed:
        return
    _reopen(obj)
    if not obj._pinned:
        return
    everything = closed_objects()
    _credit = max(_credit - len(everything), -_CREDIT_LIMIT)
    referrers = {}
    for o in everything:
        for r in _referents(<GraphObject>o):
            if isinstance(r, GraphObject) and ((<GraphObject>r)._closed or r is obj):
                referrers.setdefault(id(r), []).append(o)
    stack = [obj]
    while stack:
        for o in referrers.get(id(stack.pop()), ()):
            if (<GraphObject>o)._closed:
                _reopen(<GraphObject>o)
                stack.append(o)


cdef void refer(GraphObject holder, object referent) except *:
    """Compiled code made ``holder`` refer to the graph object ``referent``."""
    if holder._closed:
        if _is_closed(referent):
            _pin(referent)
        else:
            open_object(holder)


cdef class TensorBase(GraphObject):
    pass


@cython.trashcan(True)
cdef class NodeBase(GraphObject):
    """Every node gets a creation sequence number; the other fields start at their defaults."""

    def __cinit__(self, *args, **kwargs):
        global _next_seq
        self._seq = _next_seq
        _next_seq += 1
        self._next_functions = ()
        self.needs_input_grad = ()
        self._input_meta = ()
        self._output_meta = ()
        self._non_differentiable = ()
        self._dirty = ()
        self.materialize_grads = True

    def __init__(self):
        pass

    @property
    def next_functions(self):
        return self._next_functions

    @next_functions.setter
    def next_functions(self, value):
        raise AttributeError(not_writable("next_functions", self))

    @next_functions.deleter
    def next_functions(self):
        raise AttributeError(not_writable("next_functions", self))

    @property
    def saved_tensors(self):
        # What SavedTensor.unpack gives when the version is unchanged; anything else
        # (a changed version, a freed node) goes through Node._unpack_saved.
        cdef SavedTensorBase st
        if self._freed or type(self._saved) is not list:
            return self._unpack_saved()
        cdef list saved = <list>self._saved
        cdef Py_ssize_t i, n = len(saved)
        result = PyTuple_New(n)
        for i in range(n):
            s = saved[i]
            if s is None:
                item = None
            else:
                if not isinstance(s, SavedTensorBase):
                    return self._unpack_saved()
                st = <SavedTensorBase>s
                if type(st.version) is not Version or (<Version>st.version).value != st.saved_version:
                    return self._unpack_saved()
                item = st.tensor if st.tensor is not None else st._rebuild(self)
            Py_INCREF(item)
            PyTuple_SET_ITEM(result, i, item)
        return result


cdef class SavedTensorBase:
    """What a node keeps of a saved tensor (unpacking is ``autograd.function.SavedTensor``'s)."""

    def __init__(self, TensorBase tensor, bint is_output):
        _fill_saved(self, tensor, is_output)

    cpdef _rebuild(self, node):
        """A saved output as a tensor again: its array, version counter and place in the graph."""
        cdef TensorBase t = new_leaf(self.data)
        t._version = self.version
        if self.requires_grad:
            t._requires_grad = True
            t._grad_fn = node
            t._output_nr = self.output_nr
        settle_tensor(t)
        return t


cdef inline void _fill_saved(SavedTensorBase s, TensorBase tensor, bint is_output) except *:
    if type(tensor._version) is not Version:
        raise TypeError(f"a tensor's version counter is a {type(tensor._version).__name__}")
    s.version = tensor._version
    s.saved_version = (<Version>tensor._version).value
    s.output_nr = tensor._output_nr
    s.requires_grad = tensor._requires_grad
    if is_output:  # an output of the saving node: keep no reference to it or to the node
        s.data = tensor._data
    else:
        s.tensor = tensor


cdef object instance(object cls):
    """``Base.__new__(cls)`` for a subclass ``cls`` of a class of this module (no ``__init__``),
    through its allocation slot rather than a Python-level call."""
    if not isinstance(cls, type):
        raise TypeError(f"{cls!r} is not a type")
    cdef PyTypeObject* tp = <PyTypeObject*><void*>cls
    return tp.tp_new(tp, (), NULL)


cdef SavedTensorBase new_saved(object cls, TensorBase tensor, bint is_output):
    """``cls(tensor, is_output)`` for a subclass ``cls`` of SavedTensorBase, without the call."""
    cdef SavedTensorBase s = <SavedTensorBase?>instance(cls)
    _fill_saved(s, tensor, is_output)
    return s


cdef TensorBase new_leaf(object array):
    """A new leaf of the bound tensor class around ``array`` (no copy), not yet settled."""
    cdef TensorBase t = <TensorBase>instance(_tensor_cls)
    if type(array) is not cnp.ndarray:
        array = np.asarray(array)
    t._data = array
    t._version = Version.__new__(Version)
    return t


cdef TensorBase new_tensor(object array):
    """A new leaf of the bound tensor class around ``array`` (no copy)."""
    cdef TensorBase t = new_leaf(array)
    if type(t._data) is cnp.ndarray and _closing():
        _close(t)
    return t


def tensor_factory(cls):
    """``wrap(array)``: a new leaf ``cls`` around ``array`` (no copy); also bound as ``core.wrap``."""
    global _tensor_cls
    _tensor_cls = cls
    return wrap


def settle(obj):
    """Close a graph object made in Python code, if it can take part in no cycle."""
    if isinstance(obj, TensorBase):
        settle_tensor(obj)
    elif isinstance(obj, NodeBase):
        settle_node(obj)


def wrap(array):
    return new_tensor(array)


# -- operands of binary ops: the common cases of pygrad.ops._util's functions, in C ------------
cdef object _binary_general = None, _same_general = None


def fast_operands(binary, same):
    """``binary_operands`` and ``same_dtype_arrays`` answering the common cases in C and
    calling ``binary`` / ``same`` (the definitions) for everything else."""
    global _binary_general, _same_general
    _binary_general, _same_general = binary, same
    return binary_operands, same_dtype_arrays


def binary_operands(a, b):
    if isinstance(a, TensorBase):
        if isinstance(b, TensorBase):
            return (a, b)
        kind = type(b)
        if kind is float or kind is int:
            # A Python number never changes a floating tensor's dtype.
            dtype = (<object>(<TensorBase>a)._data).dtype
            if kind is float and (dtype is _F64 or (dtype is _F32 and _fits_float(<double>b))):
                return (a, _wrapped_number(<double>b, dtype is _F64))
            if dtype.kind == "f":
                return (a, new_tensor(np.asarray(b, dtype)))
    return _binary_general(a, b)


cdef object _F64 = np.dtype(np.float64), _F32 = np.dtype(np.float32)


cdef inline bint _fits_float(double value):
    """Casting to float32 does not overflow (NumPy warns when it does: let it)."""
    return not (isinf(<float>value) and not isinf(value))


# A node that saves its operand (``x * 0.5`` saves the 0.5) keeps the number's tensor alive:
# a long chain of such ops would keep one tensor and one array per op.  The tensors of recent
# numbers are kept instead (by the bits of the value, one table per float type) and shared by
# every op on the same number; their arrays are read-only, so nothing can change a shared value.
cdef enum:
    WRAPPED_SLOTS = 64
cdef unsigned long long _wrapped_bits[2 * WRAPPED_SLOTS]
cdef list _wrapped = [None] * (2 * WRAPPED_SLOTS)


cdef object _wrapped_number(double value, bint double):
    """A 0-d leaf of ``value`` as float64 or float32, shared with the other ops on it."""
    cdef unsigned long long bits
    memcpy(&bits, &value, sizeof(double))
    cdef Py_ssize_t slot = <Py_ssize_t>((bits * 0x9E3779B97F4A7C15ULL) >> 58) + (WRAPPED_SLOTS if double else 0)
    cached = _wrapped[slot]
    if cached is not None and _wrapped_bits[slot] == bits:
        return cached
    cdef cnp.ndarray array = _scalar_array(value, double)
    cnp.PyArray_CLEARFLAGS(array, cnp.NPY_ARRAY_WRITEABLE)
    t = new_tensor(array)
    _wrapped[slot] = t
    _wrapped_bits[slot] = bits
    return t


cdef cnp.ndarray _scalar_array(double value, bint double):
    """``np.asarray(value, float64 or float32)``: a 0-d array (one rounding, as NumPy casts)."""
    cdef cnp.ndarray out = cnp.PyArray_EMPTY(0, NULL, cnp.NPY_DOUBLE if double else cnp.NPY_FLOAT, 0)
    if double:
        (<double*>cnp.PyArray_DATA(out))[0] = value
    else:
        (<float*>cnp.PyArray_DATA(out))[0] = <float>value
    return out


def same_dtype_arrays(a, b, result=None):
    if result is None and isinstance(a, TensorBase) and isinstance(b, TensorBase):
        x = (<TensorBase>a)._data
        y = (<TensorBase>b)._data
        if type(x) is cnp.ndarray and type(y) is cnp.ndarray and same_layout(x, y):
            return (x, y)
    return _same_general(a, b, result)


# -- the size test in front of every fusible op (pygrad/fusion) -------------------------------
cdef Py_ssize_t _fusion_limit = PY_SSIZE_T_MAX


cdef Py_ssize_t fusion_limit() noexcept:
    """The gate's limit, for compiled callers (``dispatch.pyx``)."""
    return _fusion_limit


def set_fusion_limit(Py_ssize_t n):
    """Operands of at least ``n`` elements go to fusion (``PY_SSIZE_T_MAX``: fusion is off)."""
    global _fusion_limit
    _fusion_limit = n


def fusion_gate(x):
    """Whether an elementwise op (given its first operand) or a backward (given its gradient)
    asks fusion first: ``x``'s storage slot has at least the limit's elements (a pending
    result's placeholder has its full size)."""
    if not isinstance(x, TensorBase):
        return False
    a = (<TensorBase>x)._data
    return cnp.PyArray_Check(a) and cnp.PyArray_SIZE(<cnp.ndarray>a) >= _fusion_limit
