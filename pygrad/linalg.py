"""``pygrad.linalg``: PyTorch's ``torch.linalg`` namespace, with gradients (ops/linalg_ops.py)."""
from .ops.linalg_ops import (LinAlgError, cholesky, cross, det, eigh, eigvalsh, inv, lstsq, matrix_exp,
                             matrix_norm, matrix_power, matrix_rank, multi_dot, norm, pinv, qr, slogdet, solve,
                             svd, svdvals, vecdot, vector_norm)
from .ops.linalg import matmul
from .ops.shape import diagonal as _diagonal

__all__ = ["LinAlgError", "cholesky", "cross", "det", "diagonal", "eigh", "eigvalsh", "inv", "lstsq", "matmul",
           "matrix_exp", "matrix_norm", "matrix_power", "matrix_rank", "multi_dot", "norm", "pinv", "qr",
           "slogdet", "solve", "svd", "svdvals", "vecdot", "vector_norm"]


def diagonal(A, *, offset: int = 0, dim1: int = -2, dim2: int = -1):
    """A view of the diagonals of (a batch of) matrices."""
    return _diagonal(A, offset, dim1, dim2)
