"""Matrix products: ``mm``, ``mv``, ``dot``, ``bmm`` and ``matmul`` built from them.

``matmul`` follows PyTorch's own decomposition (ATen's ``_matmul_impl``): it folds or
broadcasts its operands with views and reshapes and then calls one of the four products,
so the graph it records, and the grad_fn of its result, is the one PyTorch records.
"""
from __future__ import annotations

import warnings

import numpy as np

from ..autograd.forward_ad import multilinear_jvp
from .. import dtypes
from .._errstate import quietly
from .._errors import C_TYPE_NAMES
from ..autograd.function import Function
from ..tensor import Tensor
from . import shape as _shape
from . import optable as _table
from ._util import broadcast_shape, normalize_dim, wrap


def _scalar_name(d: dtypes.dtype) -> str:
    return d._tensor_type.removesuffix("Tensor")


def _size(shape) -> str:
    return "x".join(str(s) for s in shape)


def _check_tensor(x, name: str) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not {type(x).__name__}")


def transposed_layouts(a: Tensor, b: Tensor) -> tuple[bool, bool]:
    """Which of the operands of a matrix product is laid out transposed (what its backward reads):
    a matrix laid out as the transpose of a C-contiguous one (``w.t()``)."""
    fa, fb = a._data.flags, b._data.flags  # (the operands of mm and addmm are matrices)
    return fa.f_contiguous and not fa.c_contiguous, fb.f_contiguous and not fb.c_contiguous


# ``g @ b.T`` and ``a.T @ g``, each made in the memory layout its operand had (recorded by forward),
# as PyTorch does: the gradient of ``w.t()`` then comes out of TBackward0 contiguous, so
# accumulating it into ``w.grad`` is a plain copy, not a transpose.

def mm_mat1_backward(g: np.ndarray, b: np.ndarray, a_transposed: bool) -> np.ndarray:
    return (b @ g.T).T if a_transposed else g @ b.T


def mm_mat2_backward(g: np.ndarray, a: np.ndarray, b_transposed: bool) -> np.ndarray:
    return (g.T @ a).T if b_transposed else a.T @ g


def _same_dtype_mm(a: Tensor, b: Tensor) -> None:
    if a._data.dtype != b._data.dtype:
        raise RuntimeError("expected m1 and m2 to have the same dtype, but got: "
                           f"{C_TYPE_NAMES[a.dtype.name]} != {C_TYPE_NAMES[b.dtype.name]}")


def _no_bool(kernel: str, a: Tensor) -> None:
    """PyTorch has no bool matrix products (both operands have ``a``'s dtype here)."""
    if a.dtype is dtypes.bool:
        raise NotImplementedError(f'"{kernel}" not implemented for \'Bool\'')


def mm(a: Tensor, b: Tensor) -> Tensor:
    _check_tensor(a, "mm")
    _check_tensor(b, "mm")
    if a._data.ndim != 2:
        raise RuntimeError("self must be a matrix")
    if b._data.ndim != 2:
        raise RuntimeError("mat2 must be a matrix")
    return _matrix_product(a, b)


def _matrix_product(a: Tensor, b: Tensor) -> Tensor:
    """``mm`` of two matrices: its size and dtype checks, then the op."""
    x, y = a._data, b._data
    if x.shape[1] != y.shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({_size(a.shape)} and {_size(b.shape)})")
    if x.dtype != y.dtype:
        _same_dtype_mm(a, b)
    if x.dtype.kind == "b":
        _no_bool("addmm_impl_cpu_", a)
    return _table.MM.fn.apply(a, b)


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
    _no_bool("addmv_impl_cpu", m)
    return _table.MV.fn.apply(m, v)


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
    _no_bool("dot", a)
    return _table.DOT.fn.apply(a, b)


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
    _no_bool("bmm", a)
    return _table.BMM.fn.apply(a, b)


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
    """The matrix product (``torch.matmul``)."""
    _check_tensor(a, "matmul")
    _check_tensor(b, "matmul")
    da, db = a._data.ndim, b._data.ndim
    if da == 2 and db == 2:  # (the common case first)
        return _matrix_product(a, b)
    if da == 0 or db == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are {da}D and {db}D")
    if da == 1 and db == 1:
        return dot(a, b)
    if da == 2 and db == 1:
        return mv(a, b)
    if da == 1 and db == 2:
        return _shape.SqueezeInplaceDim.apply(mm(_shape.unsqueeze(a, 0), b), (0,))
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


# -- addmm / baddbmm ------------------------------------------------------------------------------

def _check_same_dtype(c: Tensor, mat: Tensor, name: str) -> None:
    if c.dtype is not mat.dtype:
        raise RuntimeError(f"self and {name} must have the same dtype, but got {_scalar_name(c.dtype)} and "
                           f"{_scalar_name(mat.dtype)}")


def _broadcasts(c: Tensor, *sizes: int) -> None:
    """PyTorch's error (expand's) when ``c`` does not broadcast to ``sizes``."""
    shape = c._data.shape
    lead = len(sizes) - len(shape)
    if lead < 0 or any(have != 1 and have != size for have, size in zip(shape, sizes[lead:])):
        _shape.expand(c.detach(), *sizes)


def addmm(c: Tensor, a: Tensor, b: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * c + alpha * (a @ b)`` for matrices ``a`` and ``b``."""
    for t, name in ((a, "mat1"), (b, "mat2")):
        if t.ndim != 2:
            raise RuntimeError(f"{name} must be a matrix, got {t.ndim}-D tensor")
    if a.shape[1] != b.shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({a.shape[0]}x{a.shape[1]} and "
                           f"{b.shape[0]}x{b.shape[1]})")
    _check_same_dtype(c, b, "mat2")
    _check_same_dtype(c, a, "mat1")
    _broadcasts(c, a._data.shape[0], b._data.shape[1])
    return _table.ADDMM.fn.apply(c, a, b, beta, alpha)


def baddbmm(c: Tensor, a: Tensor, b: Tensor, *, beta=1, alpha=1) -> Tensor:
    """``beta * c + alpha * (a @ b)`` for batches of matrices ``a`` and ``b``."""
    for t, name in ((a, "batch1"), (b, "batch2")):
        if t.ndim != 3:
            raise RuntimeError(f"{name} must be a 3D tensor")
    if a.shape[0] != b.shape[0] or a.shape[2] != b.shape[1]:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: [{a.shape[0]}, "
                           f"{a.shape[2]}] but got: [{b.shape[0]}, {b.shape[1]}].")
    _check_same_dtype(c, b, "batch2")
    _check_same_dtype(c, a, "batch1")
    _broadcasts(c, a._data.shape[0], a._data.shape[1], b._data.shape[2])
    return _table.BADDBMM.fn.apply(c, a, b, beta, alpha)


# -- cross product ----------------------------------------------------------------------------------

class Cross(Function):
    jvp = staticmethod(multilinear_jvp)
    _backward_name = "LinalgCrossBackward0"

    @staticmethod
    @quietly
    def forward(ctx, a, b, dim):
        needs = ctx.needs_input_grad
        ctx.save_for_backward(a if needs[1] else None, b if needs[0] else None)
        ctx.dim = dim
        x, y = np.broadcast_arrays(a._data, b._data)
        return wrap(np.cross(x, y, axis=dim))

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad[:2]
        d = ctx.dim
        return (Cross.apply(b, g, d) if need_a else None), (Cross.apply(g, a, d) if need_b else None), None


def cross(a: Tensor, b: Tensor, dim=None) -> Tensor:
    """The cross product along ``dim`` (of size 3); ``torch.cross`` without ``dim`` takes the first
    dim of size 3 and warns, as PyTorch does."""
    if a.dtype is not b.dtype:
        raise RuntimeError(f"expected scalar type {_scalar_name(a.dtype)} but found {_scalar_name(b.dtype)}")
    shape = broadcast_shape(a._data.shape, b._data.shape)
    if dim is None:
        warnings.warn("Using torch.cross without specifying the dim arg is deprecated.\nPlease either pass the dim "
                      "explicitly or simply use torch.linalg.cross.\nThe default value of dim will change to agree "
                      "with that of linalg.cross in a future release.", UserWarning, stacklevel=2)
        dim = next((i for i, s in enumerate(shape) if s == 3), None)
        if dim is None:
            raise RuntimeError("no dimension of size 3 in input")
    d = normalize_dim(dim, len(shape))
    size_a, size_b = ((1,) * (len(shape) - t.ndim) + t._data.shape for t in (a, b))
    if size_a[d] != 3 or size_b[d] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got {size_a[d]} and "
                           f"{size_b[d]}")
    return Cross.apply(a, b, d)


# -- einsum -----------------------------------------------------------------------------------------

_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _parse_einsum(equation: str, shapes: list) -> tuple:
    """The input subscripts and the output subscript of ``equation``, with ``...`` spelled out in
    letters the equation does not use (right-aligned, so fewer leading dims broadcast)."""
    eq = equation.replace(" ", "")
    lhs, arrow, out = eq.partition("->")
    subs = lhs.split(",")
    if len(subs) > len(shapes):
        raise RuntimeError("einsum(): fewer operands were provided than specified in the equation")
    if len(subs) < len(shapes):
        raise RuntimeError("einsum(): more operands were provided than specified in the equation")
    for s in subs + [out]:
        for c in s.replace("...", ""):
            if c not in _LETTERS:
                raise RuntimeError(f"einsum(): invalid subscript given at index {eq.index(c)} in the equation "
                                   f"string, subscripts must be in [a-zA-Z]")
    spare = [c for c in _LETTERS if c not in eq]
    counts = []
    for i, (s, shape) in enumerate(zip(subs, shapes)):
        named = len(s.replace("...", ""))
        if "..." in s:
            counts.append(len(shape) - named)
            if counts[-1] < 0:
                raise RuntimeError(f"einsum(): the number of subscripts in the equation ({named}) is more than the "
                                   f"number of dimensions ({len(shape)}) for operand {i}")
        elif named != len(shape):
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({named}) does not match the "
                               f"number of dimensions ({len(shape)}) for operand {i} and no ellipsis was given")
    ellipsis = "".join(spare[:max(counts, default=0)])
    subs = [s.replace("...", ellipsis[len(ellipsis) - len(shape) + len(s) - 3:] if "..." in s else "")
            for s, shape in zip(subs, shapes)]
    if not arrow:
        once = sorted((c for c in set("".join(subs)) if "".join(subs).count(c) == 1 and c not in ellipsis),
                      key=_LETTERS.index)
        out = ellipsis + "".join(once)
    else:
        out = out.replace("...", ellipsis)
        for c in out:
            if c not in "".join(subs):
                raise RuntimeError(f"einsum(): output subscript {c} does not appear in the equation for any "
                                   "input operand")
            if out.count(c) > 1:
                raise RuntimeError(f"einsum(): output subscript {c} appears more than once in the output")
    sizes = {}
    for i, (s, shape) in enumerate(zip(subs, shapes)):
        for c, n in zip(s, shape):
            seen = sizes.get((i, c))
            if seen is not None and seen != n:
                raise RuntimeError(f"einsum(): subscript {c} is repeated for operand {i} but the sizes don't match, "
                                   f"{n} != {seen}")
            sizes[(i, c)] = n
    return tuple(subs), out


def _einsum_arrays(equation: str, arrays: list) -> np.ndarray:
    return np.asarray(np.einsum(equation, *arrays, optimize=len(arrays) > 2))


class Einsum(Function):
    """``einsum`` as one op; the gradient of each operand is another einsum (of the output gradient,
    the other operands, ones for the letters only that operand has, and identity tensors that put
    the gradient back on the diagonal of a repeated letter), so it is differentiable to any order."""
    jvp = staticmethod(multilinear_jvp)

    _backward_name = "EinsumBackward0"

    @staticmethod
    @quietly
    def forward(ctx, subs, out, *operands):
        ctx.subs, ctx.out = subs, out
        ctx.save_for_backward(*operands)
        return wrap(_einsum_arrays(",".join(subs) + "->" + out, [t._data for t in operands]))

    @staticmethod
    def backward(ctx, g):
        operands = ctx.saved_tensors
        grads = [None, None]
        for i, need in enumerate(ctx.needs_input_grad[2:]):
            grads.append(_einsum_grad(ctx.subs, ctx.out, operands, i, g) if need else None)
        return tuple(grads)


def _einsum_grad(subs: tuple, out: str, operands: tuple, i: int, g: Tensor) -> Tensor:
    """The gradient of operand ``i``: an einsum producing its subscripts from everything else."""
    target, shape = subs[i], operands[i]._data.shape
    dtype = g._data.dtype
    fresh = iter(c for c in _LETTERS if c not in "".join(subs) + out)
    terms, tensors = [out], [g]
    for j, (s, t) in enumerate(zip(subs, operands)):
        if j != i:
            terms.append(s)
            tensors.append(t)
    present = set("".join(terms))
    result = ""
    for p, c in enumerate(target):
        if c in target[:p]:  # a repeated letter: its own letter, tied to the first by an identity tensor
            result += next(fresh)
            continue
        result += c
        if c not in present:  # summed over in the forward: every element gets the gradient
            terms.append(c)
            tensors.append(wrap(np.ones(shape[p], dtype)))
    for c in dict.fromkeys(target):
        positions = [p for p, d in enumerate(target) if d == c]
        if len(positions) > 1:
            n = shape[positions[0]]
            identity = np.zeros((n,) * len(positions), dtype)
            identity[(np.arange(n),) * len(positions)] = 1
            terms.append("".join(result[p] for p in positions))
            tensors.append(wrap(identity))
    return Einsum.apply(tuple(terms), result, *tensors)


def einsum(equation: str, *operands) -> Tensor:
    """Einstein summation over the subscripts of ``equation`` (``...`` and the implicit output form too)."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    for t in operands:
        _check_tensor(t, "einsum")
    for t in operands[1:]:
        if t.dtype is not operands[0].dtype:
            raise RuntimeError(f"expected scalar type {_scalar_name(operands[0].dtype)} but found "
                               f"{_scalar_name(t.dtype)}")
    subs, out = _parse_einsum(equation, [t._data.shape for t in operands])
    return Einsum.apply(subs, out, *operands)
