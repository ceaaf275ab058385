"""``pygrad.device`` and ``pygrad.cuda``: enough of PyTorch's device API for portable code.

pygrad computes on the CPU only.  ``device("cuda")`` can still be made (PyTorch allows it
without a GPU too), so ``torch.device("cuda" if torch.cuda.is_available() else "cpu")``
works and picks the CPU; moving a tensor to a CUDA device raises.
"""
from __future__ import annotations

import types


class device:
    """A device: ``device(type='cpu')``; ``str()`` gives ``"cpu"``."""

    __slots__ = ("type", "index")

    def __init__(self, type_or_spec, index: int | None = None):
        if isinstance(type_or_spec, device):
            type_or_spec, index = type_or_spec.type, type_or_spec.index
        spec = str(type_or_spec)
        kind, _, number = spec.partition(":")
        if kind not in ("cpu", "cuda", "mps", "meta"):
            raise RuntimeError(f"Expected one of cpu, cuda, mps, meta device type at start of device "
                               f"string: {spec}")
        if number:
            index = int(number)
        self.type, self.index = kind, index

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={self.index})"

    def __eq__(self, other) -> bool:
        if not isinstance(other, device):
            return NotImplemented
        return (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))


CPU = device("cpu")


def _no_cuda(*args, **kwargs):
    """Accepted and ignored: there is no CUDA generator."""
    return None


cuda = types.ModuleType("pygrad.cuda", "pygrad has no CUDA: nothing is ever available.")


def _is_available() -> bool:
    """False: pygrad runs on the CPU."""
    return False


def _device_count() -> int:
    """0: pygrad has no CUDA devices."""
    return 0


cuda.is_available = _is_available
cuda.device_count = _device_count
cuda.manual_seed = _no_cuda        # seeding code calls these unconditionally, as with PyTorch on a CPU
cuda.manual_seed_all = _no_cuda
cuda.synchronize = _no_cuda


def get_default_device() -> device:
    """Where factory functions put new tensors: always the CPU."""
    return CPU


def set_default_device(spec) -> None:
    """Accept the CPU (or ``None``, PyTorch's reset); any other device raises, pygrad has none."""
    if spec is not None and device(spec).type != "cpu":
        raise RuntimeError(f"pygrad runs on the CPU only; cannot make {str(device(spec))!r} the default device")


_TO_SIGNATURES = (
    " * (torch.device device = None, torch.dtype dtype = None, bool non_blocking = False, bool copy = False, "
    "*, torch.memory_format memory_format = None)\n"
    " * (torch.dtype dtype, bool non_blocking = False, bool copy = False, *, torch.memory_format memory_format = None)\n"
    " * (Tensor tensor, bool non_blocking = False, bool copy = False, *, torch.memory_format memory_format = None)\n")


def parse_to(args: tuple, kwargs: dict):
    """The ``(device, dtype, non_blocking, copy)`` of a ``Tensor.to`` / ``Module.to`` call, read as
    PyTorch reads it: ``to(device=None, dtype=None, ...)``, ``to(dtype, ...)`` or ``to(tensor, ...)``."""
    from .dtypes import dtype as _dtype
    from .tensor import Tensor

    def type_name(value) -> str:
        return "torch." + type(value).__name__ if isinstance(value, (_dtype, device)) else type(value).__name__

    def invalid():
        got = [type_name(a) for a in args] + [f"{k}={type_name(v)}" for k, v in kwargs.items()]
        return TypeError(f"to() received an invalid combination of arguments - got ({', '.join(got)}), "
                         f"but expected one of:\n{_TO_SIGNATURES}")

    kw = dict(kwargs)
    kw.pop("memory_format", None)
    pos = list(args)
    target_device = target_dtype = None
    if pos and isinstance(pos[0], Tensor):
        other = pos.pop(0)
        target_device, target_dtype = CPU, other.dtype
    elif pos and isinstance(pos[0], _dtype):
        target_dtype = pos.pop(0)
    else:
        if pos:
            target_device = pos.pop(0)
        if pos and isinstance(pos[0], _dtype):
            target_dtype = pos.pop(0)
    flags = {"non_blocking": False, "copy": False}
    for name in flags:
        if pos:
            flags[name] = pos.pop(0)
    for name, value in kw.items():
        if name == "device" and target_device is None:
            target_device = value
        elif name == "dtype" and target_dtype is None:
            target_dtype = value
        elif name in flags:
            flags[name] = value
        else:
            raise invalid()
    if pos or not all(isinstance(v, bool) for v in flags.values()):
        raise invalid()
    if target_device is not None:
        if isinstance(target_device, int) and not isinstance(target_device, bool):
            target_device = device("cuda", target_device)
        elif not isinstance(target_device, (str, device)):
            raise invalid()
        target_device = device(target_device)
    if target_dtype is not None and not isinstance(target_dtype, _dtype):
        raise invalid()
    return target_device, target_dtype, flags["non_blocking"], flags["copy"]
