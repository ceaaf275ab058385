"""``Tensor``: a NumPy array with PyTorch's autograd, operators and printing."""
from __future__ import annotations

import builtins
import warnings
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Iterator

import numpy as np

from . import dtypes
from ._arrays import checked_array
from ._backend import core as _core
from ._backend import kernels
from ._errors import (INT_REQUIRES_GRAD_, NON_LEAF_GRAD_WARNING, NON_LEAF_REQUIRES_GRAD, NUMPY_REQUIRES_GRAD,
                      SCALAR_OF_GRAD_WARNING, warn_once)
from . import _printing
from ._printing import format_tensor
from .autograd import grad_mode
from .autograd.engine import backward as _backward, expandable as _expandable
from .autograd.function import accumulate_grad_node, add_hook, checked_tensor_hook
from . import _device
from .autograd import forward_ad as _forward_ad
from .size import Size

__all__ = ["Tensor"]

_Version = _core.Version


from .autograd import post_accumulate as _post_accumulate  # noqa: E402
from .fusion._state import pending as _fusion_pending  # noqa: E402


def _fusion_flush() -> None:
    """Compute the pending fused results (before storage they may read is written or handed out)."""
    from .fusion.lazy import flush
    flush()


if TYPE_CHECKING:  # the methods the op table installs, as type checkers see them
    from ._table_api import TableMethods as _TableMethods
    # The op modules the methods call, bound here by pygrad/ops/__init__.py at import.
    from . import creation as _creation
    from .ops import (_util, activation as _activation, arith as _arith, index as _index, inplace as _inplace,
                      linalg as _linalg, logic as _logic, optable as _optable, reduce as _reduce, shape as _shape,
                      sorting as _sorting, unary as _unary)
else:
    _TableMethods = object



class Tensor(_core.TensorBase, _TableMethods):
    """A multi-dimensional array that can record the operations applied to it.

    ``Tensor(data)`` builds a float32 tensor like ``torch.Tensor``; ``pygrad.tensor`` infers
    the dtype from the data.
    """

    __slots__ = ()  # the fields are declared by the base (C members when compiled)
    if TYPE_CHECKING:
        _wrap: ClassVar[Callable[[np.ndarray], Tensor]]  # a new leaf around an array (set below the class)
    __array_ufunc__ = None  # ndarray (op) Tensor defers to the Tensor's reflected operator
    __array_priority__ = 1000
    __hash__ = object.__hash__

    def __init__(self, data: Any = (), *, requires_grad: bool = False):
        if isinstance(data, np.ndarray):
            checked_array(data)
        array = np.array(data.numpy() if isinstance(data, Tensor) else data,
                         dtype=dtypes.get_default_dtype().numpy)
        self._init(array)
        if requires_grad:
            self.requires_grad_(True)

    def _init(self, array: np.ndarray) -> None:
        self._data = array
        self._requires_grad = False
        self._grad_fn = None
        self._output_nr = 0
        self._grad = None
        self._version = _Version()
        self._hooks = None
        self._accumulator = None
        self._grad_lock = None
        self._retains_grad = False
        self._view = None  # a ViewRecord when this tensor is a differentiable view (autograd/views.py)

    def _alias(self) -> "Tensor":
        """A new tensor on the same storage and version counter, with no autograd history."""
        t = Tensor._wrap(self._data)
        t._version = self._version
        return t

    # -- storage and metadata ----------------------------------------------------------------
    @property
    def data(self) -> "Tensor":
        """The same storage as a tensor that does not require grad."""
        return Tensor._wrap(self._data)

    @data.setter
    def data(self, value: "Tensor") -> None:
        if not isinstance(value, Tensor):
            raise TypeError(f"data must be a Tensor, got {type(value).__name__}")
        self._data = value._data

    @property
    def shape(self) -> Size:
        """The size of each dimension, a ``torch.Size``."""
        return Size(self._data.shape)

    def size(self, dim: int | None = None):
        """The shape as a ``torch.Size``, or the size of dimension ``dim``."""
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_util.normalize_dim(dim, self._data.ndim)]

    @property
    def dtype(self) -> dtypes.dtype:
        """The element type (``torch.float32``...)."""
        return dtypes._BY_NUMPY[self._data.dtype]

    @property
    def device(self):
        """The tensor's device: always ``device(type='cpu')``."""
        return _device.CPU

    @property
    def is_cuda(self) -> bool:
        """False: pygrad tensors live on the CPU."""
        return False

    @property
    def ndim(self) -> int:
        """The number of dimensions."""
        return self._data.ndim

    def dim(self) -> int:
        """The number of dimensions."""
        return self._data.ndim

    def ndimension(self) -> int:
        """The number of dimensions (``dim()``)."""
        return self._data.ndim

    def numel(self) -> int:
        """The number of elements."""
        return self._data.size

    def nelement(self) -> int:
        """The number of elements (``numel()``)."""
        return self._data.size

    def element_size(self) -> int:
        """The size of one element in bytes."""
        return self._data.itemsize

    def is_floating_point(self) -> bool:
        """Whether the dtype is a floating-point type."""
        return self._data.dtype.kind == "f"

    def is_contiguous(self) -> bool:
        """Whether the elements are in row-major order in memory."""
        return bool(self._data.flags.c_contiguous)

    def stride(self, dim: int | None = None):
        """The step in elements between neighbours along each dimension (or along ``dim``)."""
        strides = tuple(s // self._data.itemsize for s in self._data.strides)
        return strides if dim is None else strides[dim]

    @property
    def _version_value(self) -> int:
        return self._version.value

    # -- autograd attributes -------------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        """Whether operations on this tensor are recorded for ``backward()``."""
        if self._view is not None:
            return self._requires_grad or self._view.base._requires_grad
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if self._grad_fn is not None:
            raise RuntimeError(NON_LEAF_REQUIRES_GRAD)
        if value and self._data.dtype.kind != "f":
            raise RuntimeError(INT_REQUIRES_GRAD_)
        self._requires_grad = bool(value)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        """Set ``requires_grad`` in place (a leaf only) and return the tensor."""
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self) -> bool:
        """True for a tensor not made by a recorded op (user-made, or not requiring grad)."""
        return self.grad_fn is None

    @property
    def grad_fn(self):
        """The backward node that made this tensor (None for a leaf)."""
        if self._view is not None:
            self._view.sync(self)
        return self._grad_fn

    @property
    def _base(self) -> "Tensor | None":
        """The tensor this one is a differentiable view of (the root of a chain of views)."""
        return None if self._view is None else self._view.base

    @property
    def output_nr(self) -> int:
        """Which output of its ``grad_fn`` this tensor is."""
        return self._output_nr

    @property
    def grad(self) -> "Tensor | None":
        """The gradient accumulated by ``backward()`` (None until then; a leaf's only, unless ``retain_grad()``)."""
        if self._grad_fn is not None and not self._retains_grad and self._grad is None:
            warnings.warn(NON_LEAF_GRAD_WARNING, UserWarning, stacklevel=2)
        return self._grad

    @grad.setter
    def grad(self, value: "Tensor | None") -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of "
                                f"type {type(value).__name__}")
            if value.shape != self.shape:
                raise RuntimeError("assigned grad has data of a different size")
            if value.dtype is not self.dtype:
                raise RuntimeError("assigned grad has data of a different type")
        self._grad = value

    @property
    def retains_grad(self) -> bool:
        """Whether ``retain_grad()`` was called on this non-leaf tensor."""
        return self._retains_grad

    def retain_grad(self) -> None:
        """Keep this non-leaf tensor's gradient in ``.grad`` during backward."""
        if not self.requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.grad_fn is None or self._retains_grad:
            return
        import weakref
        ref = weakref.ref(self)

        def retain(grad):  # as PyTorch's hook: a copy first, then a new sum each time (never in place)
            t = ref()
            if t is not None:
                if t._grad is None:
                    t._accumulate_grad(grad)
                else:
                    t._grad = t._grad + grad
        self._grad_fn._set_retain_hook(self._output_nr, retain)
        self._retains_grad = True

    def register_hook(self, hook: Callable[["Tensor"], "Tensor | None"]):
        """Run ``hook(grad)`` when this tensor's gradient is computed; a returned tensor replaces it."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is None:
            if self._hooks is None:
                self._hooks = {}
            return add_hook(self._hooks, checked_tensor_hook(hook))
        return add_hook(self._grad_fn._pre_hooks_for(self._output_nr), checked_tensor_hook(hook))

    def _edge(self):
        if self._view is not None:
            self._view.sync(self)
        if self._grad_fn is not None:
            return (self._grad_fn, self._output_nr)
        return (accumulate_grad_node(self), 0)

    def _accumulate_grad(self, grad: "Tensor", owned: bool = False) -> None:
        """Add ``grad`` into ``.grad`` as PyTorch's AccumulateGrad does.

        The first gradient becomes ``.grad`` without a copy when the engine says it is ``owned``
        (nothing but the engine holds it or its memory: see ``_exclusive`` in the engines); else
        it is copied (under ``create_graph`` through ``copy_``, so it prints
        ``grad_fn=<CopyBackwards>``).  Later ones are added out of place when building a graph,
        else in place (an existing grad_fn is then kept, as in PyTorch).
        """
        if self._grad is None:
            if owned and grad._data.shape == self._data.shape and grad._data.dtype == self._data.dtype:
                self._grad = Tensor._wrap(grad._data)
            elif grad_mode._state.enabled and grad._requires_grad:
                self._grad = Tensor._wrap(np.empty_like(grad._data, order="C")).copy_(grad)
            else:
                self._grad = Tensor._wrap(kernels.copy(grad._data))
        elif grad_mode._state.enabled:
            self._grad = self._grad + grad
        else:
            if _fusion_pending:
                _fusion_flush()
            kernels.accumulate(self._grad._data, grad._data)
            self._grad._version.value += 1
        if _post_accumulate.hooks:
            _post_accumulate.run(self)

    def register_post_accumulate_grad_hook(self, hook: Callable[["Tensor"], None]):
        """Run ``hook(tensor)`` after a gradient was accumulated into this leaf's ``.grad``."""
        return _post_accumulate.register(self, hook)

    def backward(self, gradient: "Tensor | None" = None, retain_graph: bool | None = None,
                 create_graph: bool = False, inputs=None) -> None:
        """Accumulate the gradient of this tensor into the ``.grad`` of the leaves."""
        _backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    def detach(self) -> "Tensor":
        """A new leaf on the same storage that does not require grad."""
        return self._alias()

    def detach_(self) -> "Tensor":
        """Detach this tensor from the graph in place: it becomes a leaf that does not require grad."""
        if self._view is not None:
            from .autograd.views import DETACH_VIEW
            raise RuntimeError(DETACH_VIEW)
        self._grad_fn = None
        self._requires_grad = False
        return self

    # -- conversion ----------------------------------------------------------------------------
    def item(self) -> int | float | bool:
        """The value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted to Scalar")
        return self._data.item() if self._data.ndim == 0 else self._data.reshape(()).item()

    def tolist(self) -> Any:
        """The tensor's values as (nested) Python lists of numbers."""
        return self._data.tolist()

    def numpy(self, *, force: bool = False) -> np.ndarray:
        """The tensor's data as a NumPy array sharing its memory (refused while it requires grad)."""
        if self._requires_grad and not force:
            raise RuntimeError(NUMPY_REQUIRES_GRAD)
        if _fusion_pending:  # the storage may be written through the array: pending results read it first
            _fusion_flush()
        return self._data

    def __array__(self, dtype=None, copy=None):
        array = self.numpy()
        if dtype is not None and np.dtype(dtype) != array.dtype:
            return array.astype(dtype)
        return array.copy() if copy else array

    def __dlpack__(self, **kwargs):
        if self._requires_grad:
            raise RuntimeError("Can't export tensors that require gradient, use tensor.detach()")
        return self._data.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self._data.__dlpack_device__()

    def _one_element(self, kind: str):
        if self._data.size != 1:
            if kind == "Boolean":
                amount = "no values" if self._data.size == 0 else "more than one value"
                raise RuntimeError(f"Boolean value of Tensor with {amount} is ambiguous")
            raise TypeError("only one element tensors can be converted to Python scalars")
        return self.item()

    def __bool__(self) -> bool:
        return bool(self._one_element("Boolean"))

    def __float__(self) -> float:
        if self._requires_grad:
            warn_once(SCALAR_OF_GRAD_WARNING, stacklevel=2)
        return float(self._one_element("float"))

    def __int__(self) -> int:
        return int(self._one_element("int"))

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self) -> Iterator["Tensor"]:
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def __repr__(self) -> str:
        if self._requires_grad and _printing.transform_repr is not None:
            text = _printing.transform_repr(self)  # inside torch.func transforms
            if text is not None:
                return text
        if self._view is not None:
            try:
                self._view.sync(self)
            except RuntimeError:  # PyTorch prints a view it can no longer rebuild so
                return format_tensor(self._data, "grad_fn=<Invalid>")
        if self._grad_fn is not None:
            suffix = f"grad_fn=<{type(self._grad_fn).__name__}>"
        elif self._requires_grad:
            suffix = "requires_grad=True"
        else:
            suffix = None
        tangent = _forward_ad.tangent_of(self) if _forward_ad._levels else None
        return format_tensor(self._data, suffix, None if tangent is None else repr(tangent))

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        # As PyTorch: a 0-d tensor formats as its number (f"loss: {loss}" prints "loss: 2.5").
        if self._data.ndim == 0 and type(self) is Tensor:
            return format(self.item(), spec)
        return object.__format__(self, spec)

    def __reduce_ex__(self, protocol):
        # Pickles data and requires_grad only, never the graph.
        return (_rebuild, (self._data, self._requires_grad))

    def __deepcopy__(self, memo):
        if self._grad_fn is not None:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) support "
                               "the deepcopy protocol at the moment.")
        t = Tensor._wrap(self._data.copy())
        t._requires_grad = self._requires_grad
        if self._grad is not None:
            t._grad = Tensor._wrap(self._grad._data.copy())
        memo[id(self)] = t
        return t

    # -- dtype conversion --------------------------------------------------------------------
    def to(self, *args, **kwargs) -> "Tensor":
        """``to(dtype)``, ``to("cpu")``, ``to(device, dtype)``, ``to(other)``; self when nothing changes."""
        device, dtype, _, copy = _device.parse_to(args, kwargs)
        if device is not None and device.type != "cpu":
            raise RuntimeError(f"pygrad runs on the CPU only; cannot move a tensor to {str(device)!r}")
        if dtype is None or dtype is self.dtype:
            return self.clone() if copy else self
        return _unary.to_dtype(self, dtype)

    def type(self, dtype=None, non_blocking: bool = False, **kwargs):
        """The type name (``'torch.FloatTensor'``), or with a dtype or type name the tensor converted to it."""
        from ._tensortypes import tensor_type
        return tensor_type(self, dtype, non_blocking, **kwargs)

    def type_as(self, other: "Tensor") -> "Tensor":
        """The tensor converted to ``other``'s dtype."""
        return self.to(other.dtype)

    def float(self) -> "Tensor":
        """The tensor as ``torch.float32``."""
        return self.to(dtypes.float32)

    def double(self) -> "Tensor":
        """The tensor as ``torch.float64``."""
        return self.to(dtypes.float64)

    def half(self) -> "Tensor":
        """The tensor as ``torch.float16``."""
        return self.to(dtypes.float16)

    def long(self) -> "Tensor":
        """The tensor as ``torch.int64``."""
        return self.to(dtypes.int64)

    def int(self) -> "Tensor":
        """The tensor as ``torch.int32``."""
        return self.to(dtypes.int32)

    def bool(self) -> "Tensor":
        """The tensor as ``torch.bool``."""
        return self.to(dtypes.bool)

    def cpu(self) -> "Tensor":
        """The tensor itself: pygrad tensors live on the CPU."""
        return self

    def cuda(self, device=None, non_blocking: builtins.bool = False) -> "Tensor":
        """Raises: there is no CUDA device (``torch.cuda.is_available()`` is False)."""
        raise RuntimeError("pygrad runs on the CPU only: there is no CUDA device to move this tensor to")

    # -- new tensors of this one's dtype (creation.py) -------------------------------------------
    def new_tensor(self, data, dtype=None, device=None, requires_grad: builtins.bool = False) -> "Tensor":
        """A new tensor from ``data``, with this tensor's dtype unless given."""
        if isinstance(data, Tensor):
            warnings.warn("To copy construct from a tensor, it is recommended to use sourceTensor.detach().clone() "
                          "or sourceTensor.detach().clone().requires_grad_(True), rather than "
                          "tensor.new_tensor(sourceTensor).", UserWarning, stacklevel=2)
        return _creation.tensor(data, dtype or self.dtype, device, requires_grad)

    def new_zeros(self, *size, dtype=None, device=None, requires_grad: builtins.bool = False) -> "Tensor":
        """A tensor of zeros of the given size, with this tensor's dtype unless given."""
        return _creation.zeros(*size, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad: builtins.bool = False) -> "Tensor":
        """A tensor of ones of the given size, with this tensor's dtype unless given."""
        return _creation.ones(*size, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad: builtins.bool = False) -> "Tensor":
        """An uninitialised tensor of the given size, with this tensor's dtype unless given."""
        return _creation.empty(*size, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad)

    def new_full(self, size, fill_value, dtype=None, device=None, requires_grad: builtins.bool = False) -> "Tensor":
        """A tensor of the given size filled with ``fill_value``, with this tensor's dtype unless given."""
        if not isinstance(size, (tuple, list)):
            raise TypeError(f"new_full(): argument 'size' (position 1) must be tuple of ints, "
                            f"not {type(size).__name__}")
        return _creation.full(size, fill_value, dtype=dtype or self.dtype, device=device,
                              requires_grad=requires_grad)

    def clone(self) -> "Tensor":
        """A copy of the tensor that records the copy in the graph (``CloneBackward0``)."""
        return _unary.clone(self)

    def sum_to_size(self, *size) -> "Tensor":
        """The sum of this tensor's broadcast dims, down to ``size`` (which must expand to its shape)."""
        size = _util.parse_shape(size, "sum_to_size")
        if not _expandable(size, self._data.shape):
            raise RuntimeError(f"size {{[{', '.join(map(str, size))}]}} is not expandable to size "
                               f"{{[{', '.join(map(str, self._data.shape))}]}}.")
        return _shape.sum_to_size(self, size)

    def contiguous(self) -> "Tensor":
        """The tensor itself when its memory is in row-major order, else a row-major copy."""
        if self._data.flags.c_contiguous:
            return self
        return _unary.clone(self, contiguous=True)

    # -- in-place (all through Function.apply with ctx.mark_dirty; see ops/inplace.py) -----------
    def _check_inplace(self) -> None:
        _inplace.check_inplace(self)

    def zero_(self) -> "Tensor":
        """Fill the tensor with zeros in place."""
        return _inplace.zero_(self)

    def fill_(self, value) -> "Tensor":
        """Fill the tensor with ``value`` in place."""
        return _inplace.fill_(self, value)

    def copy_(self, src, non_blocking: builtins.bool = False) -> "Tensor":
        """Copy ``src`` (broadcast and cast) into this tensor; the gradient flows to ``src``."""
        return _inplace.copy_(self, src)

    def add_(self, other, *, alpha=1):
        """In-place ``self += alpha * other`` (PyTorch's type promotion into ``self``'s dtype)."""
        _arith.check_alpha(self, other, alpha)
        return _inplace.inplace_binary(_optable.ADD.fn, self, other, alpha)

    def sub_(self, other, *, alpha=1):
        """In-place ``self -= alpha * other``."""
        _arith.check_alpha(self, other, alpha)
        _arith._check_bool_subtraction(self, other)
        return _inplace.inplace_binary(_optable.SUB.fn, self, other, alpha)

    def pow_(self, exponent):
        """In-place ``self **= exponent``."""
        if isinstance(exponent, (Tensor, np.ndarray)):
            _arith.not_both_bool("pow", self, _arith.as_tensor(exponent))
            return _inplace.inplace_binary(_optable.POW_TENSOR.fn, self, exponent)
        return _inplace.inplace(_optable.POW_NUMBER.fn, self, exponent)

    def square_(self):
        """``x.square_()`` is ``x.pow_(2)`` (PowBackward0), as in PyTorch."""
        return self.pow_(2)

    def clamp_(self, min=None, max=None):  # noqa: A002
        """In-place ``clamp``: each element clamped into [min, max]."""
        return _optable._clamp_(self, min, max)

    clip_ = clamp_

    def clamp_min_(self, min):  # noqa: A002
        """In-place ``clamp_min``."""
        return _optable._clamp_min_(self, min)

    def clamp_max_(self, max):  # noqa: A002
        """In-place ``clamp_max``."""
        return _optable._clamp_max_(self, max)

    def masked_fill_(self, mask, value):
        """In-place ``masked_fill``."""
        return _optable._masked_fill_(self, mask, value)

    def lerp_(self, end, weight):
        """In-place ``lerp``."""
        return _optable._lerp_(self, end, weight)

    def uniform_(self, from_: builtins.float = 0.0, to: builtins.float = 1.0, *, generator=None):
        """Fill the tensor in place with numbers drawn uniformly from [from_, to)."""
        return _inplace.uniform_(self, from_, to, generator)

    def normal_(self, mean: builtins.float = 0.0, std: builtins.float = 1.0, *, generator=None):
        """Fill the tensor in place with numbers drawn from the normal distribution ``N(mean, std**2)``."""
        return _inplace.normal_(self, mean, std, generator)

    def __iadd__(self, other):  # add_ with alpha 1, which check_alpha passes
        return _inplace.inplace_binary(_optable.ADD.fn, self, other)

    def __isub__(self, other):
        _arith._check_bool_subtraction(self, other)
        return _inplace.inplace_binary(_optable.SUB.fn, self, other)

    def __imul__(self, other):
        return self.mul_(other)

    def __itruediv__(self, other):
        return self.div_(other)

    def __ipow__(self, exponent):
        return self.pow_(exponent)

    # -- arithmetic ---------------------------------------------------------------------------
    def __rtruediv__(self, other):
        return _optable._rdiv(self, other)

    def __pow__(self, exponent):
        return _optable._pow(None, self, exponent)

    def __rpow__(self, base):
        return _optable._number_pow(self, base)

    def __pos__(self):
        return self

    def __abs__(self):
        return self.abs()

    def __rfloordiv__(self, other):
        return _optable.FUNCTIONS["floor_divide"](_arith.as_tensor(other), self)

    def __rmod__(self, other):
        return _optable.FUNCTIONS["remainder"](other, self)

    def where(self, condition, other):
        """``self`` where ``condition`` is True, else ``other``."""
        return _optable.where(condition, self, other)

    def div_(self, other, *, rounding_mode=None):
        """In-place ``self /= other`` (``rounding_mode='trunc'`` or ``'floor'`` rounds the quotient)."""
        if rounding_mode is None:
            return _inplace.inplace_binary(_optable.DIV.fn, self, other)
        _arith.check_rounding_mode(rounding_mode)
        return _inplace.inplace(_optable.DIV_ROUNDING.fn, self, _arith.binary_operands(self, other)[1], rounding_mode)

    true_divide_ = divide_ = div_

    def subtract_(self, other, *, alpha=1):
        """In-place ``self -= alpha * other`` (``sub_``)."""
        return self.sub_(other, alpha=alpha)

    def float_power_(self, exponent):
        """``pow_`` computed in float64, so only a float64 tensor can hold the result (PyTorch's rule)."""
        if self.dtype is not dtypes.float64:
            raise RuntimeError(f"the base given to float_power_ has dtype {self.dtype._tensor_type[:-6]} but the "
                               "operation's result requires dtype Double")
        return self.pow_(exponent.double() if isinstance(exponent, Tensor) else float(exponent))

    def cumsum_(self, dim, *, dtype=None):
        """In-place ``cumsum`` along ``dim``."""
        return _inplace.inplace(_optable.CUMSUM.fn, self, *_reduce.cumulative_args(self, dim, dtype))

    def cumprod_(self, dim, *, dtype=None):
        """In-place ``cumprod`` along ``dim``."""
        return _inplace.inplace(_optable.CUMPROD.fn, self, *_reduce.cumulative_args(self, dim, dtype))

    # -- comparisons (no gradient) ----------------------------------------------------------
    def __eq__(self, other):
        return _arith.compare(np.equal, self, other)

    def __ne__(self, other):
        return _arith.compare(np.not_equal, self, other)

    def __lt__(self, other):
        return _arith.compare(np.less, self, other)

    def __le__(self, other):
        return _arith.compare(np.less_equal, self, other)

    def __gt__(self, other):
        return _arith.compare(np.greater, self, other)

    def __ge__(self, other):
        return _arith.compare(np.greater_equal, self, other)

    eq, ne, lt, le, gt, ge = __eq__, __ne__, __lt__, __le__, __gt__, __ge__

    def __invert__(self):
        if self._data.dtype.kind not in "biu":
            raise TypeError("~ (operator.invert) is only implemented on integer and Boolean-type tensors")
        return Tensor._wrap(np.invert(self._data))

    # -- predicates and logic (no gradient; ops/logic.py) -----------------------------------------
    def all(self, dim=None, keepdim: builtins.bool = False):
        """True where every element (along ``dim``) is nonzero."""
        return _logic.all(self, dim, keepdim)

    def any(self, dim=None, keepdim: builtins.bool = False):
        """True where some element (along ``dim``) is nonzero."""
        return _logic.any(self, dim, keepdim)

    def isnan(self):
        """True where the element is NaN."""
        return _logic.isnan(self)

    def isinf(self):
        """True where the element is positive or negative infinity."""
        return _logic.isinf(self)

    def isfinite(self):
        """True where the element is neither infinite nor NaN."""
        return _logic.isfinite(self)

    def isposinf(self):
        """True where the element is positive infinity."""
        return _logic.isposinf(self)

    def isneginf(self):
        """True where the element is negative infinity."""
        return _logic.isneginf(self)

    def isclose(self, other, rtol: builtins.float = 1e-05, atol: builtins.float = 1e-08,
                equal_nan: builtins.bool = False):
        """Elementwise ``|self - other| <= atol + rtol * |other|`` (NaNs equal with ``equal_nan``)."""
        return _logic.isclose(self, other, rtol, atol, equal_nan)

    def allclose(self, other, rtol: builtins.float = 1e-05, atol: builtins.float = 1e-08,
                 equal_nan: builtins.bool = False) -> builtins.bool:
        """Whether every element is close to ``other``: ``|self - other| <= atol + rtol * |other|``."""
        return _logic.allclose(self, other, rtol, atol, equal_nan)

    def equal(self, other) -> builtins.bool:
        """Whether ``other`` has the same shape and the same elements."""
        return _logic.equal(self, other)

    def logical_not(self):
        """Elementwise logical NOT (nonzero is True)."""
        return _logic.logical_not(self)

    def logical_and(self, other):
        """Elementwise logical AND (nonzero is True)."""
        return _logic.logical_and(self, other)

    def logical_or(self, other):
        """Elementwise logical OR (nonzero is True)."""
        return _logic.logical_or(self, other)

    def logical_xor(self, other):
        """Elementwise logical XOR (nonzero is True)."""
        return _logic.logical_xor(self, other)

    def nonzero(self, *, as_tuple: builtins.bool = False):
        """The indices of the nonzero elements (one row each; a tuple of index tensors with ``as_tuple``)."""
        return _logic.nonzero(self, as_tuple=as_tuple)

    def count_nonzero(self, dim=None):
        """The number of nonzero elements (along ``dim``)."""
        return _logic.count_nonzero(self, dim)

    def is_nonzero(self) -> builtins.bool:
        """The truth of a one-element tensor."""
        return _logic.is_nonzero(self)

    # -- elementwise functions ----------------------------------------------------------------
    def softmax(self, dim, dtype=None):
        """``exp(self) / sum(exp(self))`` along ``dim``."""
        return _activation.softmax(self, dim, dtype=dtype)

    def log_softmax(self, dim, dtype=None):
        """``log(softmax(self))`` along ``dim``."""
        return _activation.log_softmax(self, dim, dtype=dtype)

    # -- reductions -----------------------------------------------------------------------------
    def norm(self, p="fro", dim=None, keepdim: builtins.bool = False, dtype=None):
        """The ``p``-norm of all elements or along ``dim`` (Frobenius by default)."""
        return _reduce.norm(self, p, dim, keepdim, dtype)

    # -- sorting ----------------------------------------------------------------------------------
    def sort(self, dim: builtins.int = -1, descending: builtins.bool = False, stable: builtins.bool = False):
        """The sorted values along ``dim`` and their indices (``values, indices``)."""
        return _sorting.sort(self, dim, descending, stable)

    def argsort(self, dim: builtins.int = -1, descending: builtins.bool = False, stable: builtins.bool = False):
        """The indices that sort the tensor along ``dim``."""
        return _sorting.argsort(self, dim, descending, stable)

    def topk(self, k: builtins.int, dim: builtins.int = -1, largest: builtins.bool = True,
             sorted: builtins.bool = True):  # noqa: A002
        """The ``k`` largest (or smallest) elements along ``dim`` and their indices."""
        return _sorting.topk(self, k, dim, largest, sorted)

    def kthvalue(self, k: builtins.int, dim: builtins.int = -1, keepdim: builtins.bool = False):
        """The ``k``-th smallest element along ``dim`` and its index."""
        return _sorting.kthvalue(self, k, dim, keepdim)

    def median(self, dim=None, keepdim: builtins.bool = False):
        """The median of all elements, or along ``dim`` with its index (the lower of the two middle values)."""
        return _sorting.median(self, dim, keepdim)

    def unique(self, sorted: builtins.bool = True, return_inverse: builtins.bool = False,  # noqa: A002
               return_counts: builtins.bool = False,
               dim=None):
        """The distinct elements, sorted; optionally the inverse indices and the counts."""
        return _sorting.unique(self, sorted, return_inverse, return_counts, dim)

    # -- shape ------------------------------------------------------------------------------------
    def view(self, *shape):
        """A view with the given shape, or with another dtype of the same size (the memory is shared)."""
        return _shape.view(self, *shape)

    def reshape(self, *shape: Any) -> Tensor:
        """The same elements in the given shape (a view when possible, else a copy)."""
        return _shape.reshape(self, *shape)

    def expand(self, *sizes):
        """A view with dimensions of size one repeated to the given sizes (``-1`` keeps a size)."""
        return _shape.expand(self, *sizes)

    def permute(self, *dims):
        """A view with the dimensions in the given order."""
        return _shape.permute(self, *dims)

    @property
    def T(self):
        """The tensor with its dimensions reversed (a view; for 2-D, the transpose)."""
        return _shape.t_all(self)

    @property
    def mT(self):
        """The transpose of the last two dimensions (a view; batches of matrices)."""
        return _shape.matrix_transpose(self)

    @property
    def mH(self):
        """The conjugate transpose: for real tensors, ``mT``."""
        return _shape.matrix_transpose(self)

    def adjoint(self):
        """The conjugate transpose of the last two dimensions (the transpose for real tensors)."""
        return _shape.matrix_transpose(self)

    def conj(self):
        """Real tensors are their own conjugate: PyTorch returns the tensor itself."""
        return self

    def view_as(self, other):
        """``view`` with ``other``'s shape."""
        return _shape.view_as(self, other)

    def reshape_as(self, other):
        """``reshape`` to ``other``'s shape."""
        return _shape.reshape_as(self, other)

    def expand_as(self, other):
        """``expand`` to ``other``'s shape."""
        return _shape.expand_as(self, other)

    def unflatten(self, dim: builtins.int, sizes):
        """A view with dimension ``dim`` split into the given sizes."""
        return _shape.unflatten(self, dim, sizes)

    def t(self) -> Tensor:
        """The transpose of a 2-D tensor (a view; 0-D and 1-D tensors are returned as they are)."""
        return _shape.t(self)

    def unsqueeze_(self, dim: builtins.int):
        """In-place ``unsqueeze``: insert a dimension of size one at ``dim``."""
        from .ops import inplace_shape
        return inplace_shape.unsqueeze_(self, dim)

    def squeeze_(self, dim=None):
        """In-place ``squeeze``: remove the dimensions of size one (or only those of ``dim``)."""
        from .ops import inplace_shape
        return inplace_shape.squeeze_(self, dim)

    def t_(self):
        """In-place ``t``: transpose a 2-D tensor."""
        from .ops import inplace_shape
        return inplace_shape.t_(self)

    def transpose_(self, dim0: builtins.int, dim1: builtins.int):
        """In-place ``transpose``: swap the dimensions ``dim0`` and ``dim1``."""
        from .ops import inplace_shape
        return inplace_shape.transpose_(self, dim0, dim1)

    swapaxes_ = swapdims_ = transpose_

    def resize_(self, *sizes):
        """Change the tensor's shape in place (new elements are uninitialised)."""
        from .ops import inplace_shape
        return inplace_shape.resize_(self, *sizes)

    def resize_as_(self, other):
        """``resize_`` to ``other``'s shape."""
        from .ops import inplace_shape
        return inplace_shape.resize_as_(self, other)

    def movedim(self, source, destination):
        """A view with the dimensions ``source`` moved to the positions ``destination``."""
        return _shape.movedim(self, source, destination)

    moveaxis = movedim

    def split(self, split_size, dim: builtins.int = 0):
        """The tensor split into views of ``split_size`` (or of each given size) along ``dim``."""
        return _shape.split(self, split_size, dim)

    def split_with_sizes(self, split_sizes, dim: builtins.int = 0):
        """The tensor split into views of the given sizes along ``dim``."""
        return _shape.split_with_sizes(self, split_sizes, dim)

    def chunk(self, chunks: builtins.int, dim: builtins.int = 0):
        """The tensor split into ``chunks`` views of (nearly) equal size along ``dim``."""
        return _shape.chunk(self, chunks, dim)

    def unbind(self, dim: builtins.int = 0):
        """The slices along ``dim``, each without that dimension."""
        return _shape.unbind(self, dim)

    def flip(self, *dims):
        """The tensor with the order of the elements reversed along the given dimensions."""
        return _shape.flip(self, *dims)

    def repeat(self, *sizes):
        """The tensor tiled the given number of times along each dimension (a copy)."""
        return _shape.repeat(self, *sizes)

    def tile(self, *dims):
        """The tensor repeated the given number of times along each dimension."""
        return _shape.tile(self, dims[0] if len(dims) == 1 else dims)

    def tril(self, diagonal: builtins.int = 0):
        """The lower triangle of a matrix (elements above the ``diagonal``-th diagonal set to 0)."""
        return _shape.tril(self, diagonal)

    def triu(self, diagonal: builtins.int = 0):
        """The upper triangle of a matrix (elements below the ``diagonal``-th diagonal set to 0)."""
        return _shape.triu(self, diagonal)

    def diag(self, diagonal: builtins.int = 0):
        """The diagonal of a matrix as a vector, or a matrix with the vector on its diagonal."""
        return _shape.diag(self, diagonal)

    def diagonal(self, offset: builtins.int = 0, dim1: builtins.int = 0, dim2: builtins.int = 1):
        """A view of the diagonal with the given ``offset`` between dimensions ``dim1`` and ``dim2``."""
        return _shape.diagonal(self, offset, dim1, dim2)

    def trace(self):
        """The sum of the diagonal of a 2-D tensor."""
        return _shape.trace(self)

    def roll(self, shifts, dims=None):
        """The elements shifted by ``shifts`` along ``dims`` (wrapping around)."""
        return _shape.roll(self, shifts, dims)

    def tensor_split(self, indices_or_sections, dim: builtins.int = 0):
        """The tensor split into views at the given indices (or into n nearly equal parts) along ``dim``."""
        return _index.tensor_split(self, indices_or_sections, dim)

    # -- indexing ---------------------------------------------------------------------------------
    def __getitem__(self, key):
        return _index.getitem(self, key)

    def __setitem__(self, key, value) -> None:
        _index.setitem(self, key, value)

    def gather(self, dim: builtins.int, index):
        """The elements of ``self`` along ``dim`` at the positions ``index`` gives."""
        return _index.gather(self, dim, index)

    def narrow(self, dim: builtins.int, start, length: builtins.int):
        """A view of ``length`` elements from ``start`` along ``dim``."""
        return _index.narrow(self, dim, start, length)

    def select(self, dim: builtins.int, index: builtins.int):
        """The slice at ``index`` along ``dim``, without that dimension (a view)."""
        return _index.select(self, dim, index)

    def index_select(self, dim: builtins.int, index):
        """The slices along ``dim`` at the positions ``index`` gives (a copy)."""
        return _index.index_select(self, dim, index)

    def masked_select(self, mask):
        """The elements where ``mask`` is True, as a 1-D tensor."""
        return _index.masked_select(self, mask)

    def scatter(self, dim: builtins.int, index, src=None, *, value=None):
        """A copy with ``src`` (or ``value``) written at the ``index`` positions along ``dim``."""
        return _index.scatter(self, dim, index, src, value=value)

    def scatter_(self, dim: builtins.int, index, src=None, *, value=None):
        """In-place ``scatter``."""
        fn, args = _index.scatter_function(self, dim, index, src, value)
        return _inplace.inplace(fn, self, *args)

    def scatter_add(self, dim: builtins.int, index, src):
        """A copy with ``src`` added at the ``index`` positions along ``dim``."""
        return _index.scatter_add(self, dim, index, src)

    def scatter_add_(self, dim: builtins.int, index, src):
        """In-place ``scatter_add``."""
        fn, args = _index.scatter_add_function(self, dim, index, src)
        return _inplace.inplace(fn, self, *args)

    def index_add(self, dim: builtins.int, index, source, *, alpha=1):
        """A copy with ``alpha * source`` added at the ``index`` positions along ``dim``."""
        return _index.index_add(self, dim, index, source, alpha=alpha)

    def index_add_(self, dim: builtins.int, index, source, *, alpha=1):
        """In-place ``index_add``."""
        fn, args = _index.index_add_function(self, dim, index, source, alpha)
        return _inplace.inplace(fn, self, *args)

    # -- linear algebra -----------------------------------------------------------------------
    def __matmul__(self, other):
        if isinstance(other, Tensor):
            return _linalg.matmul(self, other)
        if not isinstance(other, np.ndarray):
            return NotImplemented
        return _linalg.matmul(self, _linalg_operand(other))

    def __rmatmul__(self, other):
        if not isinstance(other, (Tensor, np.ndarray)):
            return NotImplemented
        return _linalg.matmul(_linalg_operand(other), self)

    def addmm(self, mat1, mat2, *, beta=1, alpha=1):
        """``beta * self + alpha * (mat1 @ mat2)``."""
        return _linalg.addmm(self, mat1, mat2, beta=beta, alpha=alpha)

    def baddbmm(self, batch1, batch2, *, beta=1, alpha=1):
        """``beta * self + alpha * (batch1 @ batch2)`` for batches of matrices."""
        return _linalg.baddbmm(self, batch1, batch2, beta=beta, alpha=alpha)

    def cross(self, other, dim=None):
        """The cross product of 3-vectors along ``dim``."""
        return _linalg.cross(self, other, dim)


# ``Tensor._wrap(array)``: a new leaf tensor around ``array`` (no copy).
Tensor._wrap = staticmethod(_core.tensor_factory(Tensor))


def _linalg_operand(other):
    """``tensor @ ndarray`` works as in PyTorch's NumPy interop."""
    from .ops._util import as_tensor
    return other if isinstance(other, Tensor) else as_tensor(other)


def _rebuild(array, requires_grad):
    t = Tensor._wrap(checked_array(array, convert_byte_order=True))
    t._requires_grad = requires_grad
    return t


# The methods above call the op modules as _arith, _shape, ...: they import this module, so
# pygrad/ops/__init__.py binds them here (this module imports no op module).
