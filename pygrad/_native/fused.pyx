# cython: language_level=3
"""The compiled evaluator of fused elementwise programs (``pygrad/fusion``).

A ``Plan`` is a lowered program (``pygrad/fusion/lower.py``): a list of primitive instructions,
each NumPy's own inner loop of one ufunc for one type signature (``ufunc.functions[i]``, the
loop ``ufunc(x)`` runs on contiguous arrays), or a select (``np.where``), a cast or a copy.
``run`` executes the whole list on every block of ``block`` elements: operands are the block of
a leaf array, a 0-d value (stride 0), or a scratch buffer of the running thread, and results
that leave the pass are written straight into their output arrays.  Blocks are split over the
OpenMP threads; each thread has its own scratch buffers, so intermediates stay in its cache.

A reduction (``sum``/``mean``) of one value sums each block as ``np.add.reduce`` sums it
(NumPy's pairwise summation, from 0) into that block's partial: float32 and float64 by the same
pairwise order compiled for contiguous operands (``PYGRAD_PAIRWISE``; float32 values summed in
float64 widened as they are read), a sub-block at a time while its values are in the cache when
the block is a power of two of sub-blocks (the same tree), other dtypes by NumPy's add loop in
reduce mode.  The caller adds the partials in block order, so the result does not depend on how
many threads ran.

An instruction may also be a loop compiled from a run of the program's arithmetic
(``pygrad/fusion/jit.py``): it has NumPy's inner-loop signature and takes up to
``MAX_OPERANDS`` operands, its inputs then its outputs.
"""
cimport cython
cimport numpy as cnp
from cython.parallel cimport prange, threadid
from libc.stdlib cimport free, malloc, calloc
from libc.string cimport memcpy, memset
from cpython.pycapsule cimport PyCapsule_GetPointer
from pygrad._native.pairwise cimport (pygrad_pairwise_dd, pygrad_pairwise_dd_uniform, pygrad_pairwise_f32,
                                     pygrad_pairwise_ff, pygrad_pairwise_ff_uniform, pygrad_pairwise_uniform)

cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    static int pygrad_fused_max_threads(void) { return omp_get_max_threads(); }
    #else
    static int pygrad_fused_max_threads(void) { return 1; }
    #endif
    #include <numpy/ufuncobject.h>
    /* The fields of NumPy's public PyUFuncObject, read in C (the .pxd declarations of them
       differ between NumPy releases). */
    static int pygrad_ufunc_nargs(PyObject *u) { return ((PyUFuncObject *)u)->nargs; }
    static int pygrad_ufunc_ntypes(PyObject *u) { return ((PyUFuncObject *)u)->ntypes; }
    static int pygrad_ufunc_type(PyObject *u, int i) { return ((PyUFuncObject *)u)->types[i]; }
    static void *pygrad_ufunc_loop(PyObject *u, int i) { return (void *)((PyUFuncObject *)u)->functions[i]; }
    static void *pygrad_ufunc_data(PyObject *u, int i) { return ((PyUFuncObject *)u)->data[i]; }
    typedef void (*pygrad_loop)(char **, npy_intp const *, npy_intp const *, void *);
    static void pygrad_call_loop(void *fn, char **args, npy_intp n, npy_intp *steps, void *data) {
        ((pygrad_loop)fn)(args, &n, steps, data);
    }
    """
    int pygrad_fused_max_threads() noexcept nogil
    int pygrad_ufunc_nargs(object u)
    int pygrad_ufunc_ntypes(object u)
    int pygrad_ufunc_type(object u, int i)
    void *pygrad_ufunc_loop(object u, int i)
    void *pygrad_ufunc_data(object u, int i)
    void pygrad_call_loop(void *fn, char **args, cnp.npy_intp n, cnp.npy_intp *steps, void *data) noexcept nogil

cdef extern from "numpy/ufuncobject.h":
    int PyUFunc_getfperr() nogil  # the floating-point status of this thread, cleared

import os

import numpy as np

from pygrad._native import kernels as _kernels

cnp.import_array()
cnp.import_ufunc()

cdef enum:
    # Instruction kinds.
    UFUNC = 0     # NumPy's inner loop: operands (inputs..., output)
    WHERE = 1     # output = cond ? a : b (operands cond, a, b, output)
    CAST = 2      # output = (type) input, between bool, float32 and float64
    COPY = 3      # output = input
    # Operand locations.
    WHOLE = 0     # a whole array (leaf or output): its block
    UNIFORM = 1   # one value (a 0-d leaf or constant): stride 0
    SCRATCH = 2   # a scratch buffer of the running thread (one sub-block)
    BLOCK_WIDE = 3  # the running thread's buffer of a whole block (the value summed)
    # How a block is summed: NumPy's add loop, or the same pairwise order compiled for contiguous
    # operands (float32 in float64, float32 in float32, float64 in float64).
    SUM_LOOP = 0
    SUM_F32_F64 = 1
    SUM_F32 = 2
    SUM_F64 = 3
    # Type codes of casts.
    T_BOOL = 0
    T_FLOAT = 1
    T_DOUBLE = 2
    MAX_SUMS = 64  # sub-block sums of a streamed block
    MAX_OPERANDS = 16  # a compiled group (``pygrad/fusion/jit.py``) reads and writes several

cdef struct Instr:
    int kind
    void *fn
    void *data
    int nops
    int ops[MAX_OPERANDS]   # location indices: inputs then the output
    int watch               # index of the floating-point status this instruction reports, or -1
    int src_type, dst_type  # casts
    int itemsize            # selects and copies


cdef struct Loc:
    int kind
    int index    # leaf, constant or output index; scratch slot
    int itemsize
    char *base   # set per run (whole and uniform locations)


def loop_index(ufunc, chars):
    """The index of ``ufunc``'s inner loop whose type signature is ``chars`` (inputs then
    outputs, as ``ufunc.types`` spells it without the arrow), or -1."""
    cdef int i, k, nargs
    if type(ufunc) is not np.ufunc:
        return -1
    nargs = pygrad_ufunc_nargs(ufunc)
    want = [np.dtype(c).num for c in chars]
    if len(want) != nargs:
        return -1
    for i in range(pygrad_ufunc_ntypes(ufunc)):
        for k in range(nargs):
            if pygrad_ufunc_type(ufunc, i * nargs + k) != want[k]:
                break
        else:
            return i if pygrad_ufunc_loop(ufunc, i) != NULL else -1
    return -1


def _call_loop(ufunc, int index, list inputs, cnp.ndarray out):
    """Run loop ``index`` of ``ufunc`` directly on 1-d contiguous arrays (or 0-d: stride 0)."""
    cdef char *args[MAX_OPERANDS]
    cdef cnp.npy_intp steps[MAX_OPERANDS]
    cdef int k
    cdef cnp.ndarray a
    for k, a in enumerate(inputs):
        args[k] = <char *>cnp.PyArray_DATA(a)
        steps[k] = cnp.PyArray_ITEMSIZE(a) if cnp.PyArray_NDIM(a) else 0
    args[len(inputs)] = <char *>cnp.PyArray_DATA(out)
    steps[len(inputs)] = cnp.PyArray_ITEMSIZE(out)
    pygrad_call_loop(pygrad_ufunc_loop(ufunc, index), args, cnp.PyArray_SIZE(out), steps,
                     pygrad_ufunc_data(ufunc, index))


def loop_matches(ufunc, int index, list probes):
    """Whether loop ``index`` of ``ufunc`` gives, bit for bit, what calling the ufunc gives on
    ``probes`` (1-d contiguous arrays, or 0-d, of the loop's input types): whether the loop in
    ``functions`` is the one NumPy runs."""
    with np.errstate(all="ignore"):
        expected = ufunc(*probes)
        got = np.empty_like(expected)
        _call_loop(ufunc, index, probes, got)
    return expected.dtype == got.dtype and expected.tobytes() == got.tobytes()


cdef inline char *_block_ptr(Loc *loc, char *scratch, Pass *ps, Py_ssize_t start,
                             Py_ssize_t block_start) noexcept nogil:
    if loc.kind == WHOLE:
        return loc.base + start * loc.itemsize
    if loc.kind == UNIFORM:
        return loc.base
    if loc.kind == SCRATCH:
        return scratch + loc.index * ps.slot_bytes
    return scratch + ps.wide_offset + (start - block_start) * loc.itemsize  # BLOCK_WIDE


cdef inline cnp.npy_intp _step(Loc *loc) noexcept nogil:
    return 0 if loc.kind == UNIFORM else loc.itemsize


cdef void _where(char **p, cnp.npy_intp *s, Py_ssize_t n, int itemsize) noexcept nogil:
    cdef Py_ssize_t i
    cdef char *c = p[0]
    if itemsize == 4:
        for i in range(n):
            (<unsigned int *>p[3])[i] = (<unsigned int *>(p[1] + i * s[1]))[0] if c[i * s[0]] else (<unsigned int *>(p[2] + i * s[2]))[0]
    elif itemsize == 8:
        for i in range(n):
            (<unsigned long long *>p[3])[i] = (<unsigned long long *>(p[1] + i * s[1]))[0] if c[i * s[0]] else (<unsigned long long *>(p[2] + i * s[2]))[0]
    else:
        for i in range(n):
            p[3][i] = (p[1] + i * s[1])[0] if c[i * s[0]] else (p[2] + i * s[2])[0]


cdef void _cast(char *src, cnp.npy_intp step, int src_type, char *dst, int dst_type, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    if src_type == T_BOOL:
        if dst_type == T_FLOAT:
            for i in range(n):
                (<float *>dst)[i] = 1 if src[i * step] else 0
        else:
            for i in range(n):
                (<double *>dst)[i] = 1 if src[i * step] else 0
    elif src_type == T_FLOAT:
        if dst_type == T_DOUBLE:
            for i in range(n):
                (<double *>dst)[i] = (<float *>(src + i * step))[0]
        else:
            for i in range(n):
                (<char *>dst)[i] = (<float *>(src + i * step))[0] != 0
    else:
        if dst_type == T_FLOAT:
            for i in range(n):
                (<float *>dst)[i] = <float>(<double *>(src + i * step))[0]
        else:
            for i in range(n):
                (<char *>dst)[i] = (<double *>(src + i * step))[0] != 0


cdef void _copy(char *src, cnp.npy_intp step, char *dst, int itemsize, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    if step:
        memcpy(dst, src, n * itemsize)
    else:
        for i in range(n):
            memcpy(dst + i * itemsize, src, itemsize)


cdef struct Pass:
    Instr *code
    int ninstr
    Loc *locs
    Py_ssize_t sub          # elements per sub-block: what each instruction runs on at once
    Py_ssize_t slot_bytes   # bytes of a scratch slot (sub-block of the widest type)
    Py_ssize_t wide_offset  # where a thread's block-wide buffer starts in its scratch
    int red_loc             # the reduced value's location, or -1
    int red_sum             # how the reduced value is summed (SUM_*)
    void *add_fn
    void *add_data
    int acc_size


cdef void _run_range(Pass *ps, char *scratch, Py_ssize_t start, Py_ssize_t n, int *status,
                     char *partial) noexcept nogil:
    """The program on the block ``[start, start + n)``, a sub-block at a time (so scratch
    stays in the first-level cache); with a reduction, the block's sum into ``partial``."""
    cdef char *p[MAX_OPERANDS]
    cdef cnp.npy_intp s[MAX_OPERANDS]
    cdef int k, j
    cdef Instr *ins
    cdef Loc *loc
    cdef Py_ssize_t off = 0, m, wide_start = start
    cdef char *base
    # Streamed: each sub-block's values are summed as soon as they are computed, while they are
    # in the first-level cache, and the sub-block sums are added in pairs, level by level.  When
    # the block is one sub-block or a power of two of them (and a sub-block a multiple of 8 above
    # 64), that is the tree NumPy's pairwise sum of the whole block takes: the same bits.
    cdef bint streamed = _streams(ps, n)
    cdef int nsums = 0
    cdef double dsums[MAX_SUMS]
    cdef float fsums[MAX_SUMS]
    while off < n:
        m = min(ps.sub, n - off)
        if streamed:  # the summed value reuses the start of the block-wide buffer
            wide_start = start + off
        for j in range(ps.ninstr):
            ins = &ps.code[j]
            for k in range(ins.nops):
                loc = &ps.locs[ins.ops[k]]
                p[k] = _block_ptr(loc, scratch, ps, start + off, wide_start)
                s[k] = _step(loc)
            if ins.watch >= 0:
                PyUFunc_getfperr()
            if ins.kind == UFUNC:
                pygrad_call_loop(ins.fn, p, m, s, ins.data)
            elif ins.kind == WHERE:
                _where(p, s, m, ins.itemsize)
            elif ins.kind == CAST:
                _cast(p[0], s[0], ins.src_type, p[1], ins.dst_type, m)
            else:
                _copy(p[0], s[0], p[1], ins.itemsize, m)
            if ins.watch >= 0:
                status[ins.watch] |= PyUFunc_getfperr()
        if streamed:
            base = _block_ptr(&ps.locs[ps.red_loc], scratch, ps, start + off, wide_start)
            if ps.red_sum == SUM_F32:
                fsums[nsums] = pygrad_pairwise_ff(<float *>base, m)
            elif ps.red_sum == SUM_F32_F64:
                dsums[nsums] = pygrad_pairwise_f32(<float *>base, m)
            else:
                dsums[nsums] = pygrad_pairwise_dd(<double *>base, m)
            nsums += 1
        off += m
    if ps.red_loc < 0:
        return
    if streamed:
        if ps.red_sum == SUM_F32:
            (<float *>partial)[0] = <float>0.0 + _pair_sums(fsums, nsums)
        else:
            (<double *>partial)[0] = 0.0 + _pair_sums(dsums, nsums)
        return
    # The block's values in one piece, summed as np.add.reduce sums them: pairwise, from 0.
    loc = &ps.locs[ps.red_loc]
    if ps.red_sum != SUM_LOOP:  # the values in the block-wide buffer, or a leaf's
        base = loc.base if loc.kind == UNIFORM else _block_ptr(loc, scratch, ps, start, start)
        if ps.red_sum == SUM_F32_F64:
            (<double *>partial)[0] = 0.0 + (pygrad_pairwise_uniform(<float *>base, n) if loc.kind == UNIFORM
                                            else pygrad_pairwise_f32(<float *>base, n))
        elif ps.red_sum == SUM_F32:
            (<float *>partial)[0] = <float>0.0 + (pygrad_pairwise_ff_uniform(<float *>base, n) if loc.kind == UNIFORM
                                                  else pygrad_pairwise_ff(<float *>base, n))
        else:
            (<double *>partial)[0] = 0.0 + (pygrad_pairwise_dd_uniform(<double *>base, n) if loc.kind == UNIFORM
                                            else pygrad_pairwise_dd(<double *>base, n))
        return
    p[1] = _block_ptr(loc, scratch, ps, start, start)
    s[1] = _step(loc)
    memset(partial, 0, ps.acc_size)
    p[0] = p[2] = partial
    s[0] = s[2] = 0
    pygrad_call_loop(ps.add_fn, p, n, s, ps.add_data)


ctypedef fused _sum_t:
    float
    double


cdef _sum_t _pair_sums(_sum_t *sums, int count) noexcept nogil:
    """``count`` (a power of two, or 0) sums added in pairs, level by level."""
    cdef int j
    if count == 0:
        return 0
    while count > 1:
        count //= 2
        for j in range(count):
            sums[j] = sums[2 * j] + sums[2 * j + 1]
    return sums[0]


cdef inline bint _streams(Pass *ps, Py_ssize_t n) noexcept nogil:
    """Whether ``_run_range`` sums a block of ``n`` elements a sub-block at a time."""
    cdef Py_ssize_t count
    if ps.red_loc < 0 or ps.red_sum == SUM_LOOP or ps.locs[ps.red_loc].kind == UNIFORM:
        return False
    if n <= ps.sub:
        return True
    if ps.sub % 8 or ps.sub <= 64 or n % ps.sub:
        return False
    count = n // ps.sub
    return count <= MAX_SUMS and (count & (count - 1)) == 0


# One scratch area reused by the passes (they run one at a time, under fusion's lock; a pass
# that finds it busy allocates its own).
cdef char *_scratch = NULL
cdef Py_ssize_t _scratch_bytes = 0
cdef bint _scratch_busy = False


cdef class Plan:
    """A lowered program, ready to run (see the module docstring)."""

    cdef Instr *code
    cdef int ninstr
    cdef Instr *pre_code     # the prologue: instructions on one-value operands only, run once
    cdef int npre
    cdef int npre_values     # their results (8 bytes each, per run)
    cdef Loc *locs
    cdef int nlocs
    cdef int nslots
    cdef int nwatch
    cdef list consts      # the arrays constant locations point into
    cdef int red_loc, red_sum, acc_size
    cdef void *add_fn
    cdef void *add_data
    cdef readonly object acc_dtype
    cdef list _bound          # (index, kind name) of the locations each run points at its arrays

    def __cinit__(self):
        self.code = NULL
        self.pre_code = NULL
        self.locs = NULL

    def __dealloc__(self):
        free(self.code)
        free(self.pre_code)
        free(self.locs)

    def __init__(self, list locs, list prologue, list instrs, list consts, int nslots, reduce=None):
        """``locs``: (kind, index, itemsize) per location ("whole" leaf/output index, "uniform"
        leaf index, "const" index into ``consts``, "pre" result of the prologue, "scratch"
        slot).  ``prologue``, ``instrs``: (kind, payload, operand locations, watched) with
        payload (ufunc, loop index[, a vector loop capsule of ``pygrad._native.vecmath`` to run
        instead of NumPy's, or None]) for "ufunc", the item size for "where"/"copy", the
        (source, destination) dtypes for "cast"; watched: report the instruction's
        floating-point errors (ufuncs only).  The prologue runs once per run, on one element.
        ``reduce``: (location, accumulator dtype)."""
        cdef int i
        self.consts = [np.ascontiguousarray(c) for c in consts]
        self.nlocs = len(locs)
        self.locs = <Loc *>calloc(max(self.nlocs, 1), sizeof(Loc))
        self.ninstr = len(instrs)
        self.code = <Instr *>calloc(max(self.ninstr, 1), sizeof(Instr))
        self.npre = len(prologue)
        self.pre_code = <Instr *>calloc(max(self.npre, 1), sizeof(Instr))
        self.npre_values = sum(1 for kind, _, _ in locs if kind == "pre")
        if self.locs == NULL or self.code == NULL or self.pre_code == NULL:
            raise MemoryError()
        for i, (kind, index, itemsize) in enumerate(locs):
            self.locs[i].kind = {"whole": WHOLE, "output": WHOLE, "uniform": UNIFORM, "const": UNIFORM,
                                 "pre": UNIFORM, "scratch": SCRATCH}[kind]
            self.locs[i].index = index
            self.locs[i].itemsize = itemsize
            if kind == "const":
                self.locs[i].base = <char *>cnp.PyArray_DATA(<cnp.ndarray>self.consts[index])
        self._bound = [(i, kind) for i, (kind, _, _) in enumerate(locs)
                       if kind in ("whole", "uniform", "output", "pre")]
        self.nslots = nslots
        self.nwatch = 0
        self._decode(prologue, self.pre_code)
        self._decode(instrs, self.code)
        self.red_loc = -1
        self.red_sum = SUM_LOOP
        self.acc_dtype = None
        if reduce is not None:
            loc, acc = reduce
            acc = np.dtype(acc)
            self.red_loc = loc
            self.acc_dtype = acc
            self.acc_size = acc.itemsize
            if acc == np.float64:
                self.red_sum = SUM_F32_F64 if locs[loc][2] == 4 else SUM_F64
            elif acc == np.float32 and locs[loc][2] == 4:
                self.red_sum = SUM_F32
            if self.locs[loc].kind == SCRATCH:  # the sum needs the whole block at once
                self.locs[loc].kind = BLOCK_WIDE
            index = loop_index(np.add, acc.char * 3)
            if index < 0:
                raise ValueError("no add loop")
            self.add_fn = pygrad_ufunc_loop(np.add, index)
            self.add_data = pygrad_ufunc_data(np.add, index)

    cdef _decode(self, list instrs, Instr *code):
        cdef int i, k
        for i, (kind, payload, ops, watched) in enumerate(instrs):
            if len(ops) > MAX_OPERANDS:
                raise ValueError("too many operands")
            code[i].nops = len(ops)
            for k, op in enumerate(ops):
                code[i].ops[k] = op
            code[i].watch = -1
            if kind == "ufunc":
                code[i].kind = UFUNC
                if len(payload) > 2 and payload[2] is not None:  # a vector loop of pygrad._native.vecmath
                    code[i].fn = PyCapsule_GetPointer(payload[2], b"pygrad.vecmath.loop")
                    code[i].data = NULL
                else:
                    code[i].fn = pygrad_ufunc_loop(payload[0], payload[1])
                    code[i].data = pygrad_ufunc_data(payload[0], payload[1])
                if watched:
                    code[i].watch = self.nwatch
                    self.nwatch += 1
            elif kind == "where":
                code[i].kind = WHERE
                code[i].itemsize = payload
            elif kind == "copy":
                code[i].kind = COPY
                code[i].itemsize = payload
            elif kind == "cast":
                code[i].kind = CAST
                code[i].src_type = _type_code(payload[0])
                code[i].dst_type = _type_code(payload[1])
            else:
                raise ValueError(kind)

    def run(self, list leaves, list outputs, Py_ssize_t n, Py_ssize_t block, partials=None, int threads=0):
        """Run the plan over ``n`` elements: ``leaves`` are the program's arrays (whole ones
        flat and C-contiguous, or 0-d), ``outputs`` flat C-contiguous arrays it writes; with a
        reduction, ``partials`` (one element per block, of the accumulator dtype) gets each
        block's sum.  ``threads`` 0: OpenMP's count.  Returns ``(k, bits)`` for each ``k``-th
        watched instruction that raised floating-point errors (NumPy's ``NPY_FPE_*`` bits)."""
        cdef int i
        cdef cnp.ndarray a
        if block < 1:
            raise ValueError("block")
        # This run's locations (the plan may be run by another thread meanwhile) and the
        # prologue's values, in one allocation.
        cdef Loc *locs = <Loc *>malloc(max(self.nlocs, 1) * sizeof(Loc) + max(self.npre_values, 1) * 8)
        if locs == NULL:
            raise MemoryError()
        cdef char *pre = <char *>(locs + max(self.nlocs, 1))
        try:
            memcpy(locs, self.locs, self.nlocs * sizeof(Loc))
            for i, kind in self._bound:
                if kind == "whole" or kind == "uniform" or kind == "output":
                    a = <cnp.ndarray?>(outputs if kind == "output" else leaves)[locs[i].index]
                    if (cnp.PyArray_ITEMSIZE(a) != locs[i].itemsize or not cnp.PyArray_IS_C_CONTIGUOUS(a)
                            or cnp.PyArray_SIZE(a) != (1 if kind == "uniform" else n)
                            or kind == "output" and not cnp.PyArray_ISWRITEABLE(a)):
                        raise ValueError(f"an array of another size or layout than the plan's {kind} {locs[i].index}")
                    locs[i].base = <char *>cnp.PyArray_DATA(a)
                elif kind == "pre":
                    locs[i].base = pre + 8 * locs[i].index
            return self._run(locs, n, block, partials, threads)
        finally:
            free(locs)

    cdef object _run(self, Loc *locs, Py_ssize_t n, Py_ssize_t block, partials, int threads):
        global _scratch, _scratch_bytes, _scratch_busy
        cdef int i, t, nthreads
        cdef cnp.ndarray a
        cdef Py_ssize_t nblocks = (n + block - 1) // block if n > 0 else 0
        cdef Pass ps
        cdef char *partial_base = NULL
        if self.red_loc >= 0:
            a = <cnp.ndarray?>partials
            if cnp.PyArray_SIZE(a) < nblocks or cnp.PyArray_ITEMSIZE(a) != self.acc_size:
                raise ValueError("partials")
            partial_base = <char *>cnp.PyArray_DATA(a)
        if threads <= 0:
            threads = _threads
        if threads > 0:
            nthreads = threads
        elif n < _kernels.PARALLEL_MIN_SIZE:  # as the kernels (and never in a forked child)
            nthreads = 1
        else:
            nthreads = pygrad_fused_max_threads()
        if nthreads > nblocks:
            nthreads = <int>max(nblocks, 1)
        ps.code = self.code
        ps.ninstr = self.ninstr
        ps.locs = locs
        ps.sub = min(_sub_block, block)
        ps.slot_bytes = ps.sub * 8
        ps.wide_offset = self.nslots * ps.slot_bytes
        ps.red_loc = self.red_loc
        ps.red_sum = self.red_sum
        ps.add_fn = self.add_fn
        ps.add_data = self.add_data
        ps.acc_size = self.acc_size
        cdef Py_ssize_t per_thread = ps.wide_offset + (block * 8 if self.red_loc >= 0 else 0) + 64
        cdef Py_ssize_t need = per_thread * nthreads
        cdef char *scratch
        cdef bint own = _scratch_busy
        if own:
            scratch = <char *>malloc(need)
        else:
            if _scratch_bytes < need:
                free(_scratch)
                _scratch = <char *>malloc(need)
                _scratch_bytes = need if _scratch != NULL else 0
            scratch = _scratch
            _scratch_busy = True
        if scratch == NULL:
            if not own:
                _scratch_busy = False
            raise MemoryError()
        # Each thread's statuses in cache lines of their own (they are written every sub-block).
        cdef int stride = (self.nwatch + 15) // 16 * 16 + 16
        cdef int *status = <int *>calloc(stride * nthreads, sizeof(int))
        cdef Py_ssize_t b
        cdef int nwatch = self.nwatch, acc_size = self.acc_size
        cdef Pass pre = ps
        pre.code = self.pre_code
        pre.ninstr = self.npre
        pre.red_loc = -1
        pre.red_sum = SUM_LOOP
        try:
            if status == NULL:
                raise MemoryError()
            with nogil:
                if pre.ninstr:
                    _run_range(&pre, scratch, 0, 1, status, NULL)
                if nthreads < 2:
                    for b in range(nblocks):
                        _run_range(&ps, scratch, b * block, min(block, n - b * block), status,
                                   partial_base + b * acc_size)
                else:  # blocks handed out as threads get free: a core busy elsewhere does fewer
                    for b in prange(nblocks, schedule="guided", num_threads=nthreads):
                        t = threadid()
                        _run_range(&ps, scratch + t * per_thread, b * block, min(block, n - b * block),
                                   status + t * stride, partial_base + b * acc_size)
            raised = []
            for i in range(nwatch):
                bits = 0
                for t in range(nthreads):
                    bits |= status[t * stride + i]
                if bits:
                    raised.append((i, bits))
            return raised
        finally:
            free(status)
            if own:
                free(scratch)
            else:
                _scratch_busy = False


def add_reduce(cnp.ndarray partials):
    """``np.add.reduce(partials)`` (NumPy's pairwise sum, from 0: the same bits) of a pass's
    block sums, a 1-d C-contiguous float32 or float64 array, as a 0-d array, without NumPy's
    reduction machinery."""
    cdef cnp.npy_intp n = cnp.PyArray_SIZE(partials)
    cdef cnp.ndarray out
    cdef char *data = <char *>cnp.PyArray_DATA(partials)
    if cnp.PyArray_NDIM(partials) != 1 or not cnp.PyArray_IS_C_CONTIGUOUS(partials) or n > 8192:
        # (NumPy before 2.3 adds a run longer than its 8192-element buffer in pieces of that size)
        return np.asarray(np.add.reduce(partials))
    if partials.dtype == np.float32:
        out = np.empty((), np.float32)
        (<float *>cnp.PyArray_DATA(out))[0] = <float>0.0 + pygrad_pairwise_ff(<float *>data, n)
    elif partials.dtype == np.float64:
        out = np.empty((), np.float64)
        (<double *>cnp.PyArray_DATA(out))[0] = 0.0 + pygrad_pairwise_dd(<double *>data, n)
    else:
        return np.asarray(np.add.reduce(partials))
    return out


cdef int _threads = 0


def set_threads(int n):
    """Run passes on ``n`` threads (0: OpenMP's count, from the kernels' parallel size on);
    for tests and benchmarks: results do not depend on it."""
    global _threads
    _threads = max(n, 0)


# Elements each instruction runs on at once: its operands stay in the first-level cache.
SUB_BLOCK = 4096
cdef Py_ssize_t _sub_block = SUB_BLOCK


def set_sub_block(Py_ssize_t n):
    """Change the sub-block (benchmarks and tests; results do not depend on it)."""
    global _sub_block, SUB_BLOCK
    _sub_block = max(n, 1)
    SUB_BLOCK = _sub_block


cdef int _type_code(dtype) except -1:
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return T_BOOL
    if dtype == np.float32:
        return T_FLOAT
    if dtype == np.float64:
        return T_DOUBLE
    raise ValueError(f"no cast for {dtype}")


def _forked():
    """In a child of fork: a pass another thread of the parent was running is not running here."""
    global _scratch_busy
    _scratch_busy = False


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forked)


def release_scratch():
    """Free the scratch buffers kept between passes."""
    global _scratch, _scratch_bytes
    if not _scratch_busy:
        free(_scratch)
        _scratch = NULL
        _scratch_bytes = 0
