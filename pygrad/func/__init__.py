"""Composable function transforms, as ``torch.func``."""
from ._forward import hessian, jacfwd, jvp

__all__ = ["jvp", "jacfwd", "hessian"]
