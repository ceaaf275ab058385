"""Compiled arithmetic of hot fused passes (pygrad/fusion/jit.py): the same bits as the plan of
one NumPy loop per instruction and as eager evaluation, the same warnings, and no change at all
where no compiler runs or a compiled plan disagrees on probes."""
import os
import warnings

import numpy as np
import pytest

import pygrad
from pygrad import _backend, fusion
from pygrad.fusion import jit
from pygrad.fusion._state import state

NATIVE = "native" in _backend.available() and _backend.name == "native"
pytestmark = pytest.mark.skipif(not (NATIVE and jit.available()), reason="needs the native backend and a C compiler")

N = 1000


@pytest.fixture(autouse=True)
def small_fusion(tmp_path, monkeypatch):
    """Small chains fuse, NumPy's loops for transcendental functions (bit for bit), the kernels
    cached in a fresh directory."""
    monkeypatch.setenv("PYGRAD_CACHE_DIR", str(tmp_path))
    saved = (state.on, state.min_numel, state.min_numel_chosen, state.block, state.vector_math, state.jit)
    with _backend.use("native"):  # whatever an earlier test left active
        state.on, state.block = True, 300
        fusion.set_min_numel(64)
        fusion.set_vector_math(False)
        fusion.set_jit(True)
        yield
        fusion.flush()
        fusion.wait_for_jit()
    state.on, state.min_numel, state.min_numel_chosen, state.block = saved[:4]
    fusion.set_vector_math(saved[4])
    fusion.set_jit(saved[5])


def data(seed, low=-1.0, high=1.0, n=N):
    return np.random.default_rng(seed).uniform(low, high, n)


def arithmetic(x, y):
    """Every operation the compiled loops cover, between transcendental ones that stay NumPy's."""
    a = (x * 0.75 - y / 3.0) * (x + 2) - (-y) / (x * x + 1)
    b = pygrad.where(a > 0.1, a, y * 2) + (x.abs() + 0.5).sqrt() + (y ** 2).reciprocal()
    c = b.sin().exp() * 0.001 + (a <= b).to(x.dtype) - pygrad.relu(a - 0.2) + (a.square() == b).to(x.dtype)
    return (c * c + b / (a.abs() + 1)).tanh() * 3 + c


def run(dtype, steps):
    """Forward and backward of ``arithmetic`` ``steps`` times; the last values and gradients."""
    for _ in range(steps):
        x = pygrad.tensor(np.asarray(data(1, 0.1, 2.0), dtype), requires_grad=True)
        y = pygrad.tensor(np.asarray(data(2), dtype), requires_grad=True)
        out = arithmetic(x, y)
        out.backward(pygrad.ones_like(out))
    return [out.detach().numpy().copy(), x.grad.numpy().copy(), y.grad.numpy().copy()]


def hot(fn):
    """``fn()`` after its passes were compiled: run, compile, run again."""
    for _ in range(jit.HOT):
        fn()
    fusion.wait_for_jit()
    return fn()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compiled_passes_give_the_eager_bits(dtype):
    before = fusion.counters()["jit_compiled"]
    with fusion.disabled():
        eager = run(dtype, 1)
    with fusion.enabled():
        fused = hot(lambda: run(dtype, 1))
    assert fusion.counters()["jit_compiled"] >= before + 2  # forward and backward
    assert fusion.counters()["jit_rejected"] == 0
    for got, want in zip(fused, eager):
        assert got.dtype == want.dtype
        assert got.tobytes() == want.tobytes()


def test_sums_of_compiled_passes_equal_the_uncompiled_ones():
    x = pygrad.tensor(np.asarray(data(3, n=5000), np.float32), requires_grad=True)

    def step():
        x.grad = None
        loss = (((x ** 2 + 1) ** 2) * 0.5).sum()
        loss.backward()
        return loss.item(), x.grad.numpy().copy()

    fusion.set_jit(False)
    plain = step()
    fusion.set_jit(True)
    compiled = hot(step)
    assert compiled[0] == plain[0]
    assert compiled[1].tobytes() == plain[1].tobytes()
    # d/dx 0.5 (x^2+1)^2 = 2x(x^2+1), to float32 rounding
    xs = x.detach().numpy().astype(np.float64)
    np.testing.assert_allclose(compiled[1], 2 * xs * (xs ** 2 + 1), rtol=1e-6)


def test_overflow_and_division_by_zero_warn_in_neither_plan_as_in_torch():
    big = np.full(N, 1e30, np.float32)
    big[::7] = 0

    def step():
        x = pygrad.tensor(big)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = ((x * 1e10) * 1e10 + 1) / x
            out.numpy()
        return sorted(str(w.message) for w in caught), out.numpy().copy()

    fusion.set_jit(False)
    plain_warnings, plain = step()
    assert plain_warnings == []  # PyTorch gives inf without a warning
    assert np.isinf(plain).all()
    fusion.set_jit(True)
    before = fusion.counters()["jit_compiled"]
    got_warnings, got = hot(step)
    assert fusion.counters()["jit_compiled"] == before + 1
    assert got_warnings == plain_warnings
    assert got.tobytes() == plain.tobytes()


def test_a_run_with_more_operands_than_an_instruction_takes_is_cut():
    xs = [pygrad.tensor(np.asarray(data(10 + k), np.float64)) for k in range(20)]

    def step():
        total = xs[0] * 1.5
        for k, x in enumerate(xs[1:]):
            total = total * 0.5 + x * (k + 1)
        return total.numpy().copy()

    with fusion.disabled():
        eager = step()
    before = fusion.counters()["jit_compiled"]
    got = hot(step)
    assert fusion.counters()["jit_compiled"] == before + 1
    assert got.tobytes() == eager.tobytes()


def test_groups_split_the_arithmetic_between_other_instructions():
    """``groups`` turns runs of two or more instructions into one, keeps the rest, and stores
    only what later instructions read."""
    import operator
    locs = [("whole", 0, 4), ("uniform", 1, 4), ("scratch", 0, 4), ("scratch", 1, 4), ("scratch", 0, 4),
            ("scratch", 1, 4), ("output", 0, 4)]
    f = "fff"
    instrs = [("ufunc", (np.multiply, f), [0, 0, 2], True),   # x*x          -> 2
              ("ufunc", (np.add, f), [2, 1, 3], True),        # + u          -> 3 (read by exp)
              ("ufunc", (np.exp, "ff"), [3, 4], True),        # exp: not compiled
              ("ufunc", (np.multiply, f), [4, 3, 5], False),  # e * 3        -> 5
              ("ufunc", (np.subtract, f), [5, 0, 6], False)]  # - x          -> output
    split = jit.groups(locs, instrs, None, 2)
    code, new_locs, nslots, sources = split
    assert [c[0] for c in code] == ["group", "ufunc", "group"]
    assert code[0][2] == [0, 1, 3]             # reads x and u, writes only 3 (2 stays in a register)
    assert code[1] is instrs[2]
    assert code[2][2] == [4, 3, 0, 6]          # reads e, 3 and x, writes the output
    assert list(map(operator.itemgetter(0), sources)) == ["pygrad_group_0", "pygrad_group_1"]
    assert code[0][3] is True and code[2][3] is False  # watched when a member is
    assert nslots >= 2 and new_locs[6] == locs[6]
    # an operation without exact C stays NumPy's: nothing to compile
    assert jit.groups(locs, [instrs[2]], None, 2) is None
    # a value written into the slot of one the run reads (free after its last reading) moves to
    # a slot of its own, so the loop's input and output pointers never meet
    locs = [("whole", 0, 4), ("scratch", 0, 4), ("scratch", 1, 4), ("scratch", 0, 4), ("output", 0, 4)]
    instrs = [("ufunc", (np.exp, "ff"), [0, 1], True),         # exp(x)      -> slot 0
              ("ufunc", (np.multiply, f), [1, 1, 2], True),    # e * e       -> slot 1
              ("ufunc", (np.add, f), [2, 0, 3], True),         # + x         -> slot 0 again (e is dead)
              ("ufunc", (np.exp, "ff"), [3, 4], True)]         # exp         -> output
    code, new_locs, nslots, _ = jit.groups(locs, instrs, None, 2)
    assert code[1][2] == [1, 0, 3]               # reads e (slot 0) and x, writes value 3
    assert new_locs[3] == ("scratch", 2, 4) and nslots == 3
    # watched steps and quiet ones (a sqrt that silences its errors) make runs of their own;
    # a comparison or a select joins either
    locs = [("whole", 0, 4)] + [("scratch", k, 4) for k in range(6)] + [("scratch", 0, 1), ("output", 0, 4)]
    instrs = [("ufunc", (np.sqrt, "ff"), [0, 1], False),         # quiet
              ("ufunc", (np.multiply, f), [1, 1, 2], False),     # quiet
              ("ufunc", (np.greater, "ff?"), [2, 0, 7], True),   # either
              ("ufunc", (np.add, f), [2, 0, 3], True),           # watched
              ("where", 4, [7, 3, 0, 4], False),                 # either
              ("ufunc", (np.multiply, f), [4, 4, 8], True)]      # watched
    code = jit.groups(locs, instrs, None, 6)[0]
    assert [(c[0], c[3]) for c in code] == [("group", False), ("group", True)]
    assert code[0][2][-2:] == [2, 7]            # the quiet run writes what the watched one reads


def test_no_compiler_leaves_the_plans_as_they_are(monkeypatch):
    monkeypatch.setenv("CC", "no-such-compiler-anywhere")
    monkeypatch.setattr(jit, "_broken", False)
    fusion.set_jit(True)  # fresh plans
    before = fusion.counters()["jit_compiled"]
    with fusion.disabled():
        eager = run(np.float32, 1)
    fused = hot(lambda: run(np.float32, 1))
    assert fusion.counters()["jit_compiled"] == before
    assert all(g.tobytes() == e.tobytes() for g, e in zip(fused, eager))


def test_a_compiled_plan_that_disagrees_on_probes_is_refused(monkeypatch):
    wrong = jit._expression

    def subtracting(ufunc, chars, args):
        if ufunc is np.add:
            ufunc = np.subtract
        return wrong(ufunc, chars, args)

    monkeypatch.setattr(jit, "_expression", subtracting)
    fusion.set_jit(True)
    before = dict(fusion.counters())
    with fusion.disabled():
        eager = run(np.float64, 1)
    fused = hot(lambda: run(np.float64, 1))
    assert fusion.counters()["jit_rejected"] >= before["jit_rejected"] + 1
    assert all(g.tobytes() == e.tobytes() for g, e in zip(fused, eager))


def test_kernels_are_loaded_from_the_cache_without_compiling(monkeypatch, tmp_path):
    sources = [("pygrad_group_0", ["void pygrad_group_0(char **args, const intptr_t *dims, const intptr_t *steps, void *data) {",
                                   "    *(float *)args[1] = *(const float *)args[0] * 2.0f;", "}"])]
    first = jit.build(sources)
    assert first is not None and len(list((tmp_path / "kernels").glob("*"))) == 1
    import subprocess
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: pytest.fail("compiled again"))
    assert jit.build(sources) is not None


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_waits_for_no_job_of_its_parent():
    import signal
    import threading
    busy, release = threading.Event(), threading.Event()
    jit.submit(lambda: (busy.set(), release.wait(30)))  # the parent's worker, busy
    jit.submit(lambda: None)                             # and a job queued behind it
    assert busy.wait(30)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            signal.alarm(20)  # a child that waited for the parent's jobs would hang: fail instead
            jit.wait()
            jit.submit(lambda: None)  # the child gets a worker of its own
            jit.wait()
            code = 0
        finally:
            os._exit(code)
    try:
        _, status = os.waitpid(pid, 0)
    finally:
        release.set()
    jit.wait()
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


_TRIPLE = [("pygrad_group_0", ["void pygrad_group_0(char **args, const intptr_t *dims, const intptr_t *steps, void *data) {",
                                "    *(float *)args[1] = *(const float *)args[0] * 3.0f;", "}"])]


def test_a_damaged_cached_kernel_is_built_again(tmp_path):
    import subprocess
    import sys
    assert jit.build(_TRIPLE) is not None
    (cached,) = (tmp_path / "kernels").glob("*.so")
    damaged = tmp_path / "damaged"
    damaged.write_bytes(b"not a library")
    os.replace(damaged, cached)  # a new file: the one this process loaded stays mapped
    code = f"import sys; from pygrad.fusion import jit; sys.exit(0 if jit.build({_TRIPLE!r}) is not None else 1)"
    where = os.path.dirname(os.path.dirname(pygrad.__file__))  # the pygrad this process runs
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path,
                   env={**os.environ, "PYGRAD_CACHE_DIR": str(tmp_path), "PYTHONPATH": where})
    assert cached.read_bytes()[:4] == b"\x7fELF"


def test_a_cache_directory_others_may_write_to_is_not_used(tmp_path, monkeypatch):
    shared = tmp_path / "kernels"
    shared.mkdir()
    shared.chmod(0o777)
    monkeypatch.setenv("PYGRAD_CACHE_DIR", str(tmp_path))
    assert jit.build(_TRIPLE) is not None  # compiled for this process only
    assert list(shared.iterdir()) == []


def test_nan_signs_may_differ_but_every_other_bit_agrees():
    """Of two NaN operands the hardware keeps the first's sign, and the compiler may swap the
    operands of + and *: the compiled plan is kept, and only NaN signs may differ."""
    b = np.full(N, np.nan)
    c = -b
    b[::3] = 2.0
    c[::5] = -0.5

    def step():
        x, y = pygrad.tensor(b), pygrad.tensor(c)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return (x / y + y / x * 3 - x * y).numpy().copy()

    fusion.set_jit(False)
    plain = step()
    fusion.set_jit(True)
    before = dict(fusion.counters())
    got = hot(step)
    assert fusion.counters()["jit_compiled"] == before["jit_compiled"] + 1
    assert fusion.counters()["jit_rejected"] == before["jit_rejected"]
    np.testing.assert_array_equal(np.isnan(got), np.isnan(plain))
    assert got[~np.isnan(got)].tobytes() == plain[~np.isnan(plain)].tobytes()


def _compiled(instr, operands, out_dtype):
    """``instr`` (on locations 0.. of ``operands``, writing the next one) and a copy of its
    value into an output, compiled as one group and run on ``operands``."""
    from pygrad._native import fused
    n = max(np.size(a) for a in operands)
    locs = [("whole" if np.ndim(a) else "uniform", k, np.dtype(a.dtype).itemsize) for k, a in enumerate(operands)]
    size = np.dtype(out_dtype).itemsize
    locs += [("scratch", 0, size), ("output", 0, size)]
    kind, payload, _ = instr
    ops = list(range(len(operands))) + [len(operands)]
    code, locs, nslots, sources = jit.groups(locs, [(kind, payload, ops, False),
                                                    ("copy", size, [len(operands), len(operands) + 1], False)], None, 1)
    (pointer,) = jit.build(sources)
    plan = fused.Plan(locs, [], [("ufunc", (None, None, jit.capsule(pointer)), code[0][2], False)], [], nslots)
    out = np.empty(n, out_dtype)
    plan.run([np.ascontiguousarray(a) for a in operands], [out], n, 300)
    return out


UFUNCS = [(u, c) for u in (np.add, np.subtract, np.multiply, np.true_divide) for c in ("fff", "ddd")]
UFUNCS += [(u, c) for u in (np.greater, np.greater_equal, np.less, np.less_equal, np.equal, np.not_equal)
           for c in ("ff?", "dd?", "???")]
UFUNCS += [(np.logical_and, "???"), (np.logical_or, "???"), (np.logical_not, "??")]
UFUNCS += [(u, c) for u in (np.negative, np.positive, np.square, np.reciprocal, np.sqrt, np.absolute) for c in ("ff", "dd")]


@pytest.mark.parametrize("ufunc,chars", UFUNCS, ids=[f"{u.__name__}-{c}" for u, c in UFUNCS])
def test_each_operation_compiles_to_numpys_bits(ufunc, chars):
    from pygrad.fusion.lower import _probes
    for probes in _probes(chars[:-1]):
        with np.errstate(all="ignore"):
            want = np.asarray(ufunc(*probes))
        got = _compiled(("ufunc", (ufunc, chars), None), probes, want.dtype)
        assert got.tobytes() == np.broadcast_to(want, got.shape).tobytes()


@pytest.mark.parametrize("dtype", ["?", "f", "d"])
def test_selects_and_casts_compile_to_numpys_bits(dtype):
    from pygrad.fusion.lower import _probes
    cond, a, b = _probes("?" + dtype + dtype)[0]
    got = _compiled(("where", np.dtype(dtype).itemsize, None), [cond, a, b], dtype)
    assert got.tobytes() == np.where(cond, a, b).tobytes()
    for target in "?fd":
        if target != dtype:
            got = _compiled(("cast", (np.dtype(dtype), np.dtype(target)), None), [a], target)
            with np.errstate(all="ignore"):
                assert got.tobytes() == a.astype(target).tobytes()


@pytest.mark.parametrize("ufunc", [np.equal, np.not_equal, np.greater, np.less_equal])
def test_bool_comparisons_read_any_nonzero_byte_as_true(ufunc):
    rng = np.random.default_rng(3)
    a, b = (rng.integers(0, 4, 1031, dtype=np.uint8).view(np.bool_) for _ in range(2))
    got = _compiled(("ufunc", (ufunc, "???"), None), [a, b], np.bool_)
    assert got.tobytes() == ufunc(a, b).tobytes()
