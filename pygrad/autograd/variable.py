"""``Variable``: the pre-0.4 wrapper, now a name for ``Tensor`` as in PyTorch.

``Variable(t)`` gives ``t`` detached (same storage, no history) with the requested
``requires_grad``; ``isinstance(x, Variable)`` holds for every tensor.
"""
from __future__ import annotations

import warnings

from ..tensor import Tensor

__all__ = ["Variable"]


class _VariableMeta(type):
    def __instancecheck__(cls, obj) -> bool:
        return isinstance(obj, Tensor)

    def __call__(cls, data: Tensor | None = None, requires_grad: bool = False, volatile: bool = False):
        if volatile:
            warnings.warn("volatile was removed and now has no effect. Use `with torch.no_grad():` instead.",
                          stacklevel=2)
        if data is None:
            data = Tensor(())
        if not isinstance(data, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
        if requires_grad and not data.dtype.is_floating_point:
            raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")
        return data.detach().requires_grad_(requires_grad)


class Variable(metaclass=_VariableMeta):
    """The legacy ``Variable(tensor, requires_grad=False)``: returns a Tensor (``volatile=`` warns and is ignored)."""
    pass
