"""``conv1d``, ``conv_transpose1d`` and ``conv_transpose2d``, composed from ``conv2d``.

A 1-d convolution is a 2-d one over a height of 1.  A transposed convolution is the
convolution of the input spread out by ``stride`` (zeros in between) and padded by
``dilation * (kernel - 1) - padding``, with the kernel flipped and its channel dims swapped
per group; every step is an existing differentiable op, so the gradients come for free.
"""
from __future__ import annotations

from ..ops import conv as _conv
from ..ops.shape import flip
from ..tensor import Tensor


def _tuple(value, n: int, name: str = "value") -> tuple:
    if isinstance(value, (tuple, list)):
        if len(value) != n:
            raise RuntimeError(f"expected {name} to be a single integer value or a list of {n} values to match "
                               f"the convolution dimensions, but got {name}={list(value)}")
        return tuple(int(v) for v in value)
    return (int(value),) * n


def _check_input(x: Tensor, spatial: int, name: str) -> bool:
    """True when ``x`` is unbatched; raises for a wrong number of dims."""
    if x.ndim not in (spatial + 1, spatial + 2):
        raise RuntimeError(f"Expected {spatial + 1}D (unbatched) or {spatial + 2}D (batched) input to {name}, but got "
                           f"input of size: {list(x.shape)}")
    return x.ndim == spatial + 1


def resolve_padding(x: Tensor, padding, kernel: tuple, stride: tuple, dilation: tuple) -> tuple[Tensor, tuple]:
    """``x`` and integer paddings for ``padding`` given as ints, ``'valid'`` or ``'same'`` (where an
    odd total goes after, as PyTorch pads it, by padding ``x`` explicitly)."""
    n = len(kernel)
    if not isinstance(padding, str):
        return x, _tuple(padding, n, "padding")
    if padding not in ("same", "valid"):
        raise ValueError(f"Invalid padding string '{padding}', should be one of ['valid', 'same']")
    if padding == "valid":
        return x, (0,) * n
    if any(s != 1 for s in stride):
        raise RuntimeError("padding='same' is not supported for strided convolutions")
    total = [d * (k - 1) for k, d in zip(kernel, dilation)]
    extra = []
    for t in reversed(total):
        extra += [0, t % 2]
    if any(extra):
        x = _conv.pad(x, extra)
    return x, tuple(t // 2 for t in total)


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1,
           groups: int = 1) -> Tensor:
    """``torch.nn.functional.conv1d`` over (N, C, L) or unbatched (C, L) input."""
    unbatched = _check_input(input, 1, "conv1d")
    x = input.unsqueeze(0) if unbatched else input
    stride, dilation = _tuple(stride, 1, "stride"), _tuple(dilation, 1, "dilation")
    x, (padding,) = resolve_padding(x, padding, tuple(weight.shape[2:]), stride, dilation)
    out = _conv.conv2d(x.unsqueeze(2), weight.unsqueeze(2), bias, (1, stride[0]), (0, padding), (1, dilation[0]),
                       groups)
    out = out.squeeze(2)
    return out.squeeze(0) if unbatched else out


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0, dilation=1,
           groups: int = 1) -> Tensor:
    """``torch.nn.functional.conv2d``, also with ``padding='same'`` / ``'valid'``."""
    if isinstance(padding, str) and input.ndim in (3, 4):
        stride, dilation = _tuple(stride, 2, "stride"), _tuple(dilation, 2, "dilation")
        x, padding = resolve_padding(input, padding, tuple(weight.shape[2:]), stride, dilation)
        return _conv.conv2d(x, weight, bias, stride, padding, dilation, groups)
    return _conv.conv2d(input, weight, bias, stride, padding, dilation, groups)


def _spread(x: Tensor, stride: tuple) -> Tensor:
    """(N, C, *S) with ``stride - 1`` zeros between neighbours along each spatial dim."""
    if all(s == 1 for s in stride):
        return x
    n, c, *sizes = x.shape
    interleaved = []
    for size in sizes:
        interleaved += [size, 1]
    y = x.reshape(n, c, *interleaved)
    pads = []
    for s in reversed(stride):  # F.pad lists the last dim first
        pads += [0, s - 1, 0, 0]
    y = _conv.pad(y, pads)
    y = y.reshape(n, c, *[size * s for size, s in zip(sizes, stride)])
    crop = []
    for s in reversed(stride):
        crop += [0, -(s - 1)]
    return _conv.pad(y, crop)


def _transposed_kernel(weight: Tensor, groups: int) -> Tensor:
    """(C_in, C_out/g, *K) -> (C_out, C_in/g, *K), flipped in space: the kernel of the equivalent convolution."""
    cin, cout_g, *kernel = weight.shape
    w = weight.reshape(groups, cin // groups, cout_g, *kernel).transpose(1, 2)
    w = w.reshape(groups * cout_g, cin // groups, *kernel)
    return flip(w, tuple(range(2, 2 + len(kernel))))


def _conv_transpose(input: Tensor, weight: Tensor, bias, stride, padding, output_padding, groups, dilation,
                    spatial: int, name: str) -> Tensor:
    unbatched = _check_input(input, spatial, name)
    x = input.unsqueeze(0) if unbatched else input
    stride, padding = _tuple(stride, spatial, "stride"), _tuple(padding, spatial, "padding")
    output_padding, dilation = _tuple(output_padding, spatial, "output_padding"), _tuple(dilation, spatial, "dilation")
    if x.shape[1] != weight.shape[0]:
        raise RuntimeError(f"Given transposed=1, weight of size {list(weight.shape)}, expected input{list(x.shape)} "
                           f"to have {weight.shape[0]} channels, but got {x.shape[1]} channels instead")
    for op, s, d in zip(output_padding, stride, dilation):
        if op >= s and op >= d:
            raise RuntimeError("output padding must be smaller than either stride or dilation, but got "
                               f"output_padding: {', '.join(map(str, output_padding))}, stride: "
                               f"{', '.join(map(str, stride))}, dilation: {', '.join(map(str, dilation))}")
    kernel = weight.shape[2:]
    y = _spread(x, stride)
    pads = []
    for k, p, op, d in reversed(list(zip(kernel, padding, output_padding, dilation))):
        edge = d * (k - 1) - p
        pads += [edge, edge + op]
    y = _conv.pad(y, pads)
    w = _transposed_kernel(weight, groups)
    if spatial == 1:
        out = _conv.conv2d(y.unsqueeze(2), w.unsqueeze(2), bias, 1, 0, (1, dilation[0]), groups).squeeze(2)
    else:
        out = _conv.conv2d(y, w, bias, 1, 0, dilation, groups)
    return out.squeeze(0) if unbatched else out


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
                     output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """1-D transposed convolution."""
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, 1,
                           "conv_transpose1d")


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
                     output_padding=0, groups: int = 1, dilation=1) -> Tensor:
    """2-D transposed convolution."""
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation, 2,
                           "conv_transpose2d")
