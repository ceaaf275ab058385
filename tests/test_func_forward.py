"""``pygrad.func.jvp``/``jacfwd``/``hessian`` and the forward-mode paths of
``autograd.functional``, against ``torch.func`` and ``torch.autograd.functional`` on a table of
functions, in float64 and float32, on both backends."""
import numpy as np
import pytest

import pygrad
from pygrad import func as pfunc
from pygrad.autograd import functional as pfunctional


def _mlp(m, x, w1, b1, w2):
    return m.tanh(x @ w1.T + b1) @ w2.T


def _loss(m, x, w):
    logits = x.reshape(3, 2) @ w
    return m.nn.functional.cross_entropy(logits, m.tensor([0, 2, 1])) + m.nn.functional.mse_loss(logits, logits * 0.5)


# name, fn(m, *xs), input shapes; every function maps tensors to one tensor
FUNCTIONS = [
    ("elementwise", lambda m, x, y: m.sin(x) * m.exp(y) + x / (1 + y * y), ((4,), (4,))),
    ("activations", lambda m, x: m.sigmoid(x) + m.nn.functional.gelu(x) + m.nn.functional.softplus(x), ((2, 3),)),
    ("reductions", lambda m, x: m.stack([x.sum(), x.mean(), x.var(), x.std(1).sum(), x.logsumexp(0).sum(),
                                         x.norm(), x.amax(1).sum(), x.prod()]), ((2, 3),)),
    ("softmax", lambda m, x: m.softmax(x, 1) * m.log_softmax(x, 0), ((2, 3),)),
    ("matmul", lambda m, a, b: a @ b + (a @ b) @ (a @ b) * 0.1 + m.mm(b, a).sum(), ((3, 2), (2, 3))),
    ("shapes", lambda m, x: m.cat([x.T.reshape(-1), x[1:, ::2].flatten(), x.unsqueeze(0).expand(2, 2, 3).sum(0)[0]]),
     ((2, 3),)),
    ("mlp", _mlp, ((5, 3), (4, 3), (4,), (2, 4))),
    ("loss", _loss, ((6,), (2, 3))),
]
IDS = [f[0] for f in FUNCTIONS]
SCALAR = [f for f in FUNCTIONS if f[0] in ("elementwise", "reductions", "mlp", "loss")]


def _arrays(shapes, rng, dtype):
    return [rng.uniform(0.2, 1.5, size=s).astype(dtype) for s in shapes]


def _tol(dtype):
    return dict(rtol=2e-4, atol=2e-5) if dtype == "float32" else dict(rtol=1e-9, atol=1e-11)


def _both(arrays, torch):
    return [pygrad.tensor(a) for a in arrays], [torch.tensor(a) for a in arrays]


def _close(ours, theirs, tol):
    if isinstance(ours, (tuple, list)):
        assert isinstance(theirs, (tuple, list)) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            _close(a, b, tol)
        return
    assert ours.shape == tuple(theirs.shape) and ours.dtype.name == str(theirs.dtype).removeprefix("torch.")
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), **tol)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,fn,shapes", FUNCTIONS, ids=IDS)
def test_jvp_matches_torch_func(name, fn, shapes, dtype, rng, torch, backend):
    ours, theirs = _both(_arrays(shapes, rng, dtype), torch)
    t_ours, t_theirs = _both([rng.standard_normal(s).astype(dtype) for s in shapes], torch)
    got = pfunc.jvp(lambda *xs: fn(pygrad, *xs), tuple(ours), tuple(t_ours))
    ref = torch.func.jvp(lambda *xs: fn(torch, *xs), tuple(theirs), tuple(t_theirs))
    _close(got, ref, _tol(dtype))
    got = pfunctional.jvp(lambda *xs: fn(pygrad, *xs), tuple(ours), tuple(t_ours))
    ref = torch.autograd.functional.jvp(lambda *xs: fn(torch, *xs), tuple(theirs), tuple(t_theirs))
    _close(got, ref, _tol(dtype))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,fn,shapes", FUNCTIONS, ids=IDS)
def test_jacfwd_matches_torch_func(name, fn, shapes, dtype, rng, torch, backend):
    ours, theirs = _both(_arrays(shapes, rng, dtype), torch)
    argnums = tuple(range(len(shapes)))
    got = pfunc.jacfwd(lambda *xs: fn(pygrad, *xs), argnums=argnums)(*ours)
    ref = torch.func.jacfwd(lambda *xs: fn(torch, *xs), argnums=argnums)(*theirs)
    _close(got, ref, _tol(dtype))
    got = pfunctional.jacobian(lambda *xs: fn(pygrad, *xs), tuple(ours), vectorize=True, strategy="forward-mode")
    ref = torch.autograd.functional.jacobian(lambda *xs: fn(torch, *xs), tuple(theirs), vectorize=True,
                                             strategy="forward-mode")
    _close(got, ref, _tol(dtype))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,fn,shapes", SCALAR, ids=[f[0] for f in SCALAR])
def test_hessian_matches_torch_func(name, fn, shapes, dtype, rng, torch, backend):
    ours, theirs = _both(_arrays(shapes, rng, dtype), torch)
    scalar = (lambda m: lambda *xs: fn(m, *xs).sum())
    got = pfunc.hessian(scalar(pygrad), argnums=0)(*ours)
    ref = torch.func.hessian(scalar(torch), argnums=0)(*theirs)
    _close(got, ref, _tol(dtype))
    got = pfunctional.hessian(scalar(pygrad), tuple(ours), vectorize=True, outer_jacobian_strategy="forward-mode")
    ref = torch.autograd.functional.hessian(scalar(torch), tuple(theirs))
    _close(got, ref, _tol(dtype))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,fn,shapes", SCALAR, ids=[f[0] for f in SCALAR])
def test_forward_mode_over_the_reverse_transforms(name, fn, shapes, dtype, rng, torch, backend):
    """jacfwd(jacrev(f)) and jvp of grad(f) compose as in torch.func: the reverse transforms keep
    their arguments' tangents (they used to drop them, giving zeros)."""
    ours, theirs = _both(_arrays(shapes, rng, dtype), torch)
    scalar = (lambda m: lambda *xs: fn(m, *xs).sum())
    got = pfunc.jacfwd(pfunc.jacrev(scalar(pygrad)))(*ours)
    ref = torch.func.jacfwd(torch.func.jacrev(scalar(torch)))(*theirs)
    _close(got, ref, _tol(dtype))
    t_ours, t_theirs = _both([rng.standard_normal(shapes[0]).astype(dtype)], torch)
    got = pfunc.jvp(lambda x: pfunc.grad(scalar(pygrad))(x, *ours[1:]), (ours[0],), tuple(t_ours))
    ref = torch.func.jvp(lambda x: torch.func.grad(scalar(torch))(x, *theirs[1:]), (theirs[0],), tuple(t_theirs))
    _close(got, ref, _tol(dtype))


@pytest.mark.parametrize("name,fn,shapes", FUNCTIONS, ids=IDS)
def test_jacfwd_agrees_with_finite_differences(name, fn, shapes, rng, backend):
    """A gradcheck of forward mode: central differences of the function in float64."""
    arrays = _arrays(shapes, rng, np.float64)
    jac = pfunc.jacfwd(lambda *xs: fn(pygrad, *xs), argnums=tuple(range(len(shapes))))(*map(pygrad.tensor, arrays))
    eps = 1e-6
    for k, a in enumerate(arrays):
        numeric = []
        for j in range(a.size):
            shifted = []
            for sign in (1, -1):
                b = [x.copy() for x in arrays]
                b[k].reshape(-1)[j] += sign * eps
                shifted.append(fn(pygrad, *map(pygrad.tensor, b)).numpy())
            numeric.append((shifted[0] - shifted[1]) / (2 * eps))
        numeric = np.stack(numeric, -1).reshape(jac[k].shape)
        np.testing.assert_allclose(jac[k].numpy(), numeric, rtol=1e-5, atol=1e-7)


def test_has_aux_and_nested_structures(torch):
    x, y = np.array([0.5, 1.0, 2.0]), np.array([1.5, -0.5, 0.25])

    def f(m):
        def inner(d):
            return {"a": d["x"] * d["y"], "b": (d["x"].sin(),)}, d["x"].sum()
        return inner
    primals = {"x": x, "y": y}
    ours = pfunc.jvp(f(pygrad), ({k: pygrad.tensor(v) for k, v in primals.items()},),
                     ({k: pygrad.ones(3, dtype=pygrad.float64) for k in primals},), has_aux=True)
    theirs = torch.func.jvp(f(torch), ({k: torch.tensor(v) for k, v in primals.items()},),
                            ({k: torch.ones(3, dtype=torch.float64) for k in primals},), has_aux=True)
    for o, t in zip(ours[:2], theirs[:2]):
        _close([o["a"], o["b"][0]], [t["a"], t["b"][0]], _tol("float64"))
    _close(ours[2], theirs[2], _tol("float64"))
    jac, aux = pfunc.jacfwd(lambda v: (v.exp(), v.sum()), has_aux=True)(pygrad.tensor(x))
    ref, ref_aux = torch.func.jacfwd(lambda v: (v.exp(), v.sum()), has_aux=True)(torch.tensor(x))
    _close([jac, aux], [ref, ref_aux], _tol("float64"))


def test_errors_have_pytorch_text(torch):
    def both(call):
        errors = []
        for m in (pygrad, torch):
            with pytest.raises(Exception) as info:
                call(m)
            errors.append((type(info.value).__name__, str(info.value)))
        assert errors[0] == errors[1]

    both(lambda m: m.func.jvp(m.sin, m.ones(3), (m.ones(3),)))
    both(lambda m: m.func.jvp(m.sin, (m.ones(3),), m.ones(3)))
    both(lambda m: m.func.jvp(m.sin, (m.ones(3),), (m.ones(3), m.ones(3))))
    both(lambda m: m.func.jvp(m.sin, (m.ones(3),), (m.ones(2),)))
    both(lambda m: m.func.jvp(lambda x: 3, (m.ones(3),), (m.ones(3),)))
    both(lambda m: m.func.jvp(m.sin, (), ()))
    both(lambda m: m.func.jvp(m.sin, (1.0,), (1.0,)))
    both(lambda m: m.func.jacfwd(m.sin, randomness="x")(m.ones(3)))
    both(lambda m: m.func.jacfwd(m.sin, argnums=2)(m.ones(3)))
    both(lambda m: m.autograd.functional.jacobian(m.sin, m.ones(3), strict=True, vectorize=True,
                                                  strategy="forward-mode"))
    both(lambda m: m.autograd.functional.hessian(lambda x: x.sum(), m.ones(3),
                                                 outer_jacobian_strategy="forward-mode"))
