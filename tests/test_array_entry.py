"""Every way a NumPy array becomes a tensor passes one check: supported dtypes only, native byte
order only (refused with PyTorch's message where PyTorch refuses, converted where it converts)."""
import pickle

import numpy as np
import pytest

import pygrad
from pygrad import nn

BIG = np.array([1.0, 2.0, 3.0], dtype=">f8")

SHARING_ENTRIES = {
    "from_numpy": pygrad.from_numpy,
    "tensor": pygrad.tensor,
    "as_tensor": pygrad.as_tensor,
    "Tensor": pygrad.Tensor,
    "new_tensor": lambda a: pygrad.ones(1).new_tensor(a),
}

CONVERTING_ENTRIES = {
    "operand": lambda a: pygrad.zeros(3, dtype=pygrad.float64) + a,
    "reflected operand": lambda a: pygrad.zeros(3, dtype=pygrad.float64).__radd__(a),
    "matmul operand": lambda a: pygrad.eye(3, dtype=pygrad.float64) @ a,
    "pickled tensor": lambda a: pickle.loads(pickle.dumps(pygrad.Tensor._wrap(a))),
    "pickled parameter": lambda a: pickle.loads(pickle.dumps(nn.Parameter(pygrad.Tensor._wrap(a)))),
    "list of arrays": lambda a: pygrad.tensor([a]),
    "collate": lambda a: pygrad.utils.data.default_collate([a]),
}


def _torch_error(fn, array):
    with pytest.raises(Exception) as info:
        fn(array)
    return type(info.value), str(info.value)


@pytest.mark.parametrize("name", sorted(SHARING_ENTRIES))
def test_swapped_byte_order_is_refused_with_torchs_message(name):
    torch = pytest.importorskip("torch")
    expected_type, expected = _torch_error(getattr(torch, name) if name != "new_tensor" else
                                           (lambda a: torch.ones(1).new_tensor(a)), BIG)
    with pytest.raises(expected_type) as info:
        SHARING_ENTRIES[name](BIG)
    assert str(info.value) == expected


@pytest.mark.parametrize("name", sorted(CONVERTING_ENTRIES))
def test_swapped_byte_order_is_converted_where_torch_converts(name):
    t = CONVERTING_ENTRIES[name](BIG)
    assert t._data.dtype.isnative
    # The compiled kernels read the converted memory: values stay right through arithmetic.
    assert (t * 1 + 1).reshape(-1).tolist() == [2.0, 3.0, 4.0]


@pytest.mark.parametrize("dtype", ["complex128", "U3", "S3", "datetime64[s]", "timedelta64[s]", "longdouble",
                                   "uint16", "uint32", "uint64", "object", "V8"])
@pytest.mark.parametrize("name", sorted(SHARING_ENTRIES) + ["operand"])
def test_unsupported_dtypes_fail_at_the_entry(name, dtype):
    array = np.zeros(2, dtype=dtype)
    entry = SHARING_ENTRIES.get(name) or CONVERTING_ENTRIES[name]
    if name == "Tensor" and array.dtype.kind in "cu":
        pytest.skip("torch.Tensor(array) casts numbers of any kind to float32")
    with pytest.raises(TypeError, match=r"can't convert np.ndarray of type numpy\.\w+\. The only supported types"):
        entry(array)


@pytest.mark.parametrize("dtype", ["U3", "datetime64[s]", "longdouble", "object"])
def test_unsupported_dtype_names_match_torch(dtype):
    torch = pytest.importorskip("torch")
    array = np.zeros(2, dtype=dtype)
    _, expected = _torch_error(torch.from_numpy, array)
    with pytest.raises(TypeError) as info:
        pygrad.from_numpy(array)
    # pygrad supports fewer types than torch: the name of the refused type is the same.
    assert str(info.value).split(".")[:2] == expected.split(".")[:2]


def test_native_arrays_still_share_memory():
    a = np.arange(3.0)
    t = pygrad.from_numpy(a)
    a[0] = 7.0
    assert t.tolist() == [7.0, 1.0, 2.0]
    assert pygrad.as_tensor(a)._data is a
