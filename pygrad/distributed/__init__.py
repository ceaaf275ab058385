"""``pygrad.distributed``: PyTorch's ``torch.distributed`` API for CPU tensors, on MPI.

Start the processes with MPI (``mpiexec -n 4 python train.py``, or
``python -m pygrad.distributed.run --nproc-per-node 4 train.py``) and call
``init_process_group(backend="mpi")`` in each.  MPI comes from the optional extra
``pip install "pygrad[distributed]"`` (mpi4py with MPICH); without it this module still imports
and ``is_available()`` is False.
"""
from .distributed_c10d import (Backend, DistBackendError, GroupMember, ReduceOp, Work, all_gather,
                               all_gather_into_tensor, all_reduce, barrier, broadcast, destroy_process_group,
                               gather, get_backend, get_rank, get_world_size, group, init_process_group, irecv,
                               is_available, is_initialized, is_mpi_available, isend, recv, reduce,
                               reduce_scatter, reduce_scatter_tensor, scatter, send)
# As a literal, so that type checkers see the names as exported (distributed_c10d.__all__ lists the same).
__all__ = [
    "Backend", "DistBackendError", "GroupMember", "ReduceOp", "Work", "all_gather",
    "all_gather_into_tensor", "all_reduce", "barrier", "broadcast", "destroy_process_group", "gather",
    "get_backend", "get_rank", "get_world_size", "group", "init_process_group", "irecv", "is_available",
    "is_initialized", "is_mpi_available", "isend", "recv", "reduce", "reduce_scatter",
    "reduce_scatter_tensor", "scatter", "send",
]
