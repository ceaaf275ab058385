"""``Size``: a tuple of ints that prints as ``torch.Size([2, 3])``."""
from __future__ import annotations

from typing import SupportsIndex, overload

from ._printing import format_size


class Size(tuple[int, ...]):
    """The shape of a tensor."""

    __slots__ = ()

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n

    def __repr__(self) -> str:
        return format_size(self)

    __str__ = __repr__

    @overload
    def __getitem__(self, item: SupportsIndex) -> int: ...

    @overload
    def __getitem__(self, item: slice) -> Size: ...

    def __getitem__(self, item: SupportsIndex | slice) -> int | Size:
        if isinstance(item, slice):
            return Size(tuple.__getitem__(self, item))
        return tuple.__getitem__(self, item)

    def __add__(self, other):
        return Size(tuple.__add__(self, other))
