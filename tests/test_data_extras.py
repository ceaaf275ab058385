"""Datasets, samplers and DataLoader options beyond the basics, against PyTorch."""
import numpy as np
import pytest

import pygrad


def _as_lists(batch):
    if hasattr(batch, "tolist"):
        return batch.tolist()
    if isinstance(batch, (list, tuple)):  # (whether a batch is a list or a tuple is tested in test_data.py)
        return [_as_lists(b) for b in batch]
    if isinstance(batch, dict):
        return {k: _as_lists(v) for k, v in batch.items()}
    return batch


def _both(torch, program):
    return _as_lists(program(pygrad)), _as_lists(program(torch))


def test_concat_dataset_and_add(torch):
    def program(L):
        a = L.utils.data.TensorDataset(L.arange(6).reshape(3, 2), L.arange(3))
        b = L.utils.data.TensorDataset(L.arange(10, 14).reshape(2, 2), L.arange(3, 5))
        both = L.utils.data.ConcatDataset([a, b])
        assert len(both) == 5 and both.cumulative_sizes == [3, 5] and len(a + b) == 5
        return [both[i] for i in (0, 2, 3, 4, -1, -5)] + list(L.utils.data.DataLoader(both, batch_size=2))
    ours, theirs = _both(torch, program)
    assert ours == theirs


class Counter:
    """An iterable dataset yielding (x, x**2) pairs; made for each library."""

    @staticmethod
    def make(L, n):
        class Stream(L.utils.data.IterableDataset):
            def __iter__(self):
                for i in range(n):
                    yield L.tensor([float(i)]), i * i

            def __len__(self):
                return n
        return Stream()


@pytest.mark.parametrize("kwargs", [dict(batch_size=3), dict(batch_size=3, drop_last=True), dict(batch_size=None),
                                    dict(batch_size=2, num_workers=0,
                                         collate_fn=lambda samples: [s[1] for s in samples])])
def test_iterable_dataset_batches(kwargs, torch):
    def program(L):
        loader = L.utils.data.DataLoader(Counter.make(L, 7), **kwargs)
        return [len(loader)] + list(loader) + list(Counter.make(L, 2) + Counter.make(L, 1))
    ours, theirs = _both(torch, program)
    assert ours == theirs


def test_iterable_dataset_rejects_shuffle(torch):
    for L in (pygrad, torch):
        with pytest.raises(ValueError, match="expected unspecified shuffle option, but got shuffle=True"):
            L.utils.data.DataLoader(Counter.make(L, 3), shuffle=True)


def test_batch_sampler_and_sequential_sampler(torch):
    def program(L):
        data = L.utils.data.TensorDataset(L.arange(7.0))
        out = []
        for drop_last in (False, True):
            bs = L.utils.data.BatchSampler(L.utils.data.SequentialSampler(data), 3, drop_last)
            out += [len(bs), list(bs)]
            loader = L.utils.data.DataLoader(data, batch_sampler=bs)
            out += [len(loader), list(loader)]
        out.append(list(L.utils.data.BatchSampler(range(5), 2, False)))
        return out
    ours, theirs = _both(torch, program)
    assert ours == theirs


def test_batch_sampler_errors_match_torch(torch):
    for L in (pygrad, torch):
        with pytest.raises(ValueError, match="batch_size should be a positive integer value, but got batch_size=0"):
            L.utils.data.BatchSampler(range(3), 0, False)
        with pytest.raises(ValueError, match="drop_last should be a boolean value, but got drop_last=1"):
            L.utils.data.BatchSampler(range(3), 2, 1)
        with pytest.raises(ValueError, match="num_samples should be a positive integer value"):
            L.utils.data.WeightedRandomSampler([1.0, 2.0], 0)


def test_weighted_random_sampler_draws_by_weight():
    pygrad.manual_seed(0)
    weights = [0.0, 1.0, 3.0, 0.0]
    sampler = pygrad.utils.data.WeightedRandomSampler(weights, 4000)
    draws = np.array(list(sampler))
    assert len(sampler) == 4000 and len(draws) == 4000
    assert set(draws.tolist()) == {1, 2}
    assert abs((draws == 2).mean() - 0.75) < 0.03
    unique = list(pygrad.utils.data.WeightedRandomSampler([1.0, 1.0, 1.0], 3, replacement=False))
    assert sorted(unique) == [0, 1, 2]
    loader = pygrad.utils.data.DataLoader(pygrad.utils.data.TensorDataset(pygrad.arange(4.0)), batch_size=5,
                                          sampler=pygrad.utils.data.WeightedRandomSampler(weights, 10))
    batches = list(loader)
    assert len(batches) == len(loader) == 2
    for batch in batches:
        assert set(batch[0].tolist()) <= {1.0, 2.0} and batch[0].shape == (5,)


def test_random_and_subset_samplers_are_permutations():
    pygrad.manual_seed(3)
    data = list(range(9))
    assert sorted(pygrad.utils.data.RandomSampler(data)) == data
    assert len(list(pygrad.utils.data.RandomSampler(data, num_samples=20))) == 20
    assert sorted(pygrad.utils.data.SubsetRandomSampler([2, 4, 6])) == [2, 4, 6]


def test_num_workers_gives_the_same_batches(torch):
    def program(L, workers):
        data = L.utils.data.TensorDataset(L.arange(10.0), L.arange(10))
        return list(L.utils.data.DataLoader(data, batch_size=4, num_workers=workers))
    assert _as_lists(program(pygrad, 2)) == _as_lists(program(pygrad, 0)) == _as_lists(program(torch, 2))
    with pytest.raises(ValueError, match="num_workers option should be non-negative"):
        pygrad.utils.data.DataLoader([1], num_workers=-1)


def test_collate_fn_receives_the_samples(torch):
    def program(L):
        data = [{"x": L.tensor([float(i), 1.0]), "label": i % 2, "name": f"s{i}"} for i in range(5)]
        plain = list(L.utils.data.DataLoader(data, batch_size=2))
        custom = list(L.utils.data.DataLoader(data, batch_size=2,
                                              collate_fn=lambda b: (L.stack([s["x"] for s in b]), len(b))))
        return plain + custom
    ours, theirs = _both(torch, program)
    assert ours == theirs
