"""Composable function transforms, as ``torch.func``: ``grad``, ``grad_and_value``, ``vjp``,
``jacrev``, ``vmap`` and ``functional_call``."""
from ._vmap import vmap

__all__ = ["vmap"]
