"""``ZeroPad1d/2d``, ``ConstantPad1d/2d/3d``, ``ReflectionPad1d/2d/3d``, ``ReplicationPad1d/2d/3d``
and ``CircularPad1d/2d/3d``: ``F.pad`` as modules."""
from __future__ import annotations

from ...tensor import Tensor
from .. import functional as F
from .module import Module

__all__ = ["ConstantPad1d", "ConstantPad2d", "ConstantPad3d", "ZeroPad1d", "ZeroPad2d"]


class _ConstantPadNd(Module):
    _dims = 1  # how many trailing dims are padded

    def __init__(self, padding, value: float):
        super().__init__()
        self.padding = tuple(padding) if isinstance(padding, (tuple, list)) else (padding,) * (2 * self._dims)
        self.value = value

    def forward(self, input: Tensor) -> Tensor:
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    """Pad the last dim with ``value`` (``padding``: one number or (left, right))."""
    _dims = 1


class ConstantPad2d(_ConstantPadNd):
    """Pad the last two dims with ``value`` (``padding``: one number or (left, right, top, bottom))."""
    _dims = 2


class ConstantPad3d(_ConstantPadNd):
    """Pad the last three dims with ``value`` (one number or six)."""
    _dims = 3


class ZeroPad1d(ConstantPad1d):
    """Pad the last dim with zeros."""
    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad2d(ConstantPad2d):
    """Pad the last two dims with zeros."""
    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _IndexPadNd(Module):
    _dims, _mode = 1, "reflect"

    def __init__(self, padding):
        super().__init__()
        self.padding = tuple(padding) if isinstance(padding, (tuple, list)) else (padding,) * (2 * self._dims)

    def forward(self, input: Tensor) -> Tensor:
        return F.pad(input, self.padding, self._mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ReflectionPad1d(_IndexPadNd):
    """Pad the last dim with its reflection (the edge element not repeated)."""
    _dims, _mode = 1, "reflect"


class ReflectionPad2d(_IndexPadNd):
    """Pad the last two dims with their reflection."""
    _dims, _mode = 2, "reflect"


class ReflectionPad3d(_IndexPadNd):
    """Pad the last three dims with their reflection."""
    _dims, _mode = 3, "reflect"


class ReplicationPad1d(_IndexPadNd):
    """Pad the last dim by repeating its edge elements."""
    _dims, _mode = 1, "replicate"


class ReplicationPad2d(_IndexPadNd):
    """Pad the last two dims by repeating their edge elements."""
    _dims, _mode = 2, "replicate"


class ReplicationPad3d(_IndexPadNd):
    """Pad the last three dims by repeating their edge elements."""
    _dims, _mode = 3, "replicate"


class CircularPad1d(_IndexPadNd):
    """Pad the last dim with its other end (as if the dim wrapped around)."""
    _dims, _mode = 1, "circular"


class CircularPad2d(_IndexPadNd):
    """Pad the last two dims with their other ends."""
    _dims, _mode = 2, "circular"


class CircularPad3d(_IndexPadNd):
    """Pad the last three dims with their other ends."""
    _dims, _mode = 3, "circular"


__all__ += ["CircularPad1d", "CircularPad2d", "CircularPad3d", "ReflectionPad1d", "ReflectionPad2d",
            "ReflectionPad3d", "ReplicationPad1d", "ReplicationPad2d", "ReplicationPad3d"]
