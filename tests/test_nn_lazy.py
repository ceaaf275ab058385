"""Lazy modules and UninitializedParameter against PyTorch."""
import copy
import math

import numpy as np
import pytest

import pygrad


def _transcript(m):
    lines = []
    lazy = m.nn.LazyLinear(3)
    lines += [repr(lazy), repr(list(lazy.named_parameters())), repr(lazy.state_dict())]
    seq = m.nn.Sequential(m.nn.LazyLinear(4), m.nn.ReLU(), m.nn.LazyLinear(2))
    lines.append(repr(seq))
    opt = m.optim.SGD(seq.parameters(), lr=0.1)  # built before the dry run, as tutorials do
    y = seq(m.ones(5, 7))
    y.sum().backward()
    opt.step()
    lines += [repr(seq), tuple(y.shape), tuple(seq[0].weight.grad.shape), type(seq[0].weight).__name__,
              type(seq[0]).__name__, seq[0].in_features]
    for build, x in [(lambda: m.nn.LazyConv2d(4, 3), m.ones(1, 2, 5, 5)),
                     (lambda: m.nn.LazyConv1d(4, 3, padding=1), m.ones(1, 2, 5)),
                     (lambda: m.nn.LazyConv2d(4, 3, 1, 0, 1, 1, False), m.ones(2, 5, 5)),
                     (lambda: m.nn.LazyConvTranspose2d(4, 3, stride=2), m.ones(1, 2, 5, 5)),
                     (lambda: m.nn.LazyConvTranspose1d(4, 2, groups=2), m.ones(2, 4)),
                     (lambda: copy.deepcopy(m.nn.LazyLinear(3, bias=False)), m.ones(2))]:
        module = build()
        lines.append(repr(module))
        out = module(x)
        lines += [repr(module), type(module).__name__, tuple(out.shape), tuple(module.weight.shape)]
    loaded = m.nn.LazyLinear(3)
    lines.append(repr(loaded.load_state_dict(m.nn.Linear(2, 3).state_dict())))
    lines += [repr(loaded), tuple(loaded.weight.shape)]
    loaded(m.ones(2))
    lines.append(repr(loaded))
    return lines


def test_lazy_modules_behave_like_torch(torch):
    assert _transcript(pygrad) == _transcript(torch)


def _error(fn):
    with pytest.raises(Exception) as info:
        fn()
    return type(info.value), str(info.value)


def test_uninitialized_parameter_refuses_use_like_torch(torch):
    for ops in [lambda m, u: u + 1, lambda m, u: u.sum(), lambda m, u: u.numel(), lambda m, u: u.shape,
                lambda m, u: u.view(2), lambda m, u: m.nn.LazyLinear(2).weight.t()]:
        ours = _error(lambda: ops(pygrad, pygrad.nn.parameter.UninitializedParameter()))
        theirs = _error(lambda: ops(torch, torch.nn.parameter.UninitializedParameter()))
        assert ours == theirs
    for m in (pygrad, torch):
        u = m.nn.parameter.UninitializedParameter()
        assert repr(u) == "<UninitializedParameter>" and u.requires_grad and u.dtype == m.float32
        assert isinstance(u, m.nn.Parameter) and tuple(u.size()) == (0,)
        u.materialize((2, 3))
        assert type(u) is m.nn.Parameter and tuple(u.shape) == (2, 3)
        assert repr(m.nn.parameter.UninitializedBuffer()) == "<UninitializedBuffer>"
    assert _error(lambda: pygrad.nn.LazyConv2d(4, 3)(pygrad.ones(3))) == \
        _error(lambda: torch.nn.LazyConv2d(4, 3)(torch.ones(3)))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_lazy_layers_compute_like_their_eager_classes(torch, dtype):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2, 3, 6, 6)).astype(dtype)
    for build in [lambda m: m.nn.LazyConv2d(4, 3, padding=1, dtype=getattr(m, dtype)),
                  lambda m: m.nn.Sequential(m.nn.Flatten(), m.nn.LazyLinear(5, dtype=getattr(m, dtype)))]:
        ours, theirs = build(pygrad), build(torch)
        ours(pygrad.tensor(a))
        theirs(torch.tensor(a))
        ours.load_state_dict({k: pygrad.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
        x, tx = pygrad.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
        out, ref = ours(x), theirs(tx)
        np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-5, atol=1e-5)
        out.sum().backward()
        ref.sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-5, atol=1e-5)


def test_lazy_linear_initialises_with_linear_bounds():
    pygrad.manual_seed(0)
    layer = pygrad.nn.LazyLinear(200)
    layer(pygrad.ones(1, 50))
    bound = 1 / math.sqrt(50)
    w, b = layer.weight.detach().numpy(), layer.bias.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound and np.abs(b).max() <= bound
    assert layer.weight.requires_grad and layer.weight.is_leaf


def _batchnorm_transcript(m):
    lines = []
    for build, x in [(lambda: m.nn.LazyBatchNorm2d(), m.linspace(-1, 2, 2 * 3 * 2 * 2).reshape(2, 3, 2, 2)),
                     (lambda: m.nn.LazyBatchNorm1d(momentum=None), m.linspace(-1, 2, 8).reshape(4, 2)),
                     (lambda: m.nn.LazyBatchNorm2d(affine=False), m.ones(2, 3, 2, 2)),
                     (lambda: m.nn.LazyBatchNorm1d(track_running_stats=False), m.linspace(0, 1, 6).reshape(2, 3))]:
        module = build()
        lines += [repr(module), [name for name, _ in module.named_parameters()], sorted(module.state_dict())]
        out = module(x)
        lines += [repr(module), type(module).__name__, out.detach().numpy().round(5).tolist(),
                  {k: v.numpy().round(5).tolist() for k, v in module.state_dict().items()}]
    return lines


def test_lazy_batch_norm_matches_torch():
    torch = pytest.importorskip("torch")
    assert _batchnorm_transcript(pygrad) == _batchnorm_transcript(torch)
