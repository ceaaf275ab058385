# cython: language_level=3
"""Compiled elementwise kernels: the twins of ``pygrad._pure.kernels``.

Same names, same signatures, same results: arithmetic agrees bit for bit with NumPy (same
operation order, IEEE, no contraction into fma).  Transcendental functions are NumPy's own
ufuncs, called through NumPy's public API: a kernel that is one ufunc adds only the buffer
cache for large results; fused kernels (sigmoid, the backward of pow, sin, cos) let the ufunc
write its part into the result and finish with a compiled loop.

The compiled path takes float32/float64 operands of one dtype.  Its loop reads operands that
are either C-contiguous with the result's shape or "uniform" (one element, like the 0-d operand
of ``x * 2.5``, or a stride-0 broadcast view of the result's shape, like ``expand``'s output);
a strided operand is first copied into that layout (``tests/test_native_coverage.py`` checks
that these float cases all run compiled).  Other dtypes and operands of another shape than the
result's (real broadcasting, as a bias row added to a batch) go to the pure kernel.
Arithmetic on all-one-element operands never enters a NumPy ufunc.  Loops run
without the GIL, split over OpenMP threads from ``PARALLEL_MIN_SIZE`` elements on.
"""
cimport cython
cimport numpy as cnp
from cython.parallel cimport prange

cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    static int pygrad_max_threads(void) { return omp_get_max_threads(); }
    #else
    static int pygrad_max_threads(void) { return 1; }
    #endif
    """
    int pygrad_max_threads() noexcept nogil

cdef extern from *:
    """
    #include <stdint.h>
    /* x where keep, else +0.0, without a branch: a select on random signs mispredicts. */
    static inline float pygrad_keep_f(float x, int keep) {
        union { float f; uint32_t u; } v; v.f = x; v.u &= (uint32_t)0 - (uint32_t)(keep != 0); return v.f;
    }
    static inline double pygrad_keep_d(double x, int keep) {
        union { double f; uint64_t u; } v; v.f = x; v.u &= (uint64_t)0 - (uint64_t)(keep != 0); return v.f;
    }
    """
    float pygrad_keep_f(float x, int keep) noexcept nogil
    double pygrad_keep_d(double x, int keep) noexcept nogil
cimport libc.math as m

import numpy as np

from pygrad._pure import kernels as _pure

cnp.import_array()

# Elements from which a loop is split over the OpenMP threads.  Measured on the 2-core
# development machine (float32, contiguous, median of 15 runs, 1 thread vs 2 threads):
#   add           8k 1.25 vs 2.23 us   16k 2.06 vs 2.76   32k 3.90 vs 3.73   64k 7.6 vs 5.5   128k 21 vs 9.4
#   mul_backward  8k 1.10 vs 2.09 us   16k 1.95 vs 2.71   32k 3.92 vs 3.65   64k 6.7 vs 5.4   128k 24 vs 9.3
#   tanh          8k 2.64 vs 2.97 us   16k 5.03 vs 4.33   32k 10.5 vs 7.3    64k 19.8 vs 12.0
# Two threads break even near 32k elements for the memory-bound loops (16k for tanh) and win
# clearly from 64k, which is the threshold: below it, waking the second thread costs more than
# it saves, and on a loaded machine the cost of a thread that is not scheduled grows.
PARALLEL_MIN_SIZE = 65536
cdef Py_ssize_t _parallel_min = PARALLEL_MIN_SIZE


def set_parallel_min_size(Py_ssize_t n):
    """Change the size from which loops run on several threads (benchmarks and tests)."""
    global _parallel_min, PARALLEL_MIN_SIZE
    _parallel_min = n
    PARALLEL_MIN_SIZE = n


# -- a cache of large result buffers ------------------------------------------------------------
# Writing a freshly mapped 4 KiB page costs ~3.5 us here (a page fault), several times the cost
# of the write itself, and glibc maps every large allocation afresh.  Results of 1 MiB or more
# are therefore allocated through a NumPy memory handler that keeps up to 8 freed buffers
# (1 GiB at most) and hands one back when a result of exactly that size is wanted, as in the
# repeated forward/backward passes of a training loop.  Only the compiled kernels' results use
# it; the GIL serializes its calls.
cdef extern from *:
    """
    #include <stdlib.h>
    #define PYGRAD_CACHE_SLOTS 8
    #define PYGRAD_CACHE_MIN ((size_t)1 << 20)
    #define PYGRAD_CACHE_MAX ((size_t)1 << 30)
    static void *pygrad_cache_ptr[PYGRAD_CACHE_SLOTS];
    static size_t pygrad_cache_size[PYGRAD_CACHE_SLOTS];
    static size_t pygrad_cache_total = 0;

    static void *pygrad_malloc(void *ctx, size_t n) {
        if (n >= PYGRAD_CACHE_MIN) {
            for (int i = 0; i < PYGRAD_CACHE_SLOTS; i++) {
                if (pygrad_cache_ptr[i] != NULL && pygrad_cache_size[i] == n) {
                    void *p = pygrad_cache_ptr[i];
                    pygrad_cache_ptr[i] = NULL;
                    pygrad_cache_total -= n;
                    return p;
                }
            }
        }
        return malloc(n);
    }
    static void *pygrad_calloc(void *ctx, size_t nelem, size_t elsize) { return calloc(nelem, elsize); }
    static void *pygrad_realloc(void *ctx, void *p, size_t n) { return realloc(p, n); }
    static void pygrad_free(void *ctx, void *p, size_t n) {
        if (p != NULL && n >= PYGRAD_CACHE_MIN && pygrad_cache_total + n <= PYGRAD_CACHE_MAX) {
            for (int i = 0; i < PYGRAD_CACHE_SLOTS; i++) {
                if (pygrad_cache_ptr[i] == NULL) {
                    pygrad_cache_ptr[i] = p;
                    pygrad_cache_size[i] = n;
                    pygrad_cache_total += n;
                    return;
                }
            }
        }
        free(p);
    }
    static size_t pygrad_cache_release(void) {
        size_t released = pygrad_cache_total;
        for (int i = 0; i < PYGRAD_CACHE_SLOTS; i++) {
            free(pygrad_cache_ptr[i]);
            pygrad_cache_ptr[i] = NULL;
        }
        pygrad_cache_total = 0;
        return released;
    }
    static PyDataMem_Handler pygrad_handler = {
        "pygrad_buffer_cache", 1,
        {NULL, pygrad_malloc, pygrad_calloc, pygrad_realloc, pygrad_free}
    };
    static PyObject *pygrad_handler_capsule(void) {
        return PyCapsule_New(&pygrad_handler, "mem_handler", NULL);
    }
    """
    object pygrad_handler_capsule()
    size_t pygrad_cache_release()
    size_t pygrad_cache_total
    size_t PYGRAD_CACHE_MIN

cdef extern from "numpy/arrayobject.h":
    object PyDataMem_SetHandler(object handler)

cdef object _cache_handler = pygrad_handler_capsule()


def _release_buffers():
    """Free the cached result buffers; the number of bytes released."""
    return pygrad_cache_release()


def _cached_bytes():
    return pygrad_cache_total


cdef object _empty(int nd, cnp.npy_intp* dims, int typenum, Py_ssize_t itemsize):
    """A new C-ordered array; large ones come from the buffer cache."""
    cdef Py_ssize_t nbytes = itemsize
    cdef int k
    for k in range(nd):
        nbytes *= dims[k]
    if <size_t>nbytes < PYGRAD_CACHE_MIN:
        return cnp.PyArray_EMPTY(nd, dims, typenum, 0)
    previous = PyDataMem_SetHandler(_cache_handler)
    try:
        return cnp.PyArray_EMPTY(nd, dims, typenum, 0)
    finally:
        PyDataMem_SetHandler(previous)


def _empty_buffer(shape, dtype):
    """An uninitialized C-ordered array (a fused pass fills it); large ones come from the buffer
    cache, as the kernels' results do."""
    cdef cnp.ndarray like = np.broadcast_to(np.empty((), dtype), shape)
    return _empty(cnp.PyArray_NDIM(like), cnp.PyArray_DIMS(like), cnp.PyArray_TYPE(like),
                  cnp.PyArray_ITEMSIZE(like))


ctypedef fused floating:
    float
    double

# -- operation codes -----------------------------------------------------------------------
include "_opcodes.pxi"  # the operation codes, generated from kernel_table.py by setup.py

# The transcendental functions (exp, log, sin, cos, tanh, pow) run through NumPy's ufuncs,
# called by their public Python API with ``out=``: the very loops the pure kernels run, so both
# backends agree bit for bit, and nothing reads NumPy's private ufunc structures (whose layout
# changes between NumPy releases).  Such ops run in stages: the ufunc writes its part into the
# result buffer, then a compiled loop (the op's "tail") combines it with the other operands.


cdef inline floating _sqrt(floating x) noexcept nogil:
    if floating is float:
        return m.sqrtf(x)
    else:
        return m.sqrt(x)


cdef inline floating _fabs(floating x) noexcept nogil:
    if floating is float:
        return m.fabsf(x)
    else:
        return m.fabs(x)


cdef inline floating _keep(floating x, bint keep) noexcept nogil:
    if floating is float:
        return pygrad_keep_f(x, keep)
    else:
        return pygrad_keep_d(x, keep)


cdef inline floating _sign(floating x) noexcept nogil:
    # np.sign: +0 for both zeros, nan for nan; branch-free (random signs mispredict).
    return <floating>((x > 0) - (x < 0)) + _keep(x, x != x)


cdef inline void _pow_by_uniform(floating* o, floating* a, Py_ssize_t sa, floating y,
                                 Py_ssize_t n) noexcept nogil:
    """``o[i] = a[i] ** y`` for an exponent that NumPy's power loop computes exactly as this."""
    cdef Py_ssize_t i
    cdef floating one = 1
    if y == 2:
        for i in range(n):
            o[i] = a[i * sa] * a[i * sa]
    elif y == 0.5:
        for i in range(n):
            o[i] = _sqrt(a[i * sa])
    elif y == 1:
        for i in range(n):
            o[i] = a[i * sa]
    elif y == -1:
        for i in range(n):
            o[i] = one / a[i * sa]
    else:  # y == 0
        for i in range(n):
            o[i] = one


cdef inline bint _shortcut_exponent(double y) noexcept nogil:
    return y == 2 or y == 0.5 or y == 1 or y == -1 or y == 0


cdef void _run(int op, floating* o, floating** ins, Py_ssize_t* steps,
               Py_ssize_t n) noexcept nogil:
    """``o[i] = op(ins[0][i*steps[0]], ...)`` for ``i < n``; a step is 1, or 0 for a uniform operand."""
    cdef floating* a = ins[0]
    cdef floating* b = ins[1]
    cdef floating* c = ins[2]
    cdef floating* d = ins[3]
    cdef Py_ssize_t sa = steps[0], sb = steps[1], sc = steps[2], sd = steps[3], i
    cdef floating one = 1, two = 2, zero = 0, x, y
    if op == ADD:
        if sa and sb:
            for i in range(n):
                o[i] = a[i] + b[i]
        elif sa:
            y = b[0]
            for i in range(n):
                o[i] = a[i] + y
        else:
            for i in range(n):
                o[i] = a[i * sa] + b[i * sb]
    elif op == SUB:
        if sa and sb:
            for i in range(n):
                o[i] = a[i] - b[i]
        elif sa:
            y = b[0]
            for i in range(n):
                o[i] = a[i] - y
        else:
            for i in range(n):
                o[i] = a[i * sa] - b[i * sb]
    elif op == MUL:
        if sa and sb:
            for i in range(n):
                o[i] = a[i] * b[i]
        elif sa:
            y = b[0]
            for i in range(n):
                o[i] = a[i] * y
        else:
            for i in range(n):
                o[i] = a[i * sa] * b[i * sb]
    elif op == DIV:
        if sa and sb:
            for i in range(n):
                o[i] = a[i] / b[i]
        elif sa:
            y = b[0]
            for i in range(n):
                o[i] = a[i] / y
        else:
            for i in range(n):
                o[i] = a[i * sa] / b[i * sb]
    elif op == NEG:
        for i in range(n):
            o[i] = -a[i * sa]
    elif op == POW:  # only for a uniform shortcut exponent: the others run np.power
        _pow_by_uniform(o, a, sa, b[0], n)
    elif op == SQRT:
        for i in range(n):
            o[i] = _sqrt(a[i * sa])
    elif op == SIGMOID:  # o holds exp(-a): 1 / (1 + exp(-a)), in the pure kernel's order
        for i in range(n):
            o[i] = one / (one + o[i])
    elif op == RELU:
        for i in range(n):
            x = a[i * sa]
            # np.maximum(x, 0): nan propagates, -0 becomes +0.
            o[i] = x if (x > 0 or x != x) else zero
    elif op == ABS:
        for i in range(n):
            o[i] = _fabs(a[i * sa])
    elif op == RECIP:
        for i in range(n):
            o[i] = one / a[i * sa]
    elif op == COPY:
        for i in range(n):
            o[i] = a[i * sa]
    elif op == DIV_B:  # (-g * a) / (b * b)
        for i in range(n):
            y = c[i * sc]
            o[i] = (-a[i * sa] * b[i * sb]) / (y * y)
    elif op == POW_B:  # o holds x**(p-1): p == 0 ? 0 : g * (p * x**(p-1))
        if sc == 0 and c[0] != 0:  # one exponent: no test per element (the loop vectorizes)
            y = c[0]
            for i in range(n):
                o[i] = a[i * sa] * (y * o[i])
        else:
            for i in range(n):
                y = c[i * sc]
                o[i] = zero if y == 0 else a[i * sa] * (y * o[i])
    elif op == POW_B_EXP:  # o holds log(base): base == 0 and exponent >= 0 ? 0 : g * (result * log(base))
        for i in range(n):
            o[i] = zero if (c[i * sc] == 0 and d[i * sd] >= 0) else a[i * sa] * (b[i * sb] * o[i])
    elif op == SQRT_B:
        for i in range(n):
            o[i] = a[i * sa] / (two * b[i * sb])
    elif op == SIN_B:  # o holds cos(x)
        for i in range(n):
            o[i] = a[i * sa] * o[i]
    elif op == COS_B:  # o holds sin(x)
        for i in range(n):
            o[i] = a[i * sa] * (-o[i])
    elif op == TANH_B:
        for i in range(n):
            y = b[i * sb]
            o[i] = a[i * sa] * (one - y * y)
    elif op == SIGMOID_B:
        for i in range(n):
            y = b[i * sb]
            o[i] = (a[i * sa] * (one - y)) * y
    elif op == RELU_B:
        for i in range(n):
            o[i] = _keep(a[i * sa], not (b[i * sb] <= 0))  # a NaN result passes g, as PyTorch
    elif op == ABS_B:
        for i in range(n):
            y = b[i * sb]
            o[i] = a[i * sa] * <floating>((y > 0) - (y < 0))  # sign 0 for NaN, as PyTorch
    elif op == RECIP_B:
        for i in range(n):
            y = b[i * sb]
            o[i] = a[i * sa] * (-(y * y))


cdef void _run_chunk(int op, floating* o, floating** ins, Py_ssize_t* steps, int nin,
                     Py_ssize_t n, int c, int chunks) noexcept nogil:
    """``_run`` on the ``c``-th of ``chunks`` equal parts of the ``n`` elements."""
    cdef Py_ssize_t lo = n * c // chunks, hi = n * (c + 1) // chunks
    cdef floating* part[4]
    cdef int k
    for k in range(4):
        part[k] = ins[k] + lo * steps[k] if k < nin else ins[k]
    _run(op, o + lo, part, steps, hi - lo)


cdef void _run_parallel(int op, floating* o, floating** ins, Py_ssize_t* steps, int nin,
                        Py_ssize_t n) noexcept nogil:
    """``_run`` over ``n`` elements, in one chunk per thread when ``n`` is large."""
    cdef int chunks = pygrad_max_threads(), c
    if n < _parallel_min or chunks < 2:
        _run(op, o, ins, steps, n)
        return
    for c in prange(chunks, schedule="static", chunksize=1, num_threads=chunks):
        _run_chunk(op, o, ins, steps, nin, n, c, chunks)


# -- operand checks ------------------------------------------------------------------------

cdef inline bint _all_strides_zero(cnp.ndarray x) noexcept:
    cdef int k
    cdef cnp.npy_intp* strides = cnp.PyArray_STRIDES(x)
    for k in range(cnp.PyArray_NDIM(x)):
        if strides[k] != 0:
            return False
    return True


cdef inline bint _same_shape(cnp.ndarray x, cnp.ndarray y) noexcept:
    cdef int nd = cnp.PyArray_NDIM(x), k
    if nd != cnp.PyArray_NDIM(y):
        return False
    cdef cnp.npy_intp* dx = cnp.PyArray_DIMS(x)
    cdef cnp.npy_intp* dy = cnp.PyArray_DIMS(y)
    for k in range(nd):
        if dx[k] != dy[k]:
            return False
    return True


cdef object _broadcast_shape(tuple args):
    """The shape the operands broadcast to, or None when they do not."""
    cdef int nd = 0, n, k, i
    cdef cnp.npy_intp* dims
    cdef cnp.ndarray arr
    for a in args:
        n = cnp.PyArray_NDIM(<cnp.ndarray>a)
        if n > nd:
            nd = n
    shape = [1] * nd
    for a in args:
        arr = <cnp.ndarray>a
        n = cnp.PyArray_NDIM(arr)
        dims = cnp.PyArray_DIMS(arr)
        for i in range(n):
            k = nd - n + i
            if dims[i] != 1:
                if shape[k] == 1:
                    shape[k] = dims[i]
                elif shape[k] != dims[i]:
                    return None
    return tuple(shape)


cdef object _dense(tuple args):
    """The operands as the compiled loop takes them: each one element, or C-contiguous (or
    stride 0) with the result's shape.  A strided operand is copied into that layout; None when
    an operand has another shape (real broadcasting, or operands that do not broadcast)."""
    shape = _broadcast_shape(args)
    if shape is None:
        return None
    dense = []
    cdef bint has_shape = False  # an operand the result takes its shape from (C-contiguous, not uniform)
    cdef cnp.ndarray arr
    for a in args:
        arr = <cnp.ndarray>a
        if cnp.PyArray_SIZE(arr) == 1 and cnp.PyArray_NDIM(arr) <= len(shape):
            pass
        elif (<object>arr).shape == shape:
            if not (cnp.PyArray_IS_C_CONTIGUOUS(arr) or _all_strides_zero(arr)):
                arr = np.ascontiguousarray(arr)
        else:  # really broadcast (a bias row against a batch): NumPy's broadcasting loop, no copy
            return None
        if cnp.PyArray_SIZE(arr) != 1 and cnp.PyArray_IS_C_CONTIGUOUS(arr) and not _all_strides_zero(arr):
            has_shape = True
        dense.append(arr)
    if not has_shape:  # all uniform (stride 0) with more than one element: one of them laid out in full
        for k, arr in enumerate(dense):
            if cnp.PyArray_SIZE(arr) != 1:
                dense[k] = np.ascontiguousarray(arr)
                break
    return tuple(dense)


cdef cnp.ndarray _result_layout(tuple args, int nin, Py_ssize_t* steps, void** data):
    """The operand whose shape the result takes, with each operand's data and step (1, or 0 for
    a uniform one); None when an operand's layout is not one the loop takes."""
    cdef int k
    cdef cnp.ndarray arr, shape_of = None
    cdef bint all_single = True
    for k in range(nin):
        if cnp.PyArray_SIZE(<cnp.ndarray>args[k]) != 1:
            all_single = False
    # The result's shape: that of the first operand that is neither one element nor stride 0.
    for k in range(nin):
        arr = <cnp.ndarray>args[k]
        if cnp.PyArray_SIZE(arr) != 1 and cnp.PyArray_IS_C_CONTIGUOUS(arr) and not _all_strides_zero(arr):
            shape_of = arr
            break
    if shape_of is None:
        if not all_single:
            return None
        # All one element: the result has the most dimensions (all of them 1).
        shape_of = <cnp.ndarray>args[0]
        for k in range(1, nin):
            arr = <cnp.ndarray>args[k]
            if cnp.PyArray_NDIM(arr) > cnp.PyArray_NDIM(shape_of):
                shape_of = arr
    cdef int nd = cnp.PyArray_NDIM(shape_of)
    for k in range(nin):
        arr = <cnp.ndarray>args[k]
        data[k] = cnp.PyArray_DATA(arr)
        if arr is shape_of:
            steps[k] = 1
        elif cnp.PyArray_SIZE(arr) == 1:
            if cnp.PyArray_NDIM(arr) > nd:
                return None  # a (1, 1) operand would add dimensions
            steps[k] = 0
        elif _same_shape(arr, shape_of):
            if _all_strides_zero(arr):
                steps[k] = 0
            elif cnp.PyArray_IS_C_CONTIGUOUS(arr):
                steps[k] = 1
            else:
                return None
        else:
            return None
    for k in range(nin, 4):
        data[k] = data[0]
        steps[k] = 0
    return shape_of


# NumPy's own loops for the single-ufunc ops are SIMD code chosen for the CPU at run time,
# faster than this module's portable build once an array is large enough to pay for the ufunc
# call (any layout: no copy into a dense one); where the loop would run on several threads,
# the threads win instead.
UFUNC_MIN_SIZE = 16384
cdef Py_ssize_t _ufunc_min = UFUNC_MIN_SIZE


def set_ufunc_min_size(Py_ssize_t n):
    """Change the size from which single-ufunc ops run NumPy's loop (benchmarks and tests)."""
    global _ufunc_min, UFUNC_MIN_SIZE
    _ufunc_min = n
    UFUNC_MIN_SIZE = n


cdef inline bint _numpy_loop_faster(Py_ssize_t n) noexcept nogil:
    return n >= _ufunc_min and (n < _parallel_min or pygrad_max_threads() < 2)


cdef object _single_ufunc(int op):
    if op == ADD:
        return np.add
    if op == SUB:
        return np.subtract
    if op == MUL:
        return np.multiply
    if op == DIV:
        return np.true_divide
    if op == NEG:
        return np.negative
    if op == SQRT:
        return np.sqrt
    if op == ABS:
        return np.absolute
    if op == RECIP:
        return np.reciprocal
    if op == COPY:
        return np.positive
    return None


cdef object _by_numpy_loop(int op, tuple args, int typenum):
    """The op by NumPy's loop into a new (cached when large) buffer; None when it is not one
    ufunc or the operands are small."""
    cdef Py_ssize_t big = 0
    cdef cnp.npy_intp dims[32]
    cdef int k
    for a in args:
        big = max(big, cnp.PyArray_SIZE(<cnp.ndarray>a))
    if not _numpy_loop_faster(big):
        return None
    ufunc = _single_ufunc(op)
    if ufunc is None:
        return None
    try:
        shape = np.broadcast_shapes(*[(<object>a).shape for a in args])
    except ValueError:
        return None
    if len(shape) > 32:
        return None
    for k in range(len(shape)):
        dims[k] = shape[k]
    out = _empty(len(shape), dims, typenum, 4 if typenum == cnp.NPY_FLOAT else 8)
    ufunc(*args, out=out)
    return out


cdef object _apply(int op, tuple args, object fallback):
    """Run ``op`` compiled on float32/float64 operands of one dtype (any layout: see ``_dense``),
    else ``fallback(*args)``."""
    cdef int nin = len(args), k, typenum = -1
    cdef cnp.ndarray arr, shape_of
    cdef Py_ssize_t steps[4]
    cdef void* data[4]
    for k in range(nin):
        a = args[k]
        if type(a) is not cnp.ndarray:
            return fallback(*args)
        arr = <cnp.ndarray>a
        if k == 0:
            typenum = cnp.PyArray_TYPE(arr)
            if typenum != cnp.NPY_FLOAT and typenum != cnp.NPY_DOUBLE:
                return fallback(*args)
        elif cnp.PyArray_TYPE(arr) != typenum:
            return fallback(*args)
    result = _by_numpy_loop(op, args, typenum)
    if result is not None:
        return result
    shape_of = _result_layout(args, nin, steps, data)
    if shape_of is None:
        dense = _dense(args)
        if dense is None:
            return fallback(*args)
        args = dense
        shape_of = _result_layout(args, nin, steps, data)
        if shape_of is None:
            return fallback(*args)
    cdef int nd = cnp.PyArray_NDIM(shape_of)
    out = _empty(nd, cnp.PyArray_DIMS(shape_of), typenum, 4 if typenum == cnp.NPY_FLOAT else 8)
    if _ufunc_stage(op, args, out, steps, data, typenum):
        return out
    cdef Py_ssize_t n = cnp.PyArray_SIZE(<cnp.ndarray>out)
    cdef void* o = cnp.PyArray_DATA(<cnp.ndarray>out)
    if typenum == cnp.NPY_FLOAT:
        with nogil:
            _run_parallel(op, <float*>o, <float**>data, steps, nin, n)
    else:
        with nogil:
            _run_parallel(op, <double*>o, <double**>data, steps, nin, n)
    return out

cdef void _uniform_power(object out, void* x, Py_ssize_t step, double exponent, int typenum) noexcept:
    """``out = x ** exponent`` for a shortcut exponent (see ``_pow_by_uniform``)."""
    cdef Py_ssize_t n = cnp.PyArray_SIZE(<cnp.ndarray>out)
    cdef void* o = cnp.PyArray_DATA(<cnp.ndarray>out)
    if typenum == cnp.NPY_FLOAT:
        with nogil:
            _pow_by_uniform(<float*>o, <float*>x, step, <float>exponent, n)
    else:
        with nogil:
            _pow_by_uniform(<double*>o, <double*>x, step, exponent, n)


cdef bint _ufunc_stage(int op, tuple args, object out, Py_ssize_t* steps, void** data,
                       int typenum) except -1:
    """Write the transcendental part of ``op`` into ``out`` with NumPy's ufunc; True when that
    finished the op, False when its compiled tail is still to run (see ``_run``)."""
    cdef double exponent
    if op == POW:
        if steps[1] == 0:
            exponent = (<float*>data[1])[0] if typenum == cnp.NPY_FLOAT else (<double*>data[1])[0]
            if _shortcut_exponent(exponent):
                return False
        np.power(args[0], args[1], out=out)
        return True
    if op == SIGMOID:
        with np.errstate(over="ignore"):
            np.exp(np.negative(args[0], out=out), out=out)
    elif op == POW_B:  # (g, x, p)
        if steps[2] == 0:  # one exponent: x**(p-1) without pow() where NumPy's loop needs none either
            exponent = ((<float*>data[2])[0] if typenum == cnp.NPY_FLOAT else (<double*>data[2])[0]) - 1
            if _shortcut_exponent(exponent):
                _uniform_power(out, data[1], steps[1], exponent, typenum)
                return False
        np.power(args[1], np.subtract(args[2], 1), out=out)
    elif op == POW_B_EXP:  # (g, result, base, exponent)
        with np.errstate(divide="ignore", invalid="ignore"):
            np.log(args[2], out=out)
    elif op == SIN_B:  # (g, x)
        np.cos(args[1], out=out)
    elif op == COS_B:
        np.sin(args[1], out=out)
    return False


cdef object _one_ufunc(object ufunc, object a, object fallback):
    """A kernel that is one NumPy ufunc: compiled code adds nothing to its loop, only the
    buffer cache for a large result.  Float arrays of any layout go to the ufunc itself (the
    loop the pure kernel runs too); anything else to the pure kernel, ``fallback``."""
    cdef cnp.ndarray arr
    cdef int typenum
    if type(a) is cnp.ndarray:
        arr = <cnp.ndarray>a
        typenum = cnp.PyArray_TYPE(arr)
        if ((typenum == cnp.NPY_FLOAT or typenum == cnp.NPY_DOUBLE) and cnp.PyArray_IS_C_CONTIGUOUS(arr)
                and <size_t>cnp.PyArray_NBYTES(arr) >= PYGRAD_CACHE_MIN):
            out = _empty(cnp.PyArray_NDIM(arr), cnp.PyArray_DIMS(arr), typenum,
                         cnp.PyArray_ITEMSIZE(arr))
            ufunc(arr, out)
            return out
        if typenum == cnp.NPY_FLOAT or typenum == cnp.NPY_DOUBLE:
            return ufunc(arr)
    return fallback(a)


# The Python-level kernels: ``_apply`` of a loop's operation code, or ``_one_ufunc``, generated
# from kernel_table.py by setup.py.
include "_kernels.pxi"


# -- accumulation -------------------------------------------------------------------------


def accumulate(dst, src):
    """dst += src in place (the engine's gradient accumulation)."""
    cdef cnp.ndarray d, s
    cdef int typenum
    cdef void* data[4]
    cdef Py_ssize_t steps[4]
    if type(dst) is not cnp.ndarray or type(src) is not cnp.ndarray:
        return _pure.accumulate(dst, src)
    d, s = <cnp.ndarray>dst, <cnp.ndarray>src
    typenum = cnp.PyArray_TYPE(d)
    if ((typenum != cnp.NPY_FLOAT and typenum != cnp.NPY_DOUBLE) or cnp.PyArray_TYPE(s) != typenum
            or not cnp.PyArray_IS_C_CONTIGUOUS(d) or not cnp.PyArray_ISWRITEABLE(d)):
        return _pure.accumulate(dst, src)
    if cnp.PyArray_SIZE(s) == 1 and cnp.PyArray_NDIM(s) <= cnp.PyArray_NDIM(d):
        steps[1] = 0
    elif _same_shape(d, s) and _all_strides_zero(s):
        steps[1] = 0
    elif _same_shape(d, s) and cnp.PyArray_IS_C_CONTIGUOUS(s):
        steps[1] = 1
    else:
        return _pure.accumulate(dst, src)
    if cnp.PyArray_SIZE(d) == 0:
        return dst
    # In place: the source may overlap the destination only if it is the destination itself
    # (a one-element source inside it would change under the loop: NumPy copies it first).
    data[0] = cnp.PyArray_DATA(d)
    data[1] = cnp.PyArray_DATA(s)
    data[2] = data[3] = data[0]
    steps[0] = 1
    steps[2] = steps[3] = 0
    cdef Py_ssize_t n = cnp.PyArray_SIZE(d)
    if (steps[1] == 0 or data[1] != data[0]) and _overlaps(d, s):
        return _pure.accumulate(dst, src)
    if _numpy_loop_faster(n):
        np.add(d, s, out=d)
        return dst
    if typenum == cnp.NPY_FLOAT:
        with nogil:
            _accumulate_parallel(<float*>data[0], <float*>data[1], steps[1], n)
    else:
        with nogil:
            _accumulate_parallel(<double*>data[0], <double*>data[1], steps[1], n)
    return dst


cdef void _accumulate_loop(floating* d, floating* s, Py_ssize_t step, Py_ssize_t n) noexcept nogil:
    """``d[i] += s[i * step]``.  Not the ADD loop with the result being an operand: there the
    compiler's overlap check fails and the loop runs unvectorized."""
    cdef Py_ssize_t i
    cdef floating y
    if step:
        for i in range(n):
            d[i] += s[i]
    else:
        y = s[0]
        for i in range(n):
            d[i] += y


cdef void _accumulate_parallel(floating* d, floating* s, Py_ssize_t step, Py_ssize_t n) noexcept nogil:
    cdef int chunks = pygrad_max_threads(), c
    cdef Py_ssize_t lo, hi
    if n < _parallel_min or chunks < 2:
        _accumulate_loop(d, s, step, n)
        return
    for c in prange(chunks, schedule="static", chunksize=1, num_threads=chunks):
        lo = n * c // chunks
        hi = n * (c + 1) // chunks
        _accumulate_loop(d + lo, s + lo * step, step, hi - lo)


cdef bint _overlaps(cnp.ndarray d, cnp.ndarray s):
    cdef char* d0 = <char*>cnp.PyArray_DATA(d)
    cdef char* s0 = <char*>cnp.PyArray_DATA(s)
    cdef Py_ssize_t nbytes = cnp.PyArray_NBYTES(d)
    return s0 < d0 + nbytes and d0 < s0 + cnp.PyArray_NBYTES(s)


def _reexport_missing():
    """Kernels added to the pure module and not compiled here run as their pure versions."""
    namespace = globals()
    for name, value in vars(_pure).items():
        if (not name.startswith("_") and callable(value) and name not in namespace
                and getattr(value, "__module__", None) == _pure.__name__):
            namespace[name] = value


_reexport_missing()
