"""pygrad: PyTorch-compatible reverse-mode automatic differentiation on NumPy.

``import pygrad as torch`` runs the tensor and autograd subset of PyTorch programs and
prints what PyTorch 2.13 prints.
"""
from __future__ import annotations

from . import _backend
from ._printing import set_printoptions
from .autograd import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .dtypes import (bool, double, float, float16, float32, float64, get_default_dtype, half,  # noqa: A004
                     int, int8, int16, int32, int64, long, promote_types, set_default_dtype, short,
                     uint8)
from .dtypes import dtype
from .size import Size
from .tensor import Tensor
from .creation import (arange, as_tensor, empty, empty_like, eye, from_dlpack, from_numpy, full,  # noqa: E402
                       full_like, initial_seed, linspace, manual_seed, ones, ones_like, rand,
                       rand_like, randint, randn, randn_like, seed, tensor, zeros, zeros_like)
from .ops.arith import add, div, mul, neg, pow, sub, where  # noqa: E402
from .ops.reduce import mean, sum  # noqa: E402
from .ops.shape import permute, reshape  # noqa: E402
from .ops.unary import abs, clone, cos, exp, log, reciprocal, relu, sigmoid, sin, sqrt, tanh  # noqa: E402
from . import autograd  # noqa: E402
from .serialization import load, save  # noqa: E402
from . import nn, optim, utils  # noqa: E402

__version__ = "0.1.0"

negative = neg
true_divide = divide = div
multiply = mul
subtract = sub


def backend() -> str:
    """``"native"`` when the compiled modules are in use, ``"pure"`` for the NumPy fallback."""
    return _backend.name


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


def numel(t: Tensor) -> int:
    return t.numel()
