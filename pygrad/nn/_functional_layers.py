"""1-D pooling, channel-wise and alpha dropout and ``rms_norm``, composed as PyTorch composes
them: a 1-D pool is the 2-D pool of ``input.unsqueeze(-2)`` squeezed back (``SqueezeBackward1``
of ``MaxPool2DWithIndicesBackward0``...), dropout multiplies by a noise tensor, ``rms_norm`` is
``x * rsqrt(mean(x**2) + eps)``."""
from __future__ import annotations

import warnings

import numpy as np

from .. import creation
from ..ops import conv as _conv
from ..ops import optable_nn as _scalar
from ..tensor import Tensor

__all__ = ["max_pool1d", "avg_pool1d", "adaptive_avg_pool1d", "adaptive_max_pool1d", "adaptive_max_pool2d", "unfold", "fold", "lp_pool1d", "lp_pool2d", "dropout1d", "dropout2d", "dropout3d",
           "alpha_dropout", "feature_alpha_dropout", "rms_norm"]


def _single(value) -> int:
    return int(value[0]) if isinstance(value, (tuple, list)) else int(value)


def _check_dims(name: str, input: Tensor) -> None:
    if input.ndim not in (2, 3):
        raise RuntimeError(f"Expected 2 to 3 dimensions, but got {input.ndim}-dimensional tensor for argument #1 "
                           f"'self' (while checking arguments for {name})")


def max_pool1d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False) -> Tensor:
    """1-D max pooling over windows (the 2-D pooling of ``input.unsqueeze(-2)``)."""
    if input.ndim not in (2, 3):
        raise RuntimeError("max_pool1d: Expected 2D or 3D (batch mode) tensor with optional 0 dim batch size for "
                           f"input, but got:[{', '.join(map(str, input.shape))}]")
    kernel = _single(kernel_size)
    stride = kernel if stride is None or stride == () else _single(stride)
    out = _conv.max_pool2d(input.unsqueeze(-2), (1, kernel), (1, stride), (0, _single(padding)),
                           (1, _single(dilation)), ceil_mode, return_indices)
    return out.squeeze(-2)


def avg_pool1d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """1-D average pooling over windows (the 2-D pooling of ``input.unsqueeze(-2)``)."""
    _check_dims("avg_pool1d", input)
    kernel = _single(kernel_size)
    stride = kernel if stride is None or stride == () else _single(stride)
    out = _conv.avg_pool2d(input.unsqueeze(-2), (1, kernel), (1, stride), (0, _single(padding)), ceil_mode,
                           count_include_pad)
    return out.squeeze(-2)


def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    """1-D average pooling to a fixed output size."""
    _check_dims("adaptive_avg_pool1d", input)
    return _conv.adaptive_avg_pool2d(input.unsqueeze(-2), (1, _single(output_size))).squeeze(-2)


def adaptive_max_pool1d(input: Tensor, output_size, return_indices: bool = False):
    """1-D max pooling to a fixed output size (and, with ``return_indices``, where each maximum was)."""
    _check_dims("adaptive_max_pool1d", input)
    out, indices = _conv.adaptive_max_pool2d(input.unsqueeze(-2), (1, _single(output_size)), True)
    return (out.squeeze(-2), indices.squeeze(-2)) if return_indices else out.squeeze(-2)


adaptive_max_pool2d = _conv.adaptive_max_pool2d
unfold, fold = _conv.unfold, _conv.fold


def _lp_pool(input: Tensor, norm_type: float, kernel_size, stride, ceil_mode: bool, window: int, max_pool,
             avg_pool) -> Tensor:
    """PyTorch's power-average pooling: ``(sum over the window of x**p) ** (1/p)``, through the
    average pool (max pooling of |x| for p = +-inf)."""
    if norm_type == float("inf"):
        return max_pool(input.abs(), kernel_size, stride, 0, 1, ceil_mode)
    if norm_type == -float("inf"):
        return -max_pool(-input.abs(), kernel_size, stride, 0, 1, ceil_mode)
    out = avg_pool(input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    return (out.sign() * out.abs().relu()).mul(window).pow(1.0 / norm_type)


def lp_pool1d(input: Tensor, norm_type: float, kernel_size: int, stride=None, ceil_mode: bool = False) -> Tensor:
    """1-D power-average pooling: the ``norm_type``-norm of each window."""
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, _single(kernel_size), max_pool1d, avg_pool1d)


def lp_pool2d(input: Tensor, norm_type: float, kernel_size, stride=None, ceil_mode: bool = False) -> Tensor:
    """2-D power-average pooling: the ``norm_type``-norm of each window."""
    kh, kw = kernel_size if isinstance(kernel_size, (tuple, list)) else (kernel_size, kernel_size)
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, kh * kw, _conv.max_pool2d, _conv.avg_pool2d)


# -- dropout ---------------------------------------------------------------------------------------

def _check_p(p: float) -> None:
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _noise_dropout(input: Tensor, p: float, training: bool, inplace: bool, feature: bool, alpha: bool) -> Tensor:
    """PyTorch's ``_dropout_impl``: ``input * noise`` (``+ b`` for alpha dropout), the noise drawn
    per element, or per channel (dims 0 and 1) with ``feature``, from pygrad's generator."""
    if p == 0 or not training or input.numel() == 0:
        return input
    dt = input._data.dtype
    if p == 1:
        zero = Tensor._wrap(np.zeros((), dt))
        return input.mul_(zero) if inplace else input * zero
    shape = input.shape[:2] + (1,) * (input.ndim - 2) if feature else input.shape
    keep = (creation.generator().random(shape) >= p).astype(dt)
    if not alpha:
        noise = Tensor._wrap(keep / dt.type(1 - p))
        return input.mul_(noise) if inplace else input * noise
    alpha_ = 1.7580993408473766
    a = 1.0 / np.sqrt((alpha_ * alpha_ * p + 1) * (1 - p))
    b = Tensor._wrap(((keep - 1) * (alpha_ * a) + alpha_ * a * p).astype(dt))
    noise = Tensor._wrap((keep * a).astype(dt))
    return (input.mul_(noise) if inplace else input * noise).add_(b)


def _channel_dropout(input: Tensor, p: float, training: bool, inplace: bool, unbatched_dim: int) -> Tensor:
    unbatched = input.ndim == unbatched_dim
    if unbatched:
        input = input.unsqueeze_(0) if inplace else input.unsqueeze(0)
    out = _noise_dropout(input, p, training, inplace, feature=True, alpha=False)
    if unbatched:
        out = out.squeeze_(0) if inplace else out.squeeze(0)
    return out


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, L) or (C, L) input with probability ``p``, scale the rest by 1/(1-p)."""
    _check_p(p)
    if input.ndim not in (2, 3):
        raise RuntimeError(f"dropout1d: Expected 2D or 3D input, but received a {input.ndim}D input. Note that "
                           "dropout1d exists to provide channel-wise dropout on inputs with 1 spatial dimension, a "
                           "channel dimension, and an optional batch dimension (i.e. 2D or 3D inputs).")
    return _channel_dropout(input, p, training, inplace, 2)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, H, W) input with probability ``p``, scale the rest by 1/(1-p)."""
    _check_p(p)
    if input.ndim not in (3, 4):
        warnings.warn(f"dropout2d: Received a {input.ndim}-D input to dropout2d, which is deprecated and will "
                      "result in an error in a future release. To retain the behavior and silence this warning, "
                      "please use dropout instead. Note that dropout2d exists to provide channel-wise dropout on "
                      "inputs with 2 spatial dimensions, a channel dimension, and an optional batch dimension "
                      "(i.e. 3D or 4D inputs).", stacklevel=2)
    if input.ndim == 3:
        warnings.warn("dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D dropout "
                      "behavior is desired - input is interpreted as shape (N, C, L), where C is the channel dim. "
                      "This behavior will change in a future release to interpret the input as one without a "
                      "batch dimension, i.e. shape (C, H, W). To maintain the 1D channel-wise dropout behavior, "
                      "please switch to using dropout1d instead.", stacklevel=2)
    return _noise_dropout(input, p, training, inplace, feature=True, alpha=False)


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero whole channels of (N, C, D, H, W) or (C, D, H, W) input with probability ``p``."""
    _check_p(p)
    if input.ndim not in (4, 5):
        warnings.warn(f"dropout3d: Received a {input.ndim}-D input to dropout3d, which is deprecated and will "
                      "result in an error in a future release. To retain the behavior and silence this warning, "
                      "please use dropout instead. Note that dropout3d exists to provide channel-wise dropout on "
                      "inputs with 3 spatial dimensions, a channel dimension, and an optional batch dimension "
                      "(i.e. 4D or 5D inputs).", stacklevel=2)
    return _channel_dropout(input, p, training, inplace, 4)


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """Dropout that keeps SELU's zero mean and unit variance (dropped elements take SELU's negative saturation)."""
    _check_p(p)
    return _noise_dropout(input, p, training, inplace, feature=False, alpha=True)


def feature_alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """Alpha dropout of whole channels."""
    _check_p(p)
    return _noise_dropout(input, p, training, inplace, feature=True, alpha=True)


# -- RMS normalization -----------------------------------------------------------------------------

def rms_norm(input: Tensor, normalized_shape, weight: Tensor | None = None, eps: float | None = None) -> Tensor:
    """``x / sqrt(mean(x**2) + eps)`` over the last ``len(normalized_shape)`` dims, times ``weight``
    (``eps`` by default the machine epsilon of the input's dtype)."""
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    if len(shape) > input.ndim:
        raise ValueError(f"Input tensor must have at least {len(shape)} dimensions, but got {input.ndim}")
    if tuple(input.shape[input.ndim - len(shape):]) != shape:
        raise RuntimeError(f"Given normalized_shape={list(shape)}, expected input with shape "
                           f"[*{', '.join(map(str, shape))}], but got input of size{list(input.shape)}")
    dims = tuple(range(input.ndim - len(shape), input.ndim))
    if eps is None:
        eps = float(np.finfo(input._data.dtype).eps)
    mean_square = (input ** 2).mean(dims, keepdim=True)
    out = input * _scalar.ADD_SCALAR.fn.apply(mean_square, float(eps)).rsqrt()
    return out if weight is None else out * weight
