"""The non-differentiable extras (predicates, logic, sorting indices, creation) and the errors of
every extra, against PyTorch: same values, dtypes, printed text and error texts."""
import numpy as np
import pytest

import pygrad

NAN, INF = float("nan"), float("inf")


def _both(torch, expr: str, **env):
    """Evaluate ``expr`` with ``m`` bound to pygrad and to torch; tensors in ``env`` are built on each."""
    results = []
    for m in (pygrad, torch):
        names = {k: (m.tensor(v) if isinstance(v, list) else v) for k, v in env.items()}
        try:
            results.append(("ok", eval(expr, {"m": m, "NAN": NAN, "INF": INF}, names)))
        except Exception as exc:  # noqa: BLE001 - the error itself is compared
            results.append(("error", (type(exc).__name__, str(exc))))
    return results


def _same(ours, theirs):
    if isinstance(theirs, tuple):
        assert isinstance(ours, tuple) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            _same(a, b)
        return
    if hasattr(theirs, "dtype"):
        assert repr(ours) == repr(theirs)
        assert ours.dtype.name == str(theirs.dtype).removeprefix("torch.")
        assert tuple(ours.shape) == tuple(theirs.shape)
    elif type(theirs).__module__.startswith("torch"):  # dtypes, sizes
        assert repr(ours) == repr(theirs)
    else:
        assert type(ours) is type(theirs) and ours == theirs


def check(torch, expr: str, **env):
    (kind, ours), (kind_t, theirs) = _both(torch, expr, **env)
    assert kind == kind_t, f"{expr}: pygrad {kind} {ours}, torch {kind_t} {theirs}"
    if kind == "error":
        assert ours == theirs, expr
    else:
        _same(ours, theirs)


I = [[1, 0], [2, 3]]
F = [1.0, NAN, INF, -INF, 0.0, -2.5]
U8 = "m.tensor([1, 0], dtype=m.uint8)"

PREDICATES = [
    "i.all()", "i.any(1)", "i.all(dim=0, keepdim=True)", "m.all(i, 1)", "i.all((0, 1))", "i.any(dim=(0,))",
    "m.any(i)", "f.all()", "f.any()", U8 + ".all()", U8 + ".any(0)", "m.tensor([]).all()", "m.tensor([]).any()",
    "i.all(2)", "m.tensor(True).all(0)", "i.all(keepdim=True)",
    "f.isnan()", "m.isinf(f)", "f.isfinite()", "m.isposinf(f)", "f.isneginf()", "i.isnan()", "m.isfinite(i)",
    "m.isnan(3.0)",
    "m.isclose(f, f)", "m.isclose(f, f, equal_nan=True)", "m.isclose(i, i)", "m.isclose(i, i.float())",
    "m.isclose(f, f, rtol=-1)", "m.isclose(f, f, atol=-1)",
    "m.isclose(m.tensor([1., 2.]), m.tensor([1.00001, 2.1]))",
    "m.isclose(m.tensor([1., 2.]), m.tensor([[1.000001, 2.1]]))",
    "m.isclose(m.tensor([1., 2.]), m.tensor([1.1, 2.]), rtol=0.1)", "m.isclose(m.tensor([1., 2.]), m.tensor([1., 2., 3.]))",
    "m.allclose(f, f)", "m.allclose(f, f, equal_nan=True)", "f.allclose(f + 1e-7, equal_nan=True)",
    "m.allclose(i, i.float())",
    "m.equal(i, i)", "m.equal(i, i.float())", "m.equal(i, i[0])", "m.equal(f, f)", "i.equal(i + 0)",
    "i.equal(i + 1)",
    "m.logical_not(i)", "f.logical_not()", "i.logical_and(i)", "m.logical_or(i, m.tensor([0., NAN]))",
    "m.logical_xor(i, m.tensor([True, False]))", "m.logical_xor(i, 0)", "m.logical_and(i, 1.5)",
    "m.logical_and(i, m.tensor([1, 0, 1]))",
    "i.nonzero()", "m.nonzero(i, as_tuple=True)", "m.tensor(5).nonzero()", "m.tensor(0).nonzero()",
    "m.tensor(5).nonzero(as_tuple=True)", "m.tensor(0).nonzero(as_tuple=True)", "f.nonzero()",
    "m.where(i > 0)", "m.zeros(2, 0).nonzero()",
    "m.count_nonzero(i)", "i.count_nonzero(0)", "i.count_nonzero((0, 1))", "i.count_nonzero(dim=-1)",
    "f.count_nonzero()", "i.count_nonzero(2)",
    "m.is_floating_point(i)", "m.is_floating_point(f)", "m.is_nonzero(m.tensor([1.]))",
    "m.is_nonzero(m.tensor([1., 2.]))", "m.is_nonzero(m.tensor([]))", "m.is_nonzero(i[0, 1])",
    "bool(m.tensor([]))", "~m.tensor([1.])", "~m.tensor([True, False])",
]


@pytest.mark.parametrize("expr", PREDICATES)
def test_predicates_match_torch(expr, torch):
    check(torch, expr, i=I, f=F)


def test_predicates_are_outside_the_graph():
    x = pygrad.tensor([1.0, NAN, 0.0], requires_grad=True)
    for out in (x.isnan(), x.all(), x.any(0), x.logical_not(), x.nonzero(), x.count_nonzero(),
                pygrad.isclose(x, x)):
        assert out.grad_fn is None and not out.requires_grad


X = [[3.0, 1.0, 2.0, 1.0], [NAN, 0.0, 5.0, -1.0]]
TIES = [2.0, 1.0, 2.0, 1.0, 2.0]

SORTING = [
    "x.sort()", "x.sort(descending=True)", "m.sort(x, 0)", "x.argsort(descending=True)", "m.argsort(x, dim=0)",
    "m.sort(x, dim=1, stable=True, descending=True)", "x.topk(2)", "x.topk(2, largest=False)", "m.topk(x, 2, dim=0)",
    "x.kthvalue(2)", "m.kthvalue(x, 1, 0, True)", "x.topk(5)", "x.kthvalue(5)", "x.kthvalue(0)", "x.topk(-1)",
    "x.topk(0)", "m.tensor(3.).sort()", "m.tensor(3.).topk(1)", "m.tensor(3.).kthvalue(1)", "m.tensor(3.).argsort()",
    "m.tensor([1, 3, 2]).sort()", "m.tensor([True, False]).sort()", "x.sort(2)",
    "t.sort()", "t.sort(descending=True)", "t.argsort()", "t.sort(descending=True).indices",
    "t.requires_grad_().sort()", "t.requires_grad_().topk(2, largest=False)",
    "t.requires_grad_().kthvalue(2, keepdim=True)",
]


@pytest.mark.parametrize("expr", SORTING)
def test_sorting_matches_torch(expr, torch):
    check(torch, expr, x=X, t=TIES)


M = [[0.0, 1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 7.0], [8.0, 9.0, 10.0, 11.0]]

SHAPES = [
    "m.arange(3.).tril()", "x.tril(-1)", "m.arange(24).reshape(2, 3, 4).triu(1)", "m.tril(x, diagonal=1)",
    "m.arange(3.).diag(1)", "x.diag(-1)", "x.diag(5)", "m.arange(24.).reshape(2, 3, 4).diag()", "m.tensor(1.).diag()",
    "x.diagonal(1)", "m.arange(24.).reshape(2, 3, 4).diagonal(0, 0, 2)", "x.diagonal(0, 0, 0)", "x.diagonal(7)",
    "x.diagonal(-2)", "x.diagonal(0, 1, 0)", "x.diagonal(dim1=-1, dim2=-2)", "x.diagonal(0, 0, 3)",
    "x.trace()", "m.arange(3.).trace()", "m.arange(12).reshape(3, 4).trace()", "m.trace(x.int())",
    "x.roll(1)", "x.roll(-1, 1)", "x.roll((1, 1), (0, 1))", "x.roll((1,), (0, 1))", "m.roll(x, 1, 5)",
    "m.roll(x, (5, -7), (-1, 0))",
    "x.tensor_split(3)", "x.tensor_split([1, 5], dim=1)", "x.tensor_split(m.tensor(2))", "x.tensor_split(0)",
    "m.tensor(1.).tensor_split(2)", "x.tensor_split((1,))", "m.tensor_split(x, 5, 1)", "x.tensor_split([2, 1])",
    "x.tensor_split(m.tensor([1, 2]), 1)",
]


@pytest.mark.parametrize("expr", SHAPES)
def test_shape_extras_match_torch(expr, torch):
    check(torch, expr, x=M)


def test_diagonal_is_a_writable_view(torch):
    for m in (pygrad, torch):
        x = m.zeros(3, 4)
        x.diagonal(1).fill_(2.0)
        x.diagonal(-1)[0] = 5.0
        if m is pygrad:
            ours = x
    assert repr(ours) == repr(x)


F2 = [0.25, -1.5, 2.0]

POINTWISE = [
    "m.exp2(i)", "m.log2(i)", "i.log10()", "m.sinh(b)", "m.acos(f)", "m.asin(m.tensor([2.0]))",
    "m.acosh(m.tensor([0.5, 1.0]))", "m.atanh(m.tensor([1.0, -1.0, 2.0]))", "m.erfinv(m.tensor([1.0, -1.0, 0.0, 1.5]))",
    "m.nan_to_num(m.tensor([NAN, INF, -INF, 1.0]))", "m.tensor([NAN, INF, -INF]).nan_to_num(1.0, 2.0, -2.0)",
    "m.tensor([NAN, INF], dtype=m.float64).nan_to_num()", "i.nan_to_num()", "m.nan_to_num(m.tensor([INF], dtype=m.float16))",
    "m.hypot(i, i)", "m.hypot(f, i)", "m.hypot(f, 2.0)", "m.logaddexp(i, i)", "m.logaddexp(f, i)",
    "m.logaddexp(m.tensor([1000.0, -1000.0]), m.tensor([1000.0, -1000.0]))",
    "m.xlogy(i, i)", "m.xlogy(f, 2)", "m.xlogy(2, f)", "m.xlogy(i, 2)", "m.xlogy(m.tensor([0.0, 0.0]), m.tensor([0.0, NAN]))",
    "m.fmod(i, 0)", "m.fmod(i, 2)", "m.fmod(i, 2.5)", "m.fmod(-f, 1.5)", "m.fmod(i, m.tensor([0, 1, 2]))",
    "m.fmod(m.tensor([5, -5]), m.tensor(3.0))", "f.fmod(-1.0)",
    "m.lerp(f, f + 1, 0.5)", "m.lerp(i, i, 0.5)", "m.lerp(f, i, 0.5)", "m.lerp(f, f.double(), 0.5)",
    "m.lerp(f, f + 1, m.tensor(0.5, dtype=m.float64))", "m.lerp(f, f, m.tensor([0.5, 0.5, 0.5], dtype=m.float64))",
    "f.lerp(f * 2, m.tensor([0.0, 1.0, 0.5]))",
    "f.clamp_min(0.5)", "i.clamp_min(1.5)", "i.clamp_max(1)", "f.clamp_min(m.tensor([2.0, 0.0, 0.0]))",
    "i.clamp_min(m.tensor([2.0, 0.0, 0.0]))", "m.clamp_max(f, m.tensor(0.0))",
    "f.masked_fill(f > 1, 5)", "i.masked_fill(i > 1, 5.5)", "f.masked_fill(i, 5)", "f.masked_fill(f > 1, m.tensor([1.0, 2.0]))",
    "f.masked_fill(m.tensor([[True], [False]]), 0.0)", "f.masked_fill(f > 1, m.tensor(3, dtype=m.float64))",
    "f.clone().masked_fill_(m.tensor([[True], [False]]), 0.0)", "f.clone().masked_fill_(f < 0, -0.0)",
    "m.tensor([True, False]).masked_fill(m.tensor([True, False]), 0.5)", "m.masked_fill(f, f > 1, 2)",
    "f.masked_fill(f > 1, m.tensor(3))", "f.masked_fill(m.tensor([True, False]), 1.0)",
    "f.masked_fill(f > 1, 'a')",
]


@pytest.mark.parametrize("expr", POINTWISE)
def test_pointwise_extras_match_torch(expr, torch):
    check(torch, expr, i=[1, 2, 3], f=F2, b=[True, False])


PRODUCTS = [
    "m.addmm(m.ones(3), a, b)", "m.addmm(m.ones(4), a, b)", "m.addmm(m.ones(2, 4), a, b.T)",
    "m.addmm(m.ones(2, 4).double(), a, b)", "m.addmm(m.ones(2, 4), a[0], b)", "a.addmm(a, b)",
    "m.addmm(m.full((2, 4), NAN), a, b, beta=0)",
    "m.baddbmm(m.ones(4), a[None], b[None], alpha=2)", "m.baddbmm(m.ones(4), a, b[None])",
    "m.baddbmm(m.ones(4), a[None], m.ones(2, 3, 4))",
    "m.cross(c, c * 2 + 1, dim=1)", "m.cross(c.T, c.T)", "m.cross(c, c, dim=0)", "m.cross(c, c.double(), dim=1)",
    "m.cross(c.T, c.T, dim=1)",
    "m.einsum('ij,jk->ik', a, b)", "m.einsum('ij,jk', [a, b])", "m.einsum('ij,jk->ik', a, b.double())",
    "m.einsum('ij,jk->ik', a)", "m.einsum('ij,jk->ik', a, b, b)", "m.einsum('ij,kk->ik', a, b)",
    "m.einsum('ij->k', a)", "m.einsum('ijk->', a)", "m.einsum('ij,jk->ik', a.long(), b.long())",
    "m.einsum('ii->i', m.arange(9.).reshape(3, 3))", "m.einsum('i j , j k -> i k', a, b)",
    "m.einsum('...j,jk->...k', a, b)", "m.einsum('ij->ii', a)", "m.einsum('i,j', a[0], b[0])",
    "m.einsum('ba', a)", "m.einsum('ij,j1->i', a, b)",
]


@pytest.mark.parametrize("expr", PRODUCTS)
def test_products_match_torch(expr, torch):
    check(torch, expr, a=[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], b=[[1.0, 0.5, 0.0, -1.0]] * 3,
          c=[[1.0, 2.0, 3.0], [0.5, -1.0, 2.0]])


EINSUMS = [
    ("ij,jk->ik", [(2, 3), (3, 4)]), ("ij,jk", [(2, 3), (3, 4)]), ("ii", [(3, 3)]), ("ii->i", [(3, 3)]),
    ("ij->", [(2, 3)]), ("ij->ji", [(2, 3)]), ("bij,bjk->bik", [(2, 2, 3), (2, 3, 4)]),
    ("...j,jk->...k", [(2, 2, 3), (3, 4)]), ("i,i->", [(4,), (4,)]), ("i,j->ij", [(3,), (4,)]),
    ("ij,ij->i", [(2, 3), (2, 3)]), ("iij->j", [(3, 3, 2)]), ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
    ("bij,bij->b", [(2, 3, 4), (1, 3, 4)]), ("i j, j -> i", [(2, 3), (3,)]), ("ij,kl->", [(2, 3), (4, 5)]),
]


@pytest.mark.parametrize("equation,shapes", EINSUMS, ids=[e for e, _ in EINSUMS])
def test_einsum_gradients(equation, shapes, rng, torch):
    """einsum is one op here (EinsumBackward0): values and gradients are PyTorch's, to any order."""
    from pygrad.autograd import gradcheck, gradgradcheck
    arrays = [rng.standard_normal(s) for s in shapes]
    ours = [pygrad.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, ref = pygrad.einsum(equation, *ours), torch.einsum(equation, *theirs)
    assert out.shape == tuple(ref.shape) and type(out.grad_fn).__name__ == "EinsumBackward0"
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-12, atol=1e-12)
    seed = rng.standard_normal(tuple(ref.shape))
    out.backward(pygrad.tensor(seed))
    ref.backward(torch.tensor(seed))
    for x, t in zip(ours, theirs):
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-12, atol=1e-12)
    xs = [pygrad.tensor(a, requires_grad=True) for a in arrays]
    assert gradcheck(lambda *t: pygrad.einsum(equation, *t), xs)
    assert gradgradcheck(lambda *t: pygrad.einsum(equation, *t), xs)
    xs32 = [pygrad.tensor(a.astype(np.float32), requires_grad=True) for a in arrays]
    pygrad.einsum(equation, *xs32).backward(pygrad.tensor(seed.astype(np.float32)))
    for x32, x in zip(xs32, ours):
        assert x32.grad.dtype is pygrad.float32
        np.testing.assert_allclose(x32.grad.numpy(), x.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_inplace_extras_record_their_nodes(torch):
    for m in (pygrad, torch):
        x = m.tensor([1.0, -2.0, 3.0], requires_grad=True)
        y = x * 1
        y.masked_fill_(y < 0, 0.0).clamp_min_(1.5).clamp_max_(2.5)
        z = y * 2
        z.sum().backward()
        if m is pygrad:
            ours = (repr(y), repr(x.grad))
    assert ours == (repr(y), repr(x.grad))
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad"):
        pygrad.tensor([1.0], requires_grad=True).masked_fill_(pygrad.tensor([True]), 0.0)


CREATION = [
    "m.tensor([m.tensor(1.), m.tensor(2.)])", "m.tensor([m.tensor(1), m.tensor(2)])",
    "m.cat((m.ones(2), m.zeros(1)))", "m.empty(2, 3).shape", "m.empty((0, 2)).shape",
    "m.meshgrid(a, b, indexing='ij')", "m.meshgrid([a, b], indexing='xy')", "m.meshgrid(a, indexing='ij')",
    "m.meshgrid(a, b, indexing='yx')", "m.randperm(5).sort().values", "m.randperm(3, dtype=m.float32).dtype",
    "m.normal(0.0, 1.0, size=(2, 3)).shape", "m.normal(m.zeros(2, dtype=m.float64), 1.0).dtype",
    "m.normal(m.zeros(2), m.ones(3, 1)).shape", "m.multinomial(m.tensor([0.0, 1.0, 0.0]), 3, replacement=True)",
    "m.multinomial(m.tensor([[0.0, 2.0], [3.0, 0.0]]), 1)", "m.multinomial(m.tensor([1.0, 1.0]), 3)",
    "m.multinomial(m.tensor([1.0, -1.0]), 1)", "m.multinomial(m.tensor([[[1.0]]]), 1)",
    "m.multinomial(m.tensor([3.0, 1.0, 0.0]), 2).sort().values",
]


@pytest.mark.parametrize("expr", CREATION)
def test_creation_extras_match_torch(expr, torch):
    check(torch, expr, a=[1.0, 2.0], b=[3.0, 4.0, 5.0])


def test_meshgrid_warns_without_indexing_and_passes_gradients(torch):
    a = pygrad.tensor([1.0, 2.0], requires_grad=True)
    with pytest.warns(UserWarning, match="it will be required to pass the indexing argument"):
        x, y = pygrad.meshgrid(a, pygrad.tensor([3.0, 4.0, 5.0]))
    (x * y).sum().backward()
    assert a.grad.tolist() == [12.0, 12.0]
    assert type(x.grad_fn).__name__ == "ExpandBackward0"


def test_random_extras_follow_the_seed():
    pygrad.manual_seed(7)
    first = (pygrad.randperm(10), pygrad.normal(0.0, 1.0, size=(3,)), pygrad.multinomial(pygrad.ones(5), 5))
    pygrad.manual_seed(7)
    again = (pygrad.randperm(10), pygrad.normal(0.0, 1.0, size=(3,)), pygrad.multinomial(pygrad.ones(5), 5))
    for a, b in zip(first, again):
        assert pygrad.equal(a, b)
    assert sorted(first[0].tolist()) == list(range(10)) and sorted(first[2].tolist()) == list(range(5))
    samples = pygrad.normal(pygrad.full((20000,), 3.0), 2.0)
    assert abs(samples.mean().item() - 3.0) < 0.06 and abs(samples.std().item() - 2.0) < 0.06
    counts = np.bincount(pygrad.multinomial(pygrad.tensor([1.0, 3.0]), 20000, replacement=True).numpy())
    assert abs(counts[1] / 20000 - 0.75) < 0.02


def test_median_ties_and_unique_match_torch(torch):
    data = [[3.0, 1.0, 2.0, 2.0], [5.0, 4.0, 4.0, 0.0]]
    x, tx = pygrad.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    x.median().backward()
    tx.median().backward()
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())  # shared by the tied elements
    r, tr = pygrad.median(x, 1), torch.median(tx, 1)
    np.testing.assert_array_equal(r.indices.numpy(), tr.indices.numpy())
    assert repr(r) == repr(tr)
    assert pygrad.tensor([4, 1, 3, 2]).median().item() == 2  # the lower median
    ints = [3, 1, 2, 3, 1, 7]
    ours = pygrad.unique(pygrad.tensor(ints), return_inverse=True, return_counts=True)
    ref = torch.unique(torch.tensor(ints), return_inverse=True, return_counts=True)
    for a, b in zip(ours, ref):
        assert a.dtype.name == str(b.dtype).removeprefix("torch.")
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    u, tu = pygrad.tensor([[2.0, 1.0], [2.0, 0.5]]).unique(), torch.tensor([[2.0, 1.0], [2.0, 0.5]]).unique()
    assert repr(u) == repr(tu)


@pytest.mark.parametrize("args,kwargs", [((0, 3, 7), {}), ((-2.5, 1.5, 9), dict(base=2.0)),
                                         ((1, 0, 5), dict(dtype="float64")), ((0, 4, 5), dict(dtype="int64")),
                                         ((2, 2, 1), {}), ((0, 1, 0), {})])
def test_logspace_matches_torch(args, kwargs, torch):
    ours = pygrad.logspace(*args, **{k: getattr(pygrad, v) if k == "dtype" else v for k, v in kwargs.items()})
    ref = torch.logspace(*args, **{k: getattr(torch, v) if k == "dtype" else v for k, v in kwargs.items()})
    assert ours.dtype.name == str(ref.dtype).removeprefix("torch.") and ours.shape == tuple(ref.shape)
    np.testing.assert_allclose(ours.numpy(), ref.numpy(), rtol=1e-6 if ours.dtype is pygrad.float32 else 1e-14)
