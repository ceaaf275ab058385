"""``DistributedSampler``: each rank of a process group iterates over its own shard of a dataset."""
from __future__ import annotations

import math
from typing import Iterator

import numpy as np

__all__ = ["DistributedSampler"]


def torch_randperm(n: int, seed: int) -> list[int]:
    """``torch.randperm(n, generator=torch.Generator().manual_seed(seed))``, the same permutation.

    PyTorch's CPU generator is a Mersenne Twister seeded as NumPy's legacy seeding does, and its
    randperm is a Fisher-Yates shuffle with one 32-bit draw per position, so each rank (and a
    PyTorch program) shuffles the same way for the same seed and epoch.
    """
    bits = np.random.MT19937()
    bits._legacy_seeding(seed & 0xFFFFFFFF)
    draws = bits.random_raw(max(n - 1, 0)).tolist()
    order = list(range(n))
    for i, draw in enumerate(draws):
        j = i + draw % (n - i)
        order[i], order[j] = order[j], order[i]
    return order


class DistributedSampler:
    """Indices of ``dataset`` for rank ``rank`` of ``num_replicas``, as PyTorch's ``DistributedSampler``.

    Every rank shuffles the whole index list the same way (``seed + epoch``; call ``set_epoch`` at
    the start of each epoch), pads it by repeating its start (or, with ``drop_last``, cuts it) to a
    multiple of ``num_replicas``, and takes every ``num_replicas``-th index from ``rank`` on.
    """

    def __init__(self, dataset, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False) -> None:
        from ... import distributed as dist
        if num_replicas is None:
            if not dist.is_available():
                raise RuntimeError("Requires distributed package to be available")
            num_replicas = dist.get_world_size()
        if rank is None:
            if not dist.is_available():
                raise RuntimeError("Requires distributed package to be available")
            rank = dist.get_rank()
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        if self.drop_last and len(self.dataset) % self.num_replicas != 0:
            self.num_samples = math.ceil((len(self.dataset) - self.num_replicas) / self.num_replicas)
        else:
            self.num_samples = math.ceil(len(self.dataset) / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas
        self.shuffle = shuffle
        self.seed = seed

    def __iter__(self) -> Iterator[int]:
        n = len(self.dataset)
        indices = torch_randperm(n, self.seed + self.epoch) if self.shuffle else list(range(n))
        if not self.drop_last:
            padding_size = self.total_size - len(indices)
            if padding_size <= len(indices):
                indices += indices[:padding_size]
            else:
                indices += (indices * math.ceil(padding_size / len(indices)))[:padding_size]
        else:
            indices = indices[:self.total_size]
        return iter(indices[self.rank:self.total_size:self.num_replicas])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Shuffle differently in each epoch (the same way on every rank)."""
        self.epoch = epoch
