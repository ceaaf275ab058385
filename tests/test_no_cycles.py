"""Graphs are freed by reference counting alone.

Tensors, nodes and saved tensors form an acyclic graph by design (a node keeps no reference
to its outputs); a reference cycle among them would keep every saved array of a graph alive
until the cyclic collector runs. Each case builds a graph and drops it with the collector
off: every object must be gone at once, and a collection must then find nothing of pygrad's.
"""
import gc
import weakref

import pytest

import pygrad
from pygrad import nn
from pygrad.autograd import Function


@pytest.fixture
def collector_off():
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _pygrad_garbage() -> list:
    """The names of the pygrad objects a collection finds unreachable (and then frees them)."""
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        gc.collect()
        found = sorted(type(o).__name__ for o in gc.garbage
                       if type(o).__module__.split(".")[0] == "pygrad")
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    gc.collect()
    return found


def _graph_objects(*tensors) -> list:
    """Weak references to the tensors and every node of their graphs."""
    refs, seen = [], set()
    stack = [t for t in tensors if t is not None]
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        refs.append(weakref.ref(obj))
        if isinstance(obj, pygrad.Tensor):
            for nxt in (obj.grad_fn, obj._grad, obj._base):
                if nxt is not None:
                    stack.append(nxt)
        else:
            stack += [child for child, _ in obj.next_functions if child is not None]
            if isinstance(obj, pygrad.autograd.function.AccumulateGrad):
                stack.append(obj.variable)
    return refs


class Double(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        ctx.scale = 2.0
        y = x * 2
        return y

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * ctx.scale


class SquareSavingOutput(Function):
    @staticmethod
    def forward(ctx, x):
        y = x * x
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        return g * 2 * x


class ScaleInPlace(Function):
    @staticmethod
    def forward(ctx, x):
        x.mul_(3.0)
        ctx.mark_dirty(x)
        return x

    @staticmethod
    def backward(ctx, g):
        return g * 3.0


class WithIndices(Function):
    @staticmethod
    def forward(ctx, x):
        idx = x.argmax()
        ctx.mark_non_differentiable(idx)
        ctx.save_for_backward(x)
        return x * 1.0, idx

    @staticmethod
    def backward(ctx, g, _):
        return g


def inplace_ops():
    x = pygrad.randn(4, 5, requires_grad=True)
    h = x * 1
    h.add_(1.0)
    h.mul_(2.0)
    h.relu_()
    h.sum().backward()
    return x, h


def inplace_ops_without_backward():
    x = pygrad.randn(4, 5, requires_grad=True)
    h = x.exp()
    h.add_(1.0).sigmoid_()
    return x, h


def views_and_writes_through_them():
    x = pygrad.randn(4, 5, requires_grad=True)
    h = x * 1
    v = h[1:3]
    v.mul_(2.0)
    h.t()[0].add_(1.0)
    w = h.view(20)
    w[3] = 7.0
    (h.sum() + v.sum() + w.sum()).backward()
    return x, h, v, w


def hooks():
    x = pygrad.randn(4, 5, requires_grad=True)
    x.register_hook(lambda g: g * 2)
    y = x.exp()
    y.register_hook(lambda g: g + 1)
    y.retain_grad()
    y.grad_fn.register_hook(lambda grad_inputs, grad_outputs: None)
    y.grad_fn.register_prehook(lambda grad_outputs: None)
    y.sum().backward()
    return x, y


def create_graph_backward():
    x = pygrad.randn(4, requires_grad=True)
    w = pygrad.randn(4, requires_grad=True)
    (x * w).sum().backward(create_graph=True, inputs=[x])  # x.grad's graph reaches w, not x
    g = x.grad
    (g * g).sum().backward(inputs=[w])
    return x, w, g


def create_graph_backward_reset_grad():
    # The gradient's graph reaches the leaf (x.grad -> ... -> x): PyTorch warns of this cycle
    # and asks to set .grad to None after use, which must then free everything.
    x = pygrad.randn(4, requires_grad=True)
    (x ** 3).sum().backward(create_graph=True)
    g = x.grad
    g.sum().backward()
    x.grad = None
    return x, g


def create_graph_grad():
    x = pygrad.randn(4, requires_grad=True)
    (g,) = pygrad.autograd.grad((x ** 3).relu().sum(), x, create_graph=True)
    (gg,) = pygrad.autograd.grad(g.sum(), x, create_graph=True)
    gg.sum().backward()
    return x, g, gg


def nn_layers_and_optimizer():
    pygrad.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(inplace=True),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.2), nn.Linear(36, 10))
    opt = pygrad.optim.Adam(model.parameters(), lr=0.01)
    loss = None
    for _ in range(2):
        opt.zero_grad()
        loss = nn.CrossEntropyLoss()(model(pygrad.randn(3, 1, 8, 8)), pygrad.tensor([1, 2, 3]))
        loss.backward()
        opt.step()
    return (loss,) + tuple(model.parameters())


def relu_inplace_mlp():
    pygrad.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 8), nn.ReLU(inplace=True), nn.Linear(8, 8), nn.ReLU(inplace=True),
                          nn.Linear(8, 1))
    opt = pygrad.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    out = model(pygrad.randn(3, 5))
    out.sum().backward()
    opt.step()
    return (out,) + tuple(model.parameters())


def custom_functions():
    x = pygrad.randn(4, requires_grad=True)
    y = Double.apply(x)
    z = SquareSavingOutput.apply(y)
    d = ScaleInPlace.apply(z * 1)
    out, idx = WithIndices.apply(d)
    out.sum().backward()
    return x, y, z, d, out, idx


def anomaly_mode():
    with pygrad.autograd.detect_anomaly():
        x = pygrad.randn(3, requires_grad=True)
        y = (x * 2).add_(1.0)
        y.sum().backward()
    return x, y


GRAPHS = [inplace_ops, inplace_ops_without_backward, views_and_writes_through_them, hooks,
          create_graph_backward, create_graph_backward_reset_grad, create_graph_grad,
          nn_layers_and_optimizer, relu_inplace_mlp, custom_functions, anomaly_mode]


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("build", GRAPHS, ids=lambda f: f.__name__)
def test_graph_is_freed_by_reference_counting(backend, collector_off, build):
    refs = _graph_objects(*build())
    assert len(refs) > 2
    alive = sorted(type(r()).__name__ for r in refs if r() is not None)
    assert alive == [], f"kept alive by reference cycles: {alive}"
    assert _pygrad_garbage() == []


def test_cycles_users_make_are_still_collected(backend):
    """A hook or a ctx that captures its own tensor is a cycle the cyclic collector frees."""
    x = pygrad.randn(3, requires_grad=True)
    y = x.exp()
    y.register_hook(lambda g: g * y)
    z = Double.apply(x)
    z.grad_fn.output = z
    refs = [weakref.ref(t) for t in (y, y.grad_fn, z, z.grad_fn)]
    del y, z
    gc.collect()
    assert [r() for r in refs] == [None] * 4


def test_leaf_and_create_graph_gradient_cycle_is_collected(backend, collector_off, create_graph_warning):
    """The cycle PyTorch warns about (a leaf, its .grad built with create_graph, the grad's
    graph back to the leaf) is freed by the collector when .grad is not reset."""
    x = pygrad.randn(4, requires_grad=True)
    with pytest.warns(UserWarning, match="reference cycle"):
        (x ** 3).sum().backward(create_graph=True)
    ref = weakref.ref(x)
    del x
    assert ref() is not None
    gc.collect()
    assert ref() is None
