"""Composable function transforms, as ``torch.func``: ``grad``, ``grad_and_value``, ``vjp``,
``jacrev``, ``vmap``, ``functional_call`` and ``stack_module_state``; forward mode: ``jvp``,
``jacfwd`` and ``hessian``."""
from ._forward import hessian, jacfwd, jvp
from ._functional_call import functional_call, stack_module_state
from ._grad import grad, grad_and_value, jacrev, vjp
from ._vmap import vmap

__all__ = ["functional_call", "grad", "grad_and_value", "jacrev", "stack_module_state", "vjp", "vmap", "jvp",
           "jacfwd", "hessian"]
