"""Everyday PyTorch APIs (functional comparisons, add/sub alpha, div rounding, tensor factories,
in-place initialisers, scatter/index ops, finfo/iinfo ...) against PyTorch: values, dtypes,
printed text and error texts."""
import pytest

import pygrad
from test_extras import check

F = [1.5, -2.5, 3.0, -0.5]
G = [2.0, 2.0, -2.0, 0.25]
I = [7, -7, 5, 0]
J = [2, 2, -3, 1]

FUNCTIONAL = [
    "m.eq(f, g)", "m.ne(f, 3.0)", "m.lt(f, g)", "m.le(i, 5)", "m.gt(f, i)", "m.ge(i, j)",
    "m.greater(f, g)", "m.less(f, 0)", "m.greater_equal(f, g)", "m.less_equal(i, j)", "m.not_equal(i, 7)",
    "m.eq(f, 'x')", "m.eq(1, f)", "m.lt(f, [1, 2])",
    "m.add(f, g, alpha=2)", "m.sub(f, g, alpha=-0.5)", "m.add(i, j, alpha=3)", "m.add(i, 2, alpha=2)",
    "m.add(i, j, alpha=0.5)", "m.add(2, f)", "f.add(g, alpha=2)", "i.sub(j, alpha=2)", "m.add(f, 1, alpha=2)",
    "m.true_divide(i, 2)", "m.true_divide(f, g)", "i.true_divide(j)",
    "m.div(f, g, rounding_mode='floor')", "m.div(f, g, rounding_mode='trunc')", "m.div(f, 2, rounding_mode='floor')",
    "m.div(i, j, rounding_mode='trunc')", "m.div(i, j, rounding_mode='floor')", "i.div(2, rounding_mode='trunc')",
    "m.div(i, -2, rounding_mode='floor')", "m.div(i, 0, rounding_mode='trunc')", "m.div(f, g, rounding_mode='x')",
    "m.div(i, j, rounding_mode=None)", "m.div(m.tensor([True]), m.tensor([True]), rounding_mode='floor')",
    "f.clone().div_(g, rounding_mode='floor')", "i.clone().div_(2, rounding_mode='trunc')",
]


@pytest.mark.parametrize("expr", FUNCTIONAL)
def test_functional_arithmetic_matches_torch(expr, torch):
    check(torch, expr, f=F, g=G, i=I, j=J)


def test_rounded_division_has_zero_gradient(torch):
    for m in (pygrad, torch):
        a = m.tensor(F, requires_grad=True)
        y = m.div(a, m.tensor(G), rounding_mode="floor")
        assert type(y.grad_fn).__name__ == "DivBackward2"
        y.sum().backward()
        assert a.grad.tolist() == [0.0] * 4
