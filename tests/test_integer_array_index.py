"""``x[rows, cols]`` with int64 index tensors (W4's ``logp[rows, y]``) is read by a short path of
``ops/index.parse_key``; it gives what the general reading gives, and PyTorch: values, gradients
(repeated indices add up), grad_fn names and errors."""
import numpy as np
import pytest

import pygrad


def _pick(m, x, keys, wrap=True):
    leaf = m.tensor(x, requires_grad=True)
    out = (leaf * 1)[tuple(m.tensor(k) if wrap else k for k in keys)]
    (out * m.tensor(np.arange(out.numel(), dtype=x.dtype).reshape(out.shape))).sum().backward()
    return out, leaf.grad


@pytest.mark.parametrize("keys", [
    (np.array([0, 1, 2, 2, 4]), np.array([3, 0, 1, 1, 2])),  # a repeated pair: gradients add
    (np.array([[0, 1], [4, 4]]), np.array([[2, 2], [0, 3]])),  # 2-d indices
    (np.array([4, 0, 4]),),  # fewer indices than dims
])
def test_same_as_the_general_reading_and_torch(keys, rng, torch, backend):
    x = rng.standard_normal((5, 4)).astype(np.float32)
    fast, fast_grad = _pick(pygrad, x, keys)
    general, general_grad = _pick(pygrad, x, keys, wrap=False)  # NumPy arrays take the general reading
    expected, expected_grad = _pick(torch, x, keys)
    np.testing.assert_array_equal(fast.detach().numpy(), general.detach().numpy())
    np.testing.assert_array_equal(fast_grad.numpy(), general_grad.numpy())
    np.testing.assert_array_equal(fast.detach().numpy(), expected.detach().numpy())
    np.testing.assert_array_equal(fast_grad.numpy(), expected_grad.numpy())
    assert type(fast.grad_fn).__name__ == type(expected.grad_fn).__name__ == "IndexBackward0"


def test_the_indices_are_read_at_forward(rng, backend):
    x = pygrad.tensor(rng.standard_normal((3, 3)), requires_grad=True)
    rows, cols = pygrad.tensor([0, 1]), pygrad.tensor([2, 0])
    out = x[rows, cols]
    cols[0] = 1  # written after the forward: the gradient still goes where the values came from
    out.sum().backward()
    expected = np.zeros((3, 3))
    expected[0, 2] = expected[1, 0] = 1
    np.testing.assert_array_equal(x.grad.numpy(), expected)


@pytest.mark.parametrize("keys", [
    ([0, 5], [1, 1]),  # out of bounds in dim 0
    ([0, 1], [1, 4]),  # out of bounds in dim 1
    ([0, -1], [1, -4]),  # negative indices count from the end
    ([0, 1, 2], [1, 1]),  # shapes that do not broadcast
    ([0, 1], [1]),  # shapes that broadcast
    ([[]], [[]]),  # empty
])
def test_other_keys_read_as_torch_reads_them(keys, rng, torch):
    x = rng.standard_normal((4, 4))
    results = []
    for m in (pygrad, torch):
        try:
            results.append(m.tensor(x)[tuple(m.tensor(k, dtype=m.int64) for k in keys)].numpy())
        except IndexError as e:
            results.append(str(e))
    if isinstance(results[1], str):
        assert results[0] == results[1]
    else:
        np.testing.assert_array_equal(results[0], results[1])


def test_zero_dim_index_tensors_select(torch):
    x = np.arange(12.0).reshape(3, 4)
    ours = pygrad.tensor(x, requires_grad=True)[pygrad.tensor(1), pygrad.tensor(2)]
    theirs = torch.tensor(x, requires_grad=True)[torch.tensor(1), torch.tensor(2)]
    assert ours.item() == theirs.item() and ours.shape == theirs.shape
    assert type(ours.grad_fn).__name__ == type(theirs.grad_fn).__name__


def test_which_keys_take_the_short_path():
    from pygrad.ops.index import _integer_arrays_key
    t = pygrad.tensor
    assert _integer_arrays_key((5, 4), (t([0, 4]), t([3, 0]))) is not None
    assert _integer_arrays_key((5, 4), (t([0, 4]),))[1] == slice(None)
    for key in [(t([0, -1]), t([3, 0])), (t([0, 5]), t([3, 0])), (t([0, 1]), t([1])), (t(1), t(2)),
                (t([0, 1], dtype=pygrad.int32), t([1, 1])), (t([True, False]),), t([0, 1]), (t([0]), 1)]:
        assert _integer_arrays_key((5, 4), key) is None
