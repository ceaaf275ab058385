"""softmax and log_softmax along a dim: PyTorch's argument handling (the ops themselves,
``_softmax`` and ``_log_softmax``, and their derivatives are entries of the op table).

``pygrad.nn.functional`` re-exports these.
"""
from __future__ import annotations

import warnings

import numpy as np

from .. import dtypes
from ..tensor import Tensor
from ._util import normalize_dim
from .optable import LOG_SOFTMAX, SOFTMAX  # built by the time these functions run

__all__ = ["softmax", "log_softmax", "torch_softmax", "torch_log_softmax"]


def _require_float(x: Tensor, kernel: str) -> None:
    if not x.dtype.is_floating_point:
        raise NotImplementedError(f'"{kernel}" not implemented for \'{x.dtype._tensor_type[:-6]}\'')


def _softmax_dim(x: Tensor, dim, name: str) -> int:
    if dim is None:
        # F.softmax without dim: PyTorch's legacy implicit choice, with its warning.
        warnings.warn(f"Implicit dimension choice for {name} has been deprecated. Change the call to "
                      "include dim=X as an argument.", UserWarning, stacklevel=3)
        dim = 0 if x.ndim in (0, 1, 3) else 1
    return normalize_dim(dim, x.ndim)


def _softmax_input(x: Tensor, dim: int, dtype, kernel: str) -> Tensor:
    if dtype is not None:
        x = x.to(dtypes.as_dtype(dtype))
    last = dim == max(x.ndim - 1, 0)
    _require_float(x, f"{kernel}_lastdim_kernel_impl" if last else f"{kernel}_kernel_impl")
    return x


def softmax(x: Tensor, dim=None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim``, computed after subtracting the max (no overflow)."""
    dim = _softmax_dim(x, dim, "softmax")
    x = _softmax_input(x, dim, dtype, "softmax")
    return SOFTMAX.fn.apply(x, dim if x.ndim else None)


def log_softmax(x: Tensor, dim=None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """x - logsumexp(x) along ``dim``."""
    dim = _softmax_dim(x, dim, "log_softmax")
    x = _softmax_input(x, dim, dtype, "log_softmax")
    return LOG_SOFTMAX.fn.apply(x, dim if x.ndim else None)


_NO_DIM = object()


def _required_dim_and_dtype(dim, dtype, name: str) -> None:
    """``torch.softmax(x, dim, dtype)`` takes no implicit dim, and a dtype third (F.softmax's third
    argument is ``_stacklevel``)."""
    if dim is _NO_DIM:
        raise TypeError(f'{name}() missing 1 required positional arguments: "dim"')
    if dim is None:
        raise TypeError(f"{name}(): argument 'dim' must be int, not NoneType")
    if dtype is not None and not isinstance(dtype, dtypes.dtype):
        raise TypeError(f"{name}(): argument 'dtype' (position 3) must be torch.dtype, not {type(dtype).__name__}")


def torch_softmax(x: Tensor, dim=_NO_DIM, dtype=None) -> Tensor:
    """``torch.softmax``: ``softmax`` with ``dim`` required and ``dtype`` allowed positionally."""
    _required_dim_and_dtype(dim, dtype, "softmax")
    return softmax(x, dim, dtype=dtype)


def torch_log_softmax(x: Tensor, dim=_NO_DIM, dtype=None) -> Tensor:
    """``torch.log_softmax``: ``log_softmax`` with ``dim`` required and ``dtype`` allowed positionally."""
    _required_dim_and_dtype(dim, dtype, "log_softmax")
    return log_softmax(x, dim, dtype=dtype)
