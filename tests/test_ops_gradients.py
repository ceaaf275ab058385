"""Every op of the table: float64 numerical gradient checks, and the same program on PyTorch."""
import numpy as np
import pytest

import pygrad
from pygrad.autograd import gradcheck, gradgradcheck

from op_table import CORE_OPS
from op_table_math import MATH_OPS
from op_table_shape import SHAPE_OPS
from op_table_extras import EXTRA_OPS
from op_table_common import COMMON_OPS
from op_table_nn import NN_ACTIVATION_OPS, NN_LOSS_OPS

CASES = CORE_OPS + SHAPE_OPS + MATH_OPS + EXTRA_OPS + COMMON_OPS + NN_ACTIVATION_OPS + NN_LOSS_OPS
IDS = [c.name for c in CASES]


def _pygrad_inputs(case, rng, dtype=np.float64):
    return [pygrad.tensor(a, requires_grad=True) for a in case.inputs(rng, dtype)]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_gradcheck_float64(case, rng):
    assert gradcheck(lambda *xs: case.fn(pygrad, *xs), _pygrad_inputs(case, rng))


@pytest.mark.parametrize("case", [c for c in CASES if c.twice_differentiable],
                         ids=[c.name for c in CASES if c.twice_differentiable])
def test_gradgradcheck_float64(case, rng):
    assert gradgradcheck(lambda *xs: case.fn(pygrad, *xs), _pygrad_inputs(case, rng))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_float32_gradients_agree_with_float64(case, rng):
    arrays = case.inputs(rng)
    grads = {}
    for dtype in (np.float64, np.float32):
        xs = [pygrad.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
        out = case.fn(pygrad, *xs)
        out.backward(pygrad.ones_like(out))
        grads[dtype] = [x.grad.numpy() for x in xs]
        for x, g in zip(xs, grads[dtype]):
            assert g.dtype == dtype and g.shape == x.shape
    for g32, g64 in zip(grads[np.float32], grads[np.float64]):
        np.testing.assert_allclose(g32, g64, rtol=2e-3, atol=1e-5)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_matches_torch(case, dtype, rng, torch):
    arrays = case.inputs(rng, np.dtype(dtype))
    ours = [pygrad.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, ref = case.fn(pygrad, *ours), case.fn(torch, *theirs)
    assert type(out.grad_fn).__name__ == type(ref.grad_fn).__name__ == case.grad_fn
    assert out.dtype.name == str(ref.dtype).removeprefix("torch.")
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == "float32" else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), **tol)
    seed = rng.standard_normal(ref.shape).astype(dtype)
    out.backward(pygrad.tensor(seed))
    ref.backward(torch.tensor(seed))
    for x, t in zip(ours, theirs):
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), **tol)
    if dtype == "float64":
        # Printed text at 4 decimals; values are equal to ~1e-12, far below what rounding could flip
        # except at exact ties, which random inputs do not hit.
        assert repr(out) == repr(ref)
