"""The compiled evaluator of fused programs (pygrad/_native/fused.pyx, pygrad/fusion/lower.py):
the same numbers as eager evaluation and as the Python evaluator, whatever the thread count;
what it cannot lower runs on the Python evaluator.  Tests that need the compiled evaluator skip
on the pure backend; the others run on both, with fusion on and off."""
import warnings

import numpy as np
import pytest

import pygrad
from pygrad import _backend, fusion
from pygrad.fusion import lower, program
from pygrad.fusion._state import state

N = 1000  # elements: 4 blocks of 300, the last partial

NATIVE = "native" in _backend.available() and _backend.name == "native"


@pytest.fixture
def native():
    """The native backend, whatever an earlier test left active."""
    with _backend.use("native"):
        assert _backend.fused_evaluator() is not None
        yield


compiled_only = pytest.mark.skipif(not NATIVE, reason="the compiled evaluator is native only")


@pytest.fixture(autouse=True)
def small_fusion():
    """Small chains fuse; NumPy's own loops (vector math off: the bit-for-bit contract) unless a
    test turns vector math on."""
    saved = (state.on, state.min_numel, state.min_numel_chosen, state.block, state.vector_math)
    state.on, state.block = True, 300  # (tests that compare switch it off)
    fusion.set_min_numel(64)  # kept when a test switches the backend
    fusion.set_vector_math(False)
    yield
    fusion.flush()
    state.on, state.min_numel, state.min_numel_chosen, state.block = saved[:4]
    fusion.set_vector_math(saved[4])


@pytest.fixture
def python_evaluator(monkeypatch):
    """Run fused programs on the Python evaluator (as the pure backend does)."""
    monkeypatch.setattr(_backend, "fused_evaluator", lambda: None)


@pytest.fixture
def threads(native):
    vm = _backend.fused_evaluator()
    yield vm.set_threads
    vm.set_threads(0)


def data(seed=0, n=N, low=-1.0, high=1.0):
    return np.random.default_rng(seed).uniform(low, high, n)


def bits(a):
    a = np.ascontiguousarray(a)
    return a.view(np.uint32 if a.dtype == np.float32 else np.uint64)


def chain(x, y):
    """Many table ops that fuse, transcendental ones and numbers among them."""
    a = (x * 0.75 - y / 3.0).sin() + x.log() * y.cos() - (x * y).atan()
    b = pygrad.nn.functional.softplus(a * 1.5) ** 3 + (y.abs() + 0.5) ** 0.5 - (x ** 2 + 1).log1p()
    c = (b * 0.3).cosh() / (y ** -1 + 4) - (a * 0.2).sinh() * x ** 2.5 + (b * b + 0.1) ** 0.5
    return ((c * c + 1).log2() * -0.5 + y ** 2 - a / (b + 3)).neg()


def values(dtype, fuse):
    with (fusion.enabled() if fuse else fusion.disabled()):
        x, y = (pygrad.tensor(np.asarray(v, dtype)) for v in (data(1, low=0.1, high=2.0), data(2)))
        out = chain(x, y)
        assert fusion.is_pending(out) == fuse
        return out.numpy().copy()


@compiled_only
@pytest.mark.usefixtures("native")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compiled_chain_is_bit_identical_to_eager(dtype):
    before = fusion.counters()
    fused = values(dtype, True)
    after = fusion.counters()
    assert after["compiled"] - before["compiled"] == 1  # one pass for the whole chain
    assert after["recorded"] - before["recorded"] >= 30
    assert after["fallbacks"] == before["fallbacks"]
    eager = values(dtype, False)
    assert np.isfinite(eager).all()
    np.testing.assert_array_equal(bits(fused), bits(eager))


@compiled_only
@pytest.mark.usefixtures("native")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_python_evaluator_gives_the_compiled_numbers(dtype, monkeypatch):
    compiled = values(dtype, True)
    monkeypatch.setattr(_backend, "fused_evaluator", lambda: None)
    before = fusion.counters()["compiled"]
    np.testing.assert_array_equal(bits(values(dtype, True)), bits(compiled))
    assert fusion.counters()["compiled"] == before


def reductions(dtype):
    x = pygrad.tensor(np.asarray(data(3, low=-0.9, high=5), dtype))
    out = []
    for kind in ("sum", "mean"):
        y = ((x * 1.7 + 0.2).sin() * x.log1p()) ** 2
        assert fusion.is_pending(y) == fusion.is_enabled()
        total = getattr(y, kind)()
        del y  # else reading the total computes y too (numpy() computes what is pending)
        out.append(total.numpy().copy())
    total = ((x * 3.1).cos() + 1).sum(dtype=pygrad.float64)
    out.append(total.numpy().copy())
    return out


@compiled_only
@pytest.mark.usefixtures("native")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sums_equal_the_python_evaluators_exactly(dtype, monkeypatch):
    before = fusion.counters()
    compiled = reductions(dtype)
    assert fusion.counters()["compiled"] - before["compiled"] == 3
    monkeypatch.setattr(_backend, "fused_evaluator", lambda: None)
    by_python = reductions(dtype)
    for a, b in zip(compiled, by_python):
        assert a.dtype == b.dtype
        assert bits(a) == bits(b)
    with fusion.disabled():
        eager = reductions(dtype)
    for a, b in zip(compiled, eager):  # another summation order: the last bits may differ
        assert a.dtype == b.dtype
        np.testing.assert_allclose(a, b, rtol=1e-5 if dtype == np.float32 else 1e-12)


def test_sum_of_a_block_is_numpys_pairwise_sum_from_zero():
    """The order ``program.py`` documents, which both evaluators follow."""
    for n in (5, 17, 300, 1031, 16384):
        a = np.random.default_rng(n).standard_normal(n).astype(np.float32) * 100
        assert np.add.reduce(a) == np.add.reduce(a, initial=np.float32(0))


def w6(m, p, s, t):
    softplus = m.nn.functional.softplus
    d = p - t
    log_cosh = d.cosh().log()
    var = softplus(s) + 0.01
    nll = (d * d) / var * 0.5 + var.log() * 0.5
    periodic = ((p * 0.5).sin() ** 2) * 0.05
    return (log_cosh + softplus(p) * 0.1 + nll + periodic).mean()


@compiled_only
@pytest.mark.usefixtures("native")
def test_one_and_two_threads_give_the_same_bits(threads):
    results = []
    for n in (1, 2):
        threads(n)
        p, s = (pygrad.tensor(data(k).astype(np.float32), requires_grad=True) for k in (4, 5))
        t = pygrad.tensor(data(6).astype(np.float32))
        loss = w6(pygrad, p, s, t)
        loss.backward()
        results.append([loss.detach().numpy().copy(), p.grad.numpy().copy(), s.grad.numpy().copy()])
    for a, b in zip(*results):
        np.testing.assert_array_equal(bits(a), bits(b))


@pytest.mark.parametrize("fuse", [True, False], ids=["fused", "eager"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_w6_gradients_match_torch(fuse, dtype):
    torch = pytest.importorskip("torch")
    arrays = [data(k).astype(dtype) for k in (7, 8, 9)]
    with (fusion.enabled() if fuse else fusion.disabled()):
        before = fusion.counters()
        p, s = (pygrad.tensor(a, requires_grad=True) for a in arrays[:2])
        loss = w6(pygrad, p, s, pygrad.tensor(arrays[2]))
        loss.backward()
        after = fusion.counters()
    tp, ts = (torch.tensor(a, requires_grad=True) for a in arrays[:2])
    tloss = w6(torch, tp, ts, torch.tensor(arrays[2]))
    tloss.backward()
    rtol = 1e-5 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(loss.item(), tloss.item(), rtol=rtol)
    np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=rtol, atol=1e-9)
    np.testing.assert_allclose(s.grad.numpy(), ts.grad.numpy(), rtol=rtol, atol=1e-9)
    if fuse:
        assert after["backward_chains"] > before["backward_chains"]
        if _backend.fused_evaluator() is not None:
            assert after["fallbacks"] == before["fallbacks"]
            assert after["compiled"] > before["compiled"]


def test_a_step_that_cannot_be_traced_runs_on_the_python_evaluator():
    """erf's kernel computes with a Python function per element: no ufunc to lower."""
    x = pygrad.tensor(data(10).astype(np.float32))
    before = fusion.counters()
    y = ((x * 2).erf() + 1) * 3
    assert fusion.is_pending(y)
    fused = y.numpy().copy()
    after = fusion.counters()
    if _backend.fused_evaluator() is not None:
        assert after["fallbacks"] - before["fallbacks"] == 1
        assert after["compiled"] == before["compiled"]
    with fusion.disabled():
        eager = (((x * 2).erf() + 1) * 3).numpy()
    np.testing.assert_array_equal(bits(fused), bits(eager))


def test_broadcast_and_strided_leaves_fall_back_cleanly():
    """A leaf that is not a contiguous array of the chain's shape (a broadcast view) is not
    taken by the compiled evaluator; the Python evaluator computes the program."""
    from pygrad._backend import kernels
    row = np.arange(4, dtype=np.float32)
    x = data(11, n=12).astype(np.float32).reshape(3, 4)
    for leaf in (np.broadcast_to(row, (3, 4)), x.T.copy().T):
        prog = program.Program()
        step = program.Step(None, False, "add", "add")
        reg = prog.step(step, [prog.leaf(x), prog.leaf(leaf)])
        out = np.empty(12, np.float32)
        prog.evaluate(12, [reg], [out])
        np.testing.assert_array_equal(out, (x + leaf).reshape(-1))
    assert kernels.add is not None


@compiled_only
@pytest.mark.usefixtures("native")
def test_a_zero_d_leaf_a_step_reads_is_lowered_for_its_value():
    """The pow kernel tests its exponent for 0.5 (sqrt): the plan is kept per exponent value."""
    from pygrad._backend import kernels
    x = data(12, low=0.1, high=3).astype(np.float32)
    step = program.Step(None, False, "pow", "pow")
    for exponent in (0.5, 2.0, 0.5, 3.0):
        prog = program.Program()
        reg = prog.step(step, [prog.leaf(x), prog.leaf(np.asarray(exponent, np.float32))])
        out = np.empty(N, np.float32)
        before = fusion.counters()["compiled"]
        prog.evaluate(N, [reg], [out])
        assert fusion.counters()["compiled"] == before + 1
        np.testing.assert_array_equal(bits(out), bits(kernels.pow(x, np.asarray(exponent, np.float32))))


@compiled_only
@pytest.mark.usefixtures("native")
def test_lowered_loops_are_numpys(threads):
    """Every loop the evaluator calls gives, bit for bit, what calling its ufunc gives."""
    vm = _backend.fused_evaluator()
    checked = 0
    for ufunc in (np.exp, np.log, np.sin, np.cos, np.tanh, np.log1p, np.expm1, np.arctan, np.sqrt,
                  np.cosh, np.sinh, np.add, np.multiply, np.true_divide, np.power, np.maximum, np.greater):
        for chars in ("ff", "dd", "fff", "ddd", "ff?", "dd?"):
            if len(chars) != ufunc.nargs:
                continue
            index = vm.loop_index(ufunc, chars)
            if index < 0:
                continue
            for probe in lower._probes(chars[:-1]):
                assert vm.loop_matches(ufunc, index, probe), (ufunc, chars)
            checked += 1
    assert checked >= 30


@pytest.mark.parametrize("fuse", [True, False], ids=["fused", "eager"])
def test_floating_point_errors_warn_in_neither_plan_as_in_torch(fuse):
    """sin(inf) is nan and log(-1) nan without a warning, as in PyTorch, also when the program
    asks NumPy to raise."""
    x = pygrad.tensor(np.where(np.arange(N) == 7, np.inf, data(13)).astype(np.float32))
    with (fusion.enabled() if fuse else fusion.disabled()):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert np.isnan((x * 2).sin().numpy()[7])
            assert np.isnan(((x - 5) * 2).log().numpy()).any()
            with np.errstate(invalid="raise"):
                assert np.isnan((x * 3).sin().numpy()[7])


@compiled_only
@pytest.mark.usefixtures("native")
def test_backward_chain_runs_compiled_and_matches_eager_bits():
    x = data(14).astype(np.float32)
    grads = []
    for fuse in (True, False):
        with (fusion.enabled() if fuse else fusion.disabled()):
            t = pygrad.tensor(x, requires_grad=True)
            before = fusion.counters()
            (((t ** 2 + 1) ** 2) * 0.5).sum().backward()
            after = fusion.counters()
            grads.append(t.grad.numpy().copy())
        if fuse:
            assert after["backward_chains"] - before["backward_chains"] == 1
            assert after["compiled"] - before["compiled"] == 2  # forward with its sum, backward
    np.testing.assert_array_equal(bits(grads[0]), bits(grads[1]))


@pytest.mark.parametrize("fuse", [True, False], ids=["fused", "eager"])
def test_where_and_masked_fill_take_a_condition_of_the_chains_shape(fuse):
    """The condition is an attribute of the step, an array read block by block as the leaves."""
    torch = pytest.importorskip("torch")
    a, b = data(15), data(16)

    def loss(m, x, y):
        z = m.where(x * 2 > y, (x * 3).sin(), y * y + 1)
        return (z.masked_fill(y > 0.5, 0.25) * x).sum()

    with (fusion.enabled() if fuse else fusion.disabled()):
        before = fusion.counters()
        x, y = (pygrad.tensor(v.astype(np.float32), requires_grad=True) for v in (a, b))
        out = loss(pygrad, x, y)
        out.backward()
        after = fusion.counters()
    tx, ty = (torch.tensor(v.astype(np.float32), requires_grad=True) for v in (a, b))
    tout = loss(torch, tx, ty)
    tout.backward()
    np.testing.assert_allclose(out.item(), tout.item(), rtol=1e-5)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(y.grad.numpy(), ty.grad.numpy(), rtol=1e-6, atol=1e-7)
    if fuse:
        assert after["recorded"] - before["recorded"] >= 4


@compiled_only
@pytest.mark.usefixtures("native")
def test_a_plan_refuses_arrays_that_do_not_fit_it():
    vm = _backend.fused_evaluator()
    index = vm.loop_index(np.multiply, "fff")
    plan = vm.Plan([("whole", 0, 4), ("const", 0, 4), ("output", 0, 4)], [],
                   [("ufunc", (np.multiply, index), [0, 1, 2], False)], [np.asarray(2, np.float32)], 0)
    x = data(17).astype(np.float32)
    out = np.empty(N, np.float32)
    plan.run([x], [out], N, 300)
    np.testing.assert_array_equal(out, x * np.float32(2))
    for leaves, outs in (([x[:-1]], [out]), ([x], [out[:-1]]), ([x[::2]], [out[:500]]),
                         ([x.astype(np.float64)], [out]), ([x], [np.broadcast_to(out, (N,))])):
        with pytest.raises(ValueError):
            plan.run(leaves, outs, N, 300)


def _vector_math_built():
    try:
        from pygrad._native import vecmath
    except ImportError:
        return False
    return vecmath.available()


vector_math_only = pytest.mark.skipif(not (NATIVE and _vector_math_built()),
                                      reason="needs the native backend built with vector math")


@vector_math_only
@pytest.mark.usefixtures("native")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_vector_math_runs_the_transcendental_steps_within_rounding(dtype):
    assert lower._vector_loop(np.exp, "ff") is None  # off
    fusion.set_vector_math(True)
    assert lower._vector_loop(np.exp, "ff") is not None and lower._vector_loop(np.add, "fff") is None
    before = fusion.counters()
    fused = values(dtype, True)
    assert fusion.counters()["compiled"] - before["compiled"] == 1
    eager = values(dtype, False)
    # A few ulp per transcendental step, amplified through some 30 ops (and cancelling near 0:
    # the absolute bound is in units of the terms, which are of order 1).
    tol = 128 * np.finfo(dtype).eps
    np.testing.assert_allclose(fused, eager, rtol=tol, atol=tol)
    fusion.set_vector_math(False)
    np.testing.assert_array_equal(bits(values(dtype, True)), bits(eager))


@vector_math_only
def test_vector_math_gives_the_same_bits_on_one_and_two_threads(threads):
    fusion.set_vector_math(True)
    threads(1)
    one = values(np.float32, True)
    threads(2)
    np.testing.assert_array_equal(bits(values(np.float32, True)), bits(one))


@vector_math_only
@pytest.mark.usefixtures("native")
def test_vector_math_gradients_match_torch():
    torch = pytest.importorskip("torch")
    fusion.set_vector_math(True)
    x0, y0 = data(1, low=0.1, high=2.0), data(2)
    grads = []
    for lib in (pygrad, torch):
        x = lib.tensor(x0, requires_grad=True)
        y = lib.tensor(y0, requires_grad=True)
        ((x * 0.5).sin().exp() + (y * y + 1).log1p() * x.cosh() - y.tanh()).mean().backward()
        grads.append((x.grad.detach().numpy(), y.grad.detach().numpy()))
    for ours, theirs in zip(*grads):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=0)


@compiled_only
@pytest.mark.parametrize("n", [1, 7, 8, 9, 127, 128, 129, 135, 256, 1000, 4097, 16385])
@pytest.mark.parametrize("value,acc", [(np.float32, np.float64), (np.float32, np.float32),
                                       (np.float64, np.float64)])
def test_block_sums_equal_numpys_sums(native, n, value, acc):
    """A block's sum is np.add.reduce's pairwise sum of the block (float32 values summed in
    float64 each widened as the sum reads them): the same bits for every block length, with
    signed zeros, huge and tiny values, infinities and nans."""
    vm = _backend.fused_evaluator()
    rng = np.random.default_rng(n)
    x = (rng.standard_normal(n) * np.exp(rng.uniform(-20, 20, n))).astype(value)
    x[::11] = -0.0
    specials = [np.inf, -np.inf, np.nan, 1e30, -1e30]
    size = np.dtype(value).itemsize
    half = value(0.5)
    read = vm.Plan([("whole", 0, size)], [], [], [], 0, (0, acc))
    computed = vm.Plan([("whole", 0, size), ("const", 0, size), ("scratch", 0, size)], [],
                       [("ufunc", (np.multiply, vm.loop_index(np.multiply, np.dtype(value).char * 3)), [0, 1, 2], False)],
                       [np.asarray(half)], 1, (2, acc))
    default_sub = vm.SUB_BLOCK
    # Blocks of one sub-block, of a power of two of them (summed a sub-block at a time), of
    # other multiples and of other lengths; sub-blocks too small to be summed that way.
    for sub, block in [(None, n), (None, 7), (None, 300), (128, 1024), (128, 384), (96, 768), (72, 576),
                       (64, 512), (100, 800), (8, 64)]:
        vm.set_sub_block(sub or default_sub)
        try:
            for case in range(len(specials) + 1):
                y = x.copy()
                if case:  # one special value somewhere
                    y[rng.integers(0, n)] = specials[case - 1]
                with np.errstate(all="ignore"):
                    for plan, summed in ((read, y), (computed, y * half)):  # a leaf, a value of the pass
                        partials = np.empty(-(-n // block), acc)
                        plan.run([y], [], n, block, partials)
                        want = [np.add.reduce(summed[i:i + block].astype(acc)) for i in range(0, n, block)]
                        assert partials.tobytes() == np.asarray(want, acc).tobytes(), (sub, block, case)
        finally:
            vm.set_sub_block(default_sub)
    one = np.asarray(value(rng.standard_normal()))  # one value, n times
    plan = vm.Plan([("uniform", 0, np.dtype(value).itemsize)], [], [], [], 0, (0, acc))
    partials = np.empty(1, acc)
    plan.run([one], [], n, n, partials)
    assert partials.tobytes() == np.add.reduce(np.full(n, one, acc)).tobytes()
    negative_zeros = np.full(n, -0.0, value)  # 0 + (-0.0): +0.0, as np.add.reduce from 0
    plan = vm.Plan([("whole", 0, np.dtype(value).itemsize)], [], [], [], 0, (0, acc))
    plan.run([negative_zeros], [], n, n, partials)
    assert partials.tobytes() == np.add.reduce(negative_zeros.astype(acc)).tobytes()


@compiled_only
@pytest.mark.parametrize("n", [0, 1, 2, 7, 8, 9, 61, 128, 129, 300, 4096, 5000, 8192, 8193, 20000])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_block_sums_are_added_as_numpy_adds_them(native, n, dtype):
    """The evaluator's sum of the block sums is np.add.reduce's (pairwise, from 0), bit for bit,
    with signed zeros, infinities and nans among them."""
    vm = _backend.fused_evaluator()
    rng = np.random.default_rng(n)
    x = (rng.standard_normal(n) * np.exp(rng.uniform(-20, 20, n))).astype(dtype)
    cases = [x, -np.abs(x) * 0, np.full(n, -0.0, dtype)]
    for special in (np.inf, -np.inf, np.nan):
        y = x.copy()
        if n:
            y[rng.integers(0, n)] = special
        cases.append(y)
    for case in cases:
        got = vm.add_reduce(case)
        assert got.shape == () and got.dtype == dtype
        assert got.tobytes() == np.asarray(np.add.reduce(case)).tobytes()
