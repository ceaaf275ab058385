"""Tensor factories: ``tensor``, ``zeros``, ``arange``, random tensors and interop."""
from __future__ import annotations

import warnings

import numpy as np

from . import dtypes
from ._arrays import checked_array
from ._errstate import quietly
from ._errors import INT_REQUIRES_GRAD
from .size import size_arguments
from .tensor import Tensor

__all__ = ["tensor", "as_tensor", "from_numpy", "from_dlpack", "zeros", "ones", "empty", "full",
           "zeros_like", "ones_like", "empty_like", "full_like", "rand_like", "randn_like", "arange",
           "linspace", "logspace", "eye", "randn", "rand", "randint", "manual_seed", "seed", "initial_seed"]

_generator = np.random.default_rng()
_seed = None


def _finish(array: np.ndarray, requires_grad: bool) -> Tensor:
    t = Tensor._wrap(array)
    if requires_grad:
        if array.dtype.kind != "f":
            raise RuntimeError(INT_REQUIRES_GRAD)
        t._requires_grad = True
    return t


COPY_CONSTRUCT_WARNING = (
    "To copy construct from a tensor, it is recommended to use sourceTensor.detach().clone() or "
    "sourceTensor.detach().clone().requires_grad_(True), rather than torch.tensor(sourceTensor).")


def _plain(data):
    """Nested data with every Tensor replaced by its array (so NumPy can stack it)."""
    if isinstance(data, Tensor):
        return data._data
    if isinstance(data, (list, tuple)):
        return [_plain(d) for d in data]
    return data


@quietly  # a number beyond the dtype's range is inf, as in PyTorch
def tensor(data, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A new tensor copying ``data``: floats give float32, ints int64, bools bool."""
    _check_device(device)
    if isinstance(data, Tensor):
        warnings.warn(COPY_CONSTRUCT_WARNING, UserWarning, stacklevel=2)
        d = dtypes.as_dtype(dtype) if dtype is not None else data.dtype
    else:
        if isinstance(data, np.ndarray):
            checked_array(data)
        d = dtypes.as_dtype(dtype) if dtype is not None else dtypes.infer_dtype(data)
    array = np.array(_plain(data), dtype=d.numpy)
    return _finish(array, requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """``data`` as a tensor, without copying when it already is one of that dtype."""
    if isinstance(data, Tensor):
        _check_device(device)
        return data if dtype is None else data.to(dtype)  # differentiable, as in PyTorch
    if isinstance(data, np.ndarray) and (dtype is None or dtypes.as_dtype(dtype).numpy == data.dtype):
        return from_numpy(data)
    return tensor(data, dtype=dtype, device=device)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``array``."""
    return Tensor._wrap(checked_array(array))


def from_dlpack(obj) -> Tensor:
    """Zero-copy import of any object that implements ``__dlpack__`` (NumPy, PyTorch, JAX...)."""
    return from_numpy(np.from_dlpack(obj))


def _check_device(device) -> None:
    if device is not None and str(device) != "cpu":
        raise RuntimeError(f"pygrad runs on the CPU only; got device={device!r}")


def _shape(size: tuple, fn: str) -> tuple:
    """``fn``'s size arguments (``zeros(2, 3)`` or ``zeros((2, 3))``) as PyTorch checks them."""
    shape = size_arguments(size, fn)
    for s in shape:
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: [{', '.join(map(str, shape))}]")
    return shape


def _dtype(dtype, default=None) -> np.dtype:
    if dtype is None:
        return (default or dtypes.get_default_dtype()).numpy
    return dtypes.as_dtype(dtype).numpy


def zeros(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    _check_device(device)
    return _finish(np.zeros(_shape(size, "zeros"), _dtype(dtype)), requires_grad)


def ones(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    _check_device(device)
    return _finish(np.ones(_shape(size, "ones"), _dtype(dtype)), requires_grad)


def empty(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    _check_device(device)
    return _finish(np.empty(_shape(size, "empty"), _dtype(dtype)), requires_grad)


@quietly
def full(size, fill_value, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    _check_device(device)
    default = dtypes.scalar_dtype(fill_value.item() if isinstance(fill_value, Tensor) else fill_value)
    return _finish(np.full(_shape((size,), "full"), fill_value, _dtype(dtype, default)), requires_grad)


def _like(t: Tensor, dtype) -> tuple:
    return t._data.shape, (t._data.dtype if dtype is None else dtypes.as_dtype(dtype).numpy)


def zeros_like(t: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros with ``input``'s shape."""
    return _finish(np.zeros(*_like(t, dtype)), requires_grad)


def ones_like(t: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones with ``input``'s shape."""
    return _finish(np.ones(*_like(t, dtype)), requires_grad)


def empty_like(t: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    """An uninitialised tensor with ``input``'s shape (and dtype unless given)."""
    return _finish(np.empty(*_like(t, dtype)), requires_grad)


def full_like(t: Tensor, fill_value, dtype=None, requires_grad: bool = False) -> Tensor:
    """A tensor with ``input``'s shape filled with ``fill_value``."""
    shape, d = _like(t, dtype)
    return _finish(np.full(shape, fill_value, d), requires_grad)


def rand_like(t: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    """Uniform random numbers in [0, 1) with ``input``'s shape."""
    shape, d = _like(t, dtype)
    return _finish(_generator.random(shape).astype(d), requires_grad)


def randn_like(t: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    """Standard normal random numbers with ``input``'s shape."""
    shape, d = _like(t, dtype)
    return _finish(_generator.standard_normal(shape).astype(d), requires_grad)


@quietly
def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """Values from ``start`` up to ``end`` (exclusive); float32 if any bound is a float, else int64."""
    _check_device(device)
    if end is None:
        start, end = 0, start
    values = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if dtype is None:
        is_float = any(isinstance(v, float) for v in values)
        d = dtypes.get_default_dtype() if is_float else dtypes.int64
    else:
        d = dtypes.as_dtype(dtype)
    start, end, step = values
    count = max(0, int(np.ceil((end - start) / step)))
    array = _arange_float(start, step, count, d.numpy) if d.is_floating_point \
        else np.arange(start, end, step, dtype=d.numpy)
    return _finish(array, requires_grad)


_VECTOR_BYTES = 32  # AVX2, the vector width PyTorch's CPU kernels use on most x86 machines


def _arange_float(start, step, count: int, np_dtype) -> np.ndarray:
    """The values of PyTorch's CPU ``arange`` kernel, bit for bit (AVX2 build, up to 32768 values).

    The kernel works in double and its compiled arithmetic uses fused multiply-adds.  Full pairs
    of vectors of ``W`` lanes are filled from ``base = T(fma(step, i, start))`` (``i`` the first index
    of the vector) as ``T(fma(lane, step, base))``; the remaining tail is ``T(fma(step, i, start))``.
    Longer ranges are split between threads, which can move a vector's start (last-ulp changes).
    """
    index = np.arange(count, dtype=np.float64)
    start, step = np.float64(start), np.float64(step)
    out = _fused_multiply_add(index, step, start)
    if np_dtype not in (np.float32, np.float64):
        return out.astype(np_dtype)
    lanes = _VECTOR_BYTES // np.dtype(np_dtype).itemsize
    vectorised = count // (2 * lanes) * 2 * lanes
    if vectorised:
        lane = index[:vectorised] % lanes
        base = _fused_multiply_add(index[:vectorised] - lane, step, start).astype(np_dtype).astype(np.float64)
        out[:vectorised] = _fused_multiply_add(lane, step, base)
    return out.astype(np_dtype)


@quietly
def linspace(start, end, steps: int, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """``steps`` numbers evenly spaced from ``start`` to ``end`` (both included)."""
    _check_device(device)
    steps = int(steps)
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    start, end = (v.item() if isinstance(v, Tensor) else v for v in (start, end))
    return _finish(_linspace_array(start, end, steps, _dtype(dtype)), requires_grad)


@quietly
def logspace(start, end, steps: int, base: float = 10.0, *, dtype=None, device=None,
             requires_grad: bool = False) -> Tensor:
    """``base ** linspace(start, end, steps)``."""
    _check_device(device)
    steps = int(steps)
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    start, end = (v.item() if isinstance(v, Tensor) else v for v in (start, end))
    d = _dtype(dtype)
    work = d if d.kind == "f" else np.dtype(np.float64)
    powers = np.power(work.type(base), _linspace_array(start, end, steps, work))
    return _finish(powers.astype(d) if d.kind == "f" else np.trunc(powers).astype(d), requires_grad)


def _two_product(a: np.ndarray, b: np.ndarray):
    """``a * b`` as an unevaluated float64 sum ``p + e`` that is exact (Dekker's splitting)."""
    p = a * b
    split = 134217729.0  # 2**27 + 1
    ah = a * split
    ah = ah - (ah - a)
    bh = b * split
    bh = bh - (bh - b)
    al, bl = a - ah, b - bh
    return p, ((ah * bh - p) + ah * bl + al * bh) + al * bl


def _fused_multiply_add(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """``a * b + c`` rounded once, as the fused multiply-add PyTorch's compiled kernel uses."""
    p, e = _two_product(a, b)
    s = p + c
    v = s - p
    t = (p - (s - v)) + (c - v)
    return s + (t + e)


def _linspace_array(start, end, steps: int, dtype: np.dtype) -> np.ndarray:
    """PyTorch's CPU linspace bit for bit: the first half counts up from ``start``
    (``start + step*i``), the second half down from ``end`` (``end - step*(steps-1-i)``), each a
    fused multiply-add in the dtype (in float64 for integers, then truncated)."""
    if steps <= 1:
        return np.full(steps, start).astype(dtype)
    floating = dtype.kind == "f"
    if floating:
        s, e = dtype.type(start), dtype.type(end)
        step = (e - s) / dtype.type(steps - 1)
    else:
        s, e = np.float64(dtype.type(start)), np.float64(dtype.type(end))
        step = (e - s) / (steps - 1)
    i = np.arange(steps, dtype=np.float64)
    back = (steps - 1) - i
    with np.errstate(invalid="ignore", over="ignore"):
        if dtype == np.float16:  # half arithmetic rounds the product and the sum separately
            forward = s + step * i.astype(dtype)
            backward = e - step * back.astype(dtype)
        elif dtype == np.float32:  # the float64 product of two float32s is exact: one rounding
            forward = np.float64(s) + np.float64(step) * i
            backward = np.float64(e) - np.float64(step) * back
        else:
            step, s, e = np.float64(step), np.float64(s), np.float64(e)
            forward = _fused_multiply_add(np.full(steps, step), i, np.full(steps, s))
            backward = _fused_multiply_add(np.full(steps, -step), back, np.full(steps, e))
        out = np.where(i < steps // 2, forward, backward)
        return out.astype(dtype) if floating else np.trunc(out).astype(dtype)


def eye(n: int, m: int | None = None, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A 2-D tensor with ones on the diagonal and zeros elsewhere."""
    _check_device(device)
    return _finish(np.eye(n, m, dtype=_dtype(dtype)), requires_grad)


def manual_seed(seed: int):
    """Seed pygrad's random number generator (NumPy's PCG64, so values differ from PyTorch's)."""
    global _generator, _seed
    _seed = int(seed)
    _generator = np.random.default_rng(_seed)
    return _generator


def seed() -> int:
    """Seed the random number generator from the operating system; returns the seed."""
    s = int(np.random.SeedSequence().entropy % (2 ** 63))
    manual_seed(s)
    return s


def initial_seed() -> int:
    """The seed the random number generator was last seeded with."""
    return _seed if _seed is not None else seed()


def generator() -> np.random.Generator:
    """The generator behind ``rand``/``randn`` and the nn initialisers."""
    return _generator


def randn(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    _check_device(device)
    return _finish(_generator.standard_normal(_shape(size, "randn")).astype(_dtype(dtype)), requires_grad)


def rand(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    _check_device(device)
    return _finish(_generator.random(_shape(size, "rand")).astype(_dtype(dtype)), requires_grad)


def randint(low, high=None, size=(), *, dtype=None, device=None) -> Tensor:
    """Random integers drawn uniformly from [low, high)."""
    _check_device(device)
    if high is None:
        low, high = 0, low
    return _finish(_generator.integers(low, high, size=_shape((size,), "randint")).astype(_dtype(dtype, dtypes.int64)), False)


def randperm(n: int, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A random permutation of ``0 .. n-1``."""
    _check_device(device)
    return _finish(_generator.permutation(int(n)).astype(_dtype(dtype, dtypes.int64)), requires_grad)


def normal(mean, std=1.0, size=None, *, generator=None, dtype=None, device=None,
           requires_grad: bool = False) -> Tensor:
    """Samples of N(mean, std**2): tensor arguments broadcast elementwise, numbers need ``size``.

    The result is a new leaf (no gradient flows to tensor ``mean``/``std``)."""
    _check_device(device)
    tensors = [t for t in (mean, std) if isinstance(t, Tensor)]
    if not tensors:
        if size is None:
            raise TypeError("normal() received an invalid combination of arguments - got (float, float), "
                            "size is needed when mean and std are numbers")
        shape, result = _shape((size,), "normal"), _dtype(dtype)
    else:
        arrays = [t._data for t in tensors]
        shape = np.broadcast_shapes(*(a.shape for a in arrays))
        result = np.result_type(*arrays)
        if result.kind != "f":
            raise RuntimeError("normal expects floating point tensors for mean and std")
    m = mean._data if isinstance(mean, Tensor) else mean
    s = std._data if isinstance(std, Tensor) else std
    if np.any(np.asarray(s) < 0):
        raise RuntimeError(f"normal expects std >= 0.0, but found std {float(np.min(s))}")
    sample = m + s * _generator.standard_normal(shape)
    return _finish(np.asarray(sample).astype(result), requires_grad)


def multinomial(probs: Tensor, num_samples: int, replacement: bool = False, *, generator=None) -> Tensor:
    """Indices drawn from the rows of ``probs`` (non-negative weights, not necessarily normalized)."""
    data = probs._data
    if data.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    rows = np.atleast_2d(data).astype(np.float64)
    if np.any(rows < 0) or not np.all(np.isfinite(rows)):
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    if not replacement and num_samples > rows.shape[1]:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
    out = np.empty((rows.shape[0], num_samples), np.int64)
    for r, weights in enumerate(rows):
        total = weights.sum()
        if total <= 0:
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        if replacement:
            out[r] = _generator.choice(len(weights), num_samples, replace=True, p=weights / total)
        else:
            # Without replacement, categories of zero weight come last (after all the others), as in PyTorch.
            keys = _generator.random(len(weights)) ** (1.0 / np.where(weights > 0, weights, 1.0))
            keys = np.where(weights > 0, keys, -1.0)
            out[r] = np.argsort(-keys, kind="stable")[:num_samples]
    return _finish(out if data.ndim == 2 else out[0], False)


def meshgrid(*tensors, indexing: str | None = None) -> tuple:
    """Coordinate grids: output ``i`` holds tensor ``i`` expanded along every other dim (views)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing is None:
        warnings.warn("torch.meshgrid: in an upcoming release, it will be required to pass the indexing argument.",
                      UserWarning, stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f'torch.meshgrid: indexing must be one of "xy" or "ij", but received: {indexing}')
    for t in tensors:
        if t.ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got: {t}")
    sizes = [t.numel() for t in tensors]
    swap = indexing == "xy" and len(tensors) >= 2
    if swap:
        sizes[0], sizes[1] = sizes[1], sizes[0]
    grids = []
    for i, t in enumerate(tensors):
        axis = (1 - i if i < 2 else i) if swap else i
        shape = [1] * len(tensors)
        shape[axis] = -1
        grids.append(t.reshape(shape).expand(*sizes))
    return tuple(grids)
