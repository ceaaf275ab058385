"""pygrad: PyTorch-compatible reverse-mode automatic differentiation on NumPy.

``import pygrad as torch`` runs the tensor and autograd subset of PyTorch programs and
prints what PyTorch 2.13 prints.
"""
from __future__ import annotations

from . import _backend
from ._printing import set_printoptions
from .autograd import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .autograd.anomaly_mode import is_anomaly_check_nan_enabled, is_anomaly_enabled
from .dtypes import (bool, double, float, float16, float32, float64, get_default_dtype, half,  # noqa: A004
                     int, int8, int16, int32, int64, long, promote_types, set_default_dtype, short,
                     uint8)
from .dtypes import dtype, finfo, iinfo
from ._device import cuda, device, get_default_device, set_default_device
from .size import Size
from .tensor import Tensor
from .creation import (arange, as_tensor, empty, empty_like, eye, from_dlpack, from_numpy, full,  # noqa: E402
                       full_like, initial_seed, linspace, logspace, manual_seed, meshgrid, multinomial, normal, ones,
                       ones_like, rand, rand_like, randint, randn, randn_like, randperm, seed, tensor, zeros,
                       zeros_like)
from .ops.arith import (add, addcdiv, addcmul, atan2, clamp, clamp_max, clamp_min, div, floor_divide, fmod, hypot, lerp,  # noqa: E402
                        logaddexp, masked_fill, maximum, minimum, mul, neg, pow, remainder, sub, true_divide,
                        xlogy)
from .ops.activation import torch_log_softmax as log_softmax, torch_softmax as softmax  # noqa: E402
from .ops.index import (gather, index_add, index_select, masked_select, narrow, scatter, scatter_add,  # noqa: E402
                        select, tensor_split)
from .ops.logic import eq, ge, gt, le, lt, ne  # noqa: E402
from .ops.logic import (allclose, count_nonzero, equal, is_floating_point, is_nonzero, isclose,  # noqa: E402
                        isfinite, isinf, isnan, isneginf, isposinf, logical_and, logical_not, logical_or,
                        logical_xor, nonzero)
from .ops.logic import all, any  # noqa: E402, A004
from .ops.linalg import addmm, baddbmm, bmm, cross, dot, einsum, ger, matmul, mm, mv, outer  # noqa: E402
from .ops.reduce import (amax, amin, argmax, argmin, cumprod, cumsum, logsumexp, mean, norm, prod, std,  # noqa: E402
                         sum, var)
from .ops.reduce import max, min  # noqa: E402, A004
from .ops.shape import hstack, tile, vstack  # noqa: E402
from .ops.shape import (cat, chunk, concat, concatenate, diag, diagonal, flatten, flip, movedim,  # noqa: E402
                        moveaxis, permute, reshape, roll, split, squeeze, stack, swapaxes, swapdims, t,
                        trace, transpose, tril, triu, unbind, unsqueeze)
from .ops.sorting import argsort, kthvalue, median, sort, topk, unique  # noqa: E402
from .ops.unary import (abs, acos, acosh, asin, asinh, atan, atanh, ceil, clone, cos, cosh, erf,  # noqa: E402
                        erfinv, exp, exp2, expm1, floor, log, log1p, log2, log10, nan_to_num, reciprocal,
                        relu, round, rsqrt, sigmoid, sign, sin, sinh, sqrt, square, tan, tanh, trunc)
from . import return_types  # noqa: E402
from .ops import arith as _arith  # noqa: E402
from . import autograd  # noqa: E402
from .serialization import load, save  # noqa: E402
from . import nn, optim, utils  # noqa: E402
from . import linalg  # noqa: E402
from . import profiler  # noqa: E402
from .ops.linalg_ops import cdist, det, dist, logdet, slogdet, torch_svd as svd  # noqa: E402
from .ops.linalg_ops import inv as inverse, matrix_exp, pinv as pinverse  # noqa: E402
from . import accelerator, functional  # noqa: E402
from ._tensortypes import (BoolTensor, ByteTensor, CharTensor, DoubleTensor, FloatTensor, HalfTensor,  # noqa: E402
                           IntTensor, LongTensor, ShortTensor)

from ._version import __version__  # noqa: E402

from math import e, inf, nan, pi  # noqa: E402 - torch.pi and friends
negative = neg
divide = div
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne
multiply = mul
subtract = sub
clip = clamp
arctan = atan
arcsin, arccos, arcsinh, arccosh, arctanh = asin, acos, asinh, acosh, atanh


def where(condition, input=None, other=None):  # noqa: A002 - PyTorch's names
    """``where(cond, x, y)`` picks elementwise; ``where(cond)`` is ``nonzero(cond, as_tuple=True)``."""
    if input is None and other is None:
        return nonzero(condition, as_tuple=True)
    return _arith.where(condition, input, other)


def backend() -> str:
    """``"native"`` when the compiled modules are in use, ``"pure"`` for the NumPy fallback."""
    return _backend.name


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


def numel(t: Tensor) -> int:
    return t.numel()
