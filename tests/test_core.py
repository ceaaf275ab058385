"""The field layout of tensors and nodes (pygrad._backend.core) and the fast paths in front
of the op helpers: they must give exactly what the Python definitions give."""
import warnings

import numpy as np
import pytest

import pygrad
from pygrad import _backend
from pygrad.autograd.function import Node
from pygrad.ops import _util

SCALARS = [1.0001, 0.1, -0.0, float("nan"), float("inf"), -float("inf"), 3.4e38, 1e-46, 5e-324,
           3.4028235e38, 3.40282356e38, 7, -3, 2**60, True]


def test_core_is_chosen_once_and_matches_the_process_backend():
    expected = "pygrad._pure.core" if _backend.env_flag("PYGRAD_PURE") else "pygrad._native.core"
    if "native" not in _backend.available():
        expected = "pygrad._pure.core"
    assert _backend.core.__name__ == expected
    for name in _backend.available():
        with _backend.use(name):
            assert _backend.core.__name__ == expected


@pytest.mark.parametrize("dtype", [pygrad.float16, pygrad.float32, pygrad.float64, pygrad.int64])
@pytest.mark.parametrize("value", SCALARS)
def test_scalar_operand_is_the_numpy_scalar_of_the_result_dtype(dtype, value):
    x = pygrad.zeros(3, dtype=dtype)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        a, b = _util.binary_operands(x, value)
    assert a is x and b.shape == () and not b.requires_grad and b.grad_fn is None
    result = pygrad.dtypes.result_type(x, value)
    with np.errstate(all="ignore"):
        ref = np.asarray(value, result.numpy)
    assert b._data.dtype == ref.dtype and b._data.tobytes() == ref.tobytes()
    assert caught == []  # an overflowing cast gives inf without a warning, as in PyTorch


def test_float_operands_share_one_read_only_tensor_per_value():
    """``x * 0.5`` saves its 0.5: the ops on one float share its 0-d tensor (no tensor per node
    kept alive), read-only, one per dtype and per bit pattern (-0.0 is not 0.0)."""
    x, x64 = pygrad.ones(2), pygrad.ones(2, dtype=pygrad.float64)
    operands = _util.binary_operands  # the compiled core's, or the Python definition on the pure one
    b1, b2 = operands(x, 2.5)[1], operands(x, 2.5)[1]
    assert b1 is b2 and not b1._data.flags.writeable and b1._data.dtype == np.float32
    assert operands(x64, 2.5)[1]._data.dtype == np.float64 and operands(x64, 2.5)[1] is not b1
    zero, negative_zero = operands(x, 0.0)[1], operands(x, -0.0)[1]
    assert zero is not negative_zero and np.signbit(negative_zero._data) and not np.signbit(zero._data)
    n1, n2 = operands(x, 3)[1], operands(x, 3)[1]  # ints: a fresh tensor each time
    assert n1 is not n2 and n1._data.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        b1._data += 1
    a = pygrad.tensor([1.0, 2.0], requires_grad=True)
    (a * 2.5 * 2.5).sum().backward()
    assert a.grad.tolist() == [6.25, 6.25]


def test_same_dtype_arrays_fast_path_and_broadcast_error():
    a, b = pygrad.ones(2, 3), pygrad.ones(3)
    x, y = _util.same_dtype_arrays(a, b)
    assert x is a._data and y is b._data
    s = pygrad.tensor(2.0)
    assert _util.same_dtype_arrays(a, s)[1] is s._data
    with pytest.raises(RuntimeError, match="must match the size of tensor b"):
        _util.same_dtype_arrays(pygrad.ones(2, 3), pygrad.ones(2))
    x, y = _util.same_dtype_arrays(pygrad.ones(2, dtype=pygrad.float64), pygrad.ones(2))
    assert x.dtype == y.dtype == np.float64


def test_node_fields_start_at_their_defaults():
    node = Node()
    assert node.next_functions == () and node.needs_input_grad == () and node._input_meta == ()
    assert node._saved is None and node._to_save is None and not node._freed
    assert node.materialize_grads is True and node._edge_args is None and node._pre_hooks is None
    assert Node()._seq > node._seq
    node.extra = 3  # a ctx takes any attribute, which the graph tools read from its __dict__
    assert vars(node)["extra"] == 3


def test_saved_tensors_after_an_inplace_change_and_after_backward():
    x = pygrad.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1.0
    z = y * y
    assert all(t is y for t in z.grad_fn.saved_tensors)
    e = y.exp()
    out, = e.grad_fn.saved_tensors  # a saved output comes back as a tensor of that node
    assert out.grad_fn is e.grad_fn and np.array_equal(out._data, e._data)
    with pygrad.no_grad():
        y.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.grad_fn.saved_tensors
    e.sum().backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        e.grad_fn.saved_tensors
