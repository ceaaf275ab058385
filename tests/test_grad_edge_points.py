"""Gradients at edge points follow PyTorch: NaN and singular inputs, higher orders through
piecewise-linear functions, and in-place accumulation from a source inside the destination."""
import numpy as np
import pytest

import pygrad
from pygrad import _backend
from pygrad.autograd import gradcheck, gradgradcheck
from pygrad.ops.piecewise_grads import LeakyReluBackward, Sgn, ThresholdBackward

NAN, INF = float("nan"), float("inf")

CASES = {
    "relu": (lambda L, x: x.relu(), [[NAN, -1.0, 0.0, 2.0, INF, -INF]]),
    "relu_": (lambda L, x: (x * 1).relu_(), [[NAN, -1.0, 0.0, 2.0, INF, -INF]]),
    "ReLU(inplace=True)": (lambda L, x: L.nn.ReLU(inplace=True)(x * 1), [[NAN, -1.0, 0.0, 2.0, -INF]]),
    "leaky_relu": (lambda L, x: L.nn.functional.leaky_relu(x, 0.1), [[NAN, -1.0, 0.0, 2.0, INF, -INF]]),
    "abs": (lambda L, x: x.abs(), [[NAN, -1.0, 0.0, -0.0, 2.0, INF, -INF]]),
    "maximum": (lambda L, a, b: L.maximum(a, b), [[NAN, 1.0, NAN, 2.0, 1.0], [1.0, NAN, NAN, 2.0, 3.0]]),
    "minimum": (lambda L, a, b: L.minimum(a, b), [[NAN, 1.0, NAN, 2.0, 1.0], [1.0, NAN, NAN, 2.0, 3.0]]),
    "max(a, b)": (lambda L, a, b: L.max(a, b), [[NAN, 1.0, NAN, 2.0, 1.0], [1.0, NAN, NAN, 2.0, 3.0]]),
    "atan2": (lambda L, a, b: L.atan2(a, b), [[0.0, 0.0, -0.0, 1.0, NAN, 1e-200], [0.0, -0.0, 0.0, 0.0, 1.0, 0.0]]),
    "atan2 0-d": (lambda L, a, b: L.atan2(a, b), [0.0, 0.0]),
    # A NaN maximum: max()/min() share the gradient among the NaNs, amax/amin make the slice NaN.
    "max() with NaN": (lambda L, x: x.max(), [[1.0, NAN, 3.0, NAN]]),
    "min() with NaN": (lambda L, x: x.min(), [[1.0, NAN, 3.0, NAN]]),
    "amax with NaN": (lambda L, x: x.reshape(2, 2).amax(1), [[1.0, NAN, 3.0, 3.0]]),
    "amin with NaN": (lambda L, x: x.reshape(2, 2).amin(1), [[1.0, NAN, 3.0, 3.0]]),
    "amax all with NaN": (lambda L, x: x.amax(), [[1.0, NAN, 3.0, NAN]]),
    # The kinks of the piecewise activations take PyTorch's side.
    "hardswish": (lambda L, x: L.nn.functional.hardswish(x), [[-3.0, 3.0, -4.0, 0.0, 4.0, NAN]]),
    "hardsigmoid": (lambda L, x: L.nn.functional.hardsigmoid(x), [[-3.0, 3.0, -4.0, 0.0, 4.0, NAN]]),
    "hardtanh": (lambda L, x: L.nn.functional.hardtanh(x), [[-1.0, 1.0, -2.0, 0.0, 2.0, NAN]]),
    "relu6": (lambda L, x: L.nn.functional.relu6(x), [[0.0, 6.0, -1.0, 3.0, 7.0, NAN]]),
}


def _grads(lib, f, values, dtype, create_graph):
    xs = [lib.tensor(v, dtype=getattr(lib, dtype), requires_grad=True) for v in values]
    grads = lib.autograd.grad(f(lib, *xs).sum(), xs, create_graph=create_graph)
    return xs, grads


def _same(ours, theirs):
    np.testing.assert_array_equal(ours.detach().numpy(), theirs.detach().numpy())


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("name", CASES)
def test_gradients_at_nan_and_singular_points_match_torch(backend, torch, name, dtype, create_graph):
    f, values = CASES[name]
    _, ours = _grads(pygrad, f, values, dtype, create_graph)
    _, theirs = _grads(torch, f, values, dtype, create_graph)
    for o, t in zip(ours, theirs):
        _same(o, t)  # NaN where torch has NaN, and the signs of zeros too


@pytest.mark.parametrize("name", ["relu", "relu_", "ReLU(inplace=True)", "leaky_relu", "abs"])
def test_piecewise_gradient_requires_grad_and_second_backward_gives_zeros(backend, torch, name):
    f, values = CASES[name]
    values = [[v for v in values[0] if v == v and abs(v) != INF]]  # finite points
    (x,), (g,) = _grads(pygrad, f, values, "float64", True)
    (tx,), (tg,) = _grads(torch, f, values, "float64", True)
    assert g.requires_grad and tg.requires_grad
    assert type(g.grad_fn).__name__ == type(tg.grad_fn).__name__
    g.sum().backward()
    assert x.grad is not None and x.grad.tolist() == [0.0] * len(values[0])
    if name != "abs":  # torch's zeros for abs are a tensor without storage: nothing to read
        tg.sum().backward()
        _same(x.grad, tx.grad)


def test_bias_gets_zeros_after_double_backward_through_relu(backend, torch):
    """The bias reaches the input's gradient only through relu's mask: its .grad is zeros
    (a tensor, not None), and the weight's is what torch gives."""
    grads = []
    for lib in (pygrad, torch):
        x = lib.tensor([[1.0, -2.0], [0.5, 3.0]], dtype=lib.float64, requires_grad=True)
        w = lib.tensor([[0.5, -1.0], [2.0, 1.0]], dtype=lib.float64, requires_grad=True)
        b = lib.tensor([0.25, -0.5], dtype=lib.float64, requires_grad=True)
        (gx,) = lib.autograd.grad(lib.nn.functional.relu(x @ w + b).sum(), x, create_graph=True)
        (gx * x).sum().backward()
        grads.append((w.grad, b.grad))
    assert grads[0][1].tolist() == [0.0, 0.0]
    _same(grads[0][0], grads[1][0])
    _same(grads[0][1], grads[1][1])


def test_third_order_through_relu_and_leaky_relu(backend, torch):
    results = []
    for lib in (pygrad, torch):
        x = lib.tensor([-1.5, 0.5, 2.0], dtype=lib.float64, requires_grad=True)
        y = (lib.nn.functional.leaky_relu(x, 0.2) ** 3 + x.relu() ** 3).sum()
        (g1,) = lib.autograd.grad(y, x, create_graph=True)
        (g2,) = lib.autograd.grad(g1.sum(), x, create_graph=True)
        (g3,) = lib.autograd.grad(g2.sum(), x)
        results.append((g1, g2, g3))
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-12)


def test_piecewise_gradient_ops_pass_gradcheck(backend):
    rng = np.random.default_rng(0)
    g = pygrad.tensor(rng.standard_normal(6), dtype=pygrad.float64, requires_grad=True)
    away_from_zero = rng.uniform(0.5, 2.0, 6) * np.array([1, -1, 1, -1, 1, -1])
    x = pygrad.tensor(away_from_zero, dtype=pygrad.float64, requires_grad=True)
    assert gradcheck(ThresholdBackward.apply, (g, x))
    assert gradgradcheck(ThresholdBackward.apply, (g, x))
    assert gradcheck(lambda a, b: LeakyReluBackward.apply(a, b, 0.3), (g, x))
    assert gradgradcheck(lambda a, b: LeakyReluBackward.apply(a, b, 0.3), (g, x))
    assert gradcheck(Sgn.apply, (x,))
    assert Sgn.apply(pygrad.tensor([NAN, -2.0, 0.0, -0.0, 3.0])).tolist() == [0.0, -1.0, 0.0, 0.0, 1.0]


@pytest.mark.parametrize("size", [8, 1 << 18])
@pytest.mark.parametrize("source", ["first element", "0-d first element", "middle element",
                                    "broadcast first element"])
def test_accumulate_from_a_source_inside_the_destination(backend, size, source):
    """The in-place add reads the source's value as it was (as NumPy does), on every thread."""
    dst = np.arange(1.0, size + 1.0)
    expected = dst + dst[size // 2 if source == "middle element" else 0]
    src = {"first element": lambda d: d[:1],
           "0-d first element": lambda d: d[:1].reshape(()),
           "middle element": lambda d: d[size // 2:size // 2 + 1],
           "broadcast first element": lambda d: np.broadcast_to(d[:1], d.shape)}[source](dst)
    _backend.kernels.accumulate(dst, src)
    np.testing.assert_array_equal(dst, expected)
