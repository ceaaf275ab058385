"""The compiled common path of table ops (``_native/dispatch.pyx``) gives what the generated
Python code gives: the same values, graph, saved tensors and errors, in each case it takes and
each case it hands back (mixed dtypes, 0-d and broadcast operands, non-contiguous arrays, grad
mode off, inference mode, hooks, in-place changes of a saved input, subclasses)."""
import numpy as np
import pytest

import pygrad
from pygrad.autograd import op_observers
from pygrad.ops import optable

torch = pytest.importorskip("torch")


def _pass_through(cls, args, kwargs, call):
    return call()


def _graph(t):
    """What the graph of ``t`` looks like: node names, needs, metadata and edges, depth first."""
    out, stack, seen = [], [t.grad_fn], set()
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        out.append((type(node).__name__, tuple(node.needs_input_grad),
                    tuple(None if m is None else (tuple(m[0]), str(m[1])) for m in node._input_meta),
                    tuple((tuple(m[0]), str(m[1])) for m in node._output_meta),
                    tuple(type(n).__name__ if n is not None else None for n, _ in node.next_functions)))
        stack.extend(n for n, _ in node.next_functions)
    return out


def _both_ways(fn, *arrays, dtypes=None, requires=None):
    """``fn`` on fresh tensors, the common way and the general way; the values, graphs and input
    gradients of both."""
    results = []
    for general in (False, True):
        tensors = [pygrad.tensor(a, dtype=d, requires_grad=r) for a, d, r in
                   zip(arrays, dtypes or [None] * len(arrays), requires or [True] * len(arrays))]
        if general:  # an op observer sends every op the general way
            op_observers.add(_pass_through)
            try:
                y = fn(*tensors)
            finally:
                op_observers.remove(_pass_through)
        else:
            y = fn(*tensors)
        graph = _graph(y)
        if y.requires_grad:
            y.sum().backward()
        results.append((y.detach().numpy().copy(), graph, [None if t.grad is None else t.grad.numpy().copy()
                                                             for t in tensors]))
    (v1, g1, d1), (v2, g2, d2) = results
    np.testing.assert_array_equal(v1, v2)
    assert g1 == g2
    for a, b in zip(d1, d2):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_array_equal(a, b)
    return results[0]


@pytest.mark.parametrize("shapes", [((), ()), ((3,), ()), ((), (3,)), ((2, 3), (2, 3)), ((2, 3), (3,)),
                                    ((1, 3), (2, 1))])
def test_binary_ops_as_the_general_path_and_torch(shapes):
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal(s) for s in shapes)
    value, _, grads = _both_ways(lambda x, y: (x * y + x) - y * 2.5, a, b)
    ta, tb = (torch.tensor(v, requires_grad=True) for v in (a, b))
    ty = (ta * tb + ta) - tb * 2.5
    ty.sum().backward()
    np.testing.assert_allclose(value, ty.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(grads[0], ta.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(grads[1], tb.grad.numpy(), rtol=1e-6)


@pytest.mark.parametrize("dtypes", [(pygrad.float32, pygrad.float64), (pygrad.float64, pygrad.int64),
                                    (pygrad.int64, pygrad.int64), (pygrad.float16, pygrad.float32)])
def test_mixed_dtypes(dtypes):
    a, b = np.array([1.5, -2.0, 3.0]), np.array([2.0, 4.0, -1.0])
    requires = [d.is_floating_point for d in dtypes]
    value, _, _ = _both_ways(lambda x, y: x * y + y, a, b, dtypes=dtypes, requires=requires)
    ty = torch.tensor(a, dtype=getattr(torch, str(dtypes[0]).split(".")[1])) * \
        torch.tensor(b, dtype=getattr(torch, str(dtypes[1]).split(".")[1]))
    assert str(pygrad.tensor(value).dtype) == str(pygrad.tensor(ty.numpy()).dtype)


@pytest.mark.parametrize("requires", [(True, False), (False, True), (True, True), (False, False)])
def test_requires_grad_combinations(requires):
    _, graph, grads = _both_ways(lambda x, y: x * y, np.array([1.0, 2.0]), np.array([3.0, 4.0]),
                                 requires=list(requires))
    assert [g is not None for g in grads] == list(requires)
    if any(requires):
        assert graph[0][1] == requires


def test_non_contiguous_operands():
    base = np.arange(12.0).reshape(3, 4)
    x = pygrad.tensor(base, requires_grad=True)
    y = pygrad.tensor(base * 2, requires_grad=True)
    z = x.t() * y.t()
    z.exp().sum().backward()
    tx, ty = torch.tensor(base, requires_grad=True), torch.tensor(base * 2, requires_grad=True)
    (tx.t() * ty.t()).exp().sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(y.grad.numpy(), ty.grad.numpy(), rtol=1e-6)


def test_grad_mode_off_and_inference_mode_record_nothing():
    x = pygrad.tensor([1.0, 2.0], requires_grad=True)
    with pygrad.no_grad():
        y = x * 2 + 1
    assert y.grad_fn is None and not y.requires_grad
    with pygrad.inference_mode():
        z = (x * x).tanh()
    assert z.grad_fn is None and not z.requires_grad
    np.testing.assert_allclose(z.numpy(), np.tanh(np.array([1.0, 4.0])), rtol=1e-6)


def test_saved_tensors_and_in_place_change_of_a_saved_input():
    x = pygrad.tensor([1.0, 2.0], requires_grad=True)
    w = pygrad.tensor([3.0, 4.0], requires_grad=True)
    y = x * w
    other, self = y.grad_fn.saved_tensors  # in PyTorch's order: sorted by name
    assert other is w and self is x
    e = x.exp() * 1
    (result,) = e.grad_fn.next_functions[0][0].saved_tensors
    np.testing.assert_allclose(result.detach().numpy(), np.exp([1.0, 2.0]), rtol=1e-6)
    v = w.detach()
    v.add_(1)  # the saved ``other`` changes in place: backward must refuse
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()
    tx, tw = torch.tensor([1.0, 2.0], requires_grad=True), torch.tensor([3.0, 4.0], requires_grad=True)
    ty = tx * tw
    tw.detach().add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        ty.sum().backward()


def test_hooks_see_the_gradients():
    x = pygrad.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    seen = []
    y.register_hook(lambda g: seen.append(g.numpy().copy()) or g * 2)
    y.grad_fn.register_hook(lambda gin, gout: seen.append("node"))
    y.sum().backward()
    assert seen[1] == "node"
    np.testing.assert_array_equal(seen[0], [1.0, 1.0])
    np.testing.assert_array_equal(x.grad.numpy(), [6.0, 6.0])


def test_second_backward_and_create_graph():
    x = pygrad.tensor(1.5, requires_grad=True)
    y = (x * x).tanh()
    (g,) = pygrad.autograd.grad(y, x, create_graph=True)
    (gg,) = pygrad.autograd.grad(g, x)
    tx = torch.tensor(1.5, requires_grad=True)
    (tg,) = torch.autograd.grad((tx * tx).tanh(), tx, create_graph=True)
    (tgg,) = torch.autograd.grad(tg, tx)
    np.testing.assert_allclose(g.item(), tg.item(), rtol=1e-6)
    np.testing.assert_allclose(gg.item(), tgg.item(), rtol=1e-6)
    z = x * 2
    z.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        z.backward()


def test_tensor_subclass_takes_the_general_path():
    class MyTensor(pygrad.Tensor):
        pass

    x = MyTensor([1.0, 2.0])
    x.requires_grad_()
    y = x * 2
    assert type(y.grad_fn).__name__ == "MulBackward0"
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])


def test_subclass_of_a_table_function_uses_its_own_class():
    class Twice(optable.MUL.fn):
        pass

    x = pygrad.tensor([0.0, 1.0], requires_grad=True)
    y = Twice.apply(x, pygrad.tensor([2.0, 3.0]))
    assert type(y.grad_fn).__name__ == "TwiceBackward" and y.grad_fn._forward_cls is Twice
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 3.0])


def test_number_attribute_and_forward_ad():
    x = pygrad.tensor([1.0, 2.0], requires_grad=True)
    y = x ** 3
    assert y.grad_fn.exponent == 3
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3.0, 12.0])
    import pygrad.autograd.forward_ad as fwAD
    with fwAD.dual_level():
        d = fwAD.make_dual(pygrad.tensor([1.0, 2.0]), pygrad.tensor([1.0, 1.0]))
        out = fwAD.unpack_dual((d * d).exp())
    np.testing.assert_allclose(out.tangent.numpy(), 2 * np.array([1.0, 2.0]) * np.exp([1.0, 4.0]), rtol=1e-6)


def test_operators_keep_their_names():
    assert pygrad.Tensor.__mul__.__name__ == "__mul__"
    assert pygrad.Tensor.__radd__.__name__ == "__radd__"
    x = pygrad.tensor([1.0, 2.0])
    np.testing.assert_array_equal((2 * x).numpy(), [2.0, 4.0])
    np.testing.assert_array_equal((1 + x).numpy(), [2.0, 3.0])
    with pytest.raises(TypeError):
        x * "a"


def test_quiet_ops_warn_nothing_and_leave_numpy_error_state_as_it_was():
    """log(0) is -inf and log(-1) nan without a warning, as in PyTorch, also when the program
    asks NumPy to raise; the program's own error state is back after the op and its backward."""
    import warnings
    x = pygrad.tensor([0.0, -1.0, 2.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            y = x.log()
            assert np.geterr() == {"divide": "raise", "over": "raise", "under": "raise", "invalid": "raise"}
            with pytest.raises(FloatingPointError):
                np.log(np.zeros(1))
        y.backward(pygrad.ones(3))
    assert y.tolist()[0] == float("-inf") and np.isnan(y.tolist()[1]) and y.tolist()[2] == pytest.approx(np.log(2.0))
    assert x.grad.tolist()[0] == float("inf") and x.grad.tolist()[1:] == [-1.0, 0.5]
    assert type(y.grad_fn).__name__ == "LogBackward0"
    ref = torch.tensor([0.0, -1.0, 2.0], requires_grad=True)
    ref.log().backward(torch.ones(3))
    np.testing.assert_array_equal(x.grad.numpy(), ref.grad.numpy())
    with np.errstate(divide="warn"), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pygrad.tensor([0.0]).log()
        np.log(np.zeros(1))  # the program's state: a warning
    assert len(caught) == 1 and "divide by zero" in str(caught[0].message)


def _accumulator_state(node):
    attrs = vars(node)
    return (type(node), sorted(attrs), attrs["variable"], type(attrs["_lock"]),
            tuple((tuple(s), str(d)) for s, d in node._output_meta), node.next_functions, node.needs_input_grad)


@pytest.mark.parametrize("dtype", [pygrad.float32, pygrad.float64])
def test_leaf_nodes_made_in_compiled_code_are_those_accumulate_grad_node_makes(dtype):
    from pygrad.autograd.function import accumulate_grad_node
    leaf = pygrad.zeros(2, 3, dtype=dtype, requires_grad=True)
    made_here = (leaf * 2).grad_fn.next_functions[0][0]  # by the compiled common path
    kept = made_here
    assert accumulate_grad_node(leaf) is kept  # the live node is shared
    del made_here, kept
    other = pygrad.zeros(2, 3, dtype=dtype, requires_grad=True)
    by_python = accumulate_grad_node(other)

    class Twice(pygrad.autograd.Function):  # its edges are wired by the compiled engine
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2
    fresh = pygrad.zeros(2, 3, dtype=dtype, requires_grad=True)
    by_apply = Twice.apply(fresh).grad_fn.next_functions[0][0]
    by_table = (leaf * 2).grad_fn.next_functions[0][0]
    expected = _accumulator_state(by_python)
    for node, variable in ((by_apply, fresh), (by_table, leaf)):
        assert _accumulator_state(node) == (expected[0], expected[1], variable) + expected[3:]
    Twice.apply(fresh).sum().backward()
    np.testing.assert_array_equal(fresh.grad.numpy(), np.full((2, 3), 2.0))


def test_parameters_and_plain_leaves_accumulate_the_same_way():
    nn = pygrad.nn
    p = nn.Parameter(pygrad.tensor([1.0, 2.0], dtype=pygrad.float64))
    t = pygrad.tensor([1.0, 2.0], dtype=pygrad.float64, requires_grad=True)
    seen = []
    p.register_post_accumulate_grad_hook(lambda x: seen.append(x.grad.numpy().copy()))
    for leaf in (p, t):
        (leaf * 3).sum().backward()
        first = leaf.grad
        version = first._version
        (leaf * leaf).sum().backward()  # added in place: same tensor, version counter moved
        assert leaf.grad is first and leaf.grad._version is version and version.value == 1
        np.testing.assert_array_equal(leaf.grad.numpy(), [5.0, 7.0])
    np.testing.assert_array_equal(np.array(seen), [[3.0, 3.0], [5.0, 7.0]])


def _saved_state(node):
    """What a node keeps: its attributes and its saved tensors' values, depth first."""
    out, stack, seen = [], [node], set()
    while stack:
        n = stack.pop()
        if n is None or id(n) in seen:
            continue
        seen.add(id(n))
        attrs = {k: v for k, v in vars(n).items() if k not in ("variable", "_lock")}
        out.append((type(n).__name__, sorted(attrs), [None if s is None else s.detach().numpy().tolist()
                                                        for s in (n.saved_tensors if n._saved is not None else ())]))
        stack.extend(m for m, _ in n.next_functions)
    return out


def _common_and_general(fn, *args):
    """``fn(*args)`` the common way and the general way (an op observer on)."""
    first = fn(*args)
    op_observers.add(_pass_through)
    try:
        second = fn(*args)
    finally:
        op_observers.remove(_pass_through)
    return first, second


def test_view_operands_take_the_common_path_with_the_graph_of_the_general_one():
    rng = np.random.default_rng(1)
    base = pygrad.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    y = pygrad.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    value, graph, grads = _both_ways(lambda b, o: (b.t() * o + b[1:].sum()).exp(), base.detach().numpy(),
                                     y.detach().numpy())
    assert sorted(n for n, *_ in graph) == ["AccumulateGrad", "AccumulateGrad", "AddBackward0", "ExpBackward0",
                                            "MulBackward0", "SliceBackward0", "SumBackward0", "TBackward0"]
    tb, to = torch.tensor(base.detach().numpy(), requires_grad=True), torch.tensor(y.detach().numpy(),
                                                                                    requires_grad=True)
    ty = (tb.t() * to + tb[1:].sum()).exp()
    ty.sum().backward()
    np.testing.assert_allclose(value, ty.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(grads[0], tb.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(grads[1], to.grad.numpy(), rtol=1e-12)


def test_a_view_whose_base_changed_in_place_is_made_current_first():
    for general in (False, True):
        x = pygrad.tensor([1.0, 2.0, 3.0], requires_grad=True)
        base = x * 1
        view = base[:2]
        base.mul_(2)  # the view's grad_fn is regenerated on the base's new history
        if general:
            op_observers.add(_pass_through)
        try:
            y = view * 3
        finally:
            if general:
                op_observers.remove(_pass_through)
        assert type(y.grad_fn.next_functions[0][0]).__name__ == "AsStridedBackward0"
        y.sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), [6.0, 6.0, 0.0])
    tx = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    tbase = tx * 1
    tview = tbase[:2]
    tbase.mul_(2)
    (tview * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


def test_a_view_of_a_leaf_written_in_place_still_refuses():
    x = pygrad.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
        x[:1].mul_(2)
    with pygrad.no_grad():
        v = x[:1]
    with pytest.raises(RuntimeError, match="A view was created in no_grad mode"):
        v.mul_(2)


@pytest.mark.parametrize("dtype", [pygrad.float32, pygrad.float64])
def test_linear_and_cross_entropy_keep_what_the_general_path_keeps(dtype):
    """addmm of a weight's transpose (kept layouts), nll_loss (intermediates and kept dims):
    nodes, attributes, saved values, versions and gradients as the general path makes them."""
    nn = pygrad.nn
    pygrad.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 3)).to(dtype)
    x = pygrad.randn(6, 5, dtype=dtype)
    target = pygrad.tensor([0, 2, 1, 1, 0, 2])
    loss_fn = nn.CrossEntropyLoss()
    results = []
    for loss in _common_and_general(lambda: loss_fn(model(x), target)):
        state = _saved_state(loss.grad_fn)
        model.zero_grad()
        loss.backward()
        results.append((loss.item(), state, [p.grad.numpy().copy() for p in model.parameters()],
                        [p._version.value for p in model.parameters()]))
    (l1, s1, g1, v1), (l2, s2, g2, v2) = results
    assert l1 == l2 and v1 == v2
    assert [n for n, _, _ in s1] == ["NllLossBackward0", "LogSoftmaxBackward0", "AddmmBackward0", "TBackward0",
                                     "AccumulateGrad", "ReluBackward0", "AddmmBackward0", "TBackward0",
                                     "AccumulateGrad", "AccumulateGrad", "AccumulateGrad"]
    assert s1 == s2
    for a, b in zip(g1, g2):
        np.testing.assert_array_equal(a, b)
    addmm = _common_and_general(lambda: model[0](x))[0].grad_fn
    assert addmm.transposed == (False, True) and addmm._saved_beta == 1 and addmm._saved_alpha == 1
    nll = loss_fn(model(x), target).grad_fn
    assert nll.dim == 1 and nll.keepdim is False and nll.total_weight == 6 and nll._saved_ignore_index == -100
    tm = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.ReLU(), torch.nn.Linear(4, 3)).to(
        getattr(torch, str(dtype).split(".")[1]))
    with torch.no_grad():
        for tp, p in zip(tm.parameters(), model.parameters()):
            tp.copy_(torch.tensor(p.detach().numpy()))
    tl = torch.nn.CrossEntropyLoss()(tm(torch.tensor(x.numpy())), torch.tensor(target.numpy()))
    tl.backward()
    rtol = 1e-5 if dtype is pygrad.float32 else 1e-12
    np.testing.assert_allclose(l1, tl.item(), rtol=rtol)
    for g, tp in zip(g1, tm.parameters()):
        np.testing.assert_allclose(g, tp.grad.numpy(), rtol=rtol, atol=rtol)


def test_a_parameter_operand_records_what_a_tensor_operand_records():
    nn = pygrad.nn
    p = nn.Parameter(pygrad.tensor([[1.0, -2.0], [3.0, 0.5]]))
    first, second = _common_and_general(lambda: (p * 2).relu() @ p)
    assert _graph(first) == _graph(second)
    np.testing.assert_array_equal(first.detach().numpy(), second.detach().numpy())
    first.sum().backward()
    g1 = p.grad.numpy().copy()
    p.grad = None
    second.sum().backward()
    np.testing.assert_array_equal(g1, p.grad.numpy())
    tp = torch.nn.Parameter(torch.tensor([[1.0, -2.0], [3.0, 0.5]]))
    ((tp * 2).relu() @ tp).sum().backward()
    np.testing.assert_allclose(g1, tp.grad.numpy(), rtol=1e-6)


@pytest.mark.parametrize("dtype", [pygrad.float16, pygrad.float32, pygrad.float64])
def test_a_bias_gradient_summed_by_the_engine_is_the_general_sum(dtype):
    """The compiled engine sums a gradient with one leading dim more than its input (a bias's)
    itself: the same values as the general fitting of gradients, as PyTorch sums them."""
    rng = np.random.default_rng(3)
    g = rng.standard_normal((7, 5))
    bias = pygrad.tensor(rng.standard_normal(5), dtype=dtype, requires_grad=True)
    scalar = pygrad.tensor(0.5, dtype=dtype, requires_grad=True)
    (bias + pygrad.zeros(7, 5, dtype=dtype)).backward(pygrad.tensor(g, dtype=dtype))
    (scalar + pygrad.zeros(7, dtype=dtype)).backward(pygrad.tensor(g[:, 0], dtype=dtype))
    from pygrad.ops._util import sum_array
    expected = sum_array(pygrad.tensor(g, dtype=dtype).numpy(), axis=0)
    np.testing.assert_array_equal(bias.grad.numpy(), expected)
    assert bias.grad.dtype is dtype and scalar.grad.shape == ()
    np.testing.assert_array_equal(scalar.grad.numpy(), sum_array(pygrad.tensor(g[:, 0], dtype=dtype).numpy(), axis=0))
    tb = torch.tensor(rng.standard_normal(5), requires_grad=True)
    (tb + torch.zeros(7, 5, dtype=torch.float64)).backward(torch.tensor(g))
    np.testing.assert_allclose(sum_array(g, axis=0), tb.grad.numpy(), rtol=1e-12)


def test_t_backward_in_the_compiled_engine_as_in_python():
    w = pygrad.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    y = w.t() * pygrad.tensor(np.arange(6.0).reshape(3, 2))
    y.sum().backward()
    first = w.grad.numpy().copy()
    assert w.grad.numpy().flags.c_contiguous
    w.grad = None
    (g,) = pygrad.autograd.grad((w.t() * pygrad.tensor(np.arange(6.0).reshape(3, 2))).sum(), w, create_graph=True)
    np.testing.assert_array_equal(first, g.detach().numpy())
    np.testing.assert_array_equal(first, np.arange(6.0).reshape(3, 2).T)


@pytest.mark.parametrize("dims", [(1, 0), (2, 0, 1), (1, 2, 0), (0, 2, 1), (3, 1, 0, 2)])
def test_permute_backward_in_the_compiled_engine_as_in_python_and_torch(dims):
    """PermuteBackward0 undoes the permutation: the array form the compiled engine runs, the
    create_graph form and PyTorch agree; a gradient hook still sees the permuted gradient."""
    shape = (2, 3, 4, 5)[:len(dims)]
    data = np.arange(np.prod(shape), dtype=np.float64).reshape(shape)
    weight = np.random.default_rng(5).standard_normal(tuple(shape[d] for d in dims))
    x = pygrad.tensor(data, requires_grad=True)
    seen = []
    y = x.permute(*dims)
    y.register_hook(lambda g: seen.append(g.shape))
    (y * pygrad.tensor(weight)).sum().backward()
    (g,) = pygrad.autograd.grad((x.permute(*dims) * pygrad.tensor(weight)).sum(), x, create_graph=True)
    tx = torch.tensor(data, requires_grad=True)
    (tx.permute(*dims) * torch.tensor(weight)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())
    np.testing.assert_array_equal(g.detach().numpy(), tx.grad.numpy())
    assert y.grad_fn.name() == "PermuteBackward0"
    assert seen == [pygrad.Size(weight.shape)]


@pytest.mark.parametrize("shapes", [((4, 3), (3,)), ((3,), (4, 3)), ((2, 1, 3), (4, 1)), ((5, 0), (1,))])
def test_broadcast_operands_of_one_dtype_as_the_general_path(shapes):
    """A bias added to a batch takes the compiled path as a same-shape pair does: the same
    values, graph and summed gradients as the general path."""
    rng = np.random.default_rng(1)
    a, b = (rng.standard_normal(s).astype(np.float32) for s in shapes)
    value, _, grads = _both_ways(lambda x, y: (x + y) * y - x / y, a, b)
    ta, tb = (torch.tensor(v, requires_grad=True) for v in (a, b))
    ((ta + tb) * tb - ta / tb).sum().backward()
    np.testing.assert_allclose(value, ((ta + tb) * tb - ta / tb).detach().numpy(), rtol=1e-5)
    np.testing.assert_allclose(grads[0], ta.grad.numpy(), rtol=1e-5)
    np.testing.assert_allclose(grads[1], tb.grad.numpy(), rtol=1e-5)


def test_shapes_that_do_not_broadcast_give_the_general_error():
    for m in (pygrad, torch):
        with pytest.raises(RuntimeError, match=r"The size of tensor a \(3\) must match the size of tensor b \(4\) "
                                               r"at non-singleton dimension 1"):
            m.ones(2, 3, requires_grad=True) + m.ones(2, 4)



@pytest.mark.parametrize("call", ["x.sum()", "x.mean()", "x.sum(dtype=m.float64)", "x.mean(dtype=m.float64)",
                                  "x.cumsum(1)", "x.cumsum(0, dtype=m.float64)"])
def test_reductions_with_a_dtype_argument_take_the_common_path_as_the_general_one(call):
    """sum, mean and cumsum read a dtype the node does not keep: compiled, they record the same
    node (no dtype attribute) and values as the general path, and PyTorch's results."""
    x = pygrad.tensor(np.random.default_rng(2).standard_normal((3, 4)).astype(np.float32), requires_grad=True)
    first, second = _common_and_general(lambda: eval(call, {"x": x, "m": pygrad}))
    assert _saved_state(first.grad_fn) == _saved_state(second.grad_fn)
    assert "dtype" not in vars(first.grad_fn)
    assert first.dtype == second.dtype
    np.testing.assert_array_equal(first.detach().numpy(), second.detach().numpy())
    tx = torch.tensor(x.detach().numpy(), requires_grad=True)
    expected = eval(call, {"x": tx, "m": torch})
    assert first.grad_fn.name() == expected.grad_fn.name()
    np.testing.assert_allclose(first.detach().numpy(), expected.detach().numpy(), rtol=1e-6)
    grads = []
    for y in (first, second):
        x.grad = None
        y.backward(pygrad.ones_like(y))
        grads.append(x.grad.numpy().copy())
    expected.backward(torch.ones_like(expected))
    np.testing.assert_array_equal(grads[0], grads[1])
    np.testing.assert_allclose(grads[0], tx.grad.numpy(), rtol=1e-6)


def test_a_reduction_over_all_elements_runs_compiled():
    if pygrad.backend() != "native":
        pytest.skip("the compiled path is the native backend's")
    assert type(optable.SUM.fn.__dict__["apply"]).__name__ == "TableOp"
    assert type(optable.MEAN.fn.__dict__["apply"]).__name__ == "TableOp"
