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


FACTORIES = [
    "i.new_tensor([1.5, 2])", "f.new_tensor([1, 2])", "f.double().new_tensor(3)", "i.new_tensor([1], dtype=m.float64)",
    "i.new_zeros(2, 3)", "f.new_zeros((2,))", "f.new_zeros(m.Size([2]))", "f.new_zeros(())",
    "i.new_ones([2, 1])", "f.new_ones(2, dtype=m.int64)", "i.new_full((2,), 3.5)", "f.new_full([1, 2], 7)",
    "f.new_full(3, 2)", "i.new_zeros(2, dtype=m.float64, requires_grad=True)", "i.new_ones(2, requires_grad=True)",
    "f.new_empty(2, 3).shape", "i.new_empty((0,)).dtype", "f.new_empty(2, requires_grad=True).requires_grad",
    "(f * 1).sqrt_()", "(f * 1).abs().log_()", "m.arange(3).uniform_(0, 5)", "m.arange(3).normal_()",
    "f.uniform_(2, 1)", "f.normal_(0, -1)", "f.clone().requires_grad_().sqrt_()",
    "f.clone().requires_grad_().uniform_()",
]


@pytest.mark.parametrize("expr", FACTORIES)
def test_new_tensors_and_inplace_initialisers_match_torch(expr, torch):
    check(torch, expr, f=F, g=G, i=I, j=J)


def test_new_tensor_from_a_tensor_warns_like_torch():
    with pytest.warns(UserWarning, match="rather than tensor.new_tensor"):
        out = pygrad.ones(2).new_tensor(pygrad.tensor([1, 2]))
    assert out.dtype is pygrad.float32 and out.tolist() == [1.0, 2.0]


@pytest.mark.parametrize("method,name", [("uniform_", "UniformBackward0"), ("normal_", "NormalBackward0")])
def test_random_fills_cut_the_gradient_and_use_the_seeded_generator(method, name, torch):
    pygrad.manual_seed(3)
    x = pygrad.ones(1000, requires_grad=True)
    y = x * 2
    out = getattr(y, method)(-1.0, 3.0)
    assert out is y and type(y.grad_fn).__name__ == name
    values = y.detach().numpy().copy()
    y.sum().backward()
    assert x.grad.tolist() == [0.0] * 1000
    if method == "uniform_":
        assert values.min() >= -1.0 and values.max() < 3.0 and abs(values.mean() - 1.0) < 0.15
    else:
        assert abs(values.mean() + 1.0) < 0.3 and abs(values.std() - 3.0) < 0.3
    pygrad.manual_seed(3)
    again = getattr(pygrad.ones(1000), method)(-1.0, 3.0)
    assert again.numpy().tolist() == values.tolist()


X = [[0.5, -1.0, 2.0, 3.0], [1.0, 2.0, 3.0, 4.0], [-1.0, -2.0, -3.0, -4.0]]
K = [[0, 1, 2, 0]]

INDEXING = [
    "x.index_select(0, m.tensor([0, 2, 0]))", "m.index_select(x, 1, m.tensor(1))", "x.index_select(0, m.tensor([5]))",
    "x.index_select(0, m.tensor([0.]))", "x.index_select(0, m.tensor([[0]]))", "x.index_select(-1, m.tensor([], dtype=m.int64))",
    "x.select(1, 2)", "m.select(x, 0, -1)", "x.select(0, 5)", "x.select(2, 0)", "m.tensor(1.).select(0, 0)",
    "m.masked_select(x, x > 0)", "x.masked_select(m.tensor([True, False, False, True]))",
    "m.masked_select(x[:, :1], m.ones(2, 3, 4, dtype=m.bool)).shape", "m.masked_select(x, m.ones(3, 4))",
    "m.masked_select(x, m.ones(2, dtype=m.bool))",
    "x.scatter(0, k, x[:1] * 10)", "x.scatter(0, k, 1.5)", "m.scatter(x, 1, m.tensor([[1], [0], [3]]), value=9.)",
    "x.scatter_add(0, k, x)", "m.scatter_add(x, 1, m.tensor([[1, 1], [0, 0], [3, 3]]), x)",
    "x.clone().scatter_(0, k, 2.)", "x.clone().scatter_add_(0, k, x)", "x.scatter(0, m.tensor([[5]]), 1.0)",
    "x.scatter(0, k.float(), 1.0)", "x.scatter(0, k, x.double())", "x.scatter(0, m.tensor([0, 1]), 1.0)",
    "m.arange(6).reshape(2, 3).scatter_add(1, m.tensor([[2, 2, 2]]), m.ones(1, 3, dtype=m.int64))",
    "m.zeros(3, 4).index_add_(0, m.tensor([0, 2, 0]), m.ones(3, 4), alpha=2)",
    "m.index_add(m.zeros(3), 0, m.tensor([0, 2, 0]), m.tensor([1., 2, 3]))", "x.index_add(1, m.tensor([0]), x[:, :1])",
    "m.zeros(3).index_add_(0, m.tensor([0]), m.ones(2))", "m.zeros(3).index_add_(0, m.tensor([0]), m.ones(1).double())",
]


@pytest.mark.parametrize("expr", INDEXING)
def test_index_ops_match_torch(expr, torch):
    check(torch, expr, x=X, k=K)


def test_scatter_into_a_leaf_that_requires_grad_is_refused():
    x = pygrad.tensor(X, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x.scatter_(0, pygrad.tensor(K), 1.0)


STACKING_AND_LIMITS = [
    "m.hstack([f, g])", "m.hstack([x, x[:, :1]])", "m.hstack([m.tensor(1.), m.tensor(2.)])", "m.vstack([f, g])",
    "m.vstack([x, f])", "m.vstack([m.tensor(1.), m.tensor(2.)])", "m.hstack([f, x])",
    "x.tile(2)", "x.tile((2, 1, 2))", "m.tile(f, (2, 2))", "f.tile(2, 1)",
    "repr(m.finfo(m.float32))", "m.finfo(m.float32).dtype", "m.finfo(m.float64).eps", "m.finfo().max", "m.finfo(m.float16).tiny", "m.finfo(m.float32).bits",
    "m.finfo(m.float64).min", "m.finfo(m.int64)", "m.iinfo(m.int64).max", "m.iinfo(m.uint8).min", "m.iinfo(m.int32).bits",
    "repr(m.iinfo(m.int16))", "m.iinfo(m.float32)",
]


@pytest.mark.parametrize("expr", STACKING_AND_LIMITS)
def test_stacking_and_dtype_limits_match_torch(expr, torch):
    check(torch, expr, x=X, f=F, g=G)
