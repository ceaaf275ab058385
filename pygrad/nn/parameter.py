"""``Parameter``: a tensor that a ``Module`` registers as one of its learnable weights."""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor

__all__ = ["Parameter", "UninitializedParameter", "UninitializedBuffer", "is_lazy"]


class Parameter(Tensor):
    """A leaf tensor that requires grad by default and that ``Module`` collects.

    ``Parameter(t)`` shares ``t``'s storage and version counter, as in PyTorch.
    """

    __slots__ = ()

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True):
        if data is None:
            data = Tensor._wrap(np.empty((0,), np.float32))
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter data must be a Tensor, got {type(data).__name__}")
        p = Tensor.__new__(cls)
        p._init(data._data)
        p._version = data._version
        if requires_grad:
            p.requires_grad_(True)
        return p

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True):
        pass  # everything happens in __new__, like torch

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__

    def __reduce_ex__(self, protocol):
        return (_rebuild_parameter, (self._data, self._requires_grad))

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        p = Parameter(Tensor._wrap(self._data.copy()), self._requires_grad)
        if self._grad is not None:
            p._grad = Tensor._wrap(self._grad._data.copy())
        memo[id(self)] = p
        return p


def _rebuild_parameter(array, requires_grad):
    from ..tensor import _rebuild
    return Parameter(_rebuild(array, False), requires_grad)


_UNINITIALIZED_USE = ("Attempted to use an uninitialized parameter in {}. This error happens when you are using a "
                      "`LazyModule` or explicitly manipulating `torch.nn.parameter.UninitializedParameter` objects. "
                      "When using LazyModules Call `forward` with a dummy batch to initialize the parameters before "
                      "calling torch functions")
_UNINITIALIZED_SHAPE = ("Can't access the shape of an uninitialized parameter or buffer. This error usually happens "
                        "in `load_state_dict` when trying to load an uninitialized parameter into an initialized "
                        "one. Call `forward` to initialize the parameters before accessing their attributes.")
# What may be asked of a tensor that has no shape yet (the rest raises ValueError, as in PyTorch).
_ALLOWED = frozenset({"requires_grad", "requires_grad_", "dtype", "device", "grad", "is_leaf", "grad_fn",
                      "materialize", "cls_to_become", "is_floating_point", "detach", "data", "shape", "size",
                      "dim", "ndim", "numel", "to", "float", "double", "half", "cpu", "type", "is_cuda"})


class UninitializedTensorMixin:
    """A parameter or buffer whose shape a lazy module learns on its first call.

    ``materialize(shape)`` gives it storage and turns it into ``cls_to_become`` in place, so
    references held elsewhere (an optimizer's parameter list) see the real tensor.
    """

    __slots__ = ()
    cls_to_become: type

    def materialize(self, shape, device=None, dtype=None) -> None:
        """Give the parameter data of ``shape`` and make it an ordinary Parameter."""
        from .. import dtypes
        d = self.dtype if dtype is None else dtypes.as_dtype(dtype)
        self._data = np.empty(tuple(shape), d.numpy)
        self.__class__ = self.cls_to_become

    @property
    def shape(self):
        """Refused: an uninitialised parameter has no shape yet."""
        raise RuntimeError(_UNINITIALIZED_SHAPE)

    def size(self, dim=None):
        """Refused: an uninitialised parameter has no shape yet."""
        from ..size import Size
        return Size((0,)) if dim is None else Size((0,))[dim]

    def __getattribute__(self, name: str):
        if not name.startswith("_") and name not in _ALLOWED and hasattr(Tensor, name):
            raise ValueError(_UNINITIALIZED_USE.format(f"<method '{name}' of 'torch._C.TensorBase' objects>"))
        return super().__getattribute__(name)

    def numel(self):
        """Refused: an uninitialised parameter has no shape yet."""
        raise ValueError(_UNINITIALIZED_USE.format("<method 'numel' of 'torch._C.TensorBase' objects>"))

    def detach(self):
        """Refused, as in PyTorch: the parameter has no data before the module's first call."""
        return self

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    __str__ = __repr__

    def __reduce_ex__(self, protocol):
        return (type(self), (self._requires_grad,))


def _refuse(name: str):
    def method(self, *args, **kwargs):
        raise ValueError(_UNINITIALIZED_USE.format(f"<method '{name.strip('_')}' of 'torch._C.TensorBase' objects>"))
    return method


for _name in ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__", "__rtruediv__",
              "__matmul__", "__rmatmul__", "__pow__", "__neg__", "__getitem__", "__iter__", "__len__", "__float__",
              "__int__", "__bool__", "__array__"):
    setattr(UninitializedTensorMixin, _name, _refuse(_name))


class UninitializedParameter(UninitializedTensorMixin, Parameter):
    """A ``Parameter`` of a lazy module before its first call (``parameters()`` yields it)."""

    __slots__ = ()
    cls_to_become = Parameter

    def __new__(cls, requires_grad: bool = True, device=None, dtype=None):
        from .. import dtypes
        d = dtypes.get_default_dtype() if dtype is None else dtypes.as_dtype(dtype)
        p = Parameter.__new__(cls, Tensor._wrap(np.empty((0,), d.numpy)), requires_grad)
        return p

    def __init__(self, requires_grad: bool = True, device=None, dtype=None):
        pass

    def __deepcopy__(self, memo):
        if id(self) not in memo:
            memo[id(self)] = UninitializedParameter(self._requires_grad, dtype=self.dtype)
        return memo[id(self)]


class UninitializedBuffer(UninitializedTensorMixin, Tensor):
    """A buffer of a lazy module before its first call."""

    __slots__ = ()
    cls_to_become = Tensor

    def __new__(cls, requires_grad: bool = False, device=None, dtype=None):
        from .. import dtypes
        d = dtypes.get_default_dtype() if dtype is None else dtypes.as_dtype(dtype)
        t = Tensor.__new__(cls)
        t._init(np.empty((0,), d.numpy))
        if requires_grad:
            t.requires_grad_(True)
        return t

    def __init__(self, requires_grad: bool = False, device=None, dtype=None):
        pass


def is_lazy(param) -> bool:
    return isinstance(param, UninitializedTensorMixin)
