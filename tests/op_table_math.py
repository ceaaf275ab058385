"""Reductions, pointwise math and activations: cases for the shared gradient and torch checks.

Inputs for ops with kinks keep away from them (``away_from``); max/min style reductions get
inputs whose extremes are distinct with probability one, so finite differences are valid.
"""
from __future__ import annotations

from op_table import OpCase

S, V, M, T = (), (5,), (3, 4), (2, 3, 4)


def _F(m):
    """``torch.nn.functional`` on torch; pygrad.nn.functional."""
    if m.__name__ == "torch":
        return m.nn.functional
    from pygrad.nn import functional
    return functional


MATH_OPS = [
    # -- max / min -------------------------------------------------------------------------
    OpCase("max_all", lambda m, a: a.max(), (M,), grad_fn="MaxBackward1", twice_differentiable=True),
    OpCase("min_all", lambda m, a: m.min(a), (M,), grad_fn="MinBackward1"),
    OpCase("max_dim", lambda m, a: a.max(1).values, (M,), grad_fn="MaxBackward0"),
    OpCase("max_dim_keepdim", lambda m, a: m.max(a, 0, keepdim=True)[0], (M,), grad_fn="MaxBackward0"),
    OpCase("min_dim", lambda m, a: a.min(dim=-1).values, (T,), grad_fn="MinBackward0"),
    OpCase("max_binary", lambda m, a, b: m.max(a, b), (M, M), grad_fn="MaximumBackward0"),
    OpCase("maximum_broadcast", lambda m, a, b: m.maximum(a, b), (M, (4,)), grad_fn="MaximumBackward0"),
    OpCase("minimum", lambda m, a, b: m.minimum(a, b), (M, M), grad_fn="MinimumBackward0"),
    OpCase("amax", lambda m, a: a.amax(), (M,), grad_fn="AmaxBackward0"),
    OpCase("amax_dims", lambda m, a: a.amax((0, 2), keepdim=True), (T,), grad_fn="AmaxBackward0"),
    OpCase("amin_dim", lambda m, a: m.amin(a, 1), (M,), grad_fn="AminBackward0"),
    # -- prod, var, std, norm, logsumexp, cumsum ---------------------------------------------
    OpCase("prod", lambda m, a: a.prod(), (V,), grad_fn="ProdBackward0"),
    OpCase("prod_dim", lambda m, a: m.prod(a, 1), (M,), grad_fn="ProdBackward1"),
    OpCase("prod_dim_keepdim", lambda m, a: a.prod(0, keepdim=True), (M,), grad_fn="ProdBackward1"),
    OpCase("var", lambda m, a: a.var(), (M,), grad_fn="VarBackward0"),
    OpCase("var_dim_biased", lambda m, a: m.var(a, 1, unbiased=False), (M,), grad_fn="VarBackward0"),
    OpCase("var_correction_keepdim", lambda m, a: a.var(2, keepdim=True, correction=2), (T,),
           grad_fn="VarBackward0"),
    OpCase("std", lambda m, a: a.std(), (M,), grad_fn="StdBackward0"),
    OpCase("std_dims", lambda m, a: m.std(a, (0, 2)), (T,), grad_fn="StdBackward0"),
    OpCase("std_keepdim", lambda m, a: a.std(-1, keepdim=True), (M,), grad_fn="StdBackward0"),
    OpCase("norm", lambda m, a: a.norm(), (M,), grad_fn="LinalgVectorNormBackward0"),
    OpCase("norm_1", lambda m, a: a.norm(1), (V,), grad_fn="LinalgVectorNormBackward0", away_from=(0.0,),
           twice_differentiable=False),
    OpCase("norm_inf", lambda m, a: a.norm(float("inf")), (V,), grad_fn="LinalgVectorNormBackward0",
           away_from=(0.0,), twice_differentiable=False),
    OpCase("norm_3_dim", lambda m, a: m.norm(a, 3, dim=1), (M,), domain=(0.5, 2.0),
           grad_fn="LinalgVectorNormBackward0"),
    OpCase("norm_dim_keepdim", lambda m, a: a.norm(dim=0, keepdim=True), (M,),
           grad_fn="LinalgVectorNormBackward0"),
    OpCase("logsumexp", lambda m, a: a.logsumexp(1), (M,), grad_fn="LogsumexpBackward0"),
    OpCase("logsumexp_dims_keepdim", lambda m, a: m.logsumexp(a, (0, 1), keepdim=True), (T,),
           grad_fn="LogsumexpBackward0"),
    OpCase("cumsum", lambda m, a: a.cumsum(0), (V,), grad_fn="CumsumBackward0"),
    OpCase("cumsum_dim", lambda m, a: m.cumsum(a, dim=-1), (M,), grad_fn="CumsumBackward0"),
    # -- pointwise -----------------------------------------------------------------------------
    OpCase("clamp", lambda m, a: a.clamp(-0.5, 1.0), (M,), grad_fn="ClampBackward1",
           away_from=(-0.5, 1.0)),
    OpCase("clamp_min", lambda m, a: m.clamp(a, min=0.25), (M,), grad_fn="ClampBackward1", away_from=(0.25,)),
    OpCase("clip_max", lambda m, a: a.clip(max=0.5), (M,), grad_fn="ClampBackward1", away_from=(0.5,)),
    OpCase("clamp_tensor", lambda m, a, lo, hi: m.clamp(a, lo - 1, hi + 1), (M, (4,), M),
           grad_fn="ClampBackward0"),
    OpCase("square", lambda m, a: a.square(), (M,), grad_fn="PowBackward0"),
    OpCase("rsqrt", lambda m, a: a.rsqrt(), (V,), domain=(0.5, 3.0), grad_fn="RsqrtBackward0"),
    OpCase("log1p", lambda m, a: m.log1p(a), (V,), domain=(-0.5, 2.0), grad_fn="Log1PBackward0"),
    OpCase("expm1", lambda m, a: a.expm1(), (M,), grad_fn="Expm1Backward0"),
    OpCase("tan", lambda m, a: m.tan(a), (V,), domain=(-1.2, 1.2), grad_fn="TanBackward0"),
    OpCase("atan", lambda m, a: a.atan(), (M,), grad_fn="AtanBackward0"),
    OpCase("erf", lambda m, a: m.erf(a), (M,), grad_fn="ErfBackward0"),
    OpCase("sign", lambda m, a: a.sign() * a, (V,), grad_fn="MulBackward0", away_from=(0.0,)),
    OpCase("floor", lambda m, a: a.floor() + a, (V,), grad_fn="AddBackward0", away_from=(-1.0, 0.0, 1.0)),
    OpCase("ceil", lambda m, a: m.ceil(a) * a, (V,), grad_fn="MulBackward0", away_from=(-1.0, 0.0, 1.0)),
    OpCase("round", lambda m, a: (a * 2).round() + a, (V,), grad_fn="AddBackward0",
           away_from=(-0.75, -0.25, 0.25, 0.75)),
    OpCase("trunc", lambda m, a: a.trunc() * a, (V,), grad_fn="MulBackward0", away_from=(-1.0, 0.0, 1.0)),
    OpCase("remainder_scalar", lambda m, a: a % 0.75, (V,), grad_fn="RemainderBackward0",
           away_from=(-1.5, -0.75, 0.0, 0.75, 1.5)),
    OpCase("remainder_tensor", lambda m, a, b: m.remainder(a * 3, b), (V, V), domain=(0.6, 1.9),
           grad_fn="RemainderBackward1", twice_differentiable=True),
    OpCase("where", lambda m, a, b: m.where(a > 0, a, b), (M, M), grad_fn="WhereBackward0", away_from=(0.0,)),
    OpCase("where_scalar", lambda m, a: m.where(a > 0, a * 2, 0.0), (M,), grad_fn="WhereBackward0",
           away_from=(0.0,)),
    # -- softmax and activations ---------------------------------------------------------------
    OpCase("softmax", lambda m, a: m.softmax(a, 1), (M,), grad_fn="SoftmaxBackward0"),
    OpCase("softmax_method_dim0", lambda m, a: a.softmax(0), (T,), grad_fn="SoftmaxBackward0"),
    OpCase("softmax_large", lambda m, a: _F(m).softmax(a * 200, dim=-1), (M,), grad_fn="SoftmaxBackward0"),
    OpCase("log_softmax", lambda m, a: m.log_softmax(a, -1), (M,), grad_fn="LogSoftmaxBackward0"),
    OpCase("log_softmax_F_large", lambda m, a: _F(m).log_softmax(a * 500, dim=0), (M,),
           grad_fn="LogSoftmaxBackward0"),
    OpCase("gelu", lambda m, a: _F(m).gelu(a), (M,), domain=(-3.0, 3.0), grad_fn="GeluBackward0"),
    OpCase("gelu_tanh", lambda m, a: _F(m).gelu(a, approximate="tanh"), (M,), domain=(-3.0, 3.0),
           grad_fn="GeluBackward0"),
    OpCase("leaky_relu", lambda m, a: _F(m).leaky_relu(a, 0.2), (M,), grad_fn="LeakyReluBackward0",
           away_from=(0.0,)),
    OpCase("leaky_relu_default", lambda m, a: _F(m).leaky_relu(a), (V,), grad_fn="LeakyReluBackward0",
           away_from=(0.0,)),
    OpCase("elu", lambda m, a: _F(m).elu(a), (M,), grad_fn="EluBackward0", away_from=(0.0,)),
    OpCase("elu_alpha", lambda m, a: _F(m).elu(a, alpha=0.5), (V,), grad_fn="EluBackward0", away_from=(0.0,)),
    OpCase("softplus", lambda m, a: _F(m).softplus(a), (M,), grad_fn="SoftplusBackward0"),
    OpCase("softplus_beta_threshold", lambda m, a: _F(m).softplus(a, beta=2.0, threshold=1.0), (M,),
           grad_fn="SoftplusBackward0", away_from=(0.5,)),
    OpCase("silu", lambda m, a: _F(m).silu(a), (M,), grad_fn="SiluBackward0"),
    OpCase("relu_F", lambda m, a: _F(m).relu(a), (M,), grad_fn="ReluBackward0", away_from=(0.0,),
           twice_differentiable=False),
    # -- chains -------------------------------------------------------------------------------
    OpCase("cross_entropy_like", lambda m, a: -(a.log_softmax(1) * (a.detach() > 0)).sum(1).mean(), (M,),
           grad_fn="NegBackward0"),
    OpCase("layer_norm_like", lambda m, a: (a - a.mean(-1, keepdim=True)) / (a.var(-1, keepdim=True) + 1e-5).sqrt(),
           (M,), grad_fn="DivBackward0"),
    OpCase("attention_like", lambda m, a, b: (a.softmax(-1) * b).sum(-1).logsumexp(0), (M, M),
           grad_fn="LogsumexpBackward0"),
]
