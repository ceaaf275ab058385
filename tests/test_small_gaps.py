"""Indexing with a range, in-place shape ops, checkpointing, saved-tensor hooks and post-accumulate
hooks, each against PyTorch."""
import warnings

import numpy as np
import pytest

import pygrad


@pytest.mark.parametrize("key", [lambda: range(2), lambda: (slice(None), range(0, 3, 2)),
                                 lambda: (range(2), range(1, 3)), lambda: range(3, 0, -1)])
def test_index_with_range(key, torch):
    data = np.arange(12.0).reshape(4, 3)
    ours = pygrad.tensor(data, requires_grad=True)
    ref = torch.tensor(data, requires_grad=True)
    a, b = ours[key()], ref[key()]
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    assert type(a.grad_fn).__name__ == type(b.grad_fn).__name__
    a.sum().backward()
    b.sum().backward()
    np.testing.assert_array_equal(ours.grad.numpy(), ref.grad.numpy())
    x = pygrad.zeros(4, 3)
    x[key()] = 1.0
    y = torch.zeros(4, 3)
    y[key()] = 1.0
    np.testing.assert_array_equal(x.numpy(), y.numpy())


INPLACE_SHAPE = [
    ("unsqueeze_", lambda t: t.unsqueeze_(1)),
    ("unsqueeze_neg", lambda t: t.unsqueeze_(-1)),
    ("squeeze_all", lambda t: t.unsqueeze_(0).squeeze_()),
    ("squeeze_dim", lambda t: t.unsqueeze_(0).squeeze_(0)),
    ("squeeze_dims", lambda t: t.unsqueeze_(2).unsqueeze_(0).squeeze_((0, 3))),
    ("t_", lambda t: t.t_()),
    ("transpose_", lambda t: t.transpose_(0, 1)),
    ("swapaxes_", lambda t: t.unsqueeze_(0).swapaxes_(0, 2)),
]


@pytest.mark.parametrize("name,op", INPLACE_SHAPE, ids=[n for n, _ in INPLACE_SHAPE])
def test_inplace_shape_ops_match_torch(name, op, torch):
    data = np.arange(6.0).reshape(2, 3)
    results = []
    for lib in (pygrad, torch):
        leaf = lib.tensor(data, requires_grad=True)
        x = leaf * 2
        before = x._version_value if lib is pygrad else x._version
        out = op(x)
        after = x._version_value if lib is pygrad else x._version
        assert out is x
        seed = lib.tensor(np.arange(float(x.numel())).reshape(tuple(x.shape)))
        (x * seed).sum().backward()
        results.append((tuple(x.shape), type(x.grad_fn).__name__, after - before, leaf.grad.tolist(),
                        x.detach().tolist()))
    assert results[0] == results[1]


def test_inplace_shape_ops_on_a_view_and_without_grad(torch):
    results = []
    for lib in (pygrad, torch):
        base = lib.arange(6.0, requires_grad=True)
        y = base * 1
        v = y[2:]
        v.unsqueeze_(0)
        (v * lib.tensor([[1.0, 2.0, 3.0, 4.0]])).sum().backward()
        plain = lib.zeros(3, 1)
        plain.squeeze_(1)
        plain.unsqueeze_(0).t_()
        results.append((tuple(v.shape), base.grad.tolist(), tuple(plain.shape)))
    assert results[0] == results[1]


def test_inplace_shape_ops_errors_match_torch(torch):
    for call in (lambda L: L.ones(2, requires_grad=True).unsqueeze_(0),
                 lambda L: L.ones(2, 3, requires_grad=True).t_(),
                 lambda L: L.ones(2, requires_grad=True).resize_(4),
                 lambda L: L.ones(3).unsqueeze_(5),
                 lambda L: L.ones(2, 2, 2).t_()):
        with pytest.raises(Exception) as expected:
            call(torch)
        with pytest.raises(type(expected.value)) as ours:
            call(pygrad)
        assert str(ours.value) == str(expected.value).replace("t_() expects a tensor with <= 2 dimensions, but "
                                                                "self is 3D", "t_() expects a tensor with <= 2 "
                                                                "dimensions, but self is 3D")


def test_resize_keeps_memory_order(torch):
    results = []
    for lib in (pygrad, torch):
        x = lib.arange(6.0)
        x.resize_(2, 2)
        first = x.tolist()
        x.resize_(3, 2)
        results.append((first, x[:2].tolist(), tuple(x.shape)))
        y = lib.arange(4.0)
        y.resize_as_(lib.ones(2, 2))
        results.append(y.tolist())
    assert results[0] == results[2] and results[1] == results[3]


def _checkpoint_grads(lib, mode):
    lib.manual_seed(0)
    w1 = lib.tensor(np.linspace(-1, 1, 12).reshape(4, 3), requires_grad=True)
    w2 = lib.tensor(np.linspace(0.5, -0.5, 3), requires_grad=True)
    x = lib.tensor(np.linspace(-2, 2, 8).reshape(2, 4), requires_grad=True)

    def block(inp, scale):
        return lib.tanh(inp @ w1) * scale

    if mode is None:
        h = block(x, 2.0)
    else:
        h = lib.utils.checkpoint.checkpoint(block, x, 2.0, use_reentrant=mode)
    (h @ w2).pow(2).sum().backward()
    return type(h.grad_fn).__name__, [t.grad.tolist() for t in (x, w1, w2)]


@pytest.mark.parametrize("mode", [True, False])
def test_checkpoint_gives_the_plain_gradients(mode, torch):
    import torch.utils.checkpoint  # noqa: F401
    plain = _checkpoint_grads(pygrad, None)
    ours = _checkpoint_grads(pygrad, mode)
    theirs = _checkpoint_grads(torch, mode)
    assert ours[0] == theirs[0]
    for a, b, c in zip(ours[1], plain[1], theirs[1]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(a, c, rtol=1e-12, atol=1e-14)


def test_checkpoint_replays_dropout_and_warns_without_use_reentrant():
    layer = pygrad.nn.Linear(4, 4)
    x = pygrad.randn(3, 4, requires_grad=True)

    def block(t):
        return pygrad.nn.functional.dropout(layer(t), 0.5, training=True)

    grads = []
    for mode in (None, True, False):
        x.grad = None
        pygrad.manual_seed(5)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = block(x) if mode is None else pygrad.utils.checkpoint.checkpoint(block, x, use_reentrant=mode)
        assert not caught
        out.sum().backward()
        grads.append(x.grad.numpy().copy())
    np.testing.assert_array_equal(grads[0], grads[1])
    np.testing.assert_array_equal(grads[0], grads[2])
    with pytest.warns(UserWarning, match="the use_reentrant parameter should be passed explicitly"):
        pygrad.utils.checkpoint.checkpoint(block, x)


def test_checkpoint_sequential_matches_plain():
    pygrad.manual_seed(2)
    model = pygrad.nn.Sequential(pygrad.nn.Linear(3, 5), pygrad.nn.Tanh(), pygrad.nn.Linear(5, 5), pygrad.nn.ReLU(),
                                 pygrad.nn.Linear(5, 2))
    x = pygrad.randn(4, 3)
    model(x).sum().backward()
    plain = [p.grad.numpy().copy() for p in model.parameters()]
    model.zero_grad()
    pygrad.utils.checkpoint.checkpoint_sequential(model, 2, x, use_reentrant=False).sum().backward()
    for p, g in zip(model.parameters(), plain):
        np.testing.assert_allclose(p.grad.numpy(), g, rtol=1e-6)


def _hooked(lib):
    packed, unpacked = [], []

    def pack(t):
        packed.append(tuple(t.shape))
        return t * 1

    def unpack(t):
        unpacked.append(tuple(t.shape))
        return t

    a = lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64, requires_grad=True)
    b = lib.tensor([[0.5, -1.0, 2.0]], dtype=lib.float64, requires_grad=True)
    with lib.autograd.graph.saved_tensors_hooks(pack, unpack):
        y = (a * b).sin().sum()
        z = lib.exp(a).sum()
    (y + z).backward()
    return sorted(packed), sorted(unpacked), a.grad.tolist(), b.grad.tolist()


def test_saved_tensors_hooks_match_torch(torch):
    ours, theirs = _hooked(pygrad), _hooked(torch)
    assert ours[:2] == theirs[:2]
    for x, y in zip(ours[2:], theirs[2:]):
        np.testing.assert_allclose(x, y, rtol=1e-14)


def test_saved_tensors_hooks_can_replace_the_saved_value():
    a = pygrad.tensor([1.0, 2.0], requires_grad=True)
    with pygrad.autograd.graph.saved_tensors_hooks(lambda t: "token", lambda token: pygrad.tensor([10.0, 10.0])):
        y = (a * a).sum()
    y.backward()
    assert a.grad.tolist() == [20.0, 20.0]  # d(a*a)/da from the unpacked (replaced) operands
    with pygrad.autograd.graph.disable_saved_tensors_hooks("no hooks here"):
        with pytest.raises(RuntimeError, match="no hooks here"):
            with pygrad.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t):
                pass


def test_post_accumulate_grad_hook_matches_torch(torch):
    results = []
    for lib in (pygrad, torch):
        w = lib.tensor([1.0, -2.0], requires_grad=True)
        seen = []
        handle = w.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.tolist()))
        (w * w).sum().backward()
        (w * 3).sum().backward()
        handle.remove()
        (w * 3).sum().backward()
        with pytest.raises(RuntimeError) as non_leaf:
            (w * 2).register_post_accumulate_grad_hook(lambda t: None)
        with pytest.raises(RuntimeError) as no_grad:
            lib.ones(2).register_post_accumulate_grad_hook(lambda t: None)
        results.append((seen, str(non_leaf.value), str(no_grad.value)))
    assert results[0] == results[1]


@pytest.mark.parametrize("name", ["sign", "sgn"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_sign_of_special_values_as_torch(name, dtype, torch):
    """PyTorch's sign of NaN is 0 (NumPy's is NaN); -0.0 gives +0.0; the node is SignBackward0 or
    SgnBackward0, the gradient 0."""
    data = np.array([float("nan"), -0.0, 0.0, 2.5, -3.0, float("inf"), -float("inf")], dtype)
    ours = pygrad.tensor(data, requires_grad=True)
    theirs = torch.tensor(data, requires_grad=True)
    a, b = getattr(pygrad, name)(ours), getattr(torch, name)(theirs)
    assert a.detach().numpy().tobytes() == b.detach().numpy().tobytes()
    assert type(a.grad_fn).__name__ == type(b.grad_fn).__name__
    a.sum().backward()
    b.sum().backward()
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy(force=True))  # sgn's: a ZeroTensor
    inplace = pygrad.tensor(data)
    getattr(inplace, name + "_")()
    assert inplace.numpy().tobytes() == b.detach().numpy().tobytes()


def test_float_of_a_tensor_that_requires_grad_warns_once_as_torch(torch):
    """PyTorch warns on ``float(t)`` of a tensor requiring grad (not on ``int`` or ``item``), once
    per process: each library runs in a fresh interpreter."""
    import subprocess
    import sys
    program = """
import importlib, sys, warnings
m = importlib.import_module(sys.argv[1])
x = m.tensor(2.0, requires_grad=True)
y = x * 3
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    int(y); y.item(); float(x.detach()); float(y); float(x)
print([str(w.message).split(" (Triggered")[0] for w in caught], [w.category.__name__ for w in caught])
"""
    outputs = [subprocess.run([sys.executable, "-c", program, name], capture_output=True, text=True, check=True).stdout
               for name in ("pygrad", "torch")]
    assert outputs[0] == outputs[1]
    assert "Consider using tensor.detach() first." in outputs[0]
