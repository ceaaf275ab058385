"""Gradient clipping, in place on ``.grad``, with PyTorch's formulas."""
from __future__ import annotations

import numpy as np

from ..._errstate import quietly
from ...tensor import Tensor


def _grads(parameters) -> list[Tensor]:
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


@quietly  # an inf or nan gradient gives an inf or nan norm, as in PyTorch
def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False,
                    foreach=None) -> Tensor:
    """Scale the gradients so their joint ``norm_type`` norm is at most ``max_norm``; returns the
    norm before clipping."""
    grads = _grads(parameters)
    norm_type = float(norm_type)
    if not grads:
        return Tensor._wrap(np.array(0.0, np.float32))
    dtype = grads[0]._data.dtype
    if norm_type == float("inf"):
        norms = np.array([np.abs(g._data).max() if g._data.size else 0 for g in grads], dtype)
        total = norms.max()
    else:
        norms = np.array([np.sum(np.abs(g._data) ** norm_type) ** (1 / norm_type) for g in grads], dtype)
        total = np.sum(norms ** norm_type) ** (1 / norm_type)
    total = np.asarray(total, dtype)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, "
                           "so it cannot be clipped. To disable this error and scale the gradients by the "
                           "non-finite norm anyway, set `error_if_nonfinite=False`")
    coef = min(dtype.type(max_norm) / (total + dtype.type(1e-6)), dtype.type(1.0))
    for g in grads:
        np.multiply(g._data, coef, out=g._data, casting="same_kind")
        g._version.value += 1
    return Tensor._wrap(total)


def clip_grad_value_(parameters, clip_value: float, foreach=None) -> None:
    """Clamp every gradient element into ``[-clip_value, clip_value]``."""
    for g in _grads(parameters):
        np.clip(g._data, -clip_value, clip_value, out=g._data)
        g._version.value += 1
