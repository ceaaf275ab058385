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
