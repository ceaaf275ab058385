"""``pygrad.functional``, PyTorch's ``torch.functional``: the functions it defines, looked up on
``pygrad`` (``from pygrad.functional import einsum``); those pygrad lacks raise AttributeError."""
from __future__ import annotations

_NAMES = ("atleast_1d", "atleast_2d", "atleast_3d", "broadcast_shapes", "broadcast_tensors", "cartesian_prod",
          "block_diag", "cdist", "chain_matmul", "einsum", "istft", "lu", "norm", "meshgrid", "pca_lowrank",
          "split", "stft", "svd_lowrank", "tensordot", "unique", "unique_consecutive", "unravel_index")


def __getattr__(name: str):
    import pygrad
    if name in _NAMES and hasattr(pygrad, name):
        return getattr(pygrad, name)
    raise AttributeError(f"module 'pygrad.functional' has no attribute '{name}'")


def __dir__():
    import pygrad
    return sorted(n for n in _NAMES if hasattr(pygrad, n))
