"""Shape, indexing and matrix-product ops for the shared gradient and torch checks.

Inputs must stay contiguous (gradcheck perturbs them in place), so non-contiguous operands
are made inside the lambdas (``a.T @ b``, ``a[:, ::2]``).
"""
from __future__ import annotations

from op_table import OpCase

S, V, M = (), (4,), (3, 4)


def _assigned(m, a, key, value):
    """``a.clone()`` with ``value`` written at ``key``: the setitem path as one expression."""
    c = a.clone()
    c[key] = value
    return c


def _index(m, values):
    return m.tensor(values)


SHAPE_OPS = [
    # views and reshapes
    OpCase("view", lambda m, a: a.view(2, 6), (M,), grad_fn="ViewBackward0"),
    OpCase("view_infer", lambda m, a: a.view(-1, 2), (M,), grad_fn="ViewBackward0"),
    OpCase("reshape_0d", lambda m, a: a.reshape(1, 1), (S,), grad_fn="ViewBackward0"),
    OpCase("reshape_noncontiguous", lambda m, a: a.T.reshape(12), (M,), grad_fn="UnsafeViewBackward0"),
    OpCase("reshape_alias", lambda m, a: a[:, ::2].reshape(3, 2), (M,), grad_fn="ReshapeAliasBackward0"),
    OpCase("flatten", lambda m, a: a.flatten(), ((2, 3, 2),), grad_fn="ViewBackward0"),
    OpCase("flatten_dims", lambda m, a: m.flatten(a, 1, 2), ((2, 3, 2),), grad_fn="ViewBackward0"),
    OpCase("unflatten", lambda m, a: a.unflatten(1, (2, -1)), (M,), grad_fn="ViewBackward0"),
    OpCase("transpose", lambda m, a: a.transpose(0, 2), ((2, 3, 4),), grad_fn="TransposeBackward0"),
    OpCase("transpose_fn", lambda m, a: m.transpose(a, -1, 0) * 2, (M,), grad_fn="MulBackward0"),
    OpCase("permute", lambda m, a: a.permute(2, 0, 1), ((2, 3, 4),), grad_fn="PermuteBackward0"),
    OpCase("t", lambda m, a: a.t(), (M,), grad_fn="TBackward0"),
    OpCase("t_vector", lambda m, a: m.t(a), (V,), grad_fn="TBackward0"),
    OpCase("T", lambda m, a: a.T, (M,), grad_fn="PermuteBackward0"),
    OpCase("mT", lambda m, a: a.mT, ((2, 3, 4),), grad_fn="TransposeBackward0"),
    OpCase("movedim", lambda m, a: a.movedim(0, -1), ((2, 3, 4),), grad_fn="PermuteBackward0"),
    OpCase("unsqueeze", lambda m, a: a.unsqueeze(1), (M,), grad_fn="UnsqueezeBackward0"),
    OpCase("unsqueeze_0d", lambda m, a: m.unsqueeze(a, -1), (S,), grad_fn="UnsqueezeBackward0"),
    OpCase("squeeze", lambda m, a: a.squeeze(), ((1, 3, 1),), grad_fn="SqueezeBackward0"),
    OpCase("squeeze_dim", lambda m, a: a.squeeze(0), ((1, 4),), grad_fn="SqueezeBackward1"),
    OpCase("squeeze_dim_noop", lambda m, a: a.squeeze(1), (M,), grad_fn="SqueezeBackward1"),
    OpCase("squeeze_dims", lambda m, a: m.squeeze(a, (0, 2)), ((1, 3, 1),), grad_fn="SqueezeBackward2"),
    OpCase("expand", lambda m, a: a.expand(2, 3, 4), ((3, 1),), grad_fn="ExpandBackward0"),
    OpCase("expand_same", lambda m, a: a.expand(3, 4), (M,), grad_fn="ExpandBackward0"),
    OpCase("expand_as", lambda m, a, b: a.expand_as(b) * b, ((1, 4), M), grad_fn="MulBackward0"),
    OpCase("contiguous", lambda m, a: a.T.contiguous(), (M,), grad_fn="CloneBackward0"),
    OpCase("contiguous_then_view", lambda m, a: a.T.contiguous().view(-1), (M,), grad_fn="ViewBackward0"),
    OpCase("permute_contiguous_view", lambda m, a: a.permute(0, 2, 1).contiguous().view(2, -1), ((2, 3, 4),),
           grad_fn="ViewBackward0"),
    OpCase("contiguous_then_flatten", lambda m, a: a.T.contiguous().flatten(), (M,), grad_fn="ViewBackward0"),
    # joins, splits and copies
    OpCase("cat", lambda m, a, b: m.cat([a, b]), (M, (2, 4)), grad_fn="CatBackward0"),
    OpCase("cat_dim", lambda m, a, b: m.cat((a, b, a), dim=-1), (M, (3, 2)), grad_fn="CatBackward0"),
    OpCase("cat_noncontiguous", lambda m, a: m.cat([a.T, a.T]), (M,), grad_fn="CatBackward0"),
    OpCase("stack", lambda m, a, b: m.stack([a, b]), (M, M), grad_fn="StackBackward0"),
    OpCase("stack_dim", lambda m, a, b: m.stack([a, b, a], dim=-1), (V, V), grad_fn="StackBackward0"),
    OpCase("split", lambda m, a: a.split(2)[1], ((5, 2),), grad_fn="SplitBackward0"),
    OpCase("split_all", lambda m, a: m.cat([p * (i + 1) for i, p in enumerate(a.split(2, 1))], 1), (M,),
           grad_fn="CatBackward0"),
    OpCase("split_sizes", lambda m, a: m.split(a, [1, 3], dim=1)[1], (M,), grad_fn="SplitWithSizesBackward0"),
    OpCase("chunk", lambda m, a: a.chunk(2)[0], ((5,),), grad_fn="SplitBackward0"),
    OpCase("unbind", lambda m, a: a.unbind(1)[2], (M,), grad_fn="UnbindBackward0"),
    OpCase("unbind_all", lambda m, a: m.stack([p * (i + 1) for i, p in enumerate(a.unbind())], 1), (M,),
           grad_fn="StackBackward0"),
    OpCase("flip", lambda m, a: a.flip(0), (M,), grad_fn="FlipBackward0"),
    OpCase("flip_dims", lambda m, a: m.flip(a, (0, 2)), ((2, 3, 2),), grad_fn="FlipBackward0"),
    OpCase("repeat", lambda m, a: a.repeat(2, 3), ((2, 3),), grad_fn="RepeatBackward0"),
    OpCase("repeat_new_dims", lambda m, a: a.repeat(2, 1, 2), (V,), grad_fn="RepeatBackward0"),
    OpCase("gather", lambda m, a: a.gather(1, _index(m, [[0, 0, 3], [1, 2, 1], [3, 3, 3]])), (M,),
           grad_fn="GatherBackward0"),
    OpCase("gather_dim0", lambda m, a: m.gather(a, 0, _index(m, [[2, 0], [2, 2]])), (M,),
           grad_fn="GatherBackward0"),
    OpCase("narrow", lambda m, a: a.narrow(1, 1, 2), (M,), grad_fn="SliceBackward0"),
    OpCase("narrow_negative", lambda m, a: m.narrow(a, 0, -2, 2), (M,), grad_fn="SliceBackward0"),
    # indexing
    OpCase("index_int", lambda m, a: a[1], (M,), grad_fn="SelectBackward0"),
    OpCase("index_negative", lambda m, a: a[-1, -2], (M,), grad_fn="SelectBackward0"),
    OpCase("index_slice", lambda m, a: a[1:], (M,), grad_fn="SliceBackward0"),
    OpCase("index_full_slice", lambda m, a: a[:], (V,), grad_fn="SliceBackward0"),
    OpCase("index_step", lambda m, a: a[::2, 1::2], (M,), grad_fn="SliceBackward0"),
    OpCase("index_int_slice", lambda m, a: a[0, 1:3], (M,), grad_fn="SliceBackward0"),
    OpCase("index_none", lambda m, a: a[None, :, None], (V,), grad_fn="UnsqueezeBackward0"),
    OpCase("index_ellipsis", lambda m, a: a[..., 1], ((2, 3, 4),), grad_fn="SelectBackward0"),
    OpCase("index_alias", lambda m, a: a[...], (M,), grad_fn="AliasBackward0"),
    OpCase("index_list", lambda m, a: a[[0, 2, 0]], (M,), grad_fn="IndexBackward0"),
    OpCase("index_tensor_repeated", lambda m, a: a[_index(m, [1, 1, 3, 1])], (V,), grad_fn="IndexBackward0"),
    OpCase("index_tensor_2d", lambda m, a: a[:, _index(m, [[0, 1], [3, 3]])], (M,), grad_fn="IndexBackward0"),
    OpCase("index_pairs", lambda m, a: a[[0, 2, 2], [1, 1, 3]], (M,), grad_fn="IndexBackward0"),
    OpCase("index_int_and_list", lambda m, a: a[0, :, [1, 0]], ((2, 3, 4),), grad_fn="IndexBackward0"),
    OpCase("index_split_advanced", lambda m, a: a[[0, 1], :, [2, 2]], ((2, 3, 4),), grad_fn="IndexBackward0"),
    OpCase("index_mask", lambda m, a: a[a > 0], (M,), grad_fn="IndexBackward0"),
    OpCase("index_mask_rows", lambda m, a: a[_index(m, [True, False, True])], (M,), grad_fn="IndexBackward0"),
    OpCase("index_of_transposed", lambda m, a: a.T[1:, [0, 2]], (M,), grad_fn="IndexBackward0"),
    OpCase("setitem_slice", lambda m, a, b: _assigned(m, a, (0, slice(1, 3)), b), (M, (2,)), grad_fn="CopySlices"),
    OpCase("setitem_broadcast", lambda m, a, b: _assigned(m, a, slice(None, 2), b), (M, (4,)), grad_fn="CopySlices"),
    OpCase("setitem_int", lambda m, a, b: _assigned(m, a, (1, 2), b), (M, S), grad_fn="CopySlices"),
    OpCase("setitem_index", lambda m, a, b: _assigned(m, a, [2, 0], b), (M, (2, 4)), grad_fn="IndexPutBackward0"),
    OpCase("setitem_mask", lambda m, a, b: _assigned(m, a, a > 0.5, b), (M, S), grad_fn="IndexPutBackward0"),
    OpCase("setitem_all", lambda m, a, b: _assigned(m, a, ..., b), (M, (1, 4)), grad_fn="CopyBackwards"),
    OpCase("setitem_then_use", lambda m, a, b: (_assigned(m, a * 2, (slice(None), 0), b) * a).sum(), (M, (3,)),
           grad_fn="SumBackward0"),
    # matrix products
    OpCase("dot", lambda m, a, b: a @ b, (V, V), grad_fn="DotBackward0"),
    OpCase("dot_fn", lambda m, a, b: m.dot(a, b), (V, V), grad_fn="DotBackward0"),
    OpCase("mv", lambda m, a, b: a @ b, (M, V), grad_fn="MvBackward0"),
    OpCase("mv_fn", lambda m, a, b: m.mv(a.T, b), (M, (3,)), grad_fn="MvBackward0"),
    OpCase("vm", lambda m, a, b: a @ b, ((3,), M), grad_fn="SqueezeBackward4"),
    OpCase("mm", lambda m, a, b: a @ b, (M, (4, 2)), grad_fn="MmBackward0"),
    OpCase("mm_fn", lambda m, a, b: m.mm(a, b), (M, (4, 2)), grad_fn="MmBackward0"),
    OpCase("mm_transposed", lambda m, a: a.T @ a, (M,), grad_fn="MmBackward0"),
    OpCase("matmul_fn", lambda m, a, b: m.matmul(a, b.mT), (M, (2, 4)), grad_fn="MmBackward0"),
    OpCase("bmm", lambda m, a, b: m.bmm(a, b), ((2, 3, 4), (2, 4, 2)), grad_fn="BmmBackward0"),
    OpCase("bmm_transposed", lambda m, a: a.bmm(a.mT), ((2, 3, 4),), grad_fn="BmmBackward0"),
    OpCase("matmul_batched", lambda m, a, b: a @ b, ((2, 3, 4), (2, 4, 2)), grad_fn="UnsafeViewBackward0"),
    OpCase("matmul_batch_broadcast", lambda m, a, b: a @ b, ((2, 1, 3, 4), (3, 4, 2)), grad_fn="UnsafeViewBackward0"),
    OpCase("matmul_batch_one", lambda m, a, b: a @ b, ((1, 3, 4), (2, 4, 2)), grad_fn="CloneBackward0"),
    OpCase("matmul_3d_2d", lambda m, a, b: a @ b, ((2, 3, 4), (4, 2)), grad_fn="UnsafeViewBackward0"),
    OpCase("matmul_2d_3d", lambda m, a, b: a @ b, ((3, 4), (2, 4, 2)), grad_fn="CloneBackward0"),
    OpCase("matmul_3d_1d", lambda m, a, b: a @ b, ((2, 3, 4), V), grad_fn="UnsafeViewBackward0"),
    OpCase("matmul_1d_3d", lambda m, a, b: a @ b, (V, (2, 4, 3)), grad_fn="UnsafeViewBackward0"),
    OpCase("matmul_noncontiguous_batch", lambda m, a, b: a.transpose(0, 1) @ b, ((3, 2, 4), (4, 2)),
           grad_fn="UnsafeViewBackward0"),
    OpCase("outer", lambda m, a, b: m.outer(a, b), (V, (3,)), grad_fn="MulBackward0"),
    OpCase("linear_layer", lambda m, x, w, b: (x @ w.t() + b).tanh().sum(), ((5, 4), (3, 4), (3,)),
           grad_fn="SumBackward0"),
]
