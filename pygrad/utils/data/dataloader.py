"""``DataLoader``: batches from a dataset, shuffled with pygrad's seeded generator."""
from __future__ import annotations

import numbers
from typing import Any, Callable, Iterator

import numpy as np

from ... import creation
from ...tensor import Tensor
from .dataset import Dataset, IterableDataset, TensorDataset
from .sampler import BatchSampler

__all__ = ["DataLoader", "default_collate"]


def default_collate(batch: list) -> Any:
    """Stack tensors, turn numbers into tensors (Python floats as float64, ints as int64, NumPy
    scalars in their own dtype, as PyTorch), and recurse into tuples, lists and dicts."""
    elem = batch[0]
    if isinstance(elem, Tensor):
        if any(b.shape != elem.shape for b in batch):
            raise RuntimeError("stack expects each tensor to be equal size, but got "
                               f"{list(elem.shape)} at entry 0 and "
                               f"{list(next(b for b in batch if b.shape != elem.shape).shape)} at entry "
                               f"{next(i for i, b in enumerate(batch) if b.shape != elem.shape)}")
        return Tensor._wrap(np.stack([b._data for b in batch]))
    if isinstance(elem, np.ndarray):
        return Tensor._wrap(np.stack(batch))
    if isinstance(elem, np.generic):  # NumPy scalars keep their dtype
        return Tensor._wrap(np.array(batch))
    if isinstance(elem, bool):
        return Tensor._wrap(np.array(batch, dtype=np.bool_))
    if isinstance(elem, numbers.Integral):
        return Tensor._wrap(np.array(batch, dtype=np.int64))
    if isinstance(elem, numbers.Real):
        return Tensor._wrap(np.array(batch, dtype=np.float64))
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, dict):
        return type(elem)((key, default_collate([d[key] for d in batch])) for key in elem)
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):
        return type(elem)(*(default_collate(s) for s in zip(*batch)))
    if isinstance(elem, (tuple, list)):
        size = len(elem)
        if any(len(b) != size for b in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        # As PyTorch: the columns of tuple (and list) samples come back as a list; a column
        # of strings stays the tuple zip made of it.
        return [default_collate(s) for s in zip(*batch)]
    raise TypeError(f"default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
                    f"found {type(elem)}")


class DataLoader:
    """Iterate over ``dataset`` in batches of ``batch_size``.

    ``shuffle=True`` draws a new order each epoch from ``generator`` (a NumPy ``Generator``)
    or, by default, from pygrad's generator, so ``pygrad.manual_seed`` makes it repeatable.
    Loading always runs in this process: ``num_workers > 0`` gives the same batches in the same
    order as PyTorch's worker processes would (an iterable dataset is read once, not once per worker).
    """

    def __init__(self, dataset: Dataset, batch_size: int | None = 1, shuffle: bool = False, sampler=None,
                 batch_sampler=None, num_workers: int = 0, collate_fn: Callable | None = None,
                 pin_memory: bool = False, drop_last: bool = False, timeout: float = 0,
                 worker_init_fn=None, generator=None, **kwargs):
        if not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to disable "
                             "multiprocessing.")
        if batch_size is not None and (not isinstance(batch_size, int) or isinstance(batch_size, bool)
                                       or batch_size <= 0):
            raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size}")
        if isinstance(dataset, IterableDataset) and shuffle:
            raise ValueError(f"DataLoader with IterableDataset: expected unspecified shuffle option, but got "
                             f"shuffle={shuffle}")
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None and (batch_size != 1 or shuffle or sampler is not None or drop_last):
            raise ValueError("batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, "
                             "and drop_last")
        self.dataset = dataset
        self.batch_size = None if batch_sampler is not None else batch_size
        self.shuffle = shuffle
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = num_workers
        self.collate_fn = collate_fn
        self.drop_last = drop_last
        self.generator = generator

    def _order(self) -> list[int]:
        if self.sampler is not None:
            return list(self.sampler)
        n = len(self.dataset)
        if self.shuffle:
            rng = self.generator if self.generator is not None else creation.generator()
            return rng.permutation(n).tolist()
        return list(range(n))

    def _batches(self) -> Iterator[list[int]]:
        if self.batch_sampler is not None:
            yield from self.batch_sampler
            return
        order = self._order()
        if self.batch_size is None:
            for i in order:
                yield i
            return
        for start in range(0, len(order), self.batch_size):
            batch = order[start:start + self.batch_size]
            if len(batch) < self.batch_size and self.drop_last:
                return
            yield batch

    def _iterable_batches(self):
        """Samples of an iterable dataset, as lists of ``batch_size`` (or one by one without batching)."""
        if self.batch_size is None:
            yield from self.dataset
        else:
            yield from BatchSampler(self.dataset, self.batch_size, self.drop_last)

    def __iter__(self) -> Iterator[Any]:
        if isinstance(self.dataset, IterableDataset):
            for samples in self._iterable_batches():
                if self.batch_size is None:
                    yield samples if self.collate_fn is None else self.collate_fn(samples)
                else:
                    yield (self.collate_fn or default_collate)(samples)
            return
        fast = self.collate_fn is None and type(self.dataset) is TensorDataset
        for indices in self._batches():
            if self.batch_size is None and self.batch_sampler is None:
                sample = self.dataset[indices]
                yield sample if self.collate_fn is None else self.collate_fn(sample)
            elif fast:  # one fancy-indexing per tensor instead of stacking rows; a list, as collated
                idx = np.asarray(indices, dtype=np.int64)
                yield [Tensor._wrap(t._data[idx]) for t in self.dataset.tensors]
            else:
                collate = self.collate_fn or default_collate
                yield collate([self.dataset[i] for i in indices])

    def __len__(self) -> int:
        if isinstance(self.dataset, IterableDataset):
            n = len(self.dataset)
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        n = len(self.sampler) if self.sampler is not None else len(self.dataset)
        if self.batch_size is None:
            return n
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
