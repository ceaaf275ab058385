"""``torch.autograd.graph``: hooks on the tensors that operations save for backward.

Inside ``saved_tensors_hooks(pack, unpack)`` every tensor an op saves is passed to
``pack`` when it is saved, and what ``pack`` returned is given to ``unpack`` whenever
backward needs the tensor; the innermost pair of nested contexts applies.
"""
from __future__ import annotations

from typing import Any, Callable

from . import op_observers

__all__ = ["saved_tensors_hooks", "save_on_cpu", "disable_saved_tensors_hooks"]

_stack: list = []  # (pack, unpack) pairs, innermost last; None entries disable hooks
_disabled_message: list = []
_packing: list = []  # non-empty while a pack hook runs: ops it calls are not packed again, as in PyTorch


class _PackedSaved:
    """A saved-tensor slot whose tensor was replaced by what the pack hook returned."""

    __slots__ = ("packed", "unpack_hook")

    def __init__(self, packed, unpack_hook):
        self.packed, self.unpack_hook = packed, unpack_hook

    def unpack(self, node):
        from ..tensor import Tensor
        t = self.unpack_hook(self.packed)
        if not isinstance(t, Tensor):
            raise TypeError("Output of saved tensor unpack_hook expected to be a Tensor but got result of type "
                            f"{type(t).__name__}")
        return t


def _pack_saved(cls, args, kwargs, call):
    result = call()
    if not _stack or _packing:
        return result
    pack, unpack = _stack[-1]
    outputs = result if isinstance(result, tuple) else (result,)
    node = next((o._grad_fn for o in outputs if getattr(o, "_grad_fn", None) is not None
                 and type(o._grad_fn) is cls._backward_cls), None)
    if node is not None and node._saved:
        _packing.append(True)
        try:
            node._saved = [None if s is None else _PackedSaved(pack(_saved_value(s, node, outputs)), unpack)
                           for s in node._saved]
        finally:
            _packing.pop()
    return result


def _saved_value(saved, node, outputs):
    """The tensor a pack hook is given: a saved output is the output itself (with its grad_fn),
    as in PyTorch, not a tensor rebuilt from the saved array."""
    if saved.tensor is None and saved.output_nr < len(outputs):
        output = outputs[saved.output_nr]
        if getattr(output, "_grad_fn", None) is node:
            return output
    return saved.unpack(node)


class saved_tensors_hooks:
    """``with saved_tensors_hooks(pack_hook, unpack_hook):`` applies the hooks to the tensors saved inside."""

    def __init__(self, pack_hook: Callable[[Any], Any], unpack_hook: Callable[[Any], Any]):
        self.pack_hook = pack_hook
        self.unpack_hook = unpack_hook

    def __enter__(self):
        if _disabled_message:
            raise RuntimeError(_disabled_message[-1])
        _stack.append((self.pack_hook, self.unpack_hook))
        op_observers.add(_pack_saved)
        return self

    def __exit__(self, *exc):
        _stack.pop()
        op_observers.remove(_pack_saved)


class save_on_cpu(saved_tensors_hooks):
    """Saved tensors kept on the CPU: every pygrad tensor already is, so they are kept as they are."""

    def __init__(self, pin_memory: bool = False, device_type: str = "cuda"):
        super().__init__(lambda t: t, lambda t: t)


class disable_saved_tensors_hooks:
    """Make ``saved_tensors_hooks`` raise ``RuntimeError(error_message)`` inside this context."""

    def __init__(self, error_message: str):
        self.error_message = error_message

    def __enter__(self):
        _disabled_message.append(self.error_message)
        return self

    def __exit__(self, *exc):
        _disabled_message.pop()
