"""Autograd semantics of the core: accumulation, freeing, errors, grad modes, hooks, the engine."""
import gc
import threading
import time
import warnings
import weakref

import pytest

import pygrad
from pygrad.autograd import Function


def test_gradients_accumulate_across_backward_calls():
    x = pygrad.tensor([1., -2., 0.5], requires_grad=True)
    y = (3 * x ** 2).sum()
    y.backward(retain_graph=True)
    assert repr(x.grad) == "tensor([  6., -12.,   3.])"
    y.backward()
    assert repr(x.grad) == "tensor([ 12., -24.,   6.])"
    (x * 0.5).sum().backward()
    assert repr(x.grad) == "tensor([ 12.5000, -23.5000,   6.5000])"
    x.grad.zero_()
    assert repr(x.grad) == "tensor([0., 0., 0.])"
    x.grad = None
    (x * 2).sum().backward()
    assert x.grad.tolist() == [2., 2., 2.]


def test_grad_is_a_plain_tensor_of_the_leaf_shape_and_dtype():
    x = pygrad.tensor([[1., 2.]], dtype=pygrad.float64, requires_grad=True)
    w = pygrad.tensor(3., requires_grad=True)
    (x * w).sum().backward()
    assert x.grad.dtype is pygrad.float64 and not x.grad.requires_grad and x.grad.grad_fn is None
    assert w.grad.shape == () and w.grad.dtype is pygrad.float32
    assert repr(w.grad) == "tensor(3.)"


@pytest.mark.parametrize("expr,twice_ok", [
    ("x.sum()", True), ("(x + 1).sum()", True), ("x.mean()", True), ("(x - 2).sum()", True),
    ("(x * 3).sum()", False), ("(x * x).sum()", False), ("x.exp().sum()", False),
    ("x.relu().sum()", False), ("(x ** 2).sum()", False), ("(x / 2).sum()", False),
])
def test_second_backward_fails_only_through_saved_tensors(expr, twice_ok, torch):
    for m in (pygrad, torch):
        x = m.tensor([1., 2., 3.], requires_grad=True)
        y = eval(expr, {"x": x})
        y.backward()
        first = x.grad.tolist()
        if twice_ok:
            y.backward()
            assert x.grad.tolist() == [2 * g for g in first]
        else:
            with pytest.raises(RuntimeError) as err:
                y.backward()
            assert "Trying to backward through the graph a second time" in str(err.value)
            assert x.grad.tolist() == first  # a failed backward leaves .grad unchanged
    with pytest.raises(RuntimeError) as ours:
        y = (pygrad.tensor([1.], requires_grad=True) * 3).sum()
        y.backward()
        y.backward()
    with pytest.raises(RuntimeError) as theirs:
        y = (torch.tensor([1.], requires_grad=True) * 3).sum()
        y.backward()
        y.backward()
    assert str(ours.value) == str(theirs.value)


def _error(fn):
    with pytest.raises(Exception) as info:
        fn()
    return type(info.value).__name__, str(info.value).split("\n")[0]


@pytest.mark.parametrize("program", [
    "m.tensor([1., 2.]).sum().backward()",
    "(m.tensor([1., 2.], requires_grad=True) * 2).backward()",
    "(m.tensor([1., 2., 3.], requires_grad=True) * 2).backward(m.tensor([1., 1.]))",
    "m.tensor([1.], requires_grad=True).add_(1) if hasattr(m.Tensor, 'add_') else m.tensor([1.], requires_grad=True).zero_()",
    "m.tensor([1., 2., 3.]).item()",
    "m.tensor([1], requires_grad=True)",
    "m.tensor([4, 5]).requires_grad_()",
    "setattr(m.tensor([1.], requires_grad=True) * 2, 'requires_grad', False)",
    "m.tensor([1.], requires_grad=True).numpy()",
    "m.ones(3) + m.ones(2)",
    "m.ones(2, 3) * m.ones(3, 2)",
    "m.ones(6).view(4)",
    "m.ones(6).view(5, -1)",
    "m.ones(3).sum(2)",
    "m.tensor([1, 2]).mean()",
    "m.autograd.grad((m.tensor([1.], requires_grad=True) * 2).sum(), m.tensor([1.], requires_grad=True))",
])
def test_errors_match_torch(program, torch):
    assert _error(lambda: eval(program, {"m": pygrad})) == _error(lambda: eval(program, {"m": torch}))


def test_broadcast_gradients_are_reduced_to_each_input(torch):
    for m in (pygrad, torch):
        a = m.ones(3, 1, requires_grad=True)
        b = m.tensor([[1., 2., 3., 4.]], requires_grad=True)
        s = m.tensor(2., requires_grad=True)
        (a * b * s).sum().backward()
        assert tuple(a.grad.shape) == (3, 1) and tuple(b.grad.shape) == (1, 4) and s.grad.shape == ()
        assert a.grad.tolist() == [[20.], [20.], [20.]] and b.grad.tolist() == [[6.] * 4]
        assert s.grad.item() == 30.


def test_gradient_dtype_follows_the_input():
    x = pygrad.tensor([1., 2.], requires_grad=True)
    d = pygrad.tensor([3., 4.], dtype=pygrad.float64, requires_grad=True)
    y = (x * d).sum()
    assert y.dtype is pygrad.float64
    y.backward()
    assert x.grad.dtype is pygrad.float32 and d.grad.dtype is pygrad.float64
    assert x.grad.tolist() == [3., 4.] and d.grad.tolist() == [1., 2.]


def test_non_leaf_grad_is_none_with_warning_unless_retained():
    x = pygrad.tensor([1., 2.], requires_grad=True)
    h = x * 2
    k = x * 3
    k.retain_grad()
    assert k.retains_grad and not h.retains_grad
    (h * k).sum().backward()
    with pytest.warns(UserWarning, match="is not a leaf Tensor"):
        assert h.grad is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert k.grad.tolist() == [2., 4.]


def test_autograd_grad_returns_a_tuple_and_leaves_grad_alone():
    x = pygrad.tensor([1., 2.], requires_grad=True)
    y = pygrad.tensor([3.], requires_grad=True)
    z = (x ** 2).sum()
    (gx,) = pygrad.autograd.grad(z, x, retain_graph=True)
    assert gx.tolist() == [2., 4.] and x.grad is None
    gx, gy = pygrad.autograd.grad(z, [x, y], allow_unused=True)
    assert gx.tolist() == [2., 4.] and gy is None
    w = pygrad.tensor([1.], requires_grad=True)
    with pytest.raises(RuntimeError, match="The differentiated Tensor at index 1 appears to not have been used"):
        pygrad.autograd.grad((w * 2).sum(), [w, y])


def test_autograd_grad_of_an_intermediate():
    x = pygrad.tensor([1., 2.], requires_grad=True)
    h = x * 3
    out = (h ** 2).sum()
    (gh,) = pygrad.autograd.grad(out, h)
    assert gh.tolist() == [6., 12.]


def test_create_graph_gives_differentiable_gradients():
    x = pygrad.tensor([2.], requires_grad=True)
    y = x ** 3
    (g,) = pygrad.autograd.grad(y.sum(), x, create_graph=True)
    assert repr(g) == "tensor([12.], grad_fn=<MulBackward0>)"
    (g2,) = pygrad.autograd.grad(g.sum(), x, create_graph=True)
    assert g2.tolist() == [12.]
    (g3,) = pygrad.autograd.grad(g2.sum(), x)
    assert g3.tolist() == [6.]


def test_hooks_replace_gradients_and_can_be_removed():
    x = pygrad.tensor([2., -4., 1.], requires_grad=True)
    handle = x.register_hook(lambda g: g * 10)
    x.sum().backward()
    assert repr(x.grad) == "tensor([10., 10., 10.])"
    x.grad = None
    (x * x).sum().backward()
    assert repr(x.grad) == "tensor([ 40., -80.,  20.])"
    handle.remove()
    x.grad = None
    (x * 1).sum().backward()
    assert x.grad.tolist() == [1., 1., 1.]
    seen = []
    h = x * 2
    h.register_hook(lambda g: seen.append(g.tolist()))
    h.sum().backward()
    assert seen == [[1., 1., 1.]]
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        pygrad.tensor([1.]).register_hook(lambda g: g)


def test_leaves_expose_accumulate_grad():
    x = pygrad.tensor([1.], requires_grad=True)
    y = 2 * x + (3 + x)
    assert type(y.grad_fn).__name__ == "AddBackward0"
    (mul, _), (add, _) = y.grad_fn.next_functions
    assert mul.name() == "MulBackward0" and add.name() == "AddBackward0"
    acc = mul.next_functions[0][0]
    assert type(acc).__name__ == "AccumulateGrad" and acc.variable is x
    assert acc.name() == "torch::autograd::AccumulateGrad"  # what PyTorch reports
    assert add.next_functions[0][0] is acc  # one node per leaf while the graph lives


def test_custom_function_node_name_and_gradient():
    class Cube(Function):
        @staticmethod
        def forward(ctx, x, scale):
            ctx.save_for_backward(x)
            ctx.scale = scale
            return x ** 3 * scale

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x ** 2 * ctx.scale, None

    x = pygrad.tensor([1., 2.], requires_grad=True)
    y = Cube.apply(x, 2.0)
    assert repr(y) == "tensor([ 2., 16.], grad_fn=<CubeBackward>)"
    y.sum().backward()
    assert x.grad.tolist() == [6., 24.]


class TestGradMode:
    def test_no_grad_context_and_decorators(self):
        x = pygrad.tensor([1.], requires_grad=True)
        with pygrad.no_grad():
            assert not pygrad.is_grad_enabled()
            y = x * 2
            with pygrad.enable_grad():
                z = x * 2
        assert pygrad.is_grad_enabled()
        assert not y.requires_grad and y.grad_fn is None and z.requires_grad

        @pygrad.no_grad()
        def f(t):
            return t * 2

        @pygrad.no_grad
        def g(t):
            return t * 2
        assert not f(x).requires_grad and not g(x).requires_grad
        assert pygrad.is_grad_enabled()

    def test_set_grad_enabled_as_call_context_and_decorator(self):
        x = pygrad.tensor([1.], requires_grad=True)
        pygrad.set_grad_enabled(False)
        assert not (x * 2).requires_grad
        pygrad.set_grad_enabled(True)
        with pygrad.set_grad_enabled(False):
            assert not pygrad.is_grad_enabled()
        assert pygrad.is_grad_enabled()

        @pygrad.set_grad_enabled(False)
        def f(t):
            return t * 2
        assert pygrad.is_grad_enabled()
        assert not f(x).requires_grad

    def test_inference_mode(self):
        x = pygrad.tensor([1.], requires_grad=True)
        with pygrad.inference_mode():
            assert not (x * 2).requires_grad
        assert (x * 2).requires_grad

    def test_grad_mode_is_thread_local(self):
        seen = {}
        inside = threading.Event()
        release = threading.Event()

        def worker():
            with pygrad.no_grad():
                inside.set()
                release.wait(5)
                seen["worker"] = pygrad.is_grad_enabled()

        t = threading.Thread(target=worker)
        t.start()
        inside.wait(5)
        seen["main"] = pygrad.is_grad_enabled()
        x = pygrad.tensor([1.], requires_grad=True)
        seen["main_records"] = (x * 2).requires_grad
        release.set()
        t.join()
        assert seen == {"worker": False, "main": True, "main_records": True}

    def test_in_place_on_leaves(self):
        w = pygrad.tensor([1., 2.], requires_grad=True)
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place operation."):
            w.zero_()
        with pygrad.no_grad():
            w.fill_(0.5)
        assert w.requires_grad and w.is_leaf and w.tolist() == [0.5, 0.5]


def test_detach_shares_storage_and_drops_history():
    x = pygrad.tensor([1., 2.], requires_grad=True)
    y = x * 2
    d = y.detach()
    assert d.is_leaf and not d.requires_grad
    d.numpy()[0] = 10
    assert y.tolist() == [10., 4.]


def test_backward_on_a_leaf_accumulates_the_given_gradient():
    x = pygrad.tensor([1., 2.], requires_grad=True)
    x.backward(pygrad.tensor([3., 4.]))
    assert x.grad.tolist() == [3., 4.]


def test_graph_is_freed_by_reference_counting_alone():
    gc.collect()
    gc.disable()
    try:
        x = pygrad.tensor([1., 2.], requires_grad=True)
        h = (x * 2).exp()
        loss = (h * h).sum()
        node = weakref.ref(h.grad_fn)
        data = weakref.ref(h)
        del h
        loss.backward()
        assert node() is not None
        del loss
        assert node() is None and data() is None
    finally:
        gc.enable()


def test_million_node_chain_backpropagates_and_frees_iteratively():
    n = 1_000_000
    x0 = pygrad.tensor(0.5, requires_grad=True)
    x = x0
    for _ in range(n):
        x = x + 1.0
    start = time.perf_counter()
    x.backward()
    elapsed = time.perf_counter() - start
    assert x0.grad.item() == 1.0 and x.item() == 1_000_000.5
    print(f"\n1,000,000-node chain backward on {pygrad.backend()}: {elapsed:.2f} s")
    gc.disable()
    try:
        first = weakref.ref(x.grad_fn.next_functions[0][0])
        del x
        assert first() is None
    finally:
        gc.enable()
