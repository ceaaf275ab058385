"""pygrad.utils.data: datasets, batching, shuffling determinism, collation."""
import numpy as np
import pytest

import pygrad
from pygrad.utils.data import DataLoader, Dataset, TensorDataset, default_collate, random_split


def test_tensor_dataset_batches_in_order_with_last_partial_batch():
    x = pygrad.arange(10.0).reshape(10, 1)
    y = pygrad.arange(10)
    loader = DataLoader(TensorDataset(x, y), batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 and [b[1].tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert batches[0][0].shape == pygrad.Size([4, 1]) and batches[0][0].dtype is pygrad.float32
    assert batches[0][1].dtype is pygrad.int64
    dropped = DataLoader(TensorDataset(x, y), batch_size=4, drop_last=True)
    assert len(dropped) == 2 and [b[1].tolist() for b in dropped] == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_shuffle_is_a_seeded_permutation():
    ds = TensorDataset(pygrad.arange(20))
    loader = DataLoader(ds, batch_size=6, shuffle=True)
    pygrad.manual_seed(5)
    first = [v for (b,) in loader for v in b.tolist()]
    second = [v for (b,) in loader for v in b.tolist()]
    pygrad.manual_seed(5)
    again = [v for (b,) in loader for v in b.tolist()]
    assert sorted(first) == list(range(20)) and first != list(range(20))
    assert first == again and first != second  # a new order each epoch, repeatable from the seed
    gen_a = DataLoader(ds, batch_size=20, shuffle=True, generator=np.random.default_rng(1))
    gen_b = DataLoader(ds, batch_size=20, shuffle=True, generator=np.random.default_rng(1))
    assert next(iter(gen_a))[0].tolist() == next(iter(gen_b))[0].tolist()


class Squares(Dataset):
    def __len__(self):
        return 5

    def __getitem__(self, i):
        return {"x": pygrad.tensor([float(i), float(i * i)]), "i": i, "f": i / 2, "name": f"s{i}"}


def test_default_collate_on_a_custom_dataset(torch):
    batch = next(iter(DataLoader(Squares(), batch_size=3)))
    assert batch["x"].tolist() == [[0.0, 0.0], [1.0, 1.0], [2.0, 4.0]]
    assert batch["i"].dtype is pygrad.int64 and batch["f"].dtype is pygrad.float64
    assert batch["name"] == ["s0", "s1", "s2"]
    ref = torch.utils.data.default_collate([(1, 0.5, True), (2, 1.5, False)])
    ours = default_collate([(1, 0.5, True), (2, 1.5, False)])
    assert [str(r.dtype)[6:] for r in ref] == [o.dtype.name for o in ours]
    assert [r.tolist() for r in ref] == [o.tolist() for o in ours]
    with pytest.raises(RuntimeError, match="stack expects each tensor to be equal size"):
        default_collate([pygrad.zeros(2), pygrad.zeros(3)])


def test_batch_size_none_and_random_split():
    samples = list(DataLoader(Squares(), batch_size=None))
    assert len(samples) == 5 and samples[2]["i"] == 2
    pygrad.manual_seed(0)
    a, b = random_split(TensorDataset(pygrad.arange(10)), [7, 3])
    assert len(a) == 7 and len(b) == 3
    assert sorted(int(a[i][0]) for i in range(7)) + sorted(int(b[i][0]) for i in range(3)) != []
    assert sorted([int(a[i][0]) for i in range(7)] + [int(b[i][0]) for i in range(3)]) == list(range(10))
    with pytest.raises(ValueError, match="batch_size should be a positive integer value"):
        DataLoader(Squares(), batch_size=0)
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        TensorDataset(pygrad.zeros(3), pygrad.zeros(4))


def test_default_collate_matches_torch(torch):
    import numpy as np
    from torch.utils.data._utils.collate import default_collate as torch_collate

    from pygrad.utils.data import default_collate

    def batch(m):
        return [(m.tensor([1.]), 1, "a", np.float32(1.5), 0.5, {"k": [1, 2]}),
                (m.tensor([2.]), 2, "b", np.float32(2.5), 1.5, {"k": [3, 4]})]
    ours, theirs = default_collate(batch(pygrad)), torch_collate(batch(torch))
    assert type(ours) is type(theirs) is list
    assert repr(ours) == repr(theirs)


def test_tensor_dataset_batches_are_lists_as_in_torch():
    torch = pytest.importorskip("torch")
    for lib in (pygrad, torch):
        dataset = lib.utils.data.TensorDataset(lib.arange(6.0).reshape(3, 2), lib.arange(3))
        batch = next(iter(lib.utils.data.DataLoader(dataset, batch_size=2)))
        assert type(batch) is list and len(batch) == 2
        assert batch[0].tolist() == [[0.0, 1.0], [2.0, 3.0]] and batch[1].tolist() == [0, 1]
