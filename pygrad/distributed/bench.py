"""Scaling of data-parallel training: ``python -m pygrad.distributed.bench``.

Trains a compute-bound MLP with ``DistributedDataParallel`` on 1 and on 2 ranks (a fixed batch per
rank, one BLAS thread per rank) and reports samples per second and the speed-up.  It also reports
how much of the gradient all-reduce the bucketing hides behind backward:

    hidden = 1 - (time backward waits for all-reduces) / (time the same all-reduces take alone)

both measured after a barrier, per step, on rank 0.  This is a benchmark, not a test: the figures
depend on the machine and on what else runs on it.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

_WORKER = "PYGRAD_DISTRIBUTED_BENCH_WORKER"
_THREADS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m pygrad.distributed.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--ranks", default="1,2", help="world sizes to compare (default: 1,2)")
    parser.add_argument("--width", type=int, default=1024, help="hidden width of the MLP (default: 1024)")
    parser.add_argument("--depth", type=int, default=4, help="hidden layers (default: 4)")
    parser.add_argument("--batch", type=int, default=256, help="samples per rank and step (default: 256)")
    parser.add_argument("--steps", type=int, default=20, help="timed steps (default: 20)")
    parser.add_argument("--bucket-cap-mb", type=float, default=4.0,
                        help="DDP bucket size in MB (default: 4, a few buckets for this 16 MB model)")
    return parser.parse_args(argv)


def _worker(args: argparse.Namespace) -> None:
    import numpy as np

    import pygrad as torch
    import pygrad.distributed as dist
    from pygrad.nn.parallel import DistributedDataParallel

    dist.init_process_group("mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    torch.manual_seed(0)
    layers = [torch.nn.Linear(args.width, args.width) for _ in range(args.depth)]
    body = [m for layer in layers for m in (layer, torch.nn.ReLU())]
    model = DistributedDataParallel(torch.nn.Sequential(*body, torch.nn.Linear(args.width, 10)),
                                    bucket_cap_mb=args.bucket_cap_mb)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
    gen = np.random.default_rng(rank)
    x = torch.from_numpy(gen.standard_normal((args.batch, args.width), dtype=np.float32))
    y = torch.from_numpy(gen.integers(0, 10, args.batch))
    reducer = model._reducer

    def step():
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()

    for _ in range(3):  # warm up
        step()
    dist.barrier()
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    dist.barrier()
    seconds = time.perf_counter() - start

    waited, alone, backward = [], [], []
    for _ in range(args.steps):
        dist.barrier()
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        before, t0 = reducer.comm_wait_seconds, time.perf_counter()
        loss.backward()
        backward.append(time.perf_counter() - t0)
        waited.append(reducer.comm_wait_seconds - before)
        dist.barrier()
        t0 = time.perf_counter()
        for bucket in reducer.buckets:
            dist.all_reduce(bucket.flat)
        alone.append(time.perf_counter() - t0)
    if rank == 0:
        result = {"ranks": world, "samples_per_s": world * args.batch * args.steps / seconds,
                  "step_ms": 1e3 * seconds / args.steps, "backward_ms": 1e3 * float(np.median(backward)),
                  "wait_ms": 1e3 * float(np.median(waited)), "allreduce_ms": 1e3 * float(np.median(alone)),
                  "buckets": len(reducer.buckets),
                  "grad_mb": sum(b.flat._data.nbytes for b in reducer.buckets) / 2 ** 20}
        print("RESULT " + json.dumps(result), flush=True)
    dist.destroy_process_group()


def run(args: argparse.Namespace, ranks: int) -> dict:
    from ._mpi import find_mpiexec
    env = dict(os.environ, **{_WORKER: "1"}, **dict.fromkeys(_THREADS, "1"))
    cmd = [find_mpiexec(), "-n", str(ranks), sys.executable, "-m", "pygrad.distributed.bench", *sys.argv[1:]]
    out = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, text=True, timeout=1800, check=True).stdout
    return json.loads(next(line for line in out.splitlines() if line.startswith("RESULT "))[7:])


def main(argv=None) -> None:
    args = parse_args(argv)
    if os.environ.get(_WORKER):
        _worker(args)
        return
    load = os.getloadavg()
    print(f"MLP {args.depth}x{args.width} float32, batch {args.batch} per rank, {args.steps} steps, "
          f"1 BLAS thread per rank; {os.cpu_count()} cores, load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    results = [run(args, int(n)) for n in args.ranks.split(",")]
    base = results[0]["samples_per_s"] / results[0]["ranks"]
    print(f"{'ranks':>5} {'samples/s':>10} {'speed-up':>9} {'step ms':>8} {'backward ms':>12} "
          f"{'all-reduce ms':>14} {'waited ms':>10} {'hidden':>7}")
    for r in results:
        hidden = f"{1 - r['wait_ms'] / r['allreduce_ms']:.0%}" if r["ranks"] > 1 and r["allreduce_ms"] > 0 else "-"
        print(f"{r['ranks']:>5} {r['samples_per_s']:>10.0f} {r['samples_per_s'] / base:>8.2f}x {r['step_ms']:>8.1f} "
              f"{r['backward_ms']:>12.1f} {r['allreduce_ms']:>14.1f} {r['wait_ms']:>10.1f} {hidden:>7}")
    print(f"gradients: {results[-1]['grad_mb']:.1f} MB in {results[-1]['buckets']} buckets; load average after: "
          f"{os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
