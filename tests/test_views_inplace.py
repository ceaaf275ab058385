"""In-place changes through views: the base's history (CopySlices), the view's regenerated
grad_fn, PyTorch's view + in-place errors, and gradients checked against PyTorch and gradcheck."""
import numpy as np
import pytest

import pygrad

START = np.arange(6, dtype=np.float64).reshape(2, 3) / 7 + 0.3
ROW = np.array([0.7, -1.3, 2.1])


def _leaves(m):
    return (m.tensor(START.copy(), requires_grad=True),
            m.tensor(ROW.copy(), requires_grad=True))


def _name(t):
    return None if t.grad_fn is None else type(t.grad_fn).__name__


# Each case builds a graph from the leaves (l: 2x3, v: 3) and returns (loss, tensors whose
# values and grad_fn names are compared with PyTorch's).
def case_select_mul(m, l, v):
    a = l * 2
    r = a[0]
    r.mul_(3)
    return a.sum(), (a, r)


def case_setitem_value_requires_grad(m, l, v):
    c = l.clone()
    c[:, 1] = v[:2]
    return (c * c).sum(), (c,)


def case_view_add(m, l, v):
    c = l * 1
    w = c.view(2, 3)
    w.add_(1)
    return c.exp().sum(), (c, w)


def case_transpose_mul(m, l, v):
    c = l * 1
    w = c.t()
    w.mul_(2)
    return (c * c).sum(), (c, w)


def case_slice_zero(m, l, v):
    c = l * 1
    w = c[1:3]
    w.zero_()
    return (c * c).sum(), (c, w)


def case_view_of_view(m, l, v):
    c = l * 1
    w = c[0]
    u = w[1:]
    u.mul_(3)
    return (c * c).sum(), (c, w, u)


def case_base_modified_after_view(m, l, v):
    c = l * 1
    w = c[0]
    c.mul_(2)
    return (w * w).sum(), (c, w)


def case_view_made_current_by_base_write(m, l, v):
    x = m.zeros(2, 3, dtype=m.float64)
    w = x[:, 1:]
    x.copy_(l)
    return (w * w).sum(), (x, w)


def case_base_without_grad_written_with_grad(m, l, v):
    x = m.zeros(2, 3, dtype=m.float64)
    r = x[1]
    r.mul_(v)
    r.add_(l[1])
    return (x * x).sum(), (x, r)


def case_sibling_view_write(m, l, v):
    c = l * 1
    a, b = c[0], c[1]
    a.mul_(v)
    return (b * b).sum() + (a * a).sum(), (c, a, b)


def case_big_T_add(m, l, v):
    c = l.clone()
    c.T[0].add_(c[:, 1])
    return c.exp().sum(), (c,)


def case_expand_after_base_write(m, l, v):
    c = l * 1
    w = c.unsqueeze(0).expand(3, 2, 3)
    c.mul_(2)
    return (w * w).sum(), (c, w)


def case_mixed_setitem(m, l, v):
    c = l * 1
    c[0, [0, 2]] = v[:2]
    return (c * c).sum(), (c,)


def case_setitem_on_view(m, l, v):
    c = l * 1
    w = c[0]
    w[1] = v[2]
    return (c * c).sum(), (c, w)


def case_chain_of_views(m, l, v):
    c = l * 1
    c.view(3, 2)[1:, 0].sub_(l[0, :2])
    c.view(-1)[::2].div_(v[0])
    return (c * c).sum(), (c,)


def case_narrow_clamp(m, l, v):
    c = l * 1
    c.permute(1, 0).narrow(0, 1, 2).clamp_(0.5, 0.9)
    return (c * c).sum(), (c,)


def case_unsqueeze_pow(m, l, v):
    c = l * 1
    c.squeeze().unsqueeze(1)[0].pow_(2)
    return c.sum(), (c,)


def case_alias_fill(m, l, v):
    c = l * 1
    c[...].fill_(v[0])
    return (c * l).sum(), (c,)


def case_copy_into_view(m, l, v):
    c = l * 1
    c[:, 0].copy_(v[1:])
    return (c * c).sum(), (c,)


def case_inplace_in_no_grad_then_used(m, l, v):
    c = l * 1
    w = c[0]
    with m.no_grad():
        w.mul_(2)
    return (w * c).sum(), (c, w)


def case_twice_through_one_view(m, l, v):
    c = l * 1
    r = c[1]
    r.mul_(v)
    r.exp_()
    return (c * c).sum(), (c, r)


def case_split_in_no_grad_mode(m, l, v):
    c = l * 1
    with m.no_grad():
        a, b = c.detach().split(1)
        a.mul_(2)
    return (c * b).sum(), (c,)


def case_mul_by_own_view(m, l, v):
    c = l * 1
    r = c[0]
    r.mul_(c[1])
    return c.sum(), (c,)


def case_saved_view_then_base_write(m, l, v):
    c = l * 1
    s = c[0].sin()
    c.mul_(2)
    return s.sum(), (c,)


def case_saved_base_then_view_write(m, l, v):
    c = l * 1
    s = c.sin()
    c[0].mul_(2)
    return s.sum(), (c,)


def case_detached_write_invalidates_saved(m, l, v):
    c = l * 1
    e = c.sin()  # saves c
    c.detach().mul_(2)
    return e.sum(), (c,)


def case_detached_write_keeps_saved_result(m, l, v):
    c = l * 1
    e = c.exp()  # saves its result, not c
    c.detach().mul_(2)
    return e.sum(), (c,)


def case_view_of_leaf(m, l, v):
    l[0].mul_(2)
    return l.sum(), ()


def case_view_of_leaf_setitem(m, l, v):
    l[0] = 1.0
    return l.sum(), ()


def case_no_grad_view_written(m, l, v):
    c = l * 1
    with m.no_grad():
        w = c[0]
    w.mul_(2)
    return c.sum(), ()


def case_no_grad_view_of_value_without_grad(m, l, v):
    x = m.zeros(2, 3, dtype=m.float64)
    with m.no_grad():
        row = x[0]
    row.copy_(v)
    return x.sum(), ()


def case_no_grad_view_used_after_base_write(m, l, v):
    c = l * 1
    with m.no_grad():
        w = c[0]
    c.mul_(2)
    return (w * 2).sum(), ()


def case_unbind_output_written(m, l, v):
    a, b = (l * 1).unbind(0)
    b.mul_(2)
    return a.sum(), ()


def case_split_output_written(m, l, v):
    a, b = (l * 1).split(1)
    a.add_(1)
    return a.sum(), ()


def case_chunk_output_used_after_base_write(m, l, v):
    c = l * 1
    a, b = c.chunk(2)
    c.mul_(2)
    return a.sum(), ()


def case_unbind_without_grad_written_with_grad(m, l, v):
    a, b = m.zeros(2, 3, dtype=m.float64).unbind(0)
    a.mul_(v)
    return a.sum(), ()


def case_detach_view_in_place(m, l, v):
    w = (l * 1)[0]
    w.detach_()
    return w.sum(), ()


def case_view_of_no_grad_view(m, l, v):
    c = l * 1
    with m.no_grad():
        w = c[0]
    u = w[1:]
    u.mul_(2)
    return c.sum(), ()


def case_expand_written_by_arithmetic(m, l, v):
    e = m.zeros(3, dtype=m.float64).expand(2, 3)
    e.add_(v)
    return e.sum(), ()


def case_expand_copied_into(m, l, v):
    e = m.zeros(3, dtype=m.float64).expand(2, 3)
    e[:, 0] = v[:2]
    return e.sum(), ()


def case_expand_filled(m, l, v):
    x = m.zeros(3, dtype=m.float64)
    e = x.expand(2, 3)
    e.fill_(2.0)
    e.zero_()
    x[1].fill_(v[0])
    return (x * v).sum(), (x, e)


CASES = [(name[len("case_"):], fn) for name, fn in sorted(globals().items()) if name.startswith("case_")]


def _outcome(m, fn):
    l, v = _leaves(m)
    try:
        loss, tensors = fn(m, l, v)
        loss.backward()
    except RuntimeError as e:
        return ("error", str(e))
    grads = [None if t.grad is None else t.grad.detach().numpy().copy() for t in (l, v)]
    return ("ok", [t.detach().numpy().copy() for t in tensors], [_name(t) for t in tensors], grads,
            [t.requires_grad for t in tensors])


@pytest.mark.parametrize("name,fn", CASES, ids=[n for n, _ in CASES])
def test_matches_torch(torch, backend, name, fn):
    got, want = _outcome(pygrad, fn), _outcome(torch, fn)
    assert got[0] == want[0], (got, want)
    if got[0] == "error":
        assert got[1] == want[1]
        return
    _, values, names, grads, requires = got
    _, t_values, t_names, t_grads, t_requires = want
    assert names == t_names
    assert requires == t_requires
    for a, b in zip(values, t_values):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    for a, b in zip(grads, t_grads):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=1e-12)


def test_base_is_the_root_and_records_nothing_on_the_base(torch):
    for m in (pygrad, torch):
        leaf = m.ones(2, 3, requires_grad=True)
        c = leaf * 1
        w = c[0][1:].unsqueeze(0)
        assert w._base is c
        assert c._base is None and leaf.view(6)._base is leaf
        assert c.detach()._base is None  # detach shares storage but is no differentiable view
        assert type(c.grad_fn).__name__ == "MulBackward0"


def test_grad_fn_structure_matches_torch(torch, backend):
    def structure(m):
        leaf = m.ones(2, 3, requires_grad=True)
        c = leaf * 1
        r = c[0]
        r.mul_(m.ones(3, requires_grad=True))
        copy = c.grad_fn
        return (copy.name(), [None if f is None else type(f).__name__ for f, _ in copy.next_functions],
                [type(f).__name__ for f, _ in r.grad_fn.next_functions], r.grad_fn.next_functions[0][0] is copy)
    assert structure(pygrad) == structure(torch)


def test_stale_no_grad_view_prints_invalid(torch):
    def text(m):
        c = m.tensor([1.0, 2.0, 3.0], requires_grad=True) * 1
        with m.no_grad():
            w = c[1:]
        c.mul_(2)
        return repr(w), w.requires_grad
    assert text(pygrad) == text(torch)


def test_version_counter_is_shared(torch):
    for m, version in ((pygrad, lambda t: t._version_value), (torch, lambda t: t._version)):
        c = m.ones(2, 3, requires_grad=True) * 1
        w = c[0]
        w.mul_(2)
        c[1].add_(1)
        assert version(c) == version(w) == 2


def test_no_grad_view_of_grad_base_requires_grad_like_torch(torch):
    def state(m):
        c = m.ones(2, 3, requires_grad=True) * 1
        with m.no_grad():
            w = c[0]
        return w.requires_grad, w.is_leaf, w.grad_fn is None
    assert state(pygrad) == state(torch)


def test_retain_graph_twice_and_freed_graph(backend):
    leaf = pygrad.tensor(START.copy(), requires_grad=True)
    c = leaf * 1
    c[0].mul_(leaf[1])
    c.sum().backward(retain_graph=True)
    first = leaf.grad.clone()
    c.sum().backward()
    np.testing.assert_allclose(leaf.grad.numpy(), 2 * first.numpy())
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        c.sum().backward()


def test_double_backward_through_copy_slices(torch):
    def grads(m):
        x = m.tensor(ROW.copy(), requires_grad=True)
        c = x * x
        c[1:].mul_(x[:2])
        (g,) = m.autograd.grad(c.sum(), x, create_graph=True)
        (gg,) = m.autograd.grad((g * g).sum(), x)
        return g.detach().numpy(), gg.numpy(), type(g.grad_fn).__name__ is not None
    for a, b in zip(grads(pygrad), grads(torch)):
        np.testing.assert_allclose(a, b, rtol=1e-12)


# -- gradcheck: functions that write through views of a clone of their inputs -------------
def _f_rows(x, y):
    c = x.clone()
    c[0].mul_(y)
    c[1:, ::2].add_(y[:2])
    return c.tanh()


def _f_transpose(x, y):
    c = x * 1
    c.t()[1].copy_(y[:2] * 2)
    c.view(-1)[1::2].div_(y[0] + 3)
    return c * x


def _f_base_then_view(x, y):
    c = x.clone()
    w = c[:, 1]
    c.mul_(x)
    return w.exp() * y[:2]


def _f_setitem(x, y):
    c = x.clone()
    c[1, [0, 2]] = y[:2] ** 2
    c[0] = y.sin()
    return c


@pytest.mark.parametrize("fn", [_f_rows, _f_transpose, _f_base_then_view, _f_setitem],
                         ids=lambda f: f.__name__[3:])
def test_gradcheck(fn, backend):
    x = pygrad.tensor(START.copy(), requires_grad=True)
    y = pygrad.tensor(ROW.copy(), requires_grad=True)
    assert pygrad.autograd.gradcheck(fn, (x, y))
    assert pygrad.autograd.gradgradcheck(fn, (x, y))
    np.testing.assert_array_equal(x.detach().numpy(), START)  # the inputs were not written


# -- a leaf that requires grad and is itself a view of a base that does not ------------------------------
# (``arange(6.).reshape(2, 3).requires_grad_()``): PyTorch refuses in-place writes to it and to its
# views, whatever the view's base requires, since the write would turn the leaf into a non-leaf and
# lose its gradient; in no_grad mode (an optimiser step) the writes are allowed and it stays a leaf.
LEAF_VIEW_MAKERS = {
    "reshape_of_arange": lambda m: m.arange(6., dtype=m.float64).reshape(2, 3).requires_grad_(),
    "view_of_zeros": lambda m: m.zeros(6, dtype=m.float64).view(2, 3).requires_grad_(),
    "slice": lambda m: m.zeros(2, 4, dtype=m.float64)[:, 1:].requires_grad_(),
}


def _sgd_without_no_grad(m, x):
    x.sum().backward()
    x -= 0.1 * x.grad


def _set_element(m, x):
    x[0, 0] = 5.0


LEAF_VIEW_WRITES = {
    "add_": lambda m, x: x.add_(1),
    "setitem": _set_element,
    "row_mul_": lambda m, x: x[0].mul_(2),
    "transpose_add_": lambda m, x: x.t().add_(1),
    "sgd_step": _sgd_without_no_grad,
    "zero_": lambda m, x: x.zero_(),
    "fill_": lambda m, x: x.fill_(1.0),
    "copy_": lambda m, x: x.copy_(m.ones(2, 3, dtype=m.float64)),
    "mul_by_grad_tensor": lambda m, x: x.mul_(m.ones(3, dtype=m.float64, requires_grad=True)),
}


@pytest.mark.parametrize("write", sorted(LEAF_VIEW_WRITES))
@pytest.mark.parametrize("make", sorted(LEAF_VIEW_MAKERS))
def test_leaf_that_is_a_view_rejects_in_place_writes(torch, backend, make, write):
    def outcome(m):
        x = LEAF_VIEW_MAKERS[make](m)
        before = x.detach().clone().numpy()
        try:
            LEAF_VIEW_WRITES[write](m, x)
        except RuntimeError as e:
            return str(e), x.is_leaf, x.grad_fn, np.array_equal(x.detach().numpy(), before)
        return "no error", x.is_leaf, type(x.grad_fn).__name__, None
    got, want = outcome(pygrad), outcome(torch)
    assert want[0] == "a view of a leaf Variable that requires grad is being used in an in-place operation."
    assert got == want


def test_plain_leaf_in_place_error_is_the_leaf_text(torch, backend):
    def message(m):
        with pytest.raises(RuntimeError) as e:
            m.ones(3, dtype=m.float64, requires_grad=True).add_(1)
        return str(e.value)
    assert message(pygrad) == message(torch) == "a leaf Variable that requires grad is being used in an in-place operation."


@pytest.mark.parametrize("make", sorted(LEAF_VIEW_MAKERS))
def test_leaf_that_is_a_view_is_updated_in_no_grad_mode(torch, backend, make):
    def run(m):
        x = LEAF_VIEW_MAKERS[make](m)
        for step in range(2):
            (x * x).sum().backward()
            with m.no_grad():
                x -= 0.1 * x.grad
                x[0].mul_(2)
                x.t().add_(1)
                x[1, 1] = -3.0
            if step == 0:
                x.grad = None
        return x.detach().numpy().copy(), x.grad.numpy().copy(), x.is_leaf, x.requires_grad, x.grad_fn
    got, want = run(pygrad), run(torch)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-12)
    assert got[2:] == want[2:] == (True, True, None)


def test_view_without_grad_of_base_without_grad_may_take_a_gradient(torch, backend):
    """Only a view that requires grad is refused: writing a value that requires grad through a
    view of a plain tensor is allowed and moves the base's history to CopySlices."""
    def run(m):
        a = m.zeros(2, 3, dtype=m.float64)
        c = m.tensor(ROW.copy(), requires_grad=True)
        r = a[0]
        r.add_(c)
        r.mul_(2)
        a[1].mul_(c)
        (a * a).sum().backward()
        return a.detach().numpy().copy(), c.grad.numpy().copy(), type(a.grad_fn).__name__, type(r.grad_fn).__name__
    got, want = run(pygrad), run(torch)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-12)
    assert got[2:] == want[2:] == ("CopySlices", "AsStridedBackward0")


def test_source_view_of_the_written_base_keeps_the_history_it_had(torch):
    """``t[:1].copy_(t[2:3])``: the source is a view of the base being written; its edge is the
    SliceBackward0 it had when the op was called, as PyTorch takes the edges before writing."""
    results = []
    for m in (pygrad, torch):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        t = m.zeros(4)
        t[1:3].copy_(x * 3)
        t.narrow(0, 0, 1).copy_(t.narrow(0, 2, 1))
        names = [type(f).__name__ if f is not None else None for f, _ in t.grad_fn.next_functions]
        t.backward(m.tensor([1.0, 10.0, 100.0, 1000.0]))
        results.append((type(t.grad_fn).__name__, names, x.grad.tolist(), t.tolist()))
    assert results[0] == results[1]
    assert results[0][1] == ["CopySlices", "SliceBackward0"]
