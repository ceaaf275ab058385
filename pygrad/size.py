"""``Size``: a tuple of ints that prints as ``torch.Size([2, 3])``."""
from __future__ import annotations

from ._printing import format_size


class Size(tuple):
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

    def __getitem__(self, item):
        result = tuple.__getitem__(self, item)
        return Size(result) if isinstance(item, slice) else result

    def __add__(self, other):
        return Size(tuple.__add__(self, other))
