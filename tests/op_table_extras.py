"""Everyday extras (inverse/hyperbolic functions, lerp, masked_fill, sorting, triangles, einsum...)
for the shared gradient and torch checks."""
from __future__ import annotations

from op_table import OpCase

S, V, M, T = (), (5,), (3, 4), (2, 3, 4)


def _mask(m, a):
    """A fixed boolean mask shaped like ``a``'s last dim, built on either library."""
    return m.tensor([True, False, True, False])


EXTRA_OPS = [
    # -- pointwise functions of one tensor -----------------------------------------------------
    OpCase("exp2", lambda m, a: m.exp2(a), (M,), grad_fn="Exp2Backward0"),
    OpCase("log2", lambda m, a: a.log2(), (M,), domain=(0.5, 3.0), grad_fn="Log2Backward0"),
    OpCase("log10", lambda m, a: m.log10(a), (M,), domain=(0.5, 3.0), grad_fn="Log10Backward0"),
    OpCase("sinh", lambda m, a: a.sinh(), (M,), grad_fn="SinhBackward0"),
    OpCase("cosh", lambda m, a: m.cosh(a), (M,), grad_fn="CoshBackward0"),
    OpCase("asin", lambda m, a: m.asin(a), (M,), domain=(-0.9, 0.9), grad_fn="AsinBackward0"),
    OpCase("acos", lambda m, a: a.acos(), (M,), domain=(-0.9, 0.9), grad_fn="AcosBackward0"),
    OpCase("asinh", lambda m, a: m.asinh(a), (M,), grad_fn="AsinhBackward0"),
    OpCase("acosh", lambda m, a: a.acosh(), (M,), domain=(1.2, 3.0), grad_fn="AcoshBackward0"),
    OpCase("atanh", lambda m, a: m.atanh(a), (M,), domain=(-0.9, 0.9), grad_fn="AtanhBackward0"),
    OpCase("erfinv", lambda m, a: a.erfinv(), (M,), domain=(-0.9, 0.9), grad_fn="ErfinvBackward0"),
    OpCase("nan_to_num", lambda m, a: m.nan_to_num(a), (M,), grad_fn="NanToNumBackward0"),
    # -- pointwise functions of two tensors ----------------------------------------------------
    OpCase("hypot", lambda m, a, b: m.hypot(a, b), (M, (4,)), domain=(0.5, 2.0), grad_fn="HypotBackward0"),
    OpCase("logaddexp", lambda m, a, b: a.logaddexp(b), (M, M), grad_fn="LogaddexpBackward0"),
    OpCase("xlogy", lambda m, a, b: m.xlogy(a, b), (M, M), domain=(0.5, 2.0), grad_fn="XlogyBackward0"),
    OpCase("xlogy_number_y", lambda m, a: m.xlogy(a, 3.0), (M,), grad_fn="XlogyBackward2"),
    OpCase("xlogy_number_x", lambda m, a: m.xlogy(2.0, a), (M,), domain=(0.5, 2.0), grad_fn="XlogyBackward1"),
    # a / b stays inside (-2.625, -2.38), away from the jumps of trunc(a / b)
    OpCase("fmod", lambda m, a, b: m.fmod(a * -2.5, b), (M, M), domain=(1.0, 1.05), grad_fn="FmodBackward1"),
    OpCase("fmod_number", lambda m, a: a.fmod(0.7), (M,), grad_fn="FmodBackward0", away_from=(-1.4, -0.7, 0.7, 1.4)),
    OpCase("lerp", lambda m, a, b: m.lerp(a, b, 0.3), (M, (4,)), grad_fn="LerpBackward0"),
    OpCase("lerp_tensor_weight", lambda m, a, b, w: a.lerp(b, w), (M, M, (4,)), grad_fn="LerpBackward1"),
    OpCase("clamp_min", lambda m, a: a.clamp_min(0.25), (M,), grad_fn="ClampMinBackward0", away_from=(0.25,)),
    OpCase("clamp_max", lambda m, a: m.clamp_max(a, -0.5), (M,), grad_fn="ClampMaxBackward0", away_from=(-0.5,)),
    OpCase("clamp_min_tensor", lambda m, a, b: m.clamp_min(a, b), (M, (4,)), grad_fn="ClampMinBackward1"),
    OpCase("clamp_max_tensor", lambda m, a, b: a.clamp_max(b), (M, M), grad_fn="ClampMaxBackward1"),
    OpCase("masked_fill", lambda m, a: a.masked_fill(_mask(m, a), -1.5), (M,), grad_fn="MaskedFillBackward0"),
    OpCase("masked_fill_fn_broadcast", lambda m, a: m.masked_fill(a, m.tensor([[True], [False], [True]]), 2.0),
           ((4,),), grad_fn="MaskedFillBackward0"),
    OpCase("masked_fill_tensor", lambda m, a, v: a.masked_fill(_mask(m, a), v), (M, S), grad_fn="MaskedFillBackward1"),
    OpCase("masked_fill_inplace", lambda m, a: (a * 1).masked_fill_(_mask(m, a), 0.5), (M,),
           grad_fn="MaskedFillBackward0"),
    # -- sorting (inputs are distinct with probability one) ---------------------------------------
    OpCase("sort", lambda m, a: a.sort().values, (M,), grad_fn="SortBackward0"),
    OpCase("sort_dim0_descending", lambda m, a: m.sort(a, 0, descending=True)[0], (M,), grad_fn="SortBackward0"),
    OpCase("topk", lambda m, a: a.topk(2).values, (M,), grad_fn="TopkBackward0"),
    OpCase("topk_smallest_dim0", lambda m, a: m.topk(a, 2, dim=0, largest=False)[0], (M,), grad_fn="TopkBackward0"),
    OpCase("kthvalue", lambda m, a: a.kthvalue(2).values, (M,), grad_fn="KthvalueBackward0"),
    OpCase("kthvalue_keepdim", lambda m, a: m.kthvalue(a, 3, 1, True)[0], (T,), grad_fn="KthvalueBackward0"),
    OpCase("sort_0d", lambda m, a: a.sort().values, (S,), grad_fn="SortBackward0"),
    # -- triangles, diagonals, trace, roll, tensor_split ------------------------------------------
    OpCase("tril", lambda m, a: a.tril(), (M,), grad_fn="TrilBackward0"),
    OpCase("triu_batched", lambda m, a: m.triu(a, 1), (T,), grad_fn="TriuBackward0"),
    OpCase("tril_negative", lambda m, a: m.tril(a, diagonal=-1), (M,), grad_fn="TrilBackward0"),
    OpCase("diagonal", lambda m, a: a.diagonal(), (M,), grad_fn="DiagonalBackward0"),
    OpCase("diagonal_offset_dims", lambda m, a: m.diagonal(a, -1, 2, 1), (T,), grad_fn="DiagonalBackward0"),
    OpCase("diag_of_matrix", lambda m, a: a.diag(1), (M,), grad_fn="DiagonalBackward0_copy"),
    OpCase("diag_of_vector", lambda m, a: m.diag(a, -1), (V,), grad_fn="DiagEmbedBackward0"),
    OpCase("trace", lambda m, a: a.trace(), (M,), grad_fn="TraceBackward0"),
    OpCase("trace_squared", lambda m, a: (a * a).trace() * a.trace(), ((3, 3),), grad_fn="MulBackward0"),
    OpCase("roll", lambda m, a: a.roll(1, 0), (M,), grad_fn="RollBackward0"),
    OpCase("roll_flat", lambda m, a: m.roll(a, -3), (M,), grad_fn="RollBackward0"),
    OpCase("roll_dims", lambda m, a: a.roll((1, -2), (2, 0)), (T,), grad_fn="RollBackward0"),
    OpCase("tensor_split", lambda m, a: a.tensor_split(3, 1)[0] * a.tensor_split(3, 1)[1], (M,),
           grad_fn="MulBackward0"),
    OpCase("tensor_split_indices", lambda m, a: m.tensor_split(a, [1, 2])[2], (M,), grad_fn="SliceBackward0"),
    # -- products ----------------------------------------------------------------------------------
    OpCase("addmm", lambda m, c, a, b: m.addmm(c, a, b), ((3, 4), (3, 2), (2, 4)), grad_fn="AddmmBackward0"),
    OpCase("addmm_broadcast_scaled", lambda m, c, a, b: c.addmm(a, b, beta=0.5, alpha=-2), ((4,), (3, 2), (2, 4)),
           grad_fn="AddmmBackward0"),
    OpCase("baddbmm", lambda m, c, a, b: m.baddbmm(c, a, b, alpha=1.5), ((2, 3, 4), (2, 3, 5), (2, 5, 4)),
           grad_fn="BaddbmmBackward0"),
    OpCase("baddbmm_broadcast", lambda m, c, a, b: c.baddbmm(a, b, beta=2), ((3, 1), (2, 3, 5), (2, 5, 4)),
           grad_fn="BaddbmmBackward0"),
    OpCase("cross", lambda m, a, b: m.cross(a, b, dim=1), ((2, 3), (2, 3)), grad_fn="LinalgCrossBackward0"),
    OpCase("cross_broadcast", lambda m, a, b: a.cross(b, dim=0), ((3, 4), (3, 1)), grad_fn="LinalgCrossBackward0"),
    OpCase("atan2", lambda m, a, b: m.atan2(a, b), (M, V[:0] + (4,)), domain=(0.3, 2.0), grad_fn="Atan2Backward0"),
    OpCase("atan2_signs", lambda m, a, b: a.atan2(-b), (M, M), domain=(0.3, 2.0), grad_fn="Atan2Backward0"),
    OpCase("addcmul", lambda m, a, b, c: m.addcmul(a, b, c, value=0.5), (M, (4,), (3, 1)), grad_fn="AddcmulBackward0"),
    OpCase("addcdiv", lambda m, a, b, c: a.addcdiv(b, c, value=-2), (M, M, (4,)), domain=(0.5, 2.0),
           grad_fn="AddcdivBackward0"),
    OpCase("addcmul_inplace", lambda m, a, b, c: (a * 1).addcmul_(b, c, value=2), (M, M, (4,)),
           grad_fn="AddcmulBackward0"),
    OpCase("addcdiv_inplace", lambda m, a, b, c: (a + 0).addcdiv_(b, c), (M, (4,), M), domain=(0.5, 2.0),
           grad_fn="AddcdivBackward0"),
    OpCase("cumprod", lambda m, a: m.cumprod(a, 1), (T,), domain=(0.5, 1.5), grad_fn="CumprodBackward0"),
    OpCase("cumprod_signs", lambda m, a: a.cumprod(-1), (M,), grad_fn="CumprodBackward0", away_from=(0.0,)),
    OpCase("cumprod_with_zero", lambda m, a: (a * m.tensor([1.0, 0.0, 1.0, 1.0], dtype=a.dtype)).cumprod(1),
           (M,), grad_fn="CumprodBackward0"),
    OpCase("median_all", lambda m, a: a.median(), (M,), grad_fn="MedianBackward0"),
    OpCase("median_dim", lambda m, a: m.median(a, 1).values, (T,), grad_fn="MedianBackward1"),
    OpCase("median_dim_keepdim", lambda m, a: a.median(dim=0, keepdim=True)[0], (M,), grad_fn="MedianBackward1"),
    # -- padding ---------------------------------------------------------------------------------
    OpCase("pad_last", lambda m, a: m.nn.functional.pad(a, (1, 2)), (M,), grad_fn="ConstantPadNdBackward0"),
    OpCase("pad_value_3dims", lambda m, a: m.nn.functional.pad(a, (0, 1, 2, 0, 1, 1), value=1.5), (T,),
           grad_fn="ConstantPadNdBackward0"),
    OpCase("pad_negative", lambda m, a: m.nn.functional.pad(a, (-1, 2, 1, -1)), (T,),
           grad_fn="ConstantPadNdBackward0"),
]
