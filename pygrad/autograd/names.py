"""What to call the tensors of a graph in pictures and explanations: the names the caller
gave, else the names of the caller's variables that hold them."""
from __future__ import annotations

from .function import AccumulateGrad

__all__ = ["TensorNames"]


class TensorNames:
    """Names of tensors, by identity: ``named`` (``(name, tensor)`` pairs) first, then the
    variables of ``frame`` (its locals before its globals; names starting with ``_`` are
    skipped).  A tensor made by an op is also found through its ``grad_fn``."""

    def __init__(self, named=(), frame=None):
        from ..tensor import Tensor
        pairs = list(named)
        if frame is not None:
            for scope in (frame.f_locals, frame.f_globals):
                pairs += [(k, v) for k, v in scope.items() if isinstance(v, Tensor) and not k.startswith("_")]
        self.by_id, self.by_output = {}, {}
        for name, t in pairs:
            self.by_id.setdefault(id(t), name)
            if t.grad_fn is not None:
                self.by_output.setdefault((t.grad_fn, t.output_nr), name)

    def tensor(self, tensor) -> str | None:
        return self.by_id.get(id(tensor))

    def leaf(self, tensor, number: int) -> str:
        return self.by_id.get(id(tensor)) or f"leaf{number}"

    def output(self, node, nr: int = 0) -> str | None:
        """The name of the tensor ``node`` made as its output ``nr`` (of the leaf, for an
        ``AccumulateGrad``), or None."""
        if isinstance(node, AccumulateGrad):
            return self.by_id.get(id(node.variable))
        return self.by_output.get((node, nr))
