"""addmm/baddbmm write the scaled input into the product they made: the same numbers as adding
a new array (NumPy, bit for bit), for every input shape that broadcasts, and PyTorch's."""
import numpy as np
import pytest

import pygrad


@pytest.mark.parametrize("c_shape", [(3, 4), (4,), (1, 4), (3, 1), (1, 1), ()])
@pytest.mark.parametrize("beta, alpha", [(1, 1), (0.5, -2), (0, 1), (2, 1)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_addmm_matches_numpy_and_torch(c_shape, beta, alpha, dtype, rng, torch, backend):
    c, a, b = (rng.standard_normal(s).astype(dtype) for s in (c_shape, (3, 5), (5, 4)))
    out = pygrad.addmm(pygrad.tensor(c), pygrad.tensor(a), pygrad.tensor(b), beta=beta, alpha=alpha)
    product = np.matmul(a, b)
    if alpha != 1:
        product = product * product.dtype.type(alpha)
    expected = product if beta == 0 else product + (c if beta == 1 else c * c.dtype.type(beta))
    assert out.numpy().dtype == expected.dtype and out.numpy().tobytes() == expected.tobytes()
    ref = torch.addmm(torch.tensor(c), torch.tensor(a), torch.tensor(b), beta=beta, alpha=alpha)
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-5 if dtype == "float32" else 1e-12)


@pytest.mark.parametrize("c_shape", [(2, 3, 4), (4,), (3, 4), (1, 3, 1)])
def test_baddbmm_matches_torch(c_shape, rng, torch):
    c, a, b = (rng.standard_normal(s) for s in (c_shape, (2, 3, 5), (2, 5, 4)))
    out = pygrad.baddbmm(pygrad.tensor(c), pygrad.tensor(a), pygrad.tensor(b), beta=0.5, alpha=3)
    ref = torch.baddbmm(torch.tensor(c), torch.tensor(a), torch.tensor(b), beta=0.5, alpha=3)
    np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-12)


def test_the_input_is_not_written(rng):
    c = pygrad.tensor(rng.standard_normal((3, 4)))
    before = c.numpy().copy()
    pygrad.addmm(c, pygrad.tensor(rng.standard_normal((3, 2))), pygrad.tensor(rng.standard_normal((2, 4))))
    np.testing.assert_array_equal(c.numpy(), before)
