"""The compiled kernels and engine give the pure backend's results.

Arithmetic agrees bit for bit (same operation order, IEEE, no fma); transcendental
functions within rtol 1e-6 (float32) / 1e-12 (float64).  Inputs cover random values,
special values and sizes around the size from which the loops run on several threads.
"""
import numpy as np
import pytest

import pygrad
from pygrad import _backend
from pygrad._pure import kernels as pure

native = pytest.importorskip("pygrad._native.kernels")
THRESHOLD = native.PARALLEL_MIN_SIZE

# name -> number of array arguments; exact: bit for bit, else within rounding.
EXACT = {
    "add": 2, "sub": 2, "mul": 2, "div": 2, "neg": 1, "relu": 1, "abs": 1, "reciprocal": 1,
    "sqrt": 1, "mul_backward": 2, "div_backward_a": 2, "div_backward_b": 3, "exp_backward": 2,
    "log_backward": 2, "sqrt_backward": 2, "tanh_backward": 2, "sigmoid_backward": 2,
    "relu_backward": 2, "abs_backward": 2, "reciprocal_backward": 2, "copy": 1,
}
TRANSCENDENTAL = {
    "pow": 2, "exp": 1, "log": 1, "sin": 1, "cos": 1, "tanh": 1, "sigmoid": 1,
    "pow_backward": 3, "pow_backward_exponent": 4, "sin_backward": 2, "cos_backward": 2,
}
RTOL = {np.float32: 1e-6, np.float64: 1e-12}
DTYPES = [np.float32, np.float64]
SIZES = [0, 1, 7, 1000, THRESHOLD - 1, THRESHOLD, THRESHOLD + 1]


def special_values(dtype):
    info = np.finfo(dtype)
    return np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 2.0, 0.5, info.max, -info.max,
                     info.tiny, -info.tiny, info.smallest_subnormal, 88.7, -103.9, 710.0, -745.2,
                     1e4, -1e4, np.pi, 3.0], dtype=dtype)


def operands(rng, dtype, size, nargs):
    """Random arrays (normal, some scaled up) with the special values mixed in."""
    arrays = []
    for k in range(nargs):
        a = rng.standard_normal(size) * np.where(rng.random(size) < 0.1, 1e3, 2.0)
        a = a.astype(dtype)
        specials = special_values(dtype)
        if size:
            idx = rng.choice(size, size=min(size, 3 * len(specials)), replace=False)
            a[idx] = rng.permutation(np.resize(specials, len(idx)))
        arrays.append(a)
    return arrays


def assert_exact(ours, ref):
    ours, ref = np.asarray(ours), np.asarray(ref)
    assert ours.dtype == ref.dtype and ours.shape == ref.shape
    same = (ours == ref) | (np.isnan(ours) & np.isnan(ref))
    assert same.all(), f"{(~same).sum()} elements differ, e.g. {ours[~same][:5]} vs {ref[~same][:5]}"
    zeros = ref == 0
    assert (np.signbit(ours[zeros]) == np.signbit(ref[zeros])).all(), "signed zeros differ"


def assert_close(ours, ref):
    ours, ref = np.asarray(ours), np.asarray(ref)
    assert ours.dtype == ref.dtype and ours.shape == ref.shape
    info = np.finfo(ref.dtype)
    assert (np.isnan(ours) == np.isnan(ref)).all()
    finite = np.isfinite(ref)
    assert (ours[~finite & ~np.isnan(ref)] == ref[~finite & ~np.isnan(ref)]).all(), "infinities differ"
    # Relative, except in the subnormal range where results carry fewer significant bits.
    np.testing.assert_allclose(ours[finite], ref[finite], rtol=RTOL[ref.dtype.type], atol=info.tiny)


def run_both(name, args):
    with np.errstate(all="ignore"):
        return getattr(native, name)(*args), getattr(pure, name)(*args)


def check(name, args):
    ours, ref = run_both(name, args)
    (assert_exact if name in EXACT else assert_close)(ours, ref)


ALL = sorted({**EXACT, **TRANSCENDENTAL}.items())


def domain_fix(name, args):
    # The exponent kernels need p == 0 and base == 0 cases, and pow needs integral exponents too.
    if name in ("pow", "pow_backward") and args[-1].size:
        args[-1][::5] = np.round(args[-1][::5])
        args[-1][::7] = 0
    if name == "pow_backward_exponent" and args[2].size:
        args[2][::6] = 0
    return args


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,nargs", ALL)
def test_same_shape_operands(name, nargs, dtype, size, rng):
    check(name, domain_fix(name, operands(rng, dtype, size, nargs)))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,nargs", [c for c in ALL if c[1] > 1])
@pytest.mark.parametrize("size", [5, THRESHOLD + 3])
def test_one_element_operand(name, nargs, dtype, size, rng):
    """Each argument in turn as a 0-d or (1,) array against full arrays (``x * 2.5``)."""
    scalars = special_values(dtype)[:9] if size < 100 else special_values(dtype)[[0, 2, 4, 8]]
    for position in range(nargs):
        for scalar in scalars:
            for shape in ((), (1,)):
                args = operands(rng, dtype, size, nargs)
                args[position] = np.full(shape, scalar, dtype)
                check(name, args)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,nargs", ALL)
def test_all_scalar_operands(name, nargs, dtype, rng):
    """0-d operands everywhere: the scalar path."""
    values = special_values(dtype)
    for _ in range(40):
        args = [np.array(rng.choice(values) if rng.random() < 0.5 else rng.standard_normal(), dtype)
                for _ in range(nargs)]
        check(name, args)
        args[0] = args[0].reshape(1, 1)
        check(name, args)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,nargs", ALL)
def test_every_layout(name, nargs, dtype, rng):
    """Strided views, broadcasting, Fortran order, mixed dtypes: same results."""
    base = operands(rng, dtype, 48, nargs)
    strided = [a[::2] for a in base]
    check(name, strided)
    grid = [a.reshape(6, 8) for a in base]
    check(name, [grid[0]] + [g[:1] for g in grid[1:]])            # (6, 8) with (1, 8)
    check(name, [g.T for g in grid])                               # Fortran-ordered
    check(name, [grid[0]] + [np.broadcast_to(g[:, :1], (6, 8)) for g in grid[1:]])
    if nargs > 1:
        with np.errstate(over="ignore"):
            other = np.float32 if dtype is np.float64 else np.float64
            mixed = [base[0]] + [a.astype(other) for a in base[1:]]
        check(name, mixed)


def test_integer_operands_fall_back(rng):
    a, b = rng.integers(-5, 5, 30), rng.integers(1, 5, 30)
    for name in ("add", "sub", "mul", "neg", "abs", "relu"):
        args = (a, b)[:EXACT[name]]
        assert_exact(*run_both(name, args))


@pytest.mark.parametrize("dtype", DTYPES)
def test_stride_zero_gradient(dtype, rng):
    """An expanded gradient (stride 0, like sum's backward) is read as one value."""
    g = np.broadcast_to(np.array(1.5, dtype), (THRESHOLD + 5,))
    x = rng.standard_normal(THRESHOLD + 5).astype(dtype)
    for name in ("mul_backward", "tanh_backward", "relu_backward", "sqrt_backward"):
        check(name, (g, x))
    check("pow_backward", (g, x, np.array(2.0, dtype)))


@pytest.mark.parametrize("dtype", DTYPES)
def test_scalar_arithmetic_does_not_use_numpy_ufuncs(dtype):
    # NumPy's ufuncs raise under errstate(all="raise"); the compiled arithmetic follows IEEE.
    with np.errstate(all="raise"):
        assert native.div(np.array(1.0, dtype), np.array(0.0, dtype)) == np.inf
        assert native.reciprocal_backward(np.array(1.0, dtype), np.array(np.inf, dtype)) == -np.inf
        with pytest.raises(FloatingPointError):
            pure.div(np.array(1.0, dtype), np.array(0.0, dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_transcendental_kernels_run_numpys_ufuncs(dtype):
    # They call NumPy's public ufuncs (no private loop tables), so they honour errstate as
    # the pure kernels do.
    for kernels in (native, pure):
        with np.errstate(all="raise"), pytest.raises(FloatingPointError):
            kernels.log(np.array(-1.0, dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", [1, 7, THRESHOLD + 1])
def test_accumulate_adds_in_place(dtype, size, rng):
    for src_of in (lambda a: a, lambda a: a[:1].reshape(()), lambda a: np.broadcast_to(a[:1], a.shape)):
        dst, src = operands(rng, dtype, size, 2)
        expected = dst.copy()
        with np.errstate(all="ignore"):
            pure.accumulate(expected, src_of(src))
            out = native.accumulate(dst, src_of(src))
        assert out is dst
        assert_exact(dst, expected)


def test_accumulate_overlapping_source():
    a = np.arange(10.0)
    b = np.arange(10.0)
    native.accumulate(a[1:], a[:-1])
    pure.accumulate(b[1:], b[:-1])
    assert_exact(a, b)
    c = np.arange(4.0)
    native.accumulate(c, c)
    assert_exact(c, np.arange(4.0) * 2)


def test_result_is_a_new_array(rng):
    a, b = operands(rng, np.float64, 10, 2)
    out = native.add(a, b)
    assert out is not a and out is not b and out.flags.c_contiguous and out.flags.owndata


def _train_step(seed):
    """Forward and backward of a small graph that reaches every compiled kernel."""
    rng = np.random.default_rng(seed)
    results = []
    for dtype in (pygrad.float32, pygrad.float64):
        x = pygrad.tensor(rng.standard_normal((3, 4)), dtype=dtype, requires_grad=True)
        y = pygrad.tensor(rng.random((3, 4)) + 0.5, dtype=dtype, requires_grad=True)
        s = pygrad.tensor(1.7, dtype=dtype, requires_grad=True)
        z = (x * y + x / y - y ** s + (x * 2.5).exp().log() + y.sqrt() - x.sin() * x.cos()
             + x.tanh() + x.sigmoid() + x.relu() + x.abs() + y.reciprocal() + 2.0 ** x - (-x) ** 2)
        (z.sum() * s).backward()
        results.append((z.detach().numpy(), x.grad.numpy(), y.grad.numpy(), s.grad.numpy()))
    return results


def test_whole_graph_agrees_across_backends():
    per_backend = {}
    for name in _backend.available():
        with _backend.use(name):
            per_backend[name] = _train_step(7)
    reference = per_backend["pure"]
    for name, results in per_backend.items():
        for ours, ref in zip(results, reference):
            for a, b in zip(ours, ref):
                assert_close(a, b)


def test_engine_order_and_hooks(backend):
    """Hooks see gradients in the same order and with the same values on every backend."""
    seen = []
    x = pygrad.tensor([1.0, 2.0, 3.0], requires_grad=True)
    a = x * 2
    b = x.exp()
    a.register_hook(lambda g: seen.append(("a", g.tolist())))
    b.register_hook(lambda g: seen.append(("b", g.tolist())))
    x.register_hook(lambda g: seen.append(("x", g.tolist())))
    (a * b).sum().backward()
    assert [name for name, _ in seen] == ["b", "a", "x"]
    np.testing.assert_allclose(x.grad.numpy(), (2 * np.exp([1.0, 2, 3]) * (1 + np.array([1.0, 2, 3]))),
                               rtol=1e-6)


def test_large_results_reuse_freed_buffers(rng):
    """Big results come from a cache of freed buffers: same values, no shared storage."""
    native._release_buffers()
    a, b = operands(rng, np.float32, 1 << 19, 2)  # 2 MiB each
    first = native.mul(a, b)
    address = first.ctypes.data
    expected = first.copy()
    del first
    assert native._cached_bytes() == a.nbytes
    second = native.add(a, b)
    assert second.ctypes.data == address and native._cached_bytes() == 0
    third = native.mul(a, b)
    assert third.ctypes.data != second.ctypes.data
    assert_exact(third, expected)
    assert_exact(second, pure.add(a, b))
    del second, third
    assert native._release_buffers() == 2 * a.nbytes and native._cached_bytes() == 0


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("p", [3.0, 2.0, 1.5, 1.0, 0.5, 0.0, -1.0, 2.5])
def test_pow_backward_by_one_exponent(dtype, p, rng):
    """x**(p-1) without pow() for the exponents NumPy's power loop also computes without it."""
    x = np.concatenate([rng.uniform(0.1, 3, THRESHOLD + 5), [0.0, -0.0, np.inf, np.nan, -2.0]]).astype(dtype)
    g = rng.standard_normal(x.size).astype(dtype)
    with np.errstate(all="ignore"):
        check("pow_backward", (g, x, np.array(p, dtype)))


@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_warns_of_nothing(dtype):
    """exp(-x) overflows to inf for large negative x, rightly (sigmoid is 0 there): no warning,
    with or without such an x."""
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for kernels in (native, pure):
            assert kernels.sigmoid(np.array([-1000.0, 0.0, 1000.0], dtype)).tolist() == [0.0, 0.5, 1.0]
            assert kernels.sigmoid(np.array([-80.0, 0.0], dtype))[1] == 0.5
