"""Composable function transforms, as ``torch.func``: ``grad``, ``grad_and_value``, ``vjp``,
``jacrev``, ``vmap`` and ``functional_call``."""
from ._functional_call import functional_call
from ._grad import grad, grad_and_value, jacrev, vjp
from ._vmap import vmap

__all__ = ["functional_call", "grad", "grad_and_value", "jacrev", "vjp", "vmap"]
