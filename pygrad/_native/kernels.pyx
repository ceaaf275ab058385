# cython: language_level=3
"""Compiled elementwise kernels: the twins of ``pygrad._pure.kernels``.

Same names, same signatures, same results: arithmetic agrees bit for bit with NumPy (same
operation order, IEEE, no contraction into fma).  Transcendental functions are NumPy's own
ufuncs, called through NumPy's public API: a kernel that is one ufunc adds only the buffer
cache for large results; fused kernels (sigmoid, the backward of pow, sin, cos) let the ufunc
write its part into the result and finish with a compiled loop.

The compiled path takes float32/float64 operands of one dtype where every operand is either
C-contiguous with the result's shape or "uniform" (one element, like the 0-d operand of
``x * 2.5``, or a stride-0 broadcast view of the result's shape, like ``expand``'s output).
Everything else (other dtypes, strided views, real broadcasting) goes to the pure kernel.
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


def set_ufunc_min_size(Py_ssize_t n):
    """Change the size from which single-ufunc ops run NumPy's loop (benchmarks and tests)."""
    global _ufunc_min, UFUNC_MIN_SIZE
    _ufunc_min = n
    UFUNC_MIN_SIZE = n


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


ctypedef fused floating:
    float
    double

# -- operation codes -----------------------------------------------------------------------
cdef enum:
    ADD, SUB, MUL, DIV, NEG, POW, SQRT, SIGMOID, RELU, ABS, RECIP,
    COPY, ACC, DIV_B, POW_B, POW_B_EXP, SQRT_B, SIN_B, COS_B, TANH_B, SIGMOID_B, RELU_B, ABS_B, RECIP_B

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
    elif op == ACC:  # o += b, o being a: the loops name o alone, so the compiler vectorizes
        if sb:       # them without an overlap check that o == a would fail
            for i in range(n):
                o[i] += b[i]
        else:
            y = b[0]
            for i in range(n):
                o[i] += y
    elif op == DIV_B:  # (-g * a) / (b * b)
        for i in range(n):
            y = c[i * sc]
            o[i] = (-a[i * sa] * b[i * sb]) / (y * y)
    elif op == POW_B:  # o holds x**(p-1): p == 0 ? 0 : g * (p * x**(p-1))
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


# NumPy's own loops for these single-ufunc ops are SIMD code chosen for the CPU at run time,
# faster than this module's portable build once an array is large enough to pay for the
# ufunc call; where the loop would run on several threads, the threads win instead.
UFUNC_MIN_SIZE = 16384
cdef Py_ssize_t _ufunc_min = UFUNC_MIN_SIZE
cdef dict _SINGLE_UFUNC = {ADD: np.add, SUB: np.subtract, MUL: np.multiply, DIV: np.true_divide,
                           NEG: np.negative, SQRT: np.sqrt, ABS: np.absolute, RECIP: np.reciprocal}


cdef inline bint _numpy_loop_faster(Py_ssize_t n) noexcept nogil:
    return n >= _ufunc_min and (n < _parallel_min or pygrad_max_threads() < 2)


cdef object _apply(int op, tuple args, object fallback):
    """Run ``op`` compiled when the operands allow it, else ``fallback(*args)``."""
    cdef int nin = len(args), k, typenum = -1
    cdef cnp.ndarray arr, shape_of = None
    cdef Py_ssize_t steps[4]
    cdef void* data[4]
    cdef bint all_single = True
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
        if cnp.PyArray_SIZE(arr) != 1:
            all_single = False
    # The result's shape: that of the first operand that is neither one element nor stride 0.
    for k in range(nin):
        arr = <cnp.ndarray>args[k]
        if cnp.PyArray_SIZE(arr) != 1 and cnp.PyArray_IS_C_CONTIGUOUS(arr) and not _all_strides_zero(arr):
            shape_of = arr
            break
    if shape_of is None:
        if not all_single:
            return fallback(*args)
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
                return fallback(*args)  # a (1, 1) operand would add dimensions
            steps[k] = 0
        elif _same_shape(arr, shape_of):
            if _all_strides_zero(arr):
                steps[k] = 0
            elif cnp.PyArray_IS_C_CONTIGUOUS(arr):
                steps[k] = 1
            else:
                return fallback(*args)
        else:
            return fallback(*args)
    for k in range(nin, 4):
        data[k] = data[0]
        steps[k] = 0
    out = _empty(nd, cnp.PyArray_DIMS(shape_of), typenum, 4 if typenum == cnp.NPY_FLOAT else 8)
    cdef Py_ssize_t n = cnp.PyArray_SIZE(<cnp.ndarray>out)
    if _numpy_loop_faster(n) and (op in _SINGLE_UFUNC or op == COPY):
        if op == COPY:
            np.copyto(out, args[0])
        else:
            _SINGLE_UFUNC[op](*args, out=out)
        return out
    if _ufunc_stage(op, args, out, steps, data, typenum):
        return out
    cdef void* o = cnp.PyArray_DATA(<cnp.ndarray>out)
    if typenum == cnp.NPY_FLOAT:
        with nogil:
            _run_parallel(op, <float*>o, <float**>data, steps, nin, n)
    else:
        with nogil:
            _run_parallel(op, <double*>o, <double**>data, steps, nin, n)
    return out

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
        np.power(args[1], np.subtract(args[2], 1), out=out)
    elif op == POW_B_EXP:  # (g, result, base, exponent)
        with np.errstate(divide="ignore", invalid="ignore"):
            np.log(args[2], out=out)
    elif op == SIN_B:  # (g, x)
        np.cos(args[1], out=out)
    elif op == COS_B:
        np.sin(args[1], out=out)
    return False


# -- forward -------------------------------------------------------------------------------


def add(a, b):
    return _apply(ADD, (a, b), _pure.add)


def sub(a, b):
    return _apply(SUB, (a, b), _pure.sub)


def mul(a, b):
    return _apply(MUL, (a, b), _pure.mul)


def div(a, b):
    return _apply(DIV, (a, b), _pure.div)


def neg(a):
    return _apply(NEG, (a,), _pure.neg)


def pow(a, b):  # noqa: A001 - the op's name
    return _apply(POW, (a, b), _pure.pow)


cdef object _one_ufunc(object ufunc, object a, object fallback):
    """A kernel that is one NumPy ufunc: compiled code adds nothing to its loop, only the
    buffer cache for a large result (the pure kernel, ``fallback``, does the rest)."""
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
    return fallback(a)


def exp(a):
    return _one_ufunc(np.exp, a, _pure.exp)


def log(a):
    return _one_ufunc(np.log, a, _pure.log)


def sqrt(a):
    return _apply(SQRT, (a,), _pure.sqrt)


def sin(a):
    return _one_ufunc(np.sin, a, _pure.sin)


def cos(a):
    return _one_ufunc(np.cos, a, _pure.cos)


def tanh(a):
    return _one_ufunc(np.tanh, a, _pure.tanh)


def sigmoid(a):
    return _apply(SIGMOID, (a,), _pure.sigmoid)


def relu(a):
    return _apply(RELU, (a,), _pure.relu)


def abs(a):  # noqa: A001
    return _apply(ABS, (a,), _pure.abs)


def reciprocal(a):
    return _apply(RECIP, (a,), _pure.reciprocal)

# -- fused backward ------------------------------------------------------------------------


def mul_backward(g, other):
    return _apply(MUL, (g, other), _pure.mul_backward)


def div_backward_a(g, b):
    return _apply(DIV, (g, b), _pure.div_backward_a)


def div_backward_b(g, a, b):
    return _apply(DIV_B, (g, a, b), _pure.div_backward_b)


def pow_backward(g, x, p):
    return _apply(POW_B, (g, x, p), _pure.pow_backward)


def pow_backward_exponent(g, result, base, exponent):
    return _apply(POW_B_EXP, (g, result, base, exponent), _pure.pow_backward_exponent)


def exp_backward(g, result):
    return _apply(MUL, (g, result), _pure.exp_backward)


def log_backward(g, x):
    return _apply(DIV, (g, x), _pure.log_backward)


def sqrt_backward(g, result):
    return _apply(SQRT_B, (g, result), _pure.sqrt_backward)


def sin_backward(g, x):
    return _apply(SIN_B, (g, x), _pure.sin_backward)


def cos_backward(g, x):
    return _apply(COS_B, (g, x), _pure.cos_backward)


def tanh_backward(g, result):
    return _apply(TANH_B, (g, result), _pure.tanh_backward)


def sigmoid_backward(g, result):
    return _apply(SIGMOID_B, (g, result), _pure.sigmoid_backward)


def relu_backward(g, result):
    return _apply(RELU_B, (g, result), _pure.relu_backward)


def abs_backward(g, x):
    return _apply(ABS_B, (g, x), _pure.abs_backward)


def reciprocal_backward(g, result):
    return _apply(RECIP_B, (g, result), _pure.reciprocal_backward)

def copy(a):
    return _apply(COPY, (a,), _pure.copy)

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
            _run_parallel(ACC, <float*>data[0], <float**>data, steps, 2, n)
    else:
        with nogil:
            _run_parallel(ACC, <double*>data[0], <double**>data, steps, 2, n)
    return dst


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
