"""Differentiable matrix decompositions and solvers behind ``pygrad.linalg``.

Forward passes run LAPACK through NumPy.  Each backward is PyTorch's derivative formula
(``FunctionsManual.cpp``) written with Tensor ops, so it builds a graph under
``create_graph`` and the ops differentiate twice.  Batched inputs are stacks of matrices in
the leading dims, as in PyTorch.
"""
from __future__ import annotations

import numpy as np

from .._errstate import quietly
from ..autograd.function import Function
from ..tensor import Tensor
from . import shape as _shape
from ._util import broadcast_shape, wrap

__all__ = ["LinAlgError"]


class LinAlgError(RuntimeError):
    """``torch.linalg.LinAlgError``: a matrix was singular or not positive-definite."""


# -- small Tensor helpers ----------------------------------------------------------------------

def _eye_like(x: Tensor, n: int) -> Tensor:
    return wrap(np.eye(n, dtype=x._data.dtype))


def _diag_embed(v: Tensor) -> Tensor:
    """A batch of diagonal matrices with ``v``'s last dim on the diagonal."""
    return v.unsqueeze(-1) * _eye_like(v, v._data.shape[-1])


def _square_check(x: Tensor, name: str) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"linalg_{name}(): argument 'A' (position 1) must be Tensor, not {type(x).__name__}")
    if x.ndim < 2:
        raise RuntimeError(f"linalg.{name}: The input tensor A must have at least 2 dimensions.")
    if x._data.shape[-1] != x._data.shape[-2]:
        rows, cols = x._data.shape[-2:]
        raise RuntimeError(f"linalg.{name}: A must be batches of square matrices, but they are {rows} by {cols} "
                           "matrices")
    _float_check(x, name)


def _matrix_check(x: Tensor, name: str) -> None:
    if x.ndim < 2:
        raise RuntimeError(f"linalg.{name}: The input tensor A must have at least 2 dimensions.")
    _float_check(x, name)


def _float_check(x: Tensor, name: str) -> None:
    if not x.dtype.is_floating_point:
        raise RuntimeError(f"linalg.{name}: Expected a floating point or complex tensor as input. "
                           f"Got {x.dtype._tensor_type[:-6]}")


def _first_bad(flags: np.ndarray) -> int:
    return int(np.flatnonzero(flags.reshape(-1))[0])


# -- solve and inverse -------------------------------------------------------------------------

class Solve(Function):
    """``X = A⁻¹ B`` (``left``) or ``X = B A⁻¹``; ``vector`` marks a right-hand side of vectors (one
    dim less than a matrix).  Batch dims broadcast; gradients are summed back to each operand's shape."""

    _backward_name = "LinalgSolveExBackward0"

    @staticmethod
    @quietly
    def forward(ctx, A, B, vector, left=True):
        a, b = A._data, B._data
        ctx.vector, ctx.left, ctx.b_shape = vector, left, b.shape
        if not left:  # X A = B  <=>  Aᵀ Xᵀ = Bᵀ
            a, b = np.swapaxes(a, -1, -2), np.swapaxes(b, -1, -2)
        a, b = _system(a, b, vector)
        try:
            x = np.linalg.solve(a, b) if a.size else np.zeros(b.shape, b.dtype)
        except np.linalg.LinAlgError:  # LU met an exact zero pivot
            where = "" if a.ndim == 2 else f"(Batch element {_first_bad(_zero_pivot(a) >= 0)}): "
            raise LinAlgError(f"torch.linalg.solve: {where}The solver failed because the input matrix is "
                              "singular.") from None
        x = x[..., 0] if vector else x
        result = wrap(x if left else np.ascontiguousarray(np.swapaxes(x, -1, -2)))
        ctx.save_for_backward(A, result)
        return result

    @staticmethod
    def backward(ctx, g):
        A, X = ctx.saved_tensors
        needs = ctx.needs_input_grad
        if ctx.left:
            gB = Solve.apply(A.mT, g, ctx.vector)
            gA = -(gB.unsqueeze(-1) * X.unsqueeze(-2) if ctx.vector else gB @ X.mT) if needs[0] else None
        else:
            gB = Solve.apply(A.mT, g, ctx.vector, False)  # g A⁻ᵀ
            gA = -(X.mT @ gB) if needs[0] else None
        gA = _shape.sum_to_size(gA, A._data.shape) if needs[0] else None
        return gA, (_shape.sum_to_size(gB, ctx.b_shape) if needs[1] else None), None, None

    @staticmethod
    def jvp(ctx, tA, tB, *_):
        """dX = A⁻¹ (dB - dA X) (left), (dB - X dA) A⁻¹ (right)."""
        A, X = ctx._fw_args[0], ctx._fw_outputs[0]
        rhs = tB
        if tA is not None:
            if not ctx.left:
                moved = X @ tA
            elif ctx.vector:
                moved = (tA @ X.unsqueeze(-1)).squeeze(-1)
            else:
                moved = tA @ X
            rhs = -moved if rhs is None else rhs - moved
        return Solve.apply(A, rhs, ctx.vector, ctx.left)


def _system(a: np.ndarray, b: np.ndarray, vector: bool) -> tuple[np.ndarray, np.ndarray]:
    """The matrices and right-hand sides of ``A X = B``, batch dims broadcast, vectors as columns."""
    if vector:
        b = b[..., None]
    batch = broadcast_shape(a.shape[:-2], b.shape[:-2])
    return np.broadcast_to(a, batch + a.shape[-2:]), np.broadcast_to(b, batch + b.shape[-2:])


def solve(A: Tensor, B: Tensor, *, left: bool = True) -> Tensor:
    """The solution X of A X = B."""
    _square_check(A, "solve")
    _float_check(B, "solve")
    if A.dtype is not B.dtype:
        raise RuntimeError(f"linalg.solve: Expected A and B to have the same dtype, but found A of type "
                           f"{A.dtype._tensor_type[:-6]} and B of type {B.dtype._tensor_type[:-6]} instead")
    n = A._data.shape[-1]
    vector = left and (B.ndim == 1 or (B.ndim == A.ndim - 1 and B._data.shape == A._data.shape[:-1]))
    rows = B._data.shape[-1] if vector or not left else B._data.shape[-2]
    if rows != n:
        cols = 1 if vector else B._data.shape[-1]
        raise RuntimeError(f"linalg.solve: Incompatible shapes of A and B for the equation AX = B "
                           f"({n}x{n} and {rows}x{cols})")
    return Solve.apply(A, B, vector, left)


class Inv(Function):
    _backward_name = "LinalgInvExBackward0"

    @staticmethod
    @quietly
    def forward(ctx, A):
        a = A._data
        try:
            inverse = np.linalg.inv(a) if a.size else a.copy()
        except np.linalg.LinAlgError:  # name the first zero pivot, as PyTorch does
            flat = _zero_pivot(a).reshape(-1)
            i = int(np.flatnonzero(flat >= 0)[0])
            where = "" if a.ndim == 2 else f"(Batch element {i}): "
            raise LinAlgError(f"linalg.inv: {where}The diagonal element {int(flat[i]) + 1} is zero, the inversion "
                              "could not be completed because the input matrix is singular.") from None
        result = wrap(inverse)
        ctx.save_for_backward(result)
        return result

    @staticmethod
    def backward(ctx, g):
        (Y,) = ctx.saved_tensors
        return -(Y.mT @ g @ Y.mT)

    @staticmethod
    def jvp(ctx, t):
        result = ctx._fw_outputs[0]
        return -(result @ t @ result)


def _zero_pivot(a: np.ndarray) -> np.ndarray:
    """Per matrix, the index of the first zero pivot of LU with partial pivoting, or -1."""
    m = np.array(a, dtype=np.float64, copy=True).reshape(-1, *a.shape[-2:])
    n = a.shape[-1]
    found = np.full(len(m), -1)
    for b, mat in enumerate(m):
        for k in range(n):
            p = k + int(np.argmax(np.abs(mat[k:, k])))
            if mat[p, k] == 0:
                found[b] = k
                break
            mat[[k, p]] = mat[[p, k]]
            mat[k + 1:, k:] -= np.outer(mat[k + 1:, k] / mat[k, k], mat[k, k:])
    return found.reshape(a.shape[:-2])


def inv(A: Tensor) -> Tensor:
    """The inverse of a square matrix (or batch)."""
    _square_check(A, "inv")
    return Inv.apply(A)


# -- determinants ------------------------------------------------------------------------------

class Det(Function):
    _backward_name = "LinalgDetBackward0"

    @staticmethod
    @quietly
    def forward(ctx, A):
        result = wrap(np.asarray(np.linalg.det(A._data), A._data.dtype))
        ctx.save_for_backward(A, result)
        return result

    @staticmethod
    def backward(ctx, g):
        A, d = ctx.saved_tensors
        if not (d._data == 0).any():
            return (g * d).unsqueeze(-1).unsqueeze(-1) * inv(A).mT
        # A singular matrix has no inverse: det's gradient is the cofactor matrix, from the SVD
        # (A = U S Vᵀ gives cof(A) = det(U) det(V) U diag(prod_{j≠i} s_j) Vᵀ).
        U, S, Vh = svd(A, full_matrices=False)
        n = S._data.shape[-1]
        others = wrap(1.0 - np.eye(n, dtype=S._data.dtype))
        prods = (S.unsqueeze(-2) * others + wrap(np.eye(n, dtype=S._data.dtype))).prod(-1)
        sign = Det.apply(U) * Det.apply(Vh)
        cof = (U * prods.unsqueeze(-2)) @ Vh * sign.unsqueeze(-1).unsqueeze(-1)
        return g.unsqueeze(-1).unsqueeze(-1) * cof

    @staticmethod
    def jvp(ctx, t):
        A, result = ctx._fw_args[0], ctx._fw_outputs[0]
        return result * (inv(A).mT * t).sum((-2, -1))


def det(A: Tensor) -> Tensor:
    """The determinant of a square matrix (or batch)."""
    _square_check(A, "det")
    return Det.apply(A)


class Slogdet(Function):
    _backward_name = "LinalgSlogdetBackward0"

    @staticmethod
    @quietly
    def forward(ctx, A):
        sign, logabs = np.linalg.slogdet(A._data)
        dt = A._data.dtype
        sign_t, logabs_t = wrap(np.asarray(sign, dt)), wrap(np.asarray(logabs, dt))
        ctx.save_for_backward(A)
        return sign_t, logabs_t

    @staticmethod
    def backward(ctx, g_sign, g_logabs):
        (A,) = ctx.saved_tensors
        return g_logabs.unsqueeze(-1).unsqueeze(-1) * inv(A).mT

    @staticmethod
    def jvp(ctx, t):
        sign = ctx._fw_outputs[0]
        return wrap(np.zeros_like(sign._data)), (inv(ctx._fw_args[0]).mT * t).sum((-2, -1))


def slogdet(A: Tensor):
    """The sign and the log of the absolute value of the determinant."""
    from .. import return_types
    _square_check(A, "slogdet")
    return return_types.linalg_slogdet(*Slogdet.apply(A))


def logdet(A: Tensor) -> Tensor:
    """``torch.logdet``: log of the determinant, nan for a negative one."""
    from .optable import where
    _square_check(A, "logdet")
    sign, logabs = Slogdet.apply(A)
    return where(sign < 0, float("nan"), logabs)


# -- Cholesky and QR ---------------------------------------------------------------------------

class Cholesky(Function):
    _backward_name = "LinalgCholeskyExBackward0"

    @staticmethod
    @quietly
    def forward(ctx, A, upper):
        a = A._data
        lower = np.tril(a) + np.swapaxes(np.tril(a, -1), -1, -2)  # LAPACK reads one triangle only
        try:
            L = np.linalg.cholesky(lower) if a.size else a.copy()
        except np.linalg.LinAlgError:  # name the first failing matrix and minor, as PyTorch does
            index, order = _first_non_pd(lower)
            where = "" if a.ndim == 2 else f"(Batch element {index}): "
            raise LinAlgError(f"linalg.cholesky: {where}The factorization could not be completed because the input "
                              f"is not positive-definite (the leading minor of order {order} is not "
                              "positive-definite).") from None
        result = wrap(np.ascontiguousarray(np.swapaxes(L, -1, -2)) if upper else L)
        ctx.upper = upper
        ctx.save_for_backward(result)
        return result

    @staticmethod
    def backward(ctx, gL):
        (L,) = ctx.saved_tensors
        if ctx.upper:
            L, gL = L.mT, gL.mT
        phi = (L.mT @ gL).tril()
        phi = 0.5 * (phi + phi.tril(-1).mT)  # the symmetric matrix whose lower triangle is phi, halved diagonal
        gA = solve(L.mT, phi)  # L⁻ᵀ phi
        return solve(L.mT, gA.mT).mT, None  # ... L⁻¹


def _first_non_pd(a: np.ndarray) -> tuple[int, int]:
    """(batch index, order of the first leading minor that is not positive-definite)."""
    flat = a.reshape(-1, *a.shape[-2:])
    for i, m in enumerate(flat):
        try:
            np.linalg.cholesky(m)
        except np.linalg.LinAlgError:
            for k in range(1, m.shape[-1] + 1):
                try:
                    np.linalg.cholesky(m[:k, :k])
                except np.linalg.LinAlgError:
                    return i, k
    raise AssertionError("every matrix is positive-definite")


def cholesky(A: Tensor, *, upper: bool = False) -> Tensor:
    """The lower-triangular Cholesky factor L of a symmetric positive-definite matrix (A = L L^T)."""
    _square_check(A, "cholesky")
    return Cholesky.apply(A, upper)


class Qr(Function):
    _backward_name = "LinalgQrBackward0"

    @staticmethod
    @quietly
    def forward(ctx, A, mode):
        q, r = np.linalg.qr(A._data, mode="complete" if mode == "complete" else "reduced")
        ctx.mode = mode
        Q, R = wrap(q), wrap(r)
        ctx.save_for_backward(Q, R)
        if mode == "r":
            Q = wrap(np.zeros(0, A._data.dtype))
            ctx.mark_non_differentiable(Q)
        return Q, R

    @staticmethod
    def backward(ctx, gQ, gR):
        Q, R = ctx.saved_tensors
        m, n = Q._data.shape[-2], R._data.shape[-1]
        if ctx.mode == "r":
            raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed when mode='r'. "
                               "Please use linalg.qr(A, mode='reduced') if you are going to differentiate through "
                               "linalg.qr.")
        if m < n or (ctx.mode == "complete" and m > n):
            raise NotImplementedError("The derivative of linalg.qr is not implemented when mode='complete' and "
                                      "nrows > ncols, or when nrows < ncols (pygrad).")
        # gA = [gQ + Q syminvadj(triu(gR Rᵀ - Qᵀ gQ))] R⁻ᵀ, with syminvadj(X) = X + Xᵀ - diag(X)
        M = (gR @ R.mT - Q.mT @ gQ).triu()
        M = M + M.mT - _diag_embed(M.diagonal(0, -2, -1))
        gA = Q @ M + gQ
        return solve(R, gA.mT).mT, None  # gA R⁻ᵀ


def qr(A: Tensor, mode: str = "reduced"):
    """The QR decomposition (``mode='reduced'``, ``'complete'`` or ``'r'``)."""
    from .. import return_types
    _matrix_check(A, "qr")
    if mode not in ("reduced", "complete", "r"):
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), "
                           "'r', or 'complete'")
    return return_types.linalg_qr(*Qr.apply(A, mode))


# -- eigh and SVD ------------------------------------------------------------------------------

class Eigh(Function):
    _backward_name = "LinalgEighBackward0"

    @staticmethod
    @quietly
    def forward(ctx, A, uplo, vectors):
        w, v = np.linalg.eigh(A._data, UPLO=uplo)
        Lt, Vt = wrap(w), wrap(v)
        ctx.vectors, ctx.uplo = vectors, uplo
        if not vectors:  # the eigenvectors the gradient needs are recomputed from A, so they join a graph
            ctx.save_for_backward(A)
            return Lt
        ctx.save_for_backward(Lt, Vt)
        return Lt, Vt

    @staticmethod
    def backward(ctx, gL, gV=None):
        if not ctx.vectors:
            L, V = Eigh.apply(ctx.saved_tensors[0], ctx.uplo, True)
        else:
            L, V = ctx.saved_tensors
        if gV is None:
            gA = _diag_embed(gL)
        else:
            VhgV = V.mT @ gV
            VhgV = 0.5 * (VhgV - VhgV.mT)
            E = L.unsqueeze(-2) - L.unsqueeze(-1) + _eye_like(L, L._data.shape[-1])
            gA = VhgV / E + _diag_embed(gL)
        return V @ gA @ V.mT, None, None


def eigh(A: Tensor, UPLO: str = "L"):
    """The eigenvalues (ascending) and eigenvectors of a symmetric matrix."""
    from .. import return_types
    _square_check(A, "eigh")
    _uplo_check(UPLO)
    return return_types.linalg_eigh(*Eigh.apply(A, UPLO, True))


def eigvalsh(A: Tensor, UPLO: str = "L") -> Tensor:
    """The eigenvalues (ascending) of a symmetric matrix."""
    _square_check(A, "eigvalsh")
    _uplo_check(UPLO)
    return Eigh.apply(A, UPLO, False)


def _uplo_check(uplo) -> None:
    if uplo not in ("L", "U", "l", "u"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {uplo}")


class Svd(Function):
    """``A = U diag(S) Vh``; ``vectors=False`` is ``svdvals`` (same node, only S returned)."""

    _backward_name = "LinalgSvdBackward0"

    @staticmethod
    @quietly
    def forward(ctx, A, full_matrices, vectors):
        a = A._data
        u, s, vh = np.linalg.svd(a, full_matrices=full_matrices)
        U, S, Vh = wrap(u), wrap(s.astype(a.dtype, copy=False)), wrap(vh)
        ctx.full, ctx.vectors = full_matrices, vectors
        if not vectors:  # as in Eigh: the singular vectors are recomputed, attached to the graph
            ctx.save_for_backward(A)
            return S
        ctx.save_for_backward(U, S, Vh)
        return U, S, Vh

    @staticmethod
    def backward(ctx, *grads):
        if ctx.vectors:
            U, S, Vh = ctx.saved_tensors
        else:
            U, S, Vh = Svd.apply(ctx.saved_tensors[0], False, True)
        if ctx.vectors:
            gU, gS, gVh = grads
        else:
            gU, gS, gVh = None, grads[0], None
        m, n = U._data.shape[-2], Vh._data.shape[-1]
        k = S._data.shape[-1]
        if ctx.full and ctx.vectors and m != n:
            raise NotImplementedError("svd_backward: Setting full_matrices=True in backward is not supported. "
                                      "Please use torch.linalg.svd(A, full_matrices=False)`.")
        if gU is None and gVh is None:
            return ((U * gS.unsqueeze(-2)) @ Vh if m >= n else U @ (gS.unsqueeze(-1) * Vh)), None, None
        UhgU = U.mT @ gU
        UhgU = UhgU - UhgU.mT
        VhgV = Vh @ gVh.mT
        VhgV = VhgV - VhgV.mT
        S2 = S * S
        E = S2.unsqueeze(-2) - S2.unsqueeze(-1) + _eye_like(S, k)
        gA = (UhgU * S.unsqueeze(-2) + S.unsqueeze(-1) * VhgV) / E + _diag_embed(gS)
        if m > n:
            gA = U @ gA
            gUSinv = gU / S.unsqueeze(-2)
            gA = (gA + gUSinv - U @ (U.mT @ gUSinv)) @ Vh
        elif m < n:
            gA = gA @ Vh
            SinvgVh = gVh / S.unsqueeze(-1)
            gA = U @ (gA + SinvgVh - (SinvgVh @ Vh.mT) @ Vh)
        else:
            gA = U @ gA @ Vh
        return gA, None, None


def svd(A: Tensor, full_matrices: bool = True, *, driver=None):
    """The singular value decomposition U, S, Vh."""
    from .. import return_types
    _matrix_check(A, "svd")
    return return_types.linalg_svd(*Svd.apply(A, full_matrices, True))


def svdvals(A: Tensor, *, driver=None) -> Tensor:
    """The singular values, descending."""
    _matrix_check(A, "svd")
    return Svd.apply(A, False, False)


def torch_svd(A: Tensor, some: bool = True, compute_uv: bool = True):
    """``torch.svd``: ``U, S, V`` (V, not Vh); without ``compute_uv`` U and V are zeros."""
    from .. import return_types
    _matrix_check(A, "svd")
    if not compute_uv:
        S = svdvals(A)
        m, n = A._data.shape[-2:]
        dt = A._data.dtype
        batch = A._data.shape[:-2]
        return return_types.svd(wrap(np.zeros(batch + (m, m), dt)), S, wrap(np.zeros(batch + (n, n), dt)))
    U, S, Vh = Svd.apply(A, not some, True)
    return return_types.svd(U, S, Vh.mT)


# -- pseudo-inverse and least squares ----------------------------------------------------------

def _pinv_backward(g: Tensor, pinvA: Tensor, A: Tensor) -> Tensor:
    m, n = A._data.shape[-2:]
    pinvAh, gh = pinvA.mT, g.mT
    if m <= n:
        K = gh @ pinvA
        KpinvAh = K @ pinvAh
        return -(pinvA @ K).mT + KpinvAh - (A @ pinvA) @ KpinvAh + (pinvAh @ pinvA) @ (gh - K @ A)
    K = pinvA @ gh
    pinvAhK = pinvAh @ K
    return -(K @ pinvA).mT + (gh - A @ K) @ pinvA @ pinvAh + pinvAhK - pinvAhK @ pinvA @ A


class Pinv(Function):
    _backward_name = "LinalgPinvBackward0"

    @staticmethod
    @quietly
    def forward(ctx, A, atol, rtol, hermitian):
        a = A._data
        s = np.linalg.svd(a, compute_uv=False) if a.size else np.zeros(a.shape[:-2] + (0,), a.dtype)
        smax = s[..., :1] if s.shape[-1] else np.zeros(a.shape[:-2] + (1,), a.dtype)
        if rtol is None:
            rtol = 0.0 if atol is not None and atol > 0 else np.finfo(a.dtype).eps * max(a.shape[-2:])
        tol = np.maximum(atol or 0.0, rtol * smax)
        u, s, vh = np.linalg.svd(a, full_matrices=False)
        with np.errstate(divide="ignore"):
            sinv = np.where(s > tol, 1.0 / np.where(s == 0, 1, s), 0.0).astype(a.dtype)
        result = wrap(np.matmul(np.swapaxes(vh, -1, -2) * sinv[..., None, :], np.swapaxes(u, -1, -2)))
        ctx.save_for_backward(A, result)
        return result

    @staticmethod
    def backward(ctx, g):
        A, pinvA = ctx.saved_tensors
        return _pinv_backward(g, pinvA, A), None, None, None


def pinv(A: Tensor, *, atol=None, rtol=None, hermitian: bool = False) -> Tensor:
    """The Moore-Penrose pseudo-inverse of a matrix."""
    _matrix_check(A, "pinv")
    return Pinv.apply(A, atol, rtol, hermitian)


class Lstsq(Function):
    _backward_name = "LinalgLstsqBackward0"

    @staticmethod
    @quietly
    def forward(ctx, A, B, vector):
        a2, b2 = _system(A._data, B._data, vector)
        x = np.matmul(np.linalg.pinv(a2), b2)
        ctx.vector, ctx.b_shape = vector, B._data.shape
        result = wrap(x[..., 0] if vector else x)
        ctx.save_for_backward(A, B)
        return result

    @staticmethod
    def backward(ctx, gX):
        A, B = ctx.saved_tensors
        needs = ctx.needs_input_grad
        pinvA = pinv(A)
        if ctx.vector:
            gX, B = gX.unsqueeze(-1), B.unsqueeze(-1)
        gA = gB = None
        if needs[0]:
            gA = _shape.sum_to_size(_pinv_backward(gX @ B.mT, pinvA, A), A._data.shape)
        if needs[1]:
            gB = pinvA.mT @ gX
            gB = _shape.sum_to_size(gB[..., 0] if ctx.vector else gB, ctx.b_shape)
        return gA, gB, None


def lstsq(A: Tensor, B: Tensor, rcond=None, *, driver=None):
    """Least squares by the pseudo-inverse.  As with PyTorch's default CPU driver ('gelsy'),
    ``residuals`` and ``singular_values`` are empty unless ``driver`` is 'gelsd' or 'gelss'."""
    from .. import return_types
    _matrix_check(A, "lstsq")
    if driver not in (None, "gels", "gelsy", "gelsd", "gelss"):
        raise RuntimeError("torch.linalg.lstsq: parameter `driver` should be one of (gels, gelsy, gelsd, gelss)")
    vector = B.ndim == A.ndim - 1
    X = Lstsq.apply(A, B, vector)
    a = A._data
    dt = a.dtype
    s = np.linalg.svd(a, compute_uv=False)
    m, n = a.shape[-2:]
    tol = (rcond if rcond is not None else np.finfo(dt).eps * max(m, n)) * s[..., :1]
    rank = wrap(np.sum(s > tol, axis=-1).astype(np.int64))
    empty = wrap(np.zeros(0, dt))
    residuals, singular_values = empty, empty
    if driver in ("gelsd", "gelss"):
        singular_values = wrap(s.astype(dt))
        if m > n and bool((rank._data == n).all()):
            b = B._data[..., None] if vector else B._data
            r = np.matmul(a, X._data[..., None] if vector else X._data) - b
            residuals = wrap(np.sum(r * r, axis=-2).astype(dt))
    if driver == "gels" and m > n:
        b = B._data[..., None] if vector else B._data
        r = np.matmul(a, X._data[..., None] if vector else X._data) - b
        residuals = wrap(np.sum(r * r, axis=-2).astype(dt))
    return return_types.linalg_lstsq(X, residuals, rank, singular_values)


# -- matrix exponential ------------------------------------------------------------------------

_PADE13 = (64764752532480000., 32382376266240000., 7771770303897600., 1187353796428800., 129060195264000.,
           10559470521600., 670442572800., 33522128640., 1323241920., 40840800., 960960., 16380., 182., 1.)
_THETA13 = 5.371920351148152


def _expm(a: np.ndarray) -> np.ndarray:
    """exp of each matrix: degree-13 Padé approximant with scaling and squaring (Higham 2005),
    computed in float64."""
    x = a.astype(np.float64)
    n = x.shape[-1]
    norm1 = np.abs(x).sum(axis=-2).max(axis=-1) if x.size else np.zeros(x.shape[:-2])
    with np.errstate(divide="ignore"):
        s = np.maximum(0, np.ceil(np.log2(np.where(norm1 > 0, norm1, 1) / _THETA13))).astype(int)
    x = x / (2.0 ** s)[..., None, None]
    b = _PADE13
    ident = np.broadcast_to(np.eye(n), x.shape)
    x2 = x @ x
    x4 = x2 @ x2
    x6 = x4 @ x2
    u = x @ (x6 @ (b[13] * x6 + b[11] * x4 + b[9] * x2) + b[7] * x6 + b[5] * x4 + b[3] * x2 + b[1] * ident)
    v = x6 @ (b[12] * x6 + b[10] * x4 + b[8] * x2) + b[6] * x6 + b[4] * x4 + b[2] * x2 + b[0] * ident
    r = np.linalg.solve(v - u, v + u) if x.size else x.copy()
    flat_r, flat_s = r.reshape(-1, n, n), s.reshape(-1)
    for i, times in enumerate(flat_s):
        for _ in range(times):
            flat_r[i] = flat_r[i] @ flat_r[i]
    return flat_r.reshape(a.shape).astype(a.dtype)


class MatrixExp(Function):
    _backward_name = "LinalgMatrixExpBackward0"

    @staticmethod
    @quietly
    def forward(ctx, A):
        ctx.save_for_backward(A)
        return wrap(_expm(A._data))

    @staticmethod
    def backward(ctx, g):
        # The gradient is the upper-right block of exp([[Aᵀ, g], [0, Aᵀ]]) (Mathias 1996).
        (A,) = ctx.saved_tensors
        n = A._data.shape[-1]
        At = A.mT
        zeros = wrap(np.zeros(A._data.shape, A._data.dtype))
        big = _shape.cat([_shape.cat([At, g], -1), _shape.cat([zeros, At], -1)], -2)
        return MatrixExp.apply(big)[..., :n, n:]


def matrix_exp(A: Tensor) -> Tensor:
    """The matrix exponential of a square matrix (or batch)."""
    _square_check(A, "matrix_exp")
    return MatrixExp.apply(A)


# -- cdist -------------------------------------------------------------------------------------

class Cdist(Function):
    _backward_name = "CdistBackward0"

    @staticmethod
    @quietly
    def forward(ctx, x1, x2, p):
        diff = x1._data[..., :, None, :] - x2._data[..., None, :, :]
        a = np.abs(diff)
        if p == 0:
            d = np.sum(a != 0, axis=-1).astype(diff.dtype)
        elif p == float("inf"):
            d = np.max(a, axis=-1) if a.shape[-1] else np.zeros(a.shape[:-1], a.dtype)
        elif p == 1:
            d = np.sum(a, axis=-1)
        elif p == 2:
            d = np.sqrt(np.sum(a * a, axis=-1))
        else:
            d = np.power(np.sum(np.power(a, p), axis=-1), 1.0 / p)
        result = wrap(np.asarray(d, diff.dtype))
        ctx.p = p
        ctx.save_for_backward(x1, x2, result)
        return result

    @staticmethod
    def backward(ctx, g):
        from .optable import where
        x1, x2, D = ctx.saved_tensors
        p = ctx.p
        diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)
        Dk = D.unsqueeze(-1)
        if p == 0:
            w = diff * 0
        elif p == 1:
            w = diff.sign()
        elif p == float("inf"):
            hit = (diff.abs() == Dk).to(diff.dtype)
            w = diff.sign() * hit / hit.sum(-1, keepdim=True)
        elif p == 2:
            w = where(Dk == 0, 0.0, diff / Dk)
        else:
            w = where(Dk == 0, 0.0, diff.sign() * diff.abs() ** (p - 1) / Dk ** (p - 1))
        gw = g.unsqueeze(-1) * w
        needs = ctx.needs_input_grad
        g1 = _shape.sum_to_size(gw.sum(-2), x1._data.shape) if needs[0] else None
        g2 = _shape.sum_to_size(-gw.sum(-3), x2._data.shape) if needs[1] else None
        return g1, g2, None


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0, compute_mode=None) -> Tensor:
    """The ``p``-norm distance between each pair of rows of two (batches of) matrices."""
    if x1.ndim < 2 or x2.ndim < 2:
        raise RuntimeError(f"cdist only supports at least 2D tensors, X1 got: {x1.ndim}D")
    if x1._data.shape[-1] != x2._data.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: {x1._data.shape[-1]} "
                           f"X2: {x2._data.shape[-1]}")
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    if not (x1.dtype.is_floating_point and x2.dtype.is_floating_point):
        raise RuntimeError(f"cdist only supports floating-point dtypes, X1 got: {x1.dtype._tensor_type[:-6]}")
    return Cdist.apply(x1, x2, float(p))


# -- norms -------------------------------------------------------------------------------------

def vector_norm(x: Tensor, ord=2, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:  # noqa: A002
    """The ``ord``-norm of the elements (along ``dim``), as a vector norm."""
    from .reduce import vector_norm as _vector_norm
    return _vector_norm(x, ord, dim, keepdim, dtype=dtype)


def dist(a: Tensor, b: Tensor, p: float = 2) -> Tensor:
    """``torch.dist``: the p-norm of ``a - b`` (broadcast), recorded as one ``DistBackward0`` node."""
    from .optable import DIST
    diff = a - b
    return DIST.fn.apply(diff, float(p), tuple(range(diff.ndim)), False)


def matrix_norm(A: Tensor, ord="fro", dim=(-2, -1), keepdim: bool = False, *, dtype=None) -> Tensor:  # noqa: A002
    """A matrix norm ('fro', 'nuc', 1, -1, 2, -2, inf, -inf) over two dimensions."""
    from ._util import normalize_dim
    if dtype is not None:
        A = A.to(dtype)
    _matrix_check(A, "matrix_norm")
    d0, d1 = (normalize_dim(d, A.ndim) for d in dim)
    if d0 == d1:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got ({dim[0]}, {dim[1]})")
    if ord == "fro":
        return vector_norm(A, 2, (d0, d1), keepdim)
    if ord == "nuc" or ord in (2, -2):
        moved = _shape.movedim(A, (d0, d1), (-2, -1))
        s = svdvals(moved)
        out = s.sum(-1) if ord == "nuc" else (s.amax(-1) if ord == 2 else s.amin(-1))
        if keepdim:
            out = out.unsqueeze(min(d0, d1)).unsqueeze(max(d0, d1))
        return out
    if ord in (1, -1, float("inf"), float("-inf")):
        sum_dim, max_dim = (d0, d1) if ord in (1, -1) else (d1, d0)
        sums = A.abs().sum(sum_dim, keepdim=keepdim)
        if not keepdim and sum_dim < max_dim:
            max_dim -= 1
        return sums.amax(max_dim, keepdim=keepdim) if ord > 0 else sums.amin(max_dim, keepdim=keepdim)
    raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")


def norm(A: Tensor, ord=None, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:  # noqa: A002
    """A vector or matrix norm, by the dimensions and ``ord`` given."""
    if dim is not None and not isinstance(dim, (tuple, list)):
        dim = (dim,)
    if ord is None:
        return vector_norm(A, 2, dim, keepdim, dtype=dtype)
    if isinstance(ord, str) or (dim is not None and len(dim) == 2) or (dim is None and A.ndim == 2):
        if dim is None and A.ndim != 2:
            raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. "
                               f"Got {A.ndim}D.")
        return matrix_norm(A, ord, tuple(dim) if dim is not None else (-2, -1), keepdim, dtype=dtype)
    if dim is None and A.ndim != 1:
        raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. "
                           f"Got {A.ndim}D.")
    return vector_norm(A, ord, dim, keepdim, dtype=dtype)


def cross(a: Tensor, b: Tensor, *, dim: int = -1) -> Tensor:
    """The cross product of 3-vectors along ``dim``."""
    from .linalg import cross as _cross
    return _cross(a, b, dim)


def matrix_power(A: Tensor, n: int) -> Tensor:
    """A square matrix to the integer power ``n`` (negative powers invert)."""
    _square_check(A, "matrix_power")
    if n < 0:
        return matrix_power(inv(A), -n)
    if n == 0:
        return wrap(np.broadcast_to(np.eye(A._data.shape[-1], dtype=A._data.dtype), A._data.shape).copy())
    result = None
    base = A
    while n:
        if n & 1:
            result = base if result is None else result @ base
        n >>= 1
        if n:
            base = base @ base
    return result


def vecdot(x: Tensor, y: Tensor, *, dim: int = -1) -> Tensor:
    """The dot product of vectors along ``dim``."""
    return (x * y).sum(dim)


def multi_dot(tensors) -> Tensor:
    """The product of a list of matrices, in the cheapest order."""
    result = tensors[0]
    for t in tensors[1:]:
        result = result @ t
    return result


def matrix_rank(A: Tensor, *, atol=None, rtol=None, hermitian: bool = False, tol=None) -> Tensor:
    """The number of singular values above the tolerance."""
    s = np.linalg.svd(A._data, compute_uv=False)
    m, n = A._data.shape[-2:]
    if tol is not None:
        atol, rtol = tol, 0.0
    if rtol is None:
        rtol = 0.0 if atol is not None and atol > 0 else np.finfo(A._data.dtype).eps * max(m, n)
    smax = s[..., :1] if s.shape[-1] else np.zeros(s.shape[:-1] + (1,))
    return wrap(np.sum(s > np.maximum(atol or 0.0, rtol * smax), axis=-1).astype(np.int64))
