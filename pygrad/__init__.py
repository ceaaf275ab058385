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
from .creation import (arange, as_tensor, empty_like, eye, from_dlpack, from_numpy, full_like,  # noqa: E402
                       initial_seed, linspace, logspace, manual_seed, meshgrid, multinomial, normal, ones_like,
                       rand_like, randint, randn_like, randperm, seed, tensor, zeros_like)
from .ops.arith import addcdiv, addcmul, clamp_max, clamp_min, lerp, masked_fill, pow  # noqa: E402
from .ops.index import (gather, index_add, index_select, masked_select, narrow, scatter, scatter_add,  # noqa: E402
                        select, tensor_split)
from .ops.logic import eq, ge, gt, le, lt, ne  # noqa: E402
from .ops.logic import (allclose, count_nonzero, equal, is_floating_point, is_nonzero, isclose,  # noqa: E402
                        isfinite, isinf, isnan, isneginf, isposinf, logical_and, logical_not, logical_or,
                        logical_xor, nonzero)
from .ops.logic import all, any  # noqa: E402, A004
from .ops.linalg import addmm, baddbmm, cross, einsum  # noqa: E402
from .ops.reduce import norm  # noqa: E402
from .ops.shape import hstack, tile, vstack  # noqa: E402
from .ops.shape import (chunk, diag, diagonal, flip, movedim, moveaxis, permute, roll, split, t,  # noqa: E402
                        trace, tril, triu, unbind)
from .ops.sorting import argsort, kthvalue, median, sort, topk, unique  # noqa: E402
from .ops.unary import clone  # noqa: E402
from .ops.optable import FUNCTIONS as _TABLE_FUNCTIONS  # noqa: E402
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
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne
globals().update(_TABLE_FUNCTIONS)  # exp, sin, ... with PyTorch's signatures (ops/optable.py)


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
