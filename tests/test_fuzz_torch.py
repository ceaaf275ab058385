"""Differential fuzzing against torch: random programs of elementwise, broadcasting, reduction,
shape, indexing, in-place and matrix ops on tensors with size-0 and size-1 dims, run by pygrad
and by torch, must agree on values, dtypes, shapes, first and second order gradients, and on
whether (and with which exception type) they fail.

A program is built by running it on torch while hypothesis draws each step from what the
current tensor allows (its shape, its dtype), then replayed on pygrad.  Values sit on a grid
of quarters so that ties and kinks (relu at 0, max of equal elements) happen, and the ops
whose results depend on ties are only drawn on values that both libraries compute exactly.

CI runs a fixed, derandomized set of examples; ``-m slow`` runs thousands more.
"""
import math
import warnings

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

import pygrad  # noqa: E402

CI_EXAMPLES = 300  # per backend and dtype: a fixed set, about 20 s per backend here
SLOW_EXAMPLES = 2500

TOLERANCE = {"float64": dict(rtol=1e-7, atol=1e-9), "float32": dict(rtol=2e-4, atol=2e-5)}


class Leaf:
    """A new input tensor of the program (a leaf, requiring grad or not)."""

    def __init__(self, array: np.ndarray, requires_grad: bool):
        self.array, self.requires_grad = array, requires_grad


# -- drawing values and shapes -----------------------------------------------------------------------

def _grid(data, shape) -> np.ndarray:
    """Quarters in [-3, 3]: sums and products of a few of them are exact in float32 too.  Large
    arrays come from a drawn seed, which keeps hypothesis's record of the example small."""
    n = math.prod(shape)
    if n <= 24:
        ints = data.draw(st.lists(st.integers(-12, 12), min_size=n, max_size=n))
    else:
        ints = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1))).integers(-12, 13, n)
    return np.asarray(ints, np.float64).reshape(shape) / 4


def _shape(data, max_ndim=3):
    ndim = data.draw(st.integers(0, max_ndim))
    return tuple(data.draw(st.sampled_from((0, 1, 1, 2, 2, 3, 4))) for _ in range(ndim))


def _other_shape(data, shape):
    """A shape for a second operand: mostly one that broadcasts with ``shape``, sometimes not."""
    kind = data.draw(st.sampled_from(("same", "same", "ones", "ones", "drop", "random")))
    if kind == "same":
        return shape
    if kind == "ones":  # some dims set to 1
        return tuple(1 if data.draw(st.booleans()) else n for n in shape)
    if kind == "drop":  # leading dims dropped
        return shape[data.draw(st.integers(0, len(shape))):]
    return _shape(data)


def _leaf(data, shape):
    return Leaf(_grid(data, shape), data.draw(st.booleans()))


def _dim(data, ndim, allow_bad=True):
    """A dim of a tensor with ``ndim`` dims, now and then one out of range."""
    low, high = (-max(ndim, 1), max(ndim, 1) - 1)
    if allow_bad and data.draw(st.integers(0, 19)) == 0:
        return data.draw(st.sampled_from((low - 1, high + 1)))
    return data.draw(st.integers(low, high))


# -- the ops ------------------------------------------------------------------------------------------
# Each op: draw(data, x, exact) -> args (or None when it does not apply to x), and
# apply(m, x, *args) on library m; ``exact`` says whether x's values are computed exactly by both
# libraries (so ties and kinks are the same).  ``EXACT_OPS`` keep exact values exact.

OPS = {}
EXACT_OPS = set()
TIE_OPS = set()  # results (or gradients) that depend on ties and kinks: only on exact values


def op(name, exact=False, ties=False):
    """Register ``(draw, apply)``, or a class with those two static methods, as op ``name``."""
    def register(fn_pair):
        OPS[name] = (fn_pair.draw, fn_pair.apply) if isinstance(fn_pair, type) else fn_pair
        if exact:
            EXACT_OPS.add(name)
        if ties:
            TIE_OPS.add(name)
        return fn_pair
    return register


def _no_args(data, x):
    return ()


def unary(name, fn, exact=False, ties=False):
    op(name, exact, ties)((_no_args, fn))


unary("neg", lambda m, x: -x, exact=True)
unary("square", lambda m, x: x * x, exact=True)
unary("double", lambda m, x: x * 2 - 0.5, exact=True)
unary("abs", lambda m, x: x.abs(), exact=True, ties=True)
unary("relu", lambda m, x: x.relu(), exact=True, ties=True)
unary("clamp", lambda m, x: x.clamp(-1.0, 1.5), exact=True, ties=True)
unary("sign_mul", lambda m, x: x.sign() * x, exact=True, ties=True)
unary("sigmoid", lambda m, x: x.sigmoid())
unary("tanh", lambda m, x: x.tanh())
unary("sin", lambda m, x: x.sin())
unary("exp_tanh", lambda m, x: x.tanh().exp())
unary("log1p_sq", lambda m, x: (x * x + 1).log())
unary("sqrt_sq", lambda m, x: (x * x + 1).sqrt())
unary("recip", lambda m, x: 1 / (x * x + 1))
unary("pow3", lambda m, x: x ** 3, exact=True)
unary("clone", lambda m, x: x.clone(), exact=True)
unary("contiguous", lambda m, x: x.contiguous(), exact=True)
unary("flatten", lambda m, x: x.flatten(), exact=True)
unary("view_flat", lambda m, x: x.view(-1), exact=True)
unary("detach_mul", lambda m, x: x * x.detach(), exact=True)


def _binary_draw(data, x):
    return (_leaf(data, _other_shape(data, tuple(x.shape))),)


def binary(name, fn, exact=False, ties=False):
    op(name, exact, ties)((_binary_draw, fn))


binary("add", lambda m, x, y: x + y, exact=True)
binary("sub", lambda m, x, y: y - x, exact=True)
binary("mul", lambda m, x, y: x * y, exact=True)
binary("div", lambda m, x, y: x / (y * y + 0.5))
binary("maximum", lambda m, x, y: m.maximum(x, y), exact=True, ties=True)
binary("minimum", lambda m, x, y: m.minimum(x, y), exact=True, ties=True)
binary("where", lambda m, x, y: m.where(x > y, x, y * 2), exact=True, ties=True)
binary("atan2", lambda m, x, y: m.atan2(x, y * y + 0.5))  # atan2(0, 0) is tested elsewhere
binary("pow", lambda m, x, y: (x * x + 0.5) ** (y / 2))
binary("lerp", lambda m, x, y: m.lerp(x, y, 0.25))


@op("scalar_ops", exact=True)
class _ScalarOps:
    @staticmethod
    def draw(data, x):
        return (data.draw(st.sampled_from((0.5, -2, 1, 0.25))),)

    @staticmethod
    def apply(m, x, c):
        return (x + c) * c - x / 4


# reductions: (dim, keepdim)
def _reduce_draw(data, x):
    return (_dim(data, x.ndim), data.draw(st.booleans()))


op("sum_dim", exact=True)((_reduce_draw, lambda m, x, d, k: x.sum(d, keepdim=k)))
op("mean_dim")((_reduce_draw, lambda m, x, d, k: x.mean(d, keepdim=k)))
op("amax", exact=True, ties=True)((_reduce_draw, lambda m, x, d, k: x.amax(d, keepdim=k)))
op("max_dim", exact=True, ties=True)((_reduce_draw, lambda m, x, d, k: x.max(d, keepdim=k).values))
op("min_dim_indices", exact=True, ties=True)((_reduce_draw, lambda m, x, d, k: x.min(d, keepdim=k).indices * 1.0))
op("prod_dim", exact=True)((_reduce_draw, lambda m, x, d, k: (x / 2).prod(d, keepdim=k)))
op("logsumexp")((_reduce_draw, lambda m, x, d, k: x.logsumexp(d, keepdim=k)))
op("norm_dim", ties=True)((_reduce_draw, lambda m, x, d, k: x.norm(dim=d, keepdim=k)))
# correction=0: one element with correction 1 makes a NaN gradient, and which masked backward formulas
# turn an incoming NaN into 0 (as PyTorch's do) is tested elsewhere
op("var_dim")((_reduce_draw, lambda m, x, d, k: x.var(d, keepdim=k, correction=0)))
op("cumsum", exact=True)((lambda data, x: (_dim(data, x.ndim),), lambda m, x, d: x.cumsum(d)))
op("softmax")((lambda data, x: (_dim(data, x.ndim),), lambda m, x, d: x.softmax(d)))
op("log_softmax")((lambda data, x: (_dim(data, x.ndim),), lambda m, x, d: x.log_softmax(d)))
unary("sum_all", lambda m, x: x.sum(), exact=True)
unary("mean_all", lambda m, x: x.mean())
unary("max_all", lambda m, x: x.max(), exact=True, ties=True)
unary("median_all", lambda m, x: x.median(), exact=True, ties=True)


# shape ops
@op("transpose", exact=True)
class _Transpose:
    @staticmethod
    def draw(data, x):
        return _dim(data, x.ndim), _dim(data, x.ndim)

    @staticmethod
    def apply(m, x, a, b):
        return x.transpose(a, b)


@op("permute", exact=True)
class _Permute:
    @staticmethod
    def draw(data, x):
        return (tuple(data.draw(st.permutations(range(x.ndim)))),)

    @staticmethod
    def apply(m, x, dims):
        return x.permute(*dims)


@op("unsqueeze", exact=True)
class _Unsqueeze:
    @staticmethod
    def draw(data, x):
        return (data.draw(st.integers(-x.ndim - 1, x.ndim)),)

    @staticmethod
    def apply(m, x, d):
        return x.unsqueeze(d)


op("squeeze", exact=True)((lambda data, x: (_dim(data, x.ndim),), lambda m, x, d: x.squeeze(d)))
op("flip", exact=True)((lambda data, x: (_dim(data, x.ndim),), lambda m, x, d: x.flip(d)))


@op("reshape", exact=True)
class _Reshape:
    """To the shape reversed (a new split of the same elements) or with a -1."""

    @staticmethod
    def draw(data, x):
        shape = tuple(x.shape)[::-1]
        if shape and data.draw(st.booleans()):
            shape = (-1,) + shape[1:]
        return shape, data.draw(st.booleans())

    @staticmethod
    def apply(m, x, shape, use_view):
        return x.view(*shape) if use_view else x.reshape(*shape)  # view may fail exactly as in torch


@op("expand", exact=True)
class _Expand:
    @staticmethod
    def draw(data, x):
        shape = tuple(data.draw(st.sampled_from((n, 3))) if n == 1 else n for n in x.shape)
        lead = data.draw(st.sampled_from(((), (2,), (0,))))
        return (lead + shape,)

    @staticmethod
    def apply(m, x, shape):
        return x.expand(*shape) * 1


@op("cat", exact=True)
class _Cat:
    @staticmethod
    def draw(data, x):
        d = _dim(data, x.ndim)
        shape = list(x.shape)
        if shape and -len(shape) <= d < len(shape):
            shape[d] = data.draw(st.sampled_from((0, 1, 2)))
        return Leaf(_grid(data, tuple(shape)), data.draw(st.booleans())), d

    @staticmethod
    def apply(m, x, y, d):
        return m.cat([x, y], d)


op("stack", exact=True)((lambda data, x: (_dim(data, x.ndim + 1),), lambda m, x, d: m.stack([x, x * 2], d)))
op("repeat", exact=True)((lambda data, x: (tuple(data.draw(st.sampled_from((1, 2, 0))) for _ in range(x.ndim + 1)),),
                         lambda m, x, r: x.repeat(*r)))
op("tile", exact=True)((lambda data, x: ((2,) if x.ndim else (2, 1),), lambda m, x, r: x.tile(r)))


@op("t", exact=True)
class _T:
    @staticmethod
    def draw(data, x):
        return ()

    @staticmethod
    def apply(m, x):
        return x.t()


# indexing
@op("index", exact=True)
class _Index:
    @staticmethod
    def draw(data, x):
        if x.ndim == 0:
            return (data.draw(st.sampled_from((None, Ellipsis, True))),)
        n = x.shape[0]
        kind = data.draw(st.sampled_from(("int", "slice", "list", "mask", "ellipsis", "tuple")))
        if kind == "int":
            return (data.draw(st.integers(-n - 1, n)),)
        if kind == "slice":
            return (slice(data.draw(st.integers(-n - 1, n + 1)), data.draw(st.sampled_from((None, 1, -1, n))),
                          data.draw(st.sampled_from((None, 1, 2)))),)
        if kind == "list":
            return (data.draw(st.lists(st.integers(-n, n - 1), max_size=3)) if n else [],)
        if kind == "mask":
            return (np.asarray(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)), bool),)
        if kind == "ellipsis":
            return ((Ellipsis, data.draw(st.integers(-1, 0))) if x.shape[-1] else (Ellipsis, None),)
        return ((slice(None), None, Ellipsis),)

    @staticmethod
    def apply(m, x, key):
        if isinstance(key, np.ndarray):
            key = m.tensor(key)
        elif isinstance(key, list):
            key = m.tensor(key, dtype=m.int64)
        return x[key]


@op("index_select", exact=True)
class _IndexSelect:
    @staticmethod
    def draw(data, x):
        d = _dim(data, x.ndim, allow_bad=False)
        n = x.shape[d] if x.ndim else 1
        return d, data.draw(st.lists(st.integers(0, n - 1), max_size=3)) if n else []

    @staticmethod
    def apply(m, x, d, idx):
        return x.index_select(d, m.tensor(idx, dtype=m.int64))


@op("gather", exact=True)
class _Gather:
    @staticmethod
    def draw(data, x):
        d = _dim(data, x.ndim, allow_bad=False)
        n = x.shape[d] if x.ndim else 1
        shape = tuple(x.shape)
        idx = np.asarray(data.draw(st.lists(st.integers(0, max(n - 1, 0)), min_size=math.prod(shape),
                                            max_size=math.prod(shape))), np.int64).reshape(shape)
        return d, idx

    @staticmethod
    def apply(m, x, d, idx):
        return x.gather(d, m.tensor(idx))


op("masked_fill", exact=True)((lambda data, x: (), lambda m, x: x.masked_fill(x > 0.5, -1.0)))


# in-place ops: on a copy (a non-leaf), on a view of one, or (an error) on a leaf
def _inplace_draw(data, x):
    target = data.draw(st.sampled_from(("copy", "copy", "view", "view", "self")))
    return target, _leaf(data, _other_shape(data, tuple(x.shape)))


def _inplace_target(m, x, target):
    if target == "self":
        return x, x
    base = x * 1
    if target == "view" and base.ndim:
        return base, base[:1] if base.shape[0] else base
    return base, base


def inplace(name, fn):
    def apply(m, x, target, y):
        base, t = _inplace_target(m, x, target)
        fn(m, t, y)
        return base
    op(name, exact=True, ties=name in ("clamp_", "relu_"))((_inplace_draw, apply))


inplace("add_", lambda m, t, y: t.add_(y))
inplace("mul_", lambda m, t, y: t.mul_(y))
inplace("sub_alpha_", lambda m, t, y: t.sub_(y, alpha=2))
inplace("clamp_", lambda m, t, y: t.clamp_(-0.5, 1.0))
inplace("relu_", lambda m, t, y: t.relu_())
inplace("copy_", lambda m, t, y: t.copy_(y))
inplace("zero_", lambda m, t, y: t.zero_())
inplace("setitem", lambda m, t, y: t.__setitem__(Ellipsis, y))
inplace("setitem_mask", lambda m, t, y: t.__setitem__(t > 0, 2.0))
inplace("masked_fill_", lambda m, t, y: t.masked_fill_(t < 0, 0.5))


# matrix products
@op("matmul", exact=True)
class _Matmul:
    @staticmethod
    def draw(data, x):
        inner = x.shape[-1] if x.ndim else data.draw(st.integers(0, 2))
        if data.draw(st.integers(0, 9)) == 0:
            inner += 1  # a mismatch: torch's error
        shape = data.draw(st.sampled_from(((inner,), (inner, 2), (inner, 1), (2, inner, 3))))
        return Leaf(_grid(data, shape), data.draw(st.booleans())), data.draw(st.booleans())

    @staticmethod
    def apply(m, x, w, left):
        return x @ w if not left else (w.mT if w.ndim > 1 else w) @ x


@op("mm_square", exact=True)
class _MmSquare:
    @staticmethod
    def draw(data, x):
        return ()

    @staticmethod
    def apply(m, x):
        return x @ x.mT if x.ndim > 1 else x @ x


OP_NAMES = sorted(OPS)

# Ops whose second-order gradients are not compared (none: every op is compared to second order).
SECOND_ORDER_PENDING: set = set()


# -- running a program -----------------------------------------------------------------------------------

class Env:
    """The tensors of one run of a program on library ``m``."""

    def __init__(self, m, dtype: str):
        self.m, self.dtype, self.leaves = m, getattr(m, dtype), []

    def leaf(self, leaf: Leaf):
        t = self.m.tensor(leaf.array, dtype=self.dtype, requires_grad=leaf.requires_grad)
        self.leaves.append(t)
        return t

    def resolve(self, args):
        return tuple(self.leaf(a) if isinstance(a, Leaf) else a for a in args)


def _apply(env: Env, name: str, x, args):
    return OPS[name][1](env.m, x, *env.resolve(args))


def _outcome(fn):
    """(result, None) or (None, exception type name)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(), None
    except Exception as exc:  # noqa: BLE001 - the type is what is compared
        return None, type(exc).__name__


def _finish(env: Env, y, weights: np.ndarray, order2: np.ndarray | None):
    """Values, first and second order gradients of ``(y * weights).sum()`` w.r.t. the leaves."""
    m = env.m
    results = {"value": y}
    wanted = [t for t in env.leaves if t.requires_grad]
    if not (y.requires_grad and wanted and y.dtype.is_floating_point):
        return results
    loss = (y * m.tensor(weights, dtype=y.dtype)).sum()
    grads = m.autograd.grad(loss, wanted, create_graph=True, allow_unused=True)
    results["grad"] = grads
    used = [(g, t) for g, t in zip(grads, wanted) if g is not None and g.requires_grad]
    results["order2_needed"] = bool(used)
    if order2 is not None and used:
        total = sum((g * m.tensor(np.resize(order2, tuple(g.shape)), dtype=g.dtype)).sum() for g, _ in used)
        results["grad2"] = m.autograd.grad(total, [t for _, t in used], allow_unused=True)
    return results


def _compare(ours, ref, dtype: str, what: str):
    if ref is None:
        assert ours is None, f"{what}: pygrad gives a gradient where torch gives None"
        return
    assert ours is not None, f"{what}: pygrad gives None where torch gives a gradient"
    assert tuple(ours.shape) == tuple(ref.shape), f"{what}: shape {tuple(ours.shape)} != {tuple(ref.shape)}"
    assert str(ours.dtype).removeprefix("torch.") == str(ref.dtype).removeprefix("torch."), f"{what}: dtype"
    a, b = ours.detach().numpy(), ref.detach().numpy(force=True)  # force: a second-order zero may be a ZeroTensor
    tol = TOLERANCE[dtype] if ref.dtype.is_floating_point else dict(rtol=0, atol=0)
    scale = max(1.0, float(np.nanmax(np.abs(b[np.isfinite(b)]), initial=0.0)))
    np.testing.assert_allclose(a, b, rtol=tol["rtol"], atol=tol["atol"] * scale, equal_nan=True, err_msg=what)


def run_differential(data, dtype: str, max_steps: int):
    torch = pytest.importorskip("torch")
    ref_env = Env(torch, dtype)
    first = Leaf(_grid(data, _shape(data)), True)
    program = [first]
    x = ref_env.leaf(first)
    exact = True
    error = None
    for _ in range(data.draw(st.integers(1, max_steps))):
        names = [n for n in OP_NAMES if exact or n not in TIE_OPS]
        name = data.draw(st.sampled_from(names))
        args = OPS[name][0](data, x)
        y, error = _outcome(lambda: _apply(ref_env, name, x, args))
        program.append((name, args))
        if error is not None:
            break
        x, exact = y, exact and name in EXACT_OPS
    weights = _grid(data, tuple(x.shape)) if error is None else None
    order2 = np.asarray(data.draw(st.lists(st.integers(-4, 4), min_size=64, max_size=64)), np.float64) / 4
    if any(step[0] in SECOND_ORDER_PENDING for step in program[1:]):
        order2 = None
    note = f"dtype={dtype} program={_describe(program)}"
    hypothesis.note(note)

    # pygrad replays the program step by step: the same error at the same step, or none
    env = Env(pygrad, dtype)
    y = env.leaf(first)
    for i, (name, args) in enumerate(program[1:]):
        out, err = _outcome(lambda: _apply(env, name, y, args))
        last = i == len(program) - 2
        if last and error is not None:
            hypothesis.event(f"torch raises {error}")
            assert err == error, f"torch raises {error}, pygrad {'gives a result' if err is None else err}"
            return
        assert err is None, f"pygrad raises {err} at step {i} ({name}) where torch does not"
        y = out
    ref = _outcome(lambda: _finish(ref_env, x, weights, order2))
    ours = _outcome(lambda: _finish(env, y, weights, order2))
    assert ours[1] == ref[1], f"backward: torch {ref[1]}, pygrad {ours[1]}"
    if ref[1] is not None:
        return
    ours, ref = ours[0], ref[0]
    hypothesis.event("compared " + ("value, grad and grad2" if "grad2" in ref else "value and grad" if "grad" in ref
                                    else "value"))
    _compare(ours["value"], ref["value"], dtype, "value")
    assert ours["value"].requires_grad == ref["value"].requires_grad, "requires_grad"
    assert ours.keys() - {"order2_needed"} == ref.keys() - {"order2_needed"}, f"{sorted(ours)} != {sorted(ref)}"
    for key in ("grad", "grad2"):
        for i, (a, b) in enumerate(zip(ours.get(key, ()), ref.get(key, ()))):
            _compare(a, b, dtype, f"{key}[{i}]")
    if order2 is not None:
        assert ours.get("order2_needed") == ref.get("order2_needed"), "whether the gradients require grad"


def _describe(program) -> str:
    first, steps = program[0], program[1:]
    parts = [f"leaf{first.array.shape}"]
    for name, args in steps:
        shown = [f"leaf{a.array.shape}" if isinstance(a, Leaf) else repr(a) for a in args]
        parts.append(f"{name}({', '.join(shown)})")
    return " -> ".join(parts)


# -- the tests -------------------------------------------------------------------------------------------

def _fuzz_settings(examples: int):
    return settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_random_programs_match_torch(dtype, backend):
    pytest.importorskip("torch")

    @_fuzz_settings(CI_EXAMPLES)
    @given(data=st.data())
    def check(data):
        run_differential(data, dtype, max_steps=5)

    check()


@pytest.mark.slow
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_many_random_programs_match_torch(dtype, backend):
    pytest.importorskip("torch")

    @settings(max_examples=SLOW_EXAMPLES, deadline=None, derandomize=False, database=None,
              suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def check(data):
        run_differential(data, dtype, max_steps=8)

    check()
