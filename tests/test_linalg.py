"""``pygrad.linalg``: values, grad_fn names and gradients against PyTorch, and float64 gradchecks."""
import numpy as np
import pytest

import pygrad
from pygrad.autograd import gradcheck, gradgradcheck


def _spd(rng, *batch, n=3):
    a = rng.standard_normal(batch + (n, n))
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


def _well(rng, *shape):
    """A well-conditioned (batch of) square matrix."""
    n = shape[-1]
    return rng.standard_normal(shape) + 2 * n ** 0.5 * np.eye(n)


def _sym(L, A):
    return A + A.mT


# (name, function of the library and inputs, input arrays, grad_fn of the first output, twice differentiable)
CASES = [
    ("det", lambda L, A: L.linalg.det(A), lambda r: [_well(r, 3, 3)], "LinalgDetBackward0", True),
    ("det_batched", lambda L, A: L.linalg.det(A), lambda r: [_well(r, 2, 3, 3)], "LinalgDetBackward0", True),
    ("torch_det", lambda L, A: L.det(A), lambda r: [_well(r, 4, 4)], "LinalgDetBackward0", True),
    ("inv", lambda L, A: L.linalg.inv(A), lambda r: [_well(r, 2, 3, 3)], "LinalgInvExBackward0", True),
    ("inverse", lambda L, A: L.inverse(A), lambda r: [_well(r, 3, 3)], "LinalgInvExBackward0", True),
    ("slogdet", lambda L, A: L.linalg.slogdet(A).logabsdet, lambda r: [_well(r, 2, 3, 3)],
     "LinalgSlogdetBackward0", True),
    ("solve", lambda L, A, B: L.linalg.solve(A, B), lambda r: [_well(r, 3, 3), r.standard_normal((3, 2))],
     "LinalgSolveExBackward0", True),
    ("solve_vector", lambda L, A, B: L.linalg.solve(A, B), lambda r: [_well(r, 3, 3), r.standard_normal(3)],
     "LinalgSolveExBackward0", True),
    ("solve_broadcast", lambda L, A, B: L.linalg.solve(A, B),
     lambda r: [_well(r, 2, 3, 3), r.standard_normal((3, 2))], "LinalgSolveExBackward0", True),
    ("solve_right", lambda L, A, B: L.linalg.solve(A, B, left=False),
     lambda r: [_well(r, 3, 3), r.standard_normal((2, 3))], "LinalgSolveExBackward0", True),
    ("cholesky", lambda L, A: L.linalg.cholesky(A @ A.mT + 3 * L.eye(3, dtype=A.dtype)),
     lambda r: [r.standard_normal((2, 3, 3))], "LinalgCholeskyExBackward0", True),
    ("cholesky_upper", lambda L, A: L.linalg.cholesky(A @ A.mT + 3 * L.eye(3, dtype=A.dtype), upper=True),
     lambda r: [r.standard_normal((3, 3))], "LinalgCholeskyExBackward0", True),
    ("qr_square", lambda L, A: L.linalg.qr(A).Q * 2 + L.linalg.qr(A).R.sum(), lambda r: [r.standard_normal((3, 3))],
     "AddBackward0", True),
    ("qr_tall", lambda L, A: (lambda q: q.Q @ q.R.mT)(L.linalg.qr(A)), lambda r: [r.standard_normal((2, 4, 3))],
     "UnsafeViewBackward0", True),
    ("qr_R", lambda L, A: L.linalg.qr(A).R, lambda r: [r.standard_normal((4, 3))], "LinalgQrBackward0", True),
    ("eigh_values", lambda L, A: L.linalg.eigh(_sym(L, A)).eigenvalues, lambda r: [r.standard_normal((2, 3, 3))],
     "LinalgEighBackward0", True),
    ("eigh_vectors", lambda L, A: (lambda e: (e.eigenvectors * e.eigenvalues.unsqueeze(-2)) @ e.eigenvectors.mT)(
        L.linalg.eigh(_sym(L, A))), lambda r: [r.standard_normal((3, 3))], "MmBackward0", True),
    ("eigh_vectors_abs", lambda L, A: L.linalg.eigh(_sym(L, A)).eigenvectors.abs(),
     lambda r: [r.standard_normal((3, 3))], "AbsBackward0", False),
    ("eigvalsh", lambda L, A: L.linalg.eigvalsh(_sym(L, A)), lambda r: [r.standard_normal((3, 3))],
     "LinalgEighBackward0", True),
    ("svdvals", lambda L, A: L.linalg.svdvals(A), lambda r: [r.standard_normal((2, 4, 3))],
     "LinalgSvdBackward0", True),
    ("svd_tall", lambda L, A: (lambda u: u.U @ u.Vh)(L.linalg.svd(A, full_matrices=False)),
     lambda r: [r.standard_normal((4, 3))], "MmBackward0", True),
    ("svd_wide", lambda L, A: (lambda u: (u.U * u.S.unsqueeze(-2)) @ u.Vh + u.U @ u.Vh)(
        L.linalg.svd(A, full_matrices=False)), lambda r: [r.standard_normal((2, 3, 5))], "AddBackward0", True),
    ("svd_abs", lambda L, A: L.linalg.svd(A, full_matrices=False).U.abs(), lambda r: [r.standard_normal((3, 3))],
     "AbsBackward0", False),
    ("torch_svd", lambda L, A: (lambda u: u.U @ u.V.mT)(L.svd(A)), lambda r: [r.standard_normal((4, 3))],
     "MmBackward0", True),
    ("pinv_tall", lambda L, A: L.linalg.pinv(A), lambda r: [r.standard_normal((4, 3))], "LinalgPinvBackward0", True),
    ("pinv_wide", lambda L, A: L.linalg.pinv(A), lambda r: [r.standard_normal((2, 3, 5))],
     "LinalgPinvBackward0", True),
    ("lstsq", lambda L, A, B: L.linalg.lstsq(A, B).solution, lambda r: [r.standard_normal((5, 3)),
                                                                        r.standard_normal((5, 2))],
     "LinalgLstsqBackward0", True),
    ("lstsq_vector", lambda L, A, B: L.linalg.lstsq(A, B).solution,
     lambda r: [r.standard_normal((2, 5, 3)), r.standard_normal((2, 5))], "LinalgLstsqBackward0", True),
    ("cross", lambda L, a, b: L.linalg.cross(a, b), lambda r: [r.standard_normal((4, 3)), r.standard_normal((4, 3))],
     "LinalgCrossBackward0", True),
    ("matrix_exp", lambda L, A: L.linalg.matrix_exp(A), lambda r: [r.standard_normal((2, 3, 3))],
     "LinalgMatrixExpBackward0", True),
    ("matrix_exp_large", lambda L, A: L.matrix_exp(A), lambda r: [4 * r.standard_normal((4, 4))],
     "LinalgMatrixExpBackward0", False),
    ("cdist", lambda L, a, b: L.cdist(a, b), lambda r: [r.standard_normal((4, 3)), r.standard_normal((5, 3))],
     "CdistBackward0", True),
    ("cdist_p1_batched", lambda L, a, b: L.cdist(a, b, p=1),
     lambda r: [r.standard_normal((2, 4, 3)), r.standard_normal((2, 5, 3))], "CdistBackward0", False),
    ("cdist_p3", lambda L, a, b: L.cdist(a, b, p=3), lambda r: [r.standard_normal((4, 3)), r.standard_normal((2, 3))],
     "CdistBackward0", True),
    ("cdist_inf", lambda L, a, b: L.cdist(a, b, p=float("inf")),
     lambda r: [r.standard_normal((4, 3)), r.standard_normal((2, 3))], "CdistBackward0", False),
    ("dist", lambda L, a, b: L.dist(a, b, 3), lambda r: [r.standard_normal((2, 3)), r.standard_normal(3)],
     "DistBackward0", True),
    ("norm", lambda L, A: L.linalg.norm(A), lambda r: [r.standard_normal((3, 4))], "LinalgVectorNormBackward0", True),
    ("norm_nuc", lambda L, A: L.linalg.norm(A, "nuc"), lambda r: [r.standard_normal((3, 4))], "SumBackward1", True),
    ("norm_vec3", lambda L, A: L.linalg.norm(A, 3), lambda r: [r.standard_normal(5)], "LinalgVectorNormBackward0",
     True),
    ("vector_norm", lambda L, A: L.linalg.vector_norm(A, 1, dim=(0, 2)), lambda r: [r.standard_normal((2, 3, 4))],
     "LinalgVectorNormBackward0", False),
    ("matrix_norm_fro", lambda L, A: L.linalg.matrix_norm(A), lambda r: [r.standard_normal((2, 3, 4))],
     "LinalgVectorNormBackward0", True),
    ("matrix_norm_2", lambda L, A: L.linalg.matrix_norm(A, 2), lambda r: [r.standard_normal((2, 3, 4))],
     "AmaxBackward0", True),
    ("matrix_norm_1", lambda L, A: L.linalg.matrix_norm(A, 1), lambda r: [r.standard_normal((2, 3, 4))],
     "AmaxBackward0", False),
    ("matrix_norm_inf_keep", lambda L, A: L.linalg.matrix_norm(A, float("inf"), keepdim=True),
     lambda r: [r.standard_normal((2, 3, 4))], "AmaxBackward0", False),
    ("matrix_norm_neg1", lambda L, A: L.linalg.matrix_norm(A, -1), lambda r: [r.standard_normal((3, 4))],
     "AminBackward0", False),
    ("matrix_power", lambda L, A: L.linalg.matrix_power(A, 3), lambda r: [r.standard_normal((3, 3))],
     "MmBackward0", True),
]
IDS = [c[0] for c in CASES]


def _inputs(case, rng):
    return [pygrad.tensor(a, requires_grad=True) for a in case[2](rng)]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_gradcheck(case, rng):
    assert gradcheck(lambda *xs: case[1](pygrad, *xs), _inputs(case, rng))


@pytest.mark.parametrize("case", [c for c in CASES if c[4]], ids=[c[0] for c in CASES if c[4]])
def test_gradgradcheck(case, rng):
    assert gradgradcheck(lambda *xs: case[1](pygrad, *xs), _inputs(case, rng))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_matches_torch(case, dtype, rng, torch):
    arrays = [a.astype(dtype) for a in case[2](rng)]
    ours = [pygrad.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, ref = case[1](pygrad, *ours), case[1](torch, *theirs)
    assert type(out.grad_fn).__name__ == type(ref.grad_fn).__name__ == case[3]
    assert out.dtype.name == str(ref.dtype).removeprefix("torch.")
    tol = dict(rtol=2e-4, atol=2e-4) if dtype == "float32" else dict(rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), **tol)
    seed = rng.standard_normal(tuple(ref.shape)).astype(dtype)
    out.backward(pygrad.tensor(seed))
    ref.backward(torch.tensor(seed))
    for x, y in zip(ours, theirs):
        np.testing.assert_allclose(x.grad.numpy(), y.grad.numpy(), **tol)


def test_return_types_print_as_torch(torch):
    a = [[2.0, 1.0], [1.0, 3.0]]
    for fn in (lambda L, A: L.linalg.slogdet(A), lambda L, A: L.linalg.eigh(A), lambda L, A: L.svd(A),
               lambda L, A: L.linalg.qr(A)):
        ours, ref = fn(pygrad, pygrad.tensor(a)), fn(torch, torch.tensor(a))
        assert type(ours).__name__ == type(ref).__name__
        assert repr(ours) == repr(ref)


def test_lstsq_fields_match_torch(torch):
    a = [[1.0, 2.0], [3.0, 4.0], [5.0, 7.0]]
    b = [[1.0], [2.0], [4.0]]
    for driver in (None, "gelsd"):
        ours = pygrad.linalg.lstsq(pygrad.tensor(a), pygrad.tensor(b), driver=driver)
        ref = torch.linalg.lstsq(torch.tensor(a), torch.tensor(b), driver=driver)
        assert type(ours).__name__ == "linalg_lstsq"
        for x, y in zip(ours, ref):
            assert tuple(x.shape) == tuple(y.shape)
            np.testing.assert_allclose(x.numpy(), y.numpy(), rtol=1e-5, atol=1e-5)


def test_singular_det_gradient_is_the_cofactor():
    # PyTorch 2.13 returns zeros here (its LU-based backward multiplies by det == 0); pygrad gives
    # the cofactor matrix, the true gradient, which the numerical check confirms.
    a = pygrad.tensor([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [0.5, 1.0, 1.0]], dtype=pygrad.float64, requires_grad=True)
    assert pygrad.linalg.det(a).item() == 0
    assert gradcheck(pygrad.linalg.det, [a])


@pytest.mark.parametrize("call", [
    lambda L: L.linalg.solve(L.tensor([[1.0, 0.0], [0.0, 0.0]]), L.ones(2)),
    lambda L: L.linalg.inv(L.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]])),
    lambda L: L.linalg.cholesky(-L.eye(3)),
    lambda L: L.linalg.cholesky(L.stack([L.eye(2), -L.eye(2)])),
    lambda L: L.linalg.inv(L.ones(2, 3)),
    lambda L: L.linalg.det(L.ones(3)),
    lambda L: L.linalg.solve(L.eye(3), L.ones(2)),
    lambda L: L.linalg.inv(L.ones(3, 3, dtype=L.long)),
    lambda L: L.cdist(L.ones(2, 3), L.ones(2, 4)),
])
def test_errors_match_torch(call, torch):
    with pytest.raises(Exception) as expected:
        call(torch)
    with pytest.raises(RuntimeError) as ours:
        call(pygrad)
    assert str(ours.value) == str(expected.value)
    if isinstance(expected.value, torch.linalg.LinAlgError):
        assert isinstance(ours.value, pygrad.linalg.LinAlgError)
