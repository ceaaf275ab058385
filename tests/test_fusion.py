"""Fusion of elementwise chains (pygrad/fusion): the same values, gradients, graph and errors as
eager evaluation, with fusion on and off, on the backend the suite runs on (native or
PYGRAD_PURE=1).  The size threshold and block are made small so that little tensors fuse over
several blocks (one of them partial)."""
import numpy as np
import pytest

import pygrad
from pygrad import fusion
from pygrad.fusion._state import state

N = 1000  # elements: 4 blocks of 300, the last partial


@pytest.fixture(autouse=True)
def small_fusion():
    """Small chains fuse, with NumPy's own loops: fused results equal eager ones bit for bit
    (vector math, within rounding, is tested in test_fusion_native.py)."""
    saved = (state.on, state.min_numel, state.block, state.vector_math)
    state.min_numel, state.block = 64, 300
    fusion.set_vector_math(False)
    yield
    fusion.flush()
    state.on, state.min_numel, state.block = saved[:3]
    fusion.set_vector_math(saved[3])


@pytest.fixture(params=[True, False], ids=["fused", "eager"])
def mode(request):
    fusion.set_enabled(request.param)
    return request.param


def leaf(values, dtype=np.float32, requires_grad=True):
    return pygrad.tensor(np.asarray(values, dtype), requires_grad=requires_grad)


def data(seed=0, n=N, low=-1.0, high=1.0):
    return np.random.default_rng(seed).uniform(low, high, n)


def run_both(build, *arrays, dtype=np.float32):
    """``build(*leaves)`` -> loss, fused and eager: (loss value, gradients) for each."""
    out = []
    for on in (True, False):
        with (fusion.enabled() if on else fusion.disabled()):
            leaves = [leaf(a, dtype) for a in arrays]
            loss = build(*leaves)
            loss.backward()
            out.append((loss.item(), [None if t.grad is None else t.grad.numpy() for t in leaves]))
    return out


def w3(x):
    return (((x ** 2 + 1) ** 2) * 0.5).sum()


def test_w3_fuses_and_matches_eager_bit_for_bit_in_the_gradient():
    before = fusion.counters()
    (fused, fused_grads), (eager, eager_grads) = run_both(w3, data())
    after = fusion.counters()
    assert after["recorded"] - before["recorded"] == 4      # pow, add, pow, mul
    assert after["reduced"] - before["reduced"] == 1        # the sum in the same pass
    assert after["backward_nodes"] - before["backward_nodes"] == 4
    np.testing.assert_array_equal(fused_grads[0], eager_grads[0])
    assert fused == pytest.approx(eager, rel=1e-6)          # the summation order differs


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_chain_with_scalars_and_a_scalar_parameter_matches_torch(mode, dtype):
    torch = pytest.importorskip("torch")
    a, b = data(1), data(2, low=0.5, high=2.0)

    def loss(m, x, y, w):
        d = x - y
        s = (d * d + 1e-3).sqrt() if False else (d * d + 1e-3).log()
        return ((s * w - x / y + (-x) * 0.25).sin() * 3.0 - 1.0).mean()

    px, py = leaf(a, dtype), leaf(b, dtype)
    pw = pygrad.tensor(np.asarray(0.7, dtype), requires_grad=True)
    out = loss(pygrad, px, py, pw)
    out.backward()
    tx, ty = (torch.tensor(v.astype(dtype), requires_grad=True) for v in (a, b))
    tw = torch.tensor(np.asarray(0.7, dtype), requires_grad=True)
    ref = loss(torch, tx, ty, tw)
    ref.backward()
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    assert out.item() == pytest.approx(ref.item(), rel=rtol)
    for p, t in ((px, tx), (py, ty), (pw, tw)):
        np.testing.assert_allclose(p.grad.numpy(), t.grad.numpy(), rtol=rtol * 10, atol=rtol)


def test_fused_and_eager_agree_on_many_table_ops():
    ops = [lambda t: t.sin(), lambda t: t.cos(), lambda t: (t * t + 2).log(), lambda t: t.abs() + 1,
           lambda t: t.atan(), lambda t: t.erf(), lambda t: (t * 0.5).log1p(), lambda t: t.square(),
           lambda t: pygrad.nn.functional.softplus(t), lambda t: pygrad.nn.functional.silu(t),
           lambda t: pygrad.nn.functional.gelu(t), lambda t: pygrad.maximum(t, t * 0.5),
           lambda t: t / (t * t + 1), lambda t: 2.0 - t, lambda t: -t]

    def chain(x):
        y = x
        for op in ops:
            y = op(y) * 0.9
        return y.sum()

    before = fusion.counters()
    (fused, fused_grads), (eager, eager_grads) = run_both(chain, data(3), dtype=np.float64)
    after = fusion.counters()
    assert after["recorded"] - before["recorded"] >= 2 * len(ops)
    assert after["backward_nodes"] - before["backward_nodes"] >= 2 * len(ops)
    np.testing.assert_allclose(fused_grads[0], eager_grads[0], rtol=1e-13, atol=1e-15)
    assert fused == pytest.approx(eager, rel=1e-13)


def test_graph_is_the_same_nodes_and_saved_values(mode):
    x = leaf(data())
    y = (x ** 2 + 1) * 0.5
    names = []
    node = y.grad_fn
    while node is not None and node.next_functions:
        names.append(node.name())
        node = node.next_functions[0][0]
    assert names == ["MulBackward0", "AddBackward0", "PowBackward0"]
    assert y.grad_fn.next_functions[0][0].next_functions[0][0].exponent == 2
    assert y.shape == (N,) and y.dtype is pygrad.float32 and y.requires_grad
    np.testing.assert_array_equal(y.detach().numpy(), (data().astype(np.float32) ** 2 + 1) * np.float32(0.5))


def test_a_pending_result_prints_and_converts_like_an_eager_one():
    fusion.set_enabled(True)  # (PYGRAD_FUSION=0 may have turned it off)
    x = leaf(data(), requires_grad=False)
    y = x * 3 + 1
    assert fusion.is_pending(y)
    text = str(y)
    assert not fusion.is_pending(y)
    with fusion.disabled():
        assert text == str(x * 3 + 1)
    z = x * 2
    assert z.tolist() == (x.numpy() * np.float32(2)).tolist()
    assert (x * 2)[3].item() == pytest.approx(float(np.float32(data()[3]) * 2))


def test_inplace_write_to_an_input_computes_pending_results_first(mode):
    x = leaf(data(), requires_grad=False)
    before = x.numpy().copy()
    y = x * 2 + 1
    x.add_(10)      # an op that writes: the pending y is computed before it
    x.numpy()[:] = 0  # storage handed out: computed first as well
    np.testing.assert_array_equal(y.numpy(), before * np.float32(2) + np.float32(1))


def test_a_tensor_with_a_numpy_view_elsewhere_is_not_recorded():
    a = data().astype(np.float32)
    x = pygrad.from_numpy(a)   # a names the same storage
    y = x * 2
    assert not fusion.is_pending(y)
    a[:] = 0
    np.testing.assert_array_equal(y.numpy(), data().astype(np.float32) * 2)


def test_hooks_and_retain_grad_see_the_eager_gradients(mode):
    x = leaf(data())
    t = x ** 2 + 1
    seen = []
    t.register_hook(lambda g: seen.append(g.numpy().copy()))
    u = t * t
    u.retain_grad()
    (u * 0.5).sum().backward()
    t_value = data().astype(np.float32) ** 2 + 1
    np.testing.assert_allclose(seen[0], 2 * t_value * np.float32(0.5), rtol=1e-6)
    np.testing.assert_array_equal(u.grad.numpy(), np.full(N, 0.5, np.float32))
    np.testing.assert_allclose(x.grad.numpy(), seen[0] * 2 * data().astype(np.float32), rtol=1e-6)


def test_create_graph_and_autograd_grad_of_an_intermediate(mode):
    torch = pytest.importorskip("torch")
    a = data()
    x = leaf(a, np.float64)
    t = x.sin() * 2
    loss = (t * t).sum()
    gx, = pygrad.autograd.grad(loss, x, create_graph=True)
    gx.sum().backward()
    gt, = pygrad.autograd.grad((x.cos() * 3 + 1).sum(), (x.cos() * 3 + 1,), allow_unused=True)
    tx = torch.tensor(a, requires_grad=True)
    tt = tx.sin() * 2
    tg, = torch.autograd.grad((tt * tt).sum(), tx, create_graph=True)
    tg.sum().backward()
    np.testing.assert_allclose(gx.detach().numpy(), tg.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)
    assert gt is None


def test_intermediate_gradient_captured_by_autograd_grad(mode):
    x = leaf(data(), np.float64)
    t = x * 3 + 1
    loss = (t * t).sum()
    gt, gx = pygrad.autograd.grad(loss, (t, x))
    np.testing.assert_allclose(gt.numpy(), 2 * (data() * 3 + 1), rtol=1e-12)
    np.testing.assert_allclose(gx.numpy(), 6 * (data() * 3 + 1), rtol=1e-12)


def test_version_error_is_the_eager_one(mode):
    x = leaf(data())
    a = x * 2
    b = a.sin()                 # saves a
    with pygrad.no_grad():
        a.mul_(3)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        b.sum().backward()


def test_intermediate_used_twice_and_an_input_used_twice(mode):
    torch = pytest.importorskip("torch")
    a = data()

    def f(x):
        t = x * x + 1
        return (t + t * t * 0.5).mean()

    x = leaf(a, np.float64)
    f(x).backward()
    tx = torch.tensor(a, requires_grad=True)
    f(tx).backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)


def test_anomaly_mode_and_explain_behave_as_eager():
    outputs = []
    for on in (True, False):
        with (fusion.enabled() if on else fusion.disabled()):
            x = leaf(data()[:80])
            with pygrad.autograd.detect_anomaly():
                y = ((x ** 2 + 1) * 0.5).sum()
                y.backward(retain_graph=True)
            outputs.append((str(pygrad.autograd.explain(y)), x.grad.numpy().copy()))
    assert outputs[0][0] == outputs[1][0]
    np.testing.assert_array_equal(outputs[0][1], outputs[1][1])


def test_second_backward_with_retain_graph_and_accumulation(mode):
    x = leaf(data())
    loss = w3(x)
    loss.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    loss.backward()
    np.testing.assert_array_equal(x.grad.numpy(), first * 2)


def test_switch_flag_context_managers_and_environment(monkeypatch):
    fusion.set_enabled(True)
    x = leaf(data(), requires_grad=False)
    with fusion.disabled():
        assert not fusion.is_enabled()
        assert not fusion.is_pending(x * 2)
    assert fusion.is_enabled() and fusion.is_pending(x * 2)
    y = x * 2
    fusion.set_enabled(False)           # turning it off computes what is pending
    assert not fusion.is_pending(y)
    import importlib

    from pygrad.fusion import _state
    monkeypatch.setenv("PYGRAD_FUSION", "0")
    assert not _state._State().on
    monkeypatch.setenv("PYGRAD_FUSION", "1")
    assert _state._State().on
    importlib.reload  # noqa: B018 (the module is not reloaded: its state is shared)


def test_small_tensors_and_mixed_dtypes_run_eagerly():
    fusion.set_enabled(True)
    small = leaf(data(n=10), requires_grad=False)
    assert not fusion.is_pending(small * 2)
    x32 = leaf(data(), np.float32, requires_grad=False)
    x64 = leaf(data(), np.float64, requires_grad=False)
    assert not fusion.is_pending(x32 + x64)
    ints = pygrad.arange(N)
    assert not fusion.is_pending(ints * 2)
    broadcast = leaf(data()[:10].reshape(10, 1), requires_grad=False) * leaf(data()[:100].reshape(1, 100))
    assert not fusion.is_pending(broadcast)


def test_optimizer_step_and_grad_accumulation_compute_pending_results_first(mode):
    w = leaf(data())
    w.grad = leaf(data(5), requires_grad=False)
    with pygrad.no_grad():
        doubled = w * 2
        grad_twice = w.grad * 2
    before_w, before_g = w.detach().numpy().copy(), w.grad.numpy().copy()
    pygrad.optim.SGD([w], lr=0.5).step()   # writes w in place
    (w * 3).sum().backward()               # adds into w.grad in place
    np.testing.assert_array_equal(doubled.numpy(), before_w * 2)
    np.testing.assert_array_equal(grad_twice.numpy(), before_g * 2)


# -- ops whose derivative reads their result, intermediates used twice, leaves used by many ops

RESULT_OPS = {
    "exp": lambda t, y: t.exp(), "tanh": lambda t, y: t.tanh(), "sigmoid": lambda t, y: t.sigmoid(),
    "sqrt": lambda t, y: (t + 1).sqrt(), "relu": lambda t, y: (t - 0.3).relu(),
    "reciprocal": lambda t, y: (t + 1).reciprocal(), "rsqrt": lambda t, y: (t + 2).rsqrt(),
    "expm1": lambda t, y: (t * 0.1).expm1(), "tan": lambda t, y: (t * 0.3).tan(),
    "exp2": lambda t, y: (t * 0.2).exp2(), "hypot": lambda t, y: pygrad.hypot(t, y),
    "copysign": lambda t, y: pygrad.copysign(t, y), "pow_tensor": lambda t, y: t ** y,
    "number_pow": lambda t, y: 2.0 ** y,
}


@pytest.mark.parametrize("name", sorted(RESULT_OPS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_ops_saving_their_result_fuse_and_match_eager_bit_for_bit(name, dtype):
    op = RESULT_OPS[name]

    def loss(x, y):
        t = x * 0.5              # used by the op and again below: the backward chain is a DAG
        return (op(t, y) * t).mean()

    before = fusion.counters()
    (fused, fused_grads), (eager, eager_grads) = run_both(loss, data(1, low=0.1), data(2), dtype=dtype)
    after = fusion.counters()
    assert after["evaluated"] == before["evaluated"]          # nothing computed outside the pass
    assert after["reduced"] - before["reduced"] == 1
    assert after["backward_chains"] - before["backward_chains"] == 1
    assert [g is None for g in fused_grads] == [g is None for g in eager_grads]
    for f, e in zip(fused_grads, eager_grads):
        if e is not None:
            np.testing.assert_array_equal(f, e)
    assert fused == pytest.approx(eager, rel=1e-6 if dtype == np.float32 else 1e-13)


def test_saved_result_is_right_when_the_unfused_backward_reads_it(mode):
    torch = pytest.importorskip("torch")
    a = data(3)
    x = leaf(a, np.float64)
    e = (x * 0.5).exp()
    seen = []
    e.grad_fn.register_hook(lambda gi, go: seen.append(gi[0].numpy().copy()))  # no fusion through it
    t = (e * 3).tanh()
    (t * 2).sum().backward()
    tx = torch.tensor(a, requires_grad=True)
    ((((tx * 0.5).exp() * 3).tanh()) * 2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-15)
    assert len(seen) == 1


def test_saved_result_with_fusion_switched_off_before_backward():
    fusion.set_enabled(True)
    x = leaf(data(4), np.float64)
    loss = ((x * 0.5).exp() * 3).sigmoid().sum()
    fusion.set_enabled(False)     # computes what is pending, the saved results included
    loss.backward()
    with fusion.disabled():
        y = leaf(data(4), np.float64)
        ((y * 0.5).exp() * 3).sigmoid().sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), y.grad.numpy())


def test_inplace_change_of_a_saved_result_is_the_eager_error(mode):
    x = leaf(data(), np.float64)
    e = (x * 2).exp()
    with pygrad.no_grad():
        e.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        (e * 1).sum().backward()


def test_a_leaf_used_by_several_pending_ops_fuses_and_a_numpy_view_still_stops_it():
    fusion.set_enabled(True)
    x = leaf(data(), requires_grad=False)
    first, second, both = x * 2, x.sin(), x * x
    assert all(fusion.is_pending(t) for t in (first, second, both))
    view = x.numpy()              # computes what is pending, and a view now exists
    assert not fusion.is_pending(x * 3)
    np.testing.assert_array_equal(both.numpy(), view * view)


def test_intermediate_used_three_times_adds_its_gradients_in_the_engines_order():
    def loss(x):
        t = x * 0.7 + 0.1
        return (t.sin() * t + t.exp()).sum()

    before = fusion.counters()
    (fused, fused_grads), (eager, eager_grads) = run_both(loss, data(5))
    after = fusion.counters()
    assert after["backward_chains"] - before["backward_chains"] == 1
    assert after["backward_nodes"] - before["backward_nodes"] == 6   # mul, add, sin, mul, exp, add
    np.testing.assert_array_equal(fused_grads[0], eager_grads[0])


def test_the_compiled_gate_follows_the_switch_and_the_threshold():
    from pygrad import _backend
    gate = _backend.core.fusion_gate
    big, small = leaf(data(), requires_grad=False), leaf(data(n=10), requires_grad=False)
    fusion.set_enabled(True)
    assert gate(big) and not gate(small) and not gate(3.0)
    pending = big * 2
    assert gate(pending)                     # a placeholder has its full size
    with fusion.disabled():
        assert not gate(big)
    fusion.set_min_numel(N + 1)              # computes what is pending first
    assert not fusion.is_pending(pending) and not gate(big)
    fusion.set_min_numel(64)
    assert gate(big)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_broadcast_rows_and_columns_join_the_chain_and_their_gradients_are_reduced(dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    arrays = [rng.uniform(0.1, 1, (40, 25)), rng.uniform(-1, 1, 25), rng.uniform(0.5, 1, (40, 1)),
              rng.uniform(-1, 1, (1, 25))]

    def loss(m, x, b, c, r):
        y = ((x * 2 + b).exp() * c - r).tanh() / c
        return (y * y + b).mean()

    before = fusion.counters()
    (fused, fused_grads), (eager, eager_grads) = run_both(lambda *t: loss(pygrad, *t), *arrays, dtype=dtype)
    after = fusion.counters()
    assert after["evaluated"] == before["evaluated"] and after["reduced"] - before["reduced"] == 1
    assert after["backward_chains"] - before["backward_chains"] == 1
    assert after["backward_nodes"] - before["backward_nodes"] == 9
    for f, e in zip(fused_grads, eager_grads):
        assert f.shape == e.shape
        np.testing.assert_array_equal(f, e)
    assert fused == pytest.approx(eager, rel=1e-6 if dtype == np.float32 else 1e-13)
    leaves = [torch.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
    ref = loss(torch, *leaves)
    ref.backward()
    rtol = 1e-4 if dtype == np.float32 else 1e-10
    assert fused == pytest.approx(ref.item(), rel=rtol)
    for f, t in zip(fused_grads, leaves):
        np.testing.assert_allclose(f, t.grad.numpy(), rtol=rtol, atol=rtol * 1e-2)


def test_operands_broadcast_against_each_other_run_eagerly():
    fusion.set_enabled(True)
    column = leaf(data()[:40].reshape(40, 1), requires_grad=False)
    row = leaf(data()[:25].reshape(1, 25), requires_grad=False)
    assert not fusion.is_pending(column * row)           # the result is neither operand's shape
    x = leaf(data(n=40 * 25).reshape(40, 25), requires_grad=False)
    assert fusion.is_pending(x + row) and fusion.is_pending(x * column)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_l1_loss_fuses_its_elementwise_part_and_reduction(reduction):
    torch = pytest.importorskip("torch")
    a, b = data(8), data(9)

    def loss(m, x, t):
        return m.nn.functional.l1_loss(x * 2, t, reduction=reduction)

    before = fusion.counters()
    (fused, fused_grads), (eager, eager_grads) = run_both(lambda x, t: loss(pygrad, x, t), a, b)
    after = fusion.counters()
    assert after["evaluated"] == before["evaluated"] and after["reduced"] - before["reduced"] == 1
    assert after["backward_nodes"] - before["backward_nodes"] == 3      # abs, sub, mul in one pass
    for f, e in zip(fused_grads, eager_grads):
        np.testing.assert_array_equal(f, e)
    tx, tt = (torch.tensor(v.astype(np.float32), requires_grad=True) for v in (a, b))
    ref = loss(torch, tx, tt)
    ref.backward()
    assert fused == pytest.approx(ref.item(), rel=1e-5)
    np.testing.assert_allclose(fused_grads[0], tx.grad.numpy(), rtol=1e-6)


def test_a_chain_of_thousands_of_ops_fuses_forward_and_backward():
    """Records are added to a program and gathered in backward without recursion and in time
    linear in the chain's length."""
    def build(x):
        y = x
        for _ in range(1500):
            y = y * 0.999 + 0.001
        return y.sum()

    before = fusion.counters()
    (fused, fused_grads), (eager, eager_grads) = run_both(build, data(), dtype=np.float64)
    assert fusion.counters()["backward_nodes"] - before["backward_nodes"] == 3000
    assert fused_grads[0].tobytes() == eager_grads[0].tobytes()
    np.testing.assert_allclose(fused, eager, rtol=1e-12)
    np.testing.assert_allclose(fused_grads[0], np.full(N, 0.999 ** 1500), rtol=1e-12)


def _sums(fn):
    before = fusion.counters()["backward_sums"]
    out = fn()
    return out, fusion.counters()["backward_sums"] - before


def test_gradients_of_a_leaf_used_by_several_nodes_are_added_in_the_pass_in_the_engines_order():
    """p - t, softplus(p), (p * 0.5).sin(): the three gradients of p leave the pass as one, with
    the bits of the engine adding them one by one; t's one gradient leaves as it is."""
    def loss(p, t):
        d = p - t
        return (d.cosh().log() + pygrad.nn.functional.softplus(p) * 0.1 + (p * 0.5).sin() ** 2).mean()

    ((fused, fused_grads), (eager, eager_grads)), sums = _sums(lambda: run_both(loss, data(11), data(12)))
    assert sums == 2
    for f, e in zip(fused_grads, eager_grads):
        assert f.tobytes() == e.tobytes()


def test_a_leaf_that_also_gets_a_gradient_from_outside_the_chain_is_summed_by_the_engine():
    """x gets gradients from two nodes of the chain and from cumsum (not fused): added in the
    pass, the sum would be associated differently from the engine's, so the engine adds them."""
    def loss(x):
        return (x * x + x.sin()).sum() + x.cumsum(0).sum()

    ((fused, fused_grads), (eager, eager_grads)), sums = _sums(lambda: run_both(loss, data(13)))
    assert sums == 0
    assert fused_grads[0].tobytes() == eager_grads[0].tobytes()


def test_a_root_edge_into_a_tensor_the_chain_uses_twice_keeps_the_engines_sum():
    """backward([loss, h]): h's gradient from the root comes first, then the chain's two."""
    a, g = data(14), data(15)

    def grads():
        x = leaf(a)
        h = x.cumsum(0)
        pygrad.autograd.backward([(h.sin() + h * 1.5).sum(), h], [None, leaf(g, requires_grad=False)])
        return x.grad.numpy()

    with fusion.enabled():
        fused, sums = _sums(grads)
    with fusion.disabled():
        eager = grads()
    assert sums == 0
    assert fused.tobytes() == eager.tobytes()


def test_a_reduced_pass_stores_what_is_expensive_to_compute_again_from_what_it_stores():
    """s = sin(x) is stored (transcendental); y = s * 0.5 is arithmetic on it, so it is left
    pending and computed from the stored s when read, with the eager bits."""
    fusion.set_enabled(True)
    x = leaf(data(16))
    s = x.sin()
    y = s * 0.5
    loss = (y + x.exp()).sum()
    from pygrad.fusion.lazy import record_of
    assert record_of(s).value is not None and record_of(y).value is None  # stored / left pending
    with fusion.disabled():
        ex = leaf(data(16))
        es = ex.sin()
        ey = es * 0.5
        eloss = (ey + ex.exp()).sum()
    loss.backward()
    eloss.backward()
    assert y.detach().numpy().tobytes() == ey.detach().numpy().tobytes()
    assert s.detach().numpy().tobytes() == es.detach().numpy().tobytes()
    assert x.grad.numpy().tobytes() == ex.grad.numpy().tobytes()


def test_a_pass_stops_storing_a_result_that_no_one_read_after_the_last_pass_of_its_chain():
    """A loss function's intermediate dropped when the function returns is stored the first
    time only; one its caller reads stays stored; the values and gradients stay the eager ones."""
    from pygrad.fusion import program
    from pygrad.fusion.lazy import record_of
    fusion.set_enabled(True)
    program._READ.clear()

    def step(x, keep_b):
        a = x.exp()              # saved by its node: read by backward
        b = x.sin() * 2.0        # held here only
        loss = (a + b).sum()
        stored = record_of(b).value is not None
        loss.backward()
        return stored, (b if keep_b else None)

    def eager():
        with fusion.disabled():
            x = leaf(data(17))
            (x.exp() + x.sin() * 2.0).sum().backward()
            return x.grad.numpy(), (x.sin() * 2.0).detach().numpy()

    want_grad, want_b = eager()
    for keep_b, expected in ((False, [True, False, False]), (True, [True, True, True])):
        program._READ.clear()
        for first in expected:
            x = leaf(data(17))
            stored, b = step(x, keep_b)
            assert stored == first
            assert x.grad.numpy().tobytes() == want_grad.tobytes()
            if keep_b:
                assert b.detach().numpy().tobytes() == want_b.tobytes()
