"""Storages and views for the file formats: which saved arrays share memory, and where in it.

A tensor saved to a file is stored, as in PyTorch, as (storage, offset, shape, strides): every
array that views the same memory block points into one stored storage, so a view and its base
still share memory after loading.  Reading rebuilds each view with NumPy's own bounds check.
"""
from __future__ import annotations

import numpy as np

__all__ = ["StorageTable", "view_of"]


def _address(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


def _root(a: np.ndarray) -> np.ndarray:
    """The array at the bottom of ``a``'s chain of views (the one that holds the memory)."""
    while True:
        base = a.base
        if not isinstance(base, np.ndarray):
            # broadcast_to / as_strided keep their source behind a small holder object
            base = getattr(base, "base", None) if hasattr(base, "__array_interface__") else None
            if not isinstance(base, np.ndarray):
                return a
        a = base


def _contiguous_strides(shape) -> tuple:
    strides, step = [], 1
    for n in reversed(shape):
        strides.append(step)
        step *= max(n, 1)
    return tuple(reversed(strides))


def _inside(size: int, offset: int, shape, strides) -> bool:
    """Every element of the view ``(offset, shape, strides)`` lies in a storage of ``size``."""
    if 0 in shape:
        return 0 <= offset <= size
    low = offset + sum((n - 1) * s for n, s in zip(shape, strides) if s < 0)
    high = offset + sum((n - 1) * s for n, s in zip(shape, strides) if s > 0)
    return 0 <= low and high < size


class StorageTable:
    """Collects the storages of the arrays a writer saves.

    ``add(array)`` returns ``(storage_index, offset, shape, strides)`` with offset and strides in
    elements; ``storages`` holds one 1-D array per storage.  ``allow_negative_strides=False``
    (PyTorch's files) stores a view with a negative stride as a compact copy of its own.
    """

    def __init__(self, allow_negative_strides: bool = True):
        self.storages: list[np.ndarray] = []
        self._by_root: dict[int, int] = {}
        self._roots: list[np.ndarray] = []  # keeps each root alive while its id is a key
        self._allow_negative = allow_negative_strides

    def add(self, a: np.ndarray) -> tuple[int, int, tuple, tuple]:
        if a.size == 0:  # nothing to share; NumPy may give it zero strides, PyTorch contiguous ones
            return self._new(np.empty(0, a.dtype)), 0, a.shape, _contiguous_strides(a.shape)
        root = _root(a)
        itemsize = a.dtype.itemsize
        distance = _address(a) - _address(root)
        if (root.dtype == a.dtype and (root.flags.c_contiguous or root.flags.f_contiguous)
                and distance % itemsize == 0 and all(s % itemsize == 0 for s in a.strides)
                and (self._allow_negative or all(s >= 0 for s in a.strides))):
            offset = distance // itemsize
            strides = tuple(s // itemsize for s in a.strides)
            if _inside(root.size, offset, a.shape, strides):
                index = self._by_root.get(id(root))
                if index is None:
                    index = self._new(root.ravel(order="K"))
                    self._by_root[id(root)] = index
                    self._roots.append(root)
                return index, offset, a.shape, strides
        compact = np.ascontiguousarray(a)
        return self._new(compact.reshape(-1)), 0, a.shape, tuple(s // itemsize for s in compact.strides)

    def _new(self, flat: np.ndarray) -> int:
        self.storages.append(flat)
        return len(self.storages) - 1


def view_of(storage: np.ndarray, offset, shape, strides) -> np.ndarray:
    """The view ``(offset, shape, strides)`` (in elements) of a 1-D storage; ``ValueError``
    unless every index stays inside the storage."""
    for name, values in (("shape", shape), ("strides", strides)):
        if not isinstance(values, (list, tuple)) or not all(type(v) is int for v in values):
            raise ValueError(f"a tensor's {name} must be a list of integers, got {values!r:.80}")
    if type(offset) is not int or offset < 0:
        raise ValueError(f"a tensor's storage offset must be a non-negative integer, got {offset!r:.80}")
    if len(shape) != len(strides) or any(n < 0 for n in shape):
        raise ValueError(f"a tensor's shape {list(shape)} and strides {list(strides)} do not match")
    itemsize = storage.dtype.itemsize
    if 0 in shape:
        return np.empty(tuple(shape), storage.dtype)
    if not _inside(storage.size, offset, shape, strides):
        raise ValueError(f"a tensor of shape {list(shape)}, strides {list(strides)} and offset {offset} reaches "
                         f"outside its storage of {storage.size} elements")
    return np.ndarray(tuple(shape), storage.dtype, buffer=storage, offset=offset * itemsize,
                      strides=tuple(s * itemsize for s in strides))
