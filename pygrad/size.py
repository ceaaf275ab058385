"""``Size``: a tuple of ints that prints as ``torch.Size([2, 3])``."""
from __future__ import annotations

import operator
from typing import SupportsIndex, overload

from ._printing import format_size


class Size(tuple[int, ...]):
    """The shape of a tensor."""

    __slots__ = ()

    def numel(self) -> int:
        """The number of elements a tensor of this shape has."""
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


def _as_int(value):
    """``value`` as a size (an int, a NumPy integer, an integer 0-d tensor), or None; a bool is no size."""
    if type(value) is bool or not hasattr(type(value), "__index__"):
        return None
    try:
        return operator.index(value)
    except TypeError:
        return None


def size_arguments(values: tuple, fn: str, arg: str = "size") -> tuple:
    """The ints of ``f(2, 3)`` or ``f((2, 3))``; anything else gets the ``TypeError`` PyTorch's argument
    parser gives for ``fn``'s ``arg`` (its wording depends on the form and on which element is wrong)."""
    if not values:
        raise TypeError(f"{fn}() missing 1 required positional arguments: \"{arg}\"")
    packed = len(values) == 1 and isinstance(values[0], (tuple, list))
    given = tuple(values[0]) if packed else values
    sizes = tuple(_as_int(v) for v in given)
    if None not in sizes:
        return sizes
    bad = sizes.index(None)
    kind = type(given[bad]).__name__
    if bad:
        raise TypeError(f"{fn}(): argument '{arg}' failed to unpack the object at pos {bad + 1} with error "
                        f"\"type must be tuple of ints,but got {kind}\"")
    if packed:
        raise TypeError(f"{fn}(): argument '{arg}' (position 1) must be tuple of ints, but found element of "
                        f"type {kind} at pos 0")
    if len(values) == 1:
        raise TypeError(f"{fn}(): argument '{arg}' (position 1) must be tuple of ints, not {kind}")
    raise TypeError(f"{fn}() takes 1 positional argument but {len(values)} were given")
