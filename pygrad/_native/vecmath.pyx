# cython: language_level=3
"""Vectorized transcendental loops (glibc's libmvec) with NumPy's ufunc inner-loop signature.

A fused evaluator calls, per instruction, a NumPy inner loop.  For most transcendental functions
NumPy's loop here is scalar libm per element; glibc's vector math library evaluates 8 floats
(4 doubles) per call with AVX2, several times faster.  This module wraps those vector functions
as loops a caller can use in place of NumPy's:

``vector_loop(ufunc, dtype)``
    A ``PyCapsule`` named ``"pygrad.vecmath.loop"`` (``CAPSULE_NAME``) whose pointer is a loop
    with exactly NumPy's ``PyUFuncGenericFunction`` signature::

        void loop(char **args, npy_intp const *dimensions, npy_intp const *steps, void *data)

    for the NumPy ufunc ``ufunc`` (``numpy.exp``, ...) on native-byte-order float32 or float64
    (``args``: the ``nin`` inputs then the output, ``dimensions[0]``: the element count,
    ``steps``: byte strides, any value including 0 and negative; ``data`` is ignored, pass NULL).
    ``None`` when there is no vector loop for that pair: the caller keeps NumPy's loop.
    From Cython: ``(<PyUFuncGenericFunction>PyCapsule_GetPointer(cap, b"pygrad.vecmath.loop"))``.
    Input and output may be the same memory (in place); partial overlap is not supported
    (NumPy's ufunc machinery never passes it either).

``loops()``: the registered ``(ufunc name, dtype name)`` pairs.  ``available()``: whether any are.

When there are none: the module builds everywhere, and the registry is empty unless the build
linked libmvec (x86-64 glibc 2.35 or newer, probed by ``setup.py``) and the CPU runs AVX2 and
FMA (checked once at import).  Import this module inside ``try/except ImportError``: a build made
against a newer glibc than the running one does not load.

Functions: exp, exp2, expm1, log, log2, log10, log1p, sin, cos, tan, sinh, cosh, tanh, arcsin,
arccos, arctan, arcsinh, arccosh, arctanh, cbrt, arctan2, hypot.  Not ``power``: libmvec's pow
is within 1 ulp of the correctly rounded result, but differs in the last bit from NumPy's loop,
which eager ``x**2`` runs, in 3% (float32) to 13% (float64) of the elements of ``x**2``; what
stands for arithmetic stays bit for bit with eager evaluation.

Results.  Not bit for bit NumPy's: each loop is within ``ULP_BOUND[name]`` units in the last
place of the correctly rounded result (so within that plus NumPy's own error of NumPy's), as
measured over wide ranges, random bit patterns and the special values (``tests/test_vecmath.py``;
the table: ``python -m pygrad.bench.vecmath --ulp``).  Special values (nan, +-inf, +-0 with its
sign, denormals, arguments outside the domain, huge arguments of sin/cos/tan, overflow and
underflow) give NumPy's results (a nan's sign and payload aside).

Threads.  The loops keep no state and allocate nothing (a few stack words): they can run
without the GIL on several OpenMP threads at once, on disjoint outputs.

Floating-point status flags.  Not NumPy's: glibc does not aim at exact exception flags, and
NumPy's own loops differ between CPUs.  On finite arguments inside the domain whose results
neither overflow nor underflow the loops raise no invalid, divide-by-zero, overflow or underflow
flag (tested); on other arguments they may raise other flags than NumPy's loop.  The padding of a vector (the tail, strided operands) repeats an element of the same
call, so it adds no flag that call's elements would not raise.  ``errno`` may be set.  The loops
neither clear nor read the flags: a caller that turns them into NumPy's warnings sees
approximately NumPy's; pygrad computes transcendental functions under ``np.errstate(all="ignore")``.
"""
import numpy as np

from cpython.pycapsule cimport PyCapsule_GetPointer, PyCapsule_New

cdef extern from *:
    """
    #include <numpy/npy_common.h>
    typedef void (*pygrad_vm_loop)(char **, npy_intp const *, npy_intp const *, void *);

    #if defined(PYGRAD_LIBMVEC) && defined(__x86_64__) && defined(__GNUC__)
    #define PYGRAD_VM 1
    #include <immintrin.h>
    /* Only these functions use AVX2: the rest of the module runs on any x86-64. */
    #define VM_AVX2 __attribute__((target("avx2,fma")))

    /* libmvec's AVX2 variants (x86_64 vector function ABI: 'd' = AVX2, N8/N4 lanes). */
    #define VM_DECLARE1(F) \\
        VM_AVX2 __m256 _ZGVdN8v_##F##f(__m256); VM_AVX2 __m256d _ZGVdN4v_##F(__m256d);
    #define VM_DECLARE2(F) \\
        VM_AVX2 __m256 _ZGVdN8vv_##F##f(__m256, __m256); \\
        VM_AVX2 __m256d _ZGVdN4vv_##F(__m256d, __m256d);

    /* One loop: contiguous operands go straight through the vector function; any other
       layout (strided, stride-0, negative) and the tail go through a stack buffer of one
       vector, padded by repeating its first element. */
    #define VM_UNARY(NAME, T, W, LOAD, STORE, VF) \\
    VM_AVX2 static void NAME(char **args, npy_intp const *dimensions, \\
                             npy_intp const *steps, void *data) { \\
        const npy_intp n = dimensions[0], is = steps[0], os = steps[1]; \\
        const char *ip = args[0]; \\
        char *op = args[1]; \\
        T buf[W]; \\
        npy_intp i = 0, k; \\
        (void)data; \\
        if (is == sizeof(T) && os == sizeof(T)) { \\
            for (; i + W <= n; i += W) \\
                STORE((T *)op + i, VF(LOAD((const T *)ip + i))); \\
        } else if (is == 0 && n > 1) { \\
            for (k = 0; k < W; k++) buf[k] = *(const T *)ip; \\
            STORE(buf, VF(LOAD(buf))); \\
            for (; i < n; i++) *(T *)(op + i * os) = buf[0]; \\
        } \\
        for (; i < n; i += W) { \\
            const npy_intp m = n - i < W ? n - i : W; \\
            for (k = 0; k < m; k++) buf[k] = *(const T *)(ip + (i + k) * is); \\
            for (; k < W; k++) buf[k] = buf[0]; \\
            STORE(buf, VF(LOAD(buf))); \\
            for (k = 0; k < m; k++) *(T *)(op + (i + k) * os) = buf[k]; \\
        } \\
    }

    #define VM_BINARY(NAME, T, W, LOAD, STORE, VF) \\
    VM_AVX2 static void NAME(char **args, npy_intp const *dimensions, \\
                             npy_intp const *steps, void *data) { \\
        const npy_intp n = dimensions[0], as = steps[0], bs = steps[1], os = steps[2]; \\
        const char *ap = args[0], *bp = args[1]; \\
        char *op = args[2]; \\
        T abuf[W], bbuf[W]; \\
        npy_intp i = 0, k; \\
        (void)data; \\
        if (as == sizeof(T) && bs == sizeof(T) && os == sizeof(T)) { \\
            for (; i + W <= n; i += W) \\
                STORE((T *)op + i, VF(LOAD((const T *)ap + i), LOAD((const T *)bp + i))); \\
        } \\
        for (; i < n; i += W) { \\
            const npy_intp m = n - i < W ? n - i : W; \\
            for (k = 0; k < m; k++) { \\
                abuf[k] = *(const T *)(ap + (i + k) * as); \\
                bbuf[k] = *(const T *)(bp + (i + k) * bs); \\
            } \\
            for (; k < W; k++) { abuf[k] = abuf[0]; bbuf[k] = bbuf[0]; } \\
            STORE(abuf, VF(LOAD(abuf), LOAD(bbuf))); \\
            for (k = 0; k < m; k++) *(T *)(op + (i + k) * os) = abuf[k]; \\
        } \\
    }

    #define VM_LOOPS1(F) VM_DECLARE1(F) \\
        VM_UNARY(vm_##F##_f32, float, 8, _mm256_loadu_ps, _mm256_storeu_ps, _ZGVdN8v_##F##f) \\
        VM_UNARY(vm_##F##_f64, double, 4, _mm256_loadu_pd, _mm256_storeu_pd, _ZGVdN4v_##F)
    #define VM_LOOPS2(F) VM_DECLARE2(F) \\
        VM_BINARY(vm_##F##_f32, float, 8, _mm256_loadu_ps, _mm256_storeu_ps, _ZGVdN8vv_##F##f) \\
        VM_BINARY(vm_##F##_f64, double, 4, _mm256_loadu_pd, _mm256_storeu_pd, _ZGVdN4vv_##F)

    VM_LOOPS1(exp) VM_LOOPS1(log) VM_LOOPS1(log1p) VM_LOOPS1(expm1) VM_LOOPS1(exp2)
    VM_LOOPS1(log2) VM_LOOPS1(log10) VM_LOOPS1(sin) VM_LOOPS1(cos) VM_LOOPS1(tan)
    VM_LOOPS1(tanh) VM_LOOPS1(sinh) VM_LOOPS1(cosh) VM_LOOPS1(asin) VM_LOOPS1(acos)
    VM_LOOPS1(atan) VM_LOOPS1(asinh) VM_LOOPS1(acosh) VM_LOOPS1(atanh) VM_LOOPS1(cbrt)
    VM_LOOPS2(atan2) VM_LOOPS2(hypot)

    #define VM_ENTRY(UFUNC, F, NIN) {UFUNC, NIN, vm_##F##_f32, vm_##F##_f64},
    #else
    #define VM_ENTRY(UFUNC, F, NIN)
    #endif

    typedef struct { const char *ufunc; int nin; pygrad_vm_loop f32, f64; } pygrad_vm_entry;

    /* The NumPy ufunc each libmvec function computes. */
    static const pygrad_vm_entry pygrad_vm_table[] = {
        VM_ENTRY("exp", exp, 1) VM_ENTRY("log", log, 1) VM_ENTRY("log1p", log1p, 1)
        VM_ENTRY("expm1", expm1, 1) VM_ENTRY("exp2", exp2, 1) VM_ENTRY("log2", log2, 1)
        VM_ENTRY("log10", log10, 1) VM_ENTRY("sin", sin, 1) VM_ENTRY("cos", cos, 1)
        VM_ENTRY("tan", tan, 1) VM_ENTRY("tanh", tanh, 1) VM_ENTRY("sinh", sinh, 1)
        VM_ENTRY("cosh", cosh, 1) VM_ENTRY("arcsin", asin, 1) VM_ENTRY("arccos", acos, 1)
        VM_ENTRY("arctan", atan, 1) VM_ENTRY("arcsinh", asinh, 1)
        VM_ENTRY("arccosh", acosh, 1) VM_ENTRY("arctanh", atanh, 1) VM_ENTRY("cbrt", cbrt, 1)
        VM_ENTRY("arctan2", atan2, 2) VM_ENTRY("hypot", hypot, 2)
        {NULL, 0, NULL, NULL}
    };

    static int pygrad_vm_cpu_ok(void) {
    #ifdef PYGRAD_VM
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    #else
        return 0;
    #endif
    }

    #ifdef PYGRAD_VM
    static const int pygrad_vm_linked = 1;
    #else
    static const int pygrad_vm_linked = 0;
    #endif

    /* Test helper: the loop over n elements in `chunks` pieces, on OpenMP threads if built
       with OpenMP, as a fused evaluator calls it (one block per thread). */
    static void pygrad_vm_call(pygrad_vm_loop f, int nargs, char **args,
                               const npy_intp *steps, npy_intp n, int chunks) {
        npy_intp c;
        if (chunks < 1) chunks = 1;
        #ifdef _OPENMP
        #pragma omp parallel for num_threads(chunks) schedule(static)
        #endif
        for (c = 0; c < chunks; c++) {
            npy_intp start = n * c / chunks, stop = n * (c + 1) / chunks, count = stop - start;
            char *mine[3];
            int a;
            for (a = 0; a < nargs; a++) mine[a] = args[a] + start * steps[a];
            f(mine, &count, steps, NULL);
        }
    }
    """
    ctypedef Py_ssize_t npy_intp
    ctypedef void (*pygrad_vm_loop)(char **, const npy_intp *, const npy_intp *, void *) noexcept nogil
    ctypedef struct pygrad_vm_entry:
        const char *ufunc
        int nin
        pygrad_vm_loop f32
        pygrad_vm_loop f64
    const pygrad_vm_entry pygrad_vm_table[]
    int pygrad_vm_cpu_ok()
    const int pygrad_vm_linked
    void pygrad_vm_call(pygrad_vm_loop f, int nargs, char **args, const npy_intp *steps,
                        npy_intp n, int chunks) noexcept nogil

CAPSULE_NAME = "pygrad.vecmath.loop"
cdef bytes _CAPSULE_NAME = CAPSULE_NAME.encode()

# The largest distance, in units in the last place, of each loop's results from the correctly
# rounded ones, over float32 and float64 (measured over wide random ranges, random bit patterns
# and the special values; ``python -m pygrad.bench.vecmath --ulp``, tests/test_vecmath.py).
ULP_BOUND = {
    "exp": 3, "exp2": 2, "expm1": 3, "log": 4, "log2": 2, "log10": 2, "log1p": 2,
    "sin": 3, "cos": 3, "tan": 3, "sinh": 2, "cosh": 2, "tanh": 2, "arcsin": 2, "arccos": 2,
    "arctan": 2, "arcsinh": 2, "arccosh": 2, "arctanh": 2, "cbrt": 3, "arctan2": 3, "hypot": 1,
}

LINKED = bool(pygrad_vm_linked)  # built against libmvec
CPU_OK = bool(pygrad_vm_cpu_ok())  # linked, and this CPU runs the AVX2 variants

cdef dict _REGISTRY = {}


cdef _register():
    cdef Py_ssize_t i = 0
    if not (LINKED and CPU_OK):
        return
    while pygrad_vm_table[i].ufunc != NULL:
        name = pygrad_vm_table[i].ufunc.decode()
        ufunc = getattr(np, name)
        assert ufunc.nin == pygrad_vm_table[i].nin and ufunc.nout == 1, name
        _REGISTRY[ufunc, np.dtype(np.float32)] = PyCapsule_New(
            <void *>pygrad_vm_table[i].f32, _CAPSULE_NAME, NULL)
        _REGISTRY[ufunc, np.dtype(np.float64)] = PyCapsule_New(
            <void *>pygrad_vm_table[i].f64, _CAPSULE_NAME, NULL)
        i += 1


_register()


def vector_loop(ufunc, dtype):
    """The vector loop of NumPy ufunc ``ufunc`` for ``dtype`` as a ``PyCapsule`` named
    ``CAPSULE_NAME``, or ``None`` (keep NumPy's loop).  See the module docstring."""
    if dtype is None:  # np.dtype(None) would be float64
        return None
    try:
        key = (ufunc, np.dtype(dtype))
        return _REGISTRY.get(key) if key[1].isnative else None
    except TypeError:  # not a dtype, or an unhashable ufunc argument
        return None


def loops():
    """The registered ``(ufunc name, dtype name)`` pairs, sorted."""
    return sorted((ufunc.__name__, dtype.name) for ufunc, dtype in _REGISTRY)


def available():
    """Whether any vector loop is registered here."""
    return bool(_REGISTRY)


def _apply(ufunc, *inputs, out=None, int chunks=1):
    """Test and benchmark helper: ``ufunc(*inputs)`` through its vector loop, for 1-d arrays of
    one float dtype (any strides) and an optional 1-d ``out``; ``chunks > 1`` splits the loop
    over that many OpenMP threads, without the GIL."""
    if len(inputs) != ufunc.nin:
        raise TypeError(f"{ufunc.__name__} takes {ufunc.nin} inputs, got {len(inputs)}")
    dtype = inputs[0].dtype
    capsule = vector_loop(ufunc, dtype)
    if capsule is None:
        raise ValueError(f"no vector loop for {ufunc.__name__} on {dtype}")
    n = inputs[0].shape[0]
    if out is None:
        out = np.empty(n, dtype)
    arrays = list(inputs) + [out]
    if any(a.ndim != 1 or a.shape[0] != n or a.dtype != dtype for a in arrays):
        raise ValueError("_apply takes 1-d arrays of one length and dtype")
    if not out.flags.writeable:
        raise ValueError("out is read-only")
    cdef char *args[3]
    cdef npy_intp steps[3]
    cdef int k, nargs = len(arrays)
    for k in range(nargs):
        args[k] = <char *><size_t>arrays[k].__array_interface__["data"][0]
        steps[k] = arrays[k].strides[0]
    cdef pygrad_vm_loop loop = <pygrad_vm_loop>PyCapsule_GetPointer(capsule, _CAPSULE_NAME)
    cdef npy_intp count = n
    with nogil:
        pygrad_vm_call(loop, nargs, args, steps, count, chunks)
    return out
