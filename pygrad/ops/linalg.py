"""Matrix products: ``mm``, ``mv``, ``dot``, ``bmm`` and ``matmul`` built from them.

``matmul`` follows PyTorch's own decomposition (ATen's ``_matmul_impl``): it folds or
broadcasts its operands with views and reshapes and then calls one of the four products,
so the graph it records, and the grad_fn of its result, is the one PyTorch records.
"""
from __future__ import annotations

import numpy as np

from .. import dtypes
from ..autograd.function import Function
from ..tensor import Tensor
from . import shape as _shape
from ._util import building_graph, wrap

# PyTorch's names of the element types in its error messages.
_C_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half", "int64": "long int",
            "int32": "int", "int16": "short int", "int8": "signed char", "uint8": "unsigned char",
            "bool": "bool"}


def _scalar_name(d: dtypes.dtype) -> str:
    return d._tensor_type.removesuffix("Tensor")


def _size(shape) -> str:
    return "x".join(str(s) for s in shape)


def _check_tensor(x, name: str) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not {type(x).__name__}")


class Mm(Function):
    _backward_name = "MmBackward0"

    @staticmethod
    def forward(ctx, a, b):
        needs = ctx.needs_input_grad
        ctx.save_for_backward(a if needs[1] else None, b if needs[0] else None)
        return wrap(np.matmul(a._data, b._data))

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        needs = ctx.needs_input_grad
        if building_graph():
            return (mm(g, b.t()) if needs[0] else None), (mm(a.t(), g) if needs[1] else None)
        return (wrap(g._data @ b._data.T) if needs[0] else None), (wrap(a._data.T @ g._data) if needs[1] else None)


class Mv(Function):
    _backward_name = "MvBackward0"

    @staticmethod
    def forward(ctx, m, v):
        needs = ctx.needs_input_grad
        ctx.save_for_backward(m if needs[1] else None, v if needs[0] else None)
        return wrap(np.matmul(m._data, v._data))

    @staticmethod
    def backward(ctx, g):
        m, v = ctx.saved_tensors
        needs = ctx.needs_input_grad
        if building_graph():
            return (outer(g, v) if needs[0] else None), (mv(m.t(), g) if needs[1] else None)
        return (wrap(np.outer(g._data, v._data)) if needs[0] else None), (wrap(m._data.T @ g._data) if needs[1] else None)


class Dot(Function):
    _backward_name = "DotBackward0"

    @staticmethod
    def forward(ctx, a, b):
        needs = ctx.needs_input_grad
        ctx.save_for_backward(a if needs[1] else None, b if needs[0] else None)
        return wrap(np.asarray(np.dot(a._data, b._data)))

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        needs = ctx.needs_input_grad
        if building_graph():
            return (g * b if needs[0] else None), (g * a if needs[1] else None)
        return (wrap(g._data * b._data) if needs[0] else None), (wrap(g._data * a._data) if needs[1] else None)


class Bmm(Function):
    _backward_name = "BmmBackward0"

    @staticmethod
    def forward(ctx, a, b):
        needs = ctx.needs_input_grad
        ctx.save_for_backward(a if needs[1] else None, b if needs[0] else None)
        return wrap(np.matmul(a._data, b._data))

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        needs = ctx.needs_input_grad
        if building_graph():
            return (bmm(g, b.mT) if needs[0] else None), (bmm(a.mT, g) if needs[1] else None)
        return ((wrap(g._data @ b._data.swapaxes(1, 2)) if needs[0] else None),
                (wrap(a._data.swapaxes(1, 2) @ g._data) if needs[1] else None))


def _same_dtype_mm(a: Tensor, b: Tensor) -> None:
    if a._data.dtype != b._data.dtype:
        raise RuntimeError("expected m1 and m2 to have the same dtype, but got: "
                           f"{_C_NAMES[a.dtype.name]} != {_C_NAMES[b.dtype.name]}")


def mm(a: Tensor, b: Tensor) -> Tensor:
    _check_tensor(a, "mm")
    _check_tensor(b, "mm")
    if a.ndim != 2:
        raise RuntimeError("self must be a matrix")
    if b.ndim != 2:
        raise RuntimeError("mat2 must be a matrix")
    if a._data.shape[1] != b._data.shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({_size(a.shape)} and {_size(b.shape)})")
    _same_dtype_mm(a, b)
    return Mm.apply(a, b)


def mv(m: Tensor, v: Tensor) -> Tensor:
    _check_tensor(m, "mv")
    _check_tensor(v, "mv")
    if m.ndim != 2 or v.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got 1, {m.ndim}, {v.ndim}")
    if m._data.shape[1] != v._data.shape[0]:
        raise RuntimeError(f"size mismatch, got input ({m._data.shape[0]}), mat ({_size(m.shape)}), "
                           f"vec ({v._data.shape[0]})")
    if m._data.dtype != v._data.dtype:
        vec, mat = _scalar_name(v.dtype), _scalar_name(m.dtype)
        raise RuntimeError(f"addmv input tensors must have the same dtype, but got {vec}, {mat}, and {vec}")
    return Mv.apply(m, v)


def dot(a: Tensor, b: Tensor) -> Tensor:
    _check_tensor(a, "dot")
    _check_tensor(b, "dot")
    if a.ndim != 1 or b.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors")
    if a._data.shape[0] != b._data.shape[0]:
        n, k = a._data.shape[0], b._data.shape[0]
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{n}] and src [{k}] to have the same "
                           f"number of elements, but got {n} and {k} elements respectively")
    if a._data.dtype != b._data.dtype:
        raise RuntimeError("dot : expected both vectors to have same dtype, but found "
                           f"{_scalar_name(a.dtype)} and {_scalar_name(b.dtype)}")
    return Dot.apply(a, b)


def bmm(a: Tensor, b: Tensor) -> Tensor:
    _check_tensor(a, "bmm")
    _check_tensor(b, "bmm")
    if a.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if b.ndim != 3:
        raise RuntimeError("batch2 must be a 3D tensor")
    batch, _, inner = a._data.shape
    if b._data.shape[:2] != (batch, inner):
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: [{batch}, {inner}] "
                           f"but got: [{b._data.shape[0]}, {b._data.shape[1]}].")
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(f"expected scalar type {_scalar_name(a.dtype)} but found {_scalar_name(b.dtype)}")
    return Bmm.apply(a, b)


def outer(a: Tensor, b: Tensor) -> Tensor:
    for name, x in (("self", a), ("vec2", b)):
        _check_tensor(x, "outer")
        if x.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {x.ndim}-D")
    return _shape.reshape(a, a._data.shape[0], 1) * b


ger = outer


def _unsafe_view(x: Tensor, shape) -> Tensor:
    return _shape.UnsafeView.apply(x, tuple(shape))


def _should_fold(a: Tensor, b: Tensor) -> bool:
    """Whether ``a @ b`` can run as one mm/mv on the larger operand folded into a matrix."""
    a_larger = a.ndim >= b.ndim
    big = a._data if a_larger else np.swapaxes(b._data, -1, -2)
    small_ndim = b.ndim if a_larger else a.ndim
    if not (big.ndim >= 3 and small_ndim <= 2):
        return False
    if (b if a_larger else a)._requires_grad:
        return True
    if a.ndim == 2:
        return False
    if big.size == 0:
        return True
    strides, shape = big.strides, big.shape
    return all(strides[i] == strides[i + 1] * shape[i + 1] for i in range(big.ndim - 2))


def matmul(a: Tensor, b: Tensor) -> Tensor:
    _check_tensor(a, "matmul")
    _check_tensor(b, "matmul")
    da, db = a.ndim, b.ndim
    if da == 0 or db == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are {da}D and {db}D")
    if da == 1 and db == 1:
        return dot(a, b)
    if da == 2 and db == 1:
        return mv(a, b)
    if da == 1 and db == 2:
        return _shape.SqueezeInplaceDim.apply(mm(_shape.unsqueeze(a, 0), b), (0,))
    if da == 2 and db == 2:
        return mm(a, b)
    if _should_fold(a, b):
        transpose = db > da
        t1 = _shape.matrix_transpose(b) if transpose else a
        t2 = (_shape.t(a) if da == 2 else a) if transpose else b
        out_shape = t1._data.shape[:-1]
        folded = int(np.prod(out_shape))
        t1_folded = _shape.reshape(t1, folded, t1._data.shape[-1])
        if t2.ndim == 2:
            out = _unsafe_view(mm(t1_folded, t2), out_shape + (t2._data.shape[1],))
            return _shape.matrix_transpose(out).contiguous() if transpose else out
        return _unsafe_view(mv(t1_folded, t2), out_shape)
    return _batched_matmul(a, b)


def _batched_matmul(a: Tensor, b: Tensor) -> Tensor:
    da, db = a.ndim, b.ndim
    sa, sb = a._data.shape, b._data.shape
    n = sa[-2] if da > 1 else 1
    m1 = sa[-1]
    m2 = sb[-2] if db > 1 else sb[0]
    p = sb[-1] if db > 1 else 1
    batch_a, batch_b = sa[:max(da - 2, 0)], sb[:max(db - 2, 0)]
    if da == 3 and db == 3 and batch_a[0] != batch_b[0]:
        if batch_a[0] == 1 and a._requires_grad:
            return matmul(_shape.squeeze(a, 0), b)
        if batch_b[0] == 1 and b._requires_grad:
            return matmul(a, _shape.squeeze(b, 0))
    from ._util import broadcast_shape
    batch = broadcast_shape(batch_a, batch_b)
    count = int(np.prod(batch))
    a3 = _shape.reshape(_shape.expand(a, batch + (n, m1)), count, n, m1)
    vector_rhs = db == 1
    b_expanded = _shape.expand(b, batch + ((m2,) if vector_rhs else (m2, p)))
    if vector_rhs:
        b3 = _shape.unsqueeze(_shape.reshape(b_expanded, count, m2), 2)
    else:
        b3 = _shape.reshape(b_expanded, count, m2, p)
    out_shape = batch + ((n,) if da > 1 else ()) + ((p,) if db > 1 else ())
    product = bmm(a3, b3)
    if vector_rhs:
        product = _shape.squeeze(product, -1)
    return _unsafe_view(product, out_shape)
