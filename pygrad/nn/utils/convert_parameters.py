"""Parameters as one flat vector and back."""
from __future__ import annotations

import numpy as np

from ...tensor import Tensor


def parameters_to_vector(parameters) -> Tensor:
    """One 1-D tensor holding every parameter's values, in order: ``cat`` of their flat views, so,
    as in PyTorch, it is part of the graph (``CatBackward0``)."""
    from ...ops.shape import cat
    return cat([p.view(-1) for p in parameters])


def vector_to_parameters(vec: Tensor, parameters) -> None:
    """Write consecutive slices of ``vec`` into the parameters, in place."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {type(vec).__name__}")
    offset = 0
    for p in parameters:
        n = p._data.size
        np.copyto(p._data, vec._data[offset:offset + n].reshape(p._data.shape), casting="same_kind")
        p._version.value += 1
        offset += n
