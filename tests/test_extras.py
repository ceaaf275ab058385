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
