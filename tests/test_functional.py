"""pygrad.autograd.functional against torch.autograd.functional: values, nesting, errors."""
import numpy as np
import pytest

import pygrad


def _F(m):
    return m.autograd.functional


def _same(ours, ref):
    """Equal nesting, shapes, dtypes and values (to float64 rounding)."""
    if isinstance(ref, tuple):
        assert isinstance(ours, tuple) and len(ours) == len(ref)
        for a, b in zip(ours, ref):
            _same(a, b)
        return
    assert not isinstance(ours, tuple)
    assert tuple(ours.shape) == tuple(ref.shape) and str(ours.dtype) == str(ref.dtype)
    np.testing.assert_allclose(ours.detach().numpy(), ref.detach().numpy(), rtol=1e-10, atol=1e-12)
    assert ours.requires_grad == ref.requires_grad


def _both(torch, make):
    return make(pygrad), make(torch)


def _x(m):
    return m.tensor([1.0, 2.0, -0.5], dtype=m.float64)


def _y(m):
    return m.tensor([0.5, -1.0, 2.0], dtype=m.float64)


CALLS = {
    "jacobian_single": lambda m: _F(m).jacobian(lambda a: a ** 3, _x(m)),
    "jacobian_scalar_out": lambda m: _F(m).jacobian(lambda a: (a.exp() * a).sum(), _x(m)),
    "jacobian_0d_in": lambda m: _F(m).jacobian(lambda a: a * 2, m.tensor(3.0, dtype=m.float64)),
    "jacobian_tuple": lambda m: _F(m).jacobian(lambda a, b: (a * b, a.exp().sum()), (_x(m), _y(m))),
    "jacobian_matrix": lambda m: _F(m).jacobian(lambda a: a.reshape(3, 1) * a.softmax(0), _x(m)),
    "jacobian_unused": lambda m: _F(m).jacobian(lambda a, b: a * 2, (_x(m), _y(m))),
    "jacobian_vectorize": lambda m: _F(m).jacobian(lambda a: a.sin(), _x(m), vectorize=True),
    "hessian_single": lambda m: _F(m).hessian(lambda a: (a ** 3).sum(), _x(m)),
    "hessian_tuple": lambda m: _F(m).hessian(lambda a, b: (a * a * b).sum(), (_x(m), _y(m))),
    "hessian_logsumexp": lambda m: _F(m).hessian(lambda a: a.logsumexp(0), _x(m)),
    "vjp": lambda m: _F(m).vjp(lambda a: a ** 3, _x(m), m.ones(3, dtype=m.float64)),
    "vjp_scalar_default_v": lambda m: _F(m).vjp(lambda a: (a * a).sum(), _x(m)),
    "vjp_tuple": lambda m: _F(m).vjp(lambda a, b: (a * b, a + b), (_x(m), _y(m)), (_y(m), _x(m))),
    "jvp": lambda m: _F(m).jvp(lambda a: a ** 3, _x(m), m.ones(3, dtype=m.float64)),
    "jvp_tuple": lambda m: _F(m).jvp(lambda a, b: (a * b, a.exp().sum()), (_x(m), _y(m)), (_y(m), _x(m))),
    "vhp": lambda m: _F(m).vhp(lambda a: (a ** 3).sum(), _x(m), _y(m)),
    "hvp_tuple": lambda m: _F(m).hvp(lambda a, b: (a * a * b).sum(), (_x(m), _y(m)), (_y(m), _x(m))),
}


@pytest.mark.parametrize("name", list(CALLS))
def test_matches_torch(name, torch):
    ours, ref = _both(torch, CALLS[name])
    _same(ours, ref)


def test_printed_results_match_torch(torch):
    for name in ("jacobian_single", "hessian_tuple", "jvp", "vjp_tuple"):
        ours, ref = _both(torch, CALLS[name])
        assert repr(ours) == repr(ref)


def test_create_graph_keeps_results_differentiable(torch):
    out = []
    for m in (pygrad, torch):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        jac = _F(m).jacobian(lambda a: a ** 3, x, create_graph=True)
        assert jac.requires_grad
        jac.sum().backward()
        _, g = _F(m).vjp(lambda a: a.sin(), x, m.ones(2), create_graph=True)
        (h,) = m.autograd.grad(g.sum(), x)
        out.append((repr(x.grad), repr(h)))
        # Without create_graph the results are detached even for an input that requires grad.
        assert not _F(m).jacobian(lambda a: a ** 3, x).requires_grad
    assert out[0] == out[1]


def test_hessian_create_graph_third_derivative():
    x = pygrad.tensor([0.5, 1.5], dtype=pygrad.float64, requires_grad=True)
    h = pygrad.autograd.functional.hessian(lambda a: (a ** 4).sum(), x, create_graph=True)
    (d3,) = pygrad.autograd.grad(h.sum(), x)
    np.testing.assert_allclose(d3.numpy(), 24 * np.array([0.5, 1.5]))


ERRORS = {
    "vjp_needs_v": lambda m: _F(m).vjp(lambda a: a ** 3, _x(m)),
    "jvp_needs_v": lambda m: _F(m).jvp(lambda a: a ** 3, _x(m)),
    "hessian_scalar": lambda m: _F(m).hessian(lambda a: a ** 3, _x(m)),
    "hessian_tuple_output": lambda m: _F(m).hessian(lambda a: (a.sum(), a.sum()), _x(m)),
    "strict_unused": lambda m: _F(m).jacobian(lambda a, b: a * 2, (_x(m), _y(m)), strict=True),
    "v_wrong_length": lambda m: _F(m).vjp(lambda a: a * 2, _x(m), (m.ones(3), m.ones(3))),
}


@pytest.mark.parametrize("name", list(ERRORS))
def test_errors_match_torch(name, torch):
    texts = []
    for m in (pygrad, torch):
        with pytest.raises(RuntimeError) as info:
            ERRORS[name](m)
        texts.append(str(info.value))
    assert texts[0] == texts[1]


def test_non_tensor_input_is_a_type_error(torch):
    for m in (pygrad, torch):
        with pytest.raises(TypeError, match="The inputs given to jacobian must be either a Tensor or a tuple of Tensors"):
            _F(m).jacobian(lambda a: a, [1.0, 2.0])
