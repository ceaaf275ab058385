"""cross_entropy's common case (a float (N, C) input, int64 class indices, no weight or label
smoothing, mean or sum) applies the two table nodes directly (ops/nn.py ``cross_entropy_of_classes``):
the same graph, values and gradients as the composition of ``log_softmax`` and ``nll_loss``,
bit for bit, and PyTorch's."""
import numpy as np
import pytest

import pygrad
import pygrad.nn.functional as F
from pygrad.autograd import gradcheck, gradgradcheck

REDUCTIONS = ("mean", "sum")


def _inputs(rng, dtype, n=6, c=5, ignore=None):
    x = rng.standard_normal((n, c)).astype(dtype)
    y = rng.integers(0, c, n)
    if ignore is not None:
        y[::3] = ignore
    return x, y


def _composed(x, y, reduction, ignore_index):
    """The general path: F.log_softmax then F.nll_loss, each with its own argument handling."""
    return F.nll_loss(F.log_softmax(x, 1), y, ignore_index=ignore_index, reduction=reduction)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("ignore", [None, 2, -1])
def test_same_bits_as_the_composition(dtype, reduction, ignore, rng, backend):
    x, y = _inputs(rng, dtype, ignore=ignore)
    ignore_index = -100 if ignore is None else ignore
    results = []
    for loss_fn in (lambda a, t: F.cross_entropy(a, t, ignore_index=ignore_index, reduction=reduction),
                    lambda a, t: _composed(a, t, reduction, ignore_index)):
        a = pygrad.tensor(x, requires_grad=True)
        loss = loss_fn(a, pygrad.tensor(y))
        loss.backward()
        results.append((loss.detach().numpy(), a.grad.numpy()))
    (fast, fast_grad), (composed, composed_grad) = results
    assert fast.dtype == composed.dtype and fast.tobytes() == composed.tobytes()
    assert fast_grad.dtype == composed_grad.dtype and fast_grad.tobytes() == composed_grad.tobytes()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_matches_torch(dtype, reduction, rng, torch):
    x, y = _inputs(rng, dtype, n=64, c=10, ignore=3)
    ours = pygrad.tensor(x, requires_grad=True)
    ref = torch.tensor(x, requires_grad=True)
    # a non-leaf input, as a model's output is
    loss = pygrad.nn.CrossEntropyLoss(ignore_index=3, reduction=reduction)(ours * 2, pygrad.tensor(y))
    expected = torch.nn.CrossEntropyLoss(ignore_index=3, reduction=reduction)(ref * 2, torch.tensor(y))
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == "float32" else dict(rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(loss.detach().numpy(), expected.detach().numpy(), **tol)
    nll, softmax_node = loss.grad_fn, loss.grad_fn.next_functions[0][0]
    ref_nll, ref_softmax_node = expected.grad_fn, expected.grad_fn.next_functions[0][0]
    assert type(nll).__name__ == type(ref_nll).__name__ == "NllLossBackward0"
    assert type(softmax_node).__name__ == type(ref_softmax_node).__name__ == "LogSoftmaxBackward0"
    assert type(softmax_node.next_functions[0][0]).__name__ == "MulBackward0"
    np.testing.assert_allclose(nll._saved_self.detach().numpy(), ref_nll._saved_self.detach().numpy(), **tol)
    np.testing.assert_allclose(softmax_node._saved_result.detach().numpy(),
                               ref_softmax_node._saved_result.detach().numpy(), **tol)
    assert softmax_node._saved_dim == ref_softmax_node._saved_dim == 1
    loss.backward()
    expected.backward()
    np.testing.assert_allclose(ours.grad.numpy(), ref.grad.numpy(), **tol)
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        nll._saved_self
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        loss.backward()


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gradcheck_float64(reduction, rng, backend):
    x, y = _inputs(rng, "float64", ignore=4)
    target = pygrad.tensor(y)

    def call(a):
        return F.cross_entropy(a, target, ignore_index=4, reduction=reduction)
    a = pygrad.tensor(x, requires_grad=True)
    assert gradcheck(call, (a,))
    assert gradgradcheck(call, (a,))


def test_double_backward_matches_torch(rng, torch):
    x, y = _inputs(rng, "float64")
    grads = []
    for m in (pygrad, torch):
        a = m.tensor(x, requires_grad=True)
        loss = m.nn.functional.cross_entropy(a, m.tensor(y))
        (g,) = m.autograd.grad(loss, a, create_graph=True)
        assert g.requires_grad
        (gg,) = m.autograd.grad((g * g).sum(), a)
        grads.append((g.detach().numpy(), gg.numpy()))
    np.testing.assert_allclose(grads[0][0], grads[1][0], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(grads[0][1], grads[1][1], rtol=1e-10, atol=1e-12)


def test_errors_match_torch(rng, torch):
    x, _ = _inputs(rng, "float32")
    for y, kwargs in ((np.array([0, 1, 5, 0, 1, 2]), {}),  # a class out of range
                      (np.array([0, 1, -2, 0, 1, 2]), {}),  # a negative class
                      (np.array([0, 1, 2]), {}),  # batch sizes differ
                      (np.array([0, 1, 2, 0, 1, 2], np.int32), {})):  # not Long
        messages = []
        for m in (pygrad, torch):
            with pytest.raises((IndexError, ValueError, RuntimeError)) as info:
                m.nn.functional.cross_entropy(m.tensor(x), m.tensor(y), **kwargs)
            messages.append((info.type, str(info.value)))
        assert messages[0] == messages[1]
    with pytest.raises(NotImplementedError) as ours:
        F.cross_entropy(pygrad.tensor([[1, 2]]), pygrad.tensor([0]))
    with pytest.raises(NotImplementedError) as theirs:
        torch.nn.functional.cross_entropy(torch.tensor([[1, 2]]), torch.tensor([0]))
    assert str(ours.value) == str(theirs.value)


def test_hooks_and_anomaly_mode_see_the_nodes(rng):
    x, y = _inputs(rng, "float32")
    a = pygrad.tensor(x, requires_grad=True)
    seen = []
    with pygrad.autograd.detect_anomaly():
        loss = F.cross_entropy(a, pygrad.tensor(y))
        softmax_node = loss.grad_fn.next_functions[0][0]
        softmax_node.register_hook(lambda grad_inputs, grad_outputs: seen.append(grad_outputs[0].numpy().copy()))
        loss.backward()
    expected = np.zeros_like(x)
    expected[np.arange(len(y)), y] = -1 / len(y)
    np.testing.assert_array_equal(seen[0], expected)


def test_the_common_case_takes_the_direct_path(monkeypatch, rng):
    from pygrad.ops import nn as ops_nn
    taken = []
    direct = ops_nn.cross_entropy_of_classes

    def spy(*args):
        loss = direct(*args)
        taken.append(loss is not None)
        return loss
    monkeypatch.setattr(ops_nn, "cross_entropy_of_classes", spy)
    x, y = _inputs(rng, "float32")
    F.cross_entropy(pygrad.tensor(x), pygrad.tensor(y))
    F.cross_entropy(pygrad.tensor(x), pygrad.tensor(y), reduction="sum", ignore_index=1)
    F.cross_entropy(pygrad.tensor(x), pygrad.tensor(y.astype(np.uint8)))  # Byte targets: the general path
    F.cross_entropy(pygrad.tensor(x[0]), pygrad.tensor(y[0]))  # one sample: the general path
    F.cross_entropy(pygrad.tensor(x), pygrad.tensor(y), reduction="none")  # never offered
    assert taken == [True, True, False, False]


def test_saved_tensor_hooks_see_what_the_composition_saves(rng, torch):
    x, y = _inputs(rng, "float32")
    packed = []
    for m, loss_fn in ((pygrad, lambda a, t: F.cross_entropy(a, t)),
                       (pygrad, lambda a, t: _composed(a, t, "mean", -100)),
                       (torch, lambda a, t: torch.nn.functional.cross_entropy(a, t))):
        seen = []

        def pack(t):
            seen.append(tuple(t.shape))
            return t
        a = m.tensor(x, requires_grad=True)
        with m.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            loss = loss_fn(a, m.tensor(y))
        loss.backward()
        packed.append((seen, a.grad.numpy()))
    assert packed[0][0] == packed[1][0]
    assert packed[0][0][:2] == packed[2][0][:2] == [(6, 5), (6, 5)]  # log_softmax's result, nll's input
    np.testing.assert_array_equal(packed[0][1], packed[1][1])
    np.testing.assert_allclose(packed[0][1], packed[2][1], rtol=1e-5, atol=1e-7)
