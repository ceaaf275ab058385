"""The one check every NumPy array passes before it becomes a tensor's storage.

The compiled kernels read an array's memory by its dtype's kind and size, so they must only
ever see the dtypes pygrad supports, in the machine's byte order.  The constructors PyTorch
refuses such arrays in (``from_numpy``, ``as_tensor``, ``tensor``, ``Tensor``, ``new_tensor``)
refuse a swapped byte order with PyTorch's message; arrays from files, pickles, DataLoader
batches and operands of ops (which PyTorch converts too) are converted to native order.
"""
from __future__ import annotations

import numpy as np

from . import dtypes

__all__ = ["checked_array"]

BYTE_ORDER = ("given numpy array has byte order different from the native byte order. "
              "Conversion between byte orders is currently not supported.")


def checked_array(array, *, convert_byte_order: bool = False) -> np.ndarray:
    """``array`` if a tensor may hold it, else PyTorch's error (``TypeError`` for a dtype pygrad
    does not support, ``ValueError`` for a swapped byte order unless ``convert_byte_order``)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    dtypes.from_numpy(array.dtype)
    if array.dtype.isnative:
        return array
    if not convert_byte_order:
        raise ValueError(BYTE_ORDER)
    return array.astype(array.dtype.newbyteorder("="))
