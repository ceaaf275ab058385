"""pygrad.distributed, DistributedDataParallel and DistributedSampler.

The MPI checks run in jobs of 2 and 3 ranks started with mpiexec (tests/scripts/distributed_checks.py
holds them, batched so that a few launches cover everything); every launch is bounded by a timeout.
They skip when mpi4py or mpiexec is missing.
"""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import pygrad
import pygrad.distributed as dist
from pygrad.distributed import _mpi
from pygrad.utils.data.distributed import DistributedSampler

ROOT = Path(pygrad.__file__).resolve().parent.parent
CHECKS = Path(__file__).parent / "scripts" / "distributed_checks.py"
LAUNCH_TIMEOUT = 120  # seconds for one mpiexec job, far above its normal few seconds

needs_mpi = pytest.mark.skipif(not _mpi.available() or _mpi.find_mpiexec() is None,
                               reason="needs mpi4py and mpiexec: pip install mpi4py mpich")


def launch(args, nranks=None, timeout=LAUNCH_TIMEOUT):
    """Run ``mpiexec -n nranks python ARGS`` (or ``python ARGS`` when nranks is None) with this
    checkout's pygrad and backend; returns (exit code, stdout + stderr)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    if pygrad.backend() == "pure":
        env["PYGRAD_PURE"] = "1"
    prefix = [] if nranks is None else [_mpi.find_mpiexec(), "-n", str(nranks)]
    proc = subprocess.run(prefix + [sys.executable, *map(str, args)], env=env, cwd=ROOT, timeout=timeout,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return proc.returncode, proc.stdout


def assert_passed(code, out, nranks):
    assert code == 0, out
    for rank in range(nranks):
        assert f"rank {rank}: " in out and "checks passed" in out, out


# -- MPI jobs -----------------------------------------------------------------------------------------
@needs_mpi
def test_collectives_and_ddp_on_three_ranks():
    """Every collective x dtype x op x layout x sync/async against NumPy; DDP equals one process."""
    code, out = launch([CHECKS, "collectives,ddp"], nranks=3)
    assert_passed(code, out, 3)


@needs_mpi
def test_collectives_and_ddp_on_two_ranks_through_the_launcher():
    code, out = launch(["-m", "pygrad.distributed.run", "--nproc-per-node", "2", CHECKS, "collectives,ddp"])
    assert_passed(code, out, 2)


@needs_mpi
def test_a_rank_that_raises_stops_the_others():
    code, out = launch([CHECKS, "fail"], nranks=3, timeout=60)
    assert code != 0
    assert "ValueError: rank 1 cannot go on" in out
    assert "pygrad.distributed: rank 1 of 3 failed with ValueError (above); stopping all ranks" in out
    assert "checks passed" not in out


@needs_mpi
def test_a_rank_that_skips_a_collective_makes_the_others_time_out():
    code, out = launch([CHECKS, "timeout", "2"], nranks=2, timeout=60)
    assert code != 0
    assert "DistBackendError: pygrad.distributed: all_reduce on rank 0 did not complete within 0:00:02" in out


@needs_mpi
def test_demo_section_trains_data_parallel_to_identical_weights():
    code, out = launch(["-m", "pygrad.demo", "--section", "distributed", "--epochs", "3", "--quiet"], nranks=2)
    assert code == 0, out
    assert "trained 3 epochs on 2 ranks" in out
    assert "weights identical on all 2 ranks: True (largest difference 0)" in out
    assert out.count("== Data-parallel training") == 1  # rank 1 stays quiet


@needs_mpi
def test_one_process_is_a_world_of_one_and_rank_must_agree_with_mpi():
    code, out = launch(["-c", "import os, pygrad, pygrad.distributed as d\n"
                              "os.environ['RANK'] = '1'\n"
                              "try:\n    d.init_process_group('mpi')\n"
                              "except ValueError as e:\n    print('error:', e)\n"
                              "del os.environ['RANK']\n"
                              "d.init_process_group('mpi'); t = pygrad.ones(2); d.all_reduce(t, d.ReduceOp.AVG)\n"
                              "print(d.get_rank(), d.get_world_size(), d.is_initialized(), t.tolist())\n"
                              "d.destroy_process_group(); print(d.is_initialized())"])
    assert code == 0, out
    assert "error: environment variable RANK=1 does not match MPI, which started this process with rank 0" in out
    assert "0 1 True [1.0, 1.0]\nFalse" in out


# -- without MPI ----------------------------------------------------------------------------------------
def test_without_mpi4py_the_module_imports_and_says_what_to_install():
    code, out = launch(["-c", "import sys; sys.modules['mpi4py'] = None\n"
                              "import pygrad.distributed as d\n"
                              "print('available', d.is_available())\n"
                              "try:\n    d.init_process_group('mpi')\n"
                              "except RuntimeError as e:\n    print('error:', e)\n"])
    assert code == 0, out
    assert "available False" in out
    assert 'error: pygrad.distributed needs MPI through mpi4py: pip install "pygrad[distributed]"' in out


def test_calls_before_init_raise_pytorchs_error(torch):
    assert not dist.is_initialized()
    for call in (dist.get_rank, dist.get_world_size, dist.barrier, lambda: dist.all_reduce(pygrad.ones(2)),
                 dist.destroy_process_group):
        with pytest.raises(ValueError) as ours:
            call()
        assert str(ours.value) == ("Default process group has not been initialized, please make sure to call "
                                   "init_process_group.")
    assert repr(dist.ReduceOp.SUM) == repr(torch.distributed.ReduceOp.SUM)
    assert str(dist.ReduceOp.MAX) == str(torch.distributed.ReduceOp.MAX)
    assert list(dist.ReduceOp.RedOpType.__members__) == list(torch.distributed.ReduceOp.RedOpType.__members__)


def test_other_backends_are_refused_clearly():
    with pytest.raises(ValueError, match="use backend='mpi'"):
        dist.init_process_group("nccl")


# -- DistributedSampler against PyTorch's --------------------------------------------------------------
@pytest.mark.parametrize("n", [1, 7, 10, 64, 1001])
@pytest.mark.parametrize("replicas", [1, 2, 3, 4])
def test_sampler_matches_torch(torch, n, replicas):
    from torch.utils.data.distributed import DistributedSampler as TorchSampler
    for shuffle in (False, True):
        for drop_last in (False, True):
            for seed in (0, 5):
                for rank in range(replicas):
                    ours = DistributedSampler(range(n), replicas, rank, shuffle=shuffle, seed=seed,
                                              drop_last=drop_last)
                    theirs = TorchSampler(range(n), replicas, rank, shuffle=shuffle, seed=seed, drop_last=drop_last)
                    for epoch in (0, 3):
                        ours.set_epoch(epoch)
                        theirs.set_epoch(epoch)
                        assert list(ours) == list(theirs)
                        assert len(ours) == len(theirs)


def test_sampler_shards_cover_the_dataset_and_checks_rank(torch):
    shards = [list(DistributedSampler(range(10), 3, r, shuffle=True, seed=1)) for r in range(3)]
    assert set(sum(shards, [])) == set(range(10)) and sum(map(len, shards)) == 12  # 2 repeated to pad
    with pytest.raises(ValueError, match=r"Invalid rank 3, rank should be in the interval \[0, 2\]"):
        DistributedSampler(range(10), 3, 3)


def test_randperm_matches_torch_for_large_seeds(torch):
    from pygrad.utils.data.distributed import torch_randperm
    for n, seed in ((20000, 7), (5, 2 ** 40 + 3), (2, 0)):
        g = torch.Generator()
        g.manual_seed(seed)
        assert torch_randperm(n, seed) == torch.randperm(n, generator=g).tolist()


# -- the engine hooks DDP is built on --------------------------------------------------------------------
def test_post_accumulate_grad_hook_as_torch(torch, backend):
    for lib in (torch, pygrad):
        seen = []
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        a.register_hook(lambda g: seen.append(("tensor hook", g.tolist())))
        handle = a.register_post_accumulate_grad_hook(lambda p: seen.append(("post", p.grad.tolist())))
        (a * a).sum().backward()
        (a * 3).sum().backward()
        handle.remove()
        (a * 3).sum().backward()
        if lib is torch:
            expected = seen
        else:
            assert seen == expected
        with pytest.raises(RuntimeError, match="post accumulate grad hooks cannot be registered on non-leaf"):
            (a * 2).register_post_accumulate_grad_hook(lambda p: None)
        with pytest.raises(RuntimeError, match="cannot register a hook on a tensor that doesn't require gradient"):
            lib.ones(2).register_post_accumulate_grad_hook(lambda p: None)


def test_final_callback_runs_after_the_whole_backward(torch, backend):
    from pygrad.autograd.engine import queue_callback
    for lib, queue in ((torch, torch.autograd.Variable._execution_engine.queue_callback), (pygrad, queue_callback)):
        log = []
        w = lib.tensor([1.0, 2.0], requires_grad=True)
        v = lib.tensor([3.0], requires_grad=True)

        def first(grad):
            queue(lambda: log.append(("final", w.grad.tolist(), v.grad.tolist())))
            queue(lambda: queue(lambda: log.append("queued by a callback")))
            log.append("hook")
        w.register_hook(first)
        ((w * v).sum() * 2).backward()
        if lib is torch:
            expected = log
        else:
            assert log == expected
        with pytest.raises(RuntimeError, match="Final callbacks can only be installed during backward pass."):
            queue(lambda: None)
    assert np.array_equal(w.grad.numpy(), [6.0, 6.0])
