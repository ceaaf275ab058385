"""``DistributedDataParallel``: the same model on every rank, gradients averaged during backward.

Gradients are grouped in buckets of about ``bucket_cap_mb`` (in reverse order of
``parameters()``, roughly the order backward produces them; the first bucket is capped at 1 MB so
that communication starts early).  A post-accumulate-grad hook on each parameter notes when its
gradient is ready; a full bucket is copied into one flat buffer, divided by the world size and
all-reduced with a non-blocking MPI all-reduce while backward goes on (a progress thread of the
process group keeps MPI moving it meanwhile).  Buckets are launched in
index order on every rank (MPI needs the same order of collectives everywhere).  A final callback
of the backward pass waits for the all-reduces and writes the averages into ``.grad`` before
``backward()`` returns.
"""
from __future__ import annotations

import contextlib
import time

import numpy as np

from ... import distributed as dist
from ...autograd import grad_mode
from ...autograd.engine import queue_callback
from ...autograd.function import AccumulateGrad
from ...distributed import distributed_c10d as c10d
from ...tensor import Tensor
from ..modules.module import Module

__all__ = ["DistributedDataParallel"]

FIRST_BUCKET_BYTES = 1024 * 1024  # PyTorch's dist._DEFAULT_FIRST_BUCKET_BYTES

UNFINISHED_REDUCTION = (
    "Expected to have finished reduction in the prior iteration before starting a new one. This error "
    "indicates that your module has parameters that were not used in producing loss. You can enable unused "
    "parameter detection by passing the keyword argument `find_unused_parameters=True` to "
    "`torch.nn.parallel.DistributedDataParallel`, and by \nmaking sure all `forward` function outputs "
    "participate in calculating loss. \nParameter indices which did not receive grad for rank {rank}: {missing}")


class _Bucket:
    def __init__(self, indices: list[int], params: list):
        self.indices = indices
        dtype = params[indices[0]]._data.dtype
        sizes = [params[i]._data.size for i in indices]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.flat = Tensor._wrap(np.zeros(int(self.offsets[-1]), dtype))
        self.pending = 0
        self.work = None


def _assign_buckets(params: list, first_cap_bytes: int, cap_bytes: int) -> list[list[int]]:
    """Parameter indices per bucket, last parameters first, one dtype per bucket."""
    buckets, open_ = [], {}  # dtype -> (indices, bytes)
    for i in reversed(range(len(params))):
        data = params[i]._data
        indices, size = open_.get(data.dtype, ([], 0))
        indices.append(i)
        size += data.nbytes
        limit = first_cap_bytes if not buckets else cap_bytes
        if size >= limit:
            buckets.append(indices)
            open_.pop(data.dtype, None)
        else:
            open_[data.dtype] = (indices, size)
    buckets.extend(indices for indices, _ in open_.values())
    return buckets


class _Reducer:
    """Bucketed gradient all-reduce for one backward pass after another."""

    def __init__(self, params: list, first_cap_bytes: int, cap_bytes: int, pg):
        self.params = params
        self.world_size = pg.size
        self.progress = pg.progress if pg.size > 1 else None
        self.buckets = [_Bucket(indices, params) for indices in _assign_buckets(params, first_cap_bytes, cap_bytes)]
        self.place = {}  # param index -> (bucket, position in bucket)
        for bucket in self.buckets:
            for pos, i in enumerate(bucket.indices):
                self.place[i] = (bucket, pos)
        self.index = {id(p): i for i, p in enumerate(params)}
        self.expect_hooks = False
        self.unfinished = None  # parameter indices left without a gradient by the last backward
        self.comm_wait_seconds = 0.0  # time backward spent waiting for all-reduces (not hidden)

    def prepare_for_backward(self, unused: list[int] | None) -> None:
        if self.unfinished:
            raise RuntimeError(UNFINISHED_REDUCTION.format(rank=dist.get_rank(),
                                                           missing=" ".join(map(str, self.unfinished))))
        self.expect_hooks = True
        self.callback_queued = False
        self.next_bucket = 0
        self.ready = [False] * len(self.params)
        for bucket in self.buckets:
            bucket.pending = len(bucket.indices)
            bucket.work = None
        self.unused = unused
        for i in unused or ():
            self._mark_ready(i)

    def grad_ready(self, param) -> None:
        """Post-accumulate-grad hook of every parameter."""
        if not self.expect_hooks:
            return
        if not self.callback_queued:
            queue_callback(self.finish_backward)
            self.callback_queued = True
        self._mark_ready(self.index[id(param)])
        for bucket in self.buckets[:self.next_bucket]:  # let MPI progress the all-reduces in flight
            if not bucket.work.is_completed():
                break

    def _mark_ready(self, i: int) -> None:
        if self.ready[i]:
            return
        self.ready[i] = True
        self.place[i][0].pending -= 1
        while self.next_bucket < len(self.buckets) and self.buckets[self.next_bucket].pending == 0:
            self._launch(self.buckets[self.next_bucket])
            self.next_bucket += 1

    def _launch(self, bucket: _Bucket) -> None:
        flat = bucket.flat._data
        for pos, i in enumerate(bucket.indices):
            grad = self.params[i]._grad
            part = flat[bucket.offsets[pos]:bucket.offsets[pos + 1]]
            if grad is None:
                part.fill(0)
            else:
                np.copyto(part, grad._data.reshape(-1))
        np.divide(flat, flat.dtype.type(self.world_size), out=flat)
        bucket.work = dist.all_reduce(bucket.flat, async_op=True)
        if self.progress is not None:
            self.progress.start()

    def finish_backward(self) -> None:
        """Final callback: wait for every bucket and write the averaged gradients."""
        self.expect_hooks = False
        missing = [i for i, r in enumerate(self.ready) if not r]
        if missing:  # those buckets never launched: PyTorch reports it at the next forward
            self.unfinished = missing
        used = None
        if self.unused is not None:  # which parameters got a gradient on some rank
            used = Tensor._wrap(np.array([self.params[i]._grad is not None for i in range(len(self.params))]))
            dist.all_reduce(used, dist.ReduceOp.MAX)
            used = used._data
        start = time.perf_counter()
        for bucket in self.buckets[:self.next_bucket]:
            bucket.work.wait()
        self.comm_wait_seconds += time.perf_counter() - start
        if self.progress is not None:
            self.progress.stop()
        with grad_mode.no_grad():
            for bucket in self.buckets[:self.next_bucket]:
                self._write_back(bucket, used)

    def _write_back(self, bucket: _Bucket, used) -> None:
        flat = bucket.flat._data
        for pos, i in enumerate(bucket.indices):
            param = self.params[i]
            part = flat[bucket.offsets[pos]:bucket.offsets[pos + 1]].reshape(param._data.shape)
            if param._grad is not None:
                np.copyto(param._grad._data, part)
                param._grad._version.value += 1
            elif used is not None and used[i]:
                param._grad = Tensor._wrap(part.copy())


def _reachable_params(outputs, params: list) -> set[int]:
    """ids of the parameters the autograd graph of ``outputs`` leads to."""
    stack, seen, found = [outputs], set(), set()
    nodes = []
    while stack:
        obj = stack.pop()
        if isinstance(obj, Tensor):
            if obj._grad_fn is not None:
                nodes.append(obj._grad_fn)
            elif obj._requires_grad:
                found.add(id(obj))
        elif isinstance(obj, dict):
            stack.extend(obj.values())
        elif isinstance(obj, (list, tuple)):
            stack.extend(obj)
    while nodes:
        node = nodes.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        if type(node) is AccumulateGrad:
            found.add(id(node.variable))
        nodes.extend(child for child, _ in node.next_functions)
    return found


class DistributedDataParallel(Module):
    """Data-parallel training over the ranks of ``pygrad.distributed``: wrap the model, train as usual.

    Each rank runs ``module`` on its part of the batch; ``backward()`` leaves every rank with
    the gradients averaged over all ranks, so the optimizer steps keep the replicas identical.
    """

    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0,
                 broadcast_buffers: bool = True, init_sync: bool = True, process_group=None,
                 bucket_cap_mb: float | None = None, find_unused_parameters: bool = False,
                 check_reduction: bool = False, gradient_as_bucket_view: bool = False,
                 static_graph: bool = False, **kwargs):
        super().__init__()
        pg = c10d._default_group(process_group)
        if device_ids not in (None, []) or output_device is not None:
            raise ValueError("DistributedDataParallel with device_ids/output_device: pygrad runs on the CPU; "
                             "leave them out")
        self.module = module
        self.process_group = process_group
        self.dim = dim
        self.device_ids = None
        self.output_device = None
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.gradient_as_bucket_view = gradient_as_bucket_view
        self.static_graph = static_graph
        self.require_backward_grad_sync = True
        self.require_forward_param_sync = True
        self.bucket_bytes_cap = int((25 if bucket_cap_mb is None else bucket_cap_mb) * 1024 * 1024)
        params = [p for p in module.parameters() if p.requires_grad]
        if not params:
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't have any parameter "
                               "that requires a gradient.")
        if init_sync:
            self._broadcast([*module.parameters(), *module.buffers()])
        # As PyTorch: the first bucket is small so that communication starts early, unless the
        # bucket size was chosen.
        first_cap = FIRST_BUCKET_BYTES if bucket_cap_mb is None else self.bucket_bytes_cap
        self._reducer = _Reducer(params, first_cap, self.bucket_bytes_cap, pg)
        self._hook_handles = [p.register_post_accumulate_grad_hook(self._reducer.grad_ready) for p in params]

    @staticmethod
    def _broadcast(tensors: list) -> None:
        """Every tensor as rank 0 has it (values only: no autograd record)."""
        works = [dist.broadcast(Tensor._wrap(t._data), 0, async_op=True) for t in tensors]
        for work in works:
            work.wait()

    def forward(self, *inputs, **kwargs):
        """Run the wrapped module (gradients are averaged over the processes during backward)."""
        if self.require_forward_param_sync and self.broadcast_buffers:
            buffers = list(self.module.buffers())
            if buffers:
                self._broadcast(buffers)
        output = self.module(*inputs, **kwargs)
        if grad_mode.is_grad_enabled() and self.require_backward_grad_sync:
            unused = None
            if self.find_unused_parameters:
                reached = _reachable_params(output, self._reducer.params)
                unused = [i for i, p in enumerate(self._reducer.params) if id(p) not in reached]
            self._reducer.prepare_for_backward(unused)
        return output

    @contextlib.contextmanager
    def no_sync(self):
        """Backward passes of forwards run inside accumulate gradients locally, without communication;
        the first one after it averages the accumulated gradients."""
        previous = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous
