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
from .ops import optable as _optable  # noqa: E402
from . import autograd  # noqa: E402
from .serialization import load, save  # noqa: E402
from . import nn, optim, utils  # noqa: E402
from . import linalg  # noqa: E402
from . import profiler  # noqa: E402
from .ops.linalg_ops import cdist, det, dist, logdet, slogdet, torch_svd as svd  # noqa: E402
from .ops.linalg_ops import inv as inverse, matrix_exp, pinv as pinverse  # noqa: E402
from . import accelerator, functional  # noqa: E402
from . import func  # noqa: E402
from ._activations import (celu, celu_, prelu, rrelu, rrelu_, selu, selu_, threshold,  # noqa: E402
                           threshold_)
from ._tensortypes import (BoolTensor, ByteTensor, CharTensor, DoubleTensor, FloatTensor, HalfTensor,  # noqa: E402
                           IntTensor, LongTensor, ShortTensor)

from ._version import __version__ as __version__  # noqa: E402 - (re-exported for type checkers)
import builtins as _builtins  # noqa: E402 - bool, int and float are dtypes here
from typing import TYPE_CHECKING as _TYPE_CHECKING  # noqa: E402

from math import e, inf, nan, pi  # noqa: E402 - torch.pi and friends
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne
globals().update(_TABLE_FUNCTIONS)  # exp, sin, ... with PyTorch's signatures (ops/optable.py)
if _TYPE_CHECKING:  # the same functions as type checkers see them
    from ._table_api import *  # noqa: F401,F403


def where(condition, input=None, other=None):  # noqa: A002 - PyTorch's names
    """``where(cond, x, y)`` picks elementwise; ``where(cond)`` is ``nonzero(cond, as_tuple=True)``."""
    if input is None and other is None:
        return nonzero(condition, as_tuple=True)
    return _optable.where(condition, input, other)


def backend() -> str:
    """``"native"`` when the compiled modules are in use, ``"pure"`` for the NumPy fallback."""
    return _backend.name


def is_tensor(obj: object) -> _builtins.bool:
    """Whether ``obj`` is a pygrad tensor."""
    return isinstance(obj, Tensor)


def numel(t: Tensor) -> _builtins.int:
    """The number of elements of ``t``."""
    return t.numel()


# Every public name, for `from pygrad import *` and for type checkers (tests/test_typing.py
# checks that it stays complete: a new public name goes here too).
__all__ = [
    "BoolTensor", "ByteTensor", "CharTensor", "DoubleTensor", "FloatTensor", "HalfTensor",
    "IntTensor", "LongTensor", "ShortTensor", "Size", "Tensor", "abs", "acos", "acosh", "add",
    "addcdiv", "addcmul", "addmm", "all", "allclose", "amax", "amin", "any", "arange", "arccos",
    "arccosh", "arcsin", "arcsinh", "arctan", "arctan2", "arctanh", "argmax", "argmin", "argsort",
    "as_tensor", "asin", "asinh", "atan", "atan2", "atanh", "autograd", "backend", "baddbmm",
    "bitwise_and", "bitwise_not", "bitwise_or", "bitwise_xor", "bmm", "bool", "cat", "cdist",
    "ceil", "chunk", "clamp", "clamp_max", "clamp_min", "clip", "clone", "concat", "concatenate",
    "copysign", "cos", "cosh", "count_nonzero", "cross", "cuda", "cumprod", "cumsum", "deg2rad",
    "det", "device", "diag", "diagonal", "digamma", "dist", "div", "divide", "dot", "double",
    "dtype", "e", "einsum", "empty", "empty_like", "enable_grad", "eq", "equal", "erf", "erfinv",
    "exp", "exp2", "expm1", "eye", "finfo", "flatten", "flip", "float", "float16", "float32",
    "float64", "float_power", "floor", "floor_divide", "fmod", "frac", "from_dlpack", "from_numpy",
    "full", "full_like", "func", "gather", "ge", "ger", "get_default_device", "get_default_dtype",
    "greater", "greater_equal", "gt", "half", "hstack", "hypot", "iinfo", "index_add",
    "index_select", "inf", "inference_mode", "initial_seed", "int", "int16", "int32", "int64",
    "int8", "inverse", "is_anomaly_check_nan_enabled", "is_anomaly_enabled", "is_floating_point",
    "is_grad_enabled", "is_nonzero", "is_tensor", "isclose", "isfinite", "isinf", "isnan",
    "isneginf", "isposinf", "kthvalue", "le", "lerp", "less", "less_equal", "lgamma", "linalg",
    "linspace", "load", "log", "log10", "log1p", "log2", "log_softmax", "logaddexp", "logaddexp2",
    "logdet", "logical_and", "logical_not", "logical_or", "logical_xor", "logit", "logspace",
    "logsumexp", "long", "lt", "manual_seed", "masked_fill", "masked_select", "matmul",
    "matrix_exp", "max", "maximum", "mean", "median", "meshgrid", "min", "minimum", "mm",
    "moveaxis", "movedim", "mul", "multinomial", "multiply", "mv", "nan", "nan_to_num", "narrow",
    "ne", "neg", "negative", "nn", "no_grad", "nonzero", "norm", "normal", "not_equal", "numel",
    "ones", "ones_like", "optim", "outer", "permute", "pi", "pinverse", "pow", "prod", "profiler",
    "promote_types", "rad2deg", "rand", "rand_like", "randint", "randn", "randn_like", "randperm",
    "reciprocal", "relu", "remainder", "reshape", "return_types", "roll", "round", "rsqrt", "save",
    "scatter", "scatter_add", "seed", "select", "set_default_device", "set_default_dtype",
    "set_grad_enabled", "set_printoptions", "sgn", "short", "sigmoid", "sign", "sin", "sinc", "sinh",
    "slogdet", "softmax", "sort", "split", "sqrt", "square", "squeeze", "stack", "std", "sub",
    "subtract", "sum", "svd", "swapaxes", "swapdims", "t", "tan", "tanh", "tensor", "tensor_split",
    "tile", "topk", "trace", "transpose", "tril", "triu", "true_divide", "trunc", "uint8", "unbind",
    "unique", "unsqueeze", "utils", "var", "vstack", "where", "xlogy", "zeros", "zeros_like",
]
# The in-place functions (pygrad.sin_(x) is x.sin_()), where PyTorch has them (ops/optable.py).
__all__ += [
    "abs_", "acos_", "acosh_", "arccos_", "arccosh_", "arcsin_", "arcsinh_", "arctan_", "arctanh_", "asin_",
    "asinh_", "atan_", "atanh_", "ceil_", "clamp_", "clamp_max_", "clamp_min_", "clip_", "cos_", "cosh_",
    "deg2rad_", "erf_", "exp2_",
    "exp_", "expm1_", "floor_", "frac_", "log10_", "log1p_", "log2_", "log_", "logit_", "nan_to_num_",
    "neg_", "negative_", "rad2deg_", "reciprocal_", "relu_", "round_", "rsqrt_", "sigmoid_", "sin_",
    "sinc_", "sinh_", "sqrt_", "square_", "tan_", "tanh_", "trunc_", "xlogy_",
]
# Activations PyTorch also has at the top level (ops/optable_nn.py, _activations.py).
__all__ += ["celu", "celu_", "hardshrink", "prelu", "rrelu", "rrelu_", "selu", "selu_", "threshold", "threshold_"]
