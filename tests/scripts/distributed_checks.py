"""Checks run on every rank of an MPI job by tests/test_distributed.py.

    mpiexec -n N python distributed_checks.py collectives|ddp|fail ...

Each rank compares what pygrad.distributed gives with a NumPy reference (for DDP, with the same
training run in this one process on the whole batch) and raises on a mismatch, which stops the
job.  The last line of a rank that passed is ``rank R: N checks passed``.
"""
import datetime
import sys

import numpy as np

import pygrad as torch
import pygrad.distributed as dist
from pygrad.nn.parallel import DistributedDataParallel as DDP

ReduceOp = dist.ReduceOp
DTYPES = [torch.float16, torch.float32, torch.float64, torch.uint8, torch.int8, torch.int16, torch.int32,
          torch.int64, torch.bool]
OPS = [ReduceOp.SUM, ReduceOp.AVG, ReduceOp.PRODUCT, ReduceOp.MIN, ReduceOp.MAX]
checks = 0


def check(condition, what):
    global checks
    if not condition:
        raise AssertionError(f"rank {dist.get_rank()}: {what}")
    checks += 1


def equal(tensor, expected, what):
    got = tensor.numpy()
    check(got.dtype == expected.dtype and got.shape == expected.shape and np.array_equal(got, expected),
          f"{what}: got {got!r}, expected {expected!r}")


def rank_data(rank, dtype, shape=(2, 3)):
    """Small integer values (exact in every dtype and in any reduction order), different per rank."""
    values = (np.arange(int(np.prod(shape))).reshape(shape) + 3 * rank) % 4 + 1
    if dtype is torch.bool:
        return (values + rank) % 3 == 0
    return values.astype(dtype.numpy)


def numpy_reduce(arrays, op):
    stack = np.stack(arrays)
    if stack.dtype == np.bool_:
        return {ReduceOp.SUM: stack.any(0), ReduceOp.MAX: stack.any(0), ReduceOp.PRODUCT: stack.all(0),
                ReduceOp.MIN: stack.all(0)}[op]
    if op is ReduceOp.AVG:
        total = stack.sum(0, dtype=np.float64 if stack.dtype.kind == "f" else np.int64)
        return (total / len(arrays) if stack.dtype.kind == "f" else np.trunc(total / len(arrays))).astype(stack.dtype)
    return {ReduceOp.SUM: np.add, ReduceOp.PRODUCT: np.multiply, ReduceOp.MIN: np.minimum,
            ReduceOp.MAX: np.maximum}[op].reduce(stack, dtype=stack.dtype)


def wrap(array, layout):
    """A tensor with these values: C-contiguous, or a transposed (non-contiguous) view."""
    if layout == "contiguous":
        return torch.from_numpy(array.copy())
    return torch.from_numpy(np.ascontiguousarray(array.T)).t()


def run(op_fn, async_op):
    work = op_fn(async_op)
    if async_op:
        check(isinstance(work, dist.Work), "async_op=True returns a Work")
        check(work.wait() is True, "wait() returns True")
        check(work.is_completed(), "completed after wait")
    else:
        check(work is None, "a blocking collective returns None")


def collectives():
    rank, size = dist.get_rank(), dist.get_world_size()
    everyone = lambda dtype, shape=(2, 3): [rank_data(r, dtype, shape) for r in range(size)]  # noqa: E731
    for dtype in DTYPES:
        mine = rank_data(rank, dtype)
        for layout in ("contiguous", "transposed"):
            for async_op in (False, True):
                tag = f"{dtype} {layout} async={async_op}"
                for op in OPS:
                    if dtype is torch.bool and op is ReduceOp.AVG:
                        try:
                            dist.all_reduce(wrap(mine, layout), op)
                        except ValueError as e:
                            check("AVG" in str(e), "bool AVG names the op")
                        continue
                    t = wrap(mine, layout)
                    run(lambda a: dist.all_reduce(t, op, async_op=a), async_op)
                    equal(t, numpy_reduce(everyone(dtype), op), f"all_reduce {op} {tag}")
                    t = wrap(mine, layout)
                    run(lambda a: dist.reduce(t, size - 1, op, async_op=a), async_op)
                    equal(t, numpy_reduce(everyone(dtype), op) if rank == size - 1 else mine, f"reduce {op} {tag}")
                    outs = [torch.zeros(2, 3, dtype=dtype) for _ in range(size)]
                    ins = [wrap(rank_data(rank + r, dtype), layout) for r in range(size)]
                    run(lambda a: dist.reduce_scatter(outs[0], ins, op, async_op=a), async_op)
                    equal(outs[0], numpy_reduce([rank_data(r + rank, dtype) for r in range(size)], op),
                          f"reduce_scatter {op} {tag}")
                    out = torch.zeros(2, 3, dtype=dtype)
                    big = torch.from_numpy(np.concatenate([rank_data(rank + r, dtype) for r in range(size)]))
                    run(lambda a: dist.reduce_scatter_tensor(out, big, op, async_op=a), async_op)
                    equal(out, numpy_reduce([rank_data(r + rank, dtype) for r in range(size)], op),
                          f"reduce_scatter_tensor {op} {tag}")
                if dtype.is_floating_point or dtype is torch.bool:
                    bitwise = ()
                else:
                    bitwise = ((ReduceOp.BAND, np.bitwise_and), (ReduceOp.BOR, np.bitwise_or),
                               (ReduceOp.BXOR, np.bitwise_xor))
                for op, ufunc in bitwise:
                    t = wrap(mine, layout)
                    run(lambda a: dist.all_reduce(t, op, async_op=a), async_op)
                    equal(t, ufunc.reduce(np.stack(everyone(dtype))), f"all_reduce {op} {tag}")
                t = wrap(mine, layout)
                run(lambda a: dist.broadcast(t, 1, async_op=a), async_op)
                equal(t, rank_data(1, dtype), f"broadcast {tag}")
                outs = [wrap(np.zeros((2, 3), dtype.numpy), layout) for _ in range(size)]
                run(lambda a: dist.all_gather(outs, wrap(mine, layout), async_op=a), async_op)
                for r in range(size):
                    equal(outs[r], rank_data(r, dtype), f"all_gather {tag}")
                for shape in ((size * 2, 3), (size, 2, 3)):
                    out = torch.zeros(*shape, dtype=dtype)
                    run(lambda a: dist.all_gather_into_tensor(out, wrap(mine, layout), async_op=a), async_op)
                    equal(out, np.stack(everyone(dtype)).reshape(shape), f"all_gather_into_tensor {shape} {tag}")
                dst = size - 1
                outs = [torch.zeros(2, 3, dtype=dtype) for _ in range(size)] if rank == dst else None
                run(lambda a: dist.gather(wrap(mine, layout), outs, dst, async_op=a), async_op)
                if rank == dst:
                    for r in range(size):
                        equal(outs[r], rank_data(r, dtype), f"gather {tag}")
                t = wrap(np.zeros((2, 3), dtype.numpy), layout)
                parts = [wrap(rank_data(10 + r, dtype), layout) for r in range(size)] if rank == 0 else None
                run(lambda a: dist.scatter(t, parts, 0, async_op=a), async_op)
                equal(t, rank_data(10 + rank, dtype), f"scatter {tag}")
        # point to point: a ring, blocking and non-blocking
        right, left = (rank + 1) % size, (rank - 1) % size
        got = torch.zeros(2, 3, dtype=dtype)
        if rank % 2 == 0:
            dist.send(torch.from_numpy(mine), right)
            source = dist.recv(got)
        else:
            incoming = torch.zeros(2, 3, dtype=dtype)
            source = dist.recv(incoming, left)
            dist.send(torch.from_numpy(mine), right)
            got = incoming
        check(source == left, f"recv returned the sender's rank: {source}, expected {left}")
        equal(got, rank_data(left, dtype), f"send/recv {dtype}")
        got = torch.zeros(2, 3, dtype=dtype)
        works = [dist.isend(torch.from_numpy(mine), right, tag=7), dist.irecv(got, left, tag=7)]
        for w in works:
            w.wait()
        equal(got, rank_data(left, dtype), f"isend/irecv {dtype}")
    # in place, no copy: a contiguous tensor keeps its array
    t = torch.ones(4)
    array = t.numpy()
    version = t._version.value
    dist.all_reduce(t)
    check(t.numpy() is array and np.array_equal(array, np.full(4, size, np.float32)), "all_reduce in place")
    check(t._version.value == version + 1, "in-place collective bumps the version counter")
    dist.barrier()
    work = dist.barrier(async_op=True)
    work.wait()
    # errors
    for bad, expected in ((lambda: dist.all_reduce(np.ones(2)), TypeError),
                          (lambda: dist.broadcast(torch.ones(2), size), ValueError),
                          (lambda: dist.all_reduce(torch.ones(2), "sum"), ValueError),
                          (lambda: dist.all_gather([torch.ones(2)] * (size + 1), torch.ones(2)), ValueError),
                          (lambda: dist.send(torch.ones(2), rank), ValueError),
                          (lambda: dist.all_reduce(torch.ones(2), ReduceOp.BAND), ValueError)):
        try:
            bad()
        except expected:
            checks_ok = True
        else:
            checks_ok = False
        check(checks_ok, f"{expected.__name__} raised")


# -- DistributedDataParallel ----------------------------------------------------------------------
def make_model(dtype, seed=0):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(5, 16), torch.nn.Tanh(), torch.nn.Linear(16, 16), torch.nn.ReLU(),
                                torch.nn.Linear(16, 3))
    return model.to(dtype)


def make_optimizer(name, params):
    if name == "sgd":
        return torch.optim.SGD(params, lr=0.1, momentum=0.9, weight_decay=1e-3)
    return torch.optim.Adam(params, lr=0.01)


def train(model, optimizer, batches, micro, forward):
    """``micro`` micro-batches per step: all but the last through ``forward(..., sync=False)``."""
    for step in batches:
        optimizer.zero_grad()
        for m, (x, y) in enumerate(step):
            loss = torch.nn.functional.cross_entropy(forward(x, m == micro - 1), y)
            loss.backward()
        optimizer.step()


def ddp_equivalence():
    rank, size = dist.get_rank(), dist.get_world_size()
    per_rank, steps = 4, 3
    batch = per_rank * size
    for dtype, tol in ((torch.float64, 1e-12), (torch.float32, 1e-6)):
        for opt_name in ("sgd", "adam"):
            for micro in (1, 2):  # 2: the first micro-batch of each step runs under no_sync()
                for cap in (None, 0.0002):  # one bucket, or one per parameter or two
                    gen = np.random.default_rng(42)
                    data = [[(torch.from_numpy(gen.standard_normal((batch, 5))).to(dtype),
                              torch.from_numpy(gen.integers(0, 3, batch))) for _ in range(micro)]
                            for _ in range(steps)]
                    reference = make_model(dtype)
                    train(reference, make_optimizer(opt_name, reference.parameters()), data, micro,
                          lambda x, sync: reference(x))
                    model = DDP(make_model(dtype, seed=rank), bucket_cap_mb=cap)  # rank 0's weights win
                    optimizer = make_optimizer(opt_name, model.parameters())
                    shard = [[(x[rank::size], y[rank::size]) for x, y in step] for step in data]

                    def forward(x, sync):
                        if sync:
                            return model(x)
                        with model.no_sync():
                            return model(x)
                    train(model, optimizer, shard, micro, forward)
                    tag = f"{dtype} {opt_name} micro={micro} cap={cap}"
                    check(list(model.state_dict()) == ["module." + k for k in reference.state_dict()],
                          f"state_dict keys {tag}")
                    for (name, p), q in zip(model.module.named_parameters(), reference.parameters()):
                        err = np.max(np.abs(p.detach().numpy() - q.detach().numpy()))
                        check(p.dtype == dtype and err <= tol, f"{name} differs by {err} {tag}")
                    if cap is not None:
                        check(len(model._reducer.buckets) > 2, f"several buckets {tag}")


class TwoHeads(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.body = torch.nn.Linear(4, 4)
        self.used = torch.nn.Linear(4, 2)
        self.unused = torch.nn.Linear(4, 2)

    def forward(self, x):
        return self.used(self.body(x))


def ddp_unused():
    rank, size = dist.get_rank(), dist.get_world_size()
    torch.manual_seed(0)
    model = DDP(TwoHeads().double(), find_unused_parameters=True, bucket_cap_mb=0.00001)
    x = torch.from_numpy(np.arange(8.0 * size).reshape(2 * size, 4) / 10)
    model(x[2 * rank:2 * rank + 2]).pow(2).sum().backward()
    reference = TwoHeads().double()
    reference.load_state_dict(model.module.state_dict())
    (reference(x).pow(2).sum() / size).backward()
    check(model.module.unused.weight.grad is None, "a parameter unused on every rank keeps grad None")
    for p, q in zip(model.module.body.parameters(), reference.body.parameters()):
        check(np.allclose(p.grad.numpy(), q.grad.numpy(), rtol=0, atol=1e-12), "find_unused_parameters grads")
    # without find_unused_parameters, an unused parameter is reported at the next forward, as in PyTorch
    plain = DDP(TwoHeads().double())
    plain(x).sum().backward()
    try:
        plain(x)
    except RuntimeError as e:
        check("Expected to have finished reduction in the prior iteration" in str(e)
              and str(e).endswith(f"Parameter indices which did not receive grad for rank {rank}: 4 5"),
              f"unused parameter error: {e}")
    else:
        check(False, "unused parameter without find_unused_parameters raises")
    # construction broadcasts parameters and buffers from rank 0, and so does each forward for buffers
    torch.manual_seed(rank)
    inner = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.BatchNorm1d(4)).double()
    inner[1].running_mean.fill_(float(rank))
    net = DDP(inner)
    torch.manual_seed(0)
    expected = torch.nn.Linear(4, 4).double()
    check(np.array_equal(inner[0].weight.detach().numpy(), expected.weight.detach().numpy()), "parameters from rank 0")
    check(np.array_equal(inner[1].running_mean.numpy(), np.zeros(4)), "buffers from rank 0 at construction")
    inner[1].running_mean.fill_(float(rank + 5))
    net.eval()
    net(x[:2])
    check(np.array_equal(inner[1].running_mean.numpy(), np.full(4, 5.0)), "buffers from rank 0 at forward")


def fail():
    """Rank 1 raises; the others wait in an all-reduce that can never complete."""
    if dist.get_rank() == 1:
        raise ValueError("rank 1 cannot go on")
    dist.all_reduce(torch.ones(3))


def timeout():
    """Rank 1 skips the collective and finishes: the others give up after the timeout."""
    if dist.get_rank() != 1:
        dist.all_reduce(torch.ones(3))


def main():
    dist.init_process_group("mpi", timeout=datetime.timedelta(seconds=float(sys.argv[2]) if len(sys.argv) > 2
                                                               else 60))
    for name in sys.argv[1].split(","):
        {"collectives": collectives, "ddp": lambda: (ddp_equivalence(), ddp_unused()), "fail": fail,
         "timeout": timeout}[name]()
    print(f"rank {dist.get_rank()}: {checks} checks passed", flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
