# cython: language_level=3
"""Compiled twin of ``pygrad._pure.core``: the same fields, as C members."""
cimport cython
from libc.math cimport isinf
import numpy as np
cimport numpy as cnp
from pygrad._errors import not_writable
from cpython.ref cimport Py_INCREF
from cpython.tuple cimport PyTuple_New, PyTuple_SET_ITEM

cnp.import_array()

cdef long long _next_seq = 0
cdef object _tensor_cls = None


cdef class Version:
    """The in-place version counter, shared by tensors that share storage."""

    def __init__(self):
        self.value = 0


cdef class TensorBase:
    pass


@cython.trashcan(True)
cdef class NodeBase:
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
        cdef TensorBase t = new_tensor(self.data)
        t._version = self.version
        if self.requires_grad:
            t._requires_grad = True
            t._grad_fn = node
            t._output_nr = self.output_nr
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


cdef SavedTensorBase new_saved(object cls, TensorBase tensor, bint is_output):
    """``cls(tensor, is_output)`` for a subclass ``cls`` of SavedTensorBase, without the call."""
    cdef SavedTensorBase s = SavedTensorBase.__new__(cls)
    _fill_saved(s, tensor, is_output)
    return s


cdef TensorBase new_tensor(object array):
    """A new leaf of the bound tensor class around ``array`` (no copy)."""
    cdef TensorBase t = TensorBase.__new__(_tensor_cls)
    if type(array) is not cnp.ndarray:
        array = np.asarray(array)
    t._data = array
    t._version = Version.__new__(Version)
    return t


def tensor_factory(cls):
    """``wrap(array)``: a new leaf ``cls`` around ``array`` (no copy); also bound as ``core.wrap``."""
    global _tensor_cls
    _tensor_cls = cls
    return wrap


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
                return (a, new_tensor(_scalar_array(<double>b, dtype is _F64)))
            if dtype.kind == "f":
                return (a, new_tensor(np.asarray(b, dtype)))
    return _binary_general(a, b)


cdef object _F64 = np.dtype(np.float64), _F32 = np.dtype(np.float32)


cdef inline bint _fits_float(double value):
    """Casting to float32 does not overflow (NumPy warns when it does: let it)."""
    return not (isinf(<float>value) and not isinf(value))


cdef cnp.ndarray _scalar_array(double value, bint double):
    """``np.asarray(value, float64 or float32)``: a 0-d array (one rounding, as NumPy casts)."""
    cdef cnp.ndarray out = cnp.PyArray_EMPTY(0, NULL, cnp.NPY_DOUBLE if double else cnp.NPY_FLOAT, 0)
    if double:
        (<double*>cnp.PyArray_DATA(out))[0] = value
    else:
        (<float*>cnp.PyArray_DATA(out))[0] = <float>value
    return out


cdef inline bint _same_layout(cnp.ndarray x, cnp.ndarray y):
    """Same dtype, and shapes that need no broadcast check (equal, or one of them 0-d)."""
    cdef int nd = cnp.PyArray_NDIM(x), k
    if cnp.PyArray_DESCR(x) != cnp.PyArray_DESCR(y):
        return False
    if nd == 0 or cnp.PyArray_NDIM(y) == 0:
        return True
    if nd != cnp.PyArray_NDIM(y):
        return False
    for k in range(nd):
        if cnp.PyArray_DIMS(x)[k] != cnp.PyArray_DIMS(y)[k]:
            return False
    return True


def same_dtype_arrays(a, b, result=None):
    if result is None and isinstance(a, TensorBase) and isinstance(b, TensorBase):
        x = (<TensorBase>a)._data
        y = (<TensorBase>b)._data
        if type(x) is cnp.ndarray and type(y) is cnp.ndarray and _same_layout(x, y):
            return (x, y)
    return _same_general(a, b, result)
