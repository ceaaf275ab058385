"""The legacy typed tensor names: ``FloatTensor``, ``LongTensor``... and ``Tensor.type``.

Each name is a class whose instances are the tensors of its dtype (``isinstance(x,
FloatTensor)`` checks the dtype, as in PyTorch).  Calling it builds a tensor of that dtype from
sizes (``FloatTensor(2, 3)``, zero-filled where PyTorch leaves memory uninitialised), from data
(``LongTensor([1, 2])``) or from a tensor of the same dtype.
"""
from __future__ import annotations

import numpy as np

from . import dtypes
from .tensor import Tensor

__all__ = ["FloatTensor", "DoubleTensor", "HalfTensor", "ByteTensor", "CharTensor", "ShortTensor",
           "IntTensor", "LongTensor", "BoolTensor", "tensor_type"]


def _new_error(args: tuple, kwargs: dict) -> TypeError:
    got = ", ".join([type(a).__name__ for a in args] + [f"{k}={type(v).__name__}" for k, v in kwargs.items()])
    why = f"      didn't match because some of the keywords were incorrect: {', '.join(kwargs)}\n" if kwargs else ""
    return TypeError(f"new() received an invalid combination of arguments - got ({got}), but expected one of:\n"
                     f" * (*, torch.device device = None)\n{why} * (torch.Storage storage)\n * (Tensor other)\n"
                     " * (tuple of ints size, *, torch.device device = None)\n"
                     " * (object data, *, torch.device device = None)\n")


_C10_NAMES = {"float16": "c10::Half", "float32": "float", "float64": "double", "uint8": "unsigned char",
              "int8": "signed char", "int16": "short int", "int32": "int", "int64": "long int", "bool": "bool"}


def _options(d: dtypes.dtype) -> str:
    return (f"TensorOptions(dtype={_C10_NAMES[d.name]}, device=cpu, layout=Strided, requires_grad=false (default), "
            "pinned_memory=false (default), memory_format=(nullopt))")


class tensortype(type):
    """The metaclass of the typed tensor names (``type(torch.FloatTensor)`` is ``torch.tensortype``)."""

    dtype: dtypes.dtype

    def __instancecheck__(cls, obj) -> bool:
        return isinstance(obj, Tensor) and obj.dtype is cls.dtype

    def __repr__(cls) -> str:
        return f"<class 'torch.{cls.__name__}'>"

    def __call__(cls, *args, device=None, **kwargs):
        if kwargs:
            raise _new_error(args, kwargs)
        np_dtype = cls.dtype.numpy
        if len(args) == 1 and isinstance(args[0], Tensor):
            if args[0].dtype is not cls.dtype:
                raise TypeError(f"expected {_options(cls.dtype)} (got {_options(args[0].dtype)})")
            return args[0]._alias()
        if not args:
            return Tensor._wrap(np.zeros((0,), np_dtype))
        if all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in args):
            return Tensor._wrap(np.zeros(tuple(int(a) for a in args), np_dtype))
        if len(args) == 1 and isinstance(args[0], tuple) and all(isinstance(a, int) for a in args[0]):
            return Tensor._wrap(np.zeros(args[0], np_dtype))  # a Size
        if len(args) == 1:
            data = args[0]
            if not isinstance(data, (list, tuple, np.ndarray)):
                raise TypeError(f"new(): data must be a sequence (got {type(data).__name__})")
            return Tensor._wrap(np.array(data, dtype=np_dtype))
        raise _new_error(args, {})


def _make(d: dtypes.dtype) -> tensortype:
    return tensortype(d._tensor_type, (), {"dtype": d, "is_cuda": False, "__module__": "torch"})


FloatTensor = _make(dtypes.float32)
DoubleTensor = _make(dtypes.float64)
HalfTensor = _make(dtypes.float16)
ByteTensor = _make(dtypes.uint8)
CharTensor = _make(dtypes.int8)
ShortTensor = _make(dtypes.int16)
IntTensor = _make(dtypes.int32)
LongTensor = _make(dtypes.int64)
BoolTensor = _make(dtypes.bool)
_BY_NAME = {f"torch.{t.__name__}": t for t in (FloatTensor, DoubleTensor, HalfTensor, ByteTensor, CharTensor,
                                                ShortTensor, IntTensor, LongTensor, BoolTensor)}


def tensor_type(x: Tensor, target=None, non_blocking: bool = False, **kwargs):
    """``Tensor.type()``: the type's name; ``type(T)``, ``type('torch.T')``, ``type(dtype)``: a cast."""
    if target is None:
        return f"torch.{x.dtype._tensor_type}"
    if isinstance(target, str):
        if target not in _BY_NAME:
            raise ValueError(f"invalid type: '{target}'")
        target = _BY_NAME[target]
    d = target.dtype if isinstance(target, tensortype) else target
    if not isinstance(d, dtypes.dtype):
        raise ValueError(f"invalid type: '{target}'")
    return x.to(d)
