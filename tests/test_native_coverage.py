"""Compiled coverage is checked: every kernel the op table calls that the native backend compiles
runs compiled for the float32/float64 operand layouts of a backward pass (contiguous, 0-d,
stride-0 broadcast views such as expand's, strided and transposed views), never the pure NumPy
kernel it falls back to for other dtypes and for operands of another shape than the result's."""
import inspect

import numpy as np
import pytest

from pygrad._pure import kernels as pure
from pygrad.ops import optable

native = pytest.importorskip("pygrad._native.kernels", reason="the compiled modules are not built")


def _compiled(name: str) -> bool:
    """A kernel the native module implements itself (the others are the pure ones, re-exported)."""
    return getattr(native, name) is not getattr(pure, name)


TABLE_KERNELS = sorted({name for names in optable.kernels_used().values() for name in names})
COMPILED = [name for name in TABLE_KERNELS if _compiled(name)]


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

    cases = {"contiguous": [full() for _ in range(arity)],
             "0-d": [full(())] * arity,
             "0-d others": [full()] + [full(()) for _ in range(arity - 1)],
             "0-d first": [full(())] + [full() for _ in range(arity - 1)],
             "stride-0": [full()] + [stride0() for _ in range(arity - 1)],
             "uniform stride-0": [uniform()] + [full() for _ in range(arity - 1)],
             "strided": [strided() for _ in range(arity)],
             "transposed": [transposed()] + [full() for _ in range(arity - 1)]}
    return cases


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
        assert got.dtype == want.dtype and got.shape == want.shape, (name, layout)
        np.testing.assert_allclose(got, want, rtol=1e-6 if dtype == np.float32 else 1e-12, err_msg=layout)


def test_integers_and_real_broadcasting_still_run_the_pure_kernel(monkeypatch):
    calls = []
    reference = pure.add
    monkeypatch.setattr(pure, "add", lambda *args: calls.append(args) or reference(*args))
    assert native.add(np.arange(3), np.arange(3)).tolist() == [0, 2, 4]
    row = np.ones(3)
    assert native.add(np.zeros((2, 3)), row).tolist() == [[1.0] * 3] * 2
    assert len(calls) == 2


def test_the_native_module_compiles_what_the_kernel_table_lists():
    from pygrad._native import kernel_table
    listed = set(kernel_table.LOOPS) | set(kernel_table.UFUNCS)
    assert all(callable(getattr(pure, name)) for name in listed)  # every compiled kernel has its pure twin
    assert {name for name in listed if _compiled(name)} == listed
