"""dtypes with PyTorch's names, inference and promotion rules.

Each pygrad dtype wraps one NumPy dtype.  Promotion follows PyTorch, not NumPy:
int64 + float32 gives float32, and a Python scalar or a 0-d tensor only decides
the result when it belongs to a higher category (bool < integer < floating).
"""
from __future__ import annotations

import builtins

import builtins as _builtins

import numpy as np

__all__ = [
    "dtype", "float16", "float32", "float64", "int8", "int16", "int32", "int64",
    "uint8", "bool", "half", "float", "double", "short", "int", "long",
    "get_default_dtype", "set_default_dtype", "promote_types",
]

_BOOL, _INT, _FLOAT = 0, 1, 2


class dtype:
    """A tensor element type (``pygrad.float32`` ...).  Prints as PyTorch does."""

    __slots__ = ("name", "numpy", "category", "is_floating_point", "itemsize", "_tensor_type")

    def __init__(self, name: str, numpy_dtype, category: builtins.int, tensor_type: str):
        self.name = name
        self.numpy = np.dtype(numpy_dtype)
        self.category = category
        self.is_floating_point = category == _FLOAT
        self.itemsize = self.numpy.itemsize
        self._tensor_type = tensor_type

    @property
    def is_signed(self) -> builtins.bool:
        """Whether the type can hold negative numbers."""
        return self.name != "uint8" and self.name != "bool"

    def __repr__(self) -> str:
        return f"torch.{self.name}"

    def __reduce__(self):
        return (_by_name, (self.name,))


float16 = dtype("float16", np.float16, _FLOAT, "HalfTensor")
float32 = dtype("float32", np.float32, _FLOAT, "FloatTensor")
float64 = dtype("float64", np.float64, _FLOAT, "DoubleTensor")
uint8 = dtype("uint8", np.uint8, _INT, "ByteTensor")
int8 = dtype("int8", np.int8, _INT, "CharTensor")
int16 = dtype("int16", np.int16, _INT, "ShortTensor")
int32 = dtype("int32", np.int32, _INT, "IntTensor")
int64 = dtype("int64", np.int64, _INT, "LongTensor")
bool = dtype("bool", np.bool_, _BOOL, "BoolTensor")  # noqa: A001 - PyTorch's name

half, float, double = float16, float32, float64  # noqa: A001
short, int, long = int16, int32, int64  # noqa: A001

_ALL = (float16, float32, float64, uint8, int8, int16, int32, int64, bool)
_BY_NUMPY = {d.numpy: d for d in _ALL}
_BY_NAME = {d.name: d for d in _ALL}
_default_float = float32


def _by_name(name: str) -> dtype:
    return _BY_NAME[name]


def get_default_dtype() -> dtype:
    """The dtype floating-point tensors get by default (``torch.float32`` unless set)."""
    return _default_float


def set_default_dtype(d) -> None:
    """Set the dtype floating-point tensors get by default (float32 or float64)."""
    global _default_float
    d = as_dtype(d)
    if not d.is_floating_point:
        raise TypeError(f"only floating-point types are supported as the default type, got {d}")
    _default_float = d


def as_dtype(d) -> dtype:
    """Accept a pygrad dtype, a NumPy dtype or a Python type (float, int, bool)."""
    if isinstance(d, dtype):
        return d
    if d is builtins.float:
        return _default_float
    if d is builtins.int:
        return int64
    if d is builtins.bool:
        return bool
    try:
        return _BY_NUMPY[np.dtype(d)]
    except (TypeError, KeyError):
        raise TypeError(f"pygrad does not support the dtype {d!r}; use one of "
                        + ", ".join(repr(x) for x in _ALL)) from None


def from_numpy(numpy_dtype) -> dtype:
    """The pygrad dtype of a NumPy dtype in either byte order, or PyTorch's ``TypeError``."""
    numpy_dtype = np.dtype(numpy_dtype)
    try:
        return _BY_NUMPY[numpy_dtype if numpy_dtype.isnative else numpy_dtype.newbyteorder("=")]
    except KeyError:
        raise TypeError(
            f"can't convert np.ndarray of type numpy.{numpy_dtype.type.__name__}. The only supported "
            "types are: float64, float32, float16, int64, int32, int16, int8, uint8, and bool.") from None


def promote_types(a: dtype, b: dtype) -> dtype:
    """The smallest dtype both ``a`` and ``b`` convert to, by PyTorch's table."""
    if a is b:
        return a
    if a.category != b.category:
        return a if a.category > b.category else b
    return _BY_NUMPY[np.promote_types(a.numpy, b.numpy)]


def scalar_dtype(value) -> dtype:
    """The dtype a Python scalar takes when it decides a result (a 'wrapped number')."""
    if isinstance(value, builtins.bool):
        return bool
    if isinstance(value, builtins.int):
        return int64
    if isinstance(value, builtins.float):
        return _default_float
    if isinstance(value, np.bool_):  # PyTorch reads a NumPy bool as a float number
        return _default_float
    if isinstance(value, np.generic):
        return scalar_dtype(value.item())
    raise TypeError(f"expected a Tensor or a Python number, got {type(value).__name__}")


def _combine(higher: dtype | None, lower: dtype | None) -> dtype | None:
    # The rule PyTorch applies between the dimensioned, 0-d and scalar operands.
    if higher is None:
        return lower
    if lower is None:
        return higher
    if higher.category == _FLOAT:
        return higher
    if higher is bool or lower.category == _FLOAT:
        return promote_types(higher, lower)
    return higher


def result_type(*operands) -> dtype:
    """Result dtype of an op on Tensors and Python scalars, by PyTorch's rules."""
    if len(operands) == 2:
        # The common ``x ** 2``: a Python number never changes a floating tensor's dtype.
        kind = type(operands[1])
        if kind is builtins.float or kind is builtins.int:
            data = getattr(operands[0], "_data", None)
            if type(data) is np.ndarray and data.dtype.kind == "f":
                return _BY_NUMPY[data.dtype]
    dim_result = zero_result = wrapped_result = None
    for x in operands:
        d = getattr(x, "dtype", None)
        if not isinstance(d, dtype):  # a number; NumPy scalars count as Python numbers, as in PyTorch
            s = scalar_dtype(x)
            wrapped_result = s if wrapped_result is None else promote_types(wrapped_result, s)
        elif x.ndim == 0:
            zero_result = d if zero_result is None else promote_types(zero_result, d)
        else:
            dim_result = d if dim_result is None else promote_types(dim_result, d)
    return _combine(dim_result, _combine(zero_result, wrapped_result))


def infer_dtype(data) -> dtype:
    """The dtype ``pygrad.tensor(data)`` gives nested Python data."""
    if isinstance(data, np.ndarray):
        return from_numpy(data.dtype)
    if isinstance(data, np.generic):
        return from_numpy(data.dtype)
    category = None
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, (list, tuple)):
            stack.extend(item)
            continue
        d = getattr(item, "dtype", None)
        if isinstance(d, dtype):
            c = d
        elif isinstance(item, (np.ndarray, np.generic)):
            c = from_numpy(item.dtype)
        elif isinstance(item, (builtins.bool, builtins.int, builtins.float)):
            c = scalar_dtype(item)
        else:
            raise TypeError(f"Could not infer dtype of {type(item).__name__}")
        if category is None or c.category > category.category:
            category = c
    if category is None:
        return _default_float
    return category


class finfo:
    """``torch.finfo(dtype)``: the limits of a floating dtype (the default dtype when none is given)."""

    def __init__(self, type=None):  # noqa: A002 - PyTorch's argument name
        d = get_default_dtype() if type is None else as_dtype(type)
        if not d.is_floating_point:
            raise TypeError("torch.finfo() requires a floating point input type. Use torch.iinfo to handle "
                            "'torch.finfo'")
        info = np.finfo(d.numpy)
        self.dtype, self.bits = d.name, _builtins.int(info.bits)
        self.eps, self.max, self.min = _builtins.float(info.eps), _builtins.float(info.max), _builtins.float(info.min)
        self.tiny = self.smallest_normal = _builtins.float(info.tiny)
        self.resolution = _builtins.float(info.resolution)

    def __repr__(self) -> str:
        return (f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, eps={self.eps:g}, "
                f"smallest_normal={self.smallest_normal:g}, tiny={self.tiny:g}, dtype={self.dtype})")


class iinfo:
    """``torch.iinfo(dtype)``: the limits of an integer dtype."""

    def __init__(self, type):  # noqa: A002
        d = as_dtype(type)
        if d.is_floating_point or d is bool:
            raise TypeError("torch.iinfo() requires an integer input type. Use torch.finfo to handle 'torch.iinfo'")
        info = np.iinfo(d.numpy)
        self.dtype, self.bits, self.min, self.max = d.name, _builtins.int(info.bits), _builtins.int(info.min), _builtins.int(info.max)

    def __repr__(self) -> str:
        return f"iinfo(min={self.min:g}, max={self.max:g}, dtype={self.dtype})"
