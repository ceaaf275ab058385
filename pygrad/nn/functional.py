"""``pygrad.nn.functional``: layers and losses as functions, with PyTorch's signatures.

The fused ops live in ``pygrad/ops/nn.py`` and ``pygrad/ops/conv.py``, softmax in
``pygrad/ops/activation.py`` and the elementwise activations in the op table
(``pygrad/ops/optable.py``, re-exported here); this module adds PyTorch's argument handling and
composes the rest.
"""
from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np

from .. import creation
from ..ops import activation as _activation
from ..ops import conv as _conv
from ..ops import nn as _nn
from ..ops.activation import log_softmax, softmax
from ..ops.optable import where
from ..ops.optable import FUNCTIONAL as _TABLE_FUNCTIONAL
from ..tensor import Tensor
from ._functional_attention import multi_head_attention_forward, scaled_dot_product_attention
from ._functional_misc import (bilinear, cosine_similarity, group_norm, instance_norm, interpolate,
                               pairwise_distance, pixel_shuffle, pixel_unshuffle, upsample, upsample_bilinear,
                               upsample_nearest)
from ._functional_conv import conv1d, conv2d, conv_transpose1d, conv_transpose2d
from . import _functional_activation
from ._functional_activation import *  # noqa: F401,F403  relu6, prelu, rrelu, softsign, softmin, normalize, elu_ ...
from . import _functional_loss
from . import _functional_layers
from ._functional_layers import *  # noqa: F401,F403  1-D pooling, channel and alpha dropout, rms_norm
from ._functional_loss import *  # noqa: F401,F403  kl_div, margin and embedding losses, poisson/gaussian nll

__all__ = ["linear", "relu", "sigmoid", "tanh", "gelu", "leaky_relu", "elu", "softplus", "silu",
           "softmax", "log_softmax", "dropout", "one_hot", "layer_norm", "batch_norm", "embedding", "conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "pad",
           "multi_head_attention_forward", "scaled_dot_product_attention", "bilinear", "cosine_similarity", "group_norm", "instance_norm", "interpolate", "pairwise_distance", "pixel_shuffle", "pixel_unshuffle", "upsample", "upsample_nearest", "upsample_bilinear", "mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "nll_loss", "cross_entropy", "binary_cross_entropy",
           "binary_cross_entropy_with_logits"]
__all__ += _functional_activation.__all__ + _functional_loss.__all__ + _functional_layers.__all__ + ["hardtanh", "hardsigmoid", "hardswish", "selu", "celu", "mish", "logsigmoid",
                                             "softshrink", "hardshrink", "threshold", "glu"]

layer_norm = _nn.layer_norm


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None, weight: Tensor | None = None,
               bias: Tensor | None = None, training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Batch normalisation with the given (or batch) statistics."""
    return _nn.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)

max_pool2d = _conv.max_pool2d
avg_pool2d = _conv.avg_pool2d
adaptive_avg_pool2d = _conv.adaptive_avg_pool2d
pad = _conv.pad


globals().update(_TABLE_FUNCTIONAL)  # linear, softmax, log_softmax, gelu, leaky_relu, elu, softplus, silu, ...
if TYPE_CHECKING:  # the same functions as type checkers see them
    from ._table_functional import *  # noqa: F401,F403


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """``max(x, 0)`` elementwise (in place with ``inplace=True``)."""
    return input.relu_() if inplace else input.relu()


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by ``1/(1-p)``; identity when
    not training.  The mask comes from pygrad's generator (``pygrad.manual_seed``)."""
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    dt = input._data.dtype
    if p == 1.0:
        mask = np.zeros(input.shape, dt)
        return input.mul_(Tensor._wrap(mask)) if inplace else input * Tensor._wrap(mask)
    else:
        keep = creation.generator().random(input.shape) >= p
        mask = keep.astype(dt) * dt.type(1.0 / (1.0 - p))
    return input.mul_(Tensor._wrap(mask)) if inplace else input * Tensor._wrap(mask)


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """Class indices as int64 one-hot rows along a new last dim."""
    if tensor.dtype.is_floating_point or tensor.dtype.name == "bool":
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    idx = tensor._data
    if idx.size and idx.min() < 0:
        raise RuntimeError("Class values must be non-negative.")
    if num_classes == -1:
        num_classes = int(idx.max()) + 1 if idx.size else 0
    elif idx.size and idx.max() >= num_classes:
        raise RuntimeError("Class values must be smaller than num_classes.")
    return Tensor._wrap((idx[..., None] == np.arange(num_classes)).astype(np.int64))


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None, max_norm=None,
              norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """The rows of ``weight`` at the indices ``input``."""
    if max_norm is not None or scale_grad_by_freq or sparse:
        raise NotImplementedError("pygrad's embedding supports padding_idx only")
    return _nn.embedding(input, weight, padding_idx)


def _legacy_reduction(size_average, reduce, reduction: str) -> str:
    """``reduction`` from the deprecated ``size_average``/``reduce`` pair, with PyTorch's warning."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    reduction = "none" if not reduce else "mean" if size_average else "sum"
    warnings.warn(f"size_average and reduce args will be deprecated, please use reduction='{reduction}' instead.")
    return reduction


def mse_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
             weight=None) -> Tensor:
    """The mean squared error."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if weight is not None:
        raise NotImplementedError("pygrad's mse_loss has no weight argument")
    return _nn.mse_loss(input, target, reduction)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight=None) -> Tensor:
    """The Huber loss: squared below ``delta``, linear above."""
    if weight is not None:
        raise NotImplementedError("pygrad's huber_loss has no weight argument")
    return _nn.huber_loss(input, target, reduction, delta)


def smooth_l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
                   beta: float = 1.0) -> Tensor:
    """The smooth L1 loss: squared below ``beta``, linear above."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if beta == 0.0:  # PyTorch falls back to the L1 loss here
        return l1_loss(input, target, reduction=reduction)
    return _nn.smooth_l1_loss(input, target, reduction, beta)


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    _nn.check_reduction(reduction)
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def l1_loss(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
            weight=None) -> Tensor:
    """The mean absolute error."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _nn.check_target_size(input, target)
    return _reduce((input - target).abs(), reduction)


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
             ignore_index: int = -100, reduce=None, reduction: str = "mean") -> Tensor:
    """The negative log-likelihood of log-probabilities and class indices."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    return _nn.nll_loss(input, target, weight, ignore_index, reduction)


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
                  ignore_index: int = -100, reduce=None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """``log_softmax`` over the class dim (1, or 0 for unbatched input) followed by ``nll_loss``,
    as PyTorch composes it (``loss.grad_fn`` is ``NllLossBackward0``, its next ``LogSoftmaxBackward0``);
    ``target`` holds class indices or, as a float tensor of the input's shape, probabilities."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if (weight is None and not label_smoothing and (reduction == "mean" or reduction == "sum")
            and type(target) is Tensor and type(input) is Tensor):
        loss = _nn.cross_entropy_of_classes(input, target, ignore_index, reduction)
        if loss is not None:
            return loss
    _nn.check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
    class_dim = 0 if input.ndim == 1 else 1
    logp = _activation.log_softmax(input, class_dim)
    if not target.dtype.is_floating_point:
        nll = _nn.nll_loss(logp, target, weight, ignore_index, reduction)
        return nll if label_smoothing == 0.0 else _smoothed(nll, logp, target, weight, ignore_index, reduction,
                                                            label_smoothing, class_dim)
    if target.shape != input.shape:  # class probabilities
        raise RuntimeError("Expected floating point target to have the same shape as input")
    classes = input.shape[class_dim]
    if label_smoothing > 0:
        target = target * (1 - label_smoothing) + label_smoothing / classes
    terms = logp * target if weight is None else logp * target * _class_weight(weight, input.ndim, class_dim)
    if reduction == "none":
        return -terms.sum(class_dim)
    loss = -terms.sum()
    if reduction == "mean":
        return loss / (input.numel() // classes) if input.numel() else loss * float("nan")
    return loss


def _class_weight(weight: Tensor, ndim: int, class_dim: int) -> Tensor:
    """``weight`` shaped to broadcast along the class dim of an ``ndim``-d input."""
    return weight.reshape(*([weight.shape[0]] + [1] * (ndim - class_dim - 1)))


def _smoothed(nll: Tensor, logp: Tensor, target: Tensor, weight, ignore_index: int, reduction: str,
              label_smoothing: float, class_dim: int) -> Tensor:
    """Cross-entropy with class-index targets and label smoothing, as PyTorch computes it:
    ``(1 - s) * nll + s / C * (the loss against the uniform distribution)``."""
    classes = logp.shape[class_dim]
    smooth = -(logp if weight is None else logp * _class_weight(weight, logp.ndim, class_dim)).sum(class_dim)
    ignored = Tensor._wrap(target._data == ignore_index)
    smooth = where(ignored, 0.0, smooth)
    if reduction == "mean":
        kept = target._data[target._data != ignore_index]
        if weight is None:
            smooth = smooth.sum() / float(kept.size)
        else:
            smooth = smooth.sum() / Tensor._wrap(weight._data[kept].sum())
    elif reduction == "sum":
        smooth = smooth.sum()
    return nll * (1 - label_smoothing) + smooth * (label_smoothing / classes)


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
                         reduce=None, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy between probabilities and targets."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    return _nn.binary_cross_entropy(input, target, weight, reduction)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                     size_average=None, reduce=None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """Binary cross-entropy on logits (numerically stable)."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    return _nn.binary_cross_entropy_with_logits(input, target, weight, reduction, pos_weight)
