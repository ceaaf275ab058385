"""Fused neural-network ops: linear, the losses, layer norm and embedding.

Each is one ``Function`` whose grad_fn carries PyTorch's name (``AddmmBackward0``,
``MseLossBackward0``, ``NllLossBackward0``...).  Backward has the usual two paths: plain
arrays when no graph is wanted, differentiable pygrad ops under ``create_graph=True``.
Reductions are done inside the op; ``reduction`` is ``"none"``, ``"mean"`` or ``"sum"``.
"""
from __future__ import annotations

import functools
import math
import warnings

import numpy as np

from .._backend import kernels as _kernels
from .._errstate import quietly
from ..autograd.forward_ad import linear_jvp, weighted_jvp, tangent_sum
from .._errors import size_str
from ..autograd.function import Function
from ..autograd.grad_mode import _state as _grad_mode
from ..tensor import Tensor
from . import optable as _table
from ._util import broadcast_shape, mean_array, sum_array, wrap
from ..dtypes import promote_types
from . import linalg as _linalg
from .linalg import addmm, matmul, mm
from .shape import T as _transpose, t

_REDUCTIONS = ("none", "mean", "sum")


def check_reduction(reduction: str) -> str:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction")
    return reduction


# -- linear ------------------------------------------------------------------------------------

def scalar_type_name(t: Tensor) -> str:
    """PyTorch's name of a tensor's scalar type: Float, Double, Long..."""
    return t.dtype._tensor_type.removesuffix("Tensor")


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``x @ weight.T + bias`` over the last dim of ``x``, like ``torch.nn.functional.linear``."""
    xs, ws = x._data.shape, weight._data.shape
    if x._data.dtype != weight._data.dtype:
        a, b = scalar_type_name(x), scalar_type_name(weight)
        if bias is not None and len(xs) == 2:
            raise RuntimeError(f"mat1 and mat2 must have the same dtype, but got {a} and {b}")
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {a.lower()} != {b.lower()}")
    if not xs:
        raise RuntimeError("both arguments to linear need to be at least 1D, but they are 0D and "
                           f"{len(ws)}D")
    in_features = ws[-1]
    if xs[-1] != in_features:
        rows = int(np.prod(xs[:-1])) if len(xs) > 1 else 1
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({rows}x{xs[-1]} and "
                           f"{ws[1]}x{ws[0]})")
    if bias is None and len(xs) != 2:
        return matmul(x, t(weight))  # what PyTorch does too: UnsafeView / Squeeze around an mm
    if len(xs) == 2 and bias is not None and len(ws) == 2 and bias._data.dtype == x._data.dtype:
        # the common case, checked above: one addmm of the weight's transpose (AddmmBackward0 -> TBackward0)
        if bias._data.shape != ws[:1]:
            _linalg._broadcasts(bias, xs[0], ws[0])
        return _table.ADDMM.fn.apply(bias, x, _transpose.apply(weight), 1, 1)
    lead = tuple(xs[:-1])
    x2 = x if len(xs) == 2 else x.reshape(math.prod(lead), in_features)  # not -1: in_features may be 0
    out = mm(x2, t(weight)) if bias is None else addmm(bias, x2, t(weight))
    if len(xs) == 2:
        return out
    return out.reshape(*lead, ws[0])


# -- regression losses ------------------------------------------------------------------------

def _reduce_array(loss: np.ndarray, reduction: str) -> np.ndarray:
    if reduction == "mean":
        return mean_array(loss)
    if reduction == "sum":
        return sum_array(loss)
    return loss


def _grad_scale(g: Tensor, shape: tuple, reduction: str):
    """The upstream gradient of a reduced loss as a factor per element (an array or a Tensor)."""
    if reduction == "none":
        return g
    if reduction == "mean":
        return g / max(int(np.prod(shape)), 1)
    return g


def loss_scale(g, shape: tuple, reduction: str, weight=None):
    """The upstream gradient of a loss as a factor per element (arrays or Tensors alike)."""
    scale = _grad_scale(g, shape, reduction)
    return scale if weight is None else scale * weight


def mse_forward(x: np.ndarray, y: np.ndarray, reduction: str) -> np.ndarray:
    diff = x - y
    return _reduce_array(diff * diff, reduction)


def check_target_size(x: Tensor, y: Tensor) -> None:
    """PyTorch's checks of a pointwise loss: a warning when the sizes differ, its error when they
    do not broadcast."""
    if x.shape != y.shape:  # a pending fused input answers without being computed
        warnings.warn(f"Using a target size ({size_str(y._data.shape)}) that is different to the input size "
                      f"({size_str(x._data.shape)}). This will likely lead to incorrect results due to "
                      "broadcasting. Please ensure they have the same size.", stacklevel=4)
        broadcast_shape(x._data.shape, y._data.shape)


def _common_dtype(x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    """Both operands in their promoted dtype, as PyTorch's regression losses compute (float32 input
    and int64 target give float32)."""
    common = promote_types(x.dtype, y.dtype)
    return x.to(common), y.to(common)


def mse_loss(x: Tensor, y: Tensor, reduction: str = "mean") -> Tensor:
    check_target_size(x, y)
    return _table.MSE_LOSS.fn.apply(*_common_dtype(x, y), check_reduction(reduction))


def huber_forward(x: np.ndarray, y: np.ndarray, delta: float, scale: float, reduction: str) -> np.ndarray:
    """``0.5*d**2`` where ``|d| < delta``, else ``delta*(|d| - 0.5*delta)``, times ``scale``
    (SmoothL1 with ``beta`` is Huber with ``delta=beta`` divided by ``beta``)."""
    diff = x - y
    ad = np.abs(diff)
    loss = np.where(ad < delta, 0.5 * diff * diff, delta * (ad - 0.5 * delta))
    if scale != 1:
        loss = loss * scale
    return _reduce_array(loss.astype(diff.dtype, copy=False), reduction)


def huber_loss(x: Tensor, y: Tensor, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    check_target_size(x, y)
    # PyTorch's huber_loss computes in the input's dtype (float32 input, float64 target: float32)
    return _table.HUBER_LOSS.fn.apply(x, y.to(x.dtype), delta, 1, check_reduction(reduction))


def smooth_l1_loss(x: Tensor, y: Tensor, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    check_target_size(x, y)
    return _table.SMOOTH_L1_LOSS.fn.apply(*_common_dtype(x, y), beta, 1 / beta, check_reduction(reduction))


# -- classification losses ------------------------------------------------------------------

def _class_last(array: np.ndarray) -> np.ndarray:
    """(N, C, d1, ...) -> (N, d1, ..., C); (N, C) and (C,) unchanged."""
    return np.moveaxis(array, 1, -1) if array.ndim > 2 else array


@functools.lru_cache(maxsize=16)
def _rows(n: int) -> np.ndarray:
    """``arange(n)``, made once and read-only: the row index of a gather from or a scatter into
    an (n, C) array."""
    rows = np.arange(n)
    rows.flags.writeable = False
    return rows


def _nll_targets(t: np.ndarray, classes: int, ignore_index: int, dtype, weight):
    """Each sample's class (0 where ignored) and its weight (0 where ignored; None when every
    weight is 1), after PyTorch's bounds check."""
    # One reduction decides the common case: every target a class (negative ones wrap around
    # as unsigned, above any class) and ignore_index none of them.
    in_range = not t.size or bool(np.maximum.reduce(t.view(np.uint64) if t.dtype == np.int64 else t,
                                                    axis=None) < classes)
    every = in_range and not 0 <= ignore_index < classes
    valid = None if every else t != ignore_index
    if not every:
        every = bool(valid.all())
    safe = t if every else np.where(valid, t, 0)
    if not in_range and safe.size and (safe.min() < 0 or safe.max() >= classes):
        bad = valid & ((t < 0) | (t >= classes))
        raise IndexError(f"Target {int(t[bad].flat[0])} is out of bounds.")
    if weight is not None:
        wt = weight.astype(dtype, copy=False)[safe]
        return safe, (wt if every else np.where(valid, wt, dtype.type(0)))
    return safe, (None if every else valid.astype(dtype))


def nll_forward(x: np.ndarray, target: np.ndarray, weight, reduction: str, ignore_index: int):
    """The negative log likelihood of the targets' entries of ``x`` (class dim 1, or 0 for one
    sample), weighted (``weight``: an array or None) and reduced; then what backward reads: the
    total weight ``mean`` divides by (PyTorch's ``total_weight``), each sample's class and weight
    (see ``_nll_targets``)."""
    dtype = x.dtype
    if weight is None and reduction != "none":
        out = _kernels.nll_rows(x, target, ignore_index, reduction == "mean")
        if out is not None:  # the common case: a class per row, none ignored
            return out, np.asarray(target.size, dtype), target, None
    if x.ndim == 1:
        x = x[None]
    safe, wt = _nll_targets(target, x.shape[1], ignore_index, dtype, weight)
    if x.ndim == 2:
        picked = x[_rows(x.shape[0]), safe.reshape(-1)].reshape(safe.shape)
    else:
        picked = np.take_along_axis(_class_last(x), safe[..., None], -1)[..., 0]
    loss = np.negative(picked) if wt is None else np.negative(picked * wt)
    total = np.asarray(safe.size if wt is None else sum_array(wt, dtype=dtype), dtype)
    if reduction == "none":
        return loss, total, safe, wt
    out = sum_array(loss, dtype=dtype)
    if reduction == "mean":
        if total:
            out = np.asarray(out / total, dtype)
        else:  # every target ignored or weighted 0: 0/0, as in PyTorch
            with np.errstate(invalid="ignore", divide="ignore"):
                out = np.asarray(out / total, dtype)
    return out, total, safe, wt


def nll_grad(grad: np.ndarray, x: np.ndarray, reduction: str, total_weight, safe, wt) -> np.ndarray:
    """d nll / d x times ``grad``: ``-grad * w[t] (/ total_weight for mean)`` at each sample's
    target class, 0 elsewhere, written into one zeroed array (run under backward's quiet
    floating-point state: a total weight of 0 gives nan, as in PyTorch)."""
    dtype = grad.dtype
    shape = x.shape
    if wt is None and len(shape) == 2 and reduction != "none":
        return _kernels.nll_rows_backward(grad, x, safe, total_weight.astype(dtype, copy=False)
                                          if reduction == "mean" else None)
    coef = np.negative(grad)
    if reduction == "mean":
        coef = coef / total_weight.astype(dtype, copy=False)
    if wt is not None:
        coef = coef * wt.astype(dtype, copy=False)
    out = np.zeros(shape, dtype)
    if len(shape) == 1:
        out[safe] = coef
    elif len(shape) == 2:
        out[_rows(shape[0]), safe] = coef
    else:
        np.put_along_axis(_class_last(out), safe[..., None], np.broadcast_to(coef, safe.shape)[..., None], -1)
    return out


def nll_grad_tensor(grad: Tensor, x: Tensor, reduction: str, total_weight, safe, wt) -> Tensor:
    """``nll_grad`` under create_graph: ``grad`` times the constant pattern, differentiable in ``grad``."""
    with np.errstate(invalid="ignore", divide="ignore"):
        pattern = nll_grad(np.ones((), grad._data.dtype), x._data, "sum" if reduction == "none" else reduction,
                           total_weight, safe, wt)
    if reduction == "none" and x.ndim > 1:
        grad = grad.reshape(grad.shape[0], 1, *grad.shape[1:])
    return grad * wrap(pattern)


_NOT_DIFFERENTIABLE_WEIGHT = ("The function 'nll_loss_forward' is not differentiable with respect to argument "
                              "'weight'. This input cannot have requires_grad True.")


def nll_loss(logp: Tensor, target: Tensor, weight: Tensor | None = None, ignore_index: int = -100,
             reduction: str = "mean") -> Tensor:
    check_reduction(reduction)
    if target.dtype.name not in ("int64", "uint8"):
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got {scalar_type_name(target)}")
    if logp.ndim == 0 or logp.ndim - 1 != target.ndim and not (logp.ndim == 1 and target.ndim == 0):
        raise ValueError(f"Expected input batch_size ({logp.shape[0] if logp.ndim else 0}) to match target "
                         f"batch_size ({target.shape[0] if target.ndim else 0}).")
    if logp.ndim >= 2 and logp.shape[0] != target.shape[0]:
        raise ValueError(f"Expected input batch_size ({logp.shape[0]}) to match target batch_size "
                         f"({target.shape[0]}).")
    if weight is not None and weight._requires_grad and _grad_mode.enabled:
        raise RuntimeError(_NOT_DIFFERENTIABLE_WEIGHT)
    # The target and weight go in as arrays: they get no edge (PyTorch's node has one, to the input).
    w = None if weight is None else weight._data
    if logp.ndim <= 2:
        return _table.NLL_LOSS.fn.apply(logp, target._data, w, reduction, ignore_index)
    if logp.ndim == 4:
        return _table.NLL_LOSS2D.fn.apply(logp, target._data, w, reduction, ignore_index)
    # PyTorch's nll_loss_nd: other K-d inputs go through the 2-d op on an (N, C, 1, d1*d2...) view
    n, c = logp.shape[0], logp.shape[1]
    flat = logp.reshape(n, c, 1, -1) if logp.numel() else logp.reshape(n, c, 0, 0)
    t = target._data
    t = t.reshape(n, 1, -1) if t.size else t.reshape(n, 0, 0)
    out = _table.NLL_LOSS2D.fn.apply(flat, t, w, reduction, ignore_index)
    return out.reshape(n, *logp.shape[2:]) if reduction == "none" else out


def cross_entropy_of_classes(x: Tensor, target: Tensor, ignore_index: int, reduction: str) -> Tensor | None:
    """``cross_entropy``'s common case, a floating (N, C) input and (N,) int64 class indices reduced
    to one loss, as the two table nodes it records (``NllLossBackward0`` -> ``LogSoftmaxBackward0``),
    applied without the argument handling of ``log_softmax`` and ``nll_loss`` (the checks that case
    passes); None for any other input, which takes the general path (and its errors)."""
    logits, classes = x._data, target._data
    if (logits.ndim != 2 or logits.dtype.kind != "f" or classes.dtype is not _INT64
            or classes.shape != logits.shape[:1]):
        return None
    logp = _table.LOG_SOFTMAX.fn.apply(x, 1)
    return _table.NLL_LOSS.fn.apply(logp, classes, None, reduction, ignore_index)


_INT64 = np.dtype(np.int64)


def bce_forward(p: Tensor, y: Tensor, weight: Tensor | None, reduction: str) -> np.ndarray:
    x, t = p._data, y._data
    if ((x < 0) | (x > 1)).any():
        raise RuntimeError("all elements of input should be between 0 and 1")
    with np.errstate(divide="ignore"):
        log_p = np.maximum(np.log(x), x.dtype.type(-100))
        log_1mp = np.maximum(np.log1p(-x), x.dtype.type(-100))
    loss = -(t * log_p + (1 - t) * log_1mp)
    if weight is not None:
        loss = loss * weight._data
    return _reduce_array(loss.astype(x.dtype, copy=False), reduction)


def binary_cross_entropy(p: Tensor, y: Tensor, weight: Tensor | None = None, reduction: str = "mean") -> Tensor:
    check_reduction(reduction)
    if p.shape != y.shape:
        raise ValueError(f"Using a target size ({y.shape}) that is different to the input size ({p.shape}) "
                         "is deprecated. Please ensure they have the same size.")
    return _table.BINARY_CROSS_ENTROPY.fn.apply(p, y, weight, reduction)


def softplus_neg(a: np.ndarray) -> np.ndarray:
    """log(1 + exp(-a)), stably."""
    return np.log1p(np.exp(-np.abs(a))) + np.maximum(-a, 0)


def bce_logits_forward(x: Tensor, y: Tensor, weight: Tensor | None, pos_weight: Tensor | None,
                       reduction: str) -> np.ndarray:
    a, t = x._data, y._data
    if pos_weight is not None:
        loss = (1 - t) * a + ((pos_weight._data - 1) * t + 1) * softplus_neg(a)
    else:
        loss = (1 - t) * a + softplus_neg(a)
    if weight is not None:
        loss = loss * weight._data
    return _reduce_array(loss.astype(a.dtype, copy=False), reduction)


def binary_cross_entropy_with_logits(x: Tensor, y: Tensor, weight: Tensor | None = None,
                                     reduction: str = "mean", pos_weight: Tensor | None = None) -> Tensor:
    check_reduction(reduction)
    if x.shape != y.shape:
        raise ValueError(f"Target size ({y.shape}) must be the same as input size ({x.shape})")
    return _table.BINARY_CROSS_ENTROPY_WITH_LOGITS.fn.apply(x, y, weight, pos_weight, reduction)


# -- layer norm -------------------------------------------------------------------------------

def layer_norm_forward(x: Tensor, weight: Tensor | None, bias: Tensor | None, ndims: int, eps: float) -> tuple:
    """The normalized output, and its xhat and rstd for backward."""
    a = x._data
    axes = tuple(range(a.ndim - ndims, a.ndim))
    mean = mean_array(a, axis=axes, keepdims=True)
    centered = a - mean
    var = mean_array(centered * centered, axis=axes, keepdims=True)
    rstd = 1 / np.sqrt(var + eps)
    xhat = centered * rstd
    out = xhat
    if weight is not None:
        out = out * weight._data
    if bias is not None:
        out = out + bias._data
    return out.astype(a.dtype, copy=False), xhat, rstd


# The gradients of a normalization over ``axes`` (layer norm: the last dims; batch norm in
# training: all but the channel dim), on arrays from the kept xhat and rstd, or on Tensors
# recomputed from x so that they are differentiable again.

def _normalized_grad(gxhat, xhat, rstd, axes: tuple, mean):
    return rstd * (gxhat - mean(gxhat, axes) - xhat * mean(gxhat * xhat, axes))


def _mean_keep(a: np.ndarray, axes: tuple) -> np.ndarray:
    return mean_array(a, axis=axes, keepdims=True)


def _mean_keep_tensor(a: Tensor, axes: tuple) -> Tensor:
    return a.mean(axes, keepdim=True)


def _xhat_rstd_tensor(x: Tensor, axes: tuple, eps: float) -> tuple:
    centered = x - x.mean(axes, keepdim=True)
    rstd = ((centered * centered).mean(axes, keepdim=True) + eps) ** -0.5
    return centered * rstd, rstd


def _norm_axes(x, ndims: int) -> tuple:
    return tuple(range(x.ndim - ndims, x.ndim))


def layer_norm_grad_input(g: np.ndarray, x: np.ndarray, weight, ndims: int, eps: float, xhat, rstd) -> np.ndarray:
    gxhat = g if weight is None else g * weight
    return np.asarray(_normalized_grad(gxhat, xhat, rstd, _norm_axes(x, ndims), _mean_keep), g.dtype)


def layer_norm_grad_input_tensor(g: Tensor, x: Tensor, weight, ndims: int, eps: float, xhat, rstd) -> Tensor:
    axes = _norm_axes(x, ndims)
    xhat, rstd = _xhat_rstd_tensor(x, axes, eps)
    return _normalized_grad(g if weight is None else g * weight, xhat, rstd, axes, _mean_keep_tensor)


def layer_norm_grad_weight(g: np.ndarray, x: np.ndarray, ndims: int, eps: float, xhat) -> np.ndarray:
    return np.asarray(sum_array(g * xhat, axis=tuple(range(x.ndim - ndims))), g.dtype)


def layer_norm_grad_weight_tensor(g: Tensor, x: Tensor, ndims: int, eps: float, xhat) -> Tensor:
    batch_axes = tuple(range(x.ndim - ndims))
    g_xhat = g * _xhat_rstd_tensor(x, _norm_axes(x, ndims), eps)[0]
    return g_xhat.sum(batch_axes) if batch_axes else g_xhat


def sum_over(g, axes: tuple):
    """``g`` summed over ``axes`` (arrays or Tensors; the gradient of a bias)."""
    if isinstance(g, np.ndarray):
        return np.asarray(sum_array(g, axis=axes), g.dtype)
    return g.sum(axes) if axes else g


def layer_norm(x: Tensor, normalized_shape, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Layer normalisation over the last dimensions."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if tuple(x.shape[x.ndim - len(shape):]) != shape or len(shape) > x.ndim:
        raise RuntimeError(f"Given normalized_shape={list(shape)}, expected input with shape "
                           f"[*, {', '.join(map(str, shape))}], but got input of size{x.shape}")
    return _table.NATIVE_LAYER_NORM.fn.apply(x, weight, bias, len(shape), eps)


# -- embedding ---------------------------------------------------------------------------------

class Embedding(Function):
    _backward_name = "EmbeddingBackward0"

    @staticmethod
    @quietly
    def forward(ctx, weight, indices, padding_idx):
        idx = indices._data
        rows = weight._data.shape[0]
        if idx.size and (idx.min() < 0 or idx.max() >= rows):
            raise IndexError("index out of range in self")
        ctx.indices, ctx.rows, ctx.padding_idx = idx, rows, padding_idx
        return wrap(weight._data[idx])

    @staticmethod
    def backward(ctx, g):
        return EmbeddingDenseBackward.apply(g, ctx.indices, ctx.rows, ctx.padding_idx), None, None

    jvp = staticmethod(linear_jvp)


class EmbeddingDenseBackward(Function):
    """Scatter-add of the rows' gradients; its own backward gathers them again."""
    jvp = staticmethod(linear_jvp)

    _backward_name = "EmbeddingDenseBackward0"

    @staticmethod
    @quietly
    def forward(ctx, g, indices, rows, padding_idx):
        ctx.indices, ctx.padding_idx = indices, padding_idx
        gd = g._data
        out = np.zeros((rows,) + gd.shape[indices.ndim:], gd.dtype)
        np.add.at(out, indices, gd)
        if padding_idx is not None:
            out[padding_idx] = 0
        return wrap(out)

    @staticmethod
    def backward(ctx, gg):
        idx = ctx.indices
        if ctx.padding_idx is not None:
            gg = gg * wrap(np.where(np.arange(gg.shape[0]) == ctx.padding_idx, 0, 1)
                           .astype(gg._data.dtype).reshape((-1,) + (1,) * (gg.ndim - 1)))
        return Embedding.apply(gg, wrap(idx), None), None, None, None


def embedding(indices: Tensor, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    if indices.dtype.is_floating_point:
        raise RuntimeError("Expected tensor for argument #1 'indices' to have one of the following scalar "
                           "types: Long, Int; but got torch.FloatTensor instead (while checking arguments "
                           "for embedding)")
    if padding_idx is not None and padding_idx < 0:
        padding_idx += weight.shape[0]
    return Embedding.apply(weight, indices, padding_idx)


# -- batch norm --------------------------------------------------------------------------------

def _channel_shape(x) -> tuple:
    return (1, x.shape[1]) + (1,) * (x.ndim - 2)


def batch_norm_forward(x: Tensor, weight: Tensor | None, bias: Tensor | None, mean: np.ndarray, var: np.ndarray,
                       training: bool, eps: float) -> tuple:
    """Each channel (dim 1) normalized by ``mean`` and ``var``: the batch's own statistics when
    ``training`` (so they depend on ``x`` in backward), else the running ones (constants).
    Returns the output, and its xhat and rstd for backward."""
    a = x._data
    shape = _channel_shape(x)
    rstd = (1 / np.sqrt(var + eps)).reshape(shape)
    xhat = (a - mean.reshape(shape)) * rstd
    out = xhat
    if weight is not None:
        out = out * weight._data.reshape(shape)
    if bias is not None:
        out = out + bias._data.reshape(shape)
    return out.astype(a.dtype, copy=False), xhat.astype(a.dtype, copy=False), rstd


def channel_axes(x) -> tuple:
    return (0,) + tuple(range(2, x.ndim))


def batch_norm_grad_input(g: np.ndarray, x: np.ndarray, weight, mean, training: bool, eps: float, xhat, rstd):
    gxhat = g if weight is None else g * weight.reshape(_channel_shape(x))
    if training:
        return np.asarray(_normalized_grad(gxhat, xhat, rstd, channel_axes(x), _mean_keep), g.dtype)
    return np.asarray(gxhat * rstd, g.dtype)


def _batch_xhat_rstd_tensor(x: Tensor, mean, training: bool, eps: float, rstd) -> tuple:
    if training:
        return _xhat_rstd_tensor(x, channel_axes(x), eps)
    rstd = wrap(rstd.astype(x._data.dtype))
    return (x - wrap(mean.reshape(_channel_shape(x)).astype(x._data.dtype))) * rstd, rstd


def batch_norm_grad_input_tensor(g: Tensor, x: Tensor, weight, mean, training: bool, eps: float, xhat, rstd):
    xhat, rstd = _batch_xhat_rstd_tensor(x, mean, training, eps, rstd)
    gxhat = g if weight is None else g * weight.reshape(_channel_shape(x))
    if training:
        return _normalized_grad(gxhat, xhat, rstd, channel_axes(x), _mean_keep_tensor)
    return gxhat * rstd


def batch_norm_grad_weight(g: np.ndarray, x: np.ndarray, mean, training: bool, eps: float, xhat, rstd):
    return np.asarray(sum_array(g * xhat, axis=channel_axes(x)), g.dtype)


def batch_norm_grad_weight_tensor(g: Tensor, x: Tensor, mean, training: bool, eps: float, xhat, rstd):
    return (g * _batch_xhat_rstd_tensor(x, mean, training, eps, rstd)[0]).sum(channel_axes(x))


@quietly  # the batch statistics on the arrays
def batch_norm(x: Tensor, running_mean: Tensor | None, running_var: Tensor | None, weight: Tensor | None = None,
               bias: Tensor | None = None, training: bool = False, momentum: float = 0.1,
               eps: float = 1e-5) -> Tensor:
    if _check_batch_norm_args(x, running_mean, running_var, weight, bias, training):
        out = x.clone()  # an empty input, as PyTorch: its arguments are not checked further
        out = out if weight is None else out * weight[0]
        return out if bias is None else out + bias[0]
    if training:
        axes = (0,) + tuple(range(2, x.ndim))
        a = x._data
        mean = mean_array(a, axis=axes)
        centered = a - mean.reshape(_channel_shape(x))
        var = mean_array(centered * centered, axis=axes)
        n = a.size // a.shape[1]
        if running_mean is not None:
            running_mean._data[...] = (1 - momentum) * running_mean._data + momentum * mean
            running_mean._version.value += 1
        if running_var is not None:
            running_var._data[...] = (1 - momentum) * running_var._data + momentum * var * (n / (n - 1))
            running_var._version.value += 1
    else:
        mean, var = running_mean._data, running_var._data
    return _table.NATIVE_BATCH_NORM.fn.apply(x, weight, bias, mean, var, bool(training), eps)


def _check_batch_norm_args(x, running_mean, running_var, weight, bias, training) -> bool:
    """PyTorch's checks of ``batch_norm``'s arguments, in its order and words; True for an empty input."""
    if x.ndim < 2:
        raise ValueError(f"Expected 2D or higher input, got {x.ndim}D input")
    shape = x._data.shape
    if training and shape[0] * math.prod(shape[2:]) == 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input size {x.shape}")
    if x._data.size == 0:
        return True
    features = shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                    ("bias", bias)):
        if t is not None and t._data.size != features:
            raise RuntimeError(f"{name} should contain {features} elements not {t._data.size}")
        if t is None and not training and name.startswith("running"):
            raise RuntimeError(f"{name} must be defined in evaluation mode")
    if (running_mean is None) != (running_var is None):
        raise ValueError("running_mean and running_var must either both be None or neither be None")
    return False


def norm_tangent(x_t, w_t, b_t, weight, xhat, rstd, axes: tuple, batch_statistics: bool, shape):
    """The forward-mode rule of layer and batch norm: the tangent of ``xhat * weight + bias``,
    ``xhat = (x - mean) * rstd``.  With the statistics of ``x`` itself they move with it (their
    tangents subtract the mean and the projection on xhat).  ``shape``: how a per-feature
    parameter broadcasts (None: as it is)."""
    xhat, rstd = wrap(xhat), wrap(rstd)
    per_feature = (lambda p: p) if shape is None else (lambda p: p.reshape(shape))
    if batch_statistics:
        centered = x_t - x_t.mean(axes, keepdim=True)
        xhat_t = rstd * (centered - xhat * (xhat * centered).mean(axes, keepdim=True))
    else:
        xhat_t = x_t * rstd
    if weight is not None:
        xhat_t = xhat_t * per_feature(weight)
    return tangent_sum(xhat_t, None if w_t is None else xhat * per_feature(w_t),
                       None if b_t is None else per_feature(b_t))