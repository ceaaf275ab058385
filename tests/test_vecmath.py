"""The vector transcendental loops (``pygrad._native.vecmath``): each registered loop agrees with
the correctly rounded result and with NumPy within its documented ulp bound on wide random
ranges, random bit patterns and the special values; gives NumPy's nan/inf/signed-zero results;
gives the same bits in every operand layout (contiguous, strided, stride-0, reversed, in place),
size (vector tails) and thread split; and the registry hands out working loops only for
native-order float32/float64 and the functions it documents.  Skipped on the pure backend and
where no loop is registered (no libmvec, no AVX2+FMA)."""
import ctypes

import numpy as np
import pytest

import pygrad
from pygrad.bench import vecmath as bench

if pygrad.backend() == "pure":
    pytest.skip("the vector loops belong to the compiled backend", allow_module_level=True)
vecmath = pytest.importorskip("pygrad._native.vecmath", reason="the compiled modules are not built")
if not vecmath.available():
    pytest.skip("no vector loops here (libmvec not linked, or no AVX2+FMA)", allow_module_level=True)

LOOPS = vecmath.loops()
SIZES = (0, 1, 7, 8, 9, 1000)


def _ufunc(name):
    return getattr(np, name)


def _call_numpy(ufunc, *args):
    with np.errstate(all="ignore"):
        return ufunc(*args)


def test_every_documented_function_is_registered_for_both_dtypes():
    assert LOOPS == sorted((name, dtype) for name in vecmath.ULP_BOUND
                           for dtype in ("float32", "float64"))


@pytest.mark.parametrize("name,dtype", LOOPS)
def test_within_the_ulp_bound_of_the_correctly_rounded_result_and_of_numpy(name, dtype):
    ufunc = _ufunc(name)
    rng = np.random.default_rng(5)
    bits = np.uint32 if dtype == "float32" else np.uint64
    random_bits = [rng.integers(0, np.iinfo(bits).max, 20_000, dtype=bits, endpoint=True).view(dtype)
                   for _ in range(ufunc.nin)]
    args = [np.concatenate([a, b]) for a, b in zip(bench.operands(ufunc, dtype), random_bits)]
    ours, theirs = vecmath._apply(ufunc, *args), _call_numpy(ufunc, *args)
    exact = bench.correctly_rounded(ufunc, *args)
    bound = vecmath.ULP_BOUND[name]
    assert bench.ulp_distance(ours, exact).max() <= bound
    numpy_error = bench.ulp_distance(theirs, exact).max()
    assert np.isfinite(numpy_error)
    assert bench.ulp_distance(ours, theirs).max() <= bound + numpy_error


@pytest.mark.parametrize("name,dtype", LOOPS)
def test_special_values_give_numpy_results(name, dtype):
    ufunc = _ufunc(name)
    special = bench.special_values(dtype)
    if ufunc.nin == 2:
        a, b = np.meshgrid(special, special)
        args = (a.ravel(), b.ravel())
    else:
        args = (special,)
    ours, theirs = vecmath._apply(ufunc, *args), _call_numpy(ufunc, *args)
    exceptional = ~np.isfinite(theirs) | (theirs == 0)
    np.testing.assert_array_equal(ours[exceptional], theirs[exceptional])
    zeros = theirs == 0  # with their sign (a nan's sign and payload are not specified)
    assert np.array_equal(np.signbit(ours[zeros]), np.signbit(theirs[zeros]))
    assert bench.ulp_distance(ours, theirs).max() <= 2 * vecmath.ULP_BOUND[name]


def _layout(x, layout):
    """``x`` (1-d) in the named memory layout, equal in value."""
    if layout == "strided":
        wide = np.empty(2 * x.size, x.dtype)
        wide[::2] = x
        return wide[::2]
    if layout == "reversed":
        return x[::-1].copy()[::-1]
    if layout == "stride0":
        return np.broadcast_to(x[:1], x.shape)
    return x.copy()


FE_INVALID, FE_DIVBYZERO, FE_OVERFLOW, FE_UNDERFLOW = 0x01, 0x04, 0x08, 0x10  # x86-64's <fenv.h>


@pytest.mark.parametrize("name,dtype", LOOPS)
def test_no_exception_flag_inside_the_domain(name, dtype):
    """Finite in-domain arguments whose results neither overflow nor underflow raise none of
    the flags NumPy turns into warnings (the loops run only on x86-64 glibc)."""
    libm = ctypes.CDLL("libm.so.6")
    flags = FE_INVALID | FE_DIVBYZERO | FE_OVERFLOW | FE_UNDERFLOW
    ufunc = _ufunc(name)
    lo, hi = bench.SPEED_DOMAINS[name]
    rng = np.random.default_rng(3)
    args = [rng.uniform(lo, hi, 1003).astype(dtype) for _ in range(ufunc.nin)]
    out = np.empty(1003, dtype)
    for layout in ("contiguous", "strided"):
        laid = [_layout(a, layout) for a in args]
        libm.feclearexcept(flags)
        vecmath._apply(ufunc, *laid, out=out)
        assert libm.fetestexcept(flags) == 0, layout


@pytest.mark.parametrize("layout", ["strided", "reversed", "stride0", "in place", "strided out"])
@pytest.mark.parametrize("name,dtype", LOOPS)
def test_every_layout_and_size_gives_the_contiguous_bits(name, dtype, layout):
    ufunc = _ufunc(name)
    rng = np.random.default_rng(11)
    pool = bench.operands(ufunc, dtype, size=500)
    for size in SIZES:
        pick = rng.integers(0, pool[0].size, size)
        args = [p[pick] for p in pool]
        if layout == "stride0":
            args = [np.broadcast_to(a[:1], a.shape) if size else a for a in args]
        expected = vecmath._apply(ufunc, *[np.ascontiguousarray(a) for a in args])
        if layout == "in place":
            out = args[0].copy()
            got = vecmath._apply(ufunc, out, *args[1:], out=out)
            assert got is out
        elif layout == "strided out":
            out = np.full(3 * size, 7, dtype)[::3]
            got = vecmath._apply(ufunc, *args, out=out)
            assert (out.base[1::3] == 7).all() and (out.base[2::3] == 7).all()
        else:
            got = vecmath._apply(ufunc, *[_layout(a, layout) for a in args])
        assert got.view(f"u{got.itemsize}").tolist() == expected.view(f"u{got.itemsize}").tolist(), size


@pytest.mark.parametrize("name", ["exp", "log1p", "cosh", "sin", "arctan2"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_split_over_threads_gives_the_same_bits(name, dtype):
    ufunc = _ufunc(name)
    args = bench.operands(ufunc, dtype, size=50_000)
    one = vecmath._apply(ufunc, *args)
    for chunks in (2, 3, 8):
        assert np.array_equal(vecmath._apply(ufunc, *args, chunks=chunks).view(f"u{one.itemsize}"),
                              one.view(f"u{one.itemsize}"))


def test_the_capsule_holds_a_numpy_inner_loop():
    """Called through its pointer with NumPy's PyUFuncGenericFunction arguments, as an
    evaluator calls it: (char **args, npy_intp const *dimensions, npy_intp const *steps, data)."""
    capsule = vecmath.vector_loop(np.log1p, np.float32)
    get_name = ctypes.pythonapi.PyCapsule_GetName
    get_name.restype, get_name.argtypes = ctypes.c_char_p, [ctypes.py_object]
    assert get_name(capsule).decode() == vecmath.CAPSULE_NAME == "pygrad.vecmath.loop"
    get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
    get_pointer.restype, get_pointer.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_char_p]
    signature = ctypes.CFUNCTYPE(None, ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_ssize_t),
                                 ctypes.POINTER(ctypes.c_ssize_t), ctypes.c_void_p)
    loop = signature(get_pointer(capsule, vecmath.CAPSULE_NAME.encode()))
    x = np.linspace(-0.5, 3, 21, dtype=np.float32)
    out = np.zeros(11, np.float32)
    args = (ctypes.c_void_p * 2)(x.ctypes.data, out.ctypes.data)
    loop(args, (ctypes.c_ssize_t * 1)(11), (ctypes.c_ssize_t * 2)(8, 4), None)  # every other x
    np.testing.assert_allclose(out, np.log1p(x[::2]), rtol=3e-7, atol=0)


@pytest.mark.parametrize("ufunc,dtype", [
    (np.exp, np.int64), (np.exp, np.float16), (np.exp, np.complex128), (np.exp, np.longdouble),
    (np.exp, np.dtype(np.float32).newbyteorder()), (np.exp, np.dtype(np.float64).newbyteorder()),
    (np.power, np.float32),
    (np.add, np.float32), (np.sqrt, np.float64), (np.exp, "not a dtype"), (np.exp, None),
    (len, np.float32), ([np.exp], np.float32),
])
def test_no_vector_loop_where_none_is_documented(ufunc, dtype):
    assert vecmath.vector_loop(ufunc, dtype) is None


def test_apply_refuses_what_no_loop_takes():
    x = np.ones(4, np.float32)
    with pytest.raises(TypeError, match="takes 1 inputs"):
        vecmath._apply(np.exp, x, x)
    with pytest.raises(ValueError, match="1-d arrays of one length and dtype"):
        vecmath._apply(np.exp, np.ones((2, 2), np.float32))
    with pytest.raises(ValueError, match="1-d arrays of one length and dtype"):
        vecmath._apply(np.arctan2, x, np.ones(4))
    with pytest.raises(ValueError, match="no vector loop for power"):
        vecmath._apply(np.power, x, x)
    with pytest.raises(ValueError, match="read-only"):
        vecmath._apply(np.exp, x, out=np.broadcast_to(x, (4,)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_ulp_distance_counts_floats_between(dtype):
    one, tiny = dtype(1), np.nextafter(dtype(0), dtype(1))
    a = np.array([1, np.nextafter(one, dtype(2)), -tiny, np.finfo(dtype).max, np.nan, np.nan, -0.0, 0.0, 2], dtype)
    b = np.array([1, np.nextafter(np.nextafter(one, dtype(0)), dtype(0)), tiny, np.inf, np.nan, 1, 0.0, 0.0, -2], dtype)
    distance = bench.ulp_distance(a, b)
    assert distance[:6].tolist() == [0, 3, 2, 1, 0, np.inf]
    assert distance[6] == np.inf and distance[7] == 0 and distance[8] > 2**29


def test_the_benchmark_prints_a_row_per_loop(capsys):
    assert bench.main(["--size", "1000"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ") and "ms" not in line]
    assert [tuple(row.split(" | ")[:2]) for row in rows] == [(f"| {name}", dtype) for name, dtype in LOOPS]
