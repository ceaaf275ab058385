"""``pygrad.nn``: modules, parameters, layers, losses, ``functional`` and ``init``."""
from . import functional, init, utils
from .modules import *  # noqa: F401,F403
from .modules import __all__ as _modules_all
from .parameter import Parameter, UninitializedBuffer, UninitializedParameter

__all__ = ["Parameter", "UninitializedParameter", "UninitializedBuffer", "functional", "init", "utils"] + list(_modules_all)
