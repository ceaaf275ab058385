cimport numpy as cnp


cdef class Version:
    cdef public long long value


cdef struct Link:  # a place in the list of closed graph objects (see core.pyx)
    Link* prev
    Link* next
    void* obj


cdef class GraphObject:
    cdef bint _closed  # hidden from the cyclic collector: it cannot take part in a cycle
    cdef bint _pinned  # a closed object may refer to this one
    cdef Link _link


cdef class TensorBase(GraphObject):
    cdef public object _data
    cdef public bint _requires_grad
    cdef public object _grad_fn
    cdef public Py_ssize_t _output_nr
    cdef public object _grad
    cdef public object _version
    cdef public object _hooks
    cdef public object _accumulator
    cdef public bint _retains_grad
    cdef public object _view  # a ViewRecord when the tensor is a differentiable view (autograd/views.py)
    cdef public object _grad_lock  # a leaf's: the RLock of its accumulations (autograd/function.py leaf_lock)
    cdef object __weakref__


cdef class NodeBase(GraphObject):
    cdef public long long _seq
    cdef public object _next_functions  # read through the read-only next_functions
    cdef public object needs_input_grad
    cdef public object _to_save
    cdef public object _saved
    cdef public bint _freed
    cdef public object _input_meta
    cdef public object _output_meta
    cdef public object _pre_hooks
    cdef public object _retain_hooks
    cdef public object _post_hooks
    cdef public object _non_differentiable
    cdef public object _dirty
    cdef public object _edge_args
    cdef public object _anomaly_trace
    cdef public bint materialize_grads
    cdef dict __dict__
    cdef object __weakref__


cdef class SavedTensorBase:
    cdef public object tensor
    cdef public object data
    cdef public object version
    cdef public long long saved_version
    cdef public Py_ssize_t output_nr
    cdef public bint requires_grad
    cpdef _rebuild(self, node)


cdef object instance(object cls)
cdef TensorBase new_tensor(object array)
cdef SavedTensorBase new_saved(object cls, TensorBase tensor, bint is_output)
cdef TensorBase new_leaf(object array)
cdef void settle_tensor(TensorBase t) except *
cdef void settle_node(NodeBase node, bint plain=*) except *
cdef void open_object(GraphObject obj) except *
cdef void refer(GraphObject holder, object referent) except *
cdef Py_ssize_t fusion_limit() noexcept


cdef inline bint same_layout(cnp.ndarray x, cnp.ndarray y):
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
