"""``group_norm``, ``instance_norm``, ``interpolate``, ``pixel_shuffle``/``pixel_unshuffle``,
``bilinear``, ``cosine_similarity`` and ``pairwise_distance``, composed from existing
differentiable ops (reshapes, reductions, ``index_select``, ``einsum``)."""
from __future__ import annotations

import math
import warnings

import numpy as np

from .._errstate import quietly
from ..ops import nn as _nn
from . import _functional_loss
from ..ops.index import index_select
from ..ops.linalg import einsum
from ..ops.shape import tile
from ..tensor import Tensor


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Group normalisation."""
    if input.ndim < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received {input.ndim}")
    n, c = input.shape[:2]
    if c % num_groups != 0:
        raise RuntimeError(f"Expected number of channels in input to be divisible by num_groups, but got input of "
                           f"shape {list(input.shape)} and num_groups={num_groups}")
    grouped = input.reshape(n, num_groups, -1)
    mean = grouped.mean(-1, keepdim=True)
    var = grouped.var(-1, unbiased=False, keepdim=True)
    out = ((grouped - mean) * (var + eps).rsqrt()).reshape(*input.shape)
    affine_shape = (1, c) + (1,) * (input.ndim - 2)
    if weight is not None:
        out = out * weight.reshape(*affine_shape)
    if bias is not None:
        out = out + bias.reshape(*affine_shape)
    return out


def instance_norm(input: Tensor, running_mean: Tensor | None = None, running_var: Tensor | None = None,
                  weight: Tensor | None = None, bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Batch norm of the (1, N*C, ...) reshaped input, as PyTorch computes it; the running
    statistics are updated with the mean over the batch of the per-instance statistics."""
    n, c = input.shape[:2]
    shaped = input.reshape(1, n * c, *input.shape[2:])
    stats = [None if s is None else Tensor._wrap(np.tile(s._data, n)) for s in (running_mean, running_var)]
    w = None if weight is None else tile(weight, (n,))
    b = None if bias is None else tile(bias, (n,))
    out = _nn.batch_norm(shaped, stats[0], stats[1], w, b, use_input_stats, momentum, eps)
    for target, updated in zip((running_mean, running_var), stats):
        if target is not None and use_input_stats:
            target._data[...] = updated._data.reshape(n, c).mean(0)
            target._version.value += 1
    return out.reshape(*input.shape)


# -- interpolation ------------------------------------------------------------------------------

def _scales_value(scale, in_size: int, out_size: int, dtype):
    """PyTorch's ``compute_scales_value``: 1/scale_factor when given, else in/out (in the op's dtype)."""
    if scale is not None and scale > 0:
        return dtype.type(1.0 / scale)
    return dtype.type(in_size) / dtype.type(out_size)


def _nearest_index(in_size: int, out_size: int, scale) -> np.ndarray:
    if out_size == in_size:
        return np.arange(out_size)
    if out_size == 2 * in_size:
        return np.arange(out_size) >> 1
    s = _scales_value(scale, in_size, out_size, np.dtype(np.float32))
    return np.minimum(np.floor(np.arange(out_size, dtype=np.float32) * s).astype(np.int64), in_size - 1)


def _linear_weights(in_size: int, out_size: int, scale, align_corners: bool, dtype):
    """Source indices (lo, hi) and weights (w_lo, w_hi) of each output position (PyTorch's
    ``area_pixel_compute_source_index``)."""
    t = dtype.type
    if align_corners:
        s = t(in_size - 1) / t(out_size - 1) if out_size > 1 else t(0)
        src = s * np.arange(out_size, dtype=dtype)
    else:
        s = _scales_value(scale, in_size, out_size, dtype)
        src = np.maximum(s * (np.arange(out_size, dtype=dtype) + t(0.5)) - t(0.5), t(0))
    lo = np.floor(src).astype(np.int64)
    hi = lo + (lo < in_size - 1)
    w_hi = (src - lo.astype(dtype)).astype(dtype)
    return lo, hi, (t(1) - w_hi).astype(dtype), w_hi


def _along(x: Tensor, dim: int, index: np.ndarray) -> Tensor:
    return index_select(x, dim, Tensor._wrap(index))


_MODES = {"nearest": None, "linear": 1, "bilinear": 2, "trilinear": 3}


def interpolate(input: Tensor, size=None, scale_factor=None, mode: str = "nearest", align_corners: bool | None = None,
                recompute_scale_factor: bool | None = None, antialias: bool = False) -> Tensor:
    """``nearest`` (any number of spatial dims), ``linear``, ``bilinear``, ``trilinear``."""
    if mode not in _MODES:
        raise NotImplementedError(f"pygrad's interpolate supports modes {list(_MODES)}, got {mode!r}")
    if antialias:
        raise NotImplementedError("pygrad's interpolate has no antialias")
    if mode == "nearest":
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating modes: "
                             "linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    spatial = input.ndim - 2
    if _MODES[mode] is not None and _MODES[mode] != spatial:
        expected = {1: "3D", 2: "4D", 3: "5D"}[_MODES[mode]]
        raise NotImplementedError(f"Got {input.ndim}D input, but {mode} mode needs {expected} input")
    if (size is None) == (scale_factor is None):
        raise ValueError("only one of size or scale_factor should be defined" if size is not None
                         else "either size or scale_factor should be defined")
    in_sizes = input.shape[2:]
    if size is not None:
        out_sizes = list(size) if isinstance(size, (tuple, list)) else [size] * spatial
        if len(out_sizes) != spatial:
            raise ValueError(f"Input and output must have the same number of spatial dimensions, but got input with "
                             f"spatial dimensions of {list(in_sizes)} and output size of {size}. Please "
                             "provide input tensor in (N, C, d1, d2, ...,dK) format and output size in (o1, o2, "
                             "...,oK) format.")
        scales = [None] * spatial
    else:
        scales = list(scale_factor) if isinstance(scale_factor, (tuple, list)) else [scale_factor] * spatial
        if len(scales) != spatial:
            raise ValueError(f"Input and scale_factor must have the same number of spatial dimensions, but got input "
                             f"with spatial dimensions of {list(in_sizes)} and scale_factor of shape {scale_factor}. "
                             "Please provide input tensor in (N, C, d1, d2, ...,dK) format and scale_factor in (s1, "
                             "s2, ...,sK) format.")
        out_sizes = [int(math.floor(float(n) * float(s))) for n, s in zip(in_sizes, scales)]
        if recompute_scale_factor:
            scales = [None] * spatial
    dtype = input._data.dtype
    out = input
    for k in range(spatial):
        dim = 2 + k
        if mode == "nearest":
            out = _along(out, dim, _nearest_index(in_sizes[k], out_sizes[k], scales[k]))
            continue
        lo, hi, w_lo, w_hi = _linear_weights(in_sizes[k], out_sizes[k], scales[k], align_corners, dtype)
        shape = [1] * input.ndim
        shape[dim] = out_sizes[k]
        out = _along(out, dim, lo) * Tensor._wrap(w_lo.reshape(shape)) + \
            _along(out, dim, hi) * Tensor._wrap(w_hi.reshape(shape))
    return out


def _deprecated(name: str) -> None:
    warnings.warn(f"`nn.functional.{name}` is deprecated. Use `nn.functional.interpolate` instead.", stacklevel=3)


def upsample(input: Tensor, size=None, scale_factor=None, mode: str = "nearest", align_corners=None) -> Tensor:
    """Deprecated name of ``interpolate``."""
    _deprecated("upsample")
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input: Tensor, size=None, scale_factor=None) -> Tensor:
    """Nearest-neighbour upsampling."""
    _deprecated("upsample_nearest")
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input: Tensor, size=None, scale_factor=None) -> Tensor:
    """Bilinear upsampling with ``align_corners=True``."""
    _deprecated("upsample_bilinear")
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


# -- pixel shuffle ------------------------------------------------------------------------------

def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C*r*r, H, W) -> (*, C, H*r, W*r)."""
    if input.ndim < 3:
        raise RuntimeError(f"pixel_shuffle expects input to have at least 3 dimensions, but got input with "
                           f"{input.ndim} dimension(s)")
    r = upscale_factor
    *lead, c, h, w = input.shape
    if c % (r * r) != 0:
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be divisible by the square of "
                           f"upscale_factor, but input.size(-3)={c} is not divisible by {r * r}")
    k = len(lead)
    x = input.reshape(*lead, c // (r * r), r, r, h, w)
    x = x.permute(*range(k), k, k + 3, k + 1, k + 4, k + 2)
    return x.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """(*, C, H*r, W*r) -> (*, C*r*r, H, W)."""
    if input.ndim < 3:
        raise RuntimeError(f"pixel_unshuffle expects input to have at least 3 dimensions, but got input with "
                           f"{input.ndim} dimension(s)")
    r = downscale_factor
    *lead, c, h, w = input.shape
    if h % r != 0 or w % r != 0:
        which, size = ("height", h) if h % r != 0 else ("width", w)
        raise RuntimeError(f"pixel_unshuffle expects {which} to be divisible by downscale_factor, but input.size("
                           f"{-2 if which == 'height' else -1})={size} is not divisible by {r}")
    k = len(lead)
    x = input.reshape(*lead, c, h // r, r, w // r, r)
    x = x.permute(*range(k), k, k + 2, k + 4, k + 1, k + 3)
    return x.reshape(*lead, c * r * r, h // r, w // r)


# -- bilinear and distances ---------------------------------------------------------------------

def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``y[..., o] = x1[..., i] W[o, i, j] x2[..., j] + b[o]``."""
    if input1.shape[:-1] != input2.shape[:-1]:
        raise RuntimeError(f"bilinear(): input batch dimensions do not match: got {list(input1.shape[:-1])} and "
                           f"{list(input2.shape[:-1])}")
    if input1.shape[-1] != weight.shape[1] or input2.shape[-1] != weight.shape[2]:
        raise RuntimeError(f"bilinear(): input sizes {input1.shape[-1]} and {input2.shape[-1]} do not match the "
                           f"weight of size {list(weight.shape)}")
    out = einsum("...i,oij,...j->...o", input1, weight, input2)
    return out if bias is None else out + bias


@quietly  # its clamp on the arrays: inf - inf is nan, as in PyTorch
def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """``sum(x1/|x1| * x2/|x2|)`` with each norm clamped to ``eps`` in value only, as PyTorch does
    (its clamp runs under no_grad, so the gradient is that of the unclamped norm)."""
    def unit(x):
        norm = x.norm(2, dim, keepdim=True)
        floor = Tensor._wrap(np.maximum(norm._data, norm._data.dtype.type(eps)) - norm._data)
        return x / (norm + floor)
    return (unit(x1) * unit(x2)).sum(dim)


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> Tensor:
    """``norm(x1 - x2 + eps, p)`` over the last dim, recorded as PyTorch's C++ composite records it
    (``NormBackward1`` of ``AddBackward1`` of ``SubBackward0``)."""
    if max(x1.ndim, x2.ndim) == 0:
        return (x1 - x2 + eps).norm(p, -1, keepdim=keepdim)
    return _functional_loss._pairwise_distance(x1, x2, p, eps, keepdim)
