"""Batching rules: each rewrites one op on batched arguments into ops on the physical tensors.

A rule is ``rule(cls, args, batched, size)``: ``args`` are the op's arguments with every tensor
batched at the current level replaced by its physical tensor (batch first), ``batched`` says
which ones those are, ``size`` is the batch size.  It returns the physical result (batch first),
or ``NotImplemented`` to run the op once per sample.  Rules call public ops (or the op's own
Function on the physical tensors), so autograd records the physical computation, and values
batched at an outer level dispatch again at theirs.

A rule is registered for a table op by its name (``"_sum"``) and for a hand-written Function by
``"module.Class"``.  The op table's other Functions get their rule from their declaration, with
no line here: an elementwise op whose non-tensor arguments are all numbers, strings or masks
broadcasts; one with a ``dim`` has the dim shifted past the batch.  So an op moved into the
table is batched for free (anything else runs per sample, which is slow but right).
"""
from __future__ import annotations

import numpy as np

from .. import ops as _ops  # noqa: F401 - the op modules are bound
from ..ops import arith, conv, index, inplace, linalg, linalg_ops, nn, piecewise_grads, reduce, shape, unary
from ..tensor import Tensor
from ._batched import front, is_batched_at

_MODULES = {"arith": arith, "conv": conv, "index": index, "inplace": inplace, "linalg": linalg,
            "linalg_ops": linalg_ops, "nn": nn, "piecewise_grads": piecewise_grads, "reduce": reduce,
            "shape": shape, "unary": unary}

RULES: dict = {}  # hand-written Function class -> rule
NAMED: dict = {}  # table op name -> rule

# Non-tensor arguments of a table op that leave it elementwise (``Any``: a mask or a condition).
_SCALAR_ATTRS = frozenset({"Scalar", "Scalar?", "float", "float?", "bool", "str", "str?", "Any", "ScalarType?"})
_SCALAR_INT_ATTRS = frozenset({"decimals"})


def rule(*keys):
    """Register a rule for ops: a table op by its name (``"_sum"``), a hand-written Function by
    ``"module.Class"`` (skipped when the class is gone, its op having moved into the table)."""
    def register(fn):
        for key in keys:
            if "." not in key:
                NAMED[key] = fn
                continue
            module, _, name = key.partition(".")
            cls = getattr(_MODULES[module], name, None)
            if cls is not None:
                RULES[cls] = fn
        return fn
    return register


_WRITERS = (index.IndexPut, inplace.Copy, inplace.FillTensor, inplace.FillScalar, inplace.Zero)


def _inplace_base(cls):
    """The out-of-place op of an in-place variant (``add_``'s ``add``), or None."""
    for op, variant in inplace._VARIANTS.items():
        if variant is cls:
            return op
    return None


_FOUND: dict = {}  # class -> its rule (or None), looked up once


def rule_for(cls):
    """The batching rule of the Function class ``cls``, or None (then it runs per sample)."""
    try:
        return _FOUND[cls]
    except KeyError:
        found = _FOUND[cls] = _lookup(cls)
        return found


def is_inplace(cls) -> bool:
    """Whether ``cls`` writes into its first argument."""
    try:
        return _WRITES[cls]
    except KeyError:
        writes = _WRITES[cls] = cls in _WRITERS or _inplace_base(cls) is not None
        return writes


_WRITES: dict = {}


def _lookup(cls):
    found = RULES.get(cls)
    if found is not None:
        return found
    base = _inplace_base(cls)
    if base is not None:
        return rule_for(base)  # the rule applies the variant it is given to the physical tensors
    op = getattr(cls, "_op", None)
    if op is None:
        return None
    if op.name in NAMED:
        return NAMED[op.name]
    if any(a.name == "dim" for a in op.attrs):
        return _table_dim if len(op.inputs) == 1 else None
    if not all(a.type in _SCALAR_ATTRS or a.name in _SCALAR_INT_ATTRS for a in op.attrs):
        return None
    return elementwise if op.elementwise else None


def _named(cls) -> str:
    op = getattr(cls, "_op", None)
    return cls.__name__ if op is None else op.name


def _ndim(x, is_batched: bool) -> int:
    return x.dim() - 1 if is_batched else x.dim()


def _pad(args, flags, size: int) -> list:
    """Batched tensors padded with size-1 dims after the batch, so all broadcast together."""
    n = max([_ndim(a, f) for a, f in zip(args, flags) if isinstance(a, Tensor)]
            + [a.ndim for a in args if isinstance(a, np.ndarray)], default=0)
    out = []
    for a, f in zip(args, flags):
        if f and a.dim() - 1 < n:
            a = a.reshape((size,) + (1,) * (n - a.dim() + 1) + tuple(a.shape[1:]))
        out.append(a)
    return out


def _expanded(x, is_batched: bool, size: int):
    return x if is_batched else x.unsqueeze(0).expand(size, *x.shape)


def _shift(dims, n: int):
    """Logical dims (an int, a tuple, or None for all) as physical ones."""
    if dims is None:
        return tuple(range(1, n + 1))
    if isinstance(dims, int):
        return (dims % n if n else 0) + 1
    return tuple((d % n if n else 0) + 1 for d in dims)


# Rules of op-table functions whose code computes on the values before any Function (no
# gradient to record): ``rule(arguments, level, size)`` gets the call's arguments by name.
FUNCTION_RULES: dict = {}


def _arg_reduction(which: str):
    """argmax/argmin: over the sample's dim shifted past the batch, or over each whole sample."""
    def batched_rule(arguments, level, size):
        x = arguments.get("input", arguments.get("self"))
        dim, keepdim = arguments.get("dim"), arguments.get("keepdim", False)
        if not is_batched_at(x, level):
            return NotImplemented
        physical, n = front(x), x.dim()
        if dim is None:  # (with keepdim PyTorch's rule gives one kept dim, whatever the sample's rank)
            return getattr(physical.reshape(size, -1), which)(1, keepdim)
        return getattr(physical, which)(_shift(dim, n), keepdim)
    return batched_rule


FUNCTION_RULES.update(argmax=_arg_reduction("argmax"), argmin=_arg_reduction("argmin"))


# -- elementwise ----------------------------------------------------------------------------------

@rule(*[f"arith.{name}" for name in ("Addcdiv", "Addcmul", "ClampMaxScalar", "ClampMaxTensor", "ClampMinScalar",
                                       "ClampMinTensor", "ClampScalar", "ClampTensor", "DivRounding", "Lerp",
                                       "LerpTensor", "MaskedFill", "MaskedFillTensor", "PowScalar", "PowTensor",
                                       "RPowScalar", "Where")],
      "unary.Clone", "unary.ContiguousClone", "unary.ToCopy", "piecewise_grads.Sgn",
      "piecewise_grads.LeakyReluBackward", "piecewise_grads.ThresholdBackward",
      "addcmul", "addcdiv", "_masked_fill", "_masked_fill_tensor", "_where", "_div_rounding")
def elementwise(cls, args, flags, size):
    return cls.apply(*_pad(args, flags, size))


def _table_dim(cls, args, flags, size):
    """A table op over one dim of one tensor (softmax, log_softmax)."""
    x = args[0]
    n = x.dim() - 1
    attrs = [a.name for a in cls._op.attrs]
    rest = list(args[1:])
    i = attrs.index("dim")
    if rest[i] is None:
        return NotImplemented
    rest[i] = _shift(rest[i], n)
    return cls.apply(x, *rest)


# -- reductions --------------------------------------------------------------------------------------

@rule("reduce.Sum", "reduce.Mean", "_sum", "_mean")
def _reduce_all(cls, args, flags, size):
    x, dtype = args
    return x.sum(_shift(None, x.dim() - 1), dtype=dtype) if _named(cls) in ("Sum", "_sum") else \
        x.mean(_shift(None, x.dim() - 1), dtype=dtype)


def _dims_at(position: int):
    """The rule of an op of one tensor whose argument at ``position`` holds its dim(s)."""
    def shifted(cls, args, flags, size):
        x = args[0]
        n = x.dim() - 1
        if n == 0:
            return NotImplemented
        args = list(args)
        args[position] = _shift(args[position], n)
        return cls.apply(*args)
    return shifted


rule(*[f"reduce.{name}" for name in ("SumDim", "MeanDim", "Amax", "Amin", "Logsumexp", "MaxAll", "MinAll", "Prod",
                                      "ProdAll", "Var", "Std", "MaxDim", "MinDim", "Cumsum", "Cumprod")],
     "shape.Unbind", "_sum_dim", "_mean_dim", "_amax", "_amin", "_logsumexp", "_max", "_min", "_prod", "_prod_dim",
     "_var", "_std", "_cumsum", "_cumprod")(_dims_at(1))
rule("reduce.VectorNorm", "_vector_norm", "_dist")(_dims_at(2))


# -- shapes ----------------------------------------------------------------------------------------

@rule("shape.View", "shape.UnsafeView", "shape.ReshapeAlias")
def _view(cls, args, flags, size):
    x, target = args
    return x.reshape((size,) + tuple(target))


@rule("shape.Expand")
def _expand(cls, args, flags, size):
    x, target = args
    x, = _pad([x], [True], size) if x.dim() - 1 >= len(target) else [
        x.reshape((size,) + (1,) * (len(target) - x.dim() + 1) + tuple(x.shape[1:]))]
    return cls.apply(x, (size,) + tuple(target))


@rule("shape.SumToSize")
def _sum_to_size(cls, args, flags, size):
    x, target = args
    n = x.dim() - 1
    lead = n - len(target)
    dims = tuple(range(1, lead + 1)) + tuple(lead + 1 + i for i, s in enumerate(target)
                                             if s == 1 and x.shape[lead + 1 + i] != 1)
    out = x.sum(dims, keepdim=True) if dims else x
    return out.reshape((size,) + tuple(target))


@rule("shape.Permute")
def _permute(cls, args, flags, size):
    x, dims = args
    return cls.apply(x, (0,) + _shift(tuple(dims), x.dim() - 1))


@rule("shape.Transpose")
def _transpose(cls, args, flags, size):
    x, d0, d1 = args
    n = x.dim() - 1
    return cls.apply(x, _shift(d0, n), _shift(d1, n))


@rule("shape.T")
def _t(cls, args, flags, size):
    x, = args
    return shape.Alias.apply(x) if x.dim() < 3 else shape.Transpose.apply(x, 1, 2)


@rule("shape.Alias")
def _alias(cls, args, flags, size):
    return cls.apply(args[0])


@rule("shape.Unsqueeze")
def _unsqueeze(cls, args, flags, size):
    x, dim = args
    return cls.apply(x, _shift(dim, x.dim()))


@rule("shape.Squeeze", "shape.SqueezeDim", "shape.SqueezeDims", "shape.SqueezeInplaceDim", "shape.Flip")
def _dims_tuple(cls, args, flags, size):
    x, dims = args
    return cls.apply(x, _shift(tuple(dims), x.dim() - 1))


@rule("shape.Roll")
def _roll(cls, args, flags, size):
    x, shifts, dims = args
    if dims is None:
        return NotImplemented
    return cls.apply(x, shifts, _shift(tuple(dims), x.dim() - 1))


@rule("shape.Repeat")
def _repeat(cls, args, flags, size):
    x, repeats = args
    x, = _pad_to([x], len(repeats), size)
    return cls.apply(x, (1,) + tuple(repeats))


def _pad_to(xs, n: int, size: int):
    return [x if x.dim() - 1 >= n else x.reshape((size,) + (1,) * (n - x.dim() + 1) + tuple(x.shape[1:]))
            for x in xs]


@rule("shape.Split", "shape.SplitWithSizes")
def _split(cls, args, flags, size):
    x, sizes, dim = args
    return cls.apply(x, sizes, _shift(dim, x.dim() - 1))


@rule("shape.Cat")
def _cat(cls, args, flags, size):
    dim, *tensors = args
    tensors = [_expanded(t, f, size) for t, f in zip(tensors, flags[1:])]
    return cls.apply(dim + 1, *tensors)


@rule("shape.Stack")
def _stack(cls, args, flags, size):
    dim, *tensors = args
    tensors = [_expanded(t, f, size) for t, f in zip(tensors, flags[1:])]
    return cls.apply(dim + 1, *tensors)


@rule("shape.Diagonal", "shape.DiagonalCopy")
def _diagonal(cls, args, flags, size):
    x, offset, d1, d2 = args
    n = x.dim() - 1
    return cls.apply(x, offset, _shift(d1, n), _shift(d2, n))


@rule("shape.Tril", "shape.Triu")
def _last_two(cls, args, flags, size):
    return cls.apply(*args)


@rule("shape.Trace")
def _trace(cls, args, flags, size):
    return shape.Diagonal.apply(args[0], 0, 1, 2).sum(-1)


# -- indexing ------------------------------------------------------------------------------------

def _batch_key(key):
    """An index key over the sample's dims as one over the batch's (None when the advanced
    indices are apart: NumPy would move their dims before the batch)."""
    key = key if isinstance(key, tuple) else (key,)
    advanced = [i for i, k in enumerate(key) if not isinstance(k, (int, slice, type(None), type(Ellipsis)))]
    if advanced and advanced[-1] - advanced[0] + 1 != len(advanced):
        return None
    return (slice(None),) + key


@rule("index.Select", "index.Slice", "index.Index", "index.Gather", "index.IndexSelect")
def _index(cls, args, flags, size):
    x, key = args
    key = _batch_key(key)
    if key is None:
        return NotImplemented
    return cls.apply(x, key)


@rule("index.Embed", "index.SelectEmbed", "index.SliceEmbed")
def _embed(cls, args, flags, size):
    """The gradient of an index: the batch in front of the shape and of the key."""
    g, shape_, key, accumulate = args
    if flags[1:].count(True) or not flags[0]:
        return NotImplemented
    key = _batch_key(key)
    if key is None:
        return NotImplemented
    return cls.apply(g, (size,) + tuple(shape_), key, accumulate)


@rule("shape.DiagonalScatter")
def _diagonal_scatter(cls, args, flags, size):
    g, shape_, offset, d1, d2 = args
    n = len(shape_)
    return cls.apply(g, (size,) + tuple(shape_), offset, _shift(d1, n), _shift(d2, n))


# -- linear algebra -------------------------------------------------------------------------------------

@rule("linalg.Mm", "linalg.Bmm", "_mm", "_bmm")
def _mm(cls, args, flags, size):
    a, b = args
    return linalg.matmul(a, b)


@rule("linalg.Mv", "_mv")
def _mv(cls, args, flags, size):
    m, v = args
    fm, fv = flags
    if not fv:
        return linalg.matmul(m, v)
    return linalg.matmul(m, v.unsqueeze(-1)).squeeze(-1)


@rule("linalg.Dot", "_dot")
def _dot(cls, args, flags, size):
    a, b = args
    return (a * b).sum(-1)


@rule("linalg.Einsum")
def _einsum(cls, args, flags, size):
    """A fresh letter for the batch, on the batched operands and first in the output."""
    subs, out, *operands = args
    letter = next(c for c in linalg._LETTERS if c not in "".join(subs) + out)
    subs = tuple(letter + s if f else s for s, f in zip(subs, flags[2:]))
    return cls.apply(subs, letter + out, *operands)


@rule("linalg.Addmm", "linalg.Baddbmm", "_addmm", "_baddbmm")
def _addmm(cls, args, flags, size):
    c, a, b, beta, alpha = args
    product = linalg.matmul(a, b)
    if alpha != 1:
        product = product * alpha
    if beta == 0:
        return _expanded(product, flags[1] or flags[2], size)
    if beta != 1:
        c = c * beta
    rank = a.dim() - flags[1]
    if flags[0]:
        c, = _pad_to([c], rank, size)
    result = product + c
    return _expanded(result, True, size) if result.dim() == rank else result


@rule("linalg_ops.Solve")
def _solve(cls, args, flags, size):
    """Batch dims broadcast in a solve: the batched operands get size-1 dims up to the other's."""
    A, B, vector, *left = args
    ranks = [_ndim(A, flags[0]) - 2, _ndim(B, flags[1]) - (1 if vector else 2)]
    rank = max(ranks)
    padded = [x.reshape((size,) + (1,) * (rank - r) + tuple(x.shape[1:])) if f and r < rank else x
              for x, f, r in zip((A, B), flags, ranks)]
    return cls.apply(*padded, vector, *left)


# -- nn ------------------------------------------------------------------------------------------------

def _reduce_loss(loss, reduction: str, size: int):
    if reduction == "none":
        return loss
    dims = tuple(range(1, loss.dim()))
    if not dims:
        return loss
    return loss.sum(dims) if reduction == "sum" else loss.mean(dims)


@rule("nn.MseLoss", "_mse_loss")
def _mse(cls, args, flags, size):
    x, y, reduction = args
    x, y = _pad([x, y], flags[:2], size)
    loss = cls.apply(x, y, "none")
    return _reduce_loss(_expanded(loss, True, size) if loss.dim() == 0 else loss, reduction, size)


@rule("nn.HuberLoss", "nn.SmoothL1Loss", "_huber_loss", "_smooth_l1_loss")
def _huber(cls, args, flags, size):
    x, y, delta, scale, reduction = args
    x, y = _pad([x, y], flags[:2], size)
    return _reduce_loss(cls.apply(x, y, delta, scale, "none"), reduction, size)


@rule("_nll_loss", "_nll_loss2d")
def _nll(cls, args, flags, size):
    logp, target, weight, reduction, ignore_index = args  # the target: a tensor (batched) or its array
    if weight is not None:
        return NotImplemented
    op = getattr(cls, "cls", cls)  # the op itself, which takes the target's array
    target = target if isinstance(target, Tensor) else Tensor._wrap(target)
    logp, target = _expanded(logp, flags[0], size), _expanded(target, flags[1], size)
    classes = logp.shape[1] if logp.dim() == 2 else logp.shape[2]
    flat = logp.reshape(-1, *logp.shape[2:]) if logp.dim() > 2 else logp.reshape(size, classes)
    loss = op.apply(flat, (target.reshape(-1, *target.shape[2:]) if target.dim() > 1 else target)._data,
                    None, "none", ignore_index)
    loss = loss.reshape(target.shape)
    if reduction == "none" or loss.dim() == 1:
        if reduction == "mean" and loss.dim() == 1:
            return loss * (target != ignore_index).to(loss.dtype) / (target != ignore_index).to(loss.dtype)
        return loss
    dims = tuple(range(1, loss.dim()))
    if reduction == "sum":
        return loss.sum(dims)
    return loss.sum(dims) / (target != ignore_index).sum(dims).to(loss.dtype)


@rule("nn.Embedding")
def _embedding(cls, args, flags, size):
    weight, indices, padding_idx = args
    if flags[0]:
        return NotImplemented
    return cls.apply(weight, indices, padding_idx)


# -- writes -------------------------------------------------------------------------------------------

@rule("inplace.Zero", "inplace.FillScalar", "inplace.Copy")
def _write(cls, args, flags, size):
    return cls.apply(*_pad(args, flags, size))


@rule("inplace.FillTensor")
def _fill_tensor(cls, args, flags, size):
    target, value = args
    if not flags[1]:
        return cls.apply(target, value)
    return inplace.Copy.apply(*_pad([target, value], [True, True], size))


# -- convolution and pooling: the batch folded into the op's own leading (N) dim -------------------------

@rule("conv.Convolution", "conv.MaxPool2DWithIndices", "conv.AvgPool2D", "conv.AdaptiveAvgPool2D", "_convolution")
def _fold_batch(cls, args, flags, size):
    x, *rest = args
    if any(flags[1:]):
        return NotImplemented  # batched weights: once per sample
    lead = tuple(x.shape[:2])
    out = cls.apply(x.reshape(-1, *x.shape[2:]), *rest)
    if isinstance(out, tuple):
        return tuple(o.reshape(*lead, *o.shape[1:]) for o in out)
    return out.reshape(*lead, *out.shape[1:])


@rule("_conv_input_backward")
def _conv_input_backward(cls, args, flags, size):
    """The input gradient of a convolution: the batch folded into N, of the result's shape too."""
    g, weight, x_shape, *rest = args
    if flags[1]:
        return NotImplemented
    lead = tuple(g.shape[:2])
    out = cls.apply(g.reshape(-1, *g.shape[2:]), weight, (lead[0] * lead[1],) + tuple(x_shape[1:]), *rest)
    return out.reshape(*lead, *out.shape[1:])


@rule("conv.ConstantPadNd", "nn.NativeLayerNorm", "_native_layer_norm", "linalg_ops.Inv", "linalg_ops.Det",
      "linalg_ops.Slogdet", "linalg_ops.MatrixExp", "linalg_ops.Cholesky")
def _trailing_dims(cls, args, flags, size):
    """Ops over the last dims of their input (padding, layer norm with unbatched weights, the
    matrix functions of stacks of matrices)."""
    if any(flags[1:]):
        return NotImplemented
    return cls.apply(*args)


@rule("nn.BinaryCrossEntropy", "nn.BinaryCrossEntropyWithLogits", "_binary_cross_entropy",
      "_binary_cross_entropy_with_logits")
def _pointwise_loss(cls, args, flags, size):
    *tensors, reduction = args
    padded = _pad(tensors, flags[:-1], size)
    loss = cls.apply(*padded, "none")
    return _reduce_loss(_expanded(loss, True, size) if not any(flags[:2]) else loss, reduction, size)
