"""``python -m pygrad.distributed.run``: start a training script on several processes through MPI.

    python -m pygrad.distributed.run --nproc-per-node 4 train.py --epochs 10
    python -m pygrad.distributed.run --nnodes 2 --nproc-per-node 4 --hostfile hosts train.py

Like torchrun, each process gets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` and ``LOCAL_WORLD_SIZE``
in its environment; the processes themselves are started by ``mpiexec``, so the script calls
``init_process_group(backend="mpi")`` and runs the same as under ``mpiexec -n N python train.py``.
"""
from __future__ import annotations

import argparse
import os
import runpy
import subprocess
import sys

from ._mpi import INSTALL_HINT, LAUNCHER_ENV, find_mpiexec

_WORKER = "PYGRAD_DISTRIBUTED_RUN_WORKER"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m pygrad.distributed.run",
                                     description="Run a training script on several processes started by MPI.")
    parser.add_argument("--nproc-per-node", "--nproc_per_node", type=int, default=1,
                        help="processes on each machine (default: 1)")
    parser.add_argument("--nnodes", type=int, default=1, help="machines, listed in --hostfile (default: 1)")
    parser.add_argument("--hostfile", help="MPI host file naming the machines (one per line)")
    parser.add_argument("--mpiexec", default=None, help="the mpiexec to use (default: the mpich wheel's)")
    parser.add_argument("-m", "--module", action="store_true", help="run the script argument as a module")
    parser.add_argument("script", help="the training script (or module, with -m)")
    parser.add_argument("script_args", nargs=argparse.REMAINDER, help="its arguments")
    args = parser.parse_args(argv)
    if args.nproc_per_node < 1 or args.nnodes < 1:
        parser.error("--nproc-per-node and --nnodes must be at least 1")
    if args.nnodes > 1 and not args.hostfile:
        parser.error("--nnodes > 1 needs --hostfile naming the machines")
    return args


def command(args: argparse.Namespace) -> list[str]:
    mpiexec = args.mpiexec or find_mpiexec()
    if mpiexec is None:
        raise SystemExit(f"mpiexec not found: {INSTALL_HINT}")
    cmd = [mpiexec, "-n", str(args.nproc_per_node * args.nnodes)]
    if args.hostfile:
        cmd += ["-f", args.hostfile, "-ppn", str(args.nproc_per_node)]
    cmd += [sys.executable, "-m", "pygrad.distributed.run"]
    if args.module:
        cmd.append("-m")
    return cmd + [args.script, *args.script_args]


def _worker(args: argparse.Namespace) -> None:
    """In each process MPI started: torchrun's environment variables, then the script."""
    for name, sources in LAUNCHER_ENV.items():
        value = next((os.environ[s] for s in sources if s in os.environ), None)
        if value is not None:
            os.environ.setdefault(name, value)
    sys.argv = [args.script, *args.script_args]
    if args.module:
        runpy.run_module(args.script, run_name="__main__", alter_sys=True)
    else:
        sys.path.insert(0, os.path.dirname(os.path.abspath(args.script)))
        runpy.run_path(args.script, run_name="__main__")


def main(argv=None) -> int:
    args = parse_args(argv)
    if os.environ.get(_WORKER):
        _worker(args)
        return 0
    env = dict(os.environ, **{_WORKER: "1"})
    return subprocess.call(command(args), env=env)


if __name__ == "__main__":
    sys.exit(main())
