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
    return None


cuda = types.ModuleType("pygrad.cuda", "pygrad has no CUDA: nothing is ever available.")
cuda.is_available = lambda: False
cuda.device_count = lambda: 0
cuda.manual_seed = _no_cuda        # seeding code calls these unconditionally, as with PyTorch on a CPU
cuda.manual_seed_all = _no_cuda
cuda.synchronize = _no_cuda
