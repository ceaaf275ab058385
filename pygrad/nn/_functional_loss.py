"""Losses PyTorch composes from other ops (``kl_div``, the margin and embedding losses,
``poisson_nll_loss``, ``gaussian_nll_loss``), written as the same compositions so their graphs
and ``grad_fn`` names are PyTorch's.  Its C++ composites add numbers with ``at::add(x, c)``
(``AddBackward1``, the table's ``_add_scalar``) where Python's ``x + c`` is ``AddBackward0``,
and subtract tensors from numbers as ``SubBackward0`` of a wrapped number."""
from __future__ import annotations

import math
import warnings

import numpy as np

from ..autograd.grad_mode import no_grad
from ..creation import ones_like
from ..ops import nn as _nn
from ..ops._util import binary_operands
from ..ops import optable_nn as _scalar
from ..ops.optable import FUNCTIONAL as _TABLE
from ..ops.optable import FUNCTIONS as _F
from ..ops.optable import NORM_DIM, where
from .._errors import size_str
from ..tensor import Tensor
from . import functional as _functional  # (partly initialised here: read at call time)

__all__ = ["soft_margin_loss", "multi_margin_loss", "multilabel_margin_loss", "kl_div", "margin_ranking_loss", "hinge_embedding_loss", "multilabel_soft_margin_loss",
           "cosine_embedding_loss", "triplet_margin_loss", "poisson_nll_loss", "gaussian_nll_loss"]


def _plus(x: Tensor, c: float) -> Tensor:
    return _scalar.ADD_SCALAR.fn.apply(x, float(c))


def _number_minus(c: float, x: Tensor) -> Tensor:
    """``c - x`` as at::sub of a wrapped number (SubBackward0), in x's dtype."""
    return _F["sub"](Tensor._wrap(np.asarray(c, dtype=x._data.dtype)), x)


def _zeros_like(x: Tensor) -> Tensor:
    return Tensor._wrap(np.zeros(x._data.shape, x._data.dtype))


def kl_div(input: Tensor, target: Tensor, size_average=None, reduce=None, reduction: str = "mean",
           log_target: bool = False) -> Tensor:
    """The Kullback-Leibler divergence of ``target`` from the log-probabilities ``input``
    (``reduction='batchmean'``: the sum divided by the batch size, the mathematical definition)."""
    if size_average is not None or reduce is not None:
        reduction = _functional._legacy_reduction(size_average, reduce, reduction)
    elif reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the support size."
                      "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
                      "'mean' will be changed to behave the same as 'batchmean' in the next major release.",
                      stacklevel=2)
    if log_target:
        loss = target.exp() * (target - input)
    else:
        loss = _F["xlogy"](target, target) - target * input
    reduced = _functional._reduce(loss, "sum" if reduction == "batchmean" else reduction)
    if reduction == "batchmean" and input.ndim != 0:
        reduced = reduced / input.shape[0]
    return reduced


def soft_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                     reduction: str = "mean") -> Tensor:
    """The logistic loss ``log(1 + exp(-target * input))`` of targets 1 and -1."""
    reduction = _nn.check_reduction(_functional._legacy_reduction(size_average, reduce, reduction))
    if target.requires_grad:
        raise RuntimeError("The function 'soft_margin_loss' is not differentiable with respect to argument "
                           "'target'. This input cannot have requires_grad True.")
    return _scalar.SOFT_MARGIN_LOSS.fn.apply(*binary_operands(input, target), reduction)


def _sizes_of(shape) -> str:
    return "[" + ", ".join(map(str, shape)) + "]"


def _margin_input(input: Tensor, target: Tensor, name: str) -> None:
    if input.ndim > 2 or input.numel() == 0 and input.ndim != 2:
        raise RuntimeError(f"Expected non-empty vector or matrix with optional 0-dim batch size, but got: "
                           f"{_sizes_of(input.shape)}")
    if target.dtype.name != "int64":
        raise RuntimeError(f"expected scalar type Long but found {target.dtype._tensor_type[:-6]}")


def multi_margin_loss(input: Tensor, target: Tensor, p: int = 1, margin: float = 1.0, weight: Tensor | None = None,
                      size_average=None, reduce=None, reduction: str = "mean") -> Tensor:
    """The multi-class hinge loss: ``sum_j max(0, margin - x[y] + x[j])**p / C`` over the classes j != y."""
    reduction = _nn.check_reduction(_functional._legacy_reduction(size_average, reduce, reduction))
    if p != 1 and p != 2:
        raise ValueError("only p == 1 and p == 2 supported")
    if weight is not None and weight.ndim != 1:
        raise ValueError("weight must be one-dimensional")
    _margin_input(input, target, "multi_margin_loss")
    classes = input.shape[-1] if input.ndim else 1
    samples = input.shape[0] if input.ndim == 2 else 1
    if target.ndim > 1 or target.numel() != samples:
        raise RuntimeError(f"multi_margin_loss: target tensor should be 1-D with size equal to the number of input "
                           f"samples (batch size). Expected target size [{samples}], but got "
                           f"{_sizes_of(target.shape)}. Input has shape {_sizes_of(input.shape)}.")
    if weight is not None and weight.numel() != classes:
        raise RuntimeError(f"inconsistent weight size, expected {classes} but got {_sizes_of(weight.shape)}")
    t = target._data
    if t.size and (t.min() < 0 or t.max() >= classes):
        raise RuntimeError("target out of range")
    return _scalar.MULTI_MARGIN_LOSS.fn.apply(input, target, weight, float(p), float(margin), reduction)


def multilabel_margin_loss(input: Tensor, target: Tensor, size_average=None, reduce=None,
                           reduction: str = "mean") -> Tensor:
    """The multi-label hinge loss: ``sum max(0, 1 - (x[j] - x[k])) / C`` over the target classes j (the
    leading entries of ``target`` before a -1) and the other classes k."""
    reduction = _nn.check_reduction(_functional._legacy_reduction(size_average, reduce, reduction))
    _margin_input(input, target, "multilabel_margin_loss")
    if target.shape != input.shape:
        raise RuntimeError(f"inconsistent target size: {_sizes_of(target.shape)} for input of size: "
                           f"{_sizes_of(input.shape)}")
    t = target._data
    if t.size and (t.min() < -1 or t.max() >= (input.shape[-1] if input.ndim else 1)):
        raise RuntimeError("argument #2 'target' is out of range")
    return _scalar.MULTILABEL_MARGIN_LOSS.fn.apply(input, target, reduction)


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0, size_average=None,
                        reduce=None, reduction: str = "mean") -> Tensor:
    """``max(0, -target * (input1 - input2) + margin)``."""
    reduction = _functional._legacy_reduction(size_average, reduce, reduction)
    if input1.ndim != input2.ndim or input1.ndim != target.ndim:
        raise RuntimeError(f"margin_ranking_loss : All input tensors should have same dimension but got sizes: "
                           f"input1: {size_str(input1.shape)}, input2: {size_str(input2.shape)}, "
                           f"target: {size_str(target.shape)} ")
    return _functional._reduce(_plus(-target * (input1 - input2), margin).clamp_min_(0), reduction)


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0, size_average=None, reduce=None,
                         reduction: str = "mean") -> Tensor:
    """``input`` where ``target`` is 1, ``max(0, margin - input)`` where it is -1."""
    reduction = _functional._legacy_reduction(size_average, reduce, reduction)
    zeros = _zeros_like(input)
    margin_clamp = _number_minus(margin, input).clamp_min_(0)
    loss = where(target != 1, margin_clamp, zeros) + where(target != -1, input, zeros)
    return _functional._reduce(loss, reduction)


def multilabel_soft_margin_loss(input: Tensor, target: Tensor, weight: Tensor | None = None, size_average=None,
                                reduce=None, reduction: str = "mean") -> Tensor:
    """The binary cross-entropy of each class's logit, averaged over the classes."""
    reduction = _functional._legacy_reduction(size_average, reduce, reduction)
    logsigmoid = _TABLE["logsigmoid"]
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    class_dim = input.ndim - 1
    loss = loss.sum(dim=class_dim) / input.shape[class_dim]
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    return _functional._reduce(loss, reduction)


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0, size_average=None,
                          reduce=None, reduction: str = "mean") -> Tensor:
    """``1 - cos(input1, input2)`` where ``target`` is 1, ``max(0, cos - margin)`` where it is -1."""
    reduction = _functional._legacy_reduction(size_average, reduce, reduction)
    dim = target.ndim
    if dim not in (0, 1):
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    expected = 2 if dim == 1 else 1
    if input1.ndim != expected or input2.ndim != expected:
        raise RuntimeError(f"{dim}D target tensor expects {expected}D input tensors, but found inputs with sizes "
                           f"{_sizes(input1)} and {_sizes(input2)}.")
    eps = 1e-12
    prod_sum = (input1 * input2).sum(dim)
    mag_square1 = _plus((input1 * input1).sum(dim), eps)
    mag_square2 = _plus((input2 * input2).sum(dim), eps)
    cos = prod_sum / (mag_square1 * mag_square2).sqrt_()
    zeros = _zeros_like(cos)
    pos = _number_minus(1.0, cos)
    neg = _scalar.SUB_SCALAR.fn.apply(cos, float(margin)).clamp_min_(0)
    loss = where(target == 1, pos, zeros) + where(target == -1, neg, zeros)
    return _functional._reduce(loss, reduction)


def _sizes(t: Tensor) -> str:
    """A shape as PyTorch's C++ messages print it: [2, 3]."""
    return "[" + ", ".join(map(str, t.shape)) + "]"


def _pairwise_distance(x1: Tensor, x2: Tensor, p: float, eps: float, keepdim: bool = False) -> Tensor:
    """at::pairwise_distance: ``norm(x1 - x2 + eps, p)`` over the last dim (NormBackward1)."""
    dim = max(x1.ndim, x2.ndim) - 1
    return NORM_DIM.fn.apply(_plus(x1 - x2, eps), float(p), (dim,), keepdim)


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0, p: float = 2,
                        eps: float = 1e-6, swap: bool = False, size_average=None, reduce=None,
                        reduction: str = "mean") -> Tensor:
    """``max(0, d(anchor, positive) - d(anchor, negative) + margin)`` with the ``p``-norm distance."""
    reduction = _functional._legacy_reduction(size_average, reduce, reduction)
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    dims = (anchor.ndim, positive.ndim, negative.ndim)
    if len(set(dims)) != 1:
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have the same number of "
                           f"dimensions, but got: anchor {dims[0]}D, positive {dims[1]}D, and negative "
                           f"{dims[2]}D inputs")
    dist_pos = _pairwise_distance(anchor, positive, p, eps)
    dist_neg = _pairwise_distance(anchor, negative, p, eps)
    if swap:
        dist_neg = _F["min"](dist_neg, _pairwise_distance(positive, negative, p, eps))
    return _functional._reduce(_plus(dist_pos, margin).sub(dist_neg).clamp_min(0), reduction)


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool = True, full: bool = False, size_average=None,
                     eps: float = 1e-8, reduce=None, reduction: str = "mean") -> Tensor:
    """The negative log-likelihood of ``target`` under a Poisson distribution of rate ``input``
    (``exp(input)`` with ``log_input``); ``full`` adds Stirling's approximation of log(target!)."""
    if size_average is not None or reduce is not None:
        reduction = _functional._legacy_reduction(size_average, reduce, reduction)
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not a valid value for reduction")
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * _plus(input, eps).log()
    if full:
        stirling = (target * target.log() - target
                    + _scalar.MUL_SCALAR.fn.apply(_scalar.MUL_SCALAR.fn.apply(target, 2 * math.pi).log(), 0.5))
        loss = loss + stirling.masked_fill(target <= 1, 0)
    return _functional._reduce(loss, reduction)


def gaussian_nll_loss(input: Tensor, target: Tensor, var, full: bool = False, eps: float = 1e-6,
                      reduction: str = "mean") -> Tensor:
    """The negative log-likelihood of ``target`` under a normal distribution of mean ``input`` and
    variance ``var`` (a tensor, one dim short of ``input``, or a number)."""
    if isinstance(var, float):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = var * ones_like(input)
    elif bool((var < 0).any()):
        raise ValueError("var has negative entry/entries")
    if var.shape != input.shape:
        if input.shape[:-1] == var.shape:
            var = var.unsqueeze(-1)
        elif not (input.ndim == var.ndim
                  and sum(y for x, y in zip(input.shape, var.shape) if x != y) == 1):
            raise ValueError("var is of incorrect size")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    var = var.clone()
    with no_grad():
        var.clamp_(min=eps)
    loss = 0.5 * (var.log() + (input - target) ** 2 / var)
    if full:
        loss += 0.5 * math.log(2 * math.pi)
    return _functional._reduce(loss, reduction)
