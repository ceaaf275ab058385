from pygrad._native.core cimport NodeBase, TensorBase


cdef class TableBackward:
    cdef Py_ssize_t n_args, n_saved
    cdef tuple kept, derivatives
    cdef bint quiet
    cdef object run(self, NodeBase node, list grads)
    cdef tuple _gradients(self, tuple needs, grad, tuple values)


cdef object leaf_node(TensorBase leaf)
