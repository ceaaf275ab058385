"""Compiled coverage is checked: every kernel the op table calls that the native backend compiles
runs compiled for float32/float64 operands of every layout (contiguous, 0-d, stride-0 broadcast
views such as expand's, strided, transposed and reversed views, real broadcasting such as a bias
row against a batch), never the pure NumPy kernel it falls back to for other dtypes, and gives
the pure kernel's result bit for bit (arithmetic) or to rounding (NumPy's transcendental ufuncs),
laid out as NumPy lays it out."""
import inspect

import numpy as np
import pytest

from pygrad._native import kernel_table
from pygrad._pure import kernels as pure
from pygrad.ops import optable

native = pytest.importorskip("pygrad._native.kernels", reason="the compiled modules are not built")


def _compiled(name: str) -> bool:
    """A kernel the native module implements itself (the others are the pure ones, re-exported)."""
    return getattr(native, name) is not getattr(pure, name)


TABLE_KERNELS = sorted({name for names in optable.kernels_used().values() for name in names})
# Kernels along an axis rather than elementwise: tests/test_row_kernels.py covers them.
ROW_KERNELS = {"log_softmax", "log_softmax_backward"}
COMPILED = [name for name in TABLE_KERNELS if _compiled(name) and name not in ROW_KERNELS]


def _layouts(arity: int, dtype, rng):
    """Operand tuples of one dtype in the layouts a backward meets, each with a name."""
    def full(shape=(3, 4)):
        return rng.uniform(0.5, 2.0, shape).astype(dtype)

    def strided():
        return full((6, 4))[::2]

    def transposed():
        return full((4, 3)).T

    def stride0():  # expand's output, as in every sum().backward()
        return np.broadcast_to(full((1, 4)), (3, 4))

    def uniform():
        return np.broadcast_to(full(()), (3, 4))

    def permuted():
        return full((4, 2, 3)).transpose(1, 2, 0)

    cases = {"contiguous": [full() for _ in range(arity)],
             "0-d": [full(())] * arity,
             "0-d others": [full()] + [full(()) for _ in range(arity - 1)],
             "0-d first": [full(())] + [full() for _ in range(arity - 1)],
             "stride-0": [full()] + [stride0() for _ in range(arity - 1)],
             "stride-0 first": [stride0()] + [full() for _ in range(arity - 1)],
             "uniform stride-0": [uniform()] + [full() for _ in range(arity - 1)],
             "all uniform": [uniform() for _ in range(arity)],
             "strided": [strided() for _ in range(arity)],
             "transposed": [transposed()] + [full() for _ in range(arity - 1)],
             "all transposed": [transposed() for _ in range(arity)],
             "reversed": [full()[::-1, ::-2] for _ in range(arity)],
             "permuted 3-d": [permuted() for _ in range(arity)],
             "bias row": [full()] + [full((4,)) for _ in range(arity - 1)],
             "column": [full((3, 1))] + [full() for _ in range(arity - 1)],
             "outer": [full((3, 1))] + [full((1, 4)) for _ in range(arity - 1)],
             "1-element (1, 1)": [full((1, 1))] + [full(()) for _ in range(arity - 1)],
             "empty": [full((0, 4)) for _ in range(arity)]}
    return cases


# The kernels computed with NumPy's transcendental ufuncs agree to rounding; the others bit for bit.
TRANSCENDENTAL = {"pow", "exp", "log", "sin", "cos", "tanh", "sigmoid", "pow_backward",
                  "pow_backward_exponent", "sin_backward", "cos_backward"}


# The kernels whose pure twin is one NumPy ufunc, whose result's layout NumPy decides alone (the
# others' depends on their temporaries, which NumPy may reuse).
ONE_UFUNC = {"add", "sub", "mul", "div", "neg", "sqrt", "abs", "reciprocal", "mul_backward",
             "div_backward_a", "exp_backward", "log_backward"} | set(kernel_table.UFUNCS)


def _assert_same(got, want, name, layout):
    assert got.dtype == want.dtype and got.shape == want.shape, (name, layout)
    if name in ONE_UFUNC or name == "copy":
        assert got.strides == want.strides, (name, layout, "laid out as NumPy lays out the result")
    if name in TRANSCENDENTAL or name in kernel_table.UFUNCS:
        np.testing.assert_allclose(got, want, rtol=1e-6 if got.dtype == np.float32 else 1e-12, err_msg=layout)
    else:
        assert got.tobytes() == want.tobytes(), (name, layout, "bit for bit")


def test_the_table_uses_compiled_kernels():
    assert {"add", "mul", "mul_backward", "sin_backward", "pow_backward"} <= set(COMPILED)


@pytest.mark.parametrize("name", COMPILED)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compiled_kernels_take_every_float_layout(name, dtype, rng, monkeypatch):
    fallbacks = []
    reference = getattr(pure, name)
    monkeypatch.setattr(pure, name, lambda *args: fallbacks.append(args) or reference(*args))
    arity = len(inspect.signature(reference).parameters)
    for layout, operands in _layouts(arity, dtype, rng).items():
        with np.errstate(all="ignore"):
            got = getattr(native, name)(*operands)
            want = reference(*operands)
        assert not fallbacks, f"{name} ran the NumPy fallback for {layout} {dtype.__name__} operands"
        _assert_same(got, want, name, layout)


@pytest.mark.parametrize("name", COMPILED)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_large_operands_of_every_layout(name, dtype, rng):
    """The same from the size where the single-ufunc kernels run NumPy's own loop and where the
    loops split over threads."""
    reference = getattr(pure, name)
    arity = len(inspect.signature(reference).parameters)
    shape = (256, 300)
    for layout, operands in {
            "strided": [rng.uniform(0.5, 2.0, (256, 600)).astype(dtype)[:, ::2] for _ in range(arity)],
            "transposed": [rng.uniform(0.5, 2.0, shape[::-1]).astype(dtype).T]
                          + [rng.uniform(0.5, 2.0, shape).astype(dtype) for _ in range(arity - 1)],
            "bias row": [rng.uniform(0.5, 2.0, shape).astype(dtype)]
                        + [rng.uniform(0.5, 2.0, shape[1:]).astype(dtype) for _ in range(arity - 1)]}.items():
        with np.errstate(all="ignore"):
            _assert_same(getattr(native, name)(*operands), reference(*operands), name, layout)


def test_integers_and_mixed_dtypes_run_the_pure_kernel(monkeypatch):
    calls = []
    reference = pure.add
    monkeypatch.setattr(pure, "add", lambda *args: calls.append(args) or reference(*args))
    assert native.add(np.arange(3), np.arange(3)).tolist() == [0, 2, 4]
    assert native.add(np.zeros(3), np.ones(3, np.float32)).tolist() == [1.0] * 3
    assert len(calls) == 2


def test_operands_that_do_not_broadcast_get_numpys_error():
    with pytest.raises(ValueError, match="could not be broadcast"):
        native.add(np.zeros((2, 3)), np.ones(4))


def test_the_native_module_compiles_what_the_kernel_table_lists():
    listed = set(kernel_table.LOOPS) | set(kernel_table.UFUNCS)
    assert all(callable(getattr(pure, name)) for name in listed)  # every compiled kernel has its pure twin
    assert {name for name in listed if _compiled(name)} == listed


SPECIAL = [0.0, -0.0, 1.5, -2.25, np.inf, -np.inf, np.nan, 1e-310, 3e38]


@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "neg", "relu", "mul_backward"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_zero_d_operands_of_special_values(name, dtype):
    """0-d arithmetic (the operands of scalar graphs, run without planning a loop) gives the pure
    kernel's bits on signed zeros, infinities, NaN, denormals and overflow."""
    reference = getattr(pure, name)
    arity = len(inspect.signature(reference).parameters)
    values = [np.array(v, dtype) for v in SPECIAL]
    pairs = [(a,) for a in values] if arity == 1 else [(a, b) for a in values for b in values]
    for operands in pairs:
        with np.errstate(all="ignore"):
            got = getattr(native, name)(*operands)
            want = reference(*operands)
        assert type(got) is np.ndarray and got.shape == () and got.dtype == want.dtype
        if np.isnan(want):
            assert np.isnan(got), (name, operands)
        else:
            assert got.tobytes() == np.asarray(want).tobytes(), (name, operands, got, want)
