"""The demo's ``distributed`` section: the spiral MLP trained data-parallel on the ranks MPI started.

    mpiexec -n 2 python -m pygrad.demo --section distributed

Each rank starts from different random weights on purpose: ``DistributedDataParallel`` copies rank
0's at construction, ``DistributedSampler`` gives each rank its share of every epoch, and the
gradients averaged in backward keep the replicas equal, which the section checks at the end.
"""
from __future__ import annotations

import time

import numpy as np

import pygrad as torch
import pygrad.distributed as dist
from pygrad import nn
from pygrad.nn.parallel import DistributedDataParallel
from pygrad.utils.data import DataLoader, TensorDataset
from pygrad.utils.data.distributed import DistributedSampler

from .datasets import spirals, split
from .training import Context, accuracy, fit, make_model, to_tensors


def section_distributed(ctx: Context) -> None:
    if not dist.is_available():
        print(f"skipped: {dist.distributed_c10d._mpi.INSTALL_HINT}")
        return
    started_here = not dist.is_initialized()
    if started_here:
        dist.init_process_group(backend="mpi")
    rank, world = dist.get_rank(), dist.get_world_size()
    if world == 1:
        ctx.say("One process: start several with  mpiexec -n 2 python -m pygrad.demo --section distributed", "")

    torch.manual_seed(ctx.seed + rank)  # different on each rank: DDP starts every rank from rank 0's
    (xtr, ytr), (xte, yte) = split(*spirals(1200, seed=ctx.seed))
    train_set = TensorDataset(*to_tensors(xtr, ytr))
    test_x, test_y = to_tensors(xte, yte)
    sampler = DistributedSampler(train_set, seed=ctx.seed)
    loader = DataLoader(train_set, batch_size=max(1, 64 // world), sampler=sampler)
    model = DistributedDataParallel(make_model())
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=ctx.epochs)
    loss_fn = nn.CrossEntropyLoss()
    ctx.say(f"{world} ranks, each training on {len(sampler)} of the {len(train_set)} points per epoch "
            f"(global batch {max(1, 64 // world) * world}).")

    start = time.perf_counter()
    history = fit(model, loader, optimizer, loss_fn, ctx.epochs, f"rank {rank}", not ctx.quiet, scheduler,
                  before_epoch=sampler.set_epoch)
    seconds = time.perf_counter() - start
    test_acc = accuracy(model.module, test_x, test_y)

    # Every rank's weights side by side: all equal if the training stayed in step.
    mine = torch.from_numpy(np.concatenate([p.detach().numpy().ravel() for p in model.parameters()]).astype(np.float64))
    everyone = torch.zeros(world, mine.shape[0], dtype=torch.float64)
    dist.all_gather_into_tensor(everyone, mine)
    spread = float(np.max(np.abs(everyone.numpy() - everyone.numpy()[0])))
    identical = spread == 0.0
    print(f"trained {ctx.epochs} epochs on {world} ranks in {seconds:.1f} s: last epoch loss (rank {rank}) "
          f"{history[-1]:.4f}, test accuracy {test_acc:.1%}")
    print(f"weights identical on all {world} ranks: {identical} (largest difference {spread:g})")
    ctx.results.update(distributed_world_size=world, distributed_identical=identical,
                       distributed_test_accuracy=test_acc)
    if started_here:
        dist.destroy_process_group()
