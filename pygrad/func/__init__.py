"""Composable function transforms, as ``torch.func``: ``grad``, ``grad_and_value``, ``vjp``,
``jacrev``, ``vmap`` and ``functional_call``; forward mode: ``jvp``, ``jacfwd`` and ``hessian``."""
from ._forward import hessian, jacfwd, jvp
from ._functional_call import functional_call
from ._grad import grad, grad_and_value, jacrev, vjp
from ._vmap import vmap

__all__ = ["functional_call", "grad", "grad_and_value", "jacrev", "vjp", "vmap", "jvp", "jacfwd", "hessian"]
