"""pygrad.func against torch.func: vmap, grad, grad_and_value, vjp, jacrev, functional_call."""
import warnings

import numpy as np
import pytest

import pygrad
import pygrad.nn.functional as F
from pygrad import func

DTYPES = ["float64", "float32"]
TOL = {"float64": dict(rtol=1e-9, atol=1e-10), "float32": dict(rtol=1e-4, atol=1e-5)}


def _pair(torch, array, dtype):
    a = np.asarray(array, dtype=dtype)
    return pygrad.tensor(a), torch.tensor(a)


def _close(ours, theirs, dtype):
    if isinstance(ours, (tuple, list)):
        assert len(ours) == len(theirs)
        for o, t in zip(ours, theirs):
            _close(o, t, dtype)
        return
    if isinstance(ours, dict):
        assert list(ours) == list(theirs)
        for k in ours:
            _close(ours[k], theirs[k], dtype)
        return
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert str(ours.dtype) == str(theirs.dtype)
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), **TOL[dtype])


# One sample's functions, written once for both libraries (``T`` is the library).
def _mlp(T, w1, b1, w2, b2, x):
    return T.nn.functional.linear(T.tanh(T.nn.functional.linear(x, w1, b1)), w2, b2)


FUNCTIONS = {
    "sin_mul": lambda T, x: T.sin(x) * x + 2,
    "exp_div": lambda T, x: x.exp() / (1 + x * x),
    "relu_sigmoid": lambda T, x: T.relu(x) + T.sigmoid(x) ** 2,
    "sum": lambda T, x: x.sum(),
    "mean_dim": lambda T, x: x.reshape(2, 2).mean(0),
    "max_var": lambda T, x: x.max() + x.var() + x.norm(),
    "logsumexp": lambda T, x: T.logsumexp(x, 0),
    "softmax": lambda T, x: T.softmax(x, 0),
    "log_softmax": lambda T, x: T.nn.functional.log_softmax(x * 2, dim=-1),
    "matmul_vec": lambda T, x: T.arange(12.0, dtype=x.dtype).reshape(3, 4) @ x,
    "outer_trace": lambda T, x: T.outer(x, x).triu().sum(1) + T.outer(x, x).trace(),
    "shapes": lambda T, x: T.stack([x, x.flip(0)], 1).T.reshape(-1)[2:7].unsqueeze(0).squeeze(),
    "cat_index": lambda T, x: T.cat([x[1:], x[[0, 2]], x[::2]]) * x.cumsum(0)[-1],
    "where_clamp": lambda T, x: T.where(x > 0.1, x, x.clamp(-0.5, 0.5)) ** 3,
    "einsum": lambda T, x: T.einsum("i,ij,j->i", x, T.outer(x, x.cos()), x) + T.einsum("ii->i", T.outer(x, x)),
    "conv_pool": lambda T, x: T.nn.functional.avg_pool2d(T.nn.functional.max_pool2d(T.nn.functional.conv2d(
        T.nn.functional.pad(x.reshape(1, 1, 2, 2), (1, 1, 1, 1)), T.arange(8.0, dtype=x.dtype).reshape(2, 1, 2, 2),
        T.ones(2, dtype=x.dtype)), 2, 1), 2).flatten(),
    "layer_norm": lambda T, x: T.nn.functional.layer_norm(x.reshape(2, 2), (2,), T.ones(2, dtype=x.dtype) * 2,
                                                          T.zeros(2, dtype=x.dtype) + 0.5),
    "bce": lambda T, x: T.nn.functional.binary_cross_entropy_with_logits(x, T.ones(4, dtype=x.dtype) * 0.3)
    + T.nn.functional.binary_cross_entropy(x.sigmoid(), T.ones(4, dtype=x.dtype) * 0.6, reduction="sum"),
    "matrix_functions": lambda T, x: T.linalg.inv(T.outer(x, x) + T.eye(4, dtype=x.dtype) * 3).sum(0)
    + T.linalg.det(T.outer(x, x.cos()) + T.eye(4, dtype=x.dtype)) + T.linalg.slogdet(T.outer(x, x) + T.eye(4, dtype=x.dtype))[1]
    + T.matrix_exp(T.outer(x, x) / 10).sum(1)
    + T.linalg.cholesky(T.outer(x, x) + T.eye(4, dtype=x.dtype)).sum(0),
    "solve": lambda T, x: T.linalg.solve(T.outer(x, x) + T.eye(4, dtype=x.dtype) * 3, x)
    + T.linalg.solve(T.eye(4, dtype=x.dtype) * 2 + 0.1, x) + T.linalg.solve(T.outer(x, x.sin()) + T.eye(4, dtype=x.dtype)
                                                                          * 4, T.ones(4, 3, dtype=x.dtype)).sum(1),
    "mse": lambda T, x: T.nn.functional.mse_loss(x, T.ones(4, dtype=x.dtype) * 0.3),
    "cross_entropy": lambda T, x: T.nn.functional.cross_entropy(x.reshape(1, 4), T.tensor([2])),
    "mlp": lambda T, x: _mlp(T, T.ones(5, 4, dtype=x.dtype) * 0.1 + T.arange(20, dtype=x.dtype).reshape(5, 4) / 40,
                             T.ones(5, dtype=x.dtype) * 0.2, T.arange(15, dtype=x.dtype).reshape(3, 5) / 15,
                             T.zeros(3, dtype=x.dtype), x),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_vmap_matches_torch(torch, backend, rng, name, dtype):
    f = FUNCTIONS[name]
    ours, theirs = _pair(torch, rng.standard_normal((6, 4)), dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every op of the table has a batching rule: no per-sample fallback
        result = func.vmap(lambda x: f(pygrad, x))(ours)
    _close(result, torch.func.vmap(lambda x: f(torch, x))(theirs), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_jacrev_matches_torch(torch, backend, rng, name, dtype):
    f = FUNCTIONS[name]
    ours, theirs = _pair(torch, rng.standard_normal(4), dtype)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="There is a performance drop")  # no per-sample fallback
        warnings.filterwarnings("ignore", message=".*aten::(avg_pool2d|max_pool2d_with_indices)_backward")
        got = func.jacrev(lambda x: f(pygrad, x))(ours)
    _close(got, torch.func.jacrev(lambda x: f(torch, x))(theirs), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_vmap_of_jacrev_matches_torch(torch, backend, rng, name, dtype):
    f = FUNCTIONS[name]
    ours, theirs = _pair(torch, rng.standard_normal((3, 4)), dtype)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="There is a performance drop")
        warnings.filterwarnings("ignore", message=".*aten::(avg_pool2d|max_pool2d_with_indices)_backward")
        got = func.vmap(func.jacrev(lambda x: f(pygrad, x)))(ours)
    _close(got,
           torch.func.vmap(torch.func.jacrev(lambda x: f(torch, x)))(theirs), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["sum", "max_var", "mse", "cross_entropy"])
def test_grad_and_vmap_of_grad(torch, backend, rng, name, dtype):
    f = FUNCTIONS[name]
    ours, theirs = _pair(torch, rng.standard_normal((5, 4)), dtype)
    _close(func.grad(lambda x: f(pygrad, x))(ours[0]), torch.func.grad(lambda x: f(torch, x))(theirs[0]), dtype)
    _close(func.vmap(func.grad(lambda x: f(pygrad, x)))(ours),
           torch.func.vmap(torch.func.grad(lambda x: f(torch, x)))(theirs), dtype)


def _mlp_params(T, rng, dtype):
    shapes = {"w1": (8, 3), "b1": (8,), "w2": (2, 8), "b2": (2,)}
    return {k: T.tensor(np.asarray(rng.standard_normal(s) * 0.5, dtype=dtype)) for k, s in shapes.items()}


def _mlp_loss(T, params, x, y):
    out = _mlp(T, params["w1"], params["b1"], params["w2"], params["b2"], x.unsqueeze(0))
    return T.nn.functional.cross_entropy(out, y.unsqueeze(0))


@pytest.mark.parametrize("dtype", DTYPES)
def test_per_sample_gradients_of_an_mlp(torch, backend, dtype):
    ours = _mlp_params(pygrad, np.random.default_rng(0), dtype)
    theirs = _mlp_params(torch, np.random.default_rng(0), dtype)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((16, 3)).astype(dtype)
    y = rng.integers(0, 2, 16)
    got = func.vmap(func.grad(lambda p, a, b: _mlp_loss(pygrad, p, a, b)), in_dims=(None, 0, 0))(
        ours, pygrad.tensor(x), pygrad.tensor(y))
    want = torch.func.vmap(torch.func.grad(lambda p, a, b: _mlp_loss(torch, p, a, b)), in_dims=(None, 0, 0))(
        theirs, torch.tensor(x), torch.tensor(y))
    _close(got, want, dtype)
    # and the same as a loop of ordinary backward passes
    for i in (0, 7):
        p = {k: v.clone().requires_grad_() for k, v in ours.items()}
        _mlp_loss(pygrad, p, pygrad.tensor(x[i]), pygrad.tensor(y[i])).backward()
        for k in p:
            np.testing.assert_allclose(got[k][i].numpy(), p[k].grad.numpy(), **TOL[dtype])


def test_functional_call_with_a_module(torch, backend):
    def build(T):
        T.manual_seed(0)
        return T.nn.Sequential(T.nn.Linear(3, 5), T.nn.ReLU(), T.nn.Linear(5, 2)).double()
    ours_m, theirs_m = build(pygrad), build(torch)
    rng = np.random.default_rng(2)
    params = {k: rng.standard_normal(tuple(v.shape)) for k, v in theirs_m.named_parameters()}
    x = rng.standard_normal((4, 3))
    ours_p = {k: pygrad.tensor(v) for k, v in params.items()}
    theirs_p = {k: torch.tensor(v) for k, v in params.items()}
    before = ours_m[0].weight
    _close(func.functional_call(ours_m, ours_p, (pygrad.tensor(x),)),
           torch.func.functional_call(theirs_m, theirs_p, (torch.tensor(x),)), "float64")
    assert ours_m[0].weight is before
    # gradients with respect to the dict of parameters
    g_ours = func.grad(lambda p: func.functional_call(ours_m, p, pygrad.tensor(x)).pow(2).sum())(ours_p)
    g_theirs = torch.func.grad(lambda p: torch.func.functional_call(theirs_m, p, torch.tensor(x)).pow(2).sum())(
        theirs_p)
    _close(g_ours, g_theirs, "float64")


def test_functional_call_restores_on_error_and_checks_keys(torch):
    m = pygrad.nn.Linear(2, 2)
    weight = m.weight
    with pytest.raises(RuntimeError):
        func.functional_call(m, {"weight": pygrad.ones(3, 3)}, (pygrad.ones(2),))
    assert m.weight is weight
    with pytest.raises(RuntimeError) as ours:
        func.functional_call(m, {"weight": pygrad.ones(2, 2), "foo": pygrad.ones(1)}, (pygrad.ones(2),), strict=True)
    with pytest.raises(RuntimeError) as theirs:
        torch.func.functional_call(torch.nn.Linear(2, 2), {"weight": torch.ones(2, 2), "foo": torch.ones(1)},
                                   (torch.ones(2),), strict=True)
    assert str(ours.value) == str(theirs.value)
    with pytest.raises(ValueError, match="appeared in multiple dictionaries"):
        func.functional_call(m, ({"weight": weight}, {"weight": weight}), (pygrad.ones(2),))


@pytest.mark.parametrize("in_dims,out_dims", [(0, 0), (1, 0), (0, 1), (-1, -1), ((1, None), 0), ((0, None), (1, 0))])
def test_in_dims_out_dims(torch, backend, rng, in_dims, out_dims):
    a = rng.standard_normal((4, 4))
    b = rng.standard_normal(4)

    def f(T):
        def inner(x, y):
            return (x * y + 1, x.sum() * y) if isinstance(out_dims, tuple) else x * y + x.sum()
        return inner
    dims = in_dims if isinstance(in_dims, tuple) else (in_dims, None)
    got = func.vmap(f(pygrad), in_dims=dims, out_dims=out_dims)(pygrad.tensor(a), pygrad.tensor(b))
    want = torch.func.vmap(f(torch), in_dims=dims, out_dims=out_dims)(torch.tensor(a), torch.tensor(b))
    _close(got, want, "float64")


def test_nested_vmap_and_pytrees(torch, backend, rng):
    a, b = rng.standard_normal((3, 4, 5)), rng.standard_normal((4, 5))

    def f(T):
        return lambda d: {"s": (d["x"] * d["y"]).sum(), "m": d["x"] @ d["y"]}
    got = func.vmap(func.vmap(f(pygrad), in_dims=({"x": 0, "y": None},)), in_dims=({"x": 1, "y": None},))(
        {"x": pygrad.tensor(a), "y": pygrad.tensor(b[0])})
    want = torch.func.vmap(torch.func.vmap(f(torch), in_dims=({"x": 0, "y": None},)),
                           in_dims=({"x": 1, "y": None},))({"x": torch.tensor(a), "y": torch.tensor(b[0])})
    _close(got, want, "float64")
    # matmul with both operands batched at different levels
    x, y = rng.standard_normal((2, 3, 4)), rng.standard_normal((5, 4, 2))
    got = func.vmap(lambda p: func.vmap(lambda q: p @ q)(pygrad.tensor(y)))(pygrad.tensor(x))
    want = torch.func.vmap(lambda p: torch.func.vmap(lambda q: p @ q)(torch.tensor(y)))(torch.tensor(x))
    _close(got, want, "float64")


def test_chunk_size_and_jacrev_options(torch, backend, rng):
    x = rng.standard_normal((7, 3))
    got = func.vmap(lambda t: t.sin().sum(), chunk_size=3)(pygrad.tensor(x))
    _close(got, torch.func.vmap(lambda t: t.sin().sum())(torch.tensor(x)), "float64")

    def f(T):
        return lambda a, b: ((a * b).sin(), {"aux": a.sum()})
    got = func.jacrev(f(pygrad), argnums=(0, 1), has_aux=True, chunk_size=2)(pygrad.tensor(x[0]), pygrad.tensor(x[1]))
    want = torch.func.jacrev(f(torch), argnums=(0, 1), has_aux=True)(torch.tensor(x[0]), torch.tensor(x[1]))
    _close(got[0], want[0], "float64")
    _close(got[1]["aux"], want[1]["aux"], "float64")


def test_vjp_and_grad_options(torch, backend, rng):
    x, y = rng.standard_normal(3), rng.standard_normal(3)

    def f(T):
        return lambda a, b: ((a * b).exp(), a - b)
    out, fn = func.vjp(f(pygrad), pygrad.tensor(x), pygrad.tensor(y))
    t_out, t_fn = torch.func.vjp(f(torch), torch.tensor(x), torch.tensor(y))
    _close(out, t_out, "float64")
    ct = (pygrad.tensor(y), pygrad.tensor(x))
    _close(fn(ct), t_fn((torch.tensor(y), torch.tensor(x))), "float64")
    # vmap over the cotangents: the rows of the Jacobian
    eye = np.eye(3)
    _close(func.vmap(fn)((pygrad.tensor(eye), pygrad.tensor(eye))),
           torch.func.vmap(t_fn)((torch.tensor(eye), torch.tensor(eye))), "float64")

    def g(T):
        return lambda a, b: ((a * b).sin().sum(), a.cos())
    got = func.grad_and_value(g(pygrad), argnums=(1, 0), has_aux=True)(pygrad.tensor(x), pygrad.tensor(y))
    want = torch.func.grad_and_value(g(torch), argnums=(1, 0), has_aux=True)(torch.tensor(x), torch.tensor(y))
    _close(got, want, "float64")


def test_higher_order(torch, backend, rng):
    x = rng.standard_normal(4)

    def f(T):
        return lambda t: (t.sin() * t ** 2).sum()
    _close(func.grad(func.grad(f(pygrad)))(pygrad.tensor(x[0])) if False else
           func.jacrev(func.grad(f(pygrad)))(pygrad.tensor(x)),
           torch.func.jacrev(torch.func.grad(f(torch)))(torch.tensor(x)), "float64")
    _close(func.jacrev(func.jacrev(lambda t: t.tanh() * t.sum()))(pygrad.tensor(x)),
           torch.func.jacrev(torch.func.jacrev(lambda t: t.tanh() * t.sum()))(torch.tensor(x)), "float64")


def _error(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - the type and text are what is compared
        return type(e).__name__, str(e)
    return None


@pytest.mark.parametrize("case", [
    lambda T: T.func.grad(lambda t: t * 2)(T.ones(3)),
    lambda T: T.func.grad(lambda t: t.sum(), argnums=2)(T.ones(3)),
    lambda T: T.func.grad(lambda t: t.sum(), argnums=1.5)(T.ones(3)),
    lambda T: T.func.grad(lambda t: t.sum(), argnums=())(T.ones(3)),
    lambda T: T.func.grad(lambda t: t.sum(), argnums=(0, 0))(T.ones(3)),
    lambda T: T.func.grad(lambda t: (t.sum(),))(T.ones(3)),
    lambda T: T.func.grad(lambda t: t.sum(), has_aux=True)(T.ones(3)),
    lambda T: T.func.grad(lambda t: t.sum())(3.0),
    lambda T: T.func.grad(lambda t: t.sum())(T.ones(3, dtype=T.long)),
    lambda T: T.func.vmap(lambda a, b: a + b)(T.ones(3), T.ones(2)),
    lambda T: T.func.vmap(lambda a: a, in_dims=2)(T.ones(3)),
    lambda T: T.func.vmap(lambda a: a, in_dims=None)(T.ones(3)),
    lambda T: T.func.vmap(lambda a: a, in_dims=[0])(T.ones(3)),
    lambda T: T.func.vmap(lambda a: 3.0)(T.ones(3)),
    lambda T: T.func.vmap(lambda a: a)(3.0),
    lambda T: T.func.vmap(lambda a: a)(),
    lambda T: T.func.vmap(lambda a: T.rand(2))(T.ones(3)),
    lambda T: T.func.vmap(lambda a: a, randomness="bad")(T.ones(3)),
    lambda T: T.func.vmap(lambda a: a.item())(T.ones(3)),
    lambda T: T.func.vmap(lambda a: bool(a))(T.ones(3)),
    lambda T: T.func.vmap(lambda a: a, out_dims=None)(T.ones(3)),
    lambda T: T.func.vmap(lambda a: a.nonzero())(T.ones(3, 2)),
    lambda T: T.func.vmap(lambda a: a, chunk_size=0)(T.ones(3)),
    lambda T: T.func.jacrev(lambda a: a, chunk_size=0)(T.ones(3)),
    lambda T: T.func.jacrev(lambda a: 2)(T.ones(3)),
    lambda T: T.func.jacrev(lambda a: a, has_aux=True)(T.ones(3)),
    lambda T: T.func.jacrev(lambda a: a.long())(T.ones(3)),
    lambda T: T.func.jacrev(lambda a: a, argnums=3)(T.ones(3)),
    lambda T: T.func.vjp(lambda a: a * 2, T.ones(3))[1]((T.ones(3),)),
], ids=lambda c: "")
def test_errors_match_torch(torch, case):
    import pygrad.func  # noqa: F401
    theirs = _error(lambda: case(torch))
    assert theirs is not None
    assert _error(lambda: case(pygrad)) == theirs


def test_printing_inside_vmap(torch, capsys):
    x = np.arange(6.0).reshape(2, 3)
    func.vmap(func.vmap(lambda t: print(t) or t), in_dims=1)(pygrad.tensor(x))
    ours = capsys.readouterr().out
    torch.func.vmap(torch.func.vmap(lambda t: print(t) or t), in_dims=1)(torch.tensor(x))
    assert ours == capsys.readouterr().out


def test_missing_rule_runs_per_sample_with_torch_warning(torch, backend, rng):
    x = rng.standard_normal((3, 5))
    with pytest.warns(UserWarning, match="batching rule for aten::kthvalue"):
        got = func.vmap(lambda t: t.kthvalue(2).values)(pygrad.tensor(x))
    _close(got, torch.func.vmap(lambda t: t.kthvalue(2).values)(torch.tensor(x)), "float64")


def test_randomness(backend):
    x = pygrad.zeros(4, 3)
    same = func.vmap(lambda t: t + pygrad.rand(3), randomness="same")(x)
    assert np.allclose(same.numpy(), same.numpy()[0])
    different = func.vmap(lambda t: t + pygrad.rand(3), randomness="different")(x)
    assert different.shape == (4, 3) and not np.allclose(different.numpy(), different.numpy()[0])


def test_ops_outside_vmap_are_unaffected_after_an_error():
    with pytest.raises(ValueError):
        func.vmap(lambda a: 3.0)(pygrad.ones(3))
    from pygrad.autograd import op_observers
    assert dispatch_not_installed(op_observers)
    assert float(pygrad.ones(2).sum()) == 2.0


def dispatch_not_installed(op_observers):
    from pygrad.func._batched import dispatch
    return dispatch not in op_observers.observers


INPLACE = {
    "methods": lambda T, x: (lambda y: (y.mul_(x), y.add_(1), y.clamp_(max=2.0), y)[-1])(x.clone()),
    "setitem": lambda T, x: (lambda y: (y.__setitem__(0, 5.0), y.__setitem__(slice(1, 3), x[2:] * 10), y)[-1])(
        x.clone()),
    "fill_zero": lambda T, x: (lambda y: (y[1:].zero_(), y[:1].fill_(3.0), y)[-1])(x.clone()),
}


@pytest.mark.parametrize("name", sorted(INPLACE))
def test_inplace_ops_on_batched_tensors(torch, backend, rng, name):
    f = INPLACE[name]
    x = rng.standard_normal((3, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = func.vmap(lambda t: f(pygrad, t))(pygrad.tensor(x))
    _close(got, torch.func.vmap(lambda t: f(torch, t))(torch.tensor(x)), "float64")
    # and through grad: the in-place ops are recorded on the physical tensors
    _close(func.vmap(func.grad(lambda t: f(pygrad, t).sin().sum()))(pygrad.tensor(x)),
           torch.func.vmap(torch.func.grad(lambda t: f(torch, t).sin().sum()))(torch.tensor(x)), "float64")


def test_inplace_into_an_unbatched_tensor_is_refused_as_in_torch(torch):
    def f(T):
        return lambda x: T.zeros(4, dtype=x.dtype).copy_(x)

    def g(T):
        return lambda x: (lambda y: (y.__setitem__(slice(0, 2), x[2:]), y)[1])(T.zeros(4, dtype=x.dtype))
    for fn in (f, g):
        theirs = _error(lambda: torch.func.vmap(fn(torch))(torch.ones(3, 4)))
        assert theirs[1].startswith("vmap: inplace arithmetic")
        assert _error(lambda: func.vmap(fn(pygrad))(pygrad.ones(3, 4))) == theirs


def test_table_functions_whose_code_reads_values_run_per_sample(torch, backend, rng, monkeypatch):
    from pygrad.func import _rules
    monkeypatch.delitem(_rules.FUNCTION_RULES, "argmax")  # argmax's code computes on the values
    x = rng.standard_normal((3, 5))
    with pytest.warns(UserWarning, match="batching rule for aten::argmax"):
        got = func.vmap(lambda t: pygrad.argmax(t, 0))(pygrad.tensor(x))
    assert got.tolist() == torch.func.vmap(lambda t: torch.argmax(t, 0))(torch.tensor(x)).tolist()


def test_gradients_stay_differentiable_in_closed_over_parameters(torch, backend):
    def run(T):
        w = T.tensor([1.0, 2.0, -0.5], dtype=T.float64, requires_grad=True)
        g = T.func.grad(lambda t: (t * w).sin().sum())(T.tensor([0.5, -1.0, 2.0], dtype=T.float64))
        g.pow(2).sum().backward()
        return g, w.grad
    got, want = run(pygrad), run(torch)
    assert got[0].grad_fn.name() == want[0].grad_fn.name()
    _close(got, want, "float64")
    # with nothing to differentiate further, the result has no history
    assert not func.grad(lambda t: t.sin().sum())(pygrad.ones(2)).requires_grad


def _print_inside_transforms(T):
    x = T.tensor([1.0, 2.0])
    T.func.grad(lambda t: print(t * 2) or t.sum())(x)
    T.func.vmap(T.func.grad(lambda t: print(t) or t.sum()))(T.ones(2, 2))
    T.func.grad(lambda t: T.func.vmap(lambda u: print(u) or u)(t.reshape(2, 1)).sum())(x)
    T.func.vjp(lambda t: print(t) or t, x)
    T.func.jacrev(lambda t: print(t) or t)(x)
    T.func.grad(lambda t: T.func.grad(lambda u: print(u, t) or (u * t).sum())(t).sum())(x)
    print(x, T.func.grad(lambda t: t.sum())(x))


def test_printing_inside_grad_transforms(torch, capsys):
    _print_inside_transforms(pygrad)
    ours = capsys.readouterr().out
    _print_inside_transforms(torch)
    assert ours == capsys.readouterr().out


@pytest.mark.parametrize("case", [lambda T, t: T.argmax(t, 0), lambda T, t: t.argmin(),
                                  lambda T, t: t.argmax(-1, keepdim=True), lambda T, t: T.argmax(t, keepdim=True),
                                  lambda T, t: t[0].argmin(dim=0)])
def test_argmax_argmin_rules(torch, backend, rng, case):
    x = rng.standard_normal((3, 4, 5))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = func.vmap(lambda t: case(pygrad, t))(pygrad.tensor(x))
    want = torch.func.vmap(lambda t: case(torch, t))(torch.tensor(x))
    assert tuple(got.shape) == tuple(want.shape) and np.array_equal(got.numpy(), want.numpy())


def test_an_ensemble_by_stack_module_state(torch, backend):
    def run(T):
        T.manual_seed(0)
        models = [T.nn.Sequential(T.nn.Linear(3, 4), T.nn.Tanh(), T.nn.Linear(4, 2)).double() for _ in range(5)]
        state = {k: [dict(m.named_parameters())[k].detach().numpy().copy() for m in models]
                 for k, _ in models[0].named_parameters()}
        return models, state
    ours_models, state = run(pygrad)
    theirs_models, _ = run(torch)
    with torch.no_grad():  # the same weights in both
        for m, i in zip(theirs_models, range(5)):
            for k, p in m.named_parameters():
                p.copy_(torch.tensor(state[k][i]))
    x = np.random.default_rng(3).standard_normal((8, 3))

    def ensemble(T, models):
        params, buffers = T.func.stack_module_state(models)
        assert all(p.requires_grad and p.is_leaf for p in params.values())
        return T.func.vmap(lambda p, b, data: T.func.functional_call(models[0], (p, b), (data,)),
                           in_dims=(0, 0, None))(params, buffers, T.tensor(x))
    _close(ensemble(pygrad, ours_models), ensemble(torch, theirs_models), "float64")
    for case in (lambda T: T.func.stack_module_state([]),
                 lambda T: T.func.stack_module_state([T.nn.Linear(2, 2), T.nn.Linear(2, 2).eval()]),
                 lambda T: T.func.stack_module_state([T.nn.Linear(2, 2), T.nn.Tanh()])):
        assert _error(lambda: case(pygrad)) == _error(lambda: case(torch))


def test_code_outside_the_table_that_reads_values_runs_per_sample(torch, backend, rng):
    x = rng.standard_normal((3, 4))

    def f(T):
        return lambda t: T.nn.functional.cosine_similarity(t, t.flip(0), dim=0) + t.sum()
    with pytest.warns(UserWarning, match="batching rule for aten::cosine_similarity"):
        got = func.vmap(f(pygrad))(pygrad.tensor(x))
    _close(got, torch.func.vmap(f(torch))(torch.tensor(x)), "float64")
    with pytest.warns(UserWarning, match="batching rule for aten::cosine_similarity"):
        got = func.vmap(func.grad(f(pygrad)))(pygrad.tensor(x))
    _close(got, torch.func.vmap(torch.func.grad(f(torch)))(torch.tensor(x)), "float64")


def test_backward_through_a_vmapped_module(torch, backend):
    def run(T):
        lin = T.nn.Linear(3, 2).double()
        with T.no_grad():
            lin.weight.copy_(T.tensor(np.arange(6.0).reshape(2, 3) / 7))
            lin.bias.copy_(T.tensor([0.1, -0.2]))
        x = T.tensor(np.arange(12.0).reshape(4, 3) / 10, requires_grad=True)
        y = T.func.vmap(lambda r: lin(r).tanh().sum())(x)
        (y ** 2).sum().backward()
        return y, lin.weight.grad, lin.bias.grad, x.grad
    _close(run(pygrad), run(torch), "float64")
