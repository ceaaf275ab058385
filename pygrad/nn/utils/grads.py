"""Resetting gradients, shared by ``Module.zero_grad`` and ``Optimizer.zero_grad``."""
from __future__ import annotations

from typing import Iterable


def zero_grads(parameters: Iterable, set_to_none: bool = True) -> None:
    """Drop each parameter's ``.grad`` (``set_to_none``) or zero it in place, as PyTorch does."""
    for p in parameters:
        g = p._grad if p._grad_fn is None else p.grad  # (a leaf's without the property's frame)
        if g is None:
            continue
        if set_to_none:
            p._grad = None
            continue
        if g.grad_fn is not None:
            g.detach_()
        else:
            g.requires_grad_(False)
        g._data[...] = 0
        g._version.value += 1
