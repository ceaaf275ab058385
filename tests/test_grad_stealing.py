"""A leaf's first gradient becomes its ``.grad`` without a copy when nothing else holds it (as
PyTorch's AccumulateGrad steals it), and later ones are added into ``.grad`` in place.

The differential cases check what users can see against torch: ``.grad``'s identity across
backward calls, and that a gradient a user holds (through a hook, ``retain_grad``,
``autograd.grad``, a custom Function's saved tensor or input, a root gradient) never changes
afterwards.  The last tests check that the copy is really saved where it can be.
"""

import numpy as np
import pytest

import pygrad


def _values(ts):
    return [None if t is None else np.array(t.detach().numpy(), dtype=np.float64) for t in ts]


def _leaf(m, values):
    return m.tensor(np.asarray(values, np.float64), requires_grad=True)


def case_identity_across_backwards(m):
    p = _leaf(m, [1.0, -2.0, 3.0])
    (p * p).sum().backward()
    first = p.grad
    (p * 3).sum().backward()
    return [first, p.grad], [first is p.grad]


def case_user_holds_grad_then_backward(m):
    p = _leaf(m, [1.0, 2.0])
    (p * p).sum().backward()
    held = p.grad
    (p * 5).sum().backward()  # torch adds into the same tensor: the user's reference sees it
    return [held, p.grad], [held is p.grad]


def case_grad_set_to_none_between(m):
    p = _leaf(m, [1.0, 2.0])
    (p * p).sum().backward()
    old = p.grad
    p.grad = None
    (p * 7).sum().backward()
    return [old, p.grad], [old is p.grad]


def case_leaf_hook_keeps_grad(m):
    p = _leaf(m, [1.0, 2.0, 3.0])
    kept = []
    p.register_hook(lambda g: kept.append(g))
    (p * p).sum().backward()
    (p * 2).sum().backward()
    return [kept[0], kept[1], p.grad], [kept[0] is p.grad]


def case_leaf_hook_returns_kept_tensor(m):
    p = _leaf(m, [1.0, 2.0])
    replacement = m.tensor([10.0, 20.0], dtype=m.float64)
    p.register_hook(lambda g: replacement)
    (p * p).sum().backward()
    (p * p).sum().backward()
    return [replacement, p.grad], [replacement is p.grad]


def case_intermediate_hook_keeps_passthrough(m):
    # add passes its gradient on unchanged to both leaves: the same buffer reaches both
    p, q = _leaf(m, [1.0, 2.0]), _leaf(m, [3.0, 4.0])
    kept = []
    z = p + q
    z.register_hook(lambda g: kept.append(g))
    (z * m.tensor([2.0, 3.0], dtype=m.float64)).sum().backward()
    (p * q).sum().backward()
    return [kept[0], p.grad, q.grad], [p.grad is q.grad]


def case_two_leaves_one_buffer(m):
    p, q = _leaf(m, [1.0, 2.0]), _leaf(m, [3.0, 4.0])
    (p + q).sum().backward()
    with m.no_grad():
        p.grad.add_(100)
    (p + q).sum().backward()
    return [p.grad, q.grad], []


def case_retain_grad(m):
    p = _leaf(m, [1.0, 2.0])
    z = p * 1.0
    z.retain_grad()
    loss = (z * z).sum()
    loss.backward(retain_graph=True)
    held = z.grad
    loss.backward()
    return [held, z.grad, p.grad], [held is z.grad]


def case_retain_grad_passthrough(m):
    p = _leaf(m, [1.0, 2.0])
    z = p + 0.0  # its gradient passes on to p unchanged
    z.retain_grad()
    loss = (z * z).sum()
    loss.backward(retain_graph=True)
    zg, pg = z.grad, p.grad
    loss.backward()
    return [zg, pg, z.grad, p.grad], [zg is z.grad, pg is p.grad]


def case_autograd_grad_output(m):
    p = _leaf(m, [1.0, 2.0])
    loss = (p * p).sum()
    (g,) = m.autograd.grad(loss, p, retain_graph=True)
    loss.backward(retain_graph=True)
    loss.backward()
    return [g, p.grad], [g is p.grad]


def case_backward_inputs(m):
    p, q = _leaf(m, [1.0, 2.0]), _leaf(m, [3.0, 4.0])
    loss = (p * q).sum()
    loss.backward(inputs=[p], retain_graph=True)
    held = p.grad
    loss.backward(inputs=[p, q])
    return [held, p.grad, q.grad], [held is p.grad]


def case_root_gradient_of_leaf(m):
    p = _leaf(m, [1.0, 2.0])
    g = m.tensor([5.0, 6.0], dtype=m.float64)
    p.backward(g)
    p.backward(g)
    return [g, p.grad], []


def case_root_gradient_passthrough(m):
    p = _leaf(m, [1.0, 2.0])
    g = m.tensor([5.0, 6.0], dtype=m.float64)
    (p + 1).backward(g)
    (p + 1).backward(g)
    return [g, p.grad], []


def _function_returning(m, pick):
    class F(m.autograd.Function):
        @staticmethod
        def forward(ctx, x, other):
            ctx.save_for_backward(other)
            ctx.other = other
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return pick(ctx), None
    return F


def case_gradient_is_saved_tensor(m):
    p = _leaf(m, [1.0, 2.0])
    other = m.tensor([7.0, 8.0], dtype=m.float64)
    F = _function_returning(m, lambda ctx: ctx.saved_tensors[0])
    F.apply(p, other).sum().backward()
    F.apply(p, other).sum().backward()
    return [other, p.grad], []


def case_gradient_is_input(m):
    p = _leaf(m, [1.0, 2.0])
    other = m.tensor([7.0, 8.0], dtype=m.float64)
    F = _function_returning(m, lambda ctx: ctx.other)
    F.apply(p, other).sum().backward()
    F.apply(p, other).sum().backward()
    return [other, p.grad], []


def case_post_accumulate_hook_keeps_grad(m):
    p = _leaf(m, [1.0, 2.0])
    kept = []
    p.register_post_accumulate_grad_hook(lambda t: kept.append(t.grad))
    (p * p).sum().backward()
    (p * 3).sum().backward()
    return [kept[0], kept[1], p.grad], [kept[0] is kept[1], kept[1] is p.grad]


def case_node_prehook_keeps_grad(m):
    p = _leaf(m, [1.0, 2.0])
    kept = []
    loss = (p * p).sum()
    acc = loss.grad_fn.next_functions[0][0].next_functions[0][0]
    acc.register_prehook(lambda grads: kept.append(grads[0]))
    loss.backward(retain_graph=True)
    loss.backward()
    return [kept[0], p.grad], [kept[0] is p.grad]


def case_linear_weights(m):
    layer = m.nn.Linear(3, 2).double()
    with m.no_grad():
        layer.weight.copy_(m.tensor([[1.0, -1.0, 0.5], [0.25, 2.0, -3.0]], dtype=m.float64))
        layer.bias.copy_(m.tensor([0.1, -0.2], dtype=m.float64))
    x = m.tensor([[1.0, 2.0, 3.0], [-1.0, 0.5, 2.0]], dtype=m.float64)
    layer(x).sum().backward()
    w, b = layer.weight.grad, layer.bias.grad
    (layer(x) ** 2).sum().backward()
    return [w, b, layer.weight.grad, layer.bias.grad], [w is layer.weight.grad, b is layer.bias.grad]


def case_create_graph_then_plain(m):
    p = _leaf(m, [1.0, 2.0])
    (p * p).sum().backward(create_graph=True)
    first = p.grad
    (p * 3).sum().backward()
    return [first, p.grad], [first is p.grad, p.grad.grad_fn is None]


def case_plain_then_create_graph(m):
    p = _leaf(m, [1.0, 2.0])
    (p * p).sum().backward()
    first = p.grad
    (p * p).sum().backward(create_graph=True)
    return [first, p.grad], [first is p.grad, p.grad.grad_fn is None, p.grad.requires_grad]


CASES = [(name[5:], fn) for name, fn in sorted(globals().items()) if name.startswith("case_")]


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")
@pytest.mark.parametrize("name,fn", CASES, ids=[n for n, _ in CASES])
def test_matches_torch(torch, backend, name, fn):
    got_tensors, got_flags = fn(pygrad)
    want_tensors, want_flags = fn(torch)
    assert got_flags == want_flags
    for got, want in zip(_values(got_tensors), _values(want_tensors)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)


def _gradient_wrapping(m, make):
    """A custom Function whose backward returns ``make(g)`` (an array) as a new tensor."""
    made = {}

    class F(m.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            out = m.Tensor._wrap(make(g._data))
            made["address"] = out._data.__array_interface__["data"][0]
            return out
    return F, made


def test_fresh_gradient_becomes_grad_uncopied(backend):
    F, made = _gradient_wrapping(pygrad, lambda g: g * 2.0)
    p = _leaf(pygrad, [1.0, 2.0, 3.0])
    F.apply(p).sum().backward()
    assert p.grad._data.__array_interface__["data"][0] == made["address"]
    np.testing.assert_array_equal(p.grad.numpy(), [2.0, 2.0, 2.0])
    F.apply(p).sum().backward()  # then added in place
    assert p.grad._data.__array_interface__["data"][0] != made["address"]
    np.testing.assert_array_equal(p.grad.numpy(), [4.0, 4.0, 4.0])


@pytest.mark.parametrize("make,stolen", [(lambda g: g * 2.0, True),
                                         (lambda g: np.asfortranarray(g.T * 2.0).T, True),  # a view, its base held by it only
                                         (lambda g: np.asfortranarray(g * 2.0), False),
                                         (lambda g: (np.concatenate([g, g]) * 2.0)[:3], False)],  # keeps twice its memory
                         ids=["fresh", "view_of_fresh", "fortran_order", "part_of_larger"])
def test_only_c_contiguous_owned_memory_is_stolen(backend, make, stolen):
    F, made = _gradient_wrapping(pygrad, make)
    p = pygrad.tensor(np.arange(9.0).reshape(3, 3), requires_grad=True)
    F.apply(p).sum().backward()
    assert (p.grad._data.__array_interface__["data"][0] == made["address"]) == stolen
    assert p.grad._data.flags.c_contiguous
    np.testing.assert_array_equal(p.grad.numpy(), np.full((3, 3), 2.0))


def test_gradient_that_is_a_view_of_an_input_is_copied(backend):
    # (torch steals this one, and the user's ``other`` changes at the next backward)
    p = _leaf(pygrad, [1.0, 2.0])
    other = pygrad.tensor([[7.0, 8.0], [9.0, 10.0]], dtype=pygrad.float64)
    F = _function_returning(pygrad, lambda ctx: ctx.other[0])
    F.apply(p, other).sum().backward()
    F.apply(p, other).sum().backward()
    np.testing.assert_array_equal(other.numpy(), [[7.0, 8.0], [9.0, 10.0]])
    np.testing.assert_array_equal(p.grad.numpy(), [14.0, 16.0])


def test_gradient_viewed_elsewhere_is_copied(backend):
    views = []

    def make(g):
        out = g * 3.0
        views.append(out[:1])  # a view of the gradient's memory, kept
        return out
    F, made = _gradient_wrapping(pygrad, make)
    p = _leaf(pygrad, [1.0, 2.0])
    F.apply(p).sum().backward()
    F.apply(p).sum().backward()
    np.testing.assert_array_equal(views[0], [3.0])
    np.testing.assert_array_equal(p.grad.numpy(), [6.0, 6.0])


def test_linear_training_step_copies_no_gradient(backend, monkeypatch):
    from pygrad import _backend
    copies = []
    copy = _backend.kernels.copy

    def counting(a):
        copies.append(a.shape)
        return copy(a)
    # the one namespace both Tensor._accumulate_grad and the compiled engine call
    monkeypatch.setattr(_backend.kernels, "copy", counting)
    nn = pygrad.nn
    model = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))
    x, y = pygrad.randn(4, 6), pygrad.tensor([0, 2, 1, 1])
    nn.CrossEntropyLoss()(model(x), y).backward()
    assert copies == []
    assert all(p.grad is not None and p.grad._data.flags.c_contiguous for p in model.parameters())
    # written by hand: the transposes' gradients are transposed back without a view or a copy
    w1, w2, w3 = (pygrad.randn(n, 6, requires_grad=True) for n in (5, 5, 6))
    ((x @ w1.T).relu() @ w2.mT.transpose(0, 1) + x @ w3.permute(1, 0)).log_softmax(1)[:, 0].sum().backward()
    assert copies == []
    assert all(w.grad._data.flags.c_contiguous for w in (w1, w2, w3))


def test_the_copy_count_sees_copied_gradients(backend, monkeypatch):
    from pygrad import _backend
    copies = []
    copy = _backend.kernels.copy
    monkeypatch.setattr(_backend.kernels, "copy", lambda a: copies.append(a.shape) or copy(a))
    p = _leaf(pygrad, [1.0, 2.0])
    p.register_hook(lambda g: g)  # a gradient a hook saw is not stolen
    (p * 3).sum().backward()
    q = pygrad.nn.Parameter(pygrad.tensor([1.0, 2.0, 3.0], dtype=pygrad.float64))
    F = _function_returning(pygrad, lambda ctx: ctx.other[0])  # a view of an input: copied
    F.apply(q, pygrad.tensor([[7.0, 8.0, 9.0]], dtype=pygrad.float64)).sum().backward()
    assert copies == [(2,), (3,)]
    np.testing.assert_array_equal(q.grad.numpy(), [7.0, 8.0, 9.0])
