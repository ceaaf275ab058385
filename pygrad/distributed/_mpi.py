"""MPI through ``mpi4py``: importing it, and how pygrad's dtypes and reduce ops map onto MPI's.

MPI has no half-precision type everywhere and no arithmetic on ``bool``: float16 travels as
16-bit words reduced by user-defined MPI ops that call NumPy on the received buffers, and bool
reductions are the logical ones (SUM/MAX are OR, PRODUCT/MIN are AND), as PyTorch's NCCL backend
does for bool.
"""
from __future__ import annotations

import enum
import importlib.util
import os
import shutil
import sysconfig

import numpy as np

INSTALL_HINT = ('pygrad.distributed needs MPI through mpi4py: pip install "pygrad[distributed]" '
                '(or: pip install mpi4py mpich)')

MPI = None  # mpi4py's MPI module once loaded: importing it starts MPI, so init_process_group does


def available() -> bool:
    return importlib.util.find_spec("mpi4py") is not None


# Where MPI launchers tell a process its rank, the world size and its rank on its machine.
LAUNCHER_ENV = {"RANK": ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK"),
                "WORLD_SIZE": ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE"),
                "LOCAL_RANK": ("MPI_LOCALRANKID", "OMPI_COMM_WORLD_LOCAL_RANK"),
                "LOCAL_WORLD_SIZE": ("MPI_LOCALNRANKS", "OMPI_COMM_WORLD_LOCAL_SIZE")}


def launcher_rank() -> int:
    """This process's rank as the launcher set it (0 when not started by one), before MPI starts."""
    for name in ("RANK", *LAUNCHER_ENV["RANK"]):
        if os.environ.get(name, "").isdigit():
            return int(os.environ[name])
    return 0


def find_mpiexec() -> str | None:
    """The ``mpiexec`` installed with this Python's packages (the mpich wheel's), else the one on PATH."""
    beside = os.path.join(sysconfig.get_path("scripts"), "mpiexec")
    if os.access(beside, os.X_OK):
        return beside
    return shutil.which("mpiexec")


def load():
    """Import ``mpi4py.MPI`` (which initializes MPI), with a clear error when it cannot be had."""
    global MPI
    if MPI is None:
        if not available():
            raise RuntimeError(INSTALL_HINT)
        try:
            from mpi4py import MPI as loaded
        except (ImportError, RuntimeError) as exc:  # mpi4py without an MPI library it can load
            raise RuntimeError(f"{INSTALL_HINT}; importing mpi4py.MPI failed: {exc}") from exc
        MPI = loaded
    return MPI


class RedOpType(enum.Enum):
    SUM = 0
    AVG = 1
    PRODUCT = 2
    MIN = 3
    MAX = 4
    BAND = 5
    BOR = 6
    BXOR = 7
    PREMUL_SUM = 8


class ReduceOp:
    """PyTorch's ``ReduceOp``: ``ReduceOp.SUM`` is ``RedOpType.SUM``."""

    RedOpType = RedOpType
    SUM, AVG, PRODUCT, MIN, MAX = (RedOpType.SUM, RedOpType.AVG, RedOpType.PRODUCT, RedOpType.MIN,
                                   RedOpType.MAX)
    BAND, BOR, BXOR, PREMUL_SUM = RedOpType.BAND, RedOpType.BOR, RedOpType.BXOR, RedOpType.PREMUL_SUM


_NUMPY_REDUCE = {ReduceOp.SUM: np.add, ReduceOp.AVG: np.add, ReduceOp.PRODUCT: np.multiply,
                 ReduceOp.MIN: np.minimum, ReduceOp.MAX: np.maximum}
_LOGICAL = {ReduceOp.SUM: "LOR", ReduceOp.MAX: "LOR", ReduceOp.BOR: "LOR",
            ReduceOp.PRODUCT: "LAND", ReduceOp.MIN: "LAND", ReduceOp.BAND: "LAND", ReduceOp.BXOR: "LXOR"}
_BUILTIN = {ReduceOp.SUM: "SUM", ReduceOp.AVG: "SUM", ReduceOp.PRODUCT: "PROD", ReduceOp.MIN: "MIN",
            ReduceOp.MAX: "MAX", ReduceOp.BAND: "BAND", ReduceOp.BOR: "BOR", ReduceOp.BXOR: "BXOR"}
_MPI_TYPE_NAMES = {np.dtype(np.float32): "FLOAT", np.dtype(np.float64): "DOUBLE",
                   np.dtype(np.float16): "UINT16_T", np.dtype(np.bool_): "C_BOOL",
                   np.dtype(np.uint8): "UINT8_T", np.dtype(np.int8): "INT8_T", np.dtype(np.int16): "INT16_T",
                   np.dtype(np.int32): "INT32_T", np.dtype(np.int64): "INT64_T"}
_half_ops: dict = {}


def datatype(dtype: np.dtype):
    """The MPI datatype that carries elements of ``dtype`` (float16 as 16-bit words)."""
    return getattr(MPI, _MPI_TYPE_NAMES[dtype])


def mpi_op(op, dtype: np.dtype):
    """The MPI op computing ``op`` on ``dtype``, with PyTorch's errors for combinations it refuses."""
    if not isinstance(op, RedOpType):
        raise ValueError(f"Invalid reduce op: {op!r}; use a member of pygrad.distributed.ReduceOp")
    if op is ReduceOp.PREMUL_SUM:
        raise ValueError("ReduceOp.PREMUL_SUM is not supported by the MPI backend")
    if dtype == np.bool_:
        if op is ReduceOp.AVG:
            raise ValueError("ReduceOp.AVG is not supported for bool tensors")
        return getattr(MPI, _LOGICAL[op])
    if op in (ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR) and dtype.kind == "f":
        raise ValueError(f"Cannot use {op} with a floating point tensor ({dtype})")
    if dtype == np.float16:
        return _half_op(op)
    return getattr(MPI, _BUILTIN[op])


def _half_op(op):
    if op not in _half_ops:
        ufunc = _NUMPY_REDUCE[op]

        def reduce_half(inbuf, inoutbuf, _datatype):
            inout = np.frombuffer(inoutbuf, np.float16)
            ufunc(np.frombuffer(inbuf, np.float16), inout, out=inout)
        _half_ops[op] = MPI.Op.Create(reduce_half, commute=True)
    return _half_ops[op]


def free_ops() -> None:
    """Release the user-defined ops (before MPI is finalized)."""
    for op in _half_ops.values():
        op.Free()
    _half_ops.clear()
