"""Everyday APIs found missing in a review of common PyTorch code (add/sub alpha, index_select,
scatter, cumprod, addcmul, atan2 ...) for the shared gradient and torch checks."""
from __future__ import annotations

from op_table import OpCase

S, V, M, T = (), (5,), (3, 4), (2, 3, 4)

COMMON_OPS = [
    OpCase("add_alpha", lambda m, a, b: m.add(a, b, alpha=2.5), (M, (4,)), grad_fn="AddBackward0"),
    OpCase("sub_alpha", lambda m, a, b: m.sub(a, b, alpha=-3), (M, M), grad_fn="SubBackward0"),
    OpCase("true_divide", lambda m, a, b: m.true_divide(a, b), (M, M), domain=(0.5, 2.0), grad_fn="DivBackward0"),
    OpCase("div_floor", lambda m, a, b: m.div(a, b, rounding_mode="floor"), (M, M), domain=(0.5, 2.0),
           grad_fn="DivBackward2"),
    OpCase("div_trunc", lambda m, a: a.div(0.7, rounding_mode="trunc"), (M,), grad_fn="DivBackward2"),
]


def _index(m, *values):
    return m.tensor(list(values))


COMMON_OPS += [
    OpCase("index_select", lambda m, a: a.index_select(0, _index(m, 2, 0, 2)), (M,), grad_fn="IndexSelectBackward0"),
    OpCase("index_select_fn_dim1", lambda m, a: m.index_select(a, 1, _index(m, 2, 0)), (T,),
           grad_fn="IndexSelectBackward0"),
    OpCase("select", lambda m, a: a.select(1, -1), (T,), grad_fn="SelectBackward0"),
    OpCase("select_fn", lambda m, a: m.select(a, 0, 2), (M,), grad_fn="SelectBackward0"),
    OpCase("masked_select", lambda m, a: a.masked_select(a > 0), (M,), grad_fn="MaskedSelectBackward0"),
    OpCase("masked_select_broadcast", lambda m, a: m.masked_select(a, m.tensor([[True], [False], [True]])), ((4,),),
           grad_fn="MaskedSelectBackward0"),
    OpCase("scatter_src", lambda m, a, s: a.scatter(0, m.tensor([[2, 0, 1, 0], [1, 2, 0, 1]]), s), (M, (2, 4)),
           grad_fn="ScatterBackward0"),
    OpCase("scatter_value", lambda m, a: m.scatter(a, 1, m.tensor([[0], [3], [1]]), 0.5), (M,),
           grad_fn="ScatterBackward1"),
    OpCase("scatter_inplace", lambda m, a, s: (a * 1).scatter_(1, m.tensor([[3, 0], [1, 2], [0, 2]]), s), (M, (3, 2)),
           grad_fn="ScatterBackward0"),
    OpCase("scatter_add", lambda m, a, s: a.scatter_add(0, m.tensor([[2, 0, 2, 0], [2, 2, 0, 1]]), s),
           (M, (2, 4)), grad_fn="ScatterAddBackward0"),
    OpCase("scatter_add_inplace", lambda m, a, s: (a * 2).scatter_add_(1, m.tensor([[1, 1], [0, 3], [2, 2]]), s),
           (M, (3, 2)), grad_fn="ScatterAddBackward0"),
    OpCase("index_add", lambda m, a, s: (a + 0).index_add_(0, _index(m, 2, 0, 2), s, alpha=1.5), (M, (3, 4)),
           grad_fn="IndexAddBackward0"),
    OpCase("index_add_dim1", lambda m, a, s: a.index_add(1, _index(m, 3, 3), s), (M, (3, 2)),
           grad_fn="IndexAddBackward0"),
]

COMMON_OPS += [
    OpCase("hstack", lambda m, a, b: m.hstack([a, b]), (M, (3, 2)), grad_fn="CatBackward0"),
    OpCase("vstack_1d", lambda m, a, b: m.vstack([a, b]), ((4,), M), grad_fn="CatBackward0"),
    OpCase("tile", lambda m, a: a.tile((2, 1, 2)), (M,), grad_fn="RepeatBackward0"),
]
