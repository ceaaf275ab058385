"""Tensor factories: ``tensor``, ``zeros``, ``arange``, random tensors and interop."""
from __future__ import annotations

import numpy as np

from . import dtypes
from ._errors import INT_REQUIRES_GRAD
from .tensor import Tensor

__all__ = ["tensor", "as_tensor", "from_numpy", "from_dlpack", "zeros", "ones", "empty", "full",
           "zeros_like", "ones_like", "empty_like", "full_like", "rand_like", "randn_like", "arange",
           "linspace", "eye", "randn", "rand", "randint", "manual_seed", "seed", "initial_seed"]

_generator = np.random.default_rng()
_seed = None


def _finish(array: np.ndarray, requires_grad: bool) -> Tensor:
    t = Tensor._wrap(array)
    if requires_grad:
        if array.dtype.kind != "f":
            raise RuntimeError(INT_REQUIRES_GRAD)
        t._requires_grad = True
    return t


def _plain(data):
    """Nested data with every Tensor replaced by its array (so NumPy can stack it)."""
    if isinstance(data, Tensor):
        return data._data
    if isinstance(data, (list, tuple)):
        return [_plain(d) for d in data]
    return data


def tensor(data, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A new tensor copying ``data``: floats give float32, ints int64, bools bool."""
    _check_device(device)
    d = dtypes.as_dtype(dtype) if dtype is not None else dtypes.infer_dtype(
        data.numpy() if isinstance(data, Tensor) else data)
    array = np.array(_plain(data), dtype=d.numpy)
    return _finish(array, requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """``data`` as a tensor, without copying when it already is one of that dtype."""
    if isinstance(data, Tensor) and (dtype is None or dtypes.as_dtype(dtype) is data.dtype):
        return data
    if isinstance(data, np.ndarray) and (dtype is None or dtypes.as_dtype(dtype).numpy == data.dtype):
        return from_numpy(data)
    return tensor(data, dtype=dtype, device=device)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``array``."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    dtypes.from_numpy(array.dtype)
    return Tensor._wrap(array)


def from_dlpack(obj) -> Tensor:
    """Zero-copy import of any object that implements ``__dlpack__`` (NumPy, PyTorch, JAX...)."""
    return from_numpy(np.from_dlpack(obj))


def _check_device(device) -> None:
    if device is not None and str(device) != "cpu":
        raise RuntimeError(f"pygrad runs on the CPU only; got device={device!r}")


def _shape(size) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    return tuple(int(s) for s in size)


def _dtype(dtype, default=None) -> np.dtype:
    if dtype is None:
        return (default or dtypes.get_default_dtype()).numpy
    return dtypes.as_dtype(dtype).numpy


def zeros(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    _check_device(device)
    return _finish(np.zeros(_shape(size), _dtype(dtype)), requires_grad)


def ones(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    _check_device(device)
    return _finish(np.ones(_shape(size), _dtype(dtype)), requires_grad)


def empty(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    _check_device(device)
    return _finish(np.empty(_shape(size), _dtype(dtype)), requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    _check_device(device)
    default = dtypes.scalar_dtype(fill_value.item() if isinstance(fill_value, Tensor) else fill_value)
    return _finish(np.full(_shape((size,)), fill_value, _dtype(dtype, default)), requires_grad)


def _like(t: Tensor, dtype) -> tuple:
    return t._data.shape, (t._data.dtype if dtype is None else dtypes.as_dtype(dtype).numpy)


def zeros_like(t: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    return _finish(np.zeros(*_like(t, dtype)), requires_grad)


def ones_like(t: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    return _finish(np.ones(*_like(t, dtype)), requires_grad)


def empty_like(t: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    return _finish(np.empty(*_like(t, dtype)), requires_grad)


def full_like(t: Tensor, fill_value, dtype=None, requires_grad: bool = False) -> Tensor:
    shape, d = _like(t, dtype)
    return _finish(np.full(shape, fill_value, d), requires_grad)


def rand_like(t: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    shape, d = _like(t, dtype)
    return _finish(_generator.random(shape).astype(d), requires_grad)


def randn_like(t: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    shape, d = _like(t, dtype)
    return _finish(_generator.standard_normal(shape).astype(d), requires_grad)


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
    # Computed in double and then cast, as PyTorch does, so float32 values are start + i*step rounded once.
    array = (start + np.arange(count, dtype=np.float64) * step).astype(d.numpy) if d.is_floating_point \
        else np.arange(start, end, step, dtype=d.numpy)
    return _finish(array, requires_grad)


def linspace(start, end, steps: int, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    _check_device(device)
    array = np.linspace(start, end, int(steps), dtype=np.float64).astype(_dtype(dtype))
    return _finish(array, requires_grad)


def eye(n: int, m: int | None = None, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    _check_device(device)
    return _finish(np.eye(n, m, dtype=_dtype(dtype)), requires_grad)


def manual_seed(seed: int):
    """Seed pygrad's random number generator (NumPy's PCG64, so values differ from PyTorch's)."""
    global _generator, _seed
    _seed = int(seed)
    _generator = np.random.default_rng(_seed)
    return _generator


def seed() -> int:
    s = int(np.random.SeedSequence().entropy % (2 ** 63))
    manual_seed(s)
    return s


def initial_seed() -> int:
    return _seed if _seed is not None else seed()


def generator() -> np.random.Generator:
    """The generator behind ``rand``/``randn`` and the nn initialisers."""
    return _generator


def randn(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    _check_device(device)
    return _finish(_generator.standard_normal(_shape(size)).astype(_dtype(dtype)), requires_grad)


def rand(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    _check_device(device)
    return _finish(_generator.random(_shape(size)).astype(_dtype(dtype)), requires_grad)


def randint(low, high=None, size=(), *, dtype=None, device=None) -> Tensor:
    _check_device(device)
    if high is None:
        low, high = 0, low
    return _finish(_generator.integers(low, high, size=_shape((size,))).astype(_dtype(dtype, dtypes.int64)), False)
