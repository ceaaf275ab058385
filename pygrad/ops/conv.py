"""2-D convolution and max pooling on NumPy (im2col through strided windows).

Forward takes strided windows of the padded input; backward scatters the gradient back
window offset by window offset.  Both run on arrays only: asking for a graph of their
backward (``create_graph=True``) raises instead of giving a wrong answer.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .._errstate import quietly
from ..autograd.forward_ad import linear_jvp
from ..autograd.function import Function
from ..tensor import Tensor
from . import optable as _table
from ._util import sum_array, wrap


def _pair(v) -> tuple[int, int]:
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise ValueError(f"expected an int or a pair, got {v!r}")
        return int(v[0]), int(v[1])
    return int(v), int(v)


_POOL_ARG_ERRORS = {"kernel_size": "kernel_size must either be a single int, or a tuple of two ints",
                    "stride": "stride must either be omitted, a single int, or a tuple of two ints",
                    "padding": "padding must either be a single int, or a tuple of two ints",
                    "dilation": "dilation must be either a single int, or a tuple of two ints"}


def _pool_args(name: str, x: Tensor, kernel_size, stride, padding, dilation=1):
    """``(kernel, stride, padding, dilation)`` pairs of a 2-d pooling, checked as PyTorch checks them
    (its order, its words), so a bad argument never reaches the window arithmetic."""
    pairs = {}
    for arg, v in (("kernel_size", kernel_size), ("stride", stride), ("padding", padding), ("dilation", dilation)):
        if arg == "stride" and (v is None or (isinstance(v, (tuple, list)) and len(v) == 0)):
            pairs[arg] = pairs["kernel_size"]
            continue
        if isinstance(v, (tuple, list)):
            if len(v) not in (1, 2):
                raise RuntimeError(f"{name}: {_POOL_ARG_ERRORS[arg]}")
            v = (v[0], v[-1])
        pairs[arg] = _pair(v)
    if x.ndim not in (3, 4):
        raise RuntimeError("non-empty 3D or 4D (batch mode) tensor expected for input")
    kernel, stride, padding, dilation = pairs["kernel_size"], pairs["stride"], pairs["padding"], pairs["dilation"]
    out_hw = tuple(_pool_out_size(x.shape[x.ndim - 2 + i], kernel[i], stride[i], padding[i], dilation[i])
                   for i in range(2))
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    if kh <= 0 or kw <= 0:
        raise RuntimeError(f"kernel size should be greater than zero, but got kH: {kh} kW: {kw}")
    if sh <= 0 or sw <= 0:
        raise RuntimeError(f"stride should be greater than zero, but got dH: {sh} dW: {sw}")
    if dh <= 0 or dw <= 0:
        raise RuntimeError(f"dilation should be greater than zero, but got dilationH: {dh} dilationW: {dw}")
    shape = tuple(x.shape)
    if 0 in shape[-3:]:  # only the batch may be empty
        raise RuntimeError("Expected 3D or 4D (batch mode) tensor with optional 0 dim batch size for input, "
                           f"but got:{list(shape)}")
    if kw // 2 < pw or kh // 2 < ph:
        raise RuntimeError("pad should be smaller than or equal to half of kernel size, but got "
                           f"padW = {pw}, padH = {ph}, kW = {kw}, kH = {kh}")
    if min(out_hw) < 1:
        c, h, w = shape[-3:]
        raise RuntimeError(f"Given input size: ({c}x{h}x{w}). Calculated output size: ({c}x{out_hw[0]}x"
                           f"{out_hw[1]}). Output size is too small")
    return kernel, stride, padding, dilation


def _pool_out_size(size: int, kernel: int, stride: int, pad: int, dilation: int) -> int:
    """PyTorch's ``pooling_output_shape`` with its checks (C division truncates toward zero)."""
    if stride == 0:
        raise RuntimeError("stride should not be zero")
    if pad < 0:
        raise RuntimeError(f"pad must be non-negative, but got pad: {pad}")
    if pad > int(((kernel - 1) * dilation + 1) / 2):
        raise RuntimeError(f"pad should be at most half of effective kernel size, but got pad={pad}, "
                           f"kernel_size={kernel} and dilation={dilation}")
    return _out_size(size, kernel, stride, pad, dilation)


def _windows(x: np.ndarray, kernel, stride, dilation, out_hw) -> np.ndarray:
    """A (N, C, OH, OW, KH, KW) view of the windows of a padded (N, C, H, W) array."""
    n, c = x.shape[:2]
    sn, sc, sh, sw = x.strides
    return as_strided(x, (n, c, out_hw[0], out_hw[1], kernel[0], kernel[1]),
                      (sn, sc, sh * stride[0], sw * stride[1], sh * dilation[0], sw * dilation[1]),
                      writeable=False)


def _out_size(size, kernel, stride, padding, dilation) -> int:
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def _scatter_windows(grad_windows: np.ndarray, padded_shape, stride, dilation) -> np.ndarray:
    """Add (N, C, OH, OW, KH, KW) window gradients back into an array of ``padded_shape``."""
    out = np.zeros(padded_shape, grad_windows.dtype)
    _, _, oh, ow, kh, kw = grad_windows.shape
    for i in range(kh):
        for j in range(kw):
            r, c = i * dilation[0], j * dilation[1]
            out[:, :, r:r + stride[0] * (oh - 1) + 1:stride[0],
                c:c + stride[1] * (ow - 1) + 1:stride[1]] += grad_windows[:, :, :, :, i, j]
    return out


def _unpad(array: np.ndarray, padding) -> np.ndarray:
    ph, pw = padding
    return array[:, :, ph:array.shape[2] - ph, pw:array.shape[3] - pw]


def _padded(a: np.ndarray, padding) -> np.ndarray:
    ph, pw = padding
    return np.pad(a, ((0, 0), (0, 0), (ph, ph), (pw, pw))) if ph or pw else a


def _conv_out_hw(x_shape, w_shape, stride, padding, dilation) -> tuple:
    return tuple(_out_size(x_shape[2 + i], w_shape[2 + i], stride[i], padding[i], dilation[i]) for i in (0, 1))


# The convolution and its two gradients, on arrays.  Each gradient is linear in each of its
# operands, so the derivatives of all three are these three again (the table's entries).

def convolution(a: np.ndarray, k: np.ndarray, b, stride, padding, dilation, groups: int) -> np.ndarray:
    n, c, h, width = a.shape
    o, cg, kh, kw = k.shape
    ph, pw = padding
    out_hw = _conv_out_hw(a.shape, k.shape, stride, padding, dilation)
    if out_hw[0] <= 0 or out_hw[1] <= 0:
        raise RuntimeError(f"Calculated padded input size per channel: ({h + 2 * ph} x {width + 2 * pw}). "
                           f"Kernel size: ({dilation[0] * (kh - 1) + 1} x {dilation[1] * (kw - 1) + 1}). "
                           "Kernel size can't be greater than actual input size")
    win = _windows(_padded(a, padding), (kh, kw), stride, dilation, out_hw)  # N, C, OH, OW, KH, KW
    og = o // groups
    outs = [np.einsum("nchwij,ocij->nohw", win[:, gi * cg:(gi + 1) * cg], k[gi * og:(gi + 1) * og], optimize=True)
            for gi in range(groups)]
    out = outs[0] if groups == 1 else np.concatenate(outs, axis=1)
    if b is not None:
        out = out + b.reshape(1, -1, 1, 1)
    return np.ascontiguousarray(out, dtype=a.dtype)


def conv_input_backward(g: np.ndarray, k: np.ndarray, x_shape, stride, padding, dilation, groups: int):
    """The gradient of the convolution's input: each window's gradient times the weight, added back."""
    o, cg, kh, kw = k.shape
    og = o // groups
    gwin = np.concatenate([np.einsum("nohw,ocij->nchwij", g[:, gi * og:(gi + 1) * og], k[gi * og:(gi + 1) * og],
                                     optimize=True) for gi in range(groups)], axis=1)
    padded_shape = tuple(x_shape[:2]) + (x_shape[2] + 2 * padding[0], x_shape[3] + 2 * padding[1])
    return np.ascontiguousarray(_unpad(_scatter_windows(gwin, padded_shape, stride, dilation), padding), g.dtype)


def conv_weight_backward(g: np.ndarray, a: np.ndarray, w_shape, stride, padding, dilation, groups: int):
    """The gradient of the convolution's weight: the sum over windows of the gradient times the window."""
    o, cg, kh, kw = w_shape
    og = o // groups
    win = _windows(_padded(a, padding), (kh, kw), stride, dilation, (g.shape[2], g.shape[3]))
    gw = np.concatenate([np.einsum("nohw,nchwij->ocij", g[:, gi * og:(gi + 1) * og], win[:, gi * cg:(gi + 1) * cg],
                                   optimize=True) for gi in range(groups)], axis=0)
    return gw.astype(g.dtype, copy=False)


def conv2d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1,
           groups: int = 1) -> Tensor:
    """``torch.nn.functional.conv2d`` for (N, C, H, W) or unbatched (C, H, W) input."""
    if x.ndim not in (3, 4):
        raise RuntimeError(f"Expected 3D (unbatched) or 4D (batched) input to conv2d, but got input of "
                           f"size: {list(x.shape)}")
    if isinstance(padding, str):
        raise NotImplementedError("pygrad's conv2d takes integer padding only")
    if x.dtype is not weight.dtype or (bias is not None and bias.dtype is not weight.dtype):
        other = weight if x.dtype is not weight.dtype else bias
        raise RuntimeError(f"expected scalar type {x.dtype._tensor_type.removesuffix('Tensor')} but found "
                           f"{other.dtype._tensor_type.removesuffix('Tensor')}")
    unbatched = x.ndim == 3
    if unbatched:
        x = x.unsqueeze(0)
    if x.shape[1] != weight.shape[1] * groups:
        raise RuntimeError(f"Given groups={groups}, weight of size {list(weight.shape)}, expected input"
                           f"{list(x.shape)} to have {weight.shape[1] * groups} channels, but got "
                           f"{x.shape[1]} channels instead")
    out = _table.CONVOLUTION.fn.apply(x, weight, bias, _pair(stride), _pair(padding), _pair(dilation), int(groups))
    return out.squeeze(0) if unbatched else out


class MaxPool2DWithIndices(Function):
    _backward_name = "MaxPool2DWithIndicesBackward0"

    @staticmethod
    def forward(ctx, x, kernel, stride, padding, dilation):
        a = x._data
        ctx.unbatched = a.ndim == 3  # (C, H, W) is pooled as is, as PyTorch does
        if ctx.unbatched:
            a = a[None]
        n, c, h, w = a.shape
        ph, pw = padding
        fill = -np.inf
        padded = np.pad(a, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill) if ph or pw else a
        out_hw = (_out_size(h, kernel[0], stride[0], ph, dilation[0]),
                  _out_size(w, kernel[1], stride[1], pw, dilation[1]))
        win = _windows(padded, kernel, stride, dilation, out_hw).reshape(n, c, *out_hw, kernel[0] * kernel[1])
        arg = np.argmax(win, axis=-1)
        out = np.take_along_axis(win, arg[..., None], -1)[..., 0]
        ctx.conf = (arg, kernel, stride, padding, dilation, padded.shape)
        return wrap(np.ascontiguousarray(out[0] if ctx.unbatched else out))

    @staticmethod
    def backward(ctx, g):
        return MaxPool2DBackward.apply(g, ctx.conf, ctx.unbatched, True), None, None, None, None

    @staticmethod
    def jvp(ctx, t, *_):
        """The tangent at each window's maximum: the gather its backward's derivative is."""
        return MaxPool2DBackward.apply(t, ctx.conf, ctx.unbatched, False)


# Each pooling's gradient is linear in the output gradient: an op of its own whose derivative is
# the pooling read the other way (max pool: the gradient read back at each window's maximum;
# average pools: the pooling itself), so create_graph works through them as in PyTorch.

class MaxPool2DBackward(Function):
    """Each window's gradient to its (first) maximum (``scatter``), or the values at the maxima
    (not ``scatter``): each is the other's derivative."""

    _backward_name = "MaxPool2DWithIndicesBackwardBackward0"

    @staticmethod
    def forward(ctx, t, conf, unbatched, scatter):
        arg, kernel, stride, padding, dilation, padded_shape = conf
        ctx.conf, ctx.unbatched, ctx.scatter = conf, unbatched, scatter
        a = t._data[None] if unbatched else t._data
        cells = arg.shape + (kernel[0] * kernel[1],)
        if scatter:
            onehot = np.zeros(cells, a.dtype)
            np.put_along_axis(onehot, arg[..., None], a[..., None], -1)
            out = _unpad(_scatter_windows(onehot.reshape(arg.shape + tuple(kernel)), padded_shape, stride, dilation),
                         padding)
        else:
            win = _windows(_padded(a, padding), kernel, stride, dilation, arg.shape[2:]).reshape(cells)
            out = np.take_along_axis(win, arg[..., None], -1)[..., 0]
        return wrap(np.ascontiguousarray(out[0] if unbatched else out))

    @staticmethod
    def backward(ctx, g):
        return MaxPool2DBackward.apply(g, ctx.conf, ctx.unbatched, not ctx.scatter), None, None, None

    jvp = staticmethod(linear_jvp)


def max_pool2d(x: Tensor, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False,
               return_indices: bool = False) -> Tensor:
    """2-D max pooling over windows."""
    if ceil_mode or return_indices:
        raise NotImplementedError("pygrad's max_pool2d supports ceil_mode=False, return_indices=False")
    return MaxPool2DWithIndices.apply(x, *_pool_args("max_pool2d", x, kernel_size, stride, padding, dilation))


# -- unfold / fold (im2col / col2im) -------------------------------------------------------------
# Each is the other's gradient, and both are linear: the derivatives are each other again.

class Im2Col(Function):
    """(N, C, H, W) -> (N, C*KH*KW, L): every sliding block as a column, channel-major."""
    jvp = staticmethod(linear_jvp)

    _backward_name = "Im2ColBackward0"

    @staticmethod
    def forward(ctx, x, kernel, dilation, padding, stride):
        a = x._data if x.ndim == 4 else x._data[None]  # (C, H, W): one sample, as PyTorch takes it
        ctx.conf, ctx.hw = (kernel, dilation, padding, stride), a.shape[2:]
        out_hw = tuple(_out_size(a.shape[2 + i], kernel[i], stride[i], padding[i], dilation[i]) for i in (0, 1))
        win = _windows(_padded(a, padding), kernel, stride, dilation, out_hw)  # (N, C, OH, OW, KH, KW)
        cols = win.transpose(0, 1, 4, 5, 2, 3).reshape(a.shape[0], -1, out_hw[0] * out_hw[1])
        return wrap(np.ascontiguousarray(cols if x.ndim == 4 else cols[0]))

    @staticmethod
    def backward(ctx, g):
        return (Col2Im.apply(g, ctx.hw, *ctx.conf),) + (None,) * 4


class Col2Im(Function):
    """(N, C*KH*KW, L) -> (N, C, H, W): the columns added back where their blocks are."""
    jvp = staticmethod(linear_jvp)

    _backward_name = "Col2ImBackward0"

    @staticmethod
    @quietly
    def forward(ctx, cols, output_size, kernel, dilation, padding, stride):
        c = cols._data if cols.ndim == 3 else cols._data[None]
        ctx.conf = (kernel, dilation, padding, stride)
        padded = (c.shape[0], c.shape[1] // (kernel[0] * kernel[1]),
                  output_size[0] + 2 * padding[0], output_size[1] + 2 * padding[1])
        out_hw = tuple(_out_size(output_size[i], kernel[i], stride[i], padding[i], dilation[i]) for i in (0, 1))
        win = c.reshape(padded[:2] + tuple(kernel) + out_hw).transpose(0, 1, 4, 5, 2, 3)
        out = _unpad(_scatter_windows(win, padded, stride, dilation), padding)
        return wrap(np.ascontiguousarray(out if cols.ndim == 3 else out[0]))

    @staticmethod
    def backward(ctx, g):
        return (Im2Col.apply(g, *ctx.conf),) + (None,) * 5


def _check_blocks(kernel, dilation, padding, stride) -> None:
    if kernel[0] <= 0 or kernel[1] <= 0:
        raise RuntimeError(f"kernel size should be greater than zero, but got kernel_height: {kernel[0]} "
                           f"kernel_width: {kernel[1]}")
    if stride[0] <= 0 or stride[1] <= 0:
        raise RuntimeError(f"stride should be greater than zero, but got stride_height: {stride[0]} "
                           f"stride_width: {stride[1]}")
    if dilation[0] <= 0 or dilation[1] <= 0:
        raise RuntimeError(f"dilation should be greater than zero, but got dilation_height: {dilation[0]} "
                           f"dilation_width: {dilation[1]}")


def unfold(input: Tensor, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """``F.unfold``: the sliding blocks of a (N, C, H, W) or (C, H, W) input as columns."""
    kernel, dilation, padding, stride = map(_pair, (kernel_size, dilation, padding, stride))
    if input.ndim not in (3, 4):
        raise RuntimeError("Expected 3D or 4D (batch mode) tensor with possibly 0 batch size and other non-zero "
                           f"dimensions for input, but got: {list(input.shape)}")
    _check_blocks(kernel, dilation, padding, stride)
    hw = input.shape[-2:]
    blocks = tuple(_out_size(hw[i], kernel[i], stride[i], padding[i], dilation[i]) for i in (0, 1))
    if blocks[0] < 1 or blocks[1] < 1:
        raise RuntimeError(f"Given input with spatial size ({hw[0]}, {hw[1]}), kernel_size=({kernel[0]}, "
                           f"{kernel[1]}), dilation=({dilation[0]}, {dilation[1]}), padding=({padding[0]}, "
                           f"{padding[1]}), calculated shape of the array of sliding blocks as ({blocks[0]}, "
                           f"{blocks[1]}), but its components must be at least one.")
    return Im2Col.apply(input, kernel, dilation, padding, stride)


def fold(input: Tensor, output_size, kernel_size, dilation=1, padding=0, stride=1) -> Tensor:
    """``F.fold``: columns of sliding blocks added back into a (N, C, H, W) or (C, H, W) output."""
    output_size, kernel, dilation, padding, stride = map(_pair, (output_size, kernel_size, dilation, padding,
                                                                  stride))
    if input.ndim not in (2, 3):
        raise RuntimeError("Expected 2D or 3D (batch mode) tensor for input with possibly 0 batch size and non-zero "
                           f"dimensions for input, but got: {list(input.shape)}")
    _check_blocks(kernel, dilation, padding, stride)
    rows, columns = input.shape[-2:]
    if rows % (kernel[0] * kernel[1]):
        raise RuntimeError("Expected size of input's dimension 1 to be divisible by the product of kernel_size, but "
                           f"got input.size(1)={rows} and kernel_size=({kernel[0]}, {kernel[1]}).")
    blocks = tuple(_out_size(output_size[i], kernel[i], stride[i], padding[i], dilation[i]) for i in (0, 1))
    if blocks[0] < 1 or blocks[1] < 1 or columns != blocks[0] * blocks[1]:
        raise RuntimeError(f"Given output_size=({output_size[0]}, {output_size[1]}), kernel_size=({kernel[0]}, "
                           f"{kernel[1]}), dilation=({dilation[0]}, {dilation[1]}), padding=({padding[0]}, "
                           f"{padding[1]}), stride=({stride[0]}, {stride[1]}), expected size of input's dimension 2 "
                           f"to match the calculated number of sliding blocks {blocks[0]} * {blocks[1]} = "
                           f"{blocks[0] * blocks[1]}, but got input.size(2)={columns}.")
    return Col2Im.apply(input, output_size, kernel, dilation, padding, stride)


# -- padding -----------------------------------------------------------------------------------

class ConstantPadNd(Function):
    """Pad (or, for negative amounts, crop) the last dims; its backward is the opposite crop/pad."""

    _backward_name = "ConstantPadNdBackward0"

    @staticmethod
    def forward(ctx, x, pads, value):
        a = x._data
        lead = a.ndim - len(pads)
        out_shape = a.shape[:lead] + tuple(s + lo + hi for s, (lo, hi) in zip(a.shape[lead:], pads))
        if any(s < 0 for s in out_shape):
            raise RuntimeError("narrow(): length must be non-negative.")
        out = np.full(out_shape, value, a.dtype)
        src, dst = [slice(None)] * lead, [slice(None)] * lead
        for size, (lo, hi) in zip(a.shape[lead:], pads):
            start, stop = max(0, -lo), size - max(0, -hi)
            length = max(stop - start, 0)
            src.append(slice(start, start + length))
            dst.append(slice(max(0, lo), max(0, lo) + length))
        out[tuple(dst)] = a[tuple(src)]
        ctx.pads = pads
        return wrap(out)

    @staticmethod
    def backward(ctx, g):
        return ConstantPadNd.apply(g, tuple((-lo, -hi) for lo, hi in ctx.pads), 0), None, None

    @staticmethod
    def jvp(ctx, t, pads, value):
        return ConstantPadNd.apply(t, ctx._fw_args[1], 0.0)


def pad(x: Tensor, pad, mode: str = "constant", value: float | None = None) -> Tensor:
    """``torch.nn.functional.pad``: ``pad`` lists (left, right) amounts from the last dim backwards."""
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) // 2 > x.ndim:
        raise RuntimeError("Padding length should be less than or equal to two times the input dimension but "
                           f"got padding length {len(pad)} and input of dimension {x.ndim}")
    if mode in ("reflect", "replicate"):
        return _index_pad(x, pad, "reflection" if mode == "reflect" else "replication")
    if mode == "circular":
        return _circular_pad(x, pad)
    if mode != "constant":
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    pairs = tuple((pad[2 * i], pad[2 * i + 1]) for i in range(len(pad) // 2))[::-1]  # first dim first
    return ConstantPadNd.apply(x, pairs, 0 if value is None else value)


_PAD_DIMS = {2: (2, 3), 4: (3, 4), 6: (4, 5)}  # padding length -> the input dims it pads


def _check_non_constant_pad(x: Tensor, pad: tuple) -> None:
    if x.ndim not in _PAD_DIMS.get(len(pad), ()):
        raise NotImplementedError(
            f"Padding size {len(pad)} is not supported for {x.ndim}D input tensor.\n"
            "Supported combinations for non-constant padding:\n"
            "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
            "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
            "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")


def _circular_pad(x: Tensor, pad: tuple) -> Tensor:
    """F.pad's circular mode, built as PyTorch builds it (so its graph is PyTorch's: CopySlices):
    the input (cropped where an amount is negative) copied into the middle of a new tensor, then,
    dim by dim from the last, the left band copied from the right end of the filled part and the
    right band from its left end (corners are written twice)."""
    _check_non_constant_pad(x, pad)
    dims = [x.ndim - 1 - i for i in range(len(pad) // 2)]  # dims[i] is padded by pad[2i], pad[2i + 1]
    shape = list(x.shape)
    for i, dim in enumerate(dims):
        left, right = pad[2 * i], pad[2 * i + 1]
        if left > shape[dim] or right > shape[dim]:
            raise RuntimeError("Padding value causes wrapping around more than once.")
        shape[dim] = x.shape[dim] + left + right
        if shape[dim] < 0:
            raise RuntimeError("Negative padding value is resulting in an empty dimension")
    out = x.new_empty(shape)
    inner, source = out, x
    for i, dim in enumerate(dims):
        left, right = pad[2 * i], pad[2 * i + 1]
        inner = inner.narrow(dim, max(left, 0), shape[dim] - max(left, 0) - max(right, 0))
        source = source.narrow(dim, max(-left, 0), x.shape[dim] - max(-left, 0) - max(-right, 0))
    inner.copy_(source)
    for i, dim in enumerate(dims):
        left, right = pad[2 * i], pad[2 * i + 1]
        end = shape[dim] - max(right, 0)  # where the filled part ends along dim
        if left > 0:
            out.narrow(dim, 0, left).copy_(out.narrow(dim, end - left, left))
        if right > 0:
            out.narrow(dim, shape[dim] - right, right).copy_(out.narrow(dim, max(left, 0), right))
    return out


def _index_pad(x: Tensor, pad: tuple, mode: str) -> Tensor:
    """F.pad's reflect and replicate modes: the table's ReflectionPad{1,2,3}D / ReplicationPad nodes."""
    from .optable_nn import INDEX_PADS
    _check_non_constant_pad(x, pad)
    if mode == "reflection":
        for i in range(len(pad) // 2):
            dim = x.ndim - 1 - i
            if pad[2 * i] >= x.shape[dim] or pad[2 * i + 1] >= x.shape[dim]:
                raise RuntimeError(f"Argument #4: Padding size should be less than the corresponding input dimension, "
                                   f"but got: padding ({pad[2 * i]}, {pad[2 * i + 1]}) at dimension {dim} of input "
                                   f"[{', '.join(map(str, x.shape))}]")
    return INDEX_PADS[mode, len(pad) // 2][0].fn.apply(x, pad)


# -- average pooling ---------------------------------------------------------------------------

class AvgPool2D(Function):
    jvp = staticmethod(linear_jvp)
    _backward_name = "AvgPool2DBackward0"

    @staticmethod
    @quietly
    def forward(ctx, x, kernel, stride, padding, count_include_pad, divisor_override):
        a = x._data
        ctx.unbatched = a.ndim == 3
        if ctx.unbatched:
            a = a[None]
        n, c, h, w = a.shape
        ph, pw = padding
        padded = np.pad(a, ((0, 0), (0, 0), (ph, ph), (pw, pw))) if ph or pw else a
        out_hw = (_out_size(h, kernel[0], stride[0], ph, 1), _out_size(w, kernel[1], stride[1], pw, 1))
        total = sum_array(_windows(padded, kernel, stride, (1, 1), out_hw), axis=(4, 5))
        if divisor_override:
            divisor = np.asarray(divisor_override, a.dtype)
        elif count_include_pad:
            divisor = np.asarray(kernel[0] * kernel[1], a.dtype)
        else:
            mask = np.pad(np.ones((1, 1, h, w), a.dtype), ((0, 0), (0, 0), (ph, ph), (pw, pw)))
            divisor = sum_array(_windows(mask, kernel, stride, (1, 1), out_hw), axis=(4, 5))
        out = (total / divisor).astype(a.dtype, copy=False)
        ctx.conf = (divisor, kernel, stride, padding, padded.shape)
        ctx.options = (kernel, stride, padding, count_include_pad, divisor_override)
        return wrap(np.ascontiguousarray(out[0] if ctx.unbatched else out))

    @staticmethod
    def backward(ctx, g):
        return (AvgPool2DBackward.apply(g, ctx.conf, ctx.unbatched, ctx.options),) + (None,) * 5


class AvgPool2DBackward(Function):
    """Each window's gradient shared among its cells; its derivative is the average pool again."""
    jvp = staticmethod(linear_jvp)

    _backward_name = "AvgPool2DBackwardBackward0"

    @staticmethod
    @quietly
    def forward(ctx, g, conf, unbatched, options):
        divisor, kernel, stride, padding, padded_shape = conf
        ctx.options = options
        gd = g._data[None] if unbatched else g._data
        share = (gd / divisor).astype(gd.dtype, copy=False)
        gwin = np.broadcast_to(share[..., None, None], share.shape + tuple(kernel))
        gx = _unpad(_scatter_windows(gwin, padded_shape, stride, (1, 1)), padding)
        return wrap(np.ascontiguousarray(gx[0] if unbatched else gx))

    @staticmethod
    def backward(ctx, gg):
        return AvgPool2D.apply(gg, *ctx.options), None, None, None


def avg_pool2d(x: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override=None) -> Tensor:
    """2-D average pooling over windows."""
    if ceil_mode:
        raise NotImplementedError("pygrad's avg_pool2d supports ceil_mode=False")
    kernel, stride, padding, _ = _pool_args("avg_pool2d", x, kernel_size, stride, padding)
    return AvgPool2D.apply(x, kernel, stride, padding, count_include_pad, divisor_override)


def _adaptive_cells(size: int, out: int) -> list:
    """PyTorch's adaptive windows: output cell i covers floor(i*size/out) .. ceil((i+1)*size/out)."""
    return [(i * size // out, -(-(i + 1) * size // out)) for i in range(out)]


class AdaptiveAvgPool2D(Function):
    """Output cell (i, j) averages rows floor(i*H/OH)..ceil((i+1)*H/OH) and likewise for columns."""
    jvp = staticmethod(linear_jvp)

    _backward_name = "AdaptiveAvgPool2DBackward0"

    @staticmethod
    @quietly
    def forward(ctx, x, out_hw):
        a = x._data
        h, w = a.shape[-2:]
        rows, cols = _adaptive_cells(h, out_hw[0]), _adaptive_cells(w, out_hw[1])
        out = np.empty(a.shape[:-2] + tuple(out_hw), a.dtype)
        for i, (r0, r1) in enumerate(rows):
            for j, (c0, c1) in enumerate(cols):
                out[..., i, j] = a[..., r0:r1, c0:c1].mean(axis=(-2, -1))
        ctx.cells, ctx.in_shape, ctx.out_hw = (rows, cols), a.shape, out_hw
        return wrap(out)

    @staticmethod
    def backward(ctx, g):
        return AdaptiveAvgPool2DBackward.apply(g, ctx.cells, ctx.in_shape, ctx.out_hw), None


class AdaptiveAvgPool2DBackward(Function):
    """Each output cell's gradient shared among the input cells it averaged; its derivative is
    the adaptive average pool again."""
    jvp = staticmethod(linear_jvp)

    _backward_name = "AdaptiveAvgPool2DBackwardBackward0"

    @staticmethod
    @quietly
    def forward(ctx, g, cells, in_shape, out_hw):
        rows, cols = cells
        ctx.out_hw = out_hw
        gd = g._data
        gx = np.zeros(in_shape, gd.dtype)
        for i, (r0, r1) in enumerate(rows):
            for j, (c0, c1) in enumerate(cols):
                gx[..., r0:r1, c0:c1] += (gd[..., i, j] / ((r1 - r0) * (c1 - c0)))[..., None, None]
        return wrap(gx)

    @staticmethod
    def backward(ctx, gg):
        return AdaptiveAvgPool2D.apply(gg, ctx.out_hw), None, None, None


def _window_argmax(win: np.ndarray) -> np.ndarray:
    """The position of each window's maximum along the last axis, as PyTorch's CPU loop picks it:
    the first maximum, or the last NaN when there is one."""
    nan = np.isnan(win)
    last_nan = win.shape[-1] - 1 - np.argmax(nan[..., ::-1], axis=-1)
    return np.where(nan.any(axis=-1), last_nan, np.argmax(win, axis=-1))


class AdaptiveMaxPool2D(Function):
    """Output cell (i, j) is the maximum of its adaptive window (``_adaptive_cells``); the second
    output holds where it was, as a flat index into the input's (H, W) plane."""

    _backward_name = "AdaptiveMaxPool2DBackward0"

    @staticmethod
    def forward(ctx, x, out_hw):
        a = x._data
        h, w = a.shape[-2:]
        out = np.empty(a.shape[:-2] + tuple(out_hw), a.dtype)
        where = np.empty(out.shape, np.int64)
        for i, (r0, r1) in enumerate(_adaptive_cells(h, out_hw[0])):
            for j, (c0, c1) in enumerate(_adaptive_cells(w, out_hw[1])):
                win = a[..., r0:r1, c0:c1].reshape(a.shape[:-2] + (-1,))
                k = _window_argmax(win)
                out[..., i, j] = np.take_along_axis(win, k[..., None], -1)[..., 0]
                where[..., i, j] = (r0 + k // (c1 - c0)) * w + c0 + k % (c1 - c0)
        ctx.where, ctx.in_shape = where, a.shape
        indices = wrap(where)
        ctx.mark_non_differentiable(indices)
        return wrap(out), indices

    @staticmethod
    def backward(ctx, g, _):
        return AdaptiveMaxPool2DBackward.apply(g, ctx.where, ctx.in_shape), None


class AdaptiveMaxPool2DBackward(Function):
    """Each output cell's gradient added at its maximum; its derivative reads the gradient back
    at the maxima (an index)."""

    _backward_name = "AdaptiveMaxPool2DBackwardBackward0"

    @staticmethod
    def forward(ctx, g, where, in_shape):
        lead = int(np.prod(in_shape[:-2], dtype=np.int64))
        plane = in_shape[-2] * in_shape[-1]
        ctx.rows, ctx.flat, ctx.where_shape = np.arange(lead)[:, None], where.reshape(lead, -1), where.shape
        gx = np.zeros((lead, plane), g._data.dtype)
        np.add.at(gx, (ctx.rows, ctx.flat), g._data.reshape(lead, -1))
        return wrap(gx.reshape(in_shape))

    @staticmethod
    def backward(ctx, gg):
        lead = ctx.rows.shape[0]
        return gg.reshape(lead, -1)[ctx.rows, ctx.flat].reshape(ctx.where_shape), None, None

    jvp = staticmethod(linear_jvp)


def adaptive_max_pool2d(x: Tensor, output_size, return_indices: bool = False):
    """Max pooling to a fixed output size; with ``return_indices``, also where each maximum was."""
    if x.ndim not in (3, 4):
        raise RuntimeError("adaptive_max_pool2d(): Expected 3D or 4D tensor, but got: " + str(list(x.shape)))
    size = output_size if isinstance(output_size, (tuple, list)) else (output_size, output_size)
    out_hw = tuple(x.shape[-2 + k] if s is None else int(s) for k, s in enumerate(size))
    out, indices = AdaptiveMaxPool2D.apply(x, out_hw)
    return (out, indices) if return_indices else out


def adaptive_avg_pool2d(x: Tensor, output_size) -> Tensor:
    """Average pooling to a fixed output size."""
    if x.ndim not in (3, 4):
        raise RuntimeError("adaptive_avg_pool2d(): Expected 3D or 4D tensor, but got " + str(list(x.shape)))
    size = output_size if isinstance(output_size, (tuple, list)) else (output_size, output_size)
    out_hw = tuple(x.shape[-2 + k] if s is None else int(s) for k, s in enumerate(size))
    if out_hw == (1, 1):  # PyTorch takes the mean here (grad_fn MeanBackward1)
        return x.mean((-2, -1), keepdim=True)
    return AdaptiveAvgPool2D.apply(x, out_hw)
