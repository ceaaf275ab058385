"""One table of differentiable ops, shared by the gradient checks and the torch comparisons.

Each case is written once against a module ``m`` that is either ``pygrad`` or ``torch``, so
the same lambda runs on both libraries.  ``domain`` keeps inputs where the op is smooth.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class OpCase:
    name: str
    fn: object                      # fn(m, *tensors) -> tensor
    shapes: tuple                   # one shape per tensor input
    domain: tuple = (-2.0, 2.0)     # inputs drawn uniformly from here
    grad_fn: str | None = None      # PyTorch's grad_fn name of the result
    away_from: tuple = field(default=())  # values inputs keep a distance of 0.1 from (kinks)
    twice_differentiable: bool = True

    def inputs(self, rng, dtype=np.float64):
        arrays = []
        for shape in self.shapes:
            a = rng.uniform(*self.domain, size=shape)
            for k in self.away_from:
                near = np.abs(a - k) < 0.1
                a[near] = k + 0.1 * np.sign(a[near] - k + 1e-12) + 0.05
            arrays.append(a.astype(dtype))
        return arrays


S, V, M = (), (4,), (3, 4)

CORE_OPS = [
    OpCase("add", lambda m, a, b: a + b, (M, M), grad_fn="AddBackward0"),
    OpCase("add_broadcast", lambda m, a, b: a + b, ((3, 1), (1, 4)), grad_fn="AddBackward0"),
    OpCase("add_scalar", lambda m, a: a + 2.5, (V,), grad_fn="AddBackward0"),
    OpCase("radd_scalar", lambda m, a: 3 + a, (V,), grad_fn="AddBackward0"),
    OpCase("sub", lambda m, a, b: a - b, (M, V), grad_fn="SubBackward0"),
    OpCase("sub_scalar", lambda m, a: a - 1, (V,), grad_fn="SubBackward0"),
    OpCase("rsub_scalar", lambda m, a: 5 - a, (M,), grad_fn="RsubBackward1"),
    OpCase("mul", lambda m, a, b: a * b, (M, M), grad_fn="MulBackward0"),
    OpCase("mul_broadcast", lambda m, a, b: a * b, ((3, 1), (1, 4)), grad_fn="MulBackward0"),
    OpCase("mul_0d", lambda m, a, b: a * b, (S, M), grad_fn="MulBackward0"),
    OpCase("mul_scalar", lambda m, a: a * 1.5, (V,), grad_fn="MulBackward0"),
    OpCase("rmul_scalar", lambda m, a: 3 * a, (S,), grad_fn="MulBackward0"),
    OpCase("div", lambda m, a, b: a / b, (M, V), domain=(0.5, 2.0), grad_fn="DivBackward0"),
    OpCase("div_scalar", lambda m, a: a / 4, (V,), grad_fn="DivBackward0"),
    OpCase("rdiv_scalar", lambda m, a: 1 / a, (V,), domain=(0.5, 2.0), grad_fn="MulBackward0"),
    OpCase("pow_scalar", lambda m, a: a ** 3, (M,), grad_fn="PowBackward0"),
    OpCase("pow_half", lambda m, a: a ** 0.5, (V,), domain=(0.5, 2.0), grad_fn="PowBackward0"),
    OpCase("pow_zero", lambda m, a: a ** 0, (V,), grad_fn="PowBackward0"),
    OpCase("pow_tensor", lambda m, a, b: a ** b, (V, V), domain=(0.5, 2.0), grad_fn="PowBackward1"),
    OpCase("rpow_scalar", lambda m, a: 2 ** a, (V,), grad_fn="PowBackward2"),
    OpCase("neg", lambda m, a: -a, (M,), grad_fn="NegBackward0"),
    OpCase("exp", lambda m, a: m.exp(a), (M,), grad_fn="ExpBackward0"),
    OpCase("log", lambda m, a: m.log(a), (M,), domain=(0.5, 3.0), grad_fn="LogBackward0"),
    OpCase("sqrt", lambda m, a: a.sqrt(), (V,), domain=(0.5, 3.0), grad_fn="SqrtBackward0"),
    OpCase("sin", lambda m, a: m.sin(a), (M,), grad_fn="SinBackward0"),
    OpCase("cos", lambda m, a: a.cos(), (M,), grad_fn="CosBackward0"),
    OpCase("tanh", lambda m, a: m.tanh(a), (M,), grad_fn="TanhBackward0"),
    OpCase("sigmoid", lambda m, a: m.sigmoid(a), (M,), grad_fn="SigmoidBackward0"),
    OpCase("relu", lambda m, a: m.relu(a), (M,), grad_fn="ReluBackward0", away_from=(0.0,),
           twice_differentiable=False),
    OpCase("abs", lambda m, a: abs(a), (M,), grad_fn="AbsBackward0", away_from=(0.0,),
           twice_differentiable=False),
    OpCase("reciprocal", lambda m, a: a.reciprocal(), (V,), domain=(0.5, 2.0), grad_fn="ReciprocalBackward0"),
    OpCase("sum", lambda m, a: a.sum(), (M,), grad_fn="SumBackward0"),
    OpCase("sum_fn", lambda m, a: m.sum(a ** 2), (V,), grad_fn="SumBackward0"),
    OpCase("sum_dim", lambda m, a: a.sum(1), (M,), grad_fn="SumBackward1"),
    OpCase("sum_dim_keepdim", lambda m, a: a.sum(0, keepdim=True), (M,), grad_fn="SumBackward1"),
    OpCase("sum_dims", lambda m, a: a.sum((0, 2)), ((2, 3, 4),), grad_fn="SumBackward1"),
    OpCase("mean", lambda m, a: a.mean(), (M,), grad_fn="MeanBackward0"),
    OpCase("mean_dim", lambda m, a: a.mean(-1), (M,), grad_fn="MeanBackward1"),
    OpCase("mean_dim_keepdim", lambda m, a: a.mean(0, keepdim=True), (M,), grad_fn="MeanBackward1"),
    OpCase("chain", lambda m, a, b: ((a * b).tanh() + a.exp() / 2).sum(), (M, M), grad_fn="SumBackward0"),
    OpCase("seed_graph", lambda m, x: ((x ** 2 + 1) ** 2), (V,), grad_fn="PowBackward0"),
]
