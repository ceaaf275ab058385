"""The default process group over MPI and PyTorch's collectives on it.

Every collective is started as MPI's non-blocking operation and returns a ``Work``; the blocking
form waits for it.  Waiting polls the requests and sleeps a little between polls, so a rank that
waits leaves the CPU to the others (several ranks share a machine's cores), and gives up with a
clear error when the process group's timeout passes (a rank died or skipped the collective).

Tensors are passed to MPI as the memory of their NumPy arrays: a C-contiguous tensor is sent,
received and reduced in place; any other layout goes through one contiguous copy.
"""
from __future__ import annotations

import datetime
import os
import sys
import time

import numpy as np

from . import _mpi
from ._mpi import ReduceOp

__all__ = ["Backend", "DistBackendError", "GroupMember", "ReduceOp", "Work", "all_gather",
           "all_gather_into_tensor", "all_reduce", "barrier", "broadcast", "destroy_process_group",
           "gather", "get_backend", "get_rank", "get_world_size", "group", "init_process_group", "irecv",
           "is_available", "is_initialized", "is_mpi_available", "isend", "recv", "reduce", "reduce_scatter",
           "reduce_scatter_tensor", "scatter", "send"]

NOT_INITIALIZED = "Default process group has not been initialized, please make sure to call init_process_group."
default_pg_timeout = datetime.timedelta(minutes=30)


class DistBackendError(RuntimeError):
    """A collective failed or did not complete in time (PyTorch's ``DistBackendError``)."""

    __module__ = "pygrad.distributed"


class Backend(str):
    """The names of the backends (``Backend.MPI == 'mpi'``)."""
    MPI = "mpi"

    def __new__(cls, name: str):
        return str.__new__(cls, name.lower())


class GroupMember:
    """``group.WORLD``: the default group, the only one pygrad's MPI backend has."""

    WORLD = object()


group = GroupMember


class _ProcessGroup:
    def __init__(self, comm, timeout: datetime.timedelta):
        self.comm = comm
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()
        self.timeout = timeout.total_seconds()
        self.previous_excepthook = None
        self._progress = None

    @property
    def progress(self) -> "ProgressThread":
        if self._progress is None:
            self._progress = ProgressThread(self.comm)
        return self._progress


_pg: _ProcessGroup | None = None


def is_available() -> bool:
    """True when ``mpi4py`` is installed (``pip install "pygrad[distributed]"``)."""
    return _mpi.available()


def is_mpi_available() -> bool:
    """Whether mpi4py and an MPI library can be loaded."""
    return _mpi.available()


def is_initialized() -> bool:
    """Whether ``init_process_group`` was called."""
    return _pg is not None


def _env_int(name: str):
    value = os.environ.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"Error initializing pygrad.distributed: environment variable {name} "
                         f"should be an integer, got {value!r}") from None


def init_process_group(backend: str | None = None, init_method: str | None = None,
                       timeout: datetime.timedelta | None = None, world_size: int = -1, rank: int = -1,
                       store=None, group_name: str = "", pg_options=None, device_id=None) -> None:
    """Join the default process group: every process MPI started (``mpiexec -n N``).

    Rank and world size come from MPI.  Where ``RANK``/``WORLD_SIZE`` are set in the environment
    (as torchrun and ``pygrad.distributed.run`` do) or passed, they must agree with MPI's.
    ``timeout`` bounds every wait for a collective (default 30 minutes, as PyTorch).
    """
    global _pg
    if _pg is not None:
        raise ValueError("trying to initialize the default process group twice!")
    if backend is not None and str(backend).lower() != Backend.MPI:
        raise ValueError(f"pygrad.distributed runs on MPI: use backend='mpi' (got backend={backend!r})")
    if store is not None:
        raise ValueError("the MPI backend finds its peers through MPI; a store is not used")
    MPI = _mpi.load()
    pg = _ProcessGroup(MPI.COMM_WORLD, timeout if timeout is not None else default_pg_timeout)
    for what, given in (("rank", rank), ("world_size", world_size)):
        have = pg.rank if what == "rank" else pg.size
        env = _env_int(what.upper())
        if given not in (-1, None) and given != have:
            raise ValueError(f"init_process_group({what}={given}) does not match MPI, which started this "
                             f"process with {what} {have}; leave {what} out with backend='mpi'")
        if env is not None and env != have:
            raise ValueError(f"environment variable {what.upper()}={env} does not match MPI, which started "
                             f"this process with {what} {have}; launch with mpiexec or "
                             "python -m pygrad.distributed.run")
    _pg = pg
    if pg.size > 1:
        pg.previous_excepthook = sys.excepthook
        sys.excepthook = _abort_on_uncaught


def _abort_on_uncaught(exc_type, exc, tb) -> None:
    """An uncaught exception on one rank stops every rank: the others would otherwise wait for
    it in their next collective until the timeout."""
    pg = _pg
    (pg.previous_excepthook if pg else sys.__excepthook__)(exc_type, exc, tb)
    if pg is not None and not issubclass(exc_type, KeyboardInterrupt):
        print(f"pygrad.distributed: rank {pg.rank} of {pg.size} failed with {exc_type.__name__} (above); "
              "stopping all ranks", file=sys.stderr, flush=True)
        # mpiexec forwards each rank's output through a pipe; aborting at once can kill the
        # forwarder before it has passed on the traceback above.
        time.sleep(0.5)
        pg.comm.Abort(1)


def destroy_process_group(group=None) -> None:
    """Leave the default process group."""
    global _pg
    pg = _default_group(group)
    if pg._progress is not None:
        pg._progress.stop()
    if pg.previous_excepthook is not None and sys.excepthook is _abort_on_uncaught:
        sys.excepthook = pg.previous_excepthook
    _mpi.free_ops()
    _pg = None


def _default_group(group=None) -> _ProcessGroup:
    if _pg is None:
        raise ValueError(NOT_INITIALIZED)
    if group is not None and group is not GroupMember.WORLD:
        raise ValueError("pygrad.distributed has one process group, the default one: pass group=None")
    return _pg


def get_rank(group=None) -> int:
    """This process's rank in the group."""
    return _default_group(group).rank


def get_world_size(group=None) -> int:
    """The number of processes in the group."""
    return _default_group(group).size


def get_backend(group=None) -> str:
    """The backend name of the group (``'mpi'``)."""
    _default_group(group)
    return Backend.MPI


# -- work handles ---------------------------------------------------------------------------------
class Work:
    """A started collective: ``wait()`` blocks until it is complete and its results are in place."""

    def __init__(self, name: str, requests: list, finish=None, result=(), statuses=None):
        self._name = name
        self._rank, self._timeout = _pg.rank, _pg.timeout
        self._requests = requests
        self._finish = finish
        self._result = list(result)
        self._statuses = statuses
        self._done = False

    def is_completed(self) -> bool:
        """Whether the non-blocking operation has finished."""
        if not self._done and _mpi.MPI.Request.Testall(self._requests, self._statuses):
            self._complete()
        return self._done

    def is_success(self) -> bool:
        """Whether the operation finished without error."""
        return self.is_completed()

    def wait(self, timeout: datetime.timedelta | None = None) -> bool:
        """Wait until the non-blocking operation has finished."""
        if self._done:
            return True
        limit = self._timeout if timeout is None else timeout.total_seconds()
        deadline = time.monotonic() + limit
        pause = 0.0
        requests, statuses = self._requests, self._statuses
        test = _mpi.MPI.Request.Testall
        while not test(requests, statuses):
            if time.monotonic() > deadline:
                raise DistBackendError(
                    f"pygrad.distributed: {self._name} on rank {self._rank} did not complete within "
                    f"{datetime.timedelta(seconds=limit)}: another rank failed, exited or did not call "
                    f"{self._name} the same way")
            time.sleep(pause)
            pause = min(pause * 2 or 1e-5, 1e-3)
        self._complete()
        return True

    def _complete(self) -> None:
        self._done = True
        if self._finish is not None:
            self._finish()

    def result(self) -> list:
        """The tensors the operation produced."""
        self.wait()
        return self._result

    def _source_rank(self) -> int:
        self.wait()
        return self._statuses[0].Get_source()


class ProgressThread:
    """Moves non-blocking collectives forward while the calling thread computes.

    MPI advances a non-blocking operation only inside MPI calls; between ``start()`` and ``stop()``
    a background thread makes such a call (a probe for a message nobody sends) every ``interval``
    seconds, so an all-reduce started during backward progresses while NumPy, which releases the
    GIL, computes.  Used only where MPI allows calls from several threads.
    """

    def __init__(self, comm, interval: float = 5e-4):
        import threading
        self._comm = comm
        self._interval = interval
        self._wake = threading.Event()
        self._running = False
        self._thread = threading.Thread(target=self._loop, name="pygrad-mpi-progress", daemon=True)
        self.enabled = _mpi.MPI.Query_thread() == _mpi.MPI.THREAD_MULTIPLE
        if self.enabled:
            self._thread.start()

    def start(self) -> None:
        if self.enabled and not self._running:
            self._running = True
            self._wake.set()

    def stop(self) -> None:
        self._running = False
        self._wake.clear()

    def _loop(self) -> None:
        probe, any_source, sleep = self._comm.Iprobe, _mpi.MPI.ANY_SOURCE, time.sleep
        while True:
            self._wake.wait()
            while self._running:
                probe(any_source, _PROGRESS_TAG)
                sleep(self._interval)


_PROGRESS_TAG = 32000  # never sent: probing for it only lets MPI progress


def _start(work: Work, async_op: bool):
    if async_op:
        return work
    work.wait()
    return None


# -- buffers --------------------------------------------------------------------------------------
def _check_tensor(tensor, name: str = "tensor") -> None:
    from ..tensor import Tensor
    if not isinstance(tensor, Tensor):
        raise TypeError(f"Invalid function argument. Expected parameter `{name}` of type torch.Tensor\n"
                        f"             but got {type(tensor)} instead.")


def _check_list(tensors, name: str, size: int, like) -> None:
    if not isinstance(tensors, (list, tuple)) or len(tensors) != size:
        raise ValueError(f"{name} must be a list of {size} tensors (one per rank), got "
                         f"{len(tensors) if isinstance(tensors, (list, tuple)) else type(tensors).__name__}")
    for t in tensors:
        _check_tensor(t, name)
        if t._data.dtype != like._data.dtype or t._data.shape != like._data.shape:
            raise ValueError(f"every tensor in {name} must have the dtype and shape of the input "
                             f"({like.dtype}, {list(like._data.shape)}), got ({t.dtype}, {list(t._data.shape)})")


def _check_rank(rank, what: str, pg: _ProcessGroup) -> int:
    if isinstance(rank, bool) or not isinstance(rank, int) or not 0 <= rank < pg.size:
        raise ValueError(f"Invalid {what} rank {rank!r}: should be an int in [0, {pg.size - 1}]")
    return rank


def _either(rank, group_rank, what: str):
    if rank is not None and group_rank is not None and rank != group_rank:
        raise ValueError(f"Can not specify both {what} and group_{what} with different values")
    if rank is None and group_rank is None:
        raise ValueError(f"Either {what} or group_{what} must be set")
    return rank if rank is not None else group_rank


class _Memory:
    """A tensor's elements as one contiguous MPI buffer: its own array when C-contiguous,
    else a copy that ``write_back`` returns into the tensor."""

    def __init__(self, tensor, *, read: bool = True):
        self.tensor = tensor
        data = tensor._data
        self.copied = not data.flags.c_contiguous
        self.array = (np.ascontiguousarray(data) if read else np.empty(data.shape, data.dtype)) \
            if self.copied else data
        self.spec = [self.array, _mpi.datatype(data.dtype)]

    def write_back(self) -> None:
        if self.copied:
            np.copyto(self.tensor._data, self.array)
        self.tensor._version.value += 1


def _stacked(tensors, like) -> np.ndarray:
    """The tensors one after the other in one C-contiguous array (a copy)."""
    out = np.empty((len(tensors),) + like._data.shape, like._data.dtype)
    for block, t in zip(out, tensors):
        np.copyto(block, t._data)
    return out


def _spec(array: np.ndarray) -> list:
    return [array, _mpi.datatype(array.dtype)]


def _average(array: np.ndarray, size: int) -> None:
    """``ReduceOp.AVG`` after the sum: true division for floating point, truncating for integers."""
    if array.dtype.kind == "f":
        np.divide(array, array.dtype.type(size), out=array)
    else:
        quotient = np.abs(array) // size
        np.copyto(array, np.where(array < 0, -quotient, quotient))


def _after(*steps):
    def finish():
        for step in steps:
            step()
    return finish


# -- collectives ----------------------------------------------------------------------------------
def barrier(group=None, async_op: bool = False, device_ids=None):
    """Wait until every process of the group reaches this call."""
    pg = _default_group(group)
    return _start(Work("barrier", [pg.comm.Ibarrier()]), async_op)


def broadcast(tensor, src: int | None = None, group=None, async_op: bool = False, group_src: int | None = None):
    """Copy ``tensor`` of rank ``src`` into ``tensor`` of every rank."""
    pg = _default_group(group)
    _check_tensor(tensor)
    src = _check_rank(_either(src, group_src, "src"), "src", pg)
    mem = _Memory(tensor, read=pg.rank == src)
    request = pg.comm.Ibcast(mem.spec, root=src)
    return _start(Work("broadcast", [request], mem.write_back, [tensor]), async_op)


def all_reduce(tensor, op=ReduceOp.SUM, group=None, async_op: bool = False):
    """Reduce ``tensor`` over all ranks with ``op``; every rank ends with the result, in place."""
    pg = _default_group(group)
    _check_tensor(tensor)
    mem = _Memory(tensor)
    request = pg.comm.Iallreduce(_mpi.MPI.IN_PLACE, mem.spec, _mpi.mpi_op(op, mem.array.dtype))
    steps = [mem.write_back]
    if op is ReduceOp.AVG:
        steps.insert(0, lambda: _average(mem.array, pg.size))
    return _start(Work("all_reduce", [request], _after(*steps), [tensor]), async_op)


def reduce(tensor, dst: int | None = None, op=ReduceOp.SUM, group=None, async_op: bool = False,
           group_dst: int | None = None):
    """Reduce ``tensor`` over all ranks into ``tensor`` of rank ``dst`` (the others keep theirs)."""
    pg = _default_group(group)
    _check_tensor(tensor)
    dst = _check_rank(_either(dst, group_dst, "dst"), "dst", pg)
    mem = _Memory(tensor)
    mpi_op = _mpi.mpi_op(op, mem.array.dtype)
    if pg.rank == dst:
        request = pg.comm.Ireduce(_mpi.MPI.IN_PLACE, mem.spec, mpi_op, root=dst)
        steps = [mem.write_back]
        if op is ReduceOp.AVG:
            steps.insert(0, lambda: _average(mem.array, pg.size))
        finish = _after(*steps)
    else:
        request = pg.comm.Ireduce(mem.spec, None, mpi_op, root=dst)
        finish = None
    return _start(Work("reduce", [request], finish, [tensor]), async_op)


def all_gather(tensor_list, tensor, group=None, async_op: bool = False):
    """``tensor_list[i]`` of every rank receives ``tensor`` of rank ``i``."""
    pg = _default_group(group)
    _check_tensor(tensor)
    _check_list(tensor_list, "tensor_list", pg.size, tensor)
    received = np.empty((pg.size,) + tensor._data.shape, tensor._data.dtype)
    request = pg.comm.Iallgather(_Memory(tensor).spec, _spec(received))

    def finish():
        for out, part in zip(tensor_list, received):
            np.copyto(out._data, part)
            out._version.value += 1
    return _start(Work("all_gather", [request], finish, tensor_list), async_op)


def all_gather_into_tensor(output_tensor, input_tensor, group=None, async_op: bool = False):
    """Rank ``i``'s ``input_tensor`` lands in block ``i`` of ``output_tensor`` (concatenated along
    dimension 0, or stacked as ``(world_size, *input.shape)``)."""
    pg = _default_group(group)
    _check_tensor(output_tensor, "output_tensor")
    _check_tensor(input_tensor, "input_tensor")
    _check_sizes(output_tensor, input_tensor, pg, "all_gather_into_tensor", "output", "input")
    out = _Memory(output_tensor, read=False)
    request = pg.comm.Iallgather(_Memory(input_tensor).spec, out.spec)
    return _start(Work("all_gather_into_tensor", [request], out.write_back, [output_tensor]), async_op)


def _check_sizes(big, small, pg, name: str, big_name: str, small_name: str) -> None:
    if big._data.dtype != small._data.dtype:
        raise ValueError(f"{name}: {big_name} and {small_name} must have the same dtype, got "
                         f"{big.dtype} and {small.dtype}")
    if big._data.size != pg.size * small._data.size:
        raise ValueError(f"{name}: {big_name} must have world_size ({pg.size}) times the elements of "
                         f"{small_name}: got {big._data.size} and {small._data.size}")


def gather(tensor, gather_list=None, dst: int | None = None, group=None, async_op: bool = False,
           group_dst: int | None = None):
    """``gather_list[i]`` of rank ``dst`` receives ``tensor`` of rank ``i``."""
    pg = _default_group(group)
    _check_tensor(tensor)
    dst = _check_rank(_either(0 if dst is None and group_dst is None else dst, group_dst, "dst"), "dst", pg)
    sent = _Memory(tensor).spec
    if pg.rank != dst:
        if gather_list:
            raise ValueError("Argument ``gather_list`` must NOT be specified on non-destination ranks.")
        return _start(Work("gather", [pg.comm.Igather(sent, None, root=dst)]), async_op)
    _check_list(gather_list, "gather_list", pg.size, tensor)
    received = np.empty((pg.size,) + tensor._data.shape, tensor._data.dtype)
    request = pg.comm.Igather(sent, _spec(received), root=dst)

    def finish():
        for out, part in zip(gather_list, received):
            np.copyto(out._data, part)
            out._version.value += 1
    return _start(Work("gather", [request], finish, gather_list), async_op)


def scatter(tensor, scatter_list=None, src: int | None = None, group=None, async_op: bool = False,
            group_src: int | None = None):
    """``tensor`` of rank ``i`` receives ``scatter_list[i]`` of rank ``src``."""
    pg = _default_group(group)
    _check_tensor(tensor)
    src = _check_rank(_either(0 if src is None and group_src is None else src, group_src, "src"), "src", pg)
    out = _Memory(tensor, read=False)
    if pg.rank == src:
        _check_list(scatter_list, "scatter_list", pg.size, tensor)
        request = pg.comm.Iscatter(_spec(_stacked(scatter_list, tensor)), out.spec, root=src)
    else:
        if scatter_list:
            raise ValueError("Argument ``scatter_list`` must NOT be specified on non-source ranks.")
        request = pg.comm.Iscatter(None, out.spec, root=src)
    return _start(Work("scatter", [request], out.write_back, [tensor]), async_op)


def reduce_scatter(output, input_list, op=ReduceOp.SUM, group=None, async_op: bool = False):
    """Reduce ``input_list[i]`` over all ranks with ``op`` into ``output`` of rank ``i``."""
    pg = _default_group(group)
    _check_tensor(output, "output")
    _check_list(input_list, "input_list", pg.size, output)
    return _reduce_scatter(output, _stacked(input_list, output), op, pg, async_op, "reduce_scatter")


def reduce_scatter_tensor(output, input, op=ReduceOp.SUM, group=None, async_op: bool = False):
    """Reduce block ``i`` of ``input`` (split along dimension 0) over all ranks into ``output`` of rank ``i``."""
    pg = _default_group(group)
    _check_tensor(output, "output")
    _check_tensor(input, "input")
    _check_sizes(input, output, pg, "reduce_scatter_tensor", "input", "output")
    return _reduce_scatter(output, _Memory(input).array, op, pg, async_op, "reduce_scatter_tensor")


def _reduce_scatter(output, blocks: np.ndarray, op, pg, async_op: bool, name: str):
    out = _Memory(output, read=False)
    request = pg.comm.Ireduce_scatter_block(_spec(blocks), out.spec, _mpi.mpi_op(op, blocks.dtype))
    steps = [out.write_back]
    if op is ReduceOp.AVG:
        steps.insert(0, lambda: _average(out.array, pg.size))
    return _start(Work(name, [request], _after(*steps), [output]), async_op)


def isend(tensor, dst: int | None = None, group=None, tag: int = 0, group_dst: int | None = None) -> Work:
    """Send ``tensor`` to ``dst`` without waiting; returns a ``Work``."""
    pg = _default_group(group)
    _check_tensor(tensor)
    dst = _check_rank(_either(dst, group_dst, "dst"), "dst", pg)
    if dst == pg.rank:
        raise ValueError("Invalid destination rank: should not be the same as rank of the current process.")
    return Work("send", [pg.comm.Isend(_Memory(tensor).spec, dest=dst, tag=tag)])


def irecv(tensor, src: int | None = None, group=None, tag: int = 0, group_src: int | None = None) -> Work:
    """Receive ``tensor`` from ``src`` without waiting; returns a ``Work``."""
    pg = _default_group(group)
    _check_tensor(tensor)
    source = src if src is not None else group_src
    if source is None:
        source = _mpi.MPI.ANY_SOURCE
    else:
        source = _check_rank(_either(src, group_src, "src"), "src", pg)
        if source == pg.rank:
            raise ValueError("Invalid source rank: should not be the same as rank of the current process.")
    out = _Memory(tensor, read=False)
    request = pg.comm.Irecv(out.spec, source=source, tag=tag)
    return Work("recv", [request], out.write_back, [tensor], statuses=[_mpi.MPI.Status()])


def send(tensor, dst: int | None = None, group=None, tag: int = 0, group_dst: int | None = None) -> None:
    """Send ``tensor`` to process ``dst`` (blocking)."""
    isend(tensor, dst, group, tag, group_dst).wait()


def recv(tensor, src: int | None = None, group=None, tag: int = 0, group_src: int | None = None) -> int:
    """Receive into ``tensor`` from ``src`` (any rank when None); returns the sender's rank."""
    work = irecv(tensor, src, group, tag, group_src)
    return work._source_rank()
