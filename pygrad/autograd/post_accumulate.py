"""``Tensor.register_post_accumulate_grad_hook``: hooks run after a leaf's ``.grad`` was updated.

Kept outside the tensor's fields (which are fixed C members when compiled): a table keyed by
the tensor's id, emptied when the tensor is collected.
"""
from __future__ import annotations

import weakref

from .function import RemovableHandle, add_hook

hooks: dict = {}  # id(tensor) -> {key: hook}


def register(tensor, hook) -> RemovableHandle:
    if not tensor.requires_grad:
        raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
    if tensor.grad_fn is not None:
        raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
    key = id(tensor)
    table = hooks.get(key)
    if table is None:
        table = hooks[key] = {}
        weakref.finalize(tensor, hooks.pop, key, None)
    return add_hook(table, hook)


def run(tensor) -> None:
    table = hooks.get(id(tensor))
    if table:
        for hook in tuple(table.values()):
            hook(tensor)
