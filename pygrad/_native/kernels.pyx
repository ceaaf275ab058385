# cython: language_level=3
"""Compiled elementwise kernels: the twins of ``pygrad._pure.kernels``.

Same names, same signatures, same results: arithmetic agrees bit for bit with NumPy (same
operation order, IEEE, no contraction into fma).  Transcendental functions are NumPy's own
ufuncs, called through NumPy's public API: a kernel that is one ufunc adds only the buffer
cache for large results; fused kernels (sigmoid, the backward of pow, sin, cos) let the ufunc
write its part into the result and finish with a compiled loop.

The compiled path takes float32/float64 operands of one dtype, of any layout: contiguous,
strided, transposed, reversed, stride-0 (``expand``'s output), 0-d (``x * 2.5``) and broadcast
against each other (a bias row added to a batch).  Like NumPy's iterator, it reads every operand
in place through its own strides, in the dimension order NumPy would choose, and lays the result
out as NumPy does (``_plan``); no operand is copied.  Other dtypes and mixed dtypes go to the pure
kernel (``tests/test_native_coverage.py`` checks that the float cases all run compiled).
Arithmetic on all-one-element operands never enters a NumPy ufunc.  Loops run without the GIL,
split over OpenMP threads from ``PARALLEL_MIN_SIZE`` elements on; single-ufunc kernels run
NumPy's own (run-time SIMD) loop from ``UFUNC_MIN_SIZE`` elements on, where it is faster.
"""
cimport cython
cimport numpy as cnp
from cpython.object cimport PyObject, PyTypeObject
from libc.string cimport memcpy, memset
from cpython.contextvars cimport PyContextVar_Reset, PyContextVar_Set, get_value
from cython.parallel cimport prange
from pygrad._native.pairwise cimport pygrad_pairwise_dd, pygrad_pairwise_ff

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

from pygrad._native import kernel_table as _kernel_table
from pygrad._pure import kernels as _pure

cnp.import_array()

# -- NumPy's floating-point warnings off around a call ----------------------------------------
# PyTorch gives no floating-point warnings, so neither do the NumPy calls of the compiled loops'
# kernels nor a table op (dispatch.pyx).  NumPy keeps its error state in a context variable: a
# quiet call sets it to the current state with every error ignored (kept for the last state seen)
# and resets it after, which costs far less than entering an ``np.errstate``.
try:
    from numpy._core._ufunc_config import _extobj_contextvar as _np_error_state
except ImportError:  # a NumPy without it: errstate
    _np_error_state = None
# The last two states seen and their quiet forms: a training step alternates between the
# program's state (forward) and the one backward runs in.
cdef object _state_seen = None, _state_quiet = None, _state_seen_before = None, _state_quiet_before = None


cdef object _quiet_state(state):
    """The error state ``state`` with every floating-point error ignored: ``state`` itself when it
    ignores them already (backward's pass, a quiet op calling a kernel)."""
    global _state_seen, _state_quiet, _state_seen_before, _state_quiet_before
    if state is _state_seen:
        return _state_quiet
    if state is _state_seen_before:
        quiet = _state_quiet_before
    elif all(action == "ignore" for action in np.geterr().values()):
        quiet = state
    else:
        with np.errstate(all="ignore"):
            quiet = get_value(_np_error_state)
    _state_seen_before, _state_quiet_before = _state_seen, _state_quiet
    _state_seen, _state_quiet = state, quiet
    return quiet


cdef object quiet_enter():
    """Turn NumPy's floating-point warnings off; returns what ``quiet_exit`` takes (None when
    they are off already)."""
    if _np_error_state is None:
        manager = np.errstate(all="ignore")
        manager.__enter__()
        return manager
    state = get_value(_np_error_state)
    quiet = _quiet_state(state)
    if quiet is state:
        return None
    return PyContextVar_Set(_np_error_state, quiet)


cdef int quiet_exit(object token) except -1:
    if token is None:
        return 0
    if _np_error_state is None:
        token.__exit__(None, None, None)
    else:
        PyContextVar_Reset(_np_error_state, token)
    return 0


cdef object _quietly(fn, tuple args):
    """``fn(*args)`` with NumPy's floating-point warnings off."""
    token = quiet_enter()
    try:
        return fn(*args)
    finally:
        quiet_exit(token)


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
# are therefore allocated through a NumPy memory handler that keeps up to 32 freed buffers
# (1 GiB at most) and hands one back when a result of exactly that size is wanted, as in the
# repeated forward/backward passes of a training loop.  Only the compiled kernels' results use
# it; the GIL serializes its calls.
cdef extern from *:
    """
    #include <stdlib.h>
    #define PYGRAD_CACHE_SLOTS 32
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


cdef extern from "numpy/arrayobject.h":
    ctypedef struct _Descr "PyArray_Descr"
    _Descr* _descr_from_type "PyArray_DescrFromType"(int typenum)
    # Steals the reference to descr.
    object _new_array "PyArray_NewFromDescr"(PyTypeObject* subtype, _Descr* descr, int nd,
                                              cnp.npy_intp* dims, cnp.npy_intp* strides, void* data,
                                              int flags, PyObject* obj)
    PyTypeObject PyArray_Type


cdef object _empty(int nd, cnp.npy_intp* dims, cnp.npy_intp* strides, int typenum, Py_ssize_t itemsize):
    """A new array with byte ``strides`` (C-ordered when NULL); large ones come from the buffer cache."""
    cdef Py_ssize_t nbytes = itemsize
    cdef int k
    for k in range(nd):
        nbytes *= dims[k]
    if <size_t>nbytes < PYGRAD_CACHE_MIN:
        return _new_array(&PyArray_Type, _descr_from_type(typenum), nd, dims, strides, NULL, 0, NULL)
    previous = PyDataMem_SetHandler(_cache_handler)
    try:
        return _new_array(&PyArray_Type, _descr_from_type(typenum), nd, dims, strides, NULL, 0, NULL)
    finally:
        PyDataMem_SetHandler(previous)


def _empty_buffer(shape, dtype):
    """An uninitialized C-ordered array (a fused pass fills it); large ones come from the buffer
    cache, as the kernels' results do."""
    cdef cnp.npy_intp dims[32]
    cdef int k, nd = len(shape)
    if nd > 32:
        return np.empty(shape, dtype)
    for k in range(nd):
        dims[k] = shape[k]
        if dims[k] < 0:
            raise ValueError("negative dimensions are not allowed")
    dtype = np.dtype(dtype)
    return _empty(nd, dims, NULL, dtype.num, dtype.itemsize)


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


cdef enum:
    # Internal operation codes, after the generated ones.
    POW_B_SHORTCUT = 1000  # pow_backward with one exponent p whose p - 1 is a shortcut exponent
    ZEROS = 1001  # +0 everywhere


cdef void _run(int op, floating* o, floating** ins, Py_ssize_t* steps,
               Py_ssize_t n) noexcept nogil:
    """``o[i] = op(ins[0][i*steps[0]], ...)`` for ``i < n``: the result is contiguous, each operand
    has its own step in elements (1 contiguous, 0 uniform, other values strided).  Loops indexed
    ``a[i * sa]`` are versioned by the compiler for a step of 1 (``-fversion-loops-for-strides``,
    on at -O3), so they vectorize on contiguous operands; a uniform operand of an arithmetic op
    is read once, so that loop vectorizes too."""
    cdef floating* a = ins[0]
    cdef floating* b = ins[1]
    cdef floating* c = ins[2]
    cdef floating* d = ins[3]
    cdef Py_ssize_t sa = steps[0], sb = steps[1], sc = steps[2], sd = steps[3], i
    cdef floating one = 1, two = 2, zero = 0, x, y
    if op == ADD:
        if sb == 0:
            y = b[0]
            for i in range(n):
                o[i] = a[i * sa] + y
        elif sa == 0:
            x = a[0]
            for i in range(n):
                o[i] = x + b[i * sb]
        else:
            for i in range(n):
                o[i] = a[i * sa] + b[i * sb]
    elif op == SUB:
        if sb == 0:
            y = b[0]
            for i in range(n):
                o[i] = a[i * sa] - y
        elif sa == 0:
            x = a[0]
            for i in range(n):
                o[i] = x - b[i * sb]
        else:
            for i in range(n):
                o[i] = a[i * sa] - b[i * sb]
    elif op == MUL:
        if sb == 0:
            y = b[0]
            for i in range(n):
                o[i] = a[i * sa] * y
        elif sa == 0:
            x = a[0]
            for i in range(n):
                o[i] = x * b[i * sb]
        else:
            for i in range(n):
                o[i] = a[i * sa] * b[i * sb]
    elif op == DIV:
        if sb == 0:
            y = b[0]
            for i in range(n):
                o[i] = a[i * sa] / y
        elif sa == 0:
            x = a[0]
            for i in range(n):
                o[i] = x / b[i * sb]
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
        if sa == 1:
            memcpy(o, a, n * sizeof(floating))
        else:
            for i in range(n):
                o[i] = a[i * sa]
    elif op == ZEROS:
        memset(o, 0, n * sizeof(floating))
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
    elif op == POW_B_SHORTCUT:  # one exponent p (c[0]), p - 1 a shortcut: no pow(), no test per element
        y = c[0]
        if y == 0:
            for i in range(n):
                o[i] = zero
        else:
            _pow_by_uniform(o, b, sb, y - one, n)
            for i in range(n):
                o[i] = a[i * sa] * (y * o[i])
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


# -- the iteration: operands of any layout, broadcast to the result's shape ---------------------
# Like NumPy's iterator: each operand keeps its own strides (0 along the dimensions it is
# broadcast over), the dimensions are ordered as NumPy orders them for a new result (so a
# transposed operand is read in its memory order, and the result is laid out as NumPy's),
# dimensions that every operand steps through evenly are merged, and the compiled loop runs
# along the innermost one.  No operand is copied.

cdef enum:
    MAX_DIMS = 64  # NumPy 2's limit (32 on NumPy 1)
    MAX_OPERANDS = 4


cdef struct Plan:
    int nd                                    # iterated dimensions, outermost first (at least 1)
    Py_ssize_t size                           # elements of the result
    Py_ssize_t shape[MAX_DIMS]
    Py_ssize_t steps[MAX_OPERANDS][MAX_DIMS]  # each operand's step in elements along each one


cdef inline Py_ssize_t _abs(Py_ssize_t x) noexcept nogil:
    return -x if x < 0 else x


cdef int _plan(tuple args, int nin, Py_ssize_t itemsize, bint c_order, Plan* p,
               cnp.npy_intp* dims, cnp.npy_intp* strides) noexcept:
    """Fill ``p`` for iterating ``args`` and the result's ``dims`` and byte ``strides``; the result's
    number of dimensions, or -1 when the operands do not broadcast together, or are not aligned
    to their element size (NumPy's loop then runs, or raises NumPy's error).  The result's layout
    is NumPy's (``c_order`` forces C order)."""
    cdef int nd = 0, n, k, i, j, d, pos, moving
    cdef Py_ssize_t bytes_[MAX_OPERANDS][MAX_DIMS]
    cdef int order[MAX_DIMS]  # dimensions from the innermost to the outermost
    cdef cnp.npy_intp* adims
    cdef cnp.npy_intp* astrides
    cdef cnp.ndarray arr
    cdef bint ambiguous, swap
    cdef Py_ssize_t s0, s1, step
    for k in range(nin):
        n = cnp.PyArray_NDIM(<cnp.ndarray>args[k])
        if n > nd:
            nd = n
    if nd > MAX_DIMS:
        return -1
    for d in range(nd):
        dims[d] = 1
        for k in range(MAX_OPERANDS):
            bytes_[k][d] = 0
    for k in range(nin):
        arr = <cnp.ndarray>args[k]
        if not cnp.PyArray_ISALIGNED(arr):
            return -1
        n = cnp.PyArray_NDIM(arr)
        adims = cnp.PyArray_DIMS(arr)
        astrides = cnp.PyArray_STRIDES(arr)
        for i in range(n):
            d = nd - n + i
            if adims[i] == 1:
                continue
            if dims[d] == 1:
                dims[d] = adims[i]
            elif dims[d] != adims[i]:
                return -1
            if astrides[i] % itemsize:
                return -1
            bytes_[k][d] = astrides[i]
    # The result's dimension order: NumPy's (npyiter_find_best_axis_ordering), an insertion sort
    # from the innermost dimension out; a dimension moves inwards past one that the first operand
    # stepping through both steps more slowly along, unless another operand disagrees.
    for i in range(nd):
        order[i] = nd - 1 - i
    if not c_order:
        for i in range(1, nd):
            moving = order[i]
            pos = i
            for j in range(i - 1, -1, -1):
                ambiguous, swap = True, False
                for k in range(nin):
                    s0, s1 = _abs(bytes_[k][moving]), _abs(bytes_[k][order[j]])
                    if s0 != 0 and s1 != 0:
                        if s1 <= s0:
                            swap = False
                        elif ambiguous:
                            swap = True
                        ambiguous = False
                if not ambiguous:
                    if swap:
                        pos = j
                    else:
                        break
            if pos != i:
                for j in range(i, pos, -1):
                    order[j] = order[j - 1]
                order[pos] = moving
    # The result is contiguous in that order; the iteration merges what every operand allows.
    step = itemsize
    p.size = 1
    p.nd = 0
    for i in range(nd):
        d = order[i]
        strides[d] = step
        step *= dims[d]
        p.size *= dims[d]
        if dims[d] == 1:
            continue
        if p.nd:
            for k in range(MAX_OPERANDS):
                if bytes_[k][d] != p.steps[k][p.nd - 1] * p.shape[p.nd - 1]:
                    break
            else:
                p.shape[p.nd - 1] *= dims[d]
                continue
        for k in range(MAX_OPERANDS):
            p.steps[k][p.nd] = bytes_[k][d]
        p.shape[p.nd] = dims[d]
        p.nd += 1
    if p.nd == 0:
        p.nd = 1
        p.shape[0] = 1
        for k in range(MAX_OPERANDS):
            p.steps[k][0] = 0
    # Built from the innermost out, in bytes: reverse it, in elements.
    for i in range(p.nd // 2):
        j = p.nd - 1 - i
        p.shape[i], p.shape[j] = p.shape[j], p.shape[i]
        for k in range(MAX_OPERANDS):
            p.steps[k][i], p.steps[k][j] = p.steps[k][j], p.steps[k][i]
    for i in range(p.nd):
        for k in range(MAX_OPERANDS):
            p.steps[k][i] //= itemsize
    return nd


cdef inline bint _uniform(Plan* p, int k) noexcept nogil:
    """Whether operand ``k`` has one value for the whole result."""
    cdef int d
    for d in range(p.nd):
        if p.steps[k][d] != 0:
            return False
    return True


cdef enum:
    BLOCK = 256  # elements of a spread block


cdef inline int _spread_operands(int op) noexcept nogil:
    """The operands (a bit each) that ``_run_range`` spreads into a contiguous block when they are
    uniform along a row: those that ``_run`` does not read once itself."""
    if op == ADD or op == SUB or op == MUL or op == DIV or op == POW or op == COPY or op == ZEROS:
        return 0
    if op == POW_B or op == POW_B_SHORTCUT:
        return 0b0011  # the exponent too is read once
    return 0b1111


cdef void _run_range(int op, floating* o, floating** ins, Plan* p, Py_ssize_t lo,
                     Py_ssize_t hi) noexcept nogil:
    """``_run`` on the result's elements ``lo`` to ``hi`` (in iteration order), row by row.  An
    operand with one value along a row (a 0-d or stride-0 one) is spread into a block of copies
    of it where ``_run`` would read it at every step: the loop then vectorizes."""
    cdef int nd = p.nd, k, d, spread = 0, mask = _spread_operands(op)
    cdef Py_ssize_t n = p.shape[nd - 1], row = lo // n, col = lo % n, pos = lo, m, j, b
    cdef Py_ssize_t index[MAX_DIMS]
    cdef Py_ssize_t inner[MAX_OPERANDS]
    cdef Py_ssize_t run_steps[MAX_OPERANDS]
    cdef floating* start[MAX_OPERANDS]
    cdef floating* part[MAX_OPERANDS]
    cdef floating* spread_from[MAX_OPERANDS]
    cdef floating blocks[MAX_OPERANDS][BLOCK]
    for k in range(MAX_OPERANDS):
        start[k] = ins[k]
        inner[k] = p.steps[k][nd - 1]
        run_steps[k] = inner[k]
        spread_from[k] = NULL
        if inner[k] == 0 and mask & (1 << k) and n > 1:
            spread |= 1 << k
            run_steps[k] = 1
    for d in range(nd - 2, -1, -1):
        index[d] = row % p.shape[d]
        row //= p.shape[d]
        for k in range(MAX_OPERANDS):
            start[k] += index[d] * p.steps[k][d]
    while pos < hi:
        m = n - col if n - col < hi - pos else hi - pos
        for k in range(MAX_OPERANDS):
            part[k] = start[k] + col * inner[k]
        if spread:
            for k in range(MAX_OPERANDS):
                if spread & (1 << k) and spread_from[k] != part[k]:
                    for j in range(BLOCK):
                        blocks[k][j] = part[k][0]
                    spread_from[k] = part[k]
            j = 0
            while j < m:
                b = m - j if m - j < BLOCK else BLOCK
                for k in range(MAX_OPERANDS):
                    if spread & (1 << k):
                        part[k] = &blocks[k][0]
                    else:
                        part[k] = start[k] + (col + j) * inner[k]
                _run(op, o + pos + j, part, run_steps, b)
                j += b
        else:
            _run(op, o + pos, part, inner, m)
        pos += m
        col = 0
        d = nd - 2
        while d >= 0:  # the next row
            index[d] += 1
            for k in range(MAX_OPERANDS):
                start[k] += p.steps[k][d]
            if index[d] < p.shape[d]:
                break
            for k in range(MAX_OPERANDS):
                start[k] -= p.steps[k][d] * p.shape[d]
            index[d] = 0
            d -= 1


cdef void _run_parallel(int op, floating* o, floating** ins, Plan* p) noexcept nogil:
    """``_run_range`` over the whole result, in one part per thread when it is large."""
    cdef int chunks = pygrad_max_threads(), c
    cdef Py_ssize_t n = p.size
    if n < _parallel_min or chunks < 2:
        _run_range(op, o, ins, p, 0, n)
        return
    for c in prange(chunks, schedule="static", chunksize=1, num_threads=chunks):
        _run_range(op, o, ins, p, n * c // chunks, n * (c + 1) // chunks)


# NumPy's own loops for the single-ufunc ops are SIMD code chosen for the CPU at run time,
# faster than this module's portable build once an array is large enough to pay for the ufunc
# call (any layout); where the loop would run on several threads, the threads win instead.
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
    return None


cdef inline bint _arithmetic(int op) noexcept nogil:
    """The ops ``_run`` computes alone, element by element, with no staging or reduction."""
    return op == ADD or op == SUB or op == MUL or op == DIV or op == NEG or op == RELU


cdef object _apply_0d(int op, tuple args, int nin):
    """``op`` on 0-d operands of one float dtype, as ``_apply`` computes it (``_run`` on one
    element) without planning a loop; None for anything else."""
    cdef void* data[MAX_OPERANDS]
    cdef Py_ssize_t steps[MAX_OPERANDS]
    cdef int k, typenum = -1
    cdef cnp.ndarray arr
    for k in range(nin):
        a = args[k]
        if type(a) is not cnp.ndarray:
            return None
        arr = <cnp.ndarray>a
        if cnp.PyArray_NDIM(arr) != 0 or not cnp.PyArray_ISBEHAVED_RO(arr):
            return None
        if k == 0:
            typenum = cnp.PyArray_TYPE(arr)
            if typenum != cnp.NPY_FLOAT and typenum != cnp.NPY_DOUBLE:
                return None
        elif cnp.PyArray_TYPE(arr) != typenum:
            return None
        data[k] = cnp.PyArray_DATA(arr)
    for k in range(MAX_OPERANDS):
        steps[k] = 0
        if k >= nin:
            data[k] = data[0]
    out = _new_array(&PyArray_Type, _descr_from_type(typenum), 0, NULL, NULL, NULL, 0, NULL)
    if typenum == cnp.NPY_FLOAT:
        _run(op, <float*>cnp.PyArray_DATA(<cnp.ndarray>out), <float**>data, steps, 1)
    else:
        _run(op, <double*>cnp.PyArray_DATA(<cnp.ndarray>out), <double**>data, steps, 1)
    return out


cdef object _apply(int op, tuple args, object fallback):
    """Run ``op`` compiled on float32/float64 operands of one dtype (any layout and broadcasting:
    see ``_plan``), else ``fallback(*args)``; NumPy's calls run quietly, as the loops (no warning)."""
    cdef int nin = len(args), k, typenum = -1, nd
    if _arithmetic(op) and nin <= 2:
        scalar_result = _apply_0d(op, args, nin)
        if scalar_result is not None:
            return scalar_result
    cdef cnp.ndarray arr
    cdef Plan plan
    cdef cnp.npy_intp dims[MAX_DIMS]
    cdef cnp.npy_intp strides[MAX_DIMS]
    cdef void* data[MAX_OPERANDS]
    data[0] = NULL
    for k in range(nin):
        a = args[k]
        if type(a) is not cnp.ndarray:
            return _quietly(fallback, args)
        arr = <cnp.ndarray>a
        if k == 0:
            typenum = cnp.PyArray_TYPE(arr)
            if typenum != cnp.NPY_FLOAT and typenum != cnp.NPY_DOUBLE:
                return _quietly(fallback, args)
        elif cnp.PyArray_TYPE(arr) != typenum:
            return _quietly(fallback, args)
        data[k] = cnp.PyArray_DATA(arr)
    for k in range(nin, MAX_OPERANDS):
        data[k] = data[0]
    cdef Py_ssize_t itemsize = 4 if typenum == cnp.NPY_FLOAT else 8
    nd = _plan(args, nin, itemsize, op == COPY, &plan, dims, strides)
    if nd < 0:
        return _quietly(fallback, args)
    if nin == 2 and 2 * cnp.PyArray_SIZE(<cnp.ndarray>args[1]) <= plan.size and _derived_op(op) >= 0:
        # y broadcast (a row against a batch, a 0-d value): t computed once per element of y, as
        # the pure kernel computes it, then one pass of g * t.
        return _apply(_derived_op(op), (args[0], _derived(op, <cnp.ndarray>args[1], typenum)), fallback)
    if op == POW and plan.size and not (_uniform(&plan, 1) and _shortcut_exponent(_value(data[1], typenum))):
        return _quietly(np.power, args)  # NumPy's loop, as the pure kernel runs it, and nothing more
    out = _empty(nd, dims, strides, typenum, itemsize)
    if plan.size == 0:
        return out
    cdef double scalar[1]  # room for one float or double
    cdef int reduced = op
    if nin == 2 and _uniform(&plan, 1):
        reduced = _by_scalar(op, data[1], scalar, typenum)
        if reduced != op:
            data[1] = scalar
    if _numpy_loop_faster(plan.size):
        token = quiet_enter()
        try:
            if _numpy_loop(op, reduced, args, out, &plan, data, scalar, typenum):
                return out
        finally:
            quiet_exit(token)
    op = reduced
    if op == COPY and not (plan.nd == 1 and plan.steps[0][0] == 1):
        cnp.PyArray_CopyInto(<cnp.ndarray>out, <cnp.ndarray>args[0])  # NumPy's strided copy is faster
        return out
    op = _ufunc_stage(op, args, out, &plan, data, typenum)
    if op < 0:
        return out
    cdef void* o = cnp.PyArray_DATA(<cnp.ndarray>out)
    if typenum == cnp.NPY_FLOAT:
        with nogil:
            _run_parallel(op, <float*>o, <float**>data, &plan)
    else:
        with nogil:
            _run_parallel(op, <double*>o, <double**>data, &plan)
    return out


cdef bint _numpy_loop(int op, int reduced, tuple args, object out, Plan* p, void** data, double* scalar,
                      int typenum) except -1:
    """Compute ``op`` into ``out`` by NumPy's loops where they are faster than this module's
    (``reduced``: ``op`` by a scalar, see ``_by_scalar``); False when it has none."""
    cdef int nin = len(args)
    ufunc = _single_ufunc(reduced)
    if ufunc is not None:
        if reduced != op:
            args = (args[0], _scalar_array(scalar, typenum))
        ufunc(*args, out)
        return True
    if op == SQRT_B:  # division-bound: NumPy's SIMD loops, the two the pure kernel runs
        np.true_divide(args[0], np.multiply(args[1], 2), out)
        return True
    if op == RELU and typenum == cnp.NPY_DOUBLE:
        # NumPy's float64 maximum with 0, as the pure kernel runs it, keeps up with this loop
        # (its float32 one is 2.6x slower than this loop: that stays compiled).
        np.maximum(args[0], np.float64(0), out=out)
        return True
    if op == SIGMOID_B and nin == 2 and _uniform(p, 1):
        # One y: (g * (1 - y)) * y is two multiplications by a scalar, NumPy's SIMD loops as
        # the pure kernel runs them (the compiled loop reads y from a spread block).
        y = _scalar_array(<double*>data[1], typenum)
        np.multiply(args[0], 1 - y, out)
        np.multiply(out, y, out)
        return True
    return False


cdef int _by_scalar(int op, void* x, double* scalar, int typenum) noexcept nogil:
    """A backward op on ``(g, y)`` whose ``y`` has one value is ``g * t`` or ``g / t`` for one ``t``
    computed here (as the pure kernel computes it on a 0-d ``y``): ``MUL`` or ``DIV``, with ``t``
    in ``scalar``; ``relu_backward`` is ``COPY`` of g or ``ZEROS``; else ``op`` itself."""
    if typenum == cnp.NPY_FLOAT:
        return _by_scalar_of(op, (<float*>x)[0], <float*>scalar)
    return _by_scalar_of(op, (<double*>x)[0], scalar)


cdef inline int _by_scalar_of(int op, floating y, floating* t) noexcept nogil:
    cdef floating one = 1, two = 2
    if op == TANH_B:
        t[0] = one - y * y
    elif op == RECIP_B:
        t[0] = -(y * y)
    elif op == ABS_B:
        t[0] = <floating>((y > 0) - (y < 0))
    elif op == SQRT_B:
        t[0] = two * y
        return DIV
    elif op == RELU_B:  # g itself, or +0 everywhere
        return ZEROS if y <= 0 else COPY
    else:
        return op
    return MUL


cdef inline int _derived_op(int op) noexcept nogil:
    """For a backward op on ``(g, y)`` that is ``g * t`` or ``g / t`` with ``t`` computed from ``y``
    alone (``_derived``): ``MUL`` or ``DIV``; else -1."""
    if op == TANH_B or op == RECIP_B or op == ABS_B or op == SIN_B or op == COS_B:
        return MUL
    if op == SQRT_B:
        return DIV
    return -1


cdef object _derived(int op, cnp.ndarray y, int typenum):
    """The ``t`` of ``_derived_op`` for each element of ``y``, computed as the pure kernel does."""
    t = _empty(cnp.PyArray_NDIM(y), cnp.PyArray_DIMS(y), NULL, typenum, cnp.PyArray_ITEMSIZE(y))
    cdef Py_ssize_t i, n = cnp.PyArray_SIZE(y)
    cdef void* dst = cnp.PyArray_DATA(<cnp.ndarray>t)
    if op == SIN_B:
        return _quietly(np.cos, (y, t))
    if op == COS_B:  # -sin(y), the negation here rather than by one more ufunc call
        _quietly(np.sin, (y, t))
        with nogil:
            if typenum == cnp.NPY_FLOAT:
                for i in range(n):
                    (<float*>dst)[i] = -(<float*>dst)[i]
            else:
                for i in range(n):
                    (<double*>dst)[i] = -(<double*>dst)[i]
        return t
    y = np.ascontiguousarray(y)
    cdef void* src = cnp.PyArray_DATA(y)
    with nogil:
        if typenum == cnp.NPY_FLOAT:
            for i in range(n):
                _by_scalar_of(op, (<float*>src)[i], (<float*>dst) + i)
        else:
            for i in range(n):
                _by_scalar_of(op, (<double*>src)[i], (<double*>dst) + i)
    return t


cdef object _scalar_array(double* scalar, int typenum):
    """A 0-d array of the value ``_by_scalar`` left in ``scalar``."""
    cdef cnp.npy_intp no_dims[1]
    out = _empty(0, no_dims, NULL, typenum, 4 if typenum == cnp.NPY_FLOAT else 8)
    if typenum == cnp.NPY_FLOAT:
        (<float*>cnp.PyArray_DATA(<cnp.ndarray>out))[0] = (<float*>scalar)[0]
    else:
        (<double*>cnp.PyArray_DATA(<cnp.ndarray>out))[0] = scalar[0]
    return out


cdef inline double _value(void* x, int typenum) noexcept nogil:
    return (<float*>x)[0] if typenum == cnp.NPY_FLOAT else (<double*>x)[0]


cdef int _ufunc_stage(int op, tuple args, object out, Plan* p, void** data, int typenum) except -2:
    """Write the transcendental part of ``op`` into ``out`` with NumPy's ufunc; the operation
    code of the compiled tail still to run (see ``_run``), or -1 when that finished the op."""
    if op == SIGMOID:
        np.negative(args[0], out)
        _quietly(np.exp, (out, out))  # exp(-x) overflows (to inf, rightly) for large negative x
    elif op == POW_B:  # (g, x, p)
        if _uniform(p, 2) and _shortcut_exponent(_value(data[2], typenum) - 1):
            return POW_B_SHORTCUT  # x**(p-1) without pow(), where NumPy's loop needs none either
        _quietly(np.power, (args[1], np.subtract(args[2], 1), out))
    elif op == POW_B_EXP:  # (g, result, base, exponent)
        _quietly(np.log, (args[2], out))
    elif op == SIN_B:  # (g, x)
        _quietly(np.cos, (args[1], out))
    elif op == COS_B:
        _quietly(np.sin, (args[1], out))
    return op



# -- operand checks of accumulate ---------------------------------------------------------

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
            out = _empty(cnp.PyArray_NDIM(arr), cnp.PyArray_DIMS(arr), NULL, typenum,
                         cnp.PyArray_ITEMSIZE(arr))
            ufunc(arr, out)
            return out
        if typenum == cnp.NPY_FLOAT or typenum == cnp.NPY_DOUBLE:
            return ufunc(arr)
    return fallback(a)


# The Python-level kernels: ``_apply`` of a loop's operation code, or ``_one_ufunc``, generated
# from kernel_table.py by setup.py.
include "_kernels.pxi"
# Those that are a compiled loop (``_apply``) never give NumPy's floating-point warnings: an op
# computed by one of them needs no quiet error state of its own (ops/_opdef.py).
SILENT_KERNELS = frozenset(_kernel_table.LOOPS)


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


# -- log_softmax along rows, the negative log likelihood of class indices --------------------
# Sums are added as NumPy's add.reduce adds a contiguous run (``_numpy_sum``), exp and log are
# NumPy's ufuncs called on whole buffers, so the results are the pure kernels' bit for bit.

cdef inline floating _numpy_sum(floating* a, Py_ssize_t n) noexcept nogil:
    """``np.add.reduce`` of the contiguous ``a[:n]``: its pairwise sum, from +0.0."""
    if floating is float:
        return <float>0.0 + pygrad_pairwise_ff(a, n)
    else:
        return 0.0 + pygrad_pairwise_dd(a, n)


cdef floating _row_max(floating* a, Py_ssize_t n) noexcept nogil:
    """``np.maximum.reduce`` of ``a[:n]`` (``n >= 1``): the largest value, or the first NaN."""
    cdef floating top = a[0], x
    cdef Py_ssize_t i
    for i in range(1, n):
        x = a[i]
        if x > top:
            top = x
        elif x != x:
            return x if top == top else top
    return top


# From this many elements on, the row maxima are NumPy's SIMD reduction (the same values).
cdef Py_ssize_t ROW_MAX_NUMPY = 4096


cdef void _shift_rows(floating* x, floating* out, floating* tops, Py_ssize_t rows,
                      Py_ssize_t cols) noexcept nogil:
    """``out = x - max(x)`` along each row (``tops``: the maxima, or NULL to find them here)."""
    cdef Py_ssize_t r, j
    cdef floating top
    for r in range(rows):
        top = _row_max(x, cols) if tops == NULL else tops[r]
        for j in range(cols):
            out[j] = x[j] - top
        x += cols
        out += cols


cdef void _row_sums(floating* a, floating* sums, Py_ssize_t rows, Py_ssize_t cols) noexcept nogil:
    cdef Py_ssize_t r
    for r in range(rows):
        sums[r] = _numpy_sum(a + r * cols, cols)


# NumPy before 2.3 adds a contiguous run longer than its buffer (8192 elements unless
# ``np.setbufsize`` changed it) in pieces of that size; runs up to it every version adds alike.
cdef Py_ssize_t NUMPY_RUN_MAX = 8192


cdef int _sum_rows(cnp.ndarray a, cnp.ndarray sums, Py_ssize_t rows, Py_ssize_t cols) except -1:
    """``sums[r]`` = ``np.add.reduce`` of row ``r`` of the C-ordered float ``a`` (``rows`` x ``cols``),
    compiled where that gives NumPy's bits on every version, else NumPy's own."""
    if cols > NUMPY_RUN_MAX:
        np.add.reduce(a.reshape(rows, cols), 1, None, sums)
        return 0
    cdef void* data = cnp.PyArray_DATA(a)
    cdef void* out = cnp.PyArray_DATA(sums)
    with nogil:
        if cnp.PyArray_TYPE(a) == cnp.NPY_FLOAT:
            _row_sums(<float*>data, <float*>out, rows, cols)
        else:
            _row_sums(<double*>data, <double*>out, rows, cols)
    return 0


cdef void _sub_rows(floating* out, floating* sums, Py_ssize_t rows, Py_ssize_t cols) noexcept nogil:
    """``out -= sums`` with one value per row."""
    cdef Py_ssize_t r, j
    cdef floating s
    for r in range(rows):
        s = sums[r]
        for j in range(cols):
            out[j] = out[j] - s
        out += cols


cdef void _softmax_grad_rows(floating* g, floating* out, floating* sums, Py_ssize_t rows,
                             Py_ssize_t cols) noexcept nogil:
    """``out = g - out * sums`` with one sum per row (``out`` holding ``exp(result)``)."""
    cdef Py_ssize_t r, j
    cdef floating s, t
    for r in range(rows):
        s = sums[r]
        for j in range(cols):
            t = out[j] * s
            out[j] = g[j] - t
        g += cols
        out += cols


cdef Py_ssize_t _rows_along(object a, object axis) except -2:
    """The number of rows of ``a`` along ``axis`` when the compiled row kernels take it (a
    float32/float64 C-ordered array of at least one element, ``axis`` its last), else -1."""
    cdef cnp.ndarray x
    cdef int typenum, nd
    if type(a) is not cnp.ndarray or type(axis) is not int:
        return -1
    x = <cnp.ndarray>a
    typenum, nd = cnp.PyArray_TYPE(x), cnp.PyArray_NDIM(x)
    if (typenum != cnp.NPY_FLOAT and typenum != cnp.NPY_DOUBLE or nd == 0 or not cnp.PyArray_IS_C_CONTIGUOUS(x)
            or not cnp.PyArray_ISBEHAVED_RO(x)):
        return -1
    if (axis != nd - 1 and axis != -1) or cnp.PyArray_SIZE(x) == 0:
        return -1
    return cnp.PyArray_SIZE(x) // cnp.PyArray_DIMS(x)[nd - 1]


def log_softmax(a, axis):
    """``log_softmax`` of ``a`` along ``axis`` (see the pure kernel): compiled for float arrays
    in C order along their last axis."""
    cdef cnp.npy_intp rows = _rows_along(a, axis)
    if rows < 0:
        return _pure.log_softmax(a, axis)
    cdef cnp.ndarray x = <cnp.ndarray>a
    cdef int nd = cnp.PyArray_NDIM(x), typenum = cnp.PyArray_TYPE(x)
    cdef Py_ssize_t cols = cnp.PyArray_DIMS(x)[nd - 1], itemsize = cnp.PyArray_ITEMSIZE(x)
    out = _empty(nd, cnp.PyArray_DIMS(x), NULL, typenum, itemsize)
    e = _empty(nd, cnp.PyArray_DIMS(x), NULL, typenum, itemsize)
    sums = _empty(1, &rows, NULL, typenum, itemsize)
    cdef void* o = cnp.PyArray_DATA(<cnp.ndarray>out)
    cdef void* s = cnp.PyArray_DATA(<cnp.ndarray>sums)
    cdef void* tops = NULL
    if cnp.PyArray_SIZE(x) >= ROW_MAX_NUMPY:
        np.maximum.reduce(x.reshape(rows, cols), 1, None, sums)
        tops = s
    with nogil:
        if typenum == cnp.NPY_FLOAT:
            _shift_rows(<float*>cnp.PyArray_DATA(x), <float*>o, <float*>tops, rows, cols)
        else:
            _shift_rows(<double*>cnp.PyArray_DATA(x), <double*>o, <double*>tops, rows, cols)
    np.exp(out, e)
    _sum_rows(<cnp.ndarray>e, <cnp.ndarray>sums, rows, cols)
    np.log(sums, sums)
    with nogil:
        if typenum == cnp.NPY_FLOAT:
            _sub_rows(<float*>o, <float*>s, rows, cols)
        else:
            _sub_rows(<double*>o, <double*>s, rows, cols)
    return out


def log_softmax_backward(g, result, axis):
    """The gradient of ``log_softmax`` (see the pure kernel): compiled when ``g`` and ``result``
    are float arrays of one dtype and shape, in C order along their last axis."""
    cdef cnp.npy_intp rows = _rows_along(g, axis)
    if (rows < 0 or type(result) is not cnp.ndarray
            or cnp.PyArray_TYPE(<cnp.ndarray>result) != cnp.PyArray_TYPE(<cnp.ndarray>g)
            or not cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>result) or not cnp.PyArray_ISBEHAVED_RO(<cnp.ndarray>result)
            or not _same_shape(<cnp.ndarray>g, <cnp.ndarray>result)):
        return _pure.log_softmax_backward(g, result, axis)
    cdef cnp.ndarray gx = <cnp.ndarray>g
    cdef int nd = cnp.PyArray_NDIM(gx), typenum = cnp.PyArray_TYPE(gx)
    cdef Py_ssize_t cols = cnp.PyArray_DIMS(gx)[nd - 1], itemsize = cnp.PyArray_ITEMSIZE(gx)
    out = _empty(nd, cnp.PyArray_DIMS(gx), NULL, typenum, itemsize)
    sums = _empty(1, &rows, NULL, typenum, itemsize)
    np.exp(result, out)
    cdef void* o = cnp.PyArray_DATA(<cnp.ndarray>out)
    cdef void* s = cnp.PyArray_DATA(<cnp.ndarray>sums)
    _sum_rows(gx, <cnp.ndarray>sums, rows, cols)
    with nogil:
        if typenum == cnp.NPY_FLOAT:
            _softmax_grad_rows(<float*>cnp.PyArray_DATA(gx), <float*>o, <float*>s, rows, cols)
        else:
            _softmax_grad_rows(<double*>cnp.PyArray_DATA(gx), <double*>o, <double*>s, rows, cols)
    return out


cdef inline bint _class_rows(object x, object target) noexcept:
    """``x`` a 2-d float32/float64 array and ``target`` an int64 array of one index per row (both
    aligned, in the machine's byte order)."""
    cdef int typenum
    if type(x) is not cnp.ndarray or type(target) is not cnp.ndarray:
        return False
    if not cnp.PyArray_ISBEHAVED_RO(<cnp.ndarray>x) or not cnp.PyArray_ISBEHAVED_RO(<cnp.ndarray>target):
        return False
    typenum = cnp.PyArray_TYPE(<cnp.ndarray>x)
    return ((typenum == cnp.NPY_FLOAT or typenum == cnp.NPY_DOUBLE) and cnp.PyArray_NDIM(<cnp.ndarray>x) == 2
            and cnp.PyArray_TYPE(<cnp.ndarray>target) == cnp.NPY_INT64 and cnp.PyArray_NDIM(<cnp.ndarray>target) == 1
            and cnp.PyArray_DIMS(<cnp.ndarray>target)[0] == cnp.PyArray_DIMS(<cnp.ndarray>x)[0])


cdef int _picked_negated(floating* picked, char* x, Py_ssize_t row_step, Py_ssize_t col_step, char* t,
                         Py_ssize_t t_step, Py_ssize_t n, long long classes, long long ignore) noexcept nogil:
    """``picked[i] = -x[i, t[i]]`` (byte strides); -1 when a target is not a class or is ``ignore``."""
    cdef Py_ssize_t i
    cdef long long c
    for i in range(n):
        c = (<long long*>(t + i * t_step))[0]
        if c < 0 or c >= classes or c == ignore:
            return -1
        picked[i] = -(<floating*>(x + i * row_step + c * col_step))[0]
    return 0


cdef inline void _total_into(floating* out, floating* picked, Py_ssize_t n, bint mean) noexcept nogil:
    cdef floating total = _numpy_sum(picked, n)
    out[0] = total / <floating>n if mean else total


def nll_rows(x, target, ignore_index, mean):
    """NLL's common case (see the pure kernel), compiled for float32/float64 ``x`` of any layout."""
    if not _class_rows(x, target) or type(ignore_index) is not int:
        return _pure.nll_rows(x, target, ignore_index, mean)
    cdef cnp.ndarray a = <cnp.ndarray>x, t = <cnp.ndarray>target
    cdef cnp.npy_intp n = cnp.PyArray_DIMS(a)[0]
    cdef Py_ssize_t classes = cnp.PyArray_DIMS(a)[1]
    cdef int typenum = cnp.PyArray_TYPE(a), bad
    cdef long long ignore = ignore_index if 0 <= ignore_index < classes else -1
    cdef bint by_rows = bool(mean)
    if n == 0:
        return None
    picked = _empty(1, &n, NULL, typenum, cnp.PyArray_ITEMSIZE(a))
    cdef void* p = cnp.PyArray_DATA(<cnp.ndarray>picked)
    cdef char* xs = <char*>cnp.PyArray_DATA(a)
    cdef char* ts = <char*>cnp.PyArray_DATA(t)
    cdef cnp.npy_intp* strides = cnp.PyArray_STRIDES(a)
    cdef Py_ssize_t t_step = cnp.PyArray_STRIDES(t)[0]
    with nogil:
        if typenum == cnp.NPY_FLOAT:
            bad = _picked_negated(<float*>p, xs, strides[0], strides[1], ts, t_step, n, classes, ignore)
        else:
            bad = _picked_negated(<double*>p, xs, strides[0], strides[1], ts, t_step, n, classes, ignore)
    if bad:
        return None
    if n > NUMPY_RUN_MAX:  # NumPy's own sum (see NUMPY_RUN_MAX), as the pure kernel computes the rest
        total = np.add.reduce(picked)
        return np.asarray(total / a.dtype.type(n) if mean else total)
    out = _empty(0, NULL, NULL, typenum, cnp.PyArray_ITEMSIZE(a))
    cdef void* o = cnp.PyArray_DATA(<cnp.ndarray>out)
    with nogil:
        if typenum == cnp.NPY_FLOAT:
            _total_into(<float*>o, <float*>p, n, by_rows)
        else:
            _total_into(<double*>o, <double*>p, n, by_rows)
    return out


cdef int _scatter_rows(floating* out, floating value, char* t, Py_ssize_t t_step, Py_ssize_t n,
                       long long classes) noexcept nogil:
    """``out[i, t[i]] = value`` in a zeroed C-ordered (n, classes) array; -1 for a target out of range."""
    cdef Py_ssize_t i
    cdef long long c
    for i in range(n):
        c = (<long long*>(t + i * t_step))[0]
        if c < 0 or c >= classes:
            return -1
        out[i * classes + c] = value
    return 0


def nll_rows_backward(g, x, target, total_weight):
    """The gradient of ``nll_rows`` (see the pure kernel), compiled for a float32/float64 ``g``."""
    cdef int typenum
    if (not _class_rows(x, target) or type(g) is not cnp.ndarray or cnp.PyArray_NDIM(<cnp.ndarray>g) != 0
            or not cnp.PyArray_ISBEHAVED_RO(<cnp.ndarray>g)):
        return _pure.nll_rows_backward(g, x, target, total_weight)
    typenum = cnp.PyArray_TYPE(<cnp.ndarray>g)
    if typenum != cnp.PyArray_TYPE(<cnp.ndarray>x) or total_weight is not None and (
            type(total_weight) is not cnp.ndarray or cnp.PyArray_NDIM(<cnp.ndarray>total_weight) != 0
            or cnp.PyArray_TYPE(<cnp.ndarray>total_weight) != typenum
            or not cnp.PyArray_ISBEHAVED_RO(<cnp.ndarray>total_weight)):
        return _pure.nll_rows_backward(g, x, target, total_weight)
    cdef cnp.ndarray a = <cnp.ndarray>x, t = <cnp.ndarray>target
    cdef Py_ssize_t n = cnp.PyArray_DIMS(a)[0], classes = cnp.PyArray_DIMS(a)[1]
    cdef Py_ssize_t itemsize = cnp.PyArray_ITEMSIZE(a)
    cdef bint divide = total_weight is not None
    cdef void* w = cnp.PyArray_DATA(<cnp.ndarray>total_weight) if divide else NULL
    cdef void* gv = cnp.PyArray_DATA(<cnp.ndarray>g)
    cdef float cf
    cdef double cd
    cdef int bad
    out = _empty(2, cnp.PyArray_DIMS(a), NULL, typenum, itemsize)
    cdef void* o = cnp.PyArray_DATA(<cnp.ndarray>out)
    with nogil:
        memset(o, 0, n * classes * itemsize)
        if typenum == cnp.NPY_FLOAT:
            cf = -(<float*>gv)[0]
            if divide:
                cf = cf / (<float*>w)[0]
            bad = _scatter_rows(<float*>o, cf, <char*>cnp.PyArray_DATA(t), cnp.PyArray_STRIDES(t)[0], n, classes)
        else:
            cd = -(<double*>gv)[0]
            if divide:
                cd = cd / (<double*>w)[0]
            bad = _scatter_rows(<double*>o, cd, <char*>cnp.PyArray_DATA(t), cnp.PyArray_STRIDES(t)[0], n, classes)
    if bad:
        return _pure.nll_rows_backward(g, x, target, total_weight)
    return out


# -- optimizer updates ------------------------------------------------------------------------
# Adam's step as one loop over the elements, the same IEEE operations in the same order as the
# pure kernel's twelve ufunc passes (no contraction into fma), so the same bits; where the CPU
# has AVX2 the loop is compiled for it too (picked at run time).

cdef extern from *:
    """
    #if defined(__GNUC__)
    #define PYGRAD_RESTRICT __restrict__
    #else
    #define PYGRAD_RESTRICT
    #endif
    /* m.lerp_(g, w) (two-sided, as PyTorch), v = v * b2 + (g * (1 - b2)) * g,
       x += (m * -step) / (sqrt(v) / bc2s + eps): each operation rounded to T, as NumPy's passes. */
    #define PYGRAD_ADAM_LOOP(T, SQRT) \
        T w = (T)weight, w_other = (T)(1 - weight), b2 = (T)beta2, w2 = (T)(1 - beta2); \
        T c2 = (T)bc2s, e = (T)eps, step = (T)(-step_size); \
        if (near_start) { \
            for (Py_ssize_t i = 0; i < n; i++) { \
                T gi = g[i], s = gi - m[i]; s = s * w; T mi = m[i] + s; m[i] = mi; \
                T t = v[i] * b2; s = gi * w2; s = s * gi; T vi = t + s; v[i] = vi; \
                T d = SQRT(vi); d = d / c2; d = d + e; s = mi * step; s = s / d; x[i] = x[i] + s; } \
        } else { \
            for (Py_ssize_t i = 0; i < n; i++) { \
                T gi = g[i], s = gi - m[i]; s = s * w_other; T mi = gi - s; m[i] = mi; \
                T t = v[i] * b2; s = gi * w2; s = s * gi; T vi = t + s; v[i] = vi; \
                T d = SQRT(vi); d = d / c2; d = d + e; s = mi * step; s = s / d; x[i] = x[i] + s; } \
        }
    #define PYGRAD_ADAM_ARGS(T) T* PYGRAD_RESTRICT x, const T* PYGRAD_RESTRICT g, T* PYGRAD_RESTRICT m, \
        T* PYGRAD_RESTRICT v, Py_ssize_t n, int near_start, double weight, double beta2, double bc2s, \
        double eps, double step_size
    static void pygrad_adam_f(PYGRAD_ADAM_ARGS(float)) { PYGRAD_ADAM_LOOP(float, __builtin_sqrtf) }
    static void pygrad_adam_d(PYGRAD_ADAM_ARGS(double)) { PYGRAD_ADAM_LOOP(double, __builtin_sqrt) }
    #if defined(__GNUC__) && defined(__x86_64__)
    __attribute__((target("avx2"))) static void pygrad_adam_f_avx2(PYGRAD_ADAM_ARGS(float)) {
        PYGRAD_ADAM_LOOP(float, __builtin_sqrtf) }
    __attribute__((target("avx2"))) static void pygrad_adam_d_avx2(PYGRAD_ADAM_ARGS(double)) {
        PYGRAD_ADAM_LOOP(double, __builtin_sqrt) }
    static int pygrad_has_avx2(void) { __builtin_cpu_init(); return __builtin_cpu_supports("avx2"); }
    #else
    #define pygrad_adam_f_avx2 pygrad_adam_f
    #define pygrad_adam_d_avx2 pygrad_adam_d
    static int pygrad_has_avx2(void) { return 0; }
    #endif
    """
    void pygrad_adam_f(float* x, const float* g, float* m, float* v, Py_ssize_t n, int near_start, double weight,
                       double beta2, double bc2s, double eps, double step_size) noexcept nogil
    void pygrad_adam_d(double* x, const double* g, double* m, double* v, Py_ssize_t n, int near_start,
                       double weight, double beta2, double bc2s, double eps, double step_size) noexcept nogil
    void pygrad_adam_f_avx2(float* x, const float* g, float* m, float* v, Py_ssize_t n, int near_start,
                            double weight, double beta2, double bc2s, double eps, double step_size) noexcept nogil
    void pygrad_adam_d_avx2(double* x, const double* g, double* m, double* v, Py_ssize_t n, int near_start,
                            double weight, double beta2, double bc2s, double eps, double step_size) noexcept nogil
    int pygrad_has_avx2() noexcept nogil

cdef bint _avx2 = pygrad_has_avx2()

cdef extern from *:
    """
    #define PYGRAD_AXPY_LOOP(T) T a = (T)alpha; for (Py_ssize_t i = 0; i < n; i++) { T s = x[i] * a; y[i] = y[i] + s; }
    static void pygrad_axpy_f(float* PYGRAD_RESTRICT y, const float* PYGRAD_RESTRICT x, Py_ssize_t n, double alpha) {
        PYGRAD_AXPY_LOOP(float) }
    static void pygrad_axpy_d(double* PYGRAD_RESTRICT y, const double* PYGRAD_RESTRICT x, Py_ssize_t n, double alpha) {
        PYGRAD_AXPY_LOOP(double) }
    """
    void pygrad_axpy_f(float* y, const float* x, Py_ssize_t n, double alpha) noexcept nogil
    void pygrad_axpy_d(double* y, const double* x, Py_ssize_t n, double alpha) noexcept nogil


def add_scaled_(dst, src, double alpha):
    """``dst += alpha * src`` in place (see the pure kernel), one compiled loop for float arrays of
    one dtype, shape and C layout that do not overlap."""
    cdef cnp.ndarray y, x
    cdef int typenum
    if type(dst) is not cnp.ndarray or type(src) is not cnp.ndarray:
        return _pure.add_scaled_(dst, src, alpha)
    y, x = <cnp.ndarray>dst, <cnp.ndarray>src
    typenum = cnp.PyArray_TYPE(y)
    if ((typenum != cnp.NPY_FLOAT and typenum != cnp.NPY_DOUBLE) or cnp.PyArray_TYPE(x) != typenum
            or not (cnp.PyArray_IS_C_CONTIGUOUS(y) and cnp.PyArray_IS_C_CONTIGUOUS(x) and cnp.PyArray_ISWRITEABLE(y))
            or not _same_shape(y, x) or _overlaps(y, x)):
        return _pure.add_scaled_(dst, src, alpha)
    cdef Py_ssize_t n = cnp.PyArray_SIZE(y)
    if typenum == cnp.NPY_FLOAT:
        with nogil:
            pygrad_axpy_f(<float*>cnp.PyArray_DATA(y), <float*>cnp.PyArray_DATA(x), n, alpha)
    else:
        with nogil:
            pygrad_axpy_d(<double*>cnp.PyArray_DATA(y), <double*>cnp.PyArray_DATA(x), n, alpha)


cdef bint _adam_operands(cnp.ndarray x, tuple arrays) except -1:
    """``arrays`` (the gradient and the two moments) and the parameter ``x`` are C-contiguous
    float32 or float64 arrays of one dtype and shape, the written ones writeable, none
    overlapping another (the loop reads each element once)."""
    cdef int typenum = cnp.PyArray_TYPE(x), k, j
    if typenum != cnp.NPY_FLOAT and typenum != cnp.NPY_DOUBLE:
        return False
    if not (cnp.PyArray_IS_C_CONTIGUOUS(x) and cnp.PyArray_ISWRITEABLE(x)):
        return False
    for k in range(3):
        a = arrays[k]
        if type(a) is not cnp.ndarray or cnp.PyArray_TYPE(<cnp.ndarray>a) != typenum:
            return False
        if not (cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>a) and _same_shape(x, <cnp.ndarray>a)):
            return False
        if k and not cnp.PyArray_ISWRITEABLE(<cnp.ndarray>a):
            return False
        if _overlaps(x, <cnp.ndarray>a):
            return False
        for j in range(k):
            if _overlaps(<cnp.ndarray>arrays[j], <cnp.ndarray>a):
                return False
    return True


def adam_update(param, grad, exp_avg, exp_avg_sq, double weight, double beta2, double bias_correction2_sqrt,
                double eps, double step_size, max_exp_avg_sq=None):
    """One Adam step in place (see the pure kernel), as one compiled loop for float arrays."""
    if (max_exp_avg_sq is not None or type(param) is not cnp.ndarray
            or not _adam_operands(<cnp.ndarray>param, (grad, exp_avg, exp_avg_sq))):
        return _pure.adam_update(param, grad, exp_avg, exp_avg_sq, weight, beta2, bias_correction2_sqrt, eps,
                                 step_size, max_exp_avg_sq)
    cdef cnp.ndarray x = <cnp.ndarray>param, g = <cnp.ndarray>grad, m = <cnp.ndarray>exp_avg
    cdef cnp.ndarray v = <cnp.ndarray>exp_avg_sq
    cdef Py_ssize_t n = cnp.PyArray_SIZE(x)
    cdef int near_start = abs(weight) < 0.5
    if cnp.PyArray_TYPE(x) == cnp.NPY_FLOAT:
        with nogil:
            (pygrad_adam_f_avx2 if _avx2 else pygrad_adam_f)(
                <float*>cnp.PyArray_DATA(x), <float*>cnp.PyArray_DATA(g), <float*>cnp.PyArray_DATA(m),
                <float*>cnp.PyArray_DATA(v), n, near_start, weight, beta2, bias_correction2_sqrt, eps, step_size)
    else:
        with nogil:
            (pygrad_adam_d_avx2 if _avx2 else pygrad_adam_d)(
                <double*>cnp.PyArray_DATA(x), <double*>cnp.PyArray_DATA(g), <double*>cnp.PyArray_DATA(m),
                <double*>cnp.PyArray_DATA(v), n, near_start, weight, beta2, bias_correction2_sqrt, eps, step_size)


def _reexport_missing():
    """Kernels added to the pure module and not compiled here run as their pure versions."""
    namespace = globals()
    for name, value in vars(_pure).items():
        if (not name.startswith("_") and callable(value) and name not in namespace
                and getattr(value, "__module__", None) == _pure.__name__):
            namespace[name] = value


_reexport_missing()
