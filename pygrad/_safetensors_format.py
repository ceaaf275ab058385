"""``safetensors`` files of ``{name: tensor}`` dicts (state_dicts), through the optional
``safetensors`` package's NumPy API (``pip install "pygrad[safetensors]"``).

The format holds flat, contiguous arrays with no sharing, no ``requires_grad`` and no Python
objects, so it suits weights exchanged with other libraries; a loaded dict holds plain tensors,
which ``Module.load_state_dict`` copies into the model's parameters.
"""
from __future__ import annotations

import numpy as np

from ._arrays import checked_array
from ._safe_zip import CheckpointError
from .tensor import Tensor

__all__ = ["read", "write"]


def _numpy_api():
    try:
        import safetensors.numpy
    except ImportError:
        raise ImportError("reading or writing safetensors files needs the safetensors package: "
                          'pip install "pygrad[safetensors]"') from None
    return safetensors.numpy


def write(obj, fh) -> None:
    api = _numpy_api()
    if not isinstance(obj, dict) or not all(isinstance(k, str) and isinstance(v, Tensor) for k, v in obj.items()):
        raise TypeError("format='safetensors' writes a dict of {str: Tensor} (a state_dict), got "
                        f"{type(obj).__name__}" + (" with other keys or values" if isinstance(obj, dict) else ""))
    fh.write(api.save({k: np.ascontiguousarray(v._data) for k, v in obj.items()}))


def read(fh) -> dict:
    api = _numpy_api()
    try:
        arrays = api.load(fh.read())
    except Exception as e:  # the package's own parser refused it (SafetensorError, an unknown dtype ...)
        raise CheckpointError(f"damaged or unsupported safetensors file ({type(e).__name__}: {e})") from None
    try:
        return {name: Tensor._wrap(checked_array(a, convert_byte_order=True)) for name, a in arrays.items()}
    except TypeError as e:
        raise CheckpointError(f"unsupported safetensors file: {e}") from None
