"""Tensor creation, dtypes and promotion, attributes, conversion and NumPy/DLPack interop."""
import pickle
import copy

import numpy as np
import pytest

import pygrad
from pygrad import Tensor


@pytest.mark.parametrize("data,dtype", [
    ([1.], "float32"), (3.0, "float32"), ([1, 2.5], "float32"), ([1], "int64"), (3, "int64"),
    ([True], "bool"), ([[1, 2], [3, 4]], "int64"), ([True, 2], "int64"), ([], "float32"),
    (np.array([1.0]), "float64"), (np.array([1], dtype=np.int32), "int32"),
])
def test_tensor_infers_dtype_like_torch(data, dtype):
    assert pygrad.tensor(data).dtype is getattr(pygrad, dtype)


def test_float32_storage_is_visible():
    assert pygrad.tensor(0.1).item() == 0.10000000149011612


@pytest.mark.parametrize("factory,dtype", [
    (lambda m: m.zeros(2, 3), "float32"), (lambda m: m.ones((2,)), "float32"),
    (lambda m: m.arange(30.), "float32"), (lambda m: m.arange(6), "int64"),
    (lambda m: m.arange(0, 1, 0.1), "float32"), (lambda m: m.linspace(0, 1, 5), "float32"),
    (lambda m: m.eye(3), "float32"), (lambda m: m.full((2,), 7), "int64"),
    (lambda m: m.full((2,), 7.), "float32"), (lambda m: m.zeros(2, dtype=m.float64), "float64"),
])
def test_factories_match_torch(factory, dtype, torch):
    ours, theirs = factory(pygrad), factory(torch)
    assert ours.dtype.name == dtype == str(theirs.dtype).removeprefix("torch.")
    assert repr(ours) == repr(theirs)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


_LINSPACE_RANGES = [(-3, 3), (0, 1), (0.1, 7.3), (-1000.0, 2.5), (5, -5), (0.001, 10000.0), (2, 2),
                    (-7.7, -0.3), (68.884, 51.59), (-15.8856, -48.2166), (-43.63, 51.16)]


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int64", "int32"])
def test_linspace_is_bit_identical_to_torch(dtype, torch):
    for start, end in _LINSPACE_RANGES:
        if dtype.startswith("int"):
            start, end = int(start), int(end)
        for steps in list(range(0, 40)) + [100, 101, 1001, 40000, 70001]:
            ours = pygrad.linspace(start, end, steps, dtype=getattr(pygrad, dtype)).numpy()
            theirs = torch.linspace(start, end, steps, dtype=getattr(torch, dtype)).numpy()
            assert ours.dtype == theirs.dtype
            np.testing.assert_array_equal(ours, theirs, err_msg=f"linspace({start}, {end}, {steps})")


def test_linspace_prints_like_torch(torch):
    # the middle value comes back from the end in float32, so it is -1.1921e-07, not 0
    assert repr(pygrad.linspace(-3, 3, 11)) == repr(torch.linspace(-3, 3, 11))
    assert "-1.1921e-07" in repr(pygrad.linspace(-3, 3, 11))
    assert repr(pygrad.linspace(pygrad.tensor(0.), 1, 3)) == repr(torch.linspace(torch.tensor(0.), 1, 3))
    for m in (pygrad, torch):
        with pytest.raises(RuntimeError, match="number of steps must be non-negative"):
            m.linspace(0, 1, -1)


@pytest.mark.parametrize("expr", [
    "f * 2.5", "f * 2", "f + 1", "i * 2", "i * 2.5", "i / 2", "i + True", "b + b", "i + f", "f + d",
    "i + d", "f + d0", "i + f0", "b * 2", "b * 2.5", "i2 + i", "i2 * 3", "i2 * f0", "f0 * i2",
    "f < 2", "i == i", "d0 + i", "i - 1",
])
def test_promotion_matches_torch(expr, torch):
    def env(m):
        return dict(f=m.tensor([1.5, 2.0]), d=m.tensor([1.5, 2.0], dtype=m.float64),
                    i=m.tensor([3, 4]), b=m.tensor([True, False]), i2=m.tensor([3, 4], dtype=m.int32),
                    f0=m.tensor(1.5), d0=m.tensor(1.0, dtype=m.float64))
    ours, theirs = eval(expr, env(pygrad)), eval(expr, env(torch))
    assert repr(ours) == repr(theirs)
    assert ours.dtype.name == str(theirs.dtype).removeprefix("torch.")


def test_dtype_conversions():
    x = pygrad.tensor([0.5, 0.25, 0.125])
    assert repr(x.long()) == "tensor([0, 0, 0])"
    assert x.float() is x
    assert repr(x.double()) == "tensor([0.5000, 0.2500, 0.1250], dtype=torch.float64)"
    assert x.to(pygrad.float64).dtype is pygrad.float64
    assert x.to("cpu") is x
    assert repr(pygrad.float32) == "torch.float32" and repr(x.shape) == "torch.Size([3])"
    with pytest.raises(RuntimeError, match="CPU only"):
        x.to("cuda")


def test_attributes():
    x = pygrad.tensor([[1., 2., 3.], [4., 5., 6.]])
    assert x.shape == (2, 3) and x.size() == pygrad.Size([2, 3]) and x.size(-1) == 3
    assert x.ndim == x.dim() == 2 and x.numel() == 6 and len(x) == 2
    assert x.tolist() == [[1., 2., 3.], [4., 5., 6.]]
    assert x.is_leaf and x.grad_fn is None and not x.requires_grad
    assert x.device == pygrad.device("cpu") and str(x.device) == "cpu"
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)"):
        x.size(2)


def test_item_and_scalar_conversions():
    t = pygrad.tensor([2.5])
    assert t.item() == 2.5 and float(t) == 2.5 and int(t) == 2 and bool(t)
    assert int(pygrad.tensor(7)) == 7 and [10, 20, 30][pygrad.tensor(1)] == 20
    many = pygrad.tensor([1., 2., 3.])
    with pytest.raises(RuntimeError, match="a Tensor with 3 elements cannot be converted to Scalar"):
        many.item()
    with pytest.raises(RuntimeError, match="Boolean value of Tensor with more than one value is ambiguous"):
        bool(many)
    with pytest.raises(TypeError, match="len\\(\\) of a 0-d tensor"):
        len(pygrad.tensor(1.))


def test_numpy_shares_memory_and_refuses_grad():
    x = pygrad.tensor([1., 2.])
    x.numpy()[0] = 5
    assert x.tolist() == [5., 2.]
    a = np.arange(3.)
    t = pygrad.from_numpy(a)
    a[1] = 10
    assert t.tolist() == [0., 10., 2.]
    w = pygrad.tensor([1.], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"Can't call numpy\(\) on Tensor that requires grad. "
                                           r"Use tensor.detach\(\).numpy\(\) instead."):
        w.numpy()
    assert w.detach().numpy().tolist() == [1.]


def test_ndarray_operators_return_tensors():
    x = pygrad.tensor([1., 2.], requires_grad=True)
    for result in (np.array([2., 3.]) * x, np.array([2., 3.]) + x, np.array([2., 3.]) - x):
        assert isinstance(result, Tensor) and result.requires_grad
    assert (np.array([2., 3.]) - x).tolist() == [1., 1.]
    assert np.asarray(x.detach()).tolist() == [1., 2.]
    assert np.asarray(x.detach(), dtype=np.float64).dtype == np.float64


def test_dlpack_round_trips_without_copy(torch):
    a = np.arange(4, dtype=np.float32)
    t = pygrad.from_dlpack(a)
    a[0] = 9
    assert t.tolist() == [9., 1., 2., 3.]
    tt = torch.from_dlpack(t)
    tt[1] = 7
    assert t.tolist() == [9., 7., 2., 3.]
    back = pygrad.from_dlpack(torch.arange(3.))
    assert repr(back) == "tensor([0., 1., 2.])"
    assert np.from_dlpack(t).tolist() == [9., 7., 2., 3.]
    with pytest.raises(RuntimeError, match="require gradient"):
        pygrad.tensor([1.], requires_grad=True).__dlpack__()


def test_requires_grad_rules():
    with pytest.raises(RuntimeError, match="Only Tensors of floating point and complex dtype can require gradients"):
        pygrad.tensor([1], requires_grad=True)
    with pytest.raises(RuntimeError, match="only Tensors of floating point dtype can require gradients"):
        pygrad.tensor([4, 5]).requires_grad_()
    x = pygrad.tensor([1.], requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="you can only change requires_grad flags of leaf variables."):
        y.requires_grad = False
    assert x.requires_grad_(False) is x and not x.requires_grad


def test_pickle_and_deepcopy_keep_data_not_graph():
    x = pygrad.tensor([1., 2.], requires_grad=True)
    y = pickle.loads(pickle.dumps(x))
    assert y.requires_grad and y.is_leaf and y.tolist() == [1., 2.]
    z = copy.deepcopy(x)
    z.numpy(force=True)[0] = 3
    assert x.tolist() == [1., 2.]
    with pytest.raises(RuntimeError, match="graph leaves"):
        pickle.dumps(x * 2) and copy.deepcopy(x * 2)


def test_manual_seed_repeats_random_tensors():
    pygrad.manual_seed(3)
    a = pygrad.randn(5)
    pygrad.manual_seed(3)
    b = pygrad.randn(5)
    assert a.tolist() == b.tolist() and a.dtype is pygrad.float32
    assert pygrad.rand(2, 2).shape == (2, 2)


def test_broadcast_error_text_matches_torch(torch):
    for a, b in [((3,), (2,)), ((2, 3), (3, 2))]:
        with pytest.raises(RuntimeError) as ours:
            pygrad.ones(a) * pygrad.ones(b)
        with pytest.raises(RuntimeError) as theirs:
            torch.ones(a) * torch.ones(b)
        assert str(ours.value) == str(theirs.value)


def test_tensor_of_a_tensor_copies_without_grad_and_warns_like_torch(torch):
    texts = []
    for m in (pygrad, torch):
        source = m.tensor([1.5, 2.0], requires_grad=True)
        with pytest.warns(UserWarning) as record:
            copy_ = m.tensor(source)
            as_double = m.tensor(source, dtype=m.float64, requires_grad=True)
        texts.append(([str(w.message) for w in record], repr(copy_), copy_.requires_grad, repr(as_double)))
        copy_.add_(1)
        assert source.tolist() == [1.5, 2.0]  # a copy, not a view
        assert repr(m.as_tensor(source, dtype=m.float64)) == \
            "tensor([1.5000, 2.0000], dtype=torch.float64, grad_fn=<ToCopyBackward0>)"
    assert texts[0] == texts[1]
    assert texts[0][0][0].startswith("To copy construct from a tensor, it is recommended to use "
                                     "sourceTensor.detach().clone()")


_NUMPY_SCALARS = [np.float32(1.5), np.float64(2.0), np.float16(2.5), np.int64(3), np.int32(2), np.int8(2),
                  np.uint8(3), np.bool_(True)]
_SCALAR_OPS = [lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a * b, lambda a, b: a / b,
               lambda a, b: a // b, lambda a, b: a ** b, lambda a, b: a > b, lambda a, b: a.clamp(max=b),
               lambda a, b: b + a, lambda a, b: b * a, lambda a, b: b - a]


def _outcome(f):
    try:
        return repr(f())
    except Exception as e:  # noqa: BLE001 - the error type and text are compared with torch's
        return type(e).__name__, str(e)


@pytest.mark.parametrize("dtype", ["int64", "int32", "bool", "float32", "float64"])
def test_numpy_scalars_promote_like_python_numbers_as_in_torch(dtype, torch):
    # torch.tensor([1, 2]) * np.float32(1.5) is float32 [1.5, 3.0]; a NumPy bool counts as a float
    for scalar in _NUMPY_SCALARS:
        for op in _SCALAR_OPS:
            ours, theirs = (_outcome(lambda: op(m.tensor([1, 2], dtype=getattr(m, dtype)), scalar))
                            for m in (pygrad, torch))
            assert ours == theirs, (dtype, scalar)
    assert repr(pygrad.tensor([1, 2]) * np.float32(1.5)) == "tensor([1.5000, 3.0000])"


@pytest.mark.parametrize("expr", ["b - 1.5", "1.5 - b", "b - b", "i - True", "True - i", "i - b", "b.sub(1)"])
def test_bool_subtraction_is_refused_like_torch(expr, torch):
    texts = []
    for m in (pygrad, torch):
        with pytest.raises(RuntimeError) as info:
            eval(expr, dict(b=m.tensor([True, False]), i=m.tensor([1, 2])))
        texts.append(str(info.value))
    assert texts[0] == texts[1]


def test_device_api_for_portable_code(torch):
    for m in (pygrad, torch):
        d = m.device("cuda" if m.cuda.is_available() else "cpu")
        assert repr(d) == "device(type='cpu')" and str(d) == "cpu"
        x = m.tensor([1., 2.]).to(d)
        assert x.device == d and m.zeros(2, device=d).device == d
    assert repr(pygrad.device("cuda:1")) == repr(torch.device("cuda:1")) == "device(type='cuda', index=1)"
    assert (pygrad.device("cpu") == "cpu") == (torch.device("cpu") == "cpu")
    with pytest.raises(RuntimeError, match="CPU only"):
        pygrad.tensor([1.]).to(pygrad.device("cuda"))
    with pytest.raises(RuntimeError, match="CPU only"):
        pygrad.tensor([1.]).cuda()


@pytest.mark.parametrize("expr,spec", [
    ("(m.tensor([1., 2.], requires_grad=True) ** 2).mean()", ""),
    ("(m.tensor([1., 2.], requires_grad=True) ** 2).mean()", ".3f"),
    ("m.tensor(3)", ""), ("m.tensor(True)", ""), ("m.tensor([3.5])", ""), ("m.tensor(0.1)", ".10f"),
])
def test_format_matches_torch(expr, spec, torch):
    ours, theirs = eval(expr, {"m": pygrad}), eval(expr, {"m": torch})
    assert format(ours, spec) == format(theirs, spec)


def test_format_spec_on_a_non_scalar_is_a_type_error(torch):
    for m in (pygrad, torch):
        with pytest.raises(TypeError, match="unsupported format string passed to Tensor.__format__"):
            format(m.tensor([3.5]), ".2f")
